package llm

import (
	"context"
	"testing"
)

// TestMeanLogprob: a text the model sampled hotter reads worse to it than
// one sampled as the tasks ask, and Continuation's ids spell the text back.
func TestMeanLogprobHotter(t *testing.T) {
	m := testModel(t)
	ctx := context.Background()
	prompts := []string{"Once upon a time, there was a little girl named Lily.", "Tom had a red ball.", "The sun was hot and the dog was sad."}
	worse := 0
	for i, p := range prompts {
		good, err := m.Generate(ctx, p, GenOptions{MaxTokens: 48, Temperature: 0.8, TopP: 0.9, Seed: uint64(i)})
		if err != nil {
			t.Fatal(err)
		}
		hot, err := m.Generate(ctx, p, GenOptions{MaxTokens: 48, Temperature: 1.6, TopP: 1, Seed: uint64(i)})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range []*Generation{good, hot} {
			ids, err := m.Continuation(p, g.Text)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := m.Text(p, ids); got != g.Text {
				t.Fatalf("continuation spells %q, want %q", got, g.Text)
			}
		}
		lg, err := m.MeanLogprob(ctx, p, good.Text)
		if err != nil {
			t.Fatal(err)
		}
		lh, err := m.MeanLogprob(ctx, p, hot.Text)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%q: %.2f (t=0.8) vs %.2f (t=1.6)", p, lg, lh)
		if lg > lh {
			worse++
		}
	}
	if worse != len(prompts) {
		t.Errorf("the hotter sample read better in %d of %d prompts", len(prompts)-worse, len(prompts))
	}
	if _, err := m.MeanLogprob(ctx, "Tom", ""); err == nil {
		t.Error("an empty text has a mean log-probability")
	}
}
