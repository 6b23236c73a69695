package scoring

import (
	"context"
	"testing"
	"time"
)

// benchAnswer is a 64-token answer of the demo model at the validator's
// sampling, with the model that checks it.
func benchAnswer(b *testing.B) (*LogprobModel, string, SamplingParams, sample) {
	m := demoModel(b)
	prompt := StoryPrompt(7)
	p := SamplingParams{Temperature: 0.8, TopP: 0.9, Seed: 7, MaxTokens: 64}
	s := generate(b, m, prompt, p)
	if s.finish != "length" {
		b.Fatalf("want a 64-token answer, got %d tokens, finish %q", len(s.ids), s.finish)
	}
	return LlamaLogprobModel(m), prompt, p, s
}

// perSecond runs fn in b.Loop and reports answers/s.
func perSecond(b *testing.B, fn func()) {
	start := time.Now()
	n := 0
	for b.Loop() {
		fn()
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "answers/s")
}

// BenchmarkCheckSampled judges one 64-token answer of the demo model with
// the top 20 at every position, every position checked: the statistical
// check's own cost, without the model's.
func BenchmarkCheckSampled(b *testing.B) {
	lm, prompt, p, s := benchAnswer(b)
	pol := DefaultStatPolicy()
	steps, after, err := lm.TopK(context.Background(), prompt, s.ids, pol.K)
	if err != nil {
		b.Fatal(err)
	}
	eos := lm.StopTokens()
	if v := CheckSampled(steps, after, eos, p, s.finish, nil, pol); !v.OK {
		b.Fatalf("honest answer: %+v", v)
	}
	perSecond(b, func() { CheckSampled(steps, after, eos, p, s.finish, nil, pol) })
}

// BenchmarkVerifySampledLlama is the whole statistical check of one
// 64-token answer on the built-in engine: spelling, one pass of the model
// over prompt + answer, and CheckSampled.
func BenchmarkVerifySampledLlama(b *testing.B) {
	lm, prompt, p, s := benchAnswer(b)
	pol := DefaultStatPolicy()
	ctx := context.Background()
	perSecond(b, func() {
		if v, err := VerifySampled(ctx, lm, prompt, s.text, s.ids, p, s.finish, nil, pol); err != nil || !v.OK {
			b.Fatalf("honest answer: %+v %v", v, err)
		}
	})
}
