package scoring

import (
	"fmt"

	"github.com/seed0ffb8d46/agora/llm"
)

// SamplingParams are the sampling a validator asked of a miner.
type SamplingParams struct {
	// Temperature 0 is greedy decoding.
	Temperature float64
	// TopP in (0, 1) samples from the nucleus; 0 or 1 from everything.
	TopP float64
	// Seed is the miner's own seed for this task.
	Seed uint64
	// MaxTokens is the most tokens the answer may have.
	MaxTokens int
}

// SampleVerdict is the outcome of a sampling verification: whether the
// answer is what the declared model's sampler draws, given the request.
type SampleVerdict struct {
	OK bool
	// Reason is "" when OK, else a stable code: not_sampled, greedy,
	// outside_nucleus, not_argmax, skipped_stop, early_stop, short,
	// too_long, no_tokens, bad_token, tokens_mismatch, no_logprobs,
	// tokenizer_mismatch, bad_finish.
	Reason string
	// Checked is how many positions were checked; NearTies how many of
	// them were accepted within the near-tie allowance.
	Checked, NearTies int
	// MeanLogprob is the declared model's mean log-probability per token
	// of the answer (natural log, temperature 1): a feature of p(useful).
	MeanLogprob float64
	// Detail says where and what, for logs and /scores.
	Detail string
}

// Sample verdict reasons.
const (
	SampleNotSampled        = "not_sampled"
	SampleGreedy            = "greedy"
	SampleOutsideNucleus    = "outside_nucleus"
	SampleNotArgmax         = "not_argmax"
	SampleSkippedStop       = "skipped_stop"
	SampleEarlyStop         = "early_stop"
	SampleShort             = "short"
	SampleTooLong           = "too_long"
	SampleNoTokens          = "no_tokens"
	SampleBadToken          = "bad_token"
	SampleTokensMismatch    = "tokens_mismatch"
	SampleNoLogprobs        = "no_logprobs"
	SampleTokenizerMismatch = "tokenizer_mismatch"
	SampleBadFinish         = "bad_finish"
)

func failSample(reason, format string, args ...any) SampleVerdict {
	return SampleVerdict{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// CheckLength is the length rule shared by both verifications: an answer
// has at least one token and at most max_tokens, and says why it ended
// ("length" or "stop"). Whether the model really ended it there is the
// sampler's check.
func CheckLength(n int, p SamplingParams, finish string) (SampleVerdict, bool) {
	switch {
	case n == 0:
		return failSample(SampleNoTokens, "the answer has no tokens"), false
	case p.MaxTokens > 0 && n > p.MaxTokens:
		return failSample(SampleTooLong, "%d tokens, %d asked at most", n, p.MaxTokens), false
	case finish != llm.FinishLength && finish != llm.FinishStop:
		return failSample(SampleBadFinish, "finish reason %q is neither %q nor %q", finish, llm.FinishLength, llm.FinishStop), false
	}
	return SampleVerdict{}, true
}
