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

// Judged reports whether the verdict judged what the model would have
// done (the answer was well formed, and the model disagreed), rather than
// finding the answer malformed (no tokens, bad ids, a text they do not
// spell, no finish reason).
func (v SampleVerdict) Judged() bool {
	switch v.Reason {
	case "", SampleNotSampled, SampleGreedy, SampleOutsideNucleus, SampleNotArgmax, SampleSkippedStop, SampleEarlyStop, SampleShort:
		return true
	}
	return false
}

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

// CheckReplay judges an answer of the built-in engine by replaying its
// sampler over the answer's tokens (llm.Prefix.Replay with the request's
// options): every token must be the one the sampler draws at its position
// with the miner's seed, give or take pol.NearTie (at most
// pol.MaxNearTies times); an answer that finished "length" must have
// max_tokens tokens (or have filled the context); one that finished "stop"
// must end where the sampler draws a stop token. Canned text, another
// miner's answer, another seed's sample, greedy output when sampling was
// asked, truncation and paraphrase all fail it, whatever log-probabilities
// they carry.
func CheckReplay(r *llm.Replay, ids []int, p SamplingParams, finish string, pol ReplayPolicy) SampleVerdict {
	if v, ok := CheckLength(len(ids), p, finish); !ok {
		return v
	}
	if len(r.Steps) != len(ids) {
		return failSample(SampleNoTokens, "replayed %d positions of %d tokens", len(r.Steps), len(ids))
	}
	v := SampleVerdict{Checked: len(ids)}
	var sum float64
	for i, st := range r.Steps {
		sum += st.Logprob
		if st.Drawn == ids[i] {
			continue
		}
		if float64(st.Dist) <= pol.NearTie {
			v.NearTies++
			continue
		}
		if st.Drawn == llm.EOSID || st.Drawn == llm.BOSID {
			return failSample(SampleSkippedStop, "token %d: the model stops there, the answer goes on", i)
		}
		return failSample(SampleNotSampled, "token %d is id %d; the sampler draws id %d there with this seed", i, ids[i], st.Drawn)
	}
	v.MeanLogprob = sum / float64(len(ids))
	if finish == llm.FinishStop {
		switch st := r.Stopped; {
		case st == nil:
			return failSample(SampleEarlyStop, "the answer claims a stop after %d of %d tokens, where the context ends", len(ids), p.MaxTokens)
		case st.Drawn == llm.EOSID || st.Drawn == llm.BOSID:
		case float64(st.Dist) <= pol.NearTie:
			v.NearTies++
		default:
			return failSample(SampleEarlyStop, "the answer stops after %d tokens; the sampler draws id %d there", len(ids), st.Drawn)
		}
	} else if r.Stopped != nil {
		// It claims to have run out of tokens, but had room for more.
		return failSample(SampleShort, "%d tokens of %d, and the model does not stop there", len(ids), p.MaxTokens)
	}
	if v.NearTies > pol.MaxNearTies {
		return SampleVerdict{Reason: SampleNotSampled, Checked: v.Checked, NearTies: v.NearTies, MeanLogprob: v.MeanLogprob,
			Detail: fmt.Sprintf("%d tokens only next to the sampler's draw (at most %d allowed)", v.NearTies, pol.MaxNearTies)}
	}
	v.OK = true
	return v
}
