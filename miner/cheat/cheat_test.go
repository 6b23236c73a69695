package cheat

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/miner"
	"github.com/seed0ffb8d46/agora/scoring"
)

const modelDir = "../../../shared/models/babyllama105"

var (
	modelOnce sync.Once
	modelData []byte
	testLM    *llm.Llama
	modelErr  error
)

// loadModel is the demo model, loaded once for the package's tests.
func loadModel(t *testing.T) *llm.Llama {
	t.Helper()
	modelOnce.Do(func() {
		var tok *llm.Tokenizer
		if tok, modelErr = llm.LoadTokenizer(filepath.Join(modelDir, "tok105.model")); modelErr != nil {
			return
		}
		if modelData, modelErr = os.ReadFile(filepath.Join(modelDir, "babyllama105.bin")); modelErr != nil {
			return
		}
		testLM, modelErr = llm.ParseLlama(modelData, tok)
	})
	if modelErr != nil {
		t.Fatalf("the demo model: %v", modelErr)
	}
	return testLM
}

// counting counts the model runs of a backend, and keeps the last run's
// seed.
type counting struct {
	miner.Backend
	calls, seed atomic.Uint64
}

func (c *counting) Generate(ctx context.Context, req *miner.Request, fn llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	c.calls.Add(1)
	c.seed.Store(req.Options.Seed)
	return c.Backend.Generate(ctx, req, fn)
}

// request is a validator's inference task: 64 tokens sampled at
// temperature 0.8, top_p 0.9, with seed.
func request(prompt string, seed uint64) *miner.Request {
	return &miner.Request{Prompt: prompt, Options: llm.OpenAIOptions{GenOptions: llm.GenOptions{MaxTokens: 64, Temperature: 0.8, TopP: 0.9, Seed: seed}}}
}

// honest is what the honest built-in miner answers to req.
func honest(t *testing.T, req *miner.Request) *llm.OpenAIGeneration {
	t.Helper()
	g, err := miner.NewBuiltin(loadModel(t), "babyllama105").Generate(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func ids(g *llm.OpenAIGeneration) []int {
	out := make([]int, len(g.Tokens))
	for i, tk := range g.Tokens {
		out[i] = tk.ID
	}
	return out
}

func logprobs(g *llm.OpenAIGeneration) []float64 {
	out := make([]float64, len(g.Tokens))
	for i, tk := range g.Tokens {
		out[i] = tk.Logprob
	}
	return out
}

// checkDressed checks that g carries what an honest answer of the demo
// model to prompt carries: token ids that spell its text (each token's
// text its piece), and log-probabilities equal, bit for bit, to the
// model's Score of those ids.
func checkDressed(t *testing.T, prompt string, g *llm.OpenAIGeneration) {
	t.Helper()
	lm := loadModel(t)
	spelled, err := lm.Text(prompt, ids(g))
	if err != nil {
		t.Fatal(err)
	}
	if spelled != g.Text {
		t.Fatalf("the ids spell %q, the answer is %q", spelled, g.Text)
	}
	var pieces strings.Builder
	for _, tk := range g.Tokens {
		pieces.WriteString(tk.Text)
	}
	if pieces.String() != g.Text {
		t.Fatalf("the tokens' texts make %q, the answer is %q", pieces.String(), g.Text)
	}
	want, err := lm.Score(context.Background(), prompt, ids(g))
	if err != nil {
		t.Fatal(err)
	}
	for i, lp := range logprobs(g) {
		if math.Float64bits(lp) != math.Float64bits(want[i]) {
			t.Fatalf("token %d: log-probability %v, the model's is %v", i, lp, want[i])
		}
	}
}

func TestCannedIsStoryTextDressedAsTheModels(t *testing.T) {
	lm := loadModel(t)
	c := &Canned{Backend: miner.NewBuiltin(lm, "babyllama105"), LM: lm}
	texts := map[string]bool{}
	for seed := range uint64(3) {
		prompt := scoring.StoryPrompt(seed)
		req := request(prompt, seed)
		g, err := c.Generate(context.Background(), req, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(g.Tokens) != 64 || g.FinishReason != llm.FinishLength || g.Model != "babyllama105" || g.CompletionTokenCount != 64 {
			t.Fatalf("seed %d: %d tokens, finish %q, model %q, count %d; want max_tokens (64) tokens, finish length", seed, len(g.Tokens), g.FinishReason, g.Model, g.CompletionTokenCount)
		}
		checkDressed(t, prompt, g)
		if !strings.HasPrefix(CannedStory(seed, 64), g.Text) {
			t.Fatalf("seed %d: %q is not the canned story %q", seed, g.Text, CannedStory(seed, 64))
		}
		if h := honest(t, req); h.Text == g.Text {
			t.Fatalf("seed %d: the canned answer is what the model samples", seed)
		}
		texts[g.Text] = true
	}
	if len(texts) < 3 {
		t.Errorf("3 seeds gave %d canned texts; the templates should vary with the seed", len(texts))
	}
	// No max_tokens: the answer fills the context.
	prompt := scoring.StoryPrompt(9)
	req := request(prompt, 9)
	req.Options.MaxTokens = 0
	g, err := c.Generate(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	pids, _ := lm.Tokenizer().Encode(prompt, true)
	if want := lm.Config().SeqLen - len(pids); len(g.Tokens) != want {
		t.Errorf("without max_tokens: %d tokens, want the %d left in the context", len(g.Tokens), want)
	}
	checkDressed(t, prompt, g)
}

func TestTruncateCutsTheHonestModel(t *testing.T) {
	lm := loadModel(t)
	for _, claim := range []string{"", llm.FinishLength} {
		tr := &Truncate{Backend: miner.NewBuiltin(lm, "babyllama105"), Claim: claim}
		prompt := scoring.StoryPrompt(3)
		req := request(prompt, 11)
		g, err := tr.Generate(context.Background(), req, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := claim
		if want == "" {
			want = llm.FinishStop
		}
		if len(g.Tokens) != 10 || g.FinishReason != want {
			t.Fatalf("claim %q: %d tokens, finish %q; want 10, %q", claim, len(g.Tokens), g.FinishReason, want)
		}
		h := honest(t, req)
		if !slices.Equal(ids(g), ids(h)[:10]) || !strings.HasPrefix(h.Text, g.Text) {
			t.Fatalf("claim %q: %q is not the first 10 tokens of the honest %q", claim, g.Text, h.Text)
		}
		if req.Options.MaxTokens != 64 {
			t.Fatal("Truncate changed the caller's request")
		}
		checkDressed(t, prompt, g)
	}
}

// copied runs an honest miner recorded by a Recorder and the copier c on
// one request at once, the copier first, and returns both answers.
func copied(t *testing.T, c miner.Backend, rec *Recorder, req *miner.Request) (honest, copy *llm.OpenAIGeneration) {
	t.Helper()
	var wg sync.WaitGroup
	var err error
	wg.Go(func() { copy, err = c.Generate(context.Background(), req, nil) })
	h, herr := rec.Generate(context.Background(), req, nil)
	wg.Wait()
	if herr != nil || err != nil {
		t.Fatalf("honest: %v; copier: %v", herr, err)
	}
	return h, copy
}

func TestCopierHandsInTheHonestAnswer(t *testing.T) {
	lm := loadModel(t)
	rec := NewRecorder(miner.NewBuiltin(lm, "babyllama105"))
	h, c := copied(t, &Copier{Backend: miner.NewBuiltin(lm, "babyllama105"), From: rec}, rec, request(scoring.StoryPrompt(1), 1))
	if c.Text != h.Text || !slices.Equal(ids(c), ids(h)) {
		t.Errorf("copier answered %q, the honest miner %q", c.Text, h.Text)
	}
}

func TestShortCopierCutsUnderTheCopyCheck(t *testing.T) {
	lm := loadModel(t)
	rec := NewRecorder(miner.NewBuiltin(lm, "babyllama105"))
	sc := &ShortCopier{Backend: miner.NewBuiltin(lm, "babyllama105"), From: rec}
	for seed := range uint64(2) {
		prompt := scoring.StoryPrompt(seed)
		h, c := copied(t, sc, rec, request(prompt, seed))
		n := utf8.RuneCountInString(c.Text)
		if n >= 64 || n < 50 || c.FinishReason != llm.FinishStop {
			t.Fatalf("seed %d: %d characters, finish %q; want under 64 (and near it), stop", seed, n, c.FinishReason)
		}
		if !strings.HasPrefix(h.Text, c.Text) || !slices.Equal(ids(c), ids(h)[:len(c.Tokens)]) || !slices.Equal(logprobs(c), logprobs(h)[:len(c.Tokens)]) {
			t.Fatalf("seed %d: %q is not a cut of the honest %q with its tokens", seed, c.Text, h.Text)
		}
		if len(h.Tokens) != 64 {
			t.Fatalf("seed %d: the copier changed the honest answer: %d tokens", seed, len(h.Tokens))
		}
		checkDressed(t, prompt, c)
	}
}

// changedWords counts the words of a and b that differ, position by
// position. Their last words are not compared: an answer cut at max_tokens
// ends mid-word, and an edit that lengthens a word cuts it elsewhere.
func changedWords(a, b string) int {
	fa, fb := strings.Fields(a), strings.Fields(b)
	n := 0
	for i := range min(len(fa), len(fb)) - 1 {
		if fa[i] != fb[i] {
			n++
		}
	}
	return n
}

func TestParaphraserSwapsAFewWords(t *testing.T) {
	lm := loadModel(t)
	rec := NewRecorder(miner.NewBuiltin(lm, "babyllama105"))
	p := &Paraphraser{Backend: miner.NewBuiltin(lm, "babyllama105"), From: rec, LM: lm}
	for seed := range uint64(2) {
		prompt := scoring.StoryPrompt(seed)
		h, c := copied(t, p, rec, request(prompt, seed))
		n := changedWords(h.Text, c.Text)
		if n < 1 || n > 3 || c.Text == h.Text {
			t.Fatalf("seed %d: %d words changed from %q to %q; want 1 to 3", seed, n, h.Text, c.Text)
		}
		if len(c.Tokens) > 64 || c.FinishReason != h.FinishReason {
			t.Fatalf("seed %d: %d tokens, finish %q", seed, len(c.Tokens), c.FinishReason)
		}
		checkDressed(t, prompt, c)
	}
}

func TestSwapWords(t *testing.T) {
	for _, c := range []struct {
		in      string
		n, skip int
		want    string
	}{
		{" The big dog ran home.", 1, 0, " The huge dog ran home."},
		{" The big dog ran home.", 3, 0, " The huge puppy raced home."},
		{" The big dog ran home.", 1, 2, " The big dog raced home."},
		{" The big dog ran home.", 2, 2, " The big dog raced home."},
		{" The big dog ran home.", 1, 3, " big The dog ran home."}, // past the stand-ins: neighbours exchange
		{" The big dog ran home.", 1, 5, " The big ran dog home."},
		{" Big dogs", 1, 0, " Huge dogs"},
		{" one two three", 1, 0, " two one three"}, // nothing to swap: neighbours exchange
		{" one two three", 1, 1, " one three two"},
		{" alone", 1, 0, " alone"},
	} {
		if got := SwapWords(c.in, c.n, c.skip); got != c.want {
			t.Errorf("SwapWords(%q, %d, %d) = %q, want %q", c.in, c.n, c.skip, got, c.want)
		}
	}
}

func TestSybilGroupSharesOneRunPerPrompt(t *testing.T) {
	lm := loadModel(t)
	b := &counting{Backend: miner.NewBuiltin(lm, "babyllama105")}
	group := NewSybilGroup(b, lm)
	members := []*Sybil{group.Member(false), group.Member(false), group.Member(true), group.Member(true), group.Member(true)}
	for round, prompt := range []string{scoring.StoryPrompt(1), scoring.StoryPrompt(2)} {
		// Each hotkey gets its own seed, as validators send them.
		answers := make([]*llm.OpenAIGeneration, len(members))
		var wg sync.WaitGroup
		for i, m := range members {
			wg.Go(func() {
				g, err := m.Generate(context.Background(), request(prompt, uint64(100+i)), nil)
				if err != nil {
					t.Error(err)
				}
				answers[i] = g
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		if got := b.calls.Load(); got != uint64(round+1) {
			t.Fatalf("after %d prompts the model ran %d times; want one run per prompt", round+1, got)
		}
		// The run is the model's answer to the seed of the member that ran
		// it; the others hand it in as it is or edited.
		runner := int(b.seed.Load()) - 100
		run := answers[runner]
		if h := honest(t, request(prompt, uint64(100+runner))); h.Text != run.Text {
			t.Fatalf("member %d ran the model and answered %q; the model answers %q", runner, run.Text, h.Text)
		}
		for i, g := range answers {
			switch {
			case i == runner:
			case !members[i].edit:
				if g.Text != run.Text || !slices.Equal(ids(g), ids(run)) {
					t.Errorf("member %d answered %q, the run is %q", i, g.Text, run.Text)
				}
			default:
				// Its edit of the run, cut to max_tokens.
				if edit := SwapWords(run.Text, 1, i); g.Text == run.Text || !strings.HasPrefix(edit, g.Text) {
					t.Errorf("member %d answered %q; its edit of the run is %q", i, g.Text, edit)
				}
				checkDressed(t, prompt, g)
			}
		}
		if answers[2].Text == answers[3].Text || answers[3].Text == answers[4].Text || answers[2].Text == answers[4].Text {
			t.Errorf("editing members answered alike: %q, %q, %q", answers[2].Text, answers[3].Text, answers[4].Text)
		}
	}
}

func TestGreedyIgnoresTheTemperature(t *testing.T) {
	lm := loadModel(t)
	b := &counting{Backend: miner.NewBuiltin(lm, "babyllama105")}
	g := &Greedy{Backend: b}
	prompt := scoring.StoryPrompt(5)
	want, err := lm.Generate(context.Background(), prompt, llm.GenOptions{MaxTokens: 64})
	if err != nil {
		t.Fatal(err)
	}
	for i, opts := range []llm.GenOptions{
		{MaxTokens: 64, Temperature: 0.8, TopP: 0.9, Seed: 1},
		{MaxTokens: 64, Temperature: 1.5, Seed: 2},
		{MaxTokens: 64},
	} {
		req := &miner.Request{Prompt: prompt, Options: llm.OpenAIOptions{GenOptions: opts}}
		out, err := g.Generate(context.Background(), req, nil)
		if err != nil {
			t.Fatal(err)
		}
		if out.Text != want.Text {
			t.Fatalf("options %+v: %q; the greedy answer is %q", opts, out.Text, want.Text)
		}
		if i == 0 && honest(t, req).Text == out.Text {
			t.Fatal("the sampled answer is the greedy one; pick another seed")
		}
	}
	if n := b.calls.Load(); n != 1 {
		t.Errorf("the model ran %d times for one prompt; Greedy caches its answer", n)
	}
}

func TestJunkLazyAndWrongModel(t *testing.T) {
	lm := loadModel(t)
	base := miner.NewBuiltin(lm, "babyllama105")
	req := request(scoring.StoryPrompt(4), 4)
	j, err := Junk{base}.Generate(context.Background(), req, nil)
	if err != nil || len(strings.Fields(j.Text)) != 30 || len(j.Tokens) != 0 {
		t.Errorf("junk: %q (%d tokens), %v; want 30 random words, no tokens", j.Text, len(j.Tokens), err)
	}
	l, err := Lazy{base}.Generate(context.Background(), req, nil)
	if err != nil || l.Text != req.Prompt {
		t.Errorf("lazy: %q, %v; want the prompt echoed", l.Text, err)
	}
	wrong, err := llm.ParseLlama(Perturb(modelData), lm.Tokenizer())
	if err != nil {
		t.Fatal(err)
	}
	w, err := miner.NewBuiltin(wrong, "babyllama105").Generate(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := honest(t, req)
	if w.Model != h.Model || w.Text == h.Text {
		t.Errorf("wrong model: served as %q answering %q; the declared model, as %q, answers %q", w.Model, w.Text, h.Model, h.Text)
	}
}

func TestForgedAnswersStream(t *testing.T) {
	lm := loadModel(t)
	c := &Canned{Backend: miner.NewBuiltin(lm, "babyllama105"), LM: lm}
	var streamed strings.Builder
	var toks int
	g, err := c.Generate(context.Background(), request(scoring.StoryPrompt(6), 6), func(text string, tk []llm.TokenLogprob) error {
		streamed.WriteString(text)
		toks += len(tk)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if streamed.String() != g.Text || toks != len(g.Tokens) {
		t.Errorf("streamed %q (%d tokens), answered %q (%d)", streamed.String(), toks, g.Text, len(g.Tokens))
	}
}
