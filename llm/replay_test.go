package llm

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	storyPrompt = "Once upon a time, a little girl named Lily saw" // 46 characters
	endPrompt   = "They were best friends forever and they played together every"
)

// answerIDs is a Generation's tokens as a miner sends them: without the
// stop token.
func answerIDs(g *Generation) []int {
	ids := make([]int, 0, len(g.Tokens))
	for _, t := range g.Tokens {
		if t.ID != EOSID && t.ID != BOSID {
			ids = append(ids, t.ID)
		}
	}
	return ids
}

// replayExact replays ids after prompt under opts and fails unless every
// step draws the token sent, at distance 0.
func replayExact(t *testing.T, m *Llama, prompt string, ids []int, opts GenOptions) *Replay {
	t.Helper()
	r, err := m.Replay(context.Background(), prompt, ids, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Steps) != len(ids) {
		t.Fatalf("%d steps for %d tokens", len(r.Steps), len(ids))
	}
	for i, st := range r.Steps {
		if st.Drawn != ids[i] || st.Dist != 0 {
			t.Fatalf("step %d: %+v, sent %d", i, st, ids[i])
		}
	}
	return r
}

// Replaying an honest generation with its own options redraws every token
// it sent, with distance 0 and its log-probability, and at the position
// after it a stop token exactly when it stopped there.
func TestReplayHonest(t *testing.T) {
	t.Parallel()
	m := testModel(t)
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		prompt string
		opts   GenOptions
		finish string
	}{
		{"nucleus length", storyPrompt, GenOptions{MaxTokens: 64, Temperature: 0.8, TopP: 0.9, Seed: 11}, FinishLength},
		{"nucleus stop", endPrompt, GenOptions{MaxTokens: 64, Temperature: 0.8, TopP: 0.9, Seed: 4}, FinishStop},
		{"nucleus short stop", endPrompt, GenOptions{MaxTokens: 64, Temperature: 0.8, TopP: 0.9, Seed: 0}, FinishStop},
		{"hot narrow nucleus stop", "Tom and Sue played all day. They were very happy. The", GenOptions{MaxTokens: 64, Temperature: 1.3, TopP: 0.95, Seed: 3}, FinishStop},
		{"top_p 1 stop", "Tom and Sue played all day. They were very happy. The", GenOptions{MaxTokens: 64, Temperature: 1, TopP: 1, Seed: 4}, FinishStop},
		{"top_p 1 length", storyPrompt, GenOptions{MaxTokens: 40, Temperature: 1, TopP: 1, Seed: 2}, FinishLength},
		{"top_p 0 is the whole distribution", storyPrompt, GenOptions{MaxTokens: 40, Temperature: 0.7, Seed: 3}, FinishLength},
		{"greedy length", storyPrompt, GenOptions{MaxTokens: 50}, FinishLength},
		{"greedy stops at once", endPrompt + " day. The end.", GenOptions{MaxTokens: 64}, FinishStop},
		{"up to the context", storyPrompt, GenOptions{Temperature: 0.8, TopP: 0.9, Seed: 1}, FinishLength},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			g, err := m.Generate(ctx, c.prompt, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if g.FinishReason != c.finish {
				t.Fatalf("generation finished with %q after %d tokens, want %q", g.FinishReason, len(g.Tokens), c.finish)
			}
			ids := answerIDs(g)
			r := replayExact(t, m, c.prompt, ids, c.opts)
			if r.PromptTokens != len(g.PromptTokens) {
				t.Fatalf("replay counts %d prompt tokens, generation %d", r.PromptTokens, len(g.PromptTokens))
			}
			for i, st := range r.Steps {
				if st.Logprob != g.Tokens[i].Logprob {
					t.Fatalf("step %d: logprob %v, generation's %v", i, st.Logprob, g.Tokens[i].Logprob)
				}
			}
			switch {
			case c.finish == FinishStop:
				stop := g.Tokens[len(g.Tokens)-1]
				if r.Stopped == nil || r.Stopped.Drawn != stop.ID || r.Stopped.Dist != 0 {
					t.Fatalf("stop position %+v, want the stop token %d drawn", r.Stopped, stop.ID)
				}
				if stop.ID == EOSID && r.Stopped.Logprob != stop.Logprob {
					t.Errorf("stop logprob %v, generation's %v", r.Stopped.Logprob, stop.Logprob)
				}
			case r.Stopped != nil:
				t.Fatalf("length-finished answer of %d tokens (max %d): stop position %+v, want none", len(ids), c.opts.MaxTokens, r.Stopped)
			}

			// With the stop token included, as Generation.Tokens has it,
			// the stop is the last step and there is no position after it.
			full := make([]int, len(g.Tokens))
			for i, tok := range g.Tokens {
				full[i] = tok.ID
			}
			if r := replayExact(t, m, c.prompt, full, c.opts); r.Stopped != nil {
				t.Errorf("answer ending in its stop token: stop position %+v", r.Stopped)
			}
		})
	}
}

// A model whose generation fills its context: no stop position.
func TestReplayFullContext(t *testing.T) {
	t.Parallel()
	m := testModel(t)
	small, err := ParseLlama(syntheticCheckpoint(Config{Dim: 16, HiddenDim: 24, NLayers: 2, NHeads: 4, NKVHeads: 2, VocabSize: 105, SeqLen: 16}), m.tok)
	if err != nil {
		t.Fatal(err)
	}
	opts := GenOptions{Temperature: 1, Seed: 3}
	g, err := small.Generate(context.Background(), "Tom", opts)
	if err != nil || g.FinishReason != FinishLength {
		t.Fatalf("generation: %v, %v", g, err)
	}
	ids := answerIDs(g)
	if r := replayExact(t, small, "Tom", ids, opts); r.Stopped != nil {
		t.Errorf("answer filling the context: stop position %+v", r.Stopped)
	}
	// One token shorter, the stop position is replayed.
	r, err := small.Replay(context.Background(), "Tom", ids[:len(ids)-1], opts)
	if err != nil || r.Stopped == nil || r.Stopped.Drawn != ids[len(ids)-1] || r.Stopped.Dist == 0 {
		t.Errorf("one token short of the context: stop position %+v, %v; want token %d drawn", r.Stopped, err, ids[len(ids)-1])
	}
}

// firstDiff is the first position where a and b differ, or -1.
func firstDiff(a, b []int) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// An answer that is not what the sampler draws fails first exactly where it
// leaves the honest generation: there the replay draws the honest token.
func TestReplayTampered(t *testing.T) {
	t.Parallel()
	m := testModel(t)
	ctx := context.Background()
	sampling := GenOptions{MaxTokens: 64, Temperature: 0.8, TopP: 0.9, Seed: 21}
	gen := func(o GenOptions) []int {
		g, err := m.Generate(ctx, storyPrompt, o)
		if err != nil {
			t.Fatal(err)
		}
		return answerIDs(g)
	}
	honest := gen(sampling)
	otherSeed := sampling
	otherSeed.Seed = 22
	topP1 := GenOptions{MaxTokens: 64, Temperature: 1, TopP: 1, Seed: 5}
	greedy := GenOptions{MaxTokens: 64}
	changed := func(ids []int, i int) []int {
		out := slices.Clone(ids)
		out[i] = 50
		if out[i] == ids[i] {
			out[i] = 51
		}
		return out
	}
	for _, c := range []struct {
		name  string
		ids   []int // the answer sent
		opts  GenOptions
		claim GenOptions // the options it claims
	}{
		{"one token changed", changed(honest, 17), sampling, sampling},
		{"first token changed", changed(honest, 0), sampling, sampling},
		{"generated with another seed", gen(otherSeed), sampling, sampling},
		{"greedy output claimed as sampled", gen(greedy), sampling, sampling},
		{"sampled output claimed as greedy", honest, greedy, greedy},
		{"greedy output with one token changed", changed(gen(greedy), 9), greedy, greedy},
		{"top_p 1, one token changed", changed(gen(topP1), 30), topP1, topP1},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			want := gen(c.opts) // what the claimed options draw
			at := firstDiff(c.ids, want)
			if at < 0 || at >= len(c.ids) {
				t.Fatalf("the tampered answer does not leave the honest one (%d)", at)
			}
			r, err := m.Replay(ctx, storyPrompt, c.ids, c.claim)
			if err != nil {
				t.Fatal(err)
			}
			for i, st := range r.Steps[:at] {
				if st.Drawn != c.ids[i] || st.Dist != 0 {
					t.Fatalf("step %d, before the change at %d: %+v, sent %d", i, at, st, c.ids[i])
				}
			}
			st := r.Steps[at]
			if st.Drawn != want[at] || st.Drawn == c.ids[at] || !(st.Dist > 0) {
				t.Fatalf("step %d: %+v, sent %d; want %d drawn and a positive distance", at, st, c.ids[at], want[at])
			}
			if c.claim.Temperature > 0 && st.Dist > 1 {
				t.Errorf("step %d: distance %v above 1 coin", at, st.Dist)
			}
			if c.claim.Temperature <= 0 {
				// The distance is the logit gap, recomputed one token at a time.
				s := m.newState(1)
				seq, err := m.tok.Encode(storyPrompt, true)
				if err != nil {
					t.Fatal(err)
				}
				seq = append(seq, c.ids[:at]...)
				for pos, id := range seq {
					m.forward(s, id, pos)
				}
				if gap := s.logits[st.Drawn] - s.logits[c.ids[at]]; st.Dist != gap {
					t.Errorf("greedy distance %v, logit gap %v", st.Dist, gap)
				}
			}
		})
	}
}

// An answer cut short that claims the model stopped there: the stop
// position draws the next honest token, not a stop token.
func TestReplayTruncatedClaimsStop(t *testing.T) {
	t.Parallel()
	m := testModel(t)
	ctx := context.Background()
	for _, opts := range []GenOptions{
		{MaxTokens: 64, Temperature: 0.8, TopP: 0.9, Seed: 9},
		{MaxTokens: 64},
	} {
		g, err := m.Generate(ctx, storyPrompt, opts)
		if err != nil || g.FinishReason != FinishLength {
			t.Fatalf("%+v: %v, %v", opts, g, err)
		}
		ids := answerIDs(g)
		r, err := m.Replay(ctx, storyPrompt, ids[:30], opts)
		if err != nil {
			t.Fatal(err)
		}
		if r.Stopped == nil || r.Stopped.Drawn != ids[30] || !(r.Stopped.Dist > 0) {
			t.Errorf("%+v: stop position %+v, want token %d drawn, away from a stop", opts, r.Stopped, ids[30])
		}
		scores, err := m.Score(ctx, storyPrompt, append(slices.Clone(ids[:30]), EOSID))
		if err != nil {
			t.Fatal(err)
		}
		if r.Stopped.Logprob != scores[30] {
			t.Errorf("stop logprob %v, Score's log p(EOS) %v", r.Stopped.Logprob, scores[30])
		}
	}
}

// The sampler's draw and distances on hand-made distributions: the CDF
// walk, the nucleus, tokens outside it, the last token's open interval.
func TestWalkAndCoinDist(t *testing.T) {
	t.Parallel()
	full := []candidate{{0, 0.5}, {1, 0.3}, {2, 0.2}}
	probs := []float32{0.5, 0.3, 0.2, 0}
	nucleus := []candidate{{0, 0.5}, {1, 0.3}} // top_p 0.7: cumulative 0.8
	for _, c := range []struct {
		name        string
		cands       []candidate
		scale, coin float32
		sent        int
		drawn       int
		dist        float64
	}{
		{"first interval", full, 1, 0.1, 0, 0, 0},
		{"below the sent interval", full, 1, 0.1, 1, 0, 0.4},
		{"far below", full, 1, 0.1, 2, 0, 0.7},
		{"above the sent interval", full, 1, 0.95, 0, 2, 0.45},
		{"on a boundary", full, 1, 0.5, 1, 1, 0},
		{"last token is open above", full, 1, 0.999, 2, 2, 0},
		{"nucleus, in it", nucleus, 0.8, 0.9, 1, 1, 0},
		{"nucleus, scaled distance", nucleus, 0.8, 0.5, 1, 0, (0.5 - 0.4) / 0.8},
		{"just outside the nucleus", nucleus, 0.8, 0.9, 2, 1, (0.8 - 0.72) / 0.8},
		{"far outside the nucleus", nucleus, 0.8, 0.0, 3, 0, 1},
	} {
		k, _, _ := walk(c.cands, c.coin*c.scale, -1)
		if got := c.cands[k].id; got != c.drawn {
			t.Errorf("%s: drew %d, want %d", c.name, got, c.drawn)
		}
		d := coinDist(probs, c.cands, c.scale, c.coin*c.scale, k, c.sent)
		if math.Abs(float64(d)-c.dist) > 1e-6 {
			t.Errorf("%s: distance %v, want %v", c.name, d, c.dist)
		}
	}
}

// storyPrefix is the demo model with storyPrompt prefilled.
func storyPrefix(t *testing.T) (*Llama, *Prefix) {
	t.Helper()
	m := testModel(t)
	p, err := m.Prefill(context.Background(), storyPrompt)
	if err != nil {
		t.Fatal(err)
	}
	return m, p
}

// Bad ids and answers too long for the context are errors that say so.
func TestReplayErrors(t *testing.T) {
	t.Parallel()
	m, p := storyPrefix(t)
	ctx := context.Background()
	np := len(p.PromptTokens())
	for _, c := range []struct {
		name string
		ids  []int
		want string
	}{
		{"negative id", []int{5, -1}, "answer token 1 is id -1, outside the vocabulary of 105"},
		{"id past the vocabulary", []int{105}, "answer token 0 is id 105, outside the vocabulary of 105"},
		{"longer than the context", make([]int, 256-np+1), "are 257 tokens; the model's context is 256"},
	} {
		if _, err := p.Replay(ctx, c.ids, GenOptions{Temperature: 0.8, TopP: 0.9}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.want)
		}
	}
	// Exactly filling the context is fine.
	fill := make([]int, 256-np)
	for i := range fill {
		fill[i] = 5
	}
	if r, err := p.Replay(ctx, fill, GenOptions{}); err != nil || r.Stopped != nil || len(r.Steps) != len(fill) {
		t.Errorf("answer filling the context: %v", err)
	}
	if _, err := m.Prefill(ctx, strings.Repeat("a", 300)); err == nil || !strings.Contains(err.Error(), "context") {
		t.Errorf("prompt longer than the context: %v", err)
	}
	var ue *UnencodableError
	if _, err := m.Replay(ctx, "Tom had a #1 ball", []int{5}, GenOptions{}); !errors.As(err, &ue) {
		t.Errorf("unencodable prompt: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := p.Replay(cctx, fill[:10], GenOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	// An empty answer replays only the stop position: the prompt's logits.
	r, err := p.Replay(ctx, nil, GenOptions{MaxTokens: 8})
	if err != nil || len(r.Steps) != 0 || r.Stopped == nil {
		t.Errorf("empty answer: %+v, %v", r, err)
	}
	if r, err := p.Replay(ctx, nil, GenOptions{MaxTokens: 0}); err != nil || r.Stopped == nil {
		t.Errorf("empty answer, no max: %+v, %v", r, err)
	}
}

// Replays of many answers share one Prefix concurrently and agree with
// replays that run the prompt themselves.
func TestReplayConcurrentPrefix(t *testing.T) {
	t.Parallel()
	m, p := storyPrefix(t)
	ctx := context.Background()
	type job struct {
		ids  []int
		opts GenOptions
		want *Replay
	}
	jobs := make([]job, 6)
	for i := range jobs {
		opts := GenOptions{MaxTokens: 24 + i, Temperature: 0.8, TopP: 0.9, Seed: uint64(100 + i)}
		g, err := m.Generate(ctx, storyPrompt, opts)
		if err != nil {
			t.Fatal(err)
		}
		ids := answerIDs(g)
		if i%2 == 1 {
			ids = ids[:len(ids)-3] // cut short: its stop position draws a token
		}
		want, err := m.Replay(ctx, storyPrompt, ids, opts)
		if err != nil {
			t.Fatal(err)
		}
		jobs[i] = job{ids, opts, want}
	}
	var wg sync.WaitGroup
	for range 2 {
		for _, j := range jobs {
			wg.Go(func() {
				got, err := p.Replay(ctx, j.ids, j.opts)
				if err != nil {
					t.Error(err)
					return
				}
				if !slices.Equal(got.Steps, j.want.Steps) || (got.Stopped == nil) != (j.want.Stopped == nil) ||
					(got.Stopped != nil && *got.Stopped != *j.want.Stopped) {
					t.Errorf("seed %d: concurrent replay differs from a lone one", j.opts.Seed)
				}
			})
		}
	}
	wg.Wait()
}

// BenchmarkVerifyVsGenerate compares, per answer, what a miner spends
// generating a 64-token answer to a story prompt at temperature 0.8, top_p
// 0.9 (prompt and answer forward passes, sampling) with what a validator
// spends verifying it on the built-in engine: the prompt's Prefill shared
// by the 8 answers of a round that got the same prompt, plus the answer's
// Replay. Both are timed on one goroutine (one core: the engine uses no
// other), interleaved in each iteration so that both see the same load on
// the machine. verify/generate_cpu is the ratio (the target is at most
// 0.5); verify1/generate_cpu is the ratio for an answer whose prompt nobody
// else got (a Prefill of its own).
func BenchmarkVerifyVsGenerate(b *testing.B) {
	m := testModel(b)
	ctx := context.Background()
	const miners = 8
	opts := make([]GenOptions, miners)
	answers := make([][]int, miners)
	for i := range opts {
		opts[i] = GenOptions{MaxTokens: 64, Temperature: 0.8, TopP: 0.9, Seed: uint64(1000 + i)}
		g, err := m.Generate(ctx, storyPrompt, opts[i])
		if err != nil {
			b.Fatal(err)
		}
		answers[i] = answerIDs(g)
	}
	var genTime, prefillTime, replayTime time.Duration
	var tokens int
	for b.Loop() {
		t0 := time.Now()
		for i := range miners {
			if _, err := m.Generate(ctx, storyPrompt, opts[i]); err != nil {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		p, err := m.Prefill(ctx, storyPrompt)
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		for i := range miners {
			r, err := p.Replay(ctx, answers[i], opts[i])
			if err != nil {
				b.Fatal(err)
			}
			for k, st := range r.Steps {
				if st.Drawn != answers[i][k] {
					b.Fatalf("answer %d step %d: drew %d, sent %d", i, k, st.Drawn, answers[i][k])
				}
			}
			tokens += len(answers[i])
		}
		t3 := time.Now()
		genTime += t1.Sub(t0)
		prefillTime += t2.Sub(t1)
		replayTime += t3.Sub(t2)
	}
	n := float64(b.N * miners)
	gen := float64(genTime.Nanoseconds()) / n
	shared := float64(prefillTime.Nanoseconds()+replayTime.Nanoseconds()) / n
	alone := float64(prefillTime.Nanoseconds())/float64(b.N) + float64(replayTime.Nanoseconds())/n
	perToken := float64(b.N*miners) / float64(tokens) // answers per token
	b.ReportMetric(shared/gen, "verify/generate_cpu")
	b.ReportMetric(alone/gen, "verify1/generate_cpu")
	b.ReportMetric(gen*perToken, "generate_ns/token")
	b.ReportMetric(shared*perToken, "verify_ns/token")
	b.ReportMetric(float64(prefillTime.Nanoseconds())/float64(b.N), "prefill_ns")
}
