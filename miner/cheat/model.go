package cheat

import (
	"context"
	"strconv"
	"sync"

	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/miner"
)

// The cheats that do run the declared model, but less of it than was
// asked: fewer tokens, greedy decoding instead of sampling, or one run for
// several hotkeys.

// Truncate runs the honest model for at most Tokens tokens (default 10)
// whatever max_tokens asks, and claims Claim as the finish reason (default
// "stop": the model ended there) when it was its own cut that ended the
// answer. An answer the model really ended earlier keeps "stop".
type Truncate struct {
	miner.Backend
	// Tokens is how many tokens it generates at most; default 10.
	Tokens int
	// Claim is the finish reason it reports for its cut: llm.FinishStop
	// (the default) or llm.FinishLength.
	Claim string
}

// Generate implements miner.Backend.
func (t *Truncate) Generate(ctx context.Context, req *miner.Request, fn llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	n := t.Tokens
	if n <= 0 {
		n = 10
	}
	short := *req
	if short.Options.MaxTokens <= 0 || short.Options.MaxTokens > n {
		short.Options.MaxTokens = n
	}
	g, err := t.Backend.Generate(ctx, &short, fn)
	if err != nil {
		return g, err
	}
	if g.FinishReason == llm.FinishLength {
		g.FinishReason = llm.FinishStop
		if t.Claim != "" {
			g.FinishReason = t.Claim
		}
	}
	return g, nil
}

// runKey names one model run of a group or cache: the prompt and what
// bounds the answer, not the seed or temperature, which these cheats
// ignore.
func runKey(req *miner.Request) string {
	return strconv.FormatBool(req.Chat) + "\x00" + strconv.Itoa(req.Options.MaxTokens) + "\x00" + promptOf(req)
}

// runs is a bounded record of model runs by runKey: the first request for
// a key runs, later ones (concurrent or not) wait for it and share its
// result. A run that failed is forgotten, so the next request runs again.
type runs struct {
	mu    sync.Mutex
	byKey map[string]*run
	order []string // keys, oldest first
}

type run struct {
	done chan struct{}
	g    *llm.OpenAIGeneration
	err  error
}

// maxRuns is how many runs a group or cache keeps.
const maxRuns = 256

// do returns the result of the run for key, calling f for it when no run
// for key exists yet; first says whether this call ran f.
func (rs *runs) do(ctx context.Context, key string, f func() (*llm.OpenAIGeneration, error)) (g *llm.OpenAIGeneration, first bool, err error) {
	rs.mu.Lock()
	if rs.byKey == nil {
		rs.byKey = map[string]*run{}
	}
	r, ok := rs.byKey[key]
	if !ok {
		r = &run{done: make(chan struct{})}
		rs.byKey[key] = r
		rs.order = append(rs.order, key)
		if len(rs.order) > maxRuns {
			delete(rs.byKey, rs.order[0])
			rs.order = rs.order[1:]
		}
	}
	rs.mu.Unlock()
	if !ok {
		r.g, r.err = f()
		if r.err != nil {
			rs.mu.Lock()
			if rs.byKey[key] == r {
				delete(rs.byKey, key)
			}
			rs.mu.Unlock()
		}
		close(r.done)
		return r.g, true, r.err
	}
	select {
	case <-r.done:
		return r.g, false, r.err
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

// Greedy runs the honest model at temperature 0 whatever temperature,
// top_p and seed were asked: one answer per prompt, which it caches (and a
// GPU server batches well).
type Greedy struct {
	miner.Backend
	cache runs
}

// Generate implements miner.Backend.
func (g *Greedy) Generate(ctx context.Context, req *miner.Request, fn llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	greedy := *req
	greedy.Options.Temperature, greedy.Options.TopP, greedy.Options.Seed = 0, 0, 0
	out, first, err := g.cache.do(ctx, runKey(req), func() (*llm.OpenAIGeneration, error) {
		return g.Backend.Generate(ctx, &greedy, fn)
	})
	if err != nil || first {
		return out, err
	}
	return deliver(out, fn)
}

// SybilGroup is one operator behind several hotkeys (its Members) that
// share one model run per prompt: the first member a prompt reaches runs
// the model with the seed it was sent; the others answer with that same
// generation, or with it slightly edited (one word swapped for another or
// two neighbouring words exchanged, the token ids and log-probabilities
// recomputed) so that it does not look like a copy.
type SybilGroup struct {
	backend miner.Backend
	lm      *llm.Llama
	runs    runs
	mu      sync.Mutex
	members int
}

// NewSybilGroup returns a group whose model runs on b; lm is the declared
// model, whose tokenizer and scores edited answers carry.
func NewSybilGroup(b miner.Backend, lm *llm.Llama) *SybilGroup {
	return &SybilGroup{backend: b, lm: lm}
}

// Member adds a hotkey's backend to the group. With edit it answers
// another member's run with a trivial edit of its own (SwapWords, at the
// member's index), else with the run as it is.
func (s *SybilGroup) Member(edit bool) *Sybil {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.members++
	return &Sybil{Backend: s.backend, group: s, index: s.members - 1, edit: edit}
}

// Sybil is one hotkey of a SybilGroup.
type Sybil struct {
	miner.Backend // for Model, Ready and Concurrency
	group         *SybilGroup
	index         int
	edit          bool
}

// Generate implements miner.Backend.
func (s *Sybil) Generate(ctx context.Context, req *miner.Request, fn llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	g, first, err := s.group.runs.do(ctx, runKey(req), func() (*llm.OpenAIGeneration, error) {
		return s.Backend.Generate(ctx, req, fn)
	})
	switch {
	case err != nil || first:
		return g, err
	case s.edit:
		g, err = forge(ctx, s.group.lm, s.Model(), req, SwapWords(g.Text, 1, s.index), g.FinishReason)
		if err != nil {
			return nil, err
		}
	}
	return deliver(g, fn)
}
