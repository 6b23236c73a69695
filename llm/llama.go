package llm

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
)

// Config is the header of a llama2.c checkpoint: seven int32 in this order.
type Config struct {
	Dim       int // transformer width
	HiddenDim int // FFN width
	NLayers   int
	NHeads    int // query heads
	NKVHeads  int // key/value heads; NHeads is a multiple of it
	VocabSize int // positive in the file when the classifier is tied to the embedding
	SeqLen    int // maximum context, prompt included
}

// headerBytes is the size of the v0 header.
const headerBytes = 7 * 4

// weights are views into one []float32 in the file's order.
type weights struct {
	tokenEmbedding []float32 // vocab × dim
	rmsAtt         []float32 // layer × dim
	wq             []float32 // layer × dim × dim
	wk             []float32 // layer × kvDim × dim
	wv             []float32 // layer × kvDim × dim
	wo             []float32 // layer × dim × dim
	rmsFFN         []float32 // layer × dim
	w1             []float32 // layer × hidden × dim
	w2             []float32 // layer × dim × hidden
	w3             []float32 // layer × hidden × dim
	rmsFinal       []float32 // dim
	wcls           []float32 // vocab × dim; the embedding when tied
}

// Llama is a llama2.c model with its tokenizer, ready to generate and score.
//
// Concurrency: the weights are read-only after LoadLlama and shared; every
// Generate, Score, Prefill and Replay call allocates its own run state
// (activations and KV cache), so any number of calls may run concurrently
// on one *Llama (and Replays on one read-only Prefix). Each call runs on
// the calling goroutine only (no parallel reductions), which keeps the
// float order, and so the output, fixed for a given input.
type Llama struct {
	cfg     Config
	tied    bool
	w       weights
	tok     *Tokenizer
	ropeCos []float32 // seqLen × headSize/2
	ropeSin []float32
}

// LoadLlama reads a legacy ("v0") llama2.c checkpoint from path and pairs
// it with tok, whose vocabulary must have the model's size. Any v0
// checkpoint loads (stories15M and larger too); the file's length must be
// exactly what the header implies, else the error says both sizes.
func LoadLlama(path string, tok *Tokenizer) (*Llama, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("llm: load model: %w", err)
	}
	m, err := ParseLlama(data, tok)
	if err != nil {
		return nil, fmt.Errorf("llm: load model %s: %w", path, err)
	}
	return m, nil
}

// ParseLlama is LoadLlama on the bytes of a checkpoint. It copies what it
// needs; data may be reused afterwards.
func ParseLlama(data []byte, tok *Tokenizer) (*Llama, error) {
	if tok == nil {
		return nil, fmt.Errorf("no tokenizer")
	}
	if len(data) < headerBytes {
		return nil, fmt.Errorf("file is %d bytes, shorter than the %d-byte llama2.c header", len(data), headerBytes)
	}
	var h [7]int
	for i := range h {
		h[i] = int(int32(binary.LittleEndian.Uint32(data[4*i:])))
	}
	cfg := Config{Dim: h[0], HiddenDim: h[1], NLayers: h[2], NHeads: h[3], NKVHeads: h[4], VocabSize: h[5], SeqLen: h[6]}
	tied := cfg.VocabSize > 0
	if !tied {
		cfg.VocabSize = -cfg.VocabSize
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.VocabSize != tok.VocabSize() {
		return nil, fmt.Errorf("model vocabulary has %d tokens but the tokenizer has %d", cfg.VocabSize, tok.VocabSize())
	}
	sizes := cfg.tensorSizes(tied)
	var total int64
	for _, n := range sizes {
		total += n
	}
	if want := headerBytes + 4*total; int64(len(data)) != want {
		return nil, fmt.Errorf("file is %d bytes but its header (%+v, tied classifier %v) implies %d bytes: truncated, or not a v0 llama2.c checkpoint",
			len(data), cfg, tied, want)
	}
	all := make([]float32, total)
	for i := range all {
		all[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[headerBytes+4*i:]))
	}
	next := func(i int) []float32 {
		s := all[:sizes[i]:sizes[i]]
		all = all[sizes[i]:]
		return s
	}
	m := &Llama{cfg: cfg, tied: tied, tok: tok}
	w := &m.w
	for i, p := range []*[]float32{&w.tokenEmbedding, &w.rmsAtt, &w.wq, &w.wk, &w.wv, &w.wo, &w.rmsFFN, &w.w1, &w.w2, &w.w3, &w.rmsFinal} {
		*p = next(i)
	}
	_ = next(11) // freq_cis_real: RoPE is recomputed as run.c does
	_ = next(12) // freq_cis_imag
	if tied {
		w.wcls = w.tokenEmbedding
	} else {
		w.wcls = next(13)
	}
	m.initRoPE()
	return m, nil
}

// check rejects headers that cannot describe a model, before any size
// arithmetic can overflow.
func (c Config) check() error {
	const limit = 1 << 20
	for _, f := range []struct {
		name string
		v    int
	}{{"dim", c.Dim}, {"hidden_dim", c.HiddenDim}, {"n_layers", c.NLayers}, {"n_heads", c.NHeads},
		{"n_kv_heads", c.NKVHeads}, {"vocab_size", c.VocabSize}, {"seq_len", c.SeqLen}} {
		if f.v <= 0 || f.v > limit {
			return fmt.Errorf("bad header: %s = %d, want 1 to %d", f.name, f.v, limit)
		}
	}
	if c.Dim%c.NHeads != 0 || (c.Dim/c.NHeads)%2 != 0 {
		return fmt.Errorf("bad header: dim %d is not n_heads %d times an even head size", c.Dim, c.NHeads)
	}
	if c.NHeads%c.NKVHeads != 0 {
		return fmt.Errorf("bad header: n_heads %d is not a multiple of n_kv_heads %d", c.NHeads, c.NKVHeads)
	}
	return nil
}

// tensorSizes lists the float32 counts of the tensors in file order.
func (c Config) tensorSizes(tied bool) []int64 {
	d, hd, l, v, s := int64(c.Dim), int64(c.HiddenDim), int64(c.NLayers), int64(c.VocabSize), int64(c.SeqLen)
	kv := d * int64(c.NKVHeads) / int64(c.NHeads)
	head := d / int64(c.NHeads)
	sizes := []int64{v * d, l * d, l * d * d, l * kv * d, l * kv * d, l * d * d, l * d,
		l * hd * d, l * d * hd, l * hd * d, d, s * head / 2, s * head / 2}
	if !tied {
		sizes = append(sizes, v*d)
	}
	return sizes
}

// Config is the model's header; VocabSize is positive even when the file
// stores it negated for an untied classifier.
func (m *Llama) Config() Config { return m.cfg }

// Tokenizer is the model's tokenizer.
func (m *Llama) Tokenizer() *Tokenizer { return m.tok }

// initRoPE tabulates run.c's rotary embedding: for pair i of a head,
// freq = 1/10000^(i*2/headSize), angle = pos*freq (in float32), then cos
// and sin of the angle rounded to float32.
func (m *Llama) initRoPE() {
	hs := m.cfg.Dim / m.cfg.NHeads
	half := hs / 2
	m.ropeCos = make([]float32, m.cfg.SeqLen*half)
	m.ropeSin = make([]float32, m.cfg.SeqLen*half)
	for pos := range m.cfg.SeqLen {
		for i := range half {
			freq := float32(1 / math.Pow(10000, float64(float32(2*i)/float32(hs))))
			val := float32(pos) * freq
			m.ropeCos[pos*half+i] = float32(math.Cos(float64(val)))
			m.ropeSin[pos*half+i] = float32(math.Sin(float64(val)))
		}
	}
}
