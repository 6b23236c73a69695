package llm

import (
	"context"
	"fmt"
	"math"
)

// ReplayStep is the sampler's decision at one position of an answer,
// recomputed from the tokens before it.
type ReplayStep struct {
	// Drawn is the token the sampler draws here, given the prompt, the
	// answer's tokens before this position, the seed, temperature and
	// top_p: what Generate would have produced.
	Drawn int
	// Dist is how far the sent token is from being drawn. When sampling,
	// it is the distance, in coin units (0 to 1), from the coin to the sent
	// token's interval of the sampler's CDF; for a token outside the
	// nucleus, to where its interval would be if the CDF went on past the
	// nucleus in the same order. At temperature 0 it is the logit gap
	// between the argmax and the sent token. It is 0 when the sent token is
	// the drawn one (and, for a tie or a coin exactly on a boundary, may be
	// 0 otherwise): a verifier can allow honest float differences across
	// machines by accepting small distances and counting them.
	Dist float32
	// Logprob is the sent token's log-probability at temperature 1, as
	// TokenLogprob.Logprob (for the stop position, EOSID's).
	Logprob float64
}

// Replay is an answer's tokens checked against the sampler, position by
// position.
type Replay struct {
	// Steps are the answer's positions in order, one per token sent.
	Steps []ReplayStep
	// Stopped is the position after the answer, where the sent token is
	// taken to be "stop" (EOSID or BOSID, whichever is nearer): Drawn is
	// what the sampler draws there (a stop token when the model ends the
	// answer there), Dist the distance to the nearer stop token's
	// interval, Logprob EOSID's log-probability. It is nil when the answer
	// could not go on there: it has at least MaxTokens tokens (MaxTokens >
	// 0), it fills the context, or its last token is itself a stop token
	// (then its last step is the stop).
	Stopped *ReplayStep
	// PromptTokens is the encoded prompt's length, BOSID included.
	PromptTokens int
}

// stopIDs are the tokens that end a generation, EOSID first: the stop
// position's log-probability is EOSID's.
var stopIDs = []int{EOSID, BOSID}

// Prefix is a prompt run through the model once: its KV cache and the
// logits for the first answer token. It is read-only after Prefill, so any
// number of Replay calls may use one Prefix at the same time; each copies
// the cache into its own state. Memory: 2 × layers × prompt tokens × kv
// width float32 (about 120 KB for a 48-token prompt on the demo model).
type Prefix struct {
	m            *Llama
	ids          []int
	keys, values []float32 // layer × len(ids) × kvDim
	logits       []float32 // vocab: the next-token logits after the prompt
}

// Prefill runs prompt, encoded as Generate encodes it (BOSID first),
// through the model and keeps its KV cache, so that every answer to the
// prompt can be replayed without running the prompt again. A prompt the
// tokenizer cannot encode is an *UnencodableError; one that fills the
// context is an error. It returns ctx's error when ctx ends.
func (m *Llama) Prefill(ctx context.Context, prompt string) (*Prefix, error) {
	ids, err := m.tok.Encode(prompt, true)
	if err != nil {
		return nil, err
	}
	if len(ids) >= m.cfg.SeqLen {
		return nil, fmt.Errorf("llm: prefill: prompt is %d tokens; the model's context is %d tokens, so it leaves no room for an answer", len(ids), m.cfg.SeqLen)
	}
	s := m.newState(min(len(ids), batchTokens))
	logits, err := m.prefill(ctx, s, ids)
	if err != nil {
		return nil, err
	}
	kvDim := m.kvDim()
	rows := len(ids) * kvDim
	p := &Prefix{m: m, ids: ids,
		keys:   make([]float32, m.cfg.NLayers*rows),
		values: make([]float32, m.cfg.NLayers*rows),
		logits: append([]float32(nil), logits...),
	}
	for l := range m.cfg.NLayers {
		off := l * m.cfg.SeqLen * kvDim
		copy(p.keys[l*rows:(l+1)*rows], s.keyCache[off:off+rows])
		copy(p.values[l*rows:(l+1)*rows], s.valueCache[off:off+rows])
	}
	return p, nil
}

// PromptTokens is the encoded prompt, BOSID first. The caller must not
// change it.
func (p *Prefix) PromptTokens() []int { return p.ids }

// Replay recomputes the sampler's decision at every position of an answer
// (ids, the tokens after the prompt, without a trailing stop token as
// OpenAI-compatible servers send them, or with one as Generation.Tokens
// has it) under opts, the options the answer claims it was generated with:
// at position i it draws with SampleCoin(opts.Seed, i) from the logits
// given the prompt and ids[:i], exactly as Generate does. For the tokens
// of a Generation and its options, every step has Drawn equal to the sent
// token and Dist 0, bit for bit. The position after the answer is replayed
// too (Replay.Stopped) unless opts.MaxTokens > 0 and len(ids) >=
// opts.MaxTokens, or the answer fills the context, or it ends in a stop
// token.
//
// Ids outside the vocabulary, and a prompt and answer longer than the
// context, are errors. It returns ctx's error when ctx ends. Safe for
// concurrent use on one Prefix.
func (p *Prefix) Replay(ctx context.Context, ids []int, opts GenOptions) (*Replay, error) {
	m := p.m
	np := len(p.ids)
	if err := m.checkAnswer(np, ids); err != nil {
		return nil, fmt.Errorf("llm: replay: %w", err)
	}
	n := len(ids)
	stop := (opts.MaxTokens <= 0 || n < opts.MaxTokens) && np+n < m.cfg.SeqLen &&
		(n == 0 || (ids[n-1] != EOSID && ids[n-1] != BOSID))
	forwarded := n - 1
	if stop {
		forwarded = n
	}
	s := m.newState(min(max(forwarded, 1), batchTokens))
	kvDim := m.kvDim()
	rows := np * kvDim
	for l := range m.cfg.NLayers {
		off := l * m.cfg.SeqLen * kvDim
		copy(s.keyCache[off:off+rows], p.keys[l*rows:(l+1)*rows])
		copy(s.valueCache[off:off+rows], p.values[l*rows:(l+1)*rows])
	}
	r := &Replay{Steps: make([]ReplayStep, n), PromptTokens: np}
	err := m.answerLogits(ctx, s, p.logits, np, ids, stop, func(i int, logits []float32) {
		coin := SampleCoin(opts.Seed, i)
		if i < n {
			r.Steps[i] = m.replayStep(s, logits, opts, coin, ids[i:i+1])
			return
		}
		st := m.replayStep(s, logits, opts, coin, stopIDs)
		r.Stopped = &st
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Replay is Prefill(prompt) then Replay(ids, opts) on the Prefix: for a
// single answer. Several answers to one prompt should share a Prefix.
func (m *Llama) Replay(ctx context.Context, prompt string, ids []int, opts GenOptions) (*Replay, error) {
	p, err := m.Prefill(ctx, prompt)
	if err != nil {
		return nil, err
	}
	return p.Replay(ctx, ids, opts)
}

// kvDim is the width of one position's keys (and values) in a layer.
func (m *Llama) kvDim() int { return m.cfg.Dim * m.cfg.NKVHeads / m.cfg.NHeads }

// checkAnswer refuses answer ids that are outside the vocabulary or that
// do not fit in the context after a prompt of np tokens.
func (m *Llama) checkAnswer(np int, ids []int) error {
	for i, id := range ids {
		if id < 0 || id >= m.cfg.VocabSize {
			return fmt.Errorf("answer token %d is id %d, outside the vocabulary of %d", i, id, m.cfg.VocabSize)
		}
	}
	if np+len(ids) > m.cfg.SeqLen {
		return fmt.Errorf("prompt (%d tokens) and answer (%d tokens) are %d tokens; the model's context is %d",
			np, len(ids), np+len(ids), m.cfg.SeqLen)
	}
	return nil
}

// replayStep is the sampler's decision from logits with coin, and how far
// the nearest of sent (one token, or the stop tokens) is from being drawn;
// Logprob is sent[0]'s.
func (m *Llama) replayStep(s *runState, logits []float32, opts GenOptions, coin float32, sent []int) ReplayStep {
	st := ReplayStep{Logprob: logprob(logits, sent[0]), Dist: float32(math.Inf(1))}
	if opts.Temperature <= 0 {
		st.Drawn = argmax(logits)
		for _, id := range sent {
			st.Dist = min(st.Dist, logits[st.Drawn]-logits[id])
		}
		return st
	}
	cands, scale := m.support(s, logits, opts)
	r := coin * scale
	k, _, _ := walk(cands, r, -1)
	st.Drawn = cands[k].id
	for _, id := range sent {
		st.Dist = min(st.Dist, coinDist(s.probs, cands, scale, r, k, id))
	}
	return st
}

// coinDist is how far, in coin units, the scaled coin r fell from the
// interval of the CDF over cands (with scale and drawn as support and walk
// gave them; probs are every token's probabilities) in which the sampler
// would have drawn id: 0 when id is cands[drawn]. A token outside cands
// (outside the nucleus) is placed where the CDF would put it if it went on
// past the nucleus in the nucleus's order; the distance is at most 1.
func coinDist(probs []float32, cands []candidate, scale, r float32, drawn, id int) float32 {
	if cands[drawn].id == id {
		return 0
	}
	for k, c := range cands {
		if c.id != id {
			continue
		}
		_, lo, hi := walk(cands, r, k)
		var d float64
		if r < lo {
			d = float64(lo) - float64(r)
		} else {
			d = float64(r) - float64(hi)
		}
		return float32(min(d/float64(scale), 1))
	}
	// Outside the nucleus: its interval starts after the nucleus (at
	// scale) and every token ranked between the nucleus's last and it.
	edge := cands[len(cands)-1]
	me := candidate{id, probs[id]}
	lo := float64(scale)
	for j, p := range probs {
		c := candidate{j, p}
		if byLikelihood(edge, c) < 0 && byLikelihood(c, me) < 0 {
			lo += float64(p)
		}
	}
	return float32(min((lo-float64(r))/float64(scale), 1))
}
