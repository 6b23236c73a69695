package scoring

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// TokenModel is a model a validator runs itself to check a miner's tokens:
// the built-in engine, or any backend that can score given tokens.
type TokenModel interface {
	// Score returns log p(ids[i] | prompt, ids[:i]) for each i, natural log,
	// at temperature 1.
	Score(ctx context.Context, prompt string, ids []int) ([]float64, error)
	// Text is the text that ids spell when they continue prompt.
	Text(prompt string, ids []int) (string, error)
}

// VerifyOptions tune VerifyTokens.
type VerifyOptions struct {
	// Positions is how many token positions are checked, sampled without
	// replacement (all when the output is shorter); default 16.
	Positions int
	// Tolerance is the largest difference between the claimed and the
	// recomputed log-probability that counts as agreement. The built-in
	// engine is bit-exact, so 1e-6 (the default) is plenty; GPU servers
	// differ in kernels and batch order, and want about 0.05.
	Tolerance float64
	// MinAgreement is the fraction of checked positions that must agree;
	// default 0.9.
	MinAgreement float64
}

func (o VerifyOptions) withDefaults() VerifyOptions {
	if o.Positions <= 0 {
		o.Positions = 16
	}
	if o.Tolerance <= 0 {
		o.Tolerance = 1e-6
	}
	if o.MinAgreement <= 0 {
		o.MinAgreement = 0.9
	}
	return o
}

// VerifyResult is the outcome of VerifyTokens.
type VerifyResult struct {
	// Passed is true when the text matches the tokens and enough sampled
	// positions agree.
	Passed bool
	// Agreement is the fraction of checked positions that agree, in [0, 1].
	Agreement float64
	Checked   int
	// Reason says why it failed ("" when it passed): text_mismatch,
	// no_tokens, bad_token, logprob_mismatch.
	Reason string
}

// VerifyTokens checks a miner's claim that model produced ids, with the
// log-probabilities logprobs, as the continuation text of prompt: the
// tokens must spell text, and at sampled positions (chosen by seed, which
// the miner cannot know in advance) the validator's own model must give the
// same log-probabilities. A miner answering with another model, or making
// tokens up, fails. Errors are the validator's model failing, not the
// miner's.
func VerifyTokens(ctx context.Context, m TokenModel, prompt, text string, ids []int, logprobs []float64, seed uint64, opts VerifyOptions) (VerifyResult, error) {
	opts = opts.withDefaults()
	if len(ids) == 0 || len(ids) != len(logprobs) {
		return VerifyResult{Reason: "no_tokens"}, nil
	}
	for _, lp := range logprobs {
		if math.IsNaN(lp) || lp > 0 {
			return VerifyResult{Reason: "bad_token"}, nil
		}
	}
	spelled, err := m.Text(prompt, ids)
	if err != nil {
		return VerifyResult{Reason: "bad_token"}, nil //nolint:nilerr // the miner's tokens are out of the vocabulary
	}
	if spelled != text {
		return VerifyResult{Reason: "text_mismatch"}, nil
	}
	// Positions to check, and the prefix to score up to the last of them.
	pos := rand.New(rand.NewPCG(seed, 0x5eed)).Perm(len(ids))
	pos = pos[:min(opts.Positions, len(ids))]
	slices.Sort(pos)
	got, err := m.Score(ctx, prompt, ids[:pos[len(pos)-1]+1])
	if err != nil {
		return VerifyResult{}, fmt.Errorf("scoring: verify: %w", err)
	}
	agree := 0
	for _, p := range pos {
		if math.Abs(got[p]-logprobs[p]) <= opts.Tolerance {
			agree++
		}
	}
	r := VerifyResult{Checked: len(pos), Agreement: float64(agree) / float64(len(pos))}
	r.Passed = r.Agreement >= opts.MinAgreement
	if !r.Passed {
		r.Reason = "logprob_mismatch"
	}
	return r, nil
}
