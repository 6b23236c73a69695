package llm

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// matmulLanes (the SSE kernel on amd64) gives every lane the bits that
// matmul gives that lane's token alone, subnormal inputs included.
func TestMatmulLanes(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	val := func() float32 {
		switch r.IntN(20) {
		case 0:
			return 0
		case 1:
			return float32(r.NormFloat64()) * 1e-39 // subnormal
		default:
			return float32(r.NormFloat64())
		}
	}
	for _, nd := range [][2]int{{1, 1}, {1, 5}, {3, 7}, {128, 128}, {128, 64}, {128, 352}, {352, 128}, {128, 105}} {
		n, d := nd[0], nd[1]
		t.Run(fmt.Sprintf("%dx%d", d, n), func(t *testing.T) {
			w := make([]float32, d*n)
			for i := range w {
				w[i] = val()
			}
			xT := make([]float32, 8*n)
			for i := range xT {
				xT[i] = val()
			}
			got := make([]float32, 8*d)
			matmulLanes(got, xT, w, n, d)
			goRef := make([]float32, 8*d)
			matmulLanesGo(goRef, xT, w, n, d, 8)
			x, one := make([]float32, n), make([]float32, d)
			for l := range 8 {
				for j := range n {
					x[j] = xT[j*8+l]
				}
				matmul(one, x, w, n, d)
				for i, v := range one {
					if math.Float32bits(got[i*8+l]) != math.Float32bits(v) || math.Float32bits(goRef[i*8+l]) != math.Float32bits(v) {
						t.Fatalf("row %d lane %d: kernel %v, Go lanes %v, matmul %v", i, l, got[i*8+l], goRef[i*8+l], v)
					}
				}
			}
		})
	}
}

// A batch of tokens leaves the same logits and KV cache, bit for bit, as
// the same tokens run one by one, whatever the batch sizes.
func TestForwardBatchBitIdentical(t *testing.T) {
	t.Parallel()
	m := testModel(t)
	g, err := m.Generate(context.Background(), goldenPrompt, GenOptions{MaxTokens: 60, Temperature: 1, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	tokens := append([]int(nil), g.PromptTokens...)
	for _, tok := range g.Tokens {
		tokens = append(tokens, tok.ID)
	}
	vocab := m.cfg.VocabSize
	seq := m.newState(1)
	want := make([]float32, len(tokens)*vocab)
	for pos, tok := range tokens {
		m.forward(seq, tok, pos)
		copy(want[pos*vocab:], seq.logits[:vocab])
	}
	for _, size := range []int{1, 2, 3, 5, 8, 9, 16, 17, 64} {
		t.Run(fmt.Sprint("batch", size), func(t *testing.T) {
			s := m.newState(size)
			for pos := 0; pos < len(tokens); pos += size {
				chunk := tokens[pos:min(pos+size, len(tokens))]
				from := 0
				if pos == 0 {
					from = 1 // logits from the second token on: the first's are skipped
				}
				m.forwardBatch(s, chunk, pos, from)
				for i := from; i < len(chunk); i++ {
					for id, v := range s.logits[i*vocab : (i+1)*vocab] {
						if w := want[(pos+i)*vocab+id]; math.Float32bits(v) != math.Float32bits(w) {
							t.Fatalf("position %d token %d: batched logit %v, one by one %v", pos+i, id, v, w)
						}
					}
				}
			}
			for i := range len(tokens) * m.cfg.Dim * m.cfg.NKVHeads / m.cfg.NHeads {
				for l := range m.cfg.NLayers {
					off := l*m.cfg.SeqLen*m.cfg.Dim*m.cfg.NKVHeads/m.cfg.NHeads + i
					if math.Float32bits(s.keyCache[off]) != math.Float32bits(seq.keyCache[off]) ||
						math.Float32bits(s.valueCache[off]) != math.Float32bits(seq.valueCache[off]) {
						t.Fatalf("layer %d cache entry %d differs", l, i)
					}
				}
			}
		})
	}
}

// BenchmarkForwardBatch runs 64 known tokens after a 48-token prompt in one
// batch (as Replay runs an answer); compare its ns/token with
// BenchmarkForward's one token at a time.
func BenchmarkForwardBatch(b *testing.B) {
	m := testModel(b)
	tokens := make([]int, 112)
	for i := range tokens {
		tokens[i] = 3 + i%100
	}
	s := m.newState(64)
	m.forwardBatch(s, tokens[:48], 0, 48)
	b.ReportAllocs()
	for b.Loop() {
		m.forwardBatch(s, tokens[48:], 48, 0)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*64), "ns/token")
}
