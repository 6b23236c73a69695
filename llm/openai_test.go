package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeVLLM is an in-process OpenAI-compatible server that answers like
// vLLM and records every request body.
type fakeVLLM struct {
	t      *testing.T
	mu     sync.Mutex
	bodies []map[string]any
	raw    []string
	auth   []string
	// handle, when set, replaces the default answer.
	handle func(w http.ResponseWriter, r *http.Request, body map[string]any)
}

var fakeTokens = []struct {
	text string
	lp   float64
}{{"Tom", -0.25}, {" had", -0.5}, {" a", -0.125}, {" red", -1.5}, {" ball", -0.0625}}

func (f *fakeVLLM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("reading body: %v", err)
		return
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		http.Error(w, `{"object":"error","message":"bad json","type":"BadRequestError","code":400}`, 400)
		return
	}
	f.mu.Lock()
	f.bodies = append(f.bodies, body)
	f.raw = append(f.raw, string(raw))
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.mu.Unlock()
	if f.handle != nil {
		f.handle(w, r, body)
		return
	}
	chat := r.URL.Path == "/v1/chat/completions"
	if !chat && r.URL.Path != "/v1/completions" {
		http.Error(w, `{"detail":"Not Found"}`, 404)
		return
	}
	n := len(fakeTokens)
	if mt, ok := body["max_tokens"].(float64); ok && int(mt) < n {
		n = int(mt)
	}
	finish := "stop"
	if n < len(fakeTokens) {
		finish = "length"
	}
	top := 0
	if v, ok := body["top_logprobs"].(float64); ok {
		top = int(v)
	}
	if v, ok := body["logprobs"].(float64); ok && !chat {
		top = int(v)
	}
	_, wantLP := body["logprobs"]
	if chat {
		wantLP = body["logprobs"] == true
	}
	stream := body["stream"] == true
	if stream {
		w.Header().Set("Content-Type", "text/event-stream")
	}
	var text strings.Builder
	var content []any
	var ctoks []string
	var clps []float64
	var ctops []map[string]float64
	for i := range n {
		tk := fakeTokens[i]
		text.WriteString(tk.text)
		tops := []any{map[string]any{"token": tk.text, "logprob": tk.lp, "bytes": bytesArray(tk.text)}, map[string]any{"token": "<alt>", "logprob": tk.lp - 2, "bytes": bytesArray("<alt>")}}[:min(top, 2)]
		lp := map[string]any{"token": tk.text, "logprob": tk.lp, "bytes": bytesArray(tk.text), "top_logprobs": tops}
		ctop := map[string]float64{tk.text: tk.lp, "<alt>": tk.lp - 2}
		if top < 2 {
			delete(ctop, "<alt>")
		}
		if stream {
			fin := any(nil)
			if i == n-1 {
				fin = finish
			}
			var chunk map[string]any
			if chat {
				ch := map[string]any{"index": 0, "delta": map[string]any{"content": tk.text}, "finish_reason": fin}
				if wantLP {
					ch["logprobs"] = map[string]any{"content": []any{lp}}
				}
				chunk = map[string]any{"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "fake", "choices": []any{ch}}
			} else {
				ch := map[string]any{"index": 0, "text": tk.text, "finish_reason": fin}
				if wantLP {
					ch["logprobs"] = map[string]any{"tokens": []string{tk.text}, "token_logprobs": []float64{tk.lp}, "top_logprobs": []any{ctop}, "text_offset": []int{0}}
				}
				chunk = map[string]any{"id": "cmpl-1", "object": "text_completion", "model": "fake", "choices": []any{ch}}
			}
			b, _ := json.Marshal(chunk)
			fmt.Fprintf(w, "data: %s\n\n", b)
			w.(http.Flusher).Flush()
			continue
		}
		content = append(content, lp)
		ctoks = append(ctoks, tk.text)
		clps = append(clps, tk.lp)
		ctops = append(ctops, ctop)
	}
	if stream {
		fmt.Fprint(w, "data: [DONE]\n\n")
		return
	}
	usage := map[string]any{"prompt_tokens": 7, "completion_tokens": n, "total_tokens": 7 + n}
	var resp map[string]any
	if chat {
		ch := map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": text.String()}, "finish_reason": finish}
		if wantLP {
			ch["logprobs"] = map[string]any{"content": content}
		}
		resp = map[string]any{"id": "chatcmpl-1", "object": "chat.completion", "model": "fake", "choices": []any{ch}, "usage": usage}
	} else {
		ch := map[string]any{"index": 0, "text": text.String(), "finish_reason": finish}
		if wantLP {
			ch["logprobs"] = map[string]any{"tokens": ctoks, "token_logprobs": clps, "top_logprobs": ctops, "text_offset": make([]int, len(ctoks))}
		}
		resp = map[string]any{"id": "cmpl-1", "object": "text_completion", "model": "fake", "choices": []any{ch}, "usage": usage}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

func bytesArray(s string) []int {
	out := make([]int, len(s))
	for i := range len(s) {
		out[i] = int(s[i])
	}
	return out
}

func (f *fakeVLLM) lastBody(t *testing.T) (map[string]any, string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bodies) == 0 {
		t.Fatal("server received no request")
	}
	return f.bodies[len(f.bodies)-1], f.raw[len(f.raw)-1]
}

func newFake(t *testing.T, idle time.Duration) (*fakeVLLM, *OpenAI, *httptest.Server) {
	t.Helper()
	f := &fakeVLLM{t: t}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	o, err := NewOpenAI(OpenAIConfig{BaseURL: srv.URL + "/v1/", APIKey: "sekret", Model: "fake", IdleTimeout: idle})
	if err != nil {
		t.Fatal(err)
	}
	return f, o, srv
}

func TestNewOpenAIBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  OpenAIConfig
		want string
	}{
		{OpenAIConfig{Model: "m"}, "empty base URL"},
		{OpenAIConfig{BaseURL: "127.0.0.1:8000", Model: "m"}, "scheme must be http or https"},
		{OpenAIConfig{BaseURL: "ftp://x/v1", Model: "m"}, "scheme must be http or https"},
		{OpenAIConfig{BaseURL: "http://", Model: "m"}, "has no host"},
		{OpenAIConfig{BaseURL: "http://a b/v1", Model: "m"}, "bad base URL"},
		{OpenAIConfig{BaseURL: "http://x/v1?a=b", Model: "m"}, "query"},
		{OpenAIConfig{BaseURL: "http://x/v1"}, "no model name"},
		{OpenAIConfig{BaseURL: "http://x/v1", Model: "m", IdleTimeout: -1}, "negative idle timeout"},
		{OpenAIConfig{BaseURL: "http://x/v1", Model: "m", HTTPClient: &http.Client{Timeout: time.Second}}, "HTTPClient.Timeout"},
	} {
		_, err := NewOpenAI(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewOpenAI(%+v) = %v, want error containing %q", tc.cfg, err, tc.want)
		}
	}
	o, err := NewOpenAI(OpenAIConfig{BaseURL: "http://127.0.0.1:8000", Model: "m"})
	if err != nil || o.BaseURL() != "http://127.0.0.1:8000/v1" {
		t.Fatalf("no path: %v %v", o, err)
	}
}

func TestOpenAIChatTemperatureZeroAndLogprobs(t *testing.T) {
	f, o, _ := newFake(t, time.Second)
	g, err := o.Chat(context.Background(), []ChatMessage{{Role: "user", Content: "hi"}},
		OpenAIOptions{GenOptions: GenOptions{Temperature: 0, Seed: 0, MaxTokens: 4, TopP: 0.9}, TopLogprobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	body, raw := f.lastBody(t)
	if !strings.Contains(raw, `"temperature":0`) {
		t.Errorf("body has no explicit temperature 0: %s", raw)
	}
	if v, ok := body["temperature"]; !ok || v != 0.0 {
		t.Errorf("temperature = %v (present %v), want 0", v, ok)
	}
	if v, ok := body["seed"]; !ok || v != 0.0 {
		t.Errorf("seed = %v (present %v), want 0", v, ok)
	}
	if body["max_tokens"] != 4.0 || body["logprobs"] != true || body["top_logprobs"] != 2.0 || body["model"] != "fake" {
		t.Errorf("body = %s", raw)
	}
	if tp, _ := body["top_p"].(float64); float32(tp) != 0.9 {
		t.Errorf("top_p = %v", body["top_p"])
	}
	if f.auth[0] != "Bearer sekret" {
		t.Errorf("Authorization = %q", f.auth[0])
	}
	if g.Text != "Tom had a red" || g.FinishReason != FinishLength || g.Model != "fake" || g.PromptTokenCount != 7 || g.CompletionTokenCount != 4 {
		t.Errorf("generation = %+v", g)
	}
	if len(g.Tokens) != 4 || len(g.TopLogprobs) != 4 {
		t.Fatalf("tokens = %+v, tops = %+v", g.Tokens, g.TopLogprobs)
	}
	for i, tok := range g.Tokens {
		if tok.Text != fakeTokens[i].text || tok.Logprob != fakeTokens[i].lp || tok.ID != -1 {
			t.Errorf("token %d = %+v", i, tok)
		}
		if tops := g.TopLogprobs[i]; len(tops) != 2 || tops[1].Text != "<alt>" || tops[1].Logprob != fakeTokens[i].lp-2 {
			t.Errorf("tops %d = %+v", i, tops)
		}
	}

	// A non-zero temperature goes through exactly; a big seed too.
	if _, err := o.Chat(context.Background(), []ChatMessage{{Role: "user", Content: "hi"}}, OpenAIOptions{GenOptions: GenOptions{Temperature: 0.7, Seed: 1 << 40}, NoLogprobs: true}); err != nil {
		t.Fatal(err)
	}
	body, raw = f.lastBody(t)
	if !strings.Contains(raw, `"temperature":0.7`) || body["seed"] != float64(1<<40) {
		t.Errorf("body = %s", raw)
	}
	if _, ok := body["logprobs"]; ok {
		t.Errorf("NoLogprobs still asked for logprobs: %s", raw)
	}
}

func TestOpenAIGenerateCompletions(t *testing.T) {
	f, o, _ := newFake(t, time.Second)
	var gen Generator = o
	g, err := gen.Generate(context.Background(), "Tom had", GenOptions{Temperature: -1, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	body, raw := f.lastBody(t)
	if !strings.Contains(raw, `"temperature":0`) || !strings.Contains(raw, `"logprobs":0`) || body["seed"] != 42.0 || body["prompt"] != "Tom had" {
		t.Errorf("body = %s", raw)
	}
	if _, ok := body["max_tokens"]; ok {
		t.Errorf("max_tokens sent for MaxTokens 0: %s", raw)
	}
	if g.Text != "Tom had a red ball" || g.FinishReason != FinishStop || len(g.Tokens) != 5 || g.Tokens[3].Logprob != -1.5 || g.Tokens[3].Text != " red" {
		t.Errorf("generation = %+v", g)
	}

	c, err := o.Complete(context.Background(), "x", OpenAIOptions{TopLogprobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, raw := f.lastBody(t); !strings.Contains(raw, `"logprobs":2`) {
		t.Errorf("body = %s", raw)
	}
	if len(c.TopLogprobs) != 5 || c.TopLogprobs[0][0].Text != "Tom" || c.TopLogprobs[0][1].Text != "<alt>" {
		t.Errorf("tops = %+v", c.TopLogprobs)
	}
}

func TestOpenAIStreams(t *testing.T) {
	f, o, _ := newFake(t, time.Second)
	for _, chat := range []bool{true, false} {
		var texts []string
		var toks []TokenLogprob
		fn := func(text string, tokens []TokenLogprob) error {
			texts = append(texts, text)
			toks = append(toks, tokens...)
			return nil
		}
		opts := OpenAIOptions{GenOptions: GenOptions{Seed: 3}, TopLogprobs: 1}
		var g *OpenAIGeneration
		var err error
		if chat {
			g, err = o.ChatStream(context.Background(), []ChatMessage{{Role: "user", Content: "hi"}}, opts, fn)
		} else {
			g, err = o.Stream(context.Background(), "Tom", opts, fn)
		}
		if err != nil {
			t.Fatalf("chat %v: %v", chat, err)
		}
		body, raw := f.lastBody(t)
		if body["stream"] != true || !strings.Contains(raw, `"temperature":0`) || body["seed"] != 3.0 {
			t.Errorf("chat %v: body = %s", chat, raw)
		}
		if strings.Join(texts, "|") != "Tom| had| a| red| ball" || g.Text != "Tom had a red ball" || g.FinishReason != FinishStop || g.Model != "fake" {
			t.Errorf("chat %v: texts %q, generation %+v", chat, texts, g)
		}
		if len(toks) != 5 || len(g.Tokens) != 5 || toks[4].Logprob != -0.0625 || g.Tokens[1].Text != " had" || len(g.TopLogprobs) != 5 || len(g.TopLogprobs[0]) != 1 {
			t.Errorf("chat %v: tokens %+v, generation tokens %+v tops %+v", chat, toks, g.Tokens, g.TopLogprobs)
		}
	}

	// The callback's error stops the stream and comes back as is.
	stop := errors.New("caller went away")
	_, err := o.ChatStream(context.Background(), []ChatMessage{{Role: "user", Content: "hi"}}, OpenAIOptions{}, func(string, []TokenLogprob) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("callback error = %v", err)
	}
}

func TestOpenAIStalledStream(t *testing.T) {
	// The idle timeout also covers connecting and the first chunk: 500 ms
	// leaves a loaded machine room for those.
	f, o, _ := newFake(t, 500*time.Millisecond)
	release := make(chan struct{})
	defer close(release)
	f.handle = func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, `data: {"id":"1","object":"chat.completion.chunk","model":"fake","choices":[{"index":0,"delta":{"content":"Tom"},"finish_reason":null}]}`+"\n\n")
		w.(http.Flusher).Flush()
		select { // stall
		case <-release:
		case <-r.Context().Done():
		}
	}
	start := time.Now()
	var got []string
	g, err := o.ChatStream(context.Background(), []ChatMessage{{Role: "user", Content: "hi"}}, OpenAIOptions{}, func(text string, _ []TokenLogprob) error {
		got = append(got, text)
		return nil
	})
	if !errors.Is(err, ErrIdleTimeout) || !strings.Contains(err.Error(), "no token for 500ms") || !strings.Contains(err.Error(), o.BaseURL()) {
		t.Fatalf("err = %v", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %s", el)
	}
	if g == nil || g.Text != "Tom" || len(got) != 1 {
		t.Errorf("partial generation = %+v, chunks %q", g, got)
	}

	// No first chunk at all: the idle timeout covers it too.
	f.handle = func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	if _, err := o.Stream(context.Background(), "x", OpenAIOptions{}, nil); !errors.Is(err, ErrIdleTimeout) {
		t.Errorf("no headers: err = %v", err)
	}
}

func TestOpenAISlowResponseDeadline(t *testing.T) {
	f, o, _ := newFake(t, time.Second)
	release := make(chan struct{})
	defer close(release)
	f.handle = func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := o.Generate(ctx, "x", GenOptions{})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), o.BaseURL()) {
		t.Fatalf("err = %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %s", el)
	}
}

func TestOpenAIBackendDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	o, err := NewOpenAI(OpenAIConfig{BaseURL: "http://" + addr + "/v1", Model: "m", IdleTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = o.Generate(context.Background(), "x", GenOptions{})
	if err == nil || !strings.Contains(err.Error(), "http://"+addr+"/v1 is down (connection refused)") {
		t.Errorf("Generate err = %v", err)
	}
	_, err = o.ChatStream(context.Background(), []ChatMessage{{Role: "user", Content: "x"}}, OpenAIOptions{}, nil)
	if err == nil || !strings.Contains(err.Error(), "is down (connection refused)") {
		t.Errorf("ChatStream err = %v", err)
	}
}

// serverError is a model server's error answer and what the backend's
// error must say about it.
type serverError struct {
	name   string
	status int
	body   string
	want   string
}

// serverErrors are error answers in each server's form.
var serverErrors = []serverError{
	{"openai error", 500, `{"error":{"message":"CUDA out of memory","type":"InternalServerError","code":500}}`, "HTTP 500: CUDA out of memory"},
	{"vllm error", 400, `{"object":"error","message":"This model's maximum context length is 2048 tokens","type":"BadRequestError","code":400}`, "HTTP 400: This model's maximum context length is 2048 tokens"},
	{"llama.cpp error", 503, `{"error":"Loading model"}`, "HTTP 503: Loading model"},
	{"fastapi", 404, `{"detail":"Not Found"}`, "HTTP 404: Not Found"},
	{"text", 502, "Bad Gateway\n", "HTTP 502: Bad Gateway"},
}

func TestOpenAIServerErrors(t *testing.T) {
	f, o, _ := newFake(t, time.Second)
	msgs := []ChatMessage{{Role: "user", Content: "x"}}
	for _, tc := range serverErrors {
		f.handle = func(w http.ResponseWriter, _ *http.Request, _ map[string]any) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(tc.status)
			io.WriteString(w, tc.body)
		}
		_, err := o.Chat(context.Background(), msgs, OpenAIOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), o.BaseURL()) {
			t.Errorf("%s: Chat err = %v, want %q", tc.name, err, tc.want)
		}
		_, err = o.Stream(context.Background(), "x", OpenAIOptions{}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Stream err = %v, want %q", tc.name, err, tc.want)
		}
	}

	// An error event in the middle of a stream.
	f.handle = func(w http.ResponseWriter, _ *http.Request, _ map[string]any) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, `data: {"error":{"message":"engine died","type":"InternalServerError","code":500}}`+"\n\n")
	}
	if _, err := o.ChatStream(context.Background(), msgs, OpenAIOptions{}, nil); err == nil || !strings.Contains(err.Error(), "engine died") {
		t.Errorf("stream error event: err = %v", err)
	}
}

func TestOpenAIMalformed(t *testing.T) {
	f, o, _ := newFake(t, time.Second)
	msgs := []ChatMessage{{Role: "user", Content: "x"}}
	for _, tc := range []struct {
		name, body string
		stream     bool
		want       string
	}{
		{"not json", "<html>hello</html>", false, "malformed response"},
		{"no choices", `{"id":"1","choices":[]}`, false, "malformed response: no choices"},
		{"wrong type", `{"id":"1","choices":"nope"}`, false, "malformed response"},
		{"bad chunk", "data: {not json}\n\n", true, "malformed response"},
		{"cut short", `data: {"id":"1","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}` + "\n\n", true, "stream ended before the model finished"},
	} {
		f.handle = func(w http.ResponseWriter, _ *http.Request, _ map[string]any) {
			io.WriteString(w, tc.body)
		}
		var err error
		if tc.stream {
			_, err = o.ChatStream(context.Background(), msgs, OpenAIOptions{}, nil)
		} else {
			_, err = o.Chat(context.Background(), msgs, OpenAIOptions{})
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), o.BaseURL()) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	// Completions logprobs that do not line up.
	f.handle = func(w http.ResponseWriter, _ *http.Request, _ map[string]any) {
		io.WriteString(w, `{"id":"1","choices":[{"index":0,"text":"a","finish_reason":"stop","logprobs":{"tokens":["a","b"],"token_logprobs":[-1]}}]}`)
	}
	if _, err := o.Generate(context.Background(), "x", GenOptions{}); err == nil || !strings.Contains(err.Error(), "malformed response") {
		t.Errorf("misaligned logprobs: err = %v", err)
	}
}

func TestOpenAIBadOptions(t *testing.T) {
	_, o, _ := newFake(t, time.Second)
	if _, err := o.Generate(context.Background(), "x", GenOptions{Seed: 1 << 63}); err == nil || !strings.Contains(err.Error(), "seed") {
		t.Errorf("huge seed: %v", err)
	}
	if _, err := o.Chat(context.Background(), nil, OpenAIOptions{}); err == nil || !strings.Contains(err.Error(), "no messages") {
		t.Errorf("no messages: %v", err)
	}
	if _, err := o.Chat(context.Background(), []ChatMessage{{Role: "user"}}, OpenAIOptions{NoLogprobs: true, TopLogprobs: 1}); err == nil {
		t.Error("TopLogprobs with NoLogprobs accepted")
	}
}

func TestTokenLogprobIDs(t *testing.T) {
	if tok := tokenLogprob("token_id:1234", nil, -1); tok.ID != 1234 || tok.Text != "" {
		t.Errorf("%+v", tok)
	}
	if tok := tokenLogprob("token_id:29871", []byte(" "), -1); tok.ID != 29871 || tok.Text != " " {
		t.Errorf("%+v", tok)
	}
	if tok := tokenLogprob("Ġthe", []byte(" the"), -1); tok.ID != -1 || tok.Text != " the" {
		t.Errorf("%+v", tok)
	}
}

// jsonKeys returns the keys of the JSON object raw in order, repeats
// included.
func jsonKeys(t *testing.T, raw string) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("body %s: %v", raw, err)
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	var keys []string
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestOpenAIRawSendsWhatCompleteSends(t *testing.T) {
	f, o, _ := newFake(t, time.Second)
	ctx := context.Background()
	msgs := []ChatMessage{{Role: "user", Content: "hi"}}
	for _, opts := range []OpenAIOptions{
		{GenOptions: GenOptions{Temperature: 0, MaxTokens: 4}, TokenIDs: true},
		{GenOptions: GenOptions{Temperature: 0.7, Seed: 9, TopP: 0.5}, TopLogprobs: 2},
		{GenOptions: GenOptions{Temperature: 1}, NoLogprobs: true, Stop: []string{"red"}},
	} {
		for _, chat := range []bool{false, true} {
			var err error
			if chat {
				_, err = o.Chat(ctx, msgs, opts)
			} else {
				_, err = o.Complete(ctx, "Tom had", opts)
			}
			if err != nil {
				t.Fatal(err)
			}
			_, typed := f.lastBody(t)
			if chat {
				_, err = o.ChatRaw(ctx, msgs, opts)
			} else {
				_, err = o.CompleteRaw(ctx, "Tom had", opts)
			}
			if err != nil {
				t.Fatal(err)
			}
			_, raw := f.lastBody(t)
			if raw != typed {
				t.Errorf("chat %v, %+v: raw request\n%s\ndiffers from go-openai's\n%s", chat, opts, raw, typed)
			}
			keys := jsonKeys(t, raw)
			seen := map[string]bool{}
			for _, k := range keys {
				if seen[k] {
					t.Errorf("chat %v, %+v: key %q sent twice: %s", chat, opts, k, raw)
				}
				seen[k] = true
			}
			if !strings.Contains(raw, `"temperature":`+jsonFloat32(opts.Temperature)) {
				t.Errorf("chat %v: temperature %v not sent as is: %s", chat, opts.Temperature, raw)
			}
			if f.auth[len(f.auth)-1] != "Bearer sekret" {
				t.Errorf("Authorization = %q", f.auth[len(f.auth)-1])
			}
		}
	}
}

func TestOpenAIRawKeepsTheServersBytes(t *testing.T) {
	f, o, _ := newFake(t, time.Second)
	ctx := context.Background()
	// The fake's own answers: usage reported.
	a, err := o.CompleteRaw(ctx, "Tom had", OpenAIOptions{GenOptions: GenOptions{MaxTokens: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if a.CompletionTokens != 3 || !strings.Contains(string(a.Body), `"text":"Tom had a"`) {
		t.Errorf("answer = %d tokens, %s", a.CompletionTokens, a.Body)
	}
	// Whatever the server sends, byte for byte: spacing, key order, fields
	// the miner does not know, float digits go-openai's float32 would lose.
	for _, tc := range []struct {
		name, body string
		chat       bool
		tokens     int
	}{
		{"completion without usage", `{ "id":"cmpl-9", "model":"fake", "choices":[{"index":0,"text":" a","logprobs":{"tokens":["token_id:1","token_id:2"],"token_logprobs":[-0.123456789012345,-1e-9],"top_logprobs":null,"text_offset":[0,1]},"finish_reason":"length"}], "kv_transfer_params":null }`, false, 2},
		{"chat with usage", `{"id":"chatcmpl-9","object":"chat.completion","model":"fake","choices":[{"index":0,"message":{"role":"assistant","content":"hi","reasoning_content":null},"logprobs":{"content":[{"token":"hi","logprob":-0.5,"bytes":[104,105],"top_logprobs":[]}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4},"system_fingerprint":"x"}` + "\n", true, 1},
		{"chat without logprobs or usage", `{"model":"fake","choices":[{"message":{"content":null}}]}`, true, 0},
	} {
		f.handle = func(w http.ResponseWriter, _ *http.Request, _ map[string]any) {
			io.WriteString(w, tc.body)
		}
		if tc.chat {
			a, err = o.ChatRaw(ctx, []ChatMessage{{Role: "user", Content: "x"}}, OpenAIOptions{})
		} else {
			a, err = o.CompleteRaw(ctx, "x", OpenAIOptions{})
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if string(a.Body) != tc.body || a.CompletionTokens != tc.tokens {
			t.Errorf("%s: answer %d tokens, body\n%s\nwant %d tokens,\n%s", tc.name, a.CompletionTokens, a.Body, tc.tokens, tc.body)
		}
	}
	// A server that names another model, or none, has the answer name the
	// configured one, so that streamed and non-streamed answers agree and a
	// validator knows which model to verify; the rest is kept.
	for _, named := range []string{`"model":"org/served-id",`, ``} {
		f.handle = func(w http.ResponseWriter, _ *http.Request, _ map[string]any) {
			io.WriteString(w, `{"id":"cmpl-7",`+named+`"choices":[{"text":" a","logprobs":{"tokens":["a"],"token_logprobs":[-0.123456789012345]},"finish_reason":"stop"}]}`)
		}
		if a, err = o.CompleteRaw(ctx, "x", OpenAIOptions{}); err != nil {
			t.Fatal(err)
		}
		var got struct {
			ID      string `json:"id"`
			Model   string `json:"model"`
			Choices []struct {
				Logprobs struct {
					TokenLogprobs []json.Number `json:"token_logprobs"`
				} `json:"logprobs"`
			} `json:"choices"`
		}
		if err := json.Unmarshal(a.Body, &got); err != nil {
			t.Fatal(err)
		}
		if got.Model != "fake" || got.ID != "cmpl-7" || len(got.Choices) != 1 || got.Choices[0].Logprobs.TokenLogprobs[0] != "-0.123456789012345" {
			t.Errorf("server naming %q: answer %s, want model \"fake\" and the rest as sent", named, a.Body)
		}
	}
}

func TestOpenAIRawErrors(t *testing.T) {
	f, o, _ := newFake(t, time.Second)
	ctx := context.Background()
	msgs := []ChatMessage{{Role: "user", Content: "x"}}
	for _, tc := range append(serverErrors, []serverError{
		{"not json", 200, "<html>hello</html>", "malformed response"},
		{"no choices", 200, `{"id":"1","choices":[]}`, "malformed response: no choices"},
		{"wrong type", 200, `{"id":"1","choices":"nope"}`, "malformed response"},
		{"text not a string", 200, `{"choices":[{"text":5}]}`, "malformed response"},
		{"cut short", 200, `{"id":"1","choices":[{"text":"a"`, "malformed response"},
		{"data after", 200, `{"choices":[{"text":"a"}]} {}`, "malformed response"},
		{"misaligned logprobs", 200, `{"id":"1","choices":[{"index":0,"text":"a","finish_reason":"stop","logprobs":{"tokens":["a","b"],"token_logprobs":[-1]}}]}`, "malformed response: 2 tokens but 1 token_logprobs"},
	}...) {
		f.handle = func(w http.ResponseWriter, _ *http.Request, _ map[string]any) {
			w.WriteHeader(tc.status)
			io.WriteString(w, tc.body)
		}
		_, err := o.ChatRaw(ctx, msgs, OpenAIOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), o.BaseURL()) {
			t.Errorf("%s: ChatRaw err = %v, want %q", tc.name, err, tc.want)
		}
		if _, err := o.CompleteRaw(ctx, "x", OpenAIOptions{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: CompleteRaw err = %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := o.CompleteRaw(ctx, "x", OpenAIOptions{GenOptions: GenOptions{Seed: 1 << 63}}); err == nil || !strings.Contains(err.Error(), "seed") {
		t.Errorf("huge seed: %v", err)
	}

	// A server that is down, and one too slow for the deadline.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	down, err := NewOpenAI(OpenAIConfig{BaseURL: "http://" + addr + "/v1", Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := down.CompleteRaw(ctx, "x", OpenAIOptions{}); err == nil || !strings.Contains(err.Error(), "is down (connection refused)") {
		t.Errorf("down: err = %v", err)
	}
	f.handle = func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
		<-r.Context().Done()
	}
	dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := o.CompleteRaw(dctx, "x", OpenAIOptions{}); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), o.BaseURL()) {
		t.Errorf("slow: err = %v", err)
	}
}

func TestWithFields(t *testing.T) {
	fields := explicit(nil).add("temperature", "0").add("logprobs", "2")
	for _, tc := range []struct{ in, want string }{
		{`{"model":"m"}`, `{"model":"m","temperature":0,"logprobs":2}`},
		{`{"model":"m"}` + "\n", `{"model":"m","temperature":0,"logprobs":2}`},
		{`{}`, `{"temperature":0,"logprobs":2}`},
		{`{ }`, `{ "temperature":0,"logprobs":2}`},
	} {
		got, err := withFields([]byte(tc.in), fields)
		if err != nil || string(got) != tc.want {
			t.Errorf("withFields(%q) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{``, `[]`, `"x"`, `{`} {
		if got, err := withFields([]byte(in), fields); err == nil {
			t.Errorf("withFields(%q) = %s, want an error", in, got)
		}
	}
}
