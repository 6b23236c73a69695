package llm

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// A validator that cannot replay a miner's sampler checks its tokens
// statistically: it runs the declared model over prompt + answer and looks
// at the model's distribution at every position (vLLM's prompt_logprobs).
// PromptScorer is what that needs from a model, and both the built-in
// engine (here) and an OpenAI-compatible server (promptlogprobs_http.go)
// provide it.

// PositionLogprobs is a model's next-token distribution at one position of
// a sequence, as vLLM's prompt_logprobs reports it for each prompt token.
type PositionLogprobs struct {
	// Sent is the token that comes next in the sequence, with its
	// log-probability (natural log, temperature 1); ID -1 and Logprob NaN
	// after the sequence's last token.
	Sent TokenLogprob
	// SentRank is Sent's rank among all tokens, 1 for the most likely; 0
	// when unknown or when there is no Sent.
	SentRank int
	// Top are the k most likely tokens, most likely first (ties: lower id
	// first).
	Top []TokenLogprob
}

// PromptScorer is a model that tokenizes text and scores given token ids:
// *Llama, and *OpenAI on a server with vLLM's extensions.
type PromptScorer interface {
	// Tokenize encodes text as a prompt, BOS first when the model has one.
	Tokenize(ctx context.Context, text string) ([]int, error)
	// Detokenize decodes ids (as Tokenize returns them, continued by
	// anything) to text.
	Detokenize(ctx context.Context, ids []int) (string, error)
	// PromptLogprobs runs ids through the model and returns one entry per
	// id: entry i is the distribution of the token after ids[:i+1], with
	// ids[i+1] as its Sent (none for the last), and its k most likely
	// tokens.
	PromptLogprobs(ctx context.Context, ids []int, k int) ([]PositionLogprobs, error)
}

var (
	_ PromptScorer = (*Llama)(nil)
	_ PromptScorer = (*OpenAI)(nil)
)

// ErrBadToken is wrapped by the errors of token ids outside the model's
// vocabulary.
var ErrBadToken = errors.New("token id outside the vocabulary")

// ErrNoLogprobs is wrapped by the error of a server that answered a request
// for prompt log-probabilities without them.
var ErrNoLogprobs = errors.New("no prompt log-probabilities")

// Tokenize is Encode(text, true): BOSID first.
func (m *Llama) Tokenize(_ context.Context, text string) ([]int, error) {
	return m.tok.Encode(text, true)
}

// Detokenize is the tokenizer's Decode, after checking every id is in the
// vocabulary (else an error wrapping ErrBadToken).
func (m *Llama) Detokenize(_ context.Context, ids []int) (string, error) {
	if err := m.checkIDs(ids); err != nil {
		return "", err
	}
	return m.tok.Decode(ids), nil
}

func (m *Llama) checkIDs(ids []int) error {
	for i, id := range ids {
		if id < 0 || id >= m.cfg.VocabSize {
			return fmt.Errorf("llm: token %d is id %d, outside the vocabulary of %d: %w", i, id, m.cfg.VocabSize, ErrBadToken)
		}
	}
	return nil
}

// PromptLogprobs implements PromptScorer: a batched forward pass over the
// ids, on the calling goroutine. Log-probabilities are computed as
// TokenLogprob.Logprob is (Generate's and Score's, bit for bit). k is
// clamped to the vocabulary; 0 gives no Top. Ids must fit the context
// (at most SeqLen) and the vocabulary (else ErrBadToken). Safe for
// concurrent use.
func (m *Llama) PromptLogprobs(ctx context.Context, ids []int, k int) ([]PositionLogprobs, error) {
	if len(ids) == 0 {
		return nil, errors.New("llm: prompt log-probabilities of no tokens")
	}
	if len(ids) > m.cfg.SeqLen {
		return nil, fmt.Errorf("llm: %d tokens; the model's context is %d", len(ids), m.cfg.SeqLen)
	}
	if err := m.checkIDs(ids); err != nil {
		return nil, err
	}
	k = min(max(k, 0), m.cfg.VocabSize)
	const batch = 64
	s := m.newState(batch)
	vocab := m.cfg.VocabSize
	out := make([]PositionLogprobs, len(ids))
	for pos := 0; pos < len(ids); pos += batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		chunk := ids[pos:min(pos+batch, len(ids))]
		m.forwardBatch(s, chunk, pos, 0)
		for t, id := range chunk {
			next := -1
			if pos+t+1 < len(ids) {
				next = ids[pos+t+1]
			}
			out[pos+t] = m.positionLogprobs(s.logits[t*vocab:(t+1)*vocab], id, next, k)
		}
	}
	return out, nil
}

// positionLogprobs is the distribution logits gives the token after prev:
// next's log-probability and rank, and the k most likely tokens.
func (m *Llama) positionLogprobs(logits []float32, prev, next, k int) PositionLogprobs {
	// As logprob does, so that every value matches it bit for bit.
	maxv, logSum := logNorm(logits)
	lp := func(id int) float64 { return float64(logits[id]) - maxv - logSum }

	p := PositionLogprobs{Sent: TokenLogprob{ID: -1, Logprob: math.NaN()}}
	if next >= 0 {
		p.Sent = TokenLogprob{ID: next, Text: m.tok.Piece(prev, next), Logprob: lp(next)}
		p.SentRank = 1
		for _, v := range logits {
			if v > logits[next] {
				p.SentRank++
			}
		}
	}
	if k == 0 {
		return p
	}
	// The k best ids by insertion: higher logit first, lower id on ties
	// (ids arrive in order, so a later equal logit goes after).
	top := make([]int, 0, k)
	for id, v := range logits {
		if len(top) == k && v <= logits[top[k-1]] {
			continue
		}
		at := len(top)
		for at > 0 && v > logits[top[at-1]] {
			at--
		}
		if len(top) < k {
			top = append(top, 0)
		}
		copy(top[at+1:], top[at:len(top)-1])
		top[at] = id
	}
	p.Top = make([]TokenLogprob, len(top))
	for i, id := range top {
		p.Top[i] = TokenLogprob{ID: id, Text: m.tok.Piece(prev, id), Logprob: lp(id)}
	}
	return p
}
