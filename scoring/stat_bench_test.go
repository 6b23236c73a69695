package scoring

import (
	"context"
	"testing"
	"time"
)

// BenchmarkCheckSampled judges one 64-token answer of the demo model with
// the top 20 at every position, every position checked: the statistical
// check's own cost, without the model's.
func BenchmarkCheckSampled(b *testing.B) {
	m := demoModel(b)
	lm := LlamaLogprobModel(m)
	prompt := StoryPrompt(7)
	p := SamplingParams{Temperature: 0.8, TopP: 0.9, Seed: 7, MaxTokens: 64}
	s := generate(b, m, prompt, p)
	if s.finish != "length" {
		b.Fatalf("want a 64-token answer, got %d tokens, finish %q", len(s.ids), s.finish)
	}
	pol := DefaultStatPolicy()
	steps, after, err := lm.TopK(context.Background(), prompt, s.ids, pol.K)
	if err != nil {
		b.Fatal(err)
	}
	eos := lm.StopTokens()
	if v := CheckSampled(steps, after, eos, p, s.finish, nil, pol); !v.OK {
		b.Fatalf("honest answer: %+v", v)
	}
	start := time.Now()
	n := 0
	for b.Loop() {
		CheckSampled(steps, after, eos, p, s.finish, nil, pol)
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "answers/s")
}

// BenchmarkVerifySampledLlama is the whole statistical check of one
// 64-token answer on the built-in engine: spelling, one pass of the model
// over prompt + answer, and CheckSampled.
func BenchmarkVerifySampledLlama(b *testing.B) {
	m := demoModel(b)
	lm := LlamaLogprobModel(m)
	prompt := StoryPrompt(7)
	p := SamplingParams{Temperature: 0.8, TopP: 0.9, Seed: 7, MaxTokens: 64}
	s := generate(b, m, prompt, p)
	pol := DefaultStatPolicy()
	ctx := context.Background()
	start := time.Now()
	n := 0
	for b.Loop() {
		v, err := VerifySampled(ctx, lm, prompt, s.text, s.ids, p, s.finish, nil, pol)
		if err != nil || !v.OK {
			b.Fatalf("honest answer: %+v %v", v, err)
		}
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "answers/s")
}
