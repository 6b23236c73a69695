package scoring

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/miner/cheat"
)

func verifyModel(t *testing.T) *llm.Llama {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "models", "babyllama105")
	tok, err := llm.LoadTokenizer(filepath.Join(dir, "tok105.model"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := llm.LoadLlama(filepath.Join(dir, "babyllama105.bin"), tok)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// An honest miner's tokens pass; other tokens, made-up log-probabilities,
// text that does not match its tokens, and another model's output fail.
func TestVerifyTokens(t *testing.T) {
	m := verifyModel(t)
	ctx := context.Background()
	const prompt = "Lily found a little cat"
	g, err := m.Generate(ctx, prompt, llm.GenOptions{MaxTokens: 40, Temperature: 0.8, TopP: 0.9, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int, len(g.Tokens))
	lps := make([]float64, len(g.Tokens))
	for i, tk := range g.Tokens {
		ids[i], lps[i] = tk.ID, tk.Logprob
	}
	for seed := range uint64(5) {
		r, err := VerifyTokens(ctx, m, prompt, g.Text, ids, lps, seed, VerifyOptions{})
		if err != nil || !r.Passed || r.Agreement != 1 || r.Checked != 16 {
			t.Fatalf("honest tokens, seed %d: %+v, %v", seed, r, err)
		}
	}

	// Random tokens with the logprobs of the honest ones.
	rng := rand.New(rand.NewPCG(1, 2))
	fake := make([]int, len(ids))
	for i := range fake {
		fake[i] = 3 + rng.IntN(m.Config().VocabSize-3)
	}
	text, _ := m.Text(prompt, fake)
	if r, _ := VerifyTokens(ctx, m, prompt, text, fake, lps, 1, VerifyOptions{}); r.Passed || r.Reason != "logprob_mismatch" {
		t.Fatalf("random tokens: %+v", r)
	}
	// Honest tokens, invented log-probabilities.
	bad := make([]float64, len(lps))
	for i := range bad {
		bad[i] = -0.1
	}
	if r, _ := VerifyTokens(ctx, m, prompt, g.Text, ids, bad, 1, VerifyOptions{}); r.Passed {
		t.Fatalf("invented logprobs passed: %+v", r)
	}
	// Text that the tokens do not spell (a copied answer under own tokens).
	if r, _ := VerifyTokens(ctx, m, prompt, g.Text+" The end.", ids, lps, 1, VerifyOptions{}); r.Passed || r.Reason != "text_mismatch" {
		t.Fatalf("text mismatch: %+v", r)
	}
	// Ids outside the vocabulary, positive or missing logprobs.
	if r, _ := VerifyTokens(ctx, m, prompt, "x", []int{1 << 20}, []float64{-1}, 1, VerifyOptions{}); r.Passed || r.Reason != "bad_token" {
		t.Fatalf("out-of-vocabulary id: %+v", r)
	}
	if r, _ := VerifyTokens(ctx, m, prompt, g.Text, ids, append(lps[:len(lps)-1:len(lps)-1], 0.5), 1, VerifyOptions{}); r.Passed {
		t.Fatalf("positive logprob passed: %+v", r)
	}
	if r, _ := VerifyTokens(ctx, m, prompt, "", nil, nil, 1, VerifyOptions{}); r.Passed || r.Reason != "no_tokens" {
		t.Fatalf("no tokens: %+v", r)
	}
	// Another model's output: the same model with its classifier perturbed
	// stands in for a different checkpoint. Its log-probabilities differ.
	other := perturbed(t, m)
	og, err := other.Generate(ctx, prompt, llm.GenOptions{MaxTokens: 40})
	if err != nil {
		t.Fatal(err)
	}
	oids, olps := make([]int, len(og.Tokens)), make([]float64, len(og.Tokens))
	for i, tk := range og.Tokens {
		oids[i], olps[i] = tk.ID, tk.Logprob
	}
	if r, _ := VerifyTokens(ctx, m, prompt, og.Text, oids, olps, 1, VerifyOptions{}); r.Passed {
		t.Fatalf("another model's output passed: %+v", r)
	}
}

// perturbed returns another checkpoint of m's shape (cheat.Perturb): a
// different model.
func perturbed(t *testing.T, m *llm.Llama) *llm.Llama {
	t.Helper()
	data, err := readModelFile()
	if err != nil {
		t.Fatal(err)
	}
	o, err := llm.ParseLlama(cheat.Perturb(data), m.Tokenizer())
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func readModelFile() ([]byte, error) {
	return os.ReadFile(filepath.Join("..", "..", "shared", "models", "babyllama105", "babyllama105.bin"))
}
