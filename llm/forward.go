package llm

import "math"

// The forward pass of llama2.c's run.c in float32. Every reduction runs in
// a fixed sequential order on one goroutine, and every product is rounded
// to float32 before it is added (an explicit conversion, which stops the Go
// compiler from fusing multiply and add on FMA hardware), so one input
// gives the same bits on every run and every machine with the same math
// library results.

// runState is one sequence's activations and KV cache, allocated once.
type runState struct {
	x, xb, xb2 []float32 // dim
	hb, hb2    []float32 // hidden
	q          []float32 // dim
	att        []float32 // nHeads × seqLen
	logits     []float32 // vocab
	keyCache   []float32 // layer × seqLen × kvDim
	valueCache []float32 // layer × seqLen × kvDim
	probs      []float32 // vocab, for sampling
	candidates []candidate
}

type candidate struct {
	id int
	p  float32
}

func (m *Llama) newState() *runState {
	c := m.cfg
	kvDim := c.Dim * c.NKVHeads / c.NHeads
	return &runState{
		x: make([]float32, c.Dim), xb: make([]float32, c.Dim), xb2: make([]float32, c.Dim),
		hb: make([]float32, c.HiddenDim), hb2: make([]float32, c.HiddenDim),
		q:          make([]float32, c.Dim),
		att:        make([]float32, c.NHeads*c.SeqLen),
		logits:     make([]float32, c.VocabSize),
		keyCache:   make([]float32, c.NLayers*c.SeqLen*kvDim),
		valueCache: make([]float32, c.NLayers*c.SeqLen*kvDim),
		probs:      make([]float32, c.VocabSize),
		candidates: make([]candidate, 0, c.VocabSize),
	}
}

// forward runs token at position pos and leaves the next-token logits in
// s.logits. 0 <= pos < SeqLen and 0 <= token < VocabSize.
func (m *Llama) forward(s *runState, token, pos int) {
	c := m.cfg
	w := &m.w
	dim, hidden := c.Dim, c.HiddenDim
	hs := dim / c.NHeads
	kvDim := dim * c.NKVHeads / c.NHeads
	kvMul := c.NHeads / c.NKVHeads
	scale := float32(1 / math.Sqrt(float64(hs)))
	half := hs / 2
	cos := m.ropeCos[pos*half : pos*half+half]
	sin := m.ropeSin[pos*half : pos*half+half]

	x := s.x
	copy(x, w.tokenEmbedding[token*dim:(token+1)*dim])

	for l := range c.NLayers {
		rmsnorm(s.xb, x, w.rmsAtt[l*dim:(l+1)*dim])

		loff := l * c.SeqLen * kvDim
		k := s.keyCache[loff+pos*kvDim : loff+(pos+1)*kvDim]
		v := s.valueCache[loff+pos*kvDim : loff+(pos+1)*kvDim]
		matmul(s.q, s.xb, w.wq[l*dim*dim:(l+1)*dim*dim], dim, dim)
		matmul(k, s.xb, w.wk[l*dim*kvDim:(l+1)*dim*kvDim], dim, kvDim)
		matmul(v, s.xb, w.wv[l*dim*kvDim:(l+1)*dim*kvDim], dim, kvDim)

		rope(s.q, cos, sin)
		rope(k, cos, sin)

		for h := range c.NHeads {
			q := s.q[h*hs : (h+1)*hs]
			att := s.att[h*c.SeqLen : h*c.SeqLen+pos+1]
			koff := loff + (h/kvMul)*hs
			for t := range att {
				kt := s.keyCache[koff+t*kvDim : koff+t*kvDim+hs]
				att[t] = dot(q, kt) * scale
			}
			softmax(att)
			xb := s.xb[h*hs : (h+1)*hs]
			clear(xb)
			for t, a := range att {
				vt := s.valueCache[koff+t*kvDim : koff+t*kvDim+hs]
				vt = vt[:len(xb)]
				for i := range xb {
					xb[i] += float32(a * vt[i])
				}
			}
		}
		matmul(s.xb2, s.xb, w.wo[l*dim*dim:(l+1)*dim*dim], dim, dim)
		for i := range x {
			x[i] += s.xb2[i]
		}

		rmsnorm(s.xb, x, w.rmsFFN[l*dim:(l+1)*dim])
		matmul(s.hb, s.xb, w.w1[l*dim*hidden:(l+1)*dim*hidden], dim, hidden)
		matmul(s.hb2, s.xb, w.w3[l*dim*hidden:(l+1)*dim*hidden], dim, hidden)
		hb2 := s.hb2[:len(s.hb)]
		for i, val := range s.hb {
			// SiLU(x) = x·σ(x), then the gate.
			val = val * float32(1/(1+math.Exp(-float64(val))))
			s.hb[i] = float32(val * hb2[i])
		}
		matmul(s.xb, s.hb, w.w2[l*dim*hidden:(l+1)*dim*hidden], hidden, dim)
		for i := range x {
			x[i] += s.xb[i]
		}
	}
	rmsnorm(x, x, w.rmsFinal)
	matmul(s.logits, x, w.wcls, dim, c.VocabSize)
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
