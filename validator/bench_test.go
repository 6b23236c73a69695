package validator

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/scoring"
)

// noChain stands in for the chain in a benchmark that never reaches it.
type noChain struct{}

func (noChain) Snapshot() (*chain.MetagraphView, int64, bool) { return nil, 0, false }
func (noChain) SendTx(context.Context, *keys.PrivateKey, chain.Body) (*chainclient.Result, error) {
	return nil, fmt.Errorf("no chain")
}
func (noChain) Query(context.Context, string, any) (int64, error) { return 0, fmt.Errorf("no chain") }

// BenchmarkVerifyRound is a validator's whole judgement of an inference
// round of 8 honest 64-token answers to one story prompt (each miner with
// its own seed) on the demo's model: the prompt prefilled once, each
// answer's tokens spelled and replayed through the sampler, p(useful),
// the policy. It reports answers verified per second of one core, and so
// how many miners one validator core keeps up with when each is asked
// once a second (the demo's rate: a step a second, every miner in it).
func BenchmarkVerifyRound(b *testing.B) {
	m := demoModel(b)
	v, err := New(Config{Key: testKey(b, 2), Netuid: 1, Metagraph: noChain{}, Chain: noChain{}, StatePath: filepath.Join(b.TempDir(), "s.json"), Seed: 1, Exact: m, VerifyModel: "babyllama105"})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	pol := v.cfg.Policy
	prompt := scoring.StoryPrompt(7)
	ctx := context.Background()
	const miners = 8
	answers := make([]answer, miners)
	params := make([]scoring.SamplingParams, miners)
	for i := range answers {
		params[i] = scoring.SamplingParams{Temperature: pol.Temperature, TopP: pol.TopP, Seed: v.minerSeed(7, uint16(i)), MaxTokens: pol.MaxTokens}
		g, err := m.Generate(ctx, prompt, llm.GenOptions{MaxTokens: pol.MaxTokens, Temperature: float32(pol.Temperature), TopP: float32(pol.TopP), Seed: params[i].Seed})
		if err != nil {
			b.Fatal(err)
		}
		a := answerOf(g)
		a.UID, a.Latency = uint16(i), time.Second
		answers[i] = a
	}
	for b.Loop() {
		ps := &prefixes{m: m}
		for i, a := range answers {
			verdict, detail, err := v.judge(ctx, KindInference, prompt, params[i], a, ps, nil)
			if err != nil || verdict.Reason != scoring.ReasonScored {
				b.Fatalf("answer %d: %+v (%s), %v", i, verdict, detail, err)
			}
		}
	}
	perSec := float64(b.N*miners) / b.Elapsed().Seconds()
	b.ReportMetric(perSec, "answers/s")
	b.ReportMetric(perSec, "miners/core@1qps")
}
