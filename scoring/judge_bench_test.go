package scoring

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/seed0ffb8d46/agora/llm"
)

// BenchmarkJudgement is everything in a validator's judgement of one
// answer except the model's own work (the prefill and the replay's
// forward pass, measured in package llm): the replay's verdict over 64
// tokens, the round's copy check (8 answers a round), p(useful) with its
// features, the policy's verdict and the moving average. Goal: 20,000
// answers a second on one core.
func BenchmarkJudgement(b *testing.B) {
	pol := DefaultPolicy()
	u, err := NewUseful(DefaultUsefulConfig(), nil)
	if err != nil {
		b.Fatal(err)
	}
	words := strings.Fields("the little cat sat on a warm mat and the dog ran to the park where a bird sang in the big green tree while the sun was bright")
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 1024
	type item struct {
		in     UsefulInput
		ids    []int
		replay *llm.Replay
	}
	items := make([]item, n)
	for i := range items {
		var s strings.Builder
		for range 13 {
			s.WriteString(" " + words[rng.IntN(len(words))])
		}
		it := item{in: UsefulInput{Prompt: "Once upon a time, there was a little cat named Tom.", Response: s.String(), MeanLogprob: -1.2, HasLogprob: true}, replay: &llm.Replay{}}
		for range pol.MaxTokens {
			id := 3 + rng.IntN(100)
			it.ids = append(it.ids, id)
			it.replay.Steps = append(it.replay.Steps, llm.ReplayStep{Drawn: id, Logprob: -1})
		}
		items[i] = it
	}
	scores := NewScores(pol.Alpha)
	scores.Realign(make([]string, 256))
	params := SamplingParams{Temperature: pol.Temperature, TopP: pol.TopP, MaxTokens: pol.MaxTokens}
	var copies *RoundCopies
	i := 0
	for b.Loop() {
		if i%8 == 0 {
			copies = NewRoundCopies(pol.CopyThreshold)
		}
		it := &items[i%n]
		c := Checks{Declared: true, Sample: CheckReplay(it.replay, it.ids, params, llm.FinishLength, pol.Replay)}
		j, _ := copies.Add(it.in.Response)
		c.Copy = j >= 0
		c.Useful = u.Predict(it.in)
		v := pol.Judge(Observed{Kind: KindInference, Latency: 0.1}, c)
		if v.Hard {
			_ = scores.Fail(i % 256)
		} else {
			_ = scores.Update(KindInference, i%256, v.Score)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "answers/s")
}
