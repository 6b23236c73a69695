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
	"strings"
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

// answerOf is what the validator reads of a backend's answer.
func answerOf(g *llm.OpenAIGeneration) answer {
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
		return scoring.SamplingParams{Temperature: pol.Temperature, TopP: pol.TopP, Seed: minerSeed(round, uid), MaxTokens: pol.MaxTokens}
	}
	judge := func(t *testing.T, prompt string, p scoring.SamplingParams, b miner.Backend) (scoring.Verdict, string) {
		t.Helper()
		g, err := b.Generate(ctx, taskRequest(prompt, p), nil)
		if err != nil {
			t.Fatal(err)
		}
		verdict, detail, err := v.judge(ctx, KindInference, prompt, p, answerOf(g), &prefixes{m: m}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return verdict, detail
	}
	// The cheats' copy of the seed mix is the validator's.
	if cheat.MinerSeed(round, self) != minerSeed(round, self) {
		t.Fatal("cheat.MinerSeed is not the validator's minerSeed")
	}
	for _, tc := range []struct {
		name    string
		backend miner.Backend
		prompt  string
		reasons []string
	}{
		{"honest", builtin, prompt, []string{scoring.ReasonScored}},
		{"universal: a sample drawn once for another prompt", &cheat.Universal{Backend: builtin, LM: m}, prompt, []string{"sample_not_sampled"}},
		{"preempt: the victim's sample, from the round's seed", &cheat.Preempt{Backend: builtin, Self: self, Victim: victim}, prompt, []string{"sample_not_sampled"}},
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

	// Preempt's answer is the victim's own sample: it replays under the
	// victim's seed, not the preempter's.
	g, err := (&cheat.Preempt{Backend: builtin, Self: self, Victim: victim}).Generate(ctx, taskRequest(prompt, params(self)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if verdict, detail, _ := v.judge(ctx, KindInference, prompt, params(victim), answerOf(g), &prefixes{m: m}, nil); verdict.Reason != scoring.ReasonScored {
		t.Fatalf("the preempter's answer under the victim's seed: %+v (%s); want the victim's sample", verdict, detail)
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

// TestRedTeamOnChain: the red team's cheats on a real chain, against a
// validator that replays the built-in engine's sampler: none is paid a
// fifth of an honest miner, and the miner Preempt hands the answer of
// (the honest one) is paid as the other honest miner is.
func TestRedTeamOnChain(t *testing.T) {
	const honestUID, preemptUID = 1, 5
	tn := startTestnetWith(t, nil, func(lm *llm.Llama) []namedMiner {
		b := miner.NewBuiltin(lm, "babyllama105")
		return []namedMiner{
			{"honest", miner.NewBuiltin(lm, "babyllama105")},
			{"honest_b", miner.NewBuiltin(lm, "babyllama105")},
			{"universal", &cheat.Universal{Backend: b, LM: lm}},
			{"universal_sybil", &cheat.Universal{Backend: b, LM: lm, Member: 1}},
			{"preempt", &cheat.Preempt{Backend: b, Self: preemptUID, Victim: honestUID}},
			{"stop_seeker", &cheat.StopSeeker{Backend: b, LM: lm, Depth: 2, Beam: 4}},
			{"fp8", miner.NewBuiltin(quantized(t, 3), "babyllama105")},
			{"selective_universal", &cheat.Selective{Backend: &cheat.Universal{Backend: b, LM: lm, Member: 2}, Check: cheat.ExactCheck(lm)}},
		}
	})
	if tn.uids["honest"] != honestUID || tn.uids["preempt"] != preemptUID {
		t.Fatalf("uids %v", tn.uids)
	}
	// Eight miners that run the model, under the race detector on a
	// shared machine: a longer deadline than the other tests', so that
	// what is judged is answers, not timeouts.
	v, err := New(Config{
		Key: tn.val, Netuid: 1, Metagraph: tn.meta, Chain: tn.client, StatePath: filepath.Join(t.TempDir(), "validator.json"),
		Exact: tn.verifier, VerifyModel: "babyllama105", Policy: testPolicy(),
		SampleSize: 16, QueryTimeout: 30 * time.Second, ReferenceShare: 0.2, Seed: 42, AllowPrivateAxons: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for range 7 {
		if err := v.Step(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	_, scores := v.Scores()
	pay := v.cfg.Policy.Weights(scores)
	honest := (pay[tn.uids["honest"]] + pay[tn.uids["honest_b"]]) / 2
	rep := v.Report()
	for _, u := range rep.Scores {
		t.Logf("uid %d: score %.3f, pay %.3f of the honest mean, reasons %v", u.UID, scores[u.UID], pay[u.UID]/honest, u.Reasons)
	}
	if honest <= 0 || scores[tn.uids["honest"]] < 0.1 || scores[tn.uids["honest"]] < 0.8*scores[tn.uids["honest_b"]] {
		t.Fatalf("honest miners score %.3f (Preempt's victim) and %.3f", scores[tn.uids["honest"]], scores[tn.uids["honest_b"]])
	}
	var group float64
	for name, uid := range tn.uids {
		if strings.HasPrefix(name, "honest") {
			continue
		}
		if pay[uid] > honest/5 {
			t.Errorf("%s (uid %d) is paid %.3f of an honest miner, want at most 0.2", name, uid, pay[uid]/honest)
		}
		if strings.HasPrefix(name, "universal") {
			group += pay[uid]
		}
	}
	if group > honest/5 {
		t.Errorf("the universal group is paid %.3f of an honest miner", group/honest)
	}
}
