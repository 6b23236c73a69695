package llm

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// The built-in engine's prompt log-probabilities are Score's and
// Generate's, bit for bit, with the top tokens in order and the sent
// token's rank.
func TestLlamaPromptLogprobs(t *testing.T) {
	m := testModel(t)
	ctx := context.Background()
	g, err := m.Generate(ctx, goldenPrompt, GenOptions{MaxTokens: 30})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, tk := range g.Tokens {
		ids = append(ids, tk.ID)
	}
	seq := slices.Concat(g.PromptTokens, ids)
	pl, err := m.PromptLogprobs(ctx, seq, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(pl) != len(seq) {
		t.Fatalf("%d entries for %d ids", len(pl), len(seq))
	}
	n := len(g.PromptTokens)
	for i, tk := range g.Tokens {
		p := pl[n-1+i]
		if p.Sent.ID != tk.ID || math.Float64bits(p.Sent.Logprob) != math.Float64bits(tk.Logprob) || p.Sent.Text != tk.Text {
			t.Fatalf("token %d: %+v, Generate gave %+v", i, p.Sent, tk)
		}
		// Greedy: the sent token is the argmax.
		if p.SentRank != 1 || p.Top[0].ID != tk.ID || len(p.Top) != 5 {
			t.Fatalf("token %d: rank %d, top %+v", i, p.SentRank, p.Top)
		}
		for j := 1; j < len(p.Top); j++ {
			if p.Top[j].Logprob > p.Top[j-1].Logprob {
				t.Fatalf("token %d: top not in order: %+v", i, p.Top)
			}
		}
	}
	score, err := m.Score(ctx, goldenPrompt, ids)
	if err != nil {
		t.Fatal(err)
	}
	for i, lp := range score {
		if math.Float64bits(lp) != math.Float64bits(pl[n-1+i].Sent.Logprob) {
			t.Fatalf("token %d: Score %v, PromptLogprobs %v", i, lp, pl[n-1+i].Sent.Logprob)
		}
	}
	last := pl[len(pl)-1]
	if last.Sent.ID != -1 || !math.IsNaN(last.Sent.Logprob) || last.SentRank != 0 {
		t.Fatalf("after the sequence: %+v", last)
	}

	// k above the vocabulary is all of it: a distribution.
	all, err := m.PromptLogprobs(ctx, seq[:3], 1000)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, tk := range all[1].Top {
		sum += math.Exp(tk.Logprob)
	}
	if len(all[1].Top) != m.Config().VocabSize || math.Abs(sum-1) > 1e-9 {
		t.Fatalf("whole vocabulary: %d tokens, mass %v", len(all[1].Top), sum)
	}
	// The sent token's rank among them.
	rank := slices.IndexFunc(all[0].Top, func(tk TokenLogprob) bool { return tk.ID == seq[1] }) + 1
	if all[0].SentRank != rank {
		t.Fatalf("rank %d, its place in the top is %d", all[0].SentRank, rank)
	}
	if none, err := m.PromptLogprobs(ctx, seq[:2], 0); err != nil || none[0].Top != nil || none[0].Sent.ID != seq[1] {
		t.Fatalf("k 0: %+v, %v", none, err)
	}
}

func TestLlamaPromptLogprobsErrors(t *testing.T) {
	m := testModel(t)
	ctx := context.Background()
	if _, err := m.PromptLogprobs(ctx, nil, 5); err == nil {
		t.Fatal("no ids: no error")
	}
	if _, err := m.PromptLogprobs(ctx, []int{BOSID, 200}, 5); !errors.Is(err, ErrBadToken) {
		t.Fatalf("id 200: %v", err)
	}
	if _, err := m.PromptLogprobs(ctx, make([]int, m.Config().SeqLen+1), 5); err == nil || !strings.Contains(err.Error(), "context") {
		t.Fatalf("too long: %v", err)
	}
	if _, err := m.Detokenize(ctx, []int{BOSID, -1}); !errors.Is(err, ErrBadToken) {
		t.Fatalf("detokenize -1: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.PromptLogprobs(cctx, []int{BOSID, 5}, 5); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	ids, err := m.Tokenize(ctx, goldenPrompt)
	if err != nil || ids[0] != BOSID {
		t.Fatalf("tokenize: %v %v", ids, err)
	}
	if text, err := m.Detokenize(ctx, ids); err != nil || text != goldenPrompt {
		t.Fatalf("detokenize: %q %v", text, err)
	}
}

// vllmScorer is a canned vLLM: /tokenize, /detokenize and completions with
// prompt_logprobs, as vLLM writes them; what it answers is set per test.
type vllmScorer struct {
	t          *testing.T
	completion string // the body of /v1/completions answers
	status     int    // of /v1/completions answers; 200 when 0
	lastBody   map[string]any
}

func (f *vllmScorer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		f.t.Errorf("%s: body %s: %v", r.URL.Path, body, err)
	}
	f.lastBody = req
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/tokenize":
		_, _ = io.WriteString(w, `{"count":3,"max_model_len":2048,"tokens":[1,15043,3186],"token_strs":null}`)
	case "/detokenize":
		if slices.Contains(req["tokens"].([]any), any(float64(99999))) {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"object":"error","message":"Token id 99999 is out of vocabulary","type":"BadRequestError","param":null,"code":400}`)
			return
		}
		_, _ = io.WriteString(w, `{"prompt":"<s> Hello world"}`)
	case "/v1/completions":
		if f.status != 0 {
			w.WriteHeader(f.status)
		}
		_, _ = io.WriteString(w, f.completion)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// vllmAnswer is vLLM's answer for prompt [1, 15043, 3186] with k = 2: the
// second prompt token is outside the top 2 (rank 7, sent besides them).
const vllmAnswer = `{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":0,
"text":"!","logprobs":{"text_offset":[0],"token_logprobs":[-0.5],"tokens":["token_id:29991"],
"top_logprobs":[{"token_id:29991":-0.5,"token_id:29889":-1.25}]},"finish_reason":"length","stop_reason":null,
"prompt_logprobs":[null,
 {"15043":{"logprob":-7.5,"rank":7,"decoded_token":"Hello"},"450":{"logprob":-1.5,"rank":1,"decoded_token":"The"},"1576":{"logprob":-2.0,"rank":2,"decoded_token":"This"}},
 {"3186":{"logprob":-0.25,"rank":1,"decoded_token":" world"},"29892":{"logprob":-9999.0,"rank":2,"decoded_token":","}}]}],
"usage":{"prompt_tokens":3,"total_tokens":4,"completion_tokens":1}}`

func newScorer(t *testing.T) (*vllmScorer, *OpenAI) {
	f := &vllmScorer{t: t, completion: vllmAnswer}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	o, err := NewOpenAI(OpenAIConfig{BaseURL: srv.URL + "/v1", Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	return f, o
}

func TestOpenAIPromptLogprobs(t *testing.T) {
	f, o := newScorer(t)
	ctx := context.Background()
	ids, err := o.Tokenize(ctx, "Hello world")
	if err != nil || !slices.Equal(ids, []int{1, 15043, 3186}) {
		t.Fatalf("tokenize: %v %v", ids, err)
	}
	if f.lastBody["prompt"] != "Hello world" || f.lastBody["add_special_tokens"] != true || f.lastBody["model"] != "m" {
		t.Fatalf("tokenize request: %v", f.lastBody)
	}
	text, err := o.Detokenize(ctx, ids)
	if err != nil || text != "<s> Hello world" {
		t.Fatalf("detokenize: %q %v", text, err)
	}
	pl, err := o.PromptLogprobs(ctx, ids, 2)
	if err != nil {
		t.Fatal(err)
	}
	// What vLLM was asked: the ids, greedy, and its extensions.
	want := map[string]any{"model": "m", "max_tokens": float64(1), "temperature": float64(0), "logprobs": float64(2),
		"prompt_logprobs": float64(2), "return_tokens_as_token_ids": true}
	for k, v := range want {
		if f.lastBody[k] != v {
			t.Errorf("request %s = %v, want %v (body %v)", k, f.lastBody[k], v, f.lastBody)
		}
	}
	if p, _ := json.Marshal(f.lastBody["prompt"]); string(p) != "[1,15043,3186]" {
		t.Errorf("prompt %s", p)
	}
	if len(pl) != 3 {
		t.Fatalf("%d entries", len(pl))
	}
	if p := pl[0]; p.Sent.ID != 15043 || p.Sent.Logprob != -7.5 || p.SentRank != 7 || p.Sent.Text != "Hello" ||
		len(p.Top) != 2 || p.Top[0].ID != 450 || p.Top[1].ID != 1576 {
		t.Fatalf("entry 0: %+v", p)
	}
	if p := pl[1]; p.Sent.ID != 3186 || p.SentRank != 1 || len(p.Top) != 2 || p.Top[0].ID != 3186 || p.Top[1].Logprob != -9999 {
		t.Fatalf("entry 1: %+v", p)
	}
	if p := pl[2]; p.Sent.ID != -1 || !math.IsNaN(p.Sent.Logprob) || len(p.Top) != 2 || p.Top[0].ID != 29991 || p.Top[1].ID != 29889 || p.Top[1].Logprob != -1.25 {
		t.Fatalf("after the prompt: %+v", p)
	}
}

func TestOpenAIPromptLogprobsFailures(t *testing.T) {
	f, o := newScorer(t)
	ctx := context.Background()
	ids := []int{1, 15043, 3186}
	for _, c := range []struct {
		name, body string
		status     int
		is         error
		says       string
	}{
		{"no prompt_logprobs", strings.Replace(vllmAnswer, `"prompt_logprobs"`, `"other"`, 1), 0, ErrNoLogprobs, "no prompt_logprobs"},
		{"null prompt_logprobs", `{"choices":[{"text":"","prompt_logprobs":null,"logprobs":null}]}`, 0, ErrNoLogprobs, "no prompt_logprobs"},
		{"no top after", strings.Replace(vllmAnswer, `"top_logprobs":[{"token_id:29991":-0.5,"token_id:29889":-1.25}]`, `"top_logprobs":[]`, 1), 0, ErrNoLogprobs, "after the prompt"},
		{"out of vocabulary", `{"object":"error","message":"Token id 99999 is out of vocabulary","type":"BadRequestError","code":400}`, 400, ErrBadToken, "HTTP 400: Token id 99999 is out of vocabulary"},
		{"server error", `upstream exploded`, 502, nil, "HTTP 502: upstream exploded"},
		{"no choices", `{"choices":[]}`, 0, nil, "malformed response: no choices"},
		{"too few entries", strings.Replace(vllmAnswer, `[null,`, `[`, 1), 0, nil, "2 prompt_logprobs for 3 prompt tokens"},
		{"text keys", strings.ReplaceAll(vllmAnswer, `"token_id:`, `"tok`), 0, nil, "not token_id:N"},
		{"sent missing", strings.Replace(vllmAnswer, `"3186":{`, `"3187":{`, 1), 0, nil, "no entry for the prompt's token 3186"},
		{"positive logprob", strings.Replace(vllmAnswer, `"logprob":-0.25`, `"logprob":0.5`, 1), 0, nil, "log-probability 0.5"},
		{"not JSON", `<html>`, 0, nil, "malformed response"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.completion, f.status = c.body, c.status
			_, err := o.PromptLogprobs(ctx, ids, 2)
			if err == nil || !strings.Contains(err.Error(), c.says) || (c.is != nil && !errors.Is(err, c.is)) {
				t.Fatalf("error %v, want one saying %q (is %v)", err, c.says, c.is)
			}
			var se *StatusError
			if c.status != 0 && (!errors.As(err, &se) || se.Status != c.status || !strings.HasSuffix(se.URL, "/v1/completions")) {
				t.Fatalf("status error: %#v", err)
			}
		})
	}
	if _, err := o.PromptLogprobs(ctx, []int{1, -3}, 2); !errors.Is(err, ErrBadToken) {
		t.Fatalf("negative id: %v", err)
	}
	if _, err := o.PromptLogprobs(ctx, ids, 0); err == nil {
		t.Fatal("k 0: no error")
	}
	if _, err := o.Detokenize(ctx, []int{1, 99999}); !errors.Is(err, ErrBadToken) {
		t.Fatalf("detokenize out of vocabulary: %v", err)
	}
	if _, err := o.Detokenize(ctx, []int{-1}); !errors.Is(err, ErrBadToken) {
		t.Fatalf("detokenize -1: %v", err)
	}
}
