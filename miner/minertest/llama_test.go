package minertest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/miner/minertest"
	"github.com/seed0ffb8d46/agora/scoring"
)

func demo(t *testing.T) *llm.Llama {
	t.Helper()
	m, err := minertest.DemoLlama()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// serve starts a LlamaServer and a client for it.
func serve(t *testing.T, m *llm.Llama, opts minertest.LlamaOptions) (*llm.OpenAI, string) {
	t.Helper()
	srv := minertest.ServeLlama(m, opts)
	t.Cleanup(srv.Close)
	o, err := llm.NewOpenAI(llm.OpenAIConfig{BaseURL: srv.URL + "/v1", Model: "babyllama105"})
	if err != nil {
		t.Fatal(err)
	}
	return o, srv.URL
}

// post sends body to url and decodes the answer into out, returning the
// status.
func post(t *testing.T, url, body string, out any) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("%s: %s: %v", url, data, err)
	}
	return resp.StatusCode
}

// The server speaks vLLM's dialect of the API over the real model.
func TestLlamaServerAPI(t *testing.T) {
	m := demo(t)
	o, url := serve(t, m, minertest.LlamaOptions{})
	ctx := context.Background()
	const prompt = "Lily and Tom went to the park"

	resp, err := http.Get(url + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	var models struct {
		Data []struct {
			ID          string `json:"id"`
			MaxModelLen int    `json:"max_model_len"`
		} `json:"data"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&models)
	resp.Body.Close()
	if len(models.Data) != 1 || models.Data[0].ID != "babyllama105" || models.Data[0].MaxModelLen != m.Config().SeqLen {
		t.Fatalf("models: %+v", models)
	}

	// Tokenize and detokenize as the model's tokenizer does.
	ids, err := o.Tokenize(ctx, prompt)
	want, _ := m.Tokenizer().Encode(prompt, true)
	if err != nil || !slices.Equal(ids, want) {
		t.Fatalf("tokenize: %v %v, want %v", ids, err, want)
	}
	if text, err := o.Detokenize(ctx, ids); err != nil || text != prompt {
		t.Fatalf("detokenize: %q %v", text, err)
	}
	var e struct {
		Object, Message string
		Code            int
	}
	if code := post(t, url+"/detokenize", `{"tokens":[1,500]}`, &e); code != 400 || e.Object != "error" || !strings.Contains(e.Message, "out of vocabulary") {
		t.Fatalf("detokenize 500: %d %+v", code, e)
	}

	// A seeded sample is the engine's, token for token.
	opts := llm.GenOptions{MaxTokens: 40, Temperature: 0.8, TopP: 0.9, Seed: 42}
	g, err := m.Generate(ctx, prompt, opts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := o.Complete(ctx, prompt, llm.OpenAIOptions{GenOptions: opts, TokenIDs: true, TopLogprobs: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != g.Text || got.FinishReason != g.FinishReason || len(got.Tokens) != len(g.Tokens) {
		t.Fatalf("completion %q (%s, %d tokens), engine %q (%s, %d)", got.Text, got.FinishReason, len(got.Tokens), g.Text, g.FinishReason, len(g.Tokens))
	}
	for i, tk := range got.Tokens {
		// go-openai reads completions' log-probabilities as float32.
		if tk.ID != g.Tokens[i].ID || float32(tk.Logprob) != float32(g.Tokens[i].Logprob) || len(got.TopLogprobs[i]) < 3 {
			t.Fatalf("token %d: %+v, engine %+v, top %v", i, tk, g.Tokens[i], got.TopLogprobs[i])
		}
	}

	// Prompt log-probabilities of given ids, as vLLM returns them: null,
	// then the sent token and the top k at each position.
	seq := slices.Concat(ids, []int{got.Tokens[0].ID, got.Tokens[1].ID})
	pl, err := o.PromptLogprobs(ctx, seq, 5)
	if err != nil {
		t.Fatal(err)
	}
	own, err := m.PromptLogprobs(ctx, seq, 5)
	if err != nil {
		t.Fatal(err)
	}
	for i := range pl {
		if pl[i].Sent.ID != own[i].Sent.ID || len(pl[i].Top) != 5 || pl[i].Top[0].ID != own[i].Top[0].ID || pl[i].Top[0].Logprob != own[i].Top[0].Logprob ||
			(own[i].Sent.ID >= 0 && (pl[i].Sent.Logprob != own[i].Sent.Logprob || pl[i].SentRank != own[i].SentRank)) {
			t.Fatalf("position %d: server %+v, engine %+v", i, pl[i], own[i])
		}
	}
	var raw struct {
		Choices []struct {
			Text           string           `json:"text"`
			PromptLogprobs []map[string]any `json:"prompt_logprobs"`
			Logprobs       struct {
				Tokens        []string   `json:"tokens"`
				TokenLogprobs []*float64 `json:"token_logprobs"`
			} `json:"logprobs"`
		} `json:"choices"`
	}
	body, _ := json.Marshal(map[string]any{"prompt": prompt, "max_tokens": 0, "echo": true, "logprobs": 1, "prompt_logprobs": 1})
	if code := post(t, url+"/v1/completions", string(body), &raw); code != 200 {
		t.Fatalf("echo: %d", code)
	}
	c := raw.Choices[0]
	if c.Text != prompt || c.PromptLogprobs[0] != nil || len(c.PromptLogprobs) != len(ids) || c.Logprobs.TokenLogprobs[0] != nil ||
		len(c.Logprobs.Tokens) != len(ids) || *c.Logprobs.TokenLogprobs[1] != own[0].Sent.Logprob {
		t.Fatalf("echo: %+v", c)
	}

	// What it refuses, as vLLM would.
	for _, bad := range []string{
		`{"prompt":[1,500],"max_tokens":1}`,
		`{"prompt":"x","logprobs":21}`,
		`{"prompt":"x","max_tokens":0}`,
		`{"prompt":"x","stream":true}`,
		`{"prompt":[1,40,5],"max_tokens":2,"temperature":0.7}`,
	} {
		if code := post(t, url+"/v1/completions", bad, &e); code != 400 || e.Object != "error" || e.Message == "" {
			t.Errorf("%s: %d %+v", bad, code, e)
		}
	}
}

// answer is a miner's answer through the server: text, token ids, finish.
type answer struct {
	text, finish string
	ids          []int
}

func complete(t *testing.T, o *llm.OpenAI, prompt string, opts llm.GenOptions) answer {
	t.Helper()
	g, err := o.Complete(context.Background(), prompt, llm.OpenAIOptions{GenOptions: opts, TokenIDs: true})
	if err != nil {
		t.Fatal(err)
	}
	a := answer{text: g.Text, finish: g.FinishReason}
	for _, tk := range g.Tokens {
		if tk.ID < 0 {
			t.Fatalf("token without an id: %+v", tk)
		}
		a.ids = append(a.ids, tk.ID)
	}
	return a
}

// The validator's statistical check of a miner on a model server, over
// real loopback sockets: the miner's answers come from one server, the
// validator scores them on another.
func TestStatisticalVerificationEndToEnd(t *testing.T) {
	m := demo(t)
	ctx := context.Background()
	miner, _ := serve(t, m, minertest.LlamaOptions{})
	validator, _ := serve(t, m, minertest.LlamaOptions{})
	vm, err := scoring.NewLogprobModel(validator, []int{llm.BOSID, llm.EOSID})
	if err != nil {
		t.Fatal(err)
	}
	pol := scoring.DefaultStatPolicy()
	const seed = 0
	prompt := scoring.StoryPrompt(seed)
	p := scoring.SamplingParams{Temperature: 0.8, TopP: 0.9, Seed: seed, MaxTokens: 64}
	opts := llm.GenOptions{MaxTokens: 64, Temperature: 0.8, TopP: 0.9, Seed: seed}
	verify := func(vm scoring.TokenModel, a answer) scoring.SampleVerdict {
		t.Helper()
		v, err := scoring.VerifySampled(ctx, vm, prompt, a.text, a.ids, p, a.finish, nil, pol)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	honest := complete(t, miner, prompt, opts)
	if v := verify(vm, honest); !v.OK || v.Checked == 0 {
		t.Fatalf("honest answer: %+v", v)
	}
	// Greedy output when sampling was asked.
	g := opts
	g.Temperature = 0
	if v := verify(vm, complete(t, miner, prompt, g)); v.Reason != scoring.SampleGreedy {
		t.Errorf("greedy answer: %+v", v)
	}
	// Canned text, in the server's own tokens, at full length.
	canned := " The quick brown fox jumps over the lazy dog, and then it ran far away to eat some cheese with its uncle Bob."
	all, err := validator.Tokenize(ctx, prompt+canned)
	if err != nil {
		t.Fatal(err)
	}
	pids, _ := validator.Tokenize(ctx, prompt)
	if !slices.Equal(all[:len(pids)], pids) {
		t.Fatalf("the prompt's tokens change with the canned text after it")
	}
	ids := all[len(pids):][:64]
	text, _ := vm.Text(ctx, prompt, ids)
	if v := verify(vm, answer{text: text, ids: ids, finish: llm.FinishLength}); v.Reason != scoring.SampleOutsideNucleus {
		t.Errorf("canned text: %+v", v)
	}
	// An honest answer cut short, claiming the model stopped.
	cut := honest.ids[:20]
	text, _ = vm.Text(ctx, prompt, cut)
	if v := verify(vm, answer{text: text, ids: cut, finish: llm.FinishStop}); v.Reason != scoring.SampleEarlyStop {
		t.Errorf("truncated answer: %+v", v)
	}

	// The validator's model server misbehaves.
	noLogprobs, _ := serve(t, m, minertest.LlamaOptions{NoPromptLogprobs: true})
	nl, _ := scoring.NewLogprobModel(noLogprobs, []int{llm.BOSID, llm.EOSID})
	if v := verify(nl, honest); v.Reason != scoring.SampleNoLogprobs || !strings.Contains(v.Detail, "prompt_logprobs") {
		t.Errorf("server without prompt_logprobs: %+v", v)
	}
	shifted, _ := serve(t, m, minertest.LlamaOptions{TokenShift: 1})
	sm, _ := scoring.NewLogprobModel(shifted, []int{llm.BOSID + 1, llm.EOSID + 1})
	if v := verify(sm, honest); v.Reason != scoring.SampleTokenizerMismatch {
		t.Errorf("server with an off-by-one tokenizer: %+v", v)
	}
	// A miner whose server numbers the tokens one off.
	offByOne, _ := serve(t, m, minertest.LlamaOptions{TokenShift: 1})
	if v := verify(vm, complete(t, offByOne, prompt, opts)); v.Reason != scoring.SampleTokenizerMismatch {
		t.Errorf("miner with an off-by-one tokenizer: %+v", v)
	}
	// A miner on another checkpoint, checked against the declared model.
	variant, err := minertest.DemoVariant(1, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := serve(t, variant, minertest.LlamaOptions{})
	if v := verify(vm, complete(t, other, prompt, opts)); v.OK {
		t.Errorf("another checkpoint's answer: %+v", v)
	} else {
		t.Logf("another checkpoint's answer: %s (%s)", v.Reason, v.Detail)
	}

	// The validator's server down is its own failure, not a verdict.
	srv := minertest.ServeLlama(m, minertest.LlamaOptions{})
	down, err := llm.NewOpenAI(llm.OpenAIConfig{BaseURL: srv.URL, Model: "babyllama105"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	dm, _ := scoring.NewLogprobModel(down, []int{llm.EOSID})
	if _, err := scoring.VerifySampled(ctx, dm, prompt, honest.text, honest.ids, p, honest.finish, nil, pol); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("server down: %v", err)
	}
	var se *llm.StatusError
	if _, err := validator.PromptLogprobs(ctx, []int{1, 999}, 5); !errors.As(err, &se) || se.Status != 400 || !errors.Is(err, llm.ErrBadToken) {
		t.Errorf("id 999: %v", err)
	}
}
