package miner_test

import (
	"bufio"
	"bytes"
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
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/miner"
	"github.com/seed0ffb8d46/agora/miner/minertest"
	"github.com/seed0ffb8d46/agora/protocol"
	"github.com/seed0ffb8d46/agora/rlhf"
)

func key(t testing.TB, b byte) *keys.PrivateKey {
	t.Helper()
	k, err := keys.NewPrivateKeyFromSeed(bytes.Repeat([]byte{b}, keys.SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// metagraph is a fixed metagraph for unit tests (the end-to-end tests use
// a real chain's, through chainclient).
type metagraph struct {
	mu     sync.Mutex
	loaded bool
	byKey  map[chain.AccountID]chain.NeuronView
}

func (g *metagraph) Lookup(h chain.AccountID) (chain.NeuronView, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	n, ok := g.byKey[h]
	return n, ok && g.loaded
}

func (g *metagraph) Snapshot() (*chain.MetagraphView, int64, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.loaded {
		return nil, 0, false
	}
	v := &chain.MetagraphView{}
	for _, n := range g.byKey {
		v.Neurons = append(v.Neurons, n)
	}
	return v, 7, true
}

func (g *metagraph) add(k *keys.PrivateKey, uid uint16, stake uint64, permit bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.byKey[chain.AccountID(k.PublicKey())] = chain.NeuronView{UID: uid, Hotkey: chain.AccountID(k.PublicKey()).String(), Stake: stake, ValidatorPermit: permit}
}

// fixture is a miner on loopback in front of a real HTTP model server.
type fixture struct {
	minerKey, validator *keys.PrivateKey
	meta                *metagraph
	model               *minertest.Model
	miner               *miner.Miner
	url                 string
	client              *http.Client
}

func newFixture(t *testing.T, mod func(*miner.Config)) *fixture {
	t.Helper()
	f := &fixture{minerKey: key(t, 1), validator: key(t, 2), meta: &metagraph{loaded: true, byKey: map[chain.AccountID]chain.NeuronView{}}, model: &minertest.Model{}}
	f.meta.add(f.minerKey, 0, 0, false)
	f.meta.add(f.validator, 1, 1_000_000, true)
	backendSrv := minertest.Serve(f.model)
	t.Cleanup(backendSrv.Close)
	be, err := miner.NewServer(llm.OpenAIConfig{BaseURL: backendSrv.URL + "/v1", Model: "test-model", IdleTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg := miner.Config{Key: f.minerKey, Backend: be, Metagraph: f.meta, RequestTimeout: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	f.miner, err = miner.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.miner.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	f.url = "http://" + ln.Addr().String()
	f.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
	return f
}

// post sends body to path signed by from and returns the response with
// its body read.
func (f *fixture) post(t testing.TB, from *keys.PrivateKey, path, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := (&protocol.Signer{Key: from}).NewRequest(context.Background(), http.MethodPost, f.url+path, []byte(body), f.minerKey.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// verified checks the miner's signature on a response.
func (f *fixture) verified(t testing.TB, resp *http.Response, body []byte) {
	t.Helper()
	if _, err := protocol.VerifyResponse(resp, body, f.minerKey.PublicKey()); err != nil {
		t.Fatalf("response signature: %v\nbody %s", err, body)
	}
}

func errCode(t testing.TB, body []byte) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Message == "" {
		t.Fatalf("error body %s: %v", body, err)
	}
	return e.Error.Code
}

func TestCompletionsAndChat(t *testing.T) {
	f := newFixture(t, nil)
	want := minertest.Continuation("Tom had a red ball", 0, 0, 5)

	resp, body := f.post(t, f.validator, "/v1/completions", `{"model":"test-model","prompt":"Tom had a red ball","max_tokens":5,"temperature":0,"logprobs":2,"return_tokens_as_token_ids":true}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	f.verified(t, resp, body)
	var cr struct {
		Object  string
		Choices []struct {
			Text         string
			FinishReason string `json:"finish_reason"`
			Logprobs     struct {
				Tokens        []string
				TokenLogprobs []float64            `json:"token_logprobs"`
				TopLogprobs   []map[string]float64 `json:"top_logprobs"`
			}
		}
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		}
	}
	if err := json.Unmarshal(body, &cr); err != nil {
		t.Fatal(err)
	}
	if len(cr.Choices) == 0 {
		t.Fatalf("no choices: %s", body)
	}
	c := cr.Choices[0]
	if cr.Object != "text_completion" || c.FinishReason != "length" || len(c.Logprobs.Tokens) != 5 || cr.Usage.CompletionTokens != 5 {
		t.Fatalf("response %s", body)
	}
	for i, id := range want {
		if c.Logprobs.Tokens[i] != fmt.Sprintf("token_id:%d", id) || c.Logprobs.TokenLogprobs[i] != minertest.Logprob(id, i) || len(c.Logprobs.TopLogprobs[i]) != 2 {
			t.Fatalf("token %d: %q %v %v, want id %d", i, c.Logprobs.Tokens[i], c.Logprobs.TokenLogprobs[i], c.Logprobs.TopLogprobs[i], id)
		}
	}

	resp, body = f.post(t, f.validator, "/v1/chat/completions", `{"messages":[{"role":"user","content":"Tom had a red ball"}],"max_completion_tokens":4,"temperature":0,"logprobs":true}`)
	if resp.StatusCode != 200 {
		t.Fatalf("chat status %d: %s", resp.StatusCode, body)
	}
	f.verified(t, resp, body)
	var chat struct {
		Object  string
		Choices []struct {
			Message  struct{ Role, Content string }
			Logprobs struct {
				Content []struct {
					Token   string
					Logprob float64
				}
			}
		}
	}
	if err := json.Unmarshal(body, &chat); err != nil {
		t.Fatal(err)
	}
	if chat.Object != "chat.completion" || chat.Choices[0].Message.Role != "assistant" || len(chat.Choices[0].Logprobs.Content) != 4 || chat.Choices[0].Message.Content == "" {
		t.Fatalf("chat response %s", body)
	}
}

// sse reads the data lines of a server-sent event stream.
func sse(t testing.TB, body []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

func TestStreamingSignedInTrailers(t *testing.T) {
	f := newFixture(t, nil)
	for _, tc := range []struct{ path, body, field string }{
		{"/v1/completions", `{"prompt":"a cat sat","max_tokens":6,"temperature":0,"stream":true,"logprobs":0,"stream_options":{"include_usage":true}}`, "text"},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a cat sat"}],"max_tokens":6,"temperature":0,"stream":true,"logprobs":true}`, "delta"},
	} {
		resp, body := f.post(t, f.validator, tc.path, tc.body)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("%s: status %d %s", tc.path, resp.StatusCode, body)
		}
		f.verified(t, resp, body)
		events := sse(t, body)
		if events[len(events)-1] != "[DONE]" {
			t.Fatalf("%s: stream does not end with [DONE]: %q", tc.path, events)
		}
		var text strings.Builder
		var finish string
		var usage bool
		tokens := 0
		for _, e := range events[:len(events)-1] {
			var ch struct {
				Choices []struct {
					Text         string
					Delta        struct{ Content string }
					FinishReason *string `json:"finish_reason"`
					Logprobs     json.RawMessage
				}
				Usage *struct {
					CompletionTokens int `json:"completion_tokens"`
				}
			}
			if err := json.Unmarshal([]byte(e), &ch); err != nil {
				t.Fatalf("%s: event %q: %v", tc.path, e, err)
			}
			if ch.Usage != nil {
				usage = ch.Usage.CompletionTokens == 6
			}
			for _, c := range ch.Choices {
				text.WriteString(c.Text + c.Delta.Content)
				if c.FinishReason != nil {
					finish = *c.FinishReason
				}
				if len(c.Logprobs) > 0 && string(c.Logprobs) != "null" {
					tokens++
				}
			}
		}
		if finish != "length" || tokens != 6 || (tc.field == "text" && !usage) {
			t.Fatalf("%s: finish %q, %d chunks with logprobs, usage %v: %q", tc.path, finish, tokens, usage, events)
		}
		// The same request unstreamed gives the same text.
		plain := strings.Replace(tc.body, `"stream":true`, `"stream":false`, 1)
		_, pb := f.post(t, f.validator, tc.path, plain)
		if !strings.Contains(string(pb), fmt.Sprintf("%q", text.String())) {
			t.Fatalf("%s: streamed text %q not in unstreamed answer %s", tc.path, text.String(), pb)
		}
	}
}

func TestRejections(t *testing.T) {
	f := newFixture(t, func(c *miner.Config) { c.MinStake = 500; c.MaxBody = 2048 })
	stranger, weak, staked := key(t, 3), key(t, 4), key(t, 5)
	f.meta.add(weak, 2, 10, false)
	f.meta.add(staked, 3, 500, false)
	ok := `{"prompt":"hello","max_tokens":2}`

	// Unsigned.
	resp, err := f.client.Post(f.url+"/v1/completions", "application/json", strings.NewReader(ok))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || errCode(t, b) != "unsigned" {
		t.Fatalf("unsigned: %d %s", resp.StatusCode, b)
	}
	for _, tc := range []struct {
		name   string
		from   *keys.PrivateKey
		path   string
		body   string
		status int
		code   string
	}{
		{"unregistered signer", stranger, "/v1/completions", ok, 403, "not_allowed"},
		{"no permit, too little stake", weak, "/v1/completions", ok, 403, "not_allowed"},
		{"no permit, enough stake", staked, "/v1/completions", ok, 200, ""},
		{"body too large", f.validator, "/v1/completions", `{"prompt":"` + strings.Repeat("x", 3000) + `"}`, 413, "body_too_large"},
		{"not JSON", f.validator, "/v1/completions", `{"prompt":`, 400, "bad_request"},
		{"no prompt", f.validator, "/v1/completions", `{"max_tokens":3}`, 400, "bad_request"},
		{"n > 1", f.validator, "/v1/completions", `{"prompt":"x","n":2}`, 400, "bad_request"},
		{"bad temperature", f.validator, "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"temperature":3}`, 400, "bad_request"},
		{"bad role", f.validator, "/v1/chat/completions", `{"messages":[{"role":"robot","content":"x"}]}`, 400, "bad_request"},
		{"streamed top logprobs", f.validator, "/v1/completions", `{"prompt":"x","stream":true,"logprobs":3}`, 400, "bad_request"},
		{"other model", f.validator, "/v1/completions", `{"prompt":"x","model":"gpt-9"}`, 404, "model_not_found"},
	} {
		resp, body := f.post(t, tc.from, tc.path, tc.body)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, resp.StatusCode, tc.status, body)
			continue
		}
		if tc.code != "" && errCode(t, body) != tc.code {
			t.Errorf("%s: code %q, want %q: %s", tc.name, errCode(t, body), tc.code, body)
		}
		// Whatever the miner answers after the signature check, it signs.
		if tc.status == 200 || tc.status == 400 || tc.status == 404 {
			f.verified(t, resp, body)
		}
	}
	f.meta.mu.Lock()
	f.meta.loaded = false
	f.meta.mu.Unlock()
	resp2, body := f.post(t, f.validator, "/v1/completions", ok)
	if resp2.StatusCode != 503 || errCode(t, body) != "metagraph_unavailable" {
		t.Fatalf("metagraph not loaded: %d %s", resp2.StatusCode, body)
	}
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t, func(c *miner.Config) { c.RateLimit, c.RateBurst = 1, 3 })
	var codes []int
	for range 5 {
		resp, body := f.post(t, f.validator, "/v1/completions", `{"prompt":"x","max_tokens":1}`)
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode == 429 {
			// The limit is part of the request check (before the uuid is
			// remembered), so its refusal is unsigned like the check's others.
			if errCode(t, body) != "rate_limited" || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("429 without code or Retry-After: %v %s", resp.Header, body)
			}
		}
	}
	if fmt.Sprint(codes) != "[200 200 200 429 429]" {
		t.Fatalf("codes %v, want 3 allowed (the burst) then 429", codes)
	}
}

func TestBackendDownAndSlow(t *testing.T) {
	f := newFixture(t, func(c *miner.Config) { c.RequestTimeout = 300 * time.Millisecond })
	f.model.Down.Store(true)
	start := time.Now()
	resp, body := f.post(t, f.validator, "/v1/completions", `{"prompt":"x"}`)
	if resp.StatusCode != 502 || errCode(t, body) != "backend_error" || time.Since(start) > 5*time.Second {
		t.Fatalf("backend down: %d %s after %s", resp.StatusCode, body, time.Since(start))
	}
	f.verified(t, resp, body)
	r, err := f.client.Get(f.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 503 || !strings.Contains(string(rb), `"backend"`) {
		t.Fatalf("readyz with the backend down: %d %s", r.StatusCode, rb)
	}

	f.model.Down.Store(false)
	f.model.TokenDelay = 100 * time.Millisecond // 16 tokens: 1.6 s, past the 300 ms deadline
	start = time.Now()
	resp, body = f.post(t, f.validator, "/v1/completions", `{"prompt":"x"}`)
	if resp.StatusCode != 504 || errCode(t, body) != "backend_timeout" || time.Since(start) > 2*time.Second {
		t.Fatalf("slow backend: %d %s after %s", resp.StatusCode, body, time.Since(start))
	}
	// Streaming: the first chunks go out, then an error event ends it.
	resp, body = f.post(t, f.validator, "/v1/completions", `{"prompt":"x","stream":true}`)
	events := sse(t, body)
	if resp.StatusCode != 200 || len(events) < 2 || !strings.Contains(events[len(events)-1], "backend_timeout") {
		t.Fatalf("slow stream: %d %q", resp.StatusCode, events)
	}
	f.verified(t, resp, body)
}

func TestQueuePriority(t *testing.T) {
	f := newFixture(t, func(c *miner.Config) { c.MaxConcurrent, c.MaxQueue = 1, 2 })
	// The first request holds the one slot until every queueing decision
	// is made: with a timer instead, a loaded machine let it finish early.
	hold := make(chan struct{})
	f.model.Hold = hold
	low, mid, high := key(t, 6), key(t, 7), key(t, 8)
	f.meta.add(low, 4, 10, true)
	f.meta.add(mid, 5, 100, true)
	f.meta.add(high, 6, 1000, true)

	done := make(chan struct{}, 8)
	send := func(name string, k *keys.PrivateKey, status *atomic.Int32) {
		resp, _ := f.post(t, k, "/v1/completions", `{"prompt":"`+name+`","max_tokens":3}`)
		status.Store(int32(resp.StatusCode))
		done <- struct{}{}
	}
	var s0, s1, s2, s3, s4 atomic.Int32
	go send("first", mid, &s0) // takes the one slot
	waitFor(t, func() bool { return f.model.Calls.Load() == 1 })
	go send("low", low, &s1)
	go send("mid", mid, &s2)
	waitFor(t, func() bool { return queueDepth(t, f) == 2 })
	go send("high", high, &s3) // the queue is full: evicts low
	waitFor(t, func() bool { return s1.Load() != 0 })
	go send("low2", low, &s4) // full of better-staked callers: refused
	waitFor(t, func() bool { return s4.Load() != 0 })
	close(hold)
	for range 5 {
		<-done
	}
	if s1.Load() != 503 || s4.Load() != 503 {
		t.Fatalf("low-staked requests: %d and %d, want 503 queue_full", s1.Load(), s4.Load())
	}
	// The order the backend served them in, recorded by the backend: the
	// order the callers read their answers in depends on the scheduler.
	if order := f.model.Prompts(); fmt.Sprint(order) != "[first high mid]" {
		t.Fatalf("served in order %v, want [first high mid]", order)
	}
	metrics := get(t, f.url+"/metrics")
	if !strings.Contains(metrics, `agora_miner_rejections_total{reason="queue_full"} 2`) {
		t.Fatalf("metrics lack the queue_full rejections:\n%s", metrics)
	}
}

func queueDepth(t *testing.T, f *fixture) int {
	for _, line := range strings.Split(get(t, f.url+"/metrics"), "\n") {
		if v, ok := strings.CutPrefix(line, "agora_miner_queue_depth "); ok {
			var n int
			fmt.Sscan(v, &n)
			return n
		}
	}
	return -1
}

func get(t testing.TB, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestProbesAndMetrics(t *testing.T) {
	f := newFixture(t, nil)
	if got := get(t, f.url+"/healthz"); !strings.Contains(got, `"ok":true`) {
		t.Fatalf("healthz %s", got)
	}
	if got := get(t, f.url+"/readyz"); !strings.Contains(got, `"ready":true`) || !strings.Contains(got, `"registration":"uid 0"`) {
		t.Fatalf("readyz %s", got)
	}
	f.post(t, f.validator, "/v1/completions", `{"prompt":"x","max_tokens":3}`)
	f.post(t, key(t, 9), "/v1/completions", `{"prompt":"x"}`)
	m := get(t, f.url+"/metrics")
	for _, want := range []string{
		`agora_miner_requests_total{code="200",endpoint="completions"} 1`,
		`agora_miner_requests_total{code="403",endpoint="completions"} 1`,
		`agora_miner_rejections_total{reason="not_allowed"} 1`,
		`agora_miner_completion_tokens_total 3`,
		`agora_miner_request_seconds_count{endpoint="completions"} 2`,
		`agora_miner_tokens_per_second_count 1`,
		`agora_miner_queue_depth 0`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// The unsigned OpenAIHandler speaks the wire format that go-openai (through
// llm.OpenAI) reads, streaming included: the stand-in for vLLM is a real
// OpenAI-compatible server.
func TestOpenAIHandlerWithGoOpenAI(t *testing.T) {
	m := &minertest.Model{}
	srv := minertest.Serve(m)
	defer srv.Close()
	o, err := llm.NewOpenAI(llm.OpenAIConfig{BaseURL: srv.URL + "/v1", Model: "test-model"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	opts := llm.OpenAIOptions{GenOptions: llm.GenOptions{MaxTokens: 7}, TopLogprobs: 2}
	g, err := o.Complete(ctx, "the cat", opts)
	if err != nil {
		t.Fatal(err)
	}
	want := minertest.Continuation("the cat", 0, 0, 7)
	if len(g.Tokens) != 7 || g.FinishReason != "length" || len(g.TopLogprobs) != 7 || g.Tokens[3].Logprob != minertest.Logprob(want[3], 3) {
		t.Fatalf("completion %+v", g)
	}
	var streamed strings.Builder
	sg, err := o.ChatStream(ctx, []llm.ChatMessage{{Role: "user", Content: "the cat"}}, llm.OpenAIOptions{GenOptions: llm.GenOptions{MaxTokens: 5}}, func(text string, _ []llm.TokenLogprob) error {
		streamed.WriteString(text)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if streamed.String() != sg.Text || len(sg.Tokens) != 5 || sg.FinishReason != "length" {
		t.Fatalf("chat stream %q vs %+v", streamed.String(), sg)
	}
	m.Down.Store(true)
	if _, err := o.Complete(ctx, "x", opts); err == nil || !strings.Contains(err.Error(), "502") {
		t.Fatalf("down backend through the handler: %v", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Fatal("unexpected cancel")
	}
	_ = httptest.NewRecorder
}

// Validators' preference endpoints: tasks go to the durable queue, labels
// come back only to the validator that sent the tasks, and trap results
// become the labeler's accuracy.
func TestPreferenceEndpoints(t *testing.T) {
	dir := t.TempDir()
	labels, err := miner.OpenLabels(dir, "agora1test", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { labels.Close() }()
	f := newFixture(t, func(c *miner.Config) { c.Labels = labels })
	other := key(t, 12)
	f.meta.add(other, 7, 1000, true)
	prefix := f.validator.PublicKey().Hex() + ":"
	deadline := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	task := `{"tasks":[{"id":"` + prefix + `t1","prompt":"p","completion_a":"a","completion_b":"b","deadline":"` + deadline + `","created_at":"2026-01-01T00:00:00Z"}]}`
	// A task that would hold its place for decades is refused.
	resp, body := f.post(t, f.validator, "/v1/preference/tasks", strings.Replace(task, deadline, "2099-01-01T00:00:00Z", 1))
	if resp.StatusCode != 400 || !strings.Contains(string(body), "deadline is too far away") {
		t.Fatalf("far deadline: %d %s", resp.StatusCode, body)
	}
	resp, body = f.post(t, f.validator, "/v1/preference/tasks", task)
	if resp.StatusCode != 200 {
		t.Fatalf("tasks: %d %s", resp.StatusCode, body)
	}
	f.verified(t, resp, body)
	if labels.Queue.Len() != 1 {
		t.Fatalf("queue holds %d tasks", labels.Queue.Len())
	}
	// Another validator's prefix is refused.
	resp, body = f.post(t, f.validator, "/v1/preference/tasks", strings.Replace(task, prefix, other.PublicKey().Hex()+":", 1))
	if resp.StatusCode != 400 || !strings.Contains(string(body), "must start with your hotkey") {
		t.Fatalf("foreign prefix: %d %s", resp.StatusCode, body)
	}
	// A labeler labels it (as the hub would).
	if err := labels.Store.Append(context.Background(), rlhf.Label{TaskID: prefix + "t1", LabelerID: "ann", Choice: rlhf.ChoiceA, TimeOnTaskMs: 3000, Miner: "agora1test", ReceivedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	ids := `{"task_ids":["` + prefix + `t1"]}`
	resp, body = f.post(t, f.validator, "/v1/preference/labels", ids)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"labeler_id":"ann"`) {
		t.Fatalf("labels: %d %s", resp.StatusCode, body)
	}
	if resp, body = f.post(t, other, "/v1/preference/labels", ids); resp.StatusCode != 403 {
		t.Fatalf("another validator read the labels: %d %s", resp.StatusCode, body)
	}
	// Trap results: only for labels the miner holds, each once.
	results := `{"results":[{"task_id":"` + prefix + `t1","labeler_id":"ann","correct":true},{"task_id":"` + prefix + `t1","labeler_id":"ann","correct":false},{"task_id":"` + prefix + `t9","labeler_id":"ann","correct":false}]}`
	resp, body = f.post(t, f.validator, "/v1/preference/results", results)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"accepted":1`) {
		t.Fatalf("results: %d %s", resp.StatusCode, body)
	}
	if r, c := labels.TrapStats("ann"); r != 1 || c != 1 {
		t.Fatalf("trap stats %d resolved, %d correct; want 1, 1", r, c)
	}
	metrics := get(t, f.url+"/metrics")
	for _, want := range []string{"agora_miner_labels_stored_total 1", "agora_miner_label_tasks_queued 1", "agora_miner_labelers_connected 0"} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	// A restarted miner shows the labeler the same accuracy, and still
	// counts each label once.
	if err := labels.Close(); err != nil {
		t.Fatal(err)
	}
	if labels, err = miner.OpenLabels(dir, "agora1test", nil, nil); err != nil {
		t.Fatal(err)
	}
	if r, c := labels.TrapStats("ann"); r != 1 || c != 1 {
		t.Fatalf("after a restart: trap stats %d resolved, %d correct; want 1, 1", r, c)
	}
	h := newFixture(t, func(c *miner.Config) { c.Labels = labels })
	resp, body = h.post(t, h.validator, "/v1/preference/results", results)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"accepted":0`) {
		t.Fatalf("results re-sent to the restarted miner: %d %s", resp.StatusCode, body)
	}
	if r, c := labels.TrapStats("ann"); r != 1 || c != 1 {
		t.Fatalf("after a re-send: trap stats %d resolved, %d correct; want 1, 1", r, c)
	}
	// Without labels, the endpoints say so.
	g := newFixture(t, nil)
	if resp, body = g.post(t, g.validator, "/v1/preference/tasks", task); resp.StatusCode != 404 || !strings.Contains(string(body), "no_labelers") {
		t.Fatalf("no labels: %d %s", resp.StatusCode, body)
	}
}

// A model server's non-streamed answer reaches the validator byte for byte
// under the miner's signature: its own id, spacing, float digits and fields
// the miner does not know. The request the server gets is the miner's,
// built from the checked request. An answer that is not a well-formed
// answer is a signed 502 that says why.
func TestPassThrough(t *testing.T) {
	var answer, got atomic.Value // string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(string(b))
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, answer.Load().(string))
	}))
	t.Cleanup(srv.Close)
	be, err := miner.NewServer(llm.OpenAIConfig{BaseURL: srv.URL + "/v1", Model: "test-model"})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(c *miner.Config) { c.Backend = be })
	for _, tc := range []struct{ path, req, sent, answer string }{
		{"/v1/completions", `{"prompt":"x","max_tokens":2,"logprobs":0,"return_tokens_as_token_ids":true}`,
			`{"model":"test-model","prompt":"x","max_tokens":2,"seed":0,"stream":false,"temperature":1,"return_tokens_as_token_ids":true,"logprobs":0}`,
			`{"id":"cmpl-vllm","object":"text_completion","created":1,"model":"test-model","choices":[{"index":0,"text":" a b","logprobs":{"tokens":["token_id:7","token_id:8"],"token_logprobs":[-0.1234567890123,-2.5e-7],"top_logprobs":null,"text_offset":[0,2]},"finish_reason":"length","stop_reason":null}],"usage":{"prompt_tokens":2,"completion_tokens":2,"total_tokens":4},"kv_transfer_params":null}`},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"temperature":0}`,
			`{"model":"test-model","messages":[{"role":"user","content":"x"}],"stream":false,"seed":0,"temperature":0}`,
			"{\"id\":\"chatcmpl-vllm\", \"model\":\"test-model\", \"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":\"stop\"}],\"usage\":{\"completion_tokens\":1}}\n"},
	} {
		answer.Store(tc.answer)
		resp, body := f.post(t, f.validator, tc.path, tc.req)
		if resp.StatusCode != 200 || string(body) != tc.answer {
			t.Fatalf("%s: %d\n%s\nwant the server's\n%s", tc.path, resp.StatusCode, body, tc.answer)
		}
		f.verified(t, resp, body)
		if _, err := protocol.VerifyResponse(resp, append(body[:len(body):len(body)], ' '), f.minerKey.PublicKey()); err == nil {
			t.Errorf("%s: the signature verifies for other bytes too", tc.path)
		}
		if s := got.Load().(string); s != tc.sent {
			t.Errorf("%s: the server got\n%s\nwant\n%s", tc.path, s, tc.sent)
		}
	}
	if m := get(t, f.url+"/metrics"); !strings.Contains(m, "agora_miner_completion_tokens_total 3") {
		t.Errorf("tokens not counted from the servers' usage:\n%s", m)
	}

	for _, bad := range []string{"<html>oops</html>", `{"choices":[]}`, `{"choices":[{"text":"a"`, `{"choices":[{"text":1}]}`} {
		answer.Store(bad)
		resp, body := f.post(t, f.validator, "/v1/completions", `{"prompt":"x"}`)
		if resp.StatusCode != 502 || errCode(t, body) != "backend_error" || !strings.Contains(string(body), "malformed response") {
			t.Errorf("answer %q: %d %s", bad, resp.StatusCode, body)
		}
		f.verified(t, resp, body)
	}
}

// A caller that trickles its body is answered 400 body_read once
// BodyTimeout has passed, rather than holding a goroutine and a buffer for
// as long as it likes.
func TestSlowBodyIsCutOff(t *testing.T) {
	f := newFixture(t, func(c *miner.Config) { c.BodyTimeout = 300 * time.Millisecond })
	body := []byte(`{"prompt":"hello","max_tokens":2}`)
	req, err := (&protocol.Signer{Key: f.validator}).NewRequest(context.Background(), http.MethodPost, f.url+"/v1/completions", body, f.minerKey.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { _, _ = pw.Write(body[:5]) }() // then nothing more
	req.Body, req.ContentLength = pr, int64(len(body))
	start := time.Now()
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(got), "body_read") {
		t.Fatalf("trickled body: %d %s, want 400 body_read", resp.StatusCode, got)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("answered after %s, want about the 300ms body timeout", took)
	}
}

// A request without Epistula-Body-Sha256 is refused from its headers
// alone: the miner answers 400 missing_header while the body is still
// unsent, rather than read and hash a body that anyone naming a validator
// could make it take.
func TestBodyHashHeaderRequired(t *testing.T) {
	f := newFixture(t, func(c *miner.Config) { c.BodyTimeout = 20 * time.Second })
	body := []byte(`{"prompt":"hello","max_tokens":2}`)
	req, err := (&protocol.Signer{Key: f.validator}).NewRequest(context.Background(), http.MethodPost, f.url+"/v1/completions", body, f.minerKey.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Del(protocol.HeaderBodySHA256)
	host := strings.TrimPrefix(f.url, "http://")
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The headers and the first bytes of the body; the rest never comes.
	var head bytes.Buffer
	fmt.Fprintf(&head, "POST /v1/completions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", host, len(body))
	if err := req.Header.Write(&head); err != nil {
		t.Fatal(err)
	}
	head.WriteString("\r\n")
	head.Write(body[:5])
	if _, err := c.Write(head.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer while the body is unsent: %v", err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || errCode(t, got) != "missing_header" || !strings.Contains(string(got), protocol.HeaderBodySHA256) {
		t.Fatalf("no body hash header: %d %s, want 400 missing_header naming %s", resp.StatusCode, got, protocol.HeaderBodySHA256)
	}
}
