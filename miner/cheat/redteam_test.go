package cheat

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/miner"
	"github.com/seed0ffb8d46/agora/scoring"
)

// Any miner recovers the round's seed from its own seed and uid, and so
// every other miner's seed in the round.
func TestRoundSeedsInvertMinerSeed(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		round, uid := r.Uint64(), uint16(r.IntN(4096))
		if got := RoundSeeds(MinerSeed(round, uid), uid); got[0] != round && got[1] != round {
			t.Fatalf("RoundSeeds(MinerSeed(%#x, %d)) = %#x", round, uid, got)
		}
		if got, ok := RoundSeed(scoring.StoryPrompt(round), MinerSeed(round, uid), uid); !ok || got != round {
			t.Fatalf("RoundSeed from the round's prompt: %#x, %v; want %#x", got, ok, round)
		}
	}
}

func TestUniversalRunsTheModelOnlyForItsPool(t *testing.T) {
	lm := loadModel(t)
	b := &counting{Backend: miner.NewBuiltin(lm, "babyllama105")}
	u := &Universal{Backend: b, LM: lm, Pool: 2, Member: 1}
	var first *llm.OpenAIGeneration
	for i, prompt := range []string{scoring.StoryPrompt(1), scoring.StoryPrompt(2), scoring.StoryPrompt(3)} {
		g, err := u.Generate(context.Background(), request(prompt, uint64(50+i)), nil)
		if err != nil {
			t.Fatal(err)
		}
		// Its tokens spell its text after the prompt it was sent (their
		// log-probabilities are its own prompt's: no validator reads them).
		if spelled, err := lm.Text(prompt, ids(g)); err != nil || spelled != g.Text {
			t.Fatalf("the ids spell %q (%v), the text is %q", spelled, err, g.Text)
		}
		if first == nil {
			first = g
		} else if !slices.Equal(ids(g), ids(first)) {
			t.Fatalf("answer %d has other tokens than the first", i)
		}
	}
	if got := b.calls.Load(); got != 2 {
		t.Fatalf("the model ran %d times for three prompts; want 2 (its pool)", got)
	}
	// Its sample is the model's answer to its own prompt, seed 2 (member 1).
	own := honest(t, request(universalPrompt, 2))
	if !slices.Equal(ids(own), ids(first)) {
		t.Fatalf("the pool's sample is not the model's answer to its own prompt")
	}
	// Greedy tasks go to the model.
	if _, err := u.Generate(context.Background(), &miner.Request{Prompt: scoring.StoryPrompt(4), Options: llm.OpenAIOptions{GenOptions: llm.GenOptions{MaxTokens: 8}}}, nil); err != nil || b.calls.Load() != 3 {
		t.Fatalf("greedy task: %v, %d runs", err, b.calls.Load())
	}
}

func TestPreemptAnswersTheVictimsSample(t *testing.T) {
	lm := loadModel(t)
	p := &Preempt{Backend: miner.NewBuiltin(lm, "babyllama105"), Self: 3, Victim: 1}
	const round = 0xfeedface12345678
	prompt := scoring.StoryPrompt(round)
	g, err := p.Generate(context.Background(), request(prompt, MinerSeed(round, 3)), nil)
	if err != nil {
		t.Fatal(err)
	}
	victim := honest(t, request(prompt, MinerSeed(round, 1)))
	if g.Text != victim.Text || !slices.Equal(ids(g), ids(victim)) {
		t.Fatalf("preempt answered %q; the victim's sample is %q", g.Text, victim.Text)
	}
	// A prompt that is not the round's (another validator's task): honest.
	other := request("Tom had a ball.", 77)
	if g, err := p.Generate(context.Background(), other, nil); err != nil || g.Text != honest(t, other).Text {
		t.Fatalf("on another prompt: %v, %q", err, g.Text)
	}
}

// seekerPrompt is a story prompt after which the demo model may stop at
// once (a stop token in the nucleus after one space), found by search.
const seekerPrompt = "Once upon a time, there was a big bear named Lucy. Once upon a time, there was a happy cat named Jack."

func TestStopSeekerClaimsTheNearestStop(t *testing.T) {
	lm := loadModel(t)
	s := &StopSeeker{Backend: miner.NewBuiltin(lm, "babyllama105"), LM: lm, Depth: 1}
	req := request(seekerPrompt, 9)
	g, err := s.Generate(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if g.FinishReason != llm.FinishStop || len(g.Tokens) != 1 {
		t.Fatalf("answer %q (%d tokens), finish %q; want one token and a stop", g.Text, len(g.Tokens), g.FinishReason)
	}
	checkDressed(t, seekerPrompt, g)
	// A check that cannot replay the seed passes it; exact replay does not.
	if !StatCheck(lm)(context.Background(), req, g) {
		t.Error("the statistical check fails the seeker's stop")
	}
	if ExactCheck(lm)(context.Background(), req, g) {
		t.Error("exact replay passes the seeker's stop")
	}
	// Where it finds no stop, it refuses.
	if _, err := s.Generate(context.Background(), request(scoring.StoryPrompt(11), 9), nil); !errors.Is(err, errRefused) {
		t.Fatalf("no stop within reach: %v, want a refusal", err)
	}
}

func TestQuantizeRoundsTheWeights(t *testing.T) {
	lm := loadModel(t)
	if !slices.Equal(Quantize(modelData, 23), modelData) {
		t.Fatal("23 bits changed the checkpoint")
	}
	q := Quantize(modelData, 7)
	if slices.Equal(q[:28], modelData[:28]) == false || slices.Equal(q, modelData) {
		t.Fatal("7 bits: want the header kept and the weights changed")
	}
	m, err := llm.ParseLlama(q, lm.Tokenizer())
	if err != nil {
		t.Fatal(err)
	}
	req := request(scoring.StoryPrompt(5), 5)
	g, err := miner.NewBuiltin(m, "babyllama105").Generate(context.Background(), req, nil)
	if err != nil || len(g.Tokens) == 0 {
		t.Fatalf("the quantized model: %v", err)
	}
}

func TestSelectiveRefusesWhatTheCheckFails(t *testing.T) {
	lm := loadModel(t)
	builtin := miner.NewBuiltin(lm, "babyllama105")
	req := request(scoring.StoryPrompt(6), 6)
	forged := &Selective{Backend: &Canned{Backend: builtin, LM: lm}, Check: ExactCheck(lm)}
	if _, err := forged.Generate(context.Background(), req, nil); !errors.Is(err, errRefused) {
		t.Fatalf("canned text under exact replay: %v, want a refusal", err)
	}
	sampled := &Selective{Backend: builtin, Check: ExactCheck(lm)}
	g, err := sampled.Generate(context.Background(), req, nil)
	if err != nil || g.Text != honest(t, req).Text {
		t.Fatalf("the honest sample: %v", err)
	}
	if forged.Checked.Load() != 1 || forged.Refused.Load() != 1 || sampled.Refused.Load() != 0 {
		t.Fatalf("counts: forged %d/%d, sampled %d refused", forged.Refused.Load(), forged.Checked.Load(), sampled.Refused.Load())
	}
}

func TestBloatSpellsItsTokens(t *testing.T) {
	lm := loadModel(t)
	b := &Bloat{Backend: miner.NewBuiltin(lm, "babyllama105"), LM: lm, Tokens: 5000}
	prompt := scoring.StoryPrompt(7)
	g, err := b.Generate(context.Background(), request(prompt, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Tokens) != 5000 {
		t.Fatalf("%d tokens", len(g.Tokens))
	}
	if spelled, err := lm.Text(prompt, ids(g)); err != nil || spelled != g.Text || strings.TrimSpace(g.Text) == "" {
		t.Fatalf("the ids spell %q (%v), the text is %q", spelled, err, g.Text)
	}
}
