package llm

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
)

// GenOptions control one Generate call.
type GenOptions struct {
	// MaxTokens bounds the generated tokens; 0 or less means until the
	// context (SeqLen, prompt included) is full or the model stops.
	MaxTokens int
	// Temperature 0 (or less) is greedy decoding: the highest logit, the
	// lowest id on ties. Above 0 the logits are divided by it before
	// sampling.
	Temperature float32
	// TopP in (0, 1) samples from the smallest set of most likely tokens
	// whose probabilities add up to more than TopP (nucleus sampling, as
	// run.c); 0 or ≥ 1 samples from the whole distribution.
	TopP float32
	// Seed seeds the sampler: generated token i is drawn with the coin
	// SampleCoin(Seed, i), so one seed, prompt and options always give the
	// same tokens, and any position can be redrawn on its own.
	Seed uint64
}

// TokenLogprob is one generated token.
type TokenLogprob struct {
	ID   int    `json:"id"`
	Text string `json:"text"` // as decoded after the previous token; "" for BOS and EOS
	// Logprob is the natural log of the token's probability under the
	// model at temperature 1 (log-softmax of the raw logits, accumulated in
	// float64 in id order), whatever temperature sampled it, so a verifier
	// can recompute it with Score.
	Logprob float64 `json:"logprob"`
}

// Finish reasons of a Generation.
const (
	FinishStop   = "stop"   // the model emitted BOSID or EOSID
	FinishLength = "length" // MaxTokens or the context length was reached
)

// Generation is the result of Generate.
type Generation struct {
	// Text is the completion: the generated tokens' text, without the
	// prompt.
	Text string `json:"text"`
	// Tokens are the generated tokens in order. When FinishReason is
	// "stop", the last one is the stop token (with empty text), so its
	// probability can be verified too.
	Tokens []TokenLogprob `json:"tokens"`
	// PromptTokens are the encoded prompt, BOSID first.
	PromptTokens []int  `json:"prompt_tokens"`
	FinishReason string `json:"finish_reason"`
}

// Generate continues prompt, which is encoded with BOSID first. It checks
// ctx between tokens and returns ctx's error, with the tokens so far in
// the Generation, when ctx ends. A prompt the tokenizer cannot encode is an
// *UnencodableError; a prompt that fills the context is an error. Safe for
// concurrent use.
func (m *Llama) Generate(ctx context.Context, prompt string, opts GenOptions) (*Generation, error) {
	return m.GenerateStream(ctx, prompt, opts, nil)
}

// GenerateStream is Generate that also hands each token to fn as soon as it
// is sampled (the stop token too, with empty text), on the calling
// goroutine. An error from fn ends the generation and is returned with the
// tokens so far. fn may be nil.
func (m *Llama) GenerateStream(ctx context.Context, prompt string, opts GenOptions, fn StreamFunc) (*Generation, error) {
	ids, err := m.tok.Encode(prompt, true)
	if err != nil {
		return nil, err
	}
	seqLen := m.cfg.SeqLen
	if len(ids) >= seqLen {
		return nil, fmt.Errorf("llm: prompt is %d tokens; the model's context is %d tokens, so it leaves no room to generate", len(ids), seqLen)
	}
	limit := seqLen - len(ids)
	if opts.MaxTokens > 0 && opts.MaxTokens < limit {
		limit = opts.MaxTokens
	}
	g := &Generation{PromptTokens: ids, Tokens: make([]TokenLogprob, 0, limit), FinishReason: FinishLength}
	// The prompt is known: it runs in batches, as Prefill does.
	s := m.newState(min(len(ids), batchTokens))
	logits, err := m.prefill(ctx, s, ids)
	if err != nil {
		return g, err
	}
	token, pos := ids[len(ids)-1], len(ids)
	var text strings.Builder
	for i := range limit {
		if i > 0 {
			if err := ctx.Err(); err != nil {
				g.Text = text.String()
				return g, err
			}
			m.forward(s, token, pos)
			logits = s.logits[:m.cfg.VocabSize]
			pos++
		}
		next := m.sample(s, logits, opts, SampleCoin(opts.Seed, i))
		piece := m.tok.Piece(token, next)
		stop := next == BOSID || next == EOSID
		g.Tokens = append(g.Tokens, TokenLogprob{ID: next, Text: piece, Logprob: logprob(logits, next)})
		if fn != nil {
			if err := fn(piece, g.Tokens[len(g.Tokens)-1:]); err != nil {
				g.Text = text.String()
				return g, err
			}
		}
		if stop {
			g.FinishReason = FinishStop
			break
		}
		text.WriteString(piece)
		token = next
	}
	g.Text = text.String()
	return g, nil
}

// Score returns the log-probability (as in TokenLogprob.Logprob) of each
// token of continuation following prompt, encoded as Generate encodes it:
// for the ids of a Generation, it gives back the same log-probabilities,
// bit for bit. Safe for concurrent use.
func (m *Llama) Score(ctx context.Context, prompt string, continuation []int) ([]float64, error) {
	ids, err := m.tok.Encode(prompt, true)
	if err != nil {
		return nil, err
	}
	if n := len(ids) + len(continuation) - 1; n > m.cfg.SeqLen {
		return nil, fmt.Errorf("llm: prompt and continuation are %d positions; the model's context is %d", n, m.cfg.SeqLen)
	}
	for i, id := range continuation {
		if id < 0 || id >= m.cfg.VocabSize {
			return nil, fmt.Errorf("llm: continuation token %d is id %d, outside the vocabulary of %d", i, id, m.cfg.VocabSize)
		}
	}
	s := m.newState(min(max(len(ids), len(continuation)), batchTokens))
	first, err := m.prefill(ctx, s, ids)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(continuation))
	err = m.answerLogits(ctx, s, first, len(ids), continuation, false, func(i int, logits []float32) {
		out[i] = logprob(logits, continuation[i])
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// MeanLogprob is the mean log-probability per token of text following
// prompt (text encoded without a BOS, cut to what fits in the context
// after the prompt): how natural the model finds text as an answer, a
// quality signal that does not grow with length. Text the tokenizer cannot
// encode is an *UnencodableError; empty text, or a prompt that leaves no
// room, is an error. Safe for concurrent use.
func (m *Llama) MeanLogprob(ctx context.Context, prompt, text string) (float64, error) {
	ids, err := m.tok.Encode(text, false)
	if err != nil {
		return 0, err
	}
	head, err := m.tok.Encode(prompt, true)
	if err != nil {
		return 0, err
	}
	ids = ids[:max(0, min(len(ids), m.cfg.SeqLen+1-len(head)))]
	if len(ids) == 0 {
		return 0, fmt.Errorf("llm: mean log-probability: no tokens of the text fit after the prompt")
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

// logprob is log softmax(logits)[id] in float64, summing in id order.
func logprob(logits []float32, id int) float64 {
	maxv, logSum := logNorm(logits)
	return float64(logits[id]) - maxv - logSum
}

// logNorm is the maximum of logits and the log of the sum of
// exp(logit - maximum), summed in id order: log softmax(logits)[id] is
// float64(logits[id]) - maxv - logSum, computed in that order so that
// every caller gets the same bits.
func logNorm(logits []float32) (maxv, logSum float64) {
	maxv = float64(logits[0])
	for _, v := range logits[1:] {
		maxv = max(maxv, float64(v))
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - maxv)
	}
	return maxv, math.Log(sum)
}

// SampleCoin is the sampler's coin for generated token i (0-based within
// the answer) under seed: a float32 in [0, 1), a multiple of 2^-24, made of
// integer arithmetic only, so every machine gets the same coin. It is
// SplitMix64's output i for the state seed: the top 24 bits of
// mix(seed + (i+1)·0x9e3779b97f4a7c15), divided by 2^24.
func SampleCoin(seed uint64, i int) float32 {
	z := seed + uint64(i+1)*0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	return float32(z>>40) / (1 << 24)
}

// sample is the token run.c's sampler draws from logits with coin: the
// highest logit (lowest id on ties) at temperature 0, else the token whose
// interval of the sampler's CDF (walk) holds the coin. It does not change
// logits.
func (m *Llama) sample(s *runState, logits []float32, opts GenOptions, coin float32) int {
	if opts.Temperature <= 0 {
		return argmax(logits)
	}
	cands, scale := m.support(s, logits, opts)
	k, _, _ := walk(cands, coin*scale, -1)
	return cands[k].id
}

// argmax is the index of the highest value, the lowest on ties.
func argmax(logits []float32) int {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	return best
}

// support returns the tokens the sampler can draw from logits at
// opts.Temperature (> 0), in the order its CDF walks them, with their
// probabilities, and the scale of the walk: the coin is multiplied by it
// first. Without a nucleus that is every token in id order, scale 1. With
// TopP in (0, 1) it is the nucleus as run.c cuts it: the tokens that can be
// in it (probability at least (1-TopP)/(vocab-1)), sorted by probability
// (ties by id, so the order is fixed), up to and including the one after
// which the cumulative probability exceeds TopP; the scale is that
// cumulative probability. The result lives in s until the next call.
func (m *Llama) support(s *runState, logits []float32, opts GenOptions) (cands []candidate, scale float32) {
	probs := s.probs
	for i, v := range logits {
		probs[i] = v / opts.Temperature
	}
	softmax(probs)
	cands = s.candidates[:0]
	if opts.TopP <= 0 || opts.TopP >= 1 {
		for i, p := range probs {
			cands = append(cands, candidate{i, p})
		}
		return cands, 1
	}
	cutoff := (1 - opts.TopP) / float32(len(probs)-1)
	for i, p := range probs {
		if p >= cutoff {
			cands = append(cands, candidate{i, p})
		}
	}
	if len(cands) == 0 { // only when the distribution is nearly uniform
		for i, p := range probs {
			cands = append(cands, candidate{i, p})
		}
	}
	slices.SortFunc(cands, byLikelihood)
	var cum float32
	last := len(cands) - 1
	for i, c := range cands {
		cum += c.p
		if cum > opts.TopP {
			last = i
			break
		}
	}
	return cands[:last+1], cum
}

// byLikelihood orders candidates by descending probability, then by id.
func byLikelihood(a, b candidate) int {
	if c := cmp.Compare(b.p, a.p); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// walk is the sampler's draw over its CDF: with r the scaled coin, it
// returns the index in cands of the first token whose cumulative
// probability (summed in float32 in cands' order) exceeds r, or of the last
// token when none does (the sum can fall short of the scale). With want >= 0
// it also returns the range [lo, hi) of r for which it draws cands[want]
// (hi is +Inf for the last token): it draws cands[want] exactly when
// lo <= r < hi.
func walk(cands []candidate, r float32, want int) (drawn int, lo, hi float32) {
	drawn = -1
	var cdf float32
	for k, c := range cands {
		prev := cdf
		cdf += c.p
		if k == want {
			lo, hi = prev, cdf
		}
		if drawn < 0 && r < cdf {
			drawn = k
		}
		if drawn >= 0 && k >= want {
			break
		}
	}
	last := len(cands) - 1
	if drawn < 0 {
		drawn = last
	}
	if want == last {
		hi = float32(math.Inf(1))
	}
	return drawn, lo, hi
}

// Text is the text that ids spell when they continue prompt, decoded as
// Generate decodes its tokens (so for a Generation's ids it is its Text).
// Ids outside the vocabulary are an error. With Score, it makes *Llama a
// model a validator can check a miner's tokens against.
func (m *Llama) Text(prompt string, ids []int) (string, error) {
	pids, err := m.tok.Encode(prompt, true)
	if err != nil {
		return "", err
	}
	prev := pids[len(pids)-1]
	var b strings.Builder
	for i, id := range ids {
		if id < 0 || id >= m.cfg.VocabSize {
			return "", fmt.Errorf("llm: token %d is id %d, outside the vocabulary of %d", i, id, m.cfg.VocabSize)
		}
		b.WriteString(m.tok.Piece(prev, id))
		prev = id
	}
	return b.String(), nil
}
