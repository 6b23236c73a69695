package llm

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

const goldenPrompt = "Tom had a red ball"

func testModel(t testing.TB) *Llama {
	t.Helper()
	m, err := LoadLlama(filepath.Join(modelDir, "babyllama105.bin"), testTokenizer(t))
	if err != nil {
		t.Fatalf("babyllama105 must be at %s (../shared/models beside the checkout): %v", modelDir, err)
	}
	return m
}

func TestLoadConfig(t *testing.T) {
	m := testModel(t)
	want := Config{Dim: 128, HiddenDim: 352, NLayers: 5, NHeads: 8, NKVHeads: 4, VocabSize: 105, SeqLen: 256}
	if m.Config() != want {
		t.Errorf("Config = %+v, want %+v", m.Config(), want)
	}
	if !m.tied {
		t.Error("classifier not tied")
	}
}

// The greedy continuation of the golden prompt is fixed: the same on every
// run (and, with the float order fixed, every machine).
func TestGreedyGolden(t *testing.T) {
	t.Parallel()
	m := testModel(t)
	opts := GenOptions{MaxTokens: 120}
	g1, err := m.Generate(context.Background(), goldenPrompt, opts)
	if err != nil {
		t.Fatal(err)
	}
	g2, err := m.Generate(context.Background(), goldenPrompt, opts)
	if err != nil {
		t.Fatal(err)
	}
	if g1.Text != g2.Text || len(g1.Tokens) != len(g2.Tokens) {
		t.Fatalf("two greedy runs differ:\n%q\n%q", g1.Text, g2.Text)
	}
	for i := range g1.Tokens {
		if g1.Tokens[i] != g2.Tokens[i] {
			t.Fatalf("token %d differs: %+v vs %+v", i, g1.Tokens[i], g2.Tokens[i])
		}
	}
	got := goldenPrompt + g1.Text + "\n"
	golden := filepath.Join("testdata", "greedy_tom.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("greedy output changed:\ngot:  %q\nwant: %q", got, want)
	}
	if strings.TrimSpace(g1.Text) == "" {
		t.Error("empty completion")
	}
}

func TestSeededSamplingReproducible(t *testing.T) {
	t.Parallel()
	m := testModel(t)
	ctx := context.Background()
	gen := func(seed uint64, topP float32) string {
		g, err := m.Generate(ctx, "Once upon a time", GenOptions{MaxTokens: 30, Temperature: 0.9, TopP: topP, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return g.Text
	}
	for _, topP := range []float32{0.9, 0} {
		a, b, c := gen(1, topP), gen(1, topP), gen(2, topP)
		if a != b {
			t.Errorf("top-p %v: seed 1 gave %q then %q", topP, a, b)
		}
		if a == c {
			t.Errorf("top-p %v: seeds 1 and 2 both gave %q", topP, a)
		}
	}
}

// Every log-probability is ≤ 0, the distribution they come from sums to 1,
// and Score gives back exactly what Generate reported.
func TestLogprobs(t *testing.T) {
	t.Parallel()
	m := testModel(t)
	ctx := context.Background()
	for _, opts := range []GenOptions{{MaxTokens: 25}, {MaxTokens: 25, Temperature: 1, TopP: 0.9, Seed: 7}} {
		g, err := m.Generate(ctx, goldenPrompt, opts)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]int, len(g.Tokens))
		for i, tok := range g.Tokens {
			ids[i] = tok.ID
			if tok.Logprob > 0 || math.IsNaN(tok.Logprob) {
				t.Errorf("token %d: logprob %v", i, tok.Logprob)
			}
		}
		scores, err := m.Score(ctx, goldenPrompt, ids)
		if err != nil {
			t.Fatal(err)
		}
		for i, lp := range scores {
			if lp != g.Tokens[i].Logprob {
				t.Errorf("%+v token %d: Score %v, Generate %v", opts, i, lp, g.Tokens[i].Logprob)
			}
		}
	}
	// exp(logprob) over the whole vocabulary sums to 1, at some position.
	s := m.newState(1)
	ids, _ := m.tok.Encode(goldenPrompt, true)
	for pos, id := range ids {
		m.forward(s, id, pos)
	}
	var sum float64
	for id := range m.cfg.VocabSize {
		sum += math.Exp(logprob(s.logits, id))
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("probabilities sum to %v", sum)
	}
}

func TestGenerateLimits(t *testing.T) {
	t.Parallel()
	m := testModel(t)
	ctx := context.Background()
	g, err := m.Generate(ctx, goldenPrompt, GenOptions{MaxTokens: 5})
	if err != nil || len(g.Tokens) != 5 || g.FinishReason != FinishLength {
		t.Errorf("MaxTokens 5: %v tokens, %q, %v", len(g.Tokens), g.FinishReason, err)
	}
	// A small random model of another shape fills its 16-position context.
	small, err := ParseLlama(syntheticCheckpoint(Config{Dim: 16, HiddenDim: 24, NLayers: 2, NHeads: 4, NKVHeads: 2, VocabSize: 105, SeqLen: 16}), m.tok)
	if err != nil {
		t.Fatal(err)
	}
	g, err = small.Generate(ctx, "Tom", GenOptions{Temperature: 1, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(g.PromptTokens) + len(g.Tokens); g.FinishReason != FinishLength || n != 16 {
		t.Errorf("unbounded run stopped at %d positions (%q), want 16", n, g.FinishReason)
	}
	if _, err := m.Generate(ctx, strings.Repeat("a", 300), GenOptions{}); err == nil {
		t.Error("a prompt longer than the context: no error")
	}
	var ue *UnencodableError
	if _, err := m.Generate(ctx, "Tom had a #1 ball", GenOptions{}); !errors.As(err, &ue) || ue.Char != '#' {
		t.Errorf("unencodable prompt: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Generate(cctx, goldenPrompt, GenOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := m.Score(ctx, goldenPrompt, []int{105}); err == nil {
		t.Error("Score with an out-of-range id: no error")
	}
}

// Concurrent calls share the weights and agree with a lone call.
func TestGenerateConcurrent(t *testing.T) {
	t.Parallel()
	m := testModel(t)
	want, err := m.Generate(context.Background(), goldenPrompt, GenOptions{MaxTokens: 20})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			g, err := m.Generate(context.Background(), goldenPrompt, GenOptions{MaxTokens: 20})
			if err != nil || g.Text != want.Text {
				t.Errorf("concurrent run: %q, %v; want %q", g.Text, err, want.Text)
			}
		})
	}
	wg.Wait()
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tok := testTokenizer(t)
	data, err := os.ReadFile(filepath.Join(modelDir, "babyllama105.bin"))
	if err != nil {
		t.Fatal(err)
	}
	withHeader := func(i int, v int32) []byte {
		b := append([]byte(nil), data...)
		binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
		return b
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "shorter than"},
		{"header only", data[:28], "implies"},
		{"truncated", data[:len(data)-4], "implies"},
		{"trailing bytes", append(append([]byte(nil), data...), 0, 0, 0, 0), "implies"},
		{"wrong dim", withHeader(0, 256), "implies"},
		{"untied", withHeader(5, -105), "implies"}, // an untied classifier needs more bytes
		{"zero layers", withHeader(2, 0), "n_layers"},
		{"huge seq_len", withHeader(6, math.MaxInt32), "seq_len"},
		{"heads", withHeader(3, 3), "n_heads"},
		{"kv heads", withHeader(4, 3), "n_kv_heads"},
		{"vocab", withHeader(5, 104), "vocabulary"},
	} {
		_, err := ParseLlama(c.data, tok)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	dir := t.TempDir()
	if _, err := LoadLlama(filepath.Join(dir, "missing.bin"), tok); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	short := filepath.Join(dir, "short.bin")
	if err := os.WriteFile(short, data[:1000], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadLlama(short, tok); err == nil || !strings.Contains(err.Error(), short) {
		t.Errorf("truncated file: %v, want an error naming the file", err)
	}
}

// An untied checkpoint (negative vocab_size, classifier after the RoPE
// tables) loads and uses its own classifier.
func TestLoadUntied(t *testing.T) {
	t.Parallel()
	tok := testTokenizer(t)
	data, err := os.ReadFile(filepath.Join(modelDir, "babyllama105.bin"))
	if err != nil {
		t.Fatal(err)
	}
	b := append([]byte(nil), data...)
	binary.LittleEndian.PutUint32(b[20:], uint32(0xffffffff-105+1))
	b = append(b, data[28:28+105*128*4]...) // the embedding again, as the classifier
	m, err := ParseLlama(b, tok)
	if err != nil {
		t.Fatal(err)
	}
	if m.tied || m.Config().VocabSize != 105 {
		t.Fatalf("tied %v, config %+v", m.tied, m.Config())
	}
	tied := testModel(t)
	g1, _ := m.Generate(context.Background(), goldenPrompt, GenOptions{MaxTokens: 20})
	g2, _ := tied.Generate(context.Background(), goldenPrompt, GenOptions{MaxTokens: 20})
	if g1.Text != g2.Text {
		t.Errorf("untied copy generates %q, tied %q", g1.Text, g2.Text)
	}
}

// BenchmarkGenerate generates a full context (prompt included) greedily,
// one goroutine, and reports tokens/s over all forward passes.
func BenchmarkGenerate(b *testing.B) {
	m := testModel(b)
	ctx := context.Background()
	var tokens int
	for b.Loop() {
		g, err := m.Generate(ctx, goldenPrompt, GenOptions{Temperature: 0.8, TopP: 0.9, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		tokens += len(g.PromptTokens) - 1 + len(g.Tokens)
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkForward is one forward pass at the middle of the context.
func BenchmarkForward(b *testing.B) {
	m := testModel(b)
	s := m.newState(1)
	for pos := range 128 {
		m.forward(s, 5, pos)
	}
	b.ReportAllocs()
	for b.Loop() {
		m.forward(s, 5, 128)
	}
	b.ReportMetric(1/(b.Elapsed().Seconds()/float64(b.N)), "tokens/s")
}

// syntheticCheckpoint is a tied v0 checkpoint of shape c with small
// pseudo-random weights.
func syntheticCheckpoint(c Config) []byte {
	var b []byte
	for _, v := range []int{c.Dim, c.HiddenDim, c.NLayers, c.NHeads, c.NKVHeads, c.VocabSize, c.SeqLen} {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	var n int64
	for _, k := range c.tensorSizes(true) {
		n += k
	}
	x := uint32(1)
	for range n {
		x = x*1664525 + 1013904223
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(int32(x>>8)%1000)/2000))
	}
	return b
}

// GenerateStream hands over every token as Generate returns it, stop token
// included, and an error from the callback ends the generation with it.
func TestGenerateStream(t *testing.T) {
	m := testModel(t)
	ctx := context.Background()
	opts := GenOptions{MaxTokens: 300, Temperature: 0.8, TopP: 0.9, Seed: 7}
	want, err := m.Generate(ctx, goldenPrompt, opts)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	var toks []TokenLogprob
	got, err := m.GenerateStream(ctx, goldenPrompt, opts, func(s string, ts []TokenLogprob) error {
		text.WriteString(s)
		toks = append(toks, ts...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if text.String() != want.Text || got.Text != want.Text || !slices.Equal(toks, want.Tokens) || !slices.Equal(got.Tokens, want.Tokens) {
		t.Fatalf("streamed %q (%d tokens), generated %q (%d tokens)", text.String(), len(toks), want.Text, len(want.Tokens))
	}
	stop := errors.New("client went away")
	n := 0
	g, err := m.GenerateStream(ctx, goldenPrompt, opts, func(string, []TokenLogprob) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || len(g.Tokens) != 3 {
		t.Fatalf("callback error: %v with %d tokens, want %v with 3", err, len(g.Tokens), stop)
	}
}

// TestMeanLogprob: the mean of Score over the tokens that spell the text after the prompt; the model's own continuation is
// more natural to it than the same words shuffled; text too long for the context is cut.
func TestMeanLogprob(t *testing.T) {
	t.Parallel()
	m := testModel(t)
	ctx := context.Background()
	g, err := m.Generate(ctx, goldenPrompt, GenOptions{MaxTokens: 40})
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.MeanLogprob(ctx, goldenPrompt, g.Text)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := m.Continuation(goldenPrompt, g.Text)
	if err != nil {
		t.Fatal(err)
	}
	scores, err := m.Score(ctx, goldenPrompt, ids)
	if err != nil {
		t.Fatal(err)
	}
	want := 0.0
	for _, lp := range scores {
		want += lp / float64(len(scores))
	}
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("mean log-probability %v, want %v", got, want)
	}
	words := strings.Fields(g.Text)
	for i := range words {
		j := (i*7 + 3) % len(words)
		words[i], words[j] = words[j], words[i]
	}
	shuffled, err := m.MeanLogprob(ctx, goldenPrompt, strings.Join(words, " "))
	if err != nil || !(shuffled < got) {
		t.Errorf("shuffled %v (%v), want below the model's own %v", shuffled, err, got)
	}
	long := strings.Repeat(g.Text+" ", 4*m.Config().SeqLen/len(ids)+1)
	if _, err := m.MeanLogprob(ctx, goldenPrompt, long); err != nil {
		t.Errorf("text longer than the context: %v", err)
	}
	if _, err := m.MeanLogprob(ctx, goldenPrompt, ""); err == nil {
		t.Error("empty text: no error")
	}
	if q := m.AnswerQuality(goldenPrompt, g.Text); q != got {
		t.Errorf("AnswerQuality %v, want MeanLogprob's %v", q, got)
	}
	if q := m.AnswerQuality(goldenPrompt, ""); !math.IsInf(q, -1) {
		t.Errorf("AnswerQuality of nothing %v, want −Inf", q)
	}
}
