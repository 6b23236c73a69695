package validator

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/keys"
)

// noChain stands in for the chain in a benchmark that never reaches it.
type noChain struct{}

func (noChain) Snapshot() (*chain.MetagraphView, int64, bool) { return nil, 0, false }
func (noChain) SendTx(context.Context, *keys.PrivateKey, chain.Body) (*chainclient.Result, error) {
	return nil, fmt.Errorf("no chain")
}
func (noChain) Query(context.Context, string, any) (int64, error) { return 0, fmt.Errorf("no chain") }

// BenchmarkScorePipeline is the validator's scoring of one answer to a
// story prompt without model verification: hard rules, the copy index
// (checked and recorded), p(useful) with its features, and the moving
// average. Every answer is distinct (no early exit on copies); about
// 200-byte answers, as a 32-token completion is. Goal: 2,000 a second on
// one core.
func BenchmarkScorePipeline(b *testing.B) {
	v, err := New(Config{Key: testKey(b, 2), Netuid: 1, Metagraph: noChain{}, Chain: noChain{}, StatePath: filepath.Join(b.TempDir(), "s.json"), Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	v.st.Scores.Realign(make([]string, 256))
	words := strings.Fields("the little cat sat on a warm mat and the dog ran to the park where a bird sang in the big green tree while the sun was bright and the children played with a red ball near the river")
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 4096
	answers := make([]answer, n)
	for i := range answers {
		var s strings.Builder
		for j := range 36 {
			if j > 0 {
				s.WriteByte(' ')
			}
			s.WriteString(words[rng.IntN(len(words))])
		}
		s.WriteString(".")
		answers[i] = answer{UID: uint16(i % 256), Text: s.String(), Latency: 300 * time.Millisecond, ReceivedAtMs: int64(i), ResponseID: fmt.Sprint(i)}
		answers[i].Hotkey[0], answers[i].Hotkey[1] = byte(i), byte(i>>8)
	}
	const prompt = "Once upon a time, there was a little cat named Tom."
	ctx := context.Background()
	i := 0
	for b.Loop() {
		a := answers[i%n]
		a.ReceivedAtMs = int64(i) // a later answer: never its own earlier copy
		score, _ := v.scoreOpen(ctx, prompt, uint64(i), a, true, false)
		_ = v.st.Scores.Update(KindInference, int(a.UID), score)
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "answers/s")
}
