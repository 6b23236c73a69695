package llm

import (
	"context"
	"math"
)

// The forward pass of llama2.c's run.c in float32. Every reduction runs in
// a fixed sequential order on one goroutine, and every product is rounded
// to float32 before it is added (an explicit conversion, which stops the Go
// compiler from fusing multiply and add on FMA hardware), so one input
// gives the same bits on every run and every machine with the same math
// library results.
//
// forwardBatch runs several known tokens at once (a prompt, or an answer
// being verified): each weight matrix is then multiplied with several
// tokens' activations together (matmulBatch), which on amd64 runs one
// token per SIMD lane. Each output is still its own sequential sum in the
// same order, so a token's logits have the same bits whether it ran alone
// or in a batch.

// batchTokens is how many known tokens (a prompt, or an answer being
// verified or scored) run through forwardBatch at once: enough to fill the
// SIMD lanes many times over, few enough that the activations stay small
// (about 0.3 MB for the demo model).
const batchTokens = 64

// runState is one sequence's activations and KV cache, allocated once.
// The activations hold up to batch tokens, one after the other.
type runState struct {
	batch      int
	x, xb, xb2 []float32 // batch × dim
	hb, hb2    []float32 // batch × hidden
	q          []float32 // batch × dim
	att        []float32 // nHeads × seqLen, one token at a time
	logits     []float32 // batch × vocab
	keyCache   []float32 // layer × seqLen × kvDim
	valueCache []float32 // layer × seqLen × kvDim
	probs      []float32 // vocab, for sampling
	candidates []candidate
	lanes      laneScratch
}

type candidate struct {
	id int
	p  float32
}

// newState allocates a run state for batches of up to batch tokens.
func (m *Llama) newState(batch int) *runState {
	c := m.cfg
	kvDim := c.Dim * c.NKVHeads / c.NHeads
	return &runState{
		batch: batch,
		x:     make([]float32, batch*c.Dim), xb: make([]float32, batch*c.Dim), xb2: make([]float32, batch*c.Dim),
		hb: make([]float32, batch*c.HiddenDim), hb2: make([]float32, batch*c.HiddenDim),
		q:          make([]float32, batch*c.Dim),
		att:        make([]float32, c.NHeads*c.SeqLen),
		logits:     make([]float32, batch*c.VocabSize),
		keyCache:   make([]float32, c.NLayers*c.SeqLen*kvDim),
		valueCache: make([]float32, c.NLayers*c.SeqLen*kvDim),
		probs:      make([]float32, c.VocabSize),
		candidates: make([]candidate, 0, c.VocabSize),
		lanes:      newLaneScratch(batch, max(c.Dim, c.HiddenDim, c.VocabSize)),
	}
}

// forward runs token at position pos and leaves the next-token logits in
// s.logits[:VocabSize]. 0 <= pos < SeqLen and 0 <= token < VocabSize.
func (m *Llama) forward(s *runState, token, pos int) {
	m.forwardBatch(s, []int{token}, pos, 0)
}

// forwardBatch runs tokens at positions pos, pos+1, … (each one attending
// to the cache and to the tokens before it in the batch) and leaves the
// next-token logits of tokens[t], for logitsFrom <= t, in
// s.logits[t·VocabSize:]. The logits and the cache get the same bits as
// forward would give them token by token. len(tokens) <= s.batch,
// pos+len(tokens) <= SeqLen, and every token is in the vocabulary.
func (m *Llama) forwardBatch(s *runState, tokens []int, pos, logitsFrom int) {
	c := m.cfg
	w := &m.w
	n := len(tokens)
	dim, hidden := c.Dim, c.HiddenDim
	hs := dim / c.NHeads
	kvDim := dim * c.NKVHeads / c.NHeads
	half := hs / 2

	x, xb, xb2 := s.x[:n*dim], s.xb[:n*dim], s.xb2[:n*dim]
	q := s.q[:n*dim]
	hb, hb2 := s.hb[:n*hidden], s.hb2[:n*hidden]
	for t, token := range tokens {
		copy(x[t*dim:(t+1)*dim], w.tokenEmbedding[token*dim:(token+1)*dim])
	}

	for l := range c.NLayers {
		rmsAtt := w.rmsAtt[l*dim : (l+1)*dim]
		for t := range n {
			rmsnorm(xb[t*dim:(t+1)*dim], x[t*dim:(t+1)*dim], rmsAtt)
		}

		// The batch's keys and values go straight into the cache, where
		// its positions are consecutive rows.
		loff := l * c.SeqLen * kvDim
		keys := s.keyCache[loff : loff+c.SeqLen*kvDim]
		values := s.valueCache[loff : loff+c.SeqLen*kvDim]
		k := keys[pos*kvDim : (pos+n)*kvDim]
		v := values[pos*kvDim : (pos+n)*kvDim]
		matmulBatch(q, xb, w.wq[l*dim*dim:(l+1)*dim*dim], dim, dim, n, &s.lanes)
		matmulBatch(k, xb, w.wk[l*dim*kvDim:(l+1)*dim*kvDim], dim, kvDim, n, &s.lanes)
		matmulBatch(v, xb, w.wv[l*dim*kvDim:(l+1)*dim*kvDim], dim, kvDim, n, &s.lanes)

		for t := range n {
			p := pos + t
			cos := m.ropeCos[p*half : p*half+half]
			sin := m.ropeSin[p*half : p*half+half]
			rope(q[t*dim:(t+1)*dim], cos, sin)
			rope(k[t*kvDim:(t+1)*kvDim], cos, sin)
		}
		for t := range n {
			m.attend(xb[t*dim:(t+1)*dim], q[t*dim:(t+1)*dim], s.att, keys, values, pos+t)
		}
		matmulBatch(xb2, xb, w.wo[l*dim*dim:(l+1)*dim*dim], dim, dim, n, &s.lanes)
		for i := range x {
			x[i] += xb2[i]
		}

		rmsFFN := w.rmsFFN[l*dim : (l+1)*dim]
		for t := range n {
			rmsnorm(xb[t*dim:(t+1)*dim], x[t*dim:(t+1)*dim], rmsFFN)
		}
		matmulBatch(hb, xb, w.w1[l*dim*hidden:(l+1)*dim*hidden], dim, hidden, n, &s.lanes)
		matmulBatch(hb2, xb, w.w3[l*dim*hidden:(l+1)*dim*hidden], dim, hidden, n, &s.lanes)
		hb2 := hb2[:len(hb)]
		for i, val := range hb {
			// SiLU(x) = x·σ(x), then the gate.
			val = val * float32(1/(1+math.Exp(-float64(val))))
			hb[i] = float32(val * hb2[i])
		}
		matmulBatch(xb, hb, w.w2[l*dim*hidden:(l+1)*dim*hidden], hidden, dim, n, &s.lanes)
		for i := range x {
			x[i] += xb[i]
		}
	}
	if logitsFrom >= n {
		return
	}
	for t := logitsFrom; t < n; t++ {
		rmsnorm(x[t*dim:(t+1)*dim], x[t*dim:(t+1)*dim], w.rmsFinal)
	}
	matmulBatch(s.logits[logitsFrom*c.VocabSize:n*c.VocabSize], x[logitsFrom*dim:], w.wcls, dim, c.VocabSize, n-logitsFrom, &s.lanes)
}

// prefill runs the prompt ids (at positions 0, 1, …) through s in batches
// and returns the next-token logits after the last one (a slice of
// s.logits). It returns ctx's error when ctx ends.
func (m *Llama) prefill(ctx context.Context, s *runState, ids []int) ([]float32, error) {
	vocab := m.cfg.VocabSize
	var logits []float32
	for pos := 0; pos < len(ids); pos += s.batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		chunk := ids[pos:min(pos+s.batch, len(ids))]
		if pos+len(chunk) < len(ids) {
			m.forwardBatch(s, chunk, pos, len(chunk)) // no logits needed from this chunk
			continue
		}
		last := len(chunk) - 1
		m.forwardBatch(s, chunk, pos, last)
		logits = s.logits[last*vocab : (last+1)*vocab]
	}
	return logits, nil
}

// answerLogits hands fn, in order, the logits that predict each token of
// an answer ids to a prompt of np tokens that is already in s's cache,
// first being the logits after the prompt: fn(i, logits) for i < len(ids)
// gets them given ids[:i], and with after, fn(len(ids), logits) those after
// the whole answer. The answer's tokens run in batches; logits is valid
// during the call only. It returns ctx's error when ctx ends. The
// positions run must fit in the context: np+len(ids) <= SeqLen with after,
// np+len(ids)-1 <= SeqLen without.
func (m *Llama) answerLogits(ctx context.Context, s *runState, first []float32, np int, ids []int, after bool, fn func(i int, logits []float32)) error {
	n := len(ids)
	if n == 0 && !after {
		return nil
	}
	fn(0, first)
	run := ids[:max(n-1, 0)]
	if after && n > 0 {
		run = ids
	}
	vocab := m.cfg.VocabSize
	for start := 0; start < len(run); start += s.batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		chunk := run[start:min(start+s.batch, len(run))]
		m.forwardBatch(s, chunk, np+start, 0)
		for t := range chunk {
			fn(start+t+1, s.logits[t*vocab:(t+1)*vocab])
		}
	}
	return nil
}

// attend sets out to the attention of query q (one token, dim) at position
// pos over the layer's cached keys and values at positions 0 to pos
// (seqLen × kvDim each), using att as scratch.
func (m *Llama) attend(out, q, att, keys, values []float32, pos int) {
	c := m.cfg
	hs := c.Dim / c.NHeads
	kvDim := c.Dim * c.NKVHeads / c.NHeads
	kvMul := c.NHeads / c.NKVHeads
	scale := float32(1 / math.Sqrt(float64(hs)))
	for h := range c.NHeads {
		qh := q[h*hs : (h+1)*hs]
		a := att[h*c.SeqLen : h*c.SeqLen+pos+1]
		koff := (h / kvMul) * hs
		for t := range a {
			kt := keys[koff+t*kvDim : koff+t*kvDim+hs]
			a[t] = dot(qh, kt) * scale
		}
		softmax(a)
		xb := out[h*hs : (h+1)*hs]
		clear(xb)
		for t, at := range a {
			vt := values[koff+t*kvDim : koff+t*kvDim+hs]
			vt = vt[:len(xb)]
			for i := range xb {
				xb[i] += float32(at * vt[i])
			}
		}
	}
}

// rope rotates consecutive pairs of vec; the angle of pair j within each
// head is that of pair j mod len(cos).
func rope(vec, cos, sin []float32) {
	half := len(cos)
	for h := 0; h+2*half <= len(vec); h += 2 * half {
		head := vec[h : h+2*half]
		for j := range half {
			v0, v1 := head[2*j], head[2*j+1]
			fcr, fci := cos[j], sin[j]
			head[2*j] = float32(v0*fcr) - float32(v1*fci)
			head[2*j+1] = float32(v0*fci) + float32(v1*fcr)
		}
	}
}

// rmsnorm sets o = weight · x / sqrt(mean(x²) + 1e-5); o may be x.
func rmsnorm(o, x, weight []float32) {
	var ss float32
	for _, v := range x {
		ss += float32(v * v)
	}
	ss /= float32(len(x))
	ss += 1e-5
	ss = float32(1 / math.Sqrt(float64(ss)))
	weight = weight[:len(x)]
	o = o[:len(x)]
	for i, v := range x {
		o[i] = weight[i] * float32(ss*v)
	}
}

// softmax replaces x by its softmax, in place.
func softmax(x []float32) {
	maxv := x[0]
	for _, v := range x[1:] {
		if v > maxv {
			maxv = v
		}
	}
	var sum float32
	for i, v := range x {
		e := float32(math.Exp(float64(v - maxv)))
		x[i] = e
		sum += e
	}
	for i := range x {
		x[i] /= sum
	}
}

// dot is the sequential dot product of a and b[:len(a)].
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s float32
	for i, v := range a {
		s += float32(v * b[i])
	}
	return s
}

// matmul sets out[i] = Σ_j w[i·n+j]·x[j] for i < d: w is d×n, row-major.
// Four rows run together so each x[j] is loaded once per four rows; each
// row's sum is still accumulated in j order.
func matmul(out, x, w []float32, n, d int) {
	x = x[:n]
	out = out[:d]
	w = w[:d*n]
	i := 0
	for ; i+4 <= d; i += 4 {
		r0 := w[i*n : i*n+n]
		r1 := w[(i+1)*n : (i+1)*n+n]
		r2 := w[(i+2)*n : (i+2)*n+n]
		r3 := w[(i+3)*n : (i+3)*n+n]
		r0, r1, r2, r3 = r0[:len(x)], r1[:len(x)], r2[:len(x)], r3[:len(x)]
		var s0, s1, s2, s3 float32
		for j, xv := range x {
			s0 += float32(r0[j] * xv)
			s1 += float32(r1[j] * xv)
			s2 += float32(r2[j] * xv)
			s3 += float32(r3[j] * xv)
		}
		out[i], out[i+1], out[i+2], out[i+3] = s0, s1, s2, s3
	}
	for ; i < d; i++ {
		out[i] = dot(w[i*n:i*n+n], x)
	}
}
