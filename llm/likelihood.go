package llm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
)

// Continuation returns token ids that spell text exactly when they follow
// prompt, as the model decodes them (Text). The tokenizer's dummy prefix
// puts a space before what it encodes, so a text that starts with one is
// encoded without it, and a lone leading space is dropped.
func (m *Llama) Continuation(prompt, text string) ([]int, error) {
	try := func(s string, drop int) ([]int, bool) {
		ids, err := m.tok.Encode(s, false)
		if err != nil || len(ids) < drop {
			return nil, false
		}
		ids = ids[drop:]
		got, err := m.Text(prompt, ids)
		return ids, err == nil && got == text
	}
	if ids, ok := try(text, 0); ok {
		return ids, nil
	}
	if rest, ok := strings.CutPrefix(text, " "); ok {
		if ids, ok := try(rest, 0); ok {
			return ids, nil
		}
	}
	if ids, ok := try(text, 1); ok {
		return ids, nil
	}
	if _, err := m.tok.Encode(text, false); err != nil {
		return nil, fmt.Errorf("llm: encode the continuation: %w", err)
	}
	return nil, fmt.Errorf("llm: no token ids spell %q after the prompt", text)
}

// MeanLogprob is the model's mean log-probability per token of text
// following prompt (temperature 1; see Score), over the tokens that fit in
// the context after the prompt: how natural the model finds text as an
// answer, a quality signal that does not grow with length. Empty text, or
// a prompt that leaves no room, is an error. Safe for concurrent use.
func (m *Llama) MeanLogprob(ctx context.Context, prompt, text string) (float64, error) {
	ids, err := m.Continuation(prompt, text)
	if err != nil {
		return 0, err
	}
	head, err := m.tok.Encode(prompt, true)
	if err != nil {
		return 0, err
	}
	ids = ids[:max(0, min(len(ids), m.cfg.SeqLen+1-len(head)))]
	if len(ids) == 0 {
		return 0, errors.New("llm: mean log-probability: no tokens of the text (or none that fit after the prompt)")
	}
	lps, err := m.Score(ctx, prompt, ids)
	if err != nil {
		return 0, err
	}
	var sum float64
	for _, lp := range lps {
		sum += lp
	}
	return sum / float64(len(lps)), nil
}

// AnswerQuality is MeanLogprob as a plain quality function of an answer to
// a prompt, higher being better, as a simulated careful labeler takes it
// (rlhf.QualityPolicy): −Inf when MeanLogprob fails. It is not
// cancellable; a call costs one forward pass over prompt and answer.
func (m *Llama) AnswerQuality(prompt, answer string) float64 {
	lp, err := m.MeanLogprob(context.Background(), prompt, answer)
	if err != nil {
		return math.Inf(-1)
	}
	return lp
}
