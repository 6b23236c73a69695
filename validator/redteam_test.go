package validator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/seed0ffb8d46/agora/api"
	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/miner"
	"github.com/seed0ffb8d46/agora/miner/cheat"
	"github.com/seed0ffb8d46/agora/protocol"
	"github.com/seed0ffb8d46/agora/scoring"
)

// The red team's cheats (miner/cheat/redteam.go) against the exact
// replay of the built-in engine, the demo's verification: each is a hard
// failure, or no answer, and none is paid. They guard against
// regressions; what they found on the statistical path is in the red
// team's report, not here.

// taskRequest is the request a validator sends for an inference task
// with params, as the miner reads it.
func taskRequest(prompt string, p scoring.SamplingParams) *miner.Request {
	return &miner.Request{Prompt: prompt, Options: llm.OpenAIOptions{GenOptions: llm.GenOptions{
		MaxTokens: p.MaxTokens, Temperature: float32(p.Temperature), TopP: float32(p.TopP), Seed: p.Seed}}}
}

// minerAnswer is what the validator reads of a backend's answer.
func minerAnswer(g *llm.OpenAIGeneration) answer {
	a := answer{Model: g.Model, Text: g.Text, Finish: g.FinishReason}
	for _, tk := range g.Tokens {
		a.IDs = append(a.IDs, tk.ID)
	}
	return a
}

// TestRedTeamJudgeExact: each red-team cheat's answer to the task the
// validator sends it (its own seed from the round's), judged on the
// exact path.
func TestRedTeamJudgeExact(t *testing.T) {
	m := demoModel(t)
	v, _, _ := shutdownFixture(t, nil, nil)
	pol := v.cfg.Policy
	ctx := context.Background()
	builtin := miner.NewBuiltin(m, "babyllama105")
	const round, self, victim = 0x5eed0001, 7, 3
	prompt := scoring.StoryPrompt(round)
	params := func(uid uint16) scoring.SamplingParams {
		return scoring.SamplingParams{Temperature: pol.Temperature, TopP: pol.TopP, Seed: v.minerSeed(round, uid), MaxTokens: pol.MaxTokens}
	}
	judge := func(t *testing.T, prompt string, p scoring.SamplingParams, b miner.Backend) (scoring.Verdict, string) {
		t.Helper()
		g, err := b.Generate(ctx, taskRequest(prompt, p), nil)
		if err != nil {
			t.Fatal(err)
		}
		verdict, detail, err := v.judge(ctx, KindInference, prompt, p, minerAnswer(g), &prefixes{m: m}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return verdict, detail
	}
	// The seeds are keyed by the validator's secret: the cheats' copy of
	// the old, public mix of round seed and uid no longer predicts them,
	// so Preempt samples a seed nobody was given.
	if cheat.MinerSeed(round, self) == v.minerSeed(round, self) {
		t.Fatal("a miner can compute the validator's seed mix")
	}
	for _, tc := range []struct {
		name    string
		backend miner.Backend
		prompt  string
		reasons []string
	}{
		{"honest", builtin, prompt, []string{scoring.ReasonScored}},
		{"universal: a sample drawn once for another prompt", &cheat.Universal{Backend: builtin, LM: m}, prompt, []string{"sample_not_sampled"}},
		{"preempt: cannot find the round's seed, so answers honestly", &cheat.Preempt{Backend: builtin, Self: self, Victim: victim}, prompt, []string{scoring.ReasonScored}},
		{"stop seeker: the nearest stop the nucleus allows", &cheat.StopSeeker{Backend: builtin, LM: m, Depth: 1}, "Once upon a time, there was a big bear named Lucy. Once upon a time, there was a happy cat named Jack.",
			[]string{"sample_early_stop", "sample_not_sampled"}},
		{"fp8 weights (3 mantissa bits)", miner.NewBuiltin(quantized(t, 3), "babyllama105"), prompt, []string{"sample_not_sampled"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			verdict, detail := judge(t, tc.prompt, params(self), tc.backend)
			if !slices.Contains(tc.reasons, verdict.Reason) || verdict.Hard != (verdict.Reason != scoring.ReasonScored) {
				t.Fatalf("verdict %+v (%s), want one of %v", verdict, detail, tc.reasons)
			}
		})
	}

	// Nor is Preempt's answer the victim's sample: with the seeds keyed,
	// it cannot work out the victim's seed, so on the statistical path
	// (where the first of two identical answers keeps the credit) it
	// cannot have an honest miner judged the copy.
	g, err := (&cheat.Preempt{Backend: builtin, Self: self, Victim: victim}).Generate(ctx, taskRequest(prompt, params(self)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if verdict, detail, _ := v.judge(ctx, KindInference, prompt, params(victim), minerAnswer(g), &prefixes{m: m}, nil); verdict.Reason == scoring.ReasonScored {
		t.Fatalf("the preempter's answer replays under the victim's seed (%s): it worked the seed out", detail)
	}

	// Cheaper arithmetic (bf16 weights) samples the same tokens most of
	// the time, and another token beyond the near-tie allowance often
	// enough that a miner serving it loses its window within a few
	// queries.
	bf16 := miner.NewBuiltin(quantized(t, 7), "babyllama105")
	failed := 0
	const n = 20
	for i := range n {
		p := params(self)
		p.Seed = uint64(i + 1)
		if verdict, _ := judge(t, scoring.StoryPrompt(uint64(100+i)), p, bf16); verdict.Hard {
			failed++
		}
	}
	t.Logf("bf16 weights: %d of %d answers fail the replay", failed, n)
	if failed < n/5 {
		t.Fatalf("bf16 weights: %d of %d answers fail; want a failure within about five queries", failed, n)
	}
}

// quantized is the demo model with bits bits of mantissa.
func quantized(t *testing.T, bits int) *llm.Llama {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(modelDir, "babyllama105.bin"))
	if err != nil {
		t.Fatal(err)
	}
	q, err := llm.ParseLlama(cheat.Quantize(data, bits), demoModel(t).Tokenizer())
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// TestRedTeamBloat: an answer with as many token ids as the validator
// reads (4 MiB) is a hard failure, and costs the validator about as
// much as verifying an honest answer, not more than ten times that.
func TestRedTeamBloat(t *testing.T) {
	m := demoModel(t)
	v, _, _ := shutdownFixture(t, nil, nil)
	pol := v.cfg.Policy
	ctx := context.Background()
	prompt := scoring.StoryPrompt(3)
	p := scoring.SamplingParams{Temperature: pol.Temperature, TopP: pol.TopP, Seed: 3, MaxTokens: pol.MaxTokens}
	mkey, vkey := testKey(t, 30), testKey(t, 2)
	serve := func(g *llm.OpenAIGeneration) string {
		toks, lps, offs := []string{}, []float64{}, []int{}
		off := 0
		for _, tk := range g.Tokens {
			toks, lps, offs = append(toks, fmt.Sprintf("token_id:%d", tk.ID)), append(lps, tk.Logprob), append(offs, off)
			off += len(tk.Text)
		}
		body, _ := json.Marshal(map[string]any{"id": "x", "object": "text_completion", "model": g.Model, "choices": []any{map[string]any{
			"text": g.Text, "index": 0, "finish_reason": g.FinishReason,
			"logprobs": map[string]any{"tokens": toks, "token_logprobs": lps, "text_offset": offs, "top_logprobs": nil},
		}}})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body)
			if err := protocol.SignResponse(w, body, mkey, vkey.PublicKey(), r.Header.Get("Epistula-Uuid"), time.Now()); err != nil {
				t.Error(err)
			}
			_, _ = w.Write(body)
		}))
		t.Cleanup(srv.Close)
		t.Logf("answer of %d tokens: %d bytes", len(g.Tokens), len(body))
		return srv.URL
	}
	costOf := func(url string) (time.Duration, scoring.Verdict) {
		req := api.CompletionRequest{Prompt: prompt, MaxTokens: p.MaxTokens, Temperature: p.Temperature, TopP: p.TopP, Seed: p.Seed, TokenIDs: true}
		var best time.Duration
		var verdict scoring.Verdict
		for range 3 {
			start := time.Now()
			a := query(ctx, http.DefaultClient, v.signer, url, mkey.PublicKey(), req)
			var err error
			verdict, _, err = v.judge(ctx, KindInference, prompt, p, a, &prefixes{m: m}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); best == 0 || d < best {
				best = d
			}
		}
		return best, verdict
	}
	h, err := miner.NewBuiltin(m, "babyllama105").Generate(ctx, taskRequest(prompt, p), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := (&cheat.Bloat{Backend: miner.NewBuiltin(m, "babyllama105"), LM: m}).Generate(ctx, taskRequest(prompt, p), nil)
	if err != nil {
		t.Fatal(err)
	}
	honestCost, hv := costOf(serve(h))
	bloatCost, bv := costOf(serve(b))
	t.Logf("validator's time: honest answer %v (%s), bloated answer %v (%s)", honestCost, hv.Reason, bloatCost, bv.Reason)
	if hv.Reason != scoring.ReasonScored || !bv.Hard || bv.Reason != "sample_too_long" {
		t.Fatalf("verdicts: honest %+v, bloated %+v", hv, bv)
	}
	if bloatCost > 10*honestCost {
		t.Errorf("a bloated answer costs the validator %v, %.1f times an honest one's %v", bloatCost, float64(bloatCost)/float64(honestCost), honestCost)
	}
}

// TestRedTeamUniversalStatistical: on the statistical path, a miner that
// hands in samples it drew once, for another prompt, passes the checks
// on the demo's story model (its samples barely depend on the prompt);
// the validator's memory of answers makes each sample count once, so the
// cheat's pool of samples is all it is ever paid for.
func TestRedTeamUniversalStatistical(t *testing.T) {
	m := demoModel(t)
	v, _, _ := shutdownFixture(t, nil, func(c *Config) { c.Exact, c.Stat = nil, scoring.LlamaLogprobModel(m) })
	ctx := context.Background()
	pol := v.cfg.Policy
	u := &cheat.Universal{Backend: miner.NewBuiltin(m, "babyllama105"), LM: m}
	paid := 0
	const rounds = 16
	for i := range uint64(rounds) {
		prompt := scoring.StoryPrompt(i)
		p := scoring.SamplingParams{Temperature: pol.Temperature, TopP: pol.TopP, Seed: v.minerSeed(i, 3), MaxTokens: pol.MaxTokens}
		g, err := u.Generate(ctx, taskRequest(prompt, p), nil)
		if err != nil {
			t.Fatal(err)
		}
		verdict, _, err := v.judge(ctx, KindInference, prompt, p, minerAnswer(g), nil, scoring.NewRoundCopies(pol.CopyThreshold))
		if err != nil {
			t.Fatal(err)
		}
		if !verdict.Hard {
			paid++
		}
	}
	if paid > 4 {
		t.Fatalf("%d of %d answers drawn once for another prompt were paid; its pool holds 4", paid, rounds)
	}
}
