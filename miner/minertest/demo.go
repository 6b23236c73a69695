package minertest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"

	"github.com/seed0ffb8d46/agora/llm"
)

// The demo model, babyllama105, lives in shared/models/babyllama105 beside
// the repository's checkout; tests find it from their working directory.

// DemoModelDir finds the demo model's folder: shared/models/babyllama105 in
// the working directory or any folder above it.
func DemoModelDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("minertest: finding the demo model: %w", err)
	}
	for {
		d := filepath.Join(dir, "shared", "models", "babyllama105")
		if _, err := os.Stat(filepath.Join(d, "babyllama105.bin")); err == nil {
			return d, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("minertest: the demo model is not in shared/models/babyllama105 in any folder above the working directory")
		}
		dir = up
	}
}

var demo struct {
	once sync.Once
	m    *llm.Llama
	data []byte
	err  error
}

// DemoLlama loads the demo model, once per process (a *llm.Llama is safe
// for concurrent use).
func DemoLlama() (*llm.Llama, error) {
	demo.once.Do(func() {
		dir, err := DemoModelDir()
		if err != nil {
			demo.err = err
			return
		}
		tok, err := llm.LoadTokenizer(filepath.Join(dir, "tok105.model"))
		if err != nil {
			demo.err = err
			return
		}
		if demo.data, err = os.ReadFile(filepath.Join(dir, "babyllama105.bin")); err != nil {
			demo.err = fmt.Errorf("minertest: %w", err)
			return
		}
		demo.m, demo.err = llm.ParseLlama(demo.data, tok)
	})
	return demo.m, demo.err
}

// DemoVariant is another checkpoint of the demo model's shape and
// tokenizer: its weights each scaled by 1 + scale·N(0, 1) (from seed), in
// memory. At scale 0.3 it still writes words, but not the demo model's
// distribution: a miner serving another model than the declared one.
func DemoVariant(seed uint64, scale float64) (*llm.Llama, error) {
	m, err := DemoLlama()
	if err != nil {
		return nil, err
	}
	data := append([]byte(nil), demo.data...)
	const header = 7 * 4
	rng := rand.New(rand.NewPCG(seed, 0xd1ff))
	for off := header; off+4 <= len(data); off += 4 {
		w := math.Float32frombits(binary.LittleEndian.Uint32(data[off:]))
		w *= float32(1 + scale*rng.NormFloat64())
		binary.LittleEndian.PutUint32(data[off:], math.Float32bits(w))
	}
	v, err := llm.ParseLlama(data, m.Tokenizer())
	if err != nil {
		return nil, fmt.Errorf("minertest: demo variant: %w", err)
	}
	return v, nil
}
