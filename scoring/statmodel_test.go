package scoring

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/miner/minertest"
)

// demoModel is the demo model, loaded once for the package's tests.
func demoModel(tb testing.TB) *llm.Llama {
	tb.Helper()
	m, err := minertest.DemoLlama()
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// sample is one answer of the demo model: its text, ids (with the stop
// token, as Generate gives them) and finish reason.
type sample struct {
	text, finish string
	ids          []int
}

func generate(t testing.TB, m *llm.Llama, prompt string, p SamplingParams) sample {
	t.Helper()
	g, err := m.Generate(context.Background(), prompt, llm.GenOptions{MaxTokens: p.MaxTokens, Temperature: float32(p.Temperature), TopP: float32(p.TopP), Seed: p.Seed})
	if err != nil {
		t.Fatal(err)
	}
	s := sample{text: g.Text, finish: g.FinishReason}
	for _, tk := range g.Tokens {
		s.ids = append(s.ids, tk.ID)
	}
	return s
}

// Property tests on the demo model at the validator's sampling (0.8, 0.9,
// 64 tokens): honest samples pass, and so does another seed's sample (a
// legitimate sample; copies are caught elsewhere); greedy output, canned
// text, and answers cut short (claiming a stop or the length) fail.
func TestVerifySampledDemoModel(t *testing.T) {
	m := demoModel(t)
	lm := LlamaLogprobModel(m)
	ctx := context.Background()
	pol := DefaultStatPolicy()
	const prompts = 6
	greedyCaught := 0
	for seed := range uint64(prompts) {
		prompt := StoryPrompt(seed)
		p := SamplingParams{Temperature: 0.8, TopP: 0.9, Seed: seed, MaxTokens: 64}
		verify := func(what string, s sample, finish string) SampleVerdict {
			t.Helper()
			v, err := VerifySampled(ctx, lm, prompt, s.text, s.ids, p, finish, nil, pol)
			if err != nil {
				t.Fatalf("%s, prompt %d: %v", what, seed, err)
			}
			return v
		}
		honest := generate(t, m, prompt, p)
		if v := verify("honest", honest, honest.finish); !v.OK || v.Checked == 0 || v.MeanLogprob >= 0 {
			t.Errorf("honest sample, prompt %d: %+v", seed, v)
		}
		other := p
		other.Seed += 1000
		if s := generate(t, m, prompt, other); !verify("other seed", s, s.finish).OK {
			t.Errorf("another seed's sample, prompt %d: fails", seed)
		}
		gp := p
		gp.Temperature = 0
		g := generate(t, m, prompt, gp)
		switch v := verify("greedy", g, g.finish); v.Reason {
		case SampleGreedy:
			greedyCaught++
		case "":
			// A greedy answer with few uncertain positions is a likely
			// sample too.
		default:
			t.Errorf("greedy output, prompt %d: %+v", seed, v)
		}
		// Truncated honest answers.
		cut := honest.ids[:len(honest.ids)/2]
		text, err := m.Text(prompt, cut)
		if err != nil {
			t.Fatal(err)
		}
		if v := verify("truncated", sample{text: text, ids: cut}, llm.FinishStop); v.Reason != SampleEarlyStop {
			t.Errorf("truncated answer claiming a stop, prompt %d: %+v", seed, v)
		}
		if v := verify("truncated", sample{text: text, ids: cut}, llm.FinishLength); v.Reason != SampleShort {
			t.Errorf("truncated answer claiming the length, prompt %d: %+v", seed, v)
		}
		// Canned text, in the validator's own tokens, at full length.
		canned := " The quick brown fox jumps over the lazy dog, and then it ran far away to eat some cheese with its uncle Bob."
		ids, err := lm.answerIDs(ctx, prompt, canned)
		if err != nil {
			t.Fatal(err)
		}
		ids = ids[:64]
		text, _ = m.Text(prompt, ids)
		if v := verify("canned", sample{text: text, ids: ids}, llm.FinishLength); v.Reason != SampleOutsideNucleus {
			t.Errorf("canned text, prompt %d: %+v", seed, v)
		}
	}

	t.Logf("greedy output caught for %d of %d prompts", greedyCaught, prompts)
	if greedyCaught < prompts/2 {
		t.Errorf("greedy output caught for %d of %d prompts", greedyCaught, prompts)
	}

	// At temperature 0 the greedy answer passes and a sample does not.
	prompt := StoryPrompt(99)
	p := SamplingParams{Temperature: 0, MaxTokens: 64}
	g := generate(t, m, prompt, p)
	if v, err := VerifySampled(ctx, lm, prompt, g.text, g.ids, p, g.finish, nil, pol); err != nil || !v.OK || v.Checked == 0 {
		t.Errorf("greedy answer at temperature 0: %+v %v", v, err)
	}
	s := generate(t, m, prompt, SamplingParams{Temperature: 1, TopP: 1, Seed: 3, MaxTokens: 64})
	if v, err := VerifySampled(ctx, lm, prompt, s.text, s.ids, p, s.finish, nil, pol); err != nil || v.Reason != SampleNotArgmax {
		t.Errorf("a sample at temperature 0: %+v %v", v, err)
	}
}

// What the miner's ids and text say about themselves: ids outside the
// vocabulary, ids that spell another text, another tokenizer's numbering.
func TestVerifySampledTokens(t *testing.T) {
	m := demoModel(t)
	lm := LlamaLogprobModel(m)
	ctx := context.Background()
	pol := DefaultStatPolicy()
	prompt := StoryPrompt(5)
	p := SamplingParams{Temperature: 0.8, TopP: 0.9, Seed: 5, MaxTokens: 64}
	s := generate(t, m, prompt, p)
	verify := func(text string, ids []int, finish string) SampleVerdict {
		t.Helper()
		v, err := VerifySampled(ctx, lm, prompt, text, ids, p, finish, nil, pol)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	bad := slices.Clone(s.ids)
	bad[3] = 500
	if v := verify(s.text, bad, s.finish); v.Reason != SampleBadToken || !strings.Contains(v.Detail, "500") {
		t.Errorf("id 500: %+v", v)
	}
	if v := verify(s.text+" and more", s.ids, s.finish); v.Reason != SampleTokensMismatch {
		t.Errorf("other text: %+v", v)
	}
	// The same pieces, numbered one off: another tokenizer's ids.
	shifted := slices.Clone(s.ids)
	if s.finish == llm.FinishStop {
		shifted = shifted[:len(shifted)-1]
	}
	for i := range shifted {
		shifted[i] = (shifted[i] + 1) % m.Config().VocabSize
	}
	if v := verify(s.text, shifted, llm.FinishLength); v.Reason != SampleTokenizerMismatch {
		t.Errorf("ids one off: %+v", v)
	}
	if v := verify("", nil, llm.FinishStop); v.Reason != SampleNoTokens {
		t.Errorf("no ids: %+v", v)
	}
	// A model without log-probabilities, and one that fails.
	if v, err := VerifySampled(ctx, failingModel{m, llm.ErrNoLogprobs}, prompt, s.text, s.ids, p, s.finish, nil, pol); err != nil || v.Reason != SampleNoLogprobs {
		t.Errorf("no log-probabilities: %+v %v", v, err)
	}
	down := errors.New("connection refused")
	if _, err := VerifySampled(ctx, failingModel{m, down}, prompt, s.text, s.ids, p, s.finish, nil, pol); !errors.Is(err, down) {
		t.Errorf("model down: %v", err)
	}
	if _, err := NewLogprobModel(m, nil); err == nil {
		t.Error("no stop tokens: no error")
	}
	if got := lm.StopTokens(); !slices.Equal(got, []int{llm.BOSID, llm.EOSID}) {
		t.Errorf("stop tokens %v", got)
	}
}

// failingModel spells answers as the demo model does but fails to score
// them.
type failingModel struct {
	m   *llm.Llama
	err error
}

func (f failingModel) TopK(context.Context, string, []int, int) ([]TopK, TopK, error) {
	return nil, TopK{}, f.err
}

func (f failingModel) Text(_ context.Context, prompt string, ids []int) (string, error) {
	return f.m.Text(prompt, ids)
}

func (f failingModel) StopTokens() []int { return []int{llm.BOSID, llm.EOSID} }

// countingScorer is the demo model as a PromptScorer that counts its
// tokenizations and can mangle the text of anything longer than its
// prompt.
type countingScorer struct {
	*llm.Llama
	tokenized int
	mangle    bool
}

func (c *countingScorer) Tokenize(ctx context.Context, text string) ([]int, error) {
	c.tokenized++
	return c.Llama.Tokenize(ctx, text)
}

func (c *countingScorer) Detokenize(ctx context.Context, ids []int) (string, error) {
	text, err := c.Llama.Detokenize(ctx, ids)
	if c.mangle && len(ids) > 12 {
		text = "<cleaned up>" + text
	}
	return text, err
}

// LogprobModel remembers prompts, and an answer whose ids change how the
// prompt reads is another tokenizer's.
func TestLogprobModelPrompts(t *testing.T) {
	c := &countingScorer{Llama: demoModel(t)}
	lm, err := NewLogprobModel(c, []int{llm.EOSID})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	prompt := "Once upon a time"
	p := SamplingParams{Temperature: 0.8, TopP: 0.9, Seed: 1, MaxTokens: 16}
	s := generate(t, c.Llama, prompt, p)
	for range 3 {
		if v, err := VerifySampled(ctx, lm, prompt, s.text, s.ids, p, s.finish, nil, DefaultStatPolicy()); err != nil || !v.OK {
			t.Fatalf("honest answer: %+v %v", v, err)
		}
	}
	if c.tokenized != 1 {
		t.Fatalf("the prompt was tokenized %d times", c.tokenized)
	}
	c.mangle = true
	if v, err := VerifySampled(ctx, lm, prompt, s.text, s.ids, p, s.finish, nil, DefaultStatPolicy()); err != nil || v.Reason != SampleTokenizerMismatch {
		t.Fatalf("answer that changes the prompt's text: %+v %v", v, err)
	}
}
