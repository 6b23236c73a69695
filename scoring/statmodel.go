package scoring

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/seed0ffb8d46/agora/llm"
)

// TokenModel is a model the validator runs to check a miner's tokens
// statistically (CheckSampled): the declared model on a server with prompt
// log-probabilities (vLLM), or the built-in engine.
type TokenModel interface {
	// TopK is the model's distribution at each of ids' positions when
	// they continue prompt (steps[i]: Sent = ids[i], its log-probability
	// and the k most likely), and after them (after.Sent = -1). Ids
	// outside the vocabulary give an error wrapping llm.ErrBadToken; a
	// server without prompt log-probabilities one wrapping
	// llm.ErrNoLogprobs.
	TopK(ctx context.Context, prompt string, ids []int, k int) (steps []TopK, after TopK, err error)
	// Text is the text ids spell when they continue prompt.
	Text(ctx context.Context, prompt string, ids []int) (string, error)
	// StopTokens are the ids at which the model's generation ends.
	StopTokens() []int
}

// errTextSplit is a detokenized prompt + answer that does not begin with
// the detokenized prompt: the answer's ids change how the prompt reads.
var errTextSplit = errors.New("the answer's ids change the prompt's text")

// LogprobModel is a TokenModel over an llm.PromptScorer: *llm.OpenAI on a
// vLLM server (see NewLogprobModel) or *llm.Llama (LlamaLogprobModel). It
// remembers the encoding of the last prompts it saw, since a validator
// checks many answers to one prompt. Safe for concurrent use.
type LogprobModel struct {
	src  llm.PromptScorer
	stop []int

	mu      sync.Mutex
	prompts map[string]encodedPrompt
}

type encodedPrompt struct {
	ids  []int
	text string // the ids detokenized
}

// maxPrompts bounds LogprobModel's memory of prompts.
const maxPrompts = 256

// NewLogprobModel is a TokenModel over src whose generation stops at the
// stop ids (the tokenizer's eos_token_id, and any other id in the model's
// generation_config.json eos_token_id; the built-in engine's are llm.BOSID
// and llm.EOSID). A server does not say which they are, so they are
// required.
func NewLogprobModel(src llm.PromptScorer, stop []int) (*LogprobModel, error) {
	if src == nil {
		return nil, errors.New("scoring: logprob model: no model")
	}
	if len(stop) == 0 {
		return nil, errors.New("scoring: logprob model: no stop token ids (the tokenizer's eos_token_id)")
	}
	for _, id := range stop {
		if id < 0 {
			return nil, fmt.Errorf("scoring: logprob model: stop token id %d", id)
		}
	}
	return &LogprobModel{src: src, stop: slices.Clone(stop), prompts: map[string]encodedPrompt{}}, nil
}

// LlamaLogprobModel is the TokenModel of the built-in engine, which stops at
// llm.BOSID and llm.EOSID.
func LlamaLogprobModel(m *llm.Llama) *LogprobModel {
	lm, err := NewLogprobModel(m, []int{llm.BOSID, llm.EOSID})
	if err != nil {
		panic(err) // unreachable: the arguments are valid
	}
	return lm
}

// StopTokens implements TokenModel.
func (lm *LogprobModel) StopTokens() []int { return slices.Clone(lm.stop) }

// prompt is the encoding of prompt, from memory or from the model.
func (lm *LogprobModel) prompt(ctx context.Context, prompt string) (encodedPrompt, error) {
	lm.mu.Lock()
	e, ok := lm.prompts[prompt]
	lm.mu.Unlock()
	if ok {
		return e, nil
	}
	ids, err := lm.src.Tokenize(ctx, prompt)
	if err != nil {
		return e, fmt.Errorf("scoring: tokenizing the prompt: %w", err)
	}
	if len(ids) == 0 {
		return e, errors.New("scoring: tokenizing the prompt: no tokens (and no BOS)")
	}
	text, err := lm.src.Detokenize(ctx, ids)
	if err != nil {
		return e, fmt.Errorf("scoring: detokenizing the prompt: %w", err)
	}
	e = encodedPrompt{ids: ids, text: text}
	lm.mu.Lock()
	if len(lm.prompts) >= maxPrompts {
		clear(lm.prompts)
	}
	lm.prompts[prompt] = e
	lm.mu.Unlock()
	return e, nil
}

// Text implements TokenModel: prompt and ids detokenized together, less
// the prompt's own text, as a server's incremental detokenizer writes an
// answer.
func (lm *LogprobModel) Text(ctx context.Context, prompt string, ids []int) (string, error) {
	e, err := lm.prompt(ctx, prompt)
	if err != nil {
		return "", err
	}
	full, err := lm.src.Detokenize(ctx, slices.Concat(e.ids, ids))
	if err != nil {
		return "", fmt.Errorf("scoring: detokenizing the answer: %w", err)
	}
	rest, ok := strings.CutPrefix(full, e.text)
	if !ok {
		return "", fmt.Errorf("scoring: detokenizing the answer: %w", errTextSplit)
	}
	return rest, nil
}

// TopK implements TokenModel with one PromptLogprobs call over prompt +
// ids.
func (lm *LogprobModel) TopK(ctx context.Context, prompt string, ids []int, k int) ([]TopK, TopK, error) {
	e, err := lm.prompt(ctx, prompt)
	if err != nil {
		return nil, TopK{}, err
	}
	seq := slices.Concat(e.ids, ids)
	pl, err := lm.src.PromptLogprobs(ctx, seq, k)
	if err != nil {
		return nil, TopK{}, fmt.Errorf("scoring: prompt log-probabilities: %w", err)
	}
	if len(pl) != len(seq) {
		return nil, TopK{}, fmt.Errorf("scoring: prompt log-probabilities: %d positions for %d tokens", len(pl), len(seq))
	}
	steps := make([]TopK, len(ids))
	for i := range ids {
		p := pl[len(e.ids)-1+i]
		if p.Sent.ID != ids[i] {
			return nil, TopK{}, fmt.Errorf("scoring: prompt log-probabilities: position %d scores id %d, the answer has %d", i, p.Sent.ID, ids[i])
		}
		steps[i] = TopK{Sent: ids[i], SentLogprob: p.Sent.Logprob, Top: p.Top}
	}
	last := pl[len(pl)-1]
	return steps, TopK{Sent: -1, SentLogprob: last.Sent.Logprob, Top: last.Top}, nil
}

// VerifySampled checks an answer (its text, its token ids and why it
// finished; a final stop token in ids is dropped) statistically against
// m: the ids must spell the text, then
// CheckSampled judges m's distributions over them with m's stop tokens,
// asking m for pol.K tokens per position. Whatever the miner's answer is
// to blame for is a verdict: ids outside the vocabulary "bad_token", ids
// that spell another text "tokens_mismatch" or, when the validator's
// tokenizer cuts the text into as many tokens with other ids (another
// tokenizer's numbering), "tokenizer_mismatch"; a model server that
// returns no prompt log-probabilities gives "no_logprobs". An error is
// the validator's own failure (its model server down or failing, or ctx
// done), never the miner's.
func VerifySampled(ctx context.Context, m TokenModel, prompt, text string, ids []int, p SamplingParams, finish string, positions []int, pol StatPolicy) (SampleVerdict, error) {
	stop := m.StopTokens()
	if finish == llm.FinishStop && len(ids) > 0 && slices.Contains(stop, ids[len(ids)-1]) {
		ids = ids[:len(ids)-1] // the stop token, which vLLM and the built-in engine report
	}
	if v, ok := checkStatLength(len(ids), p, finish); !ok {
		return v, nil
	}
	spelled, err := m.Text(ctx, prompt, ids)
	if v, ok := verdictOf(err); ok {
		return v, nil
	}
	if err != nil {
		return SampleVerdict{}, fmt.Errorf("scoring: verify sampled: %w", err)
	}
	if spelled != text {
		return textMismatch(ctx, m, prompt, text, spelled, ids), nil
	}
	steps, after, err := m.TopK(ctx, prompt, ids, pol.K)
	if v, ok := verdictOf(err); ok {
		return v, nil
	}
	if err != nil {
		return SampleVerdict{}, fmt.Errorf("scoring: verify sampled: %w", err)
	}
	return CheckSampled(steps, after, stop, p, finish, positions, pol), nil
}

// verdictOf is the verdict an error from a TokenModel is, when it is the
// miner's answer's doing or the model's lack of log-probabilities.
func verdictOf(err error) (SampleVerdict, bool) {
	switch {
	case err == nil:
		return SampleVerdict{}, false
	case errors.Is(err, llm.ErrBadToken):
		return failSample(SampleBadToken, "%v", err), true
	case errors.Is(err, llm.ErrNoLogprobs):
		return failSample(SampleNoLogprobs, "%v", err), true
	case errors.Is(err, errTextSplit):
		return failSample(SampleTokenizerMismatch, "%v", err), true
	}
	return SampleVerdict{}, false
}

// textMismatch is the verdict on ids that spell spelled rather than text:
// "tokenizer_mismatch" when the validator's tokenizer cuts text into as
// many tokens as ids, with other ids (the miner's backend numbers the
// pieces another way), else "tokens_mismatch".
func textMismatch(ctx context.Context, m TokenModel, prompt, text, spelled string, ids []int) SampleVerdict {
	reason := SampleTokensMismatch
	if tk, ok := m.(*LogprobModel); ok {
		if own, err := tk.answerIDs(ctx, prompt, text); err == nil && len(own) == len(ids) && !slices.Equal(own, ids) {
			reason = SampleTokenizerMismatch
		}
	}
	return spellingMismatch(reason, spelled, text)
}

// TokensMismatch is the verdict on an answer whose token ids spell
// spelled, not its text: the exact path's, as the statistical path's.
func TokensMismatch(spelled, text string) SampleVerdict {
	return spellingMismatch(SampleTokensMismatch, spelled, text)
}

func spellingMismatch(reason, spelled, text string) SampleVerdict {
	return failSample(reason, "the token ids spell %q, the text is %q", clipText(spelled, 40), clipText(text, 40))
}

// answerIDs is how the model's tokenizer encodes text after prompt: the
// encoding of prompt + text less the prompt's, when it begins with it.
func (lm *LogprobModel) answerIDs(ctx context.Context, prompt, text string) ([]int, error) {
	e, err := lm.prompt(ctx, prompt)
	if err != nil {
		return nil, err
	}
	all, err := lm.src.Tokenize(ctx, prompt+text)
	if err != nil {
		return nil, err
	}
	if len(all) < len(e.ids) || !slices.Equal(all[:len(e.ids)], e.ids) {
		return nil, errTextSplit
	}
	return all[len(e.ids):], nil
}

// clipText shortens s to n runes for a verdict's detail.
func clipText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
