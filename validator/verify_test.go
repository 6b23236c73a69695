package validator

import (
	"context"
	"strings"
	"testing"

	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/miner/minertest"
	"github.com/seed0ffb8d46/agora/scoring"
)

// answerOf is what a miner on the built-in engine sends for g: its text,
// its tokens without the stop token, its finish reason.
func answerOf(g *llm.Generation) answer {
	a := answer{Model: "babyllama105", Text: g.Text, Finish: g.FinishReason}
	for _, tk := range g.Tokens {
		if tk.ID != llm.EOSID && tk.ID != llm.BOSID {
			a.IDs = append(a.IDs, tk.ID)
		}
	}
	return a
}

// TestReferenceTasks: a reference task's prompt is the validator's own
// secret sample, in the model's alphabet, different for every miner; the
// declared model's greedy continuation is right (and teaches p(useful)
// that it is useful), and a sampled one, or another story's, is a hard
// failure.
func TestReferenceTasks(t *testing.T) {
	m := demoModel(t)
	v, _, _ := shutdownFixture(t, nil, nil)
	ctx := context.Background()
	pol := v.cfg.Policy
	prompts, err := v.referencePrompts(ctx, 99, 24)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for uid, prompt := range prompts {
		s := v.minerSeed(99, uint16(uid))
		if seen[prompt] || strings.HasSuffix(prompt, " ") || len(prompt) < 40 {
			t.Fatalf("reference prompt %q: repeated, ending in a space, or short", prompt)
		}
		seen[prompt] = true
		if _, err := m.Tokenizer().Encode(prompt, true); err != nil {
			t.Fatalf("reference prompt %q holds what the tokenizer cannot encode: %v", prompt, err)
		}
		if uid >= 6 {
			continue // the answers of six are enough
		}
		params := scoring.SamplingParams{Seed: s, MaxTokens: pol.ReferenceTokens}
		greedy, err := m.Generate(ctx, prompt, llm.GenOptions{MaxTokens: pol.ReferenceTokens})
		if err != nil {
			t.Fatal(err)
		}
		trained := v.useful.Trained()
		verdict, detail, err := v.judge(ctx, KindReference, prompt, params, answerOf(greedy), &prefixes{m: m}, nil)
		if err != nil || verdict.Reason != scoring.ReasonScored || verdict.Score < pol.QualityBase {
			t.Fatalf("the greedy continuation of %q: %+v (%s), %v", prompt, verdict, detail, err)
		}
		if v.useful.Trained() != trained+1 {
			t.Fatalf("a right reference answer trained p(useful) %d times", v.useful.Trained()-trained)
		}
		sampled, err := m.Generate(ctx, prompt, llm.GenOptions{MaxTokens: pol.ReferenceTokens, Temperature: 1, Seed: s})
		if err != nil {
			t.Fatal(err)
		}
		if sampled.Text == greedy.Text {
			continue
		}
		verdict, _, err = v.judge(ctx, KindReference, prompt, params, answerOf(sampled), &prefixes{m: m}, nil)
		if err != nil || !verdict.Hard || verdict.Reason != "sample_not_sampled" {
			t.Fatalf("a sampled answer to a reference task: %+v, %v", verdict, err)
		}
	}
}

// TestStoryPromptsEncode: every story prompt the validator may send holds
// only characters the demo model's tokenizer encodes.
func TestStoryPromptsEncode(t *testing.T) {
	tok := demoModel(t).Tokenizer()
	for seed := range uint64(20000) {
		if p := scoring.StoryPrompt(seed); p == "" {
			t.Fatalf("seed %d: empty prompt", seed)
		} else if _, err := tok.Encode(p, true); err != nil {
			t.Fatalf("seed %d: %q: %v", seed, p, err)
		}
	}
}

// TestStatisticalPath: a validator whose own copy of the model is a model
// server (here the demo model behind vLLM's API, over loopback) checks
// answers statistically: an honest sample passes, greedy output when
// sampling was asked and canned text fail, a copy of an earlier answer in
// the round is a copy, and a server without prompt log-probabilities is
// the validator's own failure, not the miner's.
func TestStatisticalPath(t *testing.T) {
	m := demoModel(t)
	server := func(opts minertest.LlamaOptions) scoring.TokenModel {
		srv := minertest.ServeLlama(m, opts)
		t.Cleanup(srv.Close)
		o, err := llm.NewOpenAI(llm.OpenAIConfig{BaseURL: srv.URL + "/v1", Model: "babyllama105"})
		if err != nil {
			t.Fatal(err)
		}
		tm, err := scoring.NewLogprobModel(o, []int{llm.BOSID, llm.EOSID})
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	stat := server(minertest.LlamaOptions{})
	v, _, _ := shutdownFixture(t, nil, func(c *Config) { c.Exact, c.Stat = nil, stat })
	ctx := context.Background()
	pol := v.cfg.Policy
	prompt := scoring.StoryPrompt(5)
	params := func(seed uint64) scoring.SamplingParams {
		return scoring.SamplingParams{Temperature: pol.Temperature, TopP: pol.TopP, Seed: seed, MaxTokens: pol.MaxTokens}
	}
	gen := func(o llm.GenOptions) answer {
		t.Helper()
		g, err := m.Generate(ctx, prompt, o)
		if err != nil {
			t.Fatal(err)
		}
		return answerOf(g)
	}
	sampled := func(seed uint64) answer {
		return gen(llm.GenOptions{MaxTokens: pol.MaxTokens, Temperature: float32(pol.Temperature), TopP: float32(pol.TopP), Seed: seed})
	}
	copies := scoring.NewRoundCopies(pol.CopyThreshold)
	first := sampled(1)
	for _, tc := range []struct {
		name   string
		a      answer
		seed   uint64
		reason string
	}{
		{"honest", first, 1, scoring.ReasonScored},
		{"another honest miner", sampled(2), 2, scoring.ReasonScored},
		{"a copy of the first, cut short", func() answer {
			a := first
			a.IDs = a.IDs[:8]
			a.Text, _ = m.Text(prompt, a.IDs)
			a.Finish = llm.FinishLength
			return a
		}(), 3, "sample_short"},
		{"a copy of the first, whole", first, 4, scoring.ReasonCopy},
	} {
		verdict, detail, err := v.judge(ctx, KindInference, prompt, params(tc.seed), tc.a, nil, copies)
		if err != nil || verdict.Reason != tc.reason {
			t.Fatalf("%s: %+v (%s), %v; want %s", tc.name, verdict, detail, err, tc.reason)
		}
	}

	// A server that gives no prompt log-probabilities cannot judge: an
	// error, never a verdict against the miner.
	v2, _, _ := shutdownFixture(t, nil, func(c *Config) { c.Exact, c.Stat = nil, server(minertest.LlamaOptions{NoPromptLogprobs: true}) })
	_, _, err := v2.judge(ctx, KindInference, prompt, params(1), first, nil, scoring.NewRoundCopies(pol.CopyThreshold))
	if err == nil || !strings.Contains(err.Error(), "prompt log-probabilities") {
		t.Fatalf("a verifying server without prompt log-probabilities: %v, want the validator's own error", err)
	}
}

// TestHonestSamplesAreNotCopies: honest miners' samples of one prompt (6
// seeds each, 24 prompts, the policy's sampling) never reach the copy
// threshold against each other; the highest overlap is logged.
func TestHonestSamplesAreNotCopies(t *testing.T) {
	m := demoModel(t)
	pol := scoring.DefaultPolicy()
	highest := 0.0
	for p := range uint64(24) {
		prompt := scoring.StoryPrompt(p)
		rc := scoring.NewRoundCopies(pol.CopyThreshold)
		for s := range uint64(6) {
			g, err := m.Generate(context.Background(), prompt, llm.GenOptions{MaxTokens: pol.MaxTokens, Temperature: float32(pol.Temperature), TopP: float32(pol.TopP), Seed: p<<8 | s})
			if err != nil {
				t.Fatal(err)
			}
			j, sim := rc.Add(g.Text)
			highest = max(highest, sim)
			if j >= 0 {
				t.Errorf("prompt %q: an honest sample %q copies answer %d (%.2f)", prompt, g.Text, j, sim)
			}
		}
	}
	t.Logf("the highest overlap of honest samples: %.2f (copy threshold %.2f)", highest, pol.CopyThreshold)
}
