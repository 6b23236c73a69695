package validator

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/scoring"
)

// minerSeed is the sampling seed of the miner with uid for a task whose
// round seed is seed: each miner its own, so honest miners on one model
// answer differently, and an answer sampled under another miner's seed
// (a copy, a sybil's shared run) does not replay under this one's. It is
// keyed by the validator's secret: a miner that knows its own seed cannot
// work out the round's, nor another miner's (to hand in that miner's
// sample first and have it judged the copy).
func (v *Validator) minerSeed(seed uint64, uid uint16) uint64 {
	return v.secret("miner", seed^uint64(uid)<<48) & math.MaxInt64 // OpenAI's seed is a signed 64-bit integer
}

// secret is a value derived from the validator's secret key and x, which
// nobody else can compute: the seed of a reference task's hidden story,
// and of the positions a statistical check looks at.
func (v *Validator) secret(domain string, x uint64) uint64 {
	h := sha256.New()
	h.Write(v.verifyKey[:])
	h.Write([]byte(domain))
	_ = binary.Write(h, binary.BigEndian, x)
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// referencePrompts are the prompts of a reference round, one for each of
// n miners, all different: a story opening and the validator's own
// model's continuation of it, sampled with a secret seed, cut after a
// word (each miner's cut after another word; a story gives as many cuts as
// it has words past half of ReferencePromptTokens, and more stories are
// sampled as needed). The miner continues its prompt greedily; the right
// answer is the declared model's greedy continuation, which the validator
// computes itself when it replays the answer at temperature 0. Nobody can
// know a prompt before it is sent, nor look its answer up, and a longer
// cut of the same story shows the story's sampled words, not the greedy
// answer to a shorter one. With a model server instead of the built-in
// engine, a prompt is a story opening chosen by a secret seed.
func (v *Validator) referencePrompts(ctx context.Context, seed uint64, n int) ([]string, error) {
	out := make([]string, 0, n)
	for k := uint64(0); len(out) < n; k++ {
		s := v.secret("reference", seed+k)
		if v.cfg.Exact == nil {
			out = append(out, scoring.StoryPrompt(s))
			continue
		}
		cuts, err := v.referenceCuts(ctx, s)
		if err != nil {
			return nil, err
		}
		if len(cuts) == 0 && k > uint64(n) {
			return nil, errors.New("validator: reference prompts: the model's stories have no words to cut after")
		}
		out = append(out, cuts...)
	}
	rand.New(rand.NewPCG(seed, 0x2ef)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out[:n], nil
}

// referenceCuts samples a story from seed with the validator's own model
// and returns its cuts after each word from half of ReferencePromptTokens
// tokens on.
func (v *Validator) referenceCuts(ctx context.Context, seed uint64) ([]string, error) {
	p := v.cfg.Policy
	opening := scoring.StoryPrompt(seed)
	g, err := v.cfg.Exact.Generate(ctx, opening, llm.GenOptions{MaxTokens: 2 * p.ReferencePromptTokens, Temperature: float32(p.Temperature), TopP: float32(p.TopP), Seed: seed})
	if err != nil {
		return nil, fmt.Errorf("validator: reference prompt: %w", err)
	}
	var cuts []string
	text := opening
	for i, tk := range g.Tokens {
		if i >= p.ReferencePromptTokens/2 && strings.HasPrefix(tk.Text, " ") && !strings.HasSuffix(text, " ") {
			cuts = append(cuts, text)
		}
		text += tk.Text
	}
	return cuts, nil
}

// prefixes are the prompts of one round prefilled once, for every miner's
// answer to them.
type prefixes struct {
	m  *llm.Llama
	mu sync.Mutex
	by map[string]*prefixEntry
}

type prefixEntry struct {
	once sync.Once
	p    *llm.Prefix
	err  error
}

func (ps *prefixes) get(ctx context.Context, prompt string) (*llm.Prefix, error) {
	ps.mu.Lock()
	if ps.by == nil {
		ps.by = map[string]*prefixEntry{}
	}
	e := ps.by[prompt]
	if e == nil {
		e = &prefixEntry{}
		ps.by[prompt] = e
	}
	ps.mu.Unlock()
	e.once.Do(func() { e.p, e.err = ps.m.Prefill(ctx, prompt) })
	return e.p, e.err
}

// errValidatorModel is a verification that failed on the validator's side
// (its own model, or its model server): not the miner's doing.
var errValidatorModel = errors.New("validator: verifying model")

// verify checks that a's tokens are what the declared model's sampler
// draws for prompt with params: exactly with the built-in engine, else
// statistically through the model server. An error is the validator's own
// failure (cancelled, or its model server down), never the miner's.
func (v *Validator) verify(ctx context.Context, prompt string, params scoring.SamplingParams, a answer, ps *prefixes) (scoring.SampleVerdict, error) {
	if len(a.IDs) == 0 {
		return scoring.SampleVerdict{Reason: scoring.SampleNoTokens, Detail: "the answer names no token ids: its backend must return them (return_tokens_as_token_ids)"}, nil
	}
	if v.cfg.Exact != nil {
		return v.verifyExact(ctx, prompt, params, a, ps)
	}
	return v.verifyStat(ctx, prompt, params, a)
}

func (v *Validator) verifyExact(ctx context.Context, prompt string, params scoring.SamplingParams, a answer, ps *prefixes) (scoring.SampleVerdict, error) {
	m := v.cfg.Exact
	// The length first: an answer of a million ids costs one comparison.
	if v, ok := scoring.CheckLength(len(a.IDs), params, a.Finish); !ok {
		return v, nil
	}
	spelled, err := m.Text(prompt, a.IDs)
	if err != nil {
		return scoring.SampleVerdict{Reason: scoring.SampleBadToken, Detail: err.Error()}, nil
	}
	if spelled != a.Text {
		return scoring.TokensMismatch(spelled, a.Text), nil
	}
	prefix, err := ps.get(ctx, prompt)
	if err != nil {
		return scoring.SampleVerdict{}, fmt.Errorf("%w: prefill: %w", errValidatorModel, err)
	}
	r, err := prefix.Replay(ctx, a.IDs, llm.GenOptions{MaxTokens: params.MaxTokens, Temperature: float32(params.Temperature), TopP: float32(params.TopP), Seed: params.Seed})
	if err != nil {
		if ctx.Err() != nil {
			return scoring.SampleVerdict{}, ctx.Err()
		}
		// The ids fit the vocabulary (Text took them): too many for the
		// context, which is the miner's answer's fault.
		return scoring.SampleVerdict{Reason: scoring.SampleTooLong, Detail: err.Error()}, nil
	}
	return scoring.CheckReplay(r, a.IDs, params, a.Finish, v.cfg.Policy.Replay), nil
}

func (v *Validator) verifyStat(ctx context.Context, prompt string, params scoring.SamplingParams, a answer) (scoring.SampleVerdict, error) {
	pol := v.cfg.Policy.Stat
	var positions []int // nil: every one (the server scores them all anyway)
	if n := v.cfg.Policy.StatPositions; n > 0 {
		positions = checkedPositions(v.secret("positions", params.Seed), len(a.IDs), n)
	}
	verdict, err := scoring.VerifySampled(ctx, v.cfg.Stat, prompt, a.Text, a.IDs, params, a.Finish, positions, pol)
	switch {
	case err != nil && ctx.Err() != nil:
		return verdict, ctx.Err()
	case err != nil:
		return verdict, fmt.Errorf("%w: %w", errValidatorModel, err)
	case verdict.Reason == scoring.SampleNoLogprobs:
		// The validator's own server: not the miner's doing.
		return verdict, fmt.Errorf("%w: the verifying server returns no prompt log-probabilities (%s)", errValidatorModel, verdict.Detail)
	}
	return verdict, nil
}

// checkedPositions picks n positions of an answer of length l from seed,
// which the miner cannot know: all of them when l <= n.
func checkedPositions(seed uint64, l, n int) []int {
	pos := rand.New(rand.NewPCG(seed, 0x5eed)).Perm(l)
	pos = pos[:min(n, l)]
	slices.Sort(pos)
	return pos
}
