// Package cheat holds miner backends that misbehave in the ways validators
// must not pay for (DESIGN.md section 7): junk, echoing the prompt, copying
// another miner, and serving another checkpoint under the declared model's
// name. The local network's --adversaries and the validator's tests run
// them; no real miner would.
package cheat

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/miner"
)

// Recorder is an honest backend whose answers a Copier can read, as a
// copier reading an honest miner's answers would. It keeps the latest 256.
type Recorder struct {
	miner.Backend
	mu      sync.Mutex
	answers map[string]*llm.OpenAIGeneration // by prompt
}

// NewRecorder wraps an honest backend.
func NewRecorder(b miner.Backend) *Recorder {
	return &Recorder{Backend: b, answers: map[string]*llm.OpenAIGeneration{}}
}

// Generate implements miner.Backend.
func (r *Recorder) Generate(ctx context.Context, req *miner.Request, fn llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	g, err := r.Backend.Generate(ctx, req, fn)
	if err == nil {
		r.mu.Lock()
		r.answers[req.Prompt] = g
		if len(r.answers) > 256 {
			for k := range r.answers {
				delete(r.answers, k)
				break
			}
		}
		r.mu.Unlock()
	}
	return g, err
}

func (r *Recorder) lookup(prompt string) (*llm.OpenAIGeneration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g, ok := r.answers[prompt]
	return g, ok
}

// Copier answers with the Recorder's answer to the same prompt, fetched a
// network round trip (50 ms) after the honest miner gave it.
type Copier struct {
	miner.Backend // for Model, Ready and Concurrency
	From          *Recorder
}

// Generate implements miner.Backend.
func (c *Copier) Generate(ctx context.Context, req *miner.Request, _ llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	for {
		if g, ok := c.From.lookup(req.Prompt); ok {
			select {
			case <-time.After(50 * time.Millisecond):
				return g, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Junk answers random letters.
type Junk struct{ miner.Backend }

// Generate implements miner.Backend.
func (j Junk) Generate(_ context.Context, req *miner.Request, _ llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	r := rand.New(rand.NewPCG(req.Options.Seed, 9))
	var b strings.Builder
	for range 30 {
		for range 2 + r.IntN(6) {
			b.WriteByte(byte('a' + r.IntN(26)))
		}
		b.WriteByte(' ')
	}
	return &llm.OpenAIGeneration{Generation: llm.Generation{Text: b.String(), FinishReason: llm.FinishLength}, Model: j.Model()}, nil
}

// Lazy echoes the prompt.
type Lazy struct{ miner.Backend }

// Generate implements miner.Backend.
func (l Lazy) Generate(_ context.Context, req *miner.Request, _ llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	p := req.Prompt
	if req.Chat {
		p = miner.ChatPrompt(req.Messages)
	}
	return &llm.OpenAIGeneration{Generation: llm.Generation{Text: p, FinishReason: llm.FinishStop}, Model: l.Model()}, nil
}

// Perturb returns a different llama2.c checkpoint of the same shape: a
// copy of data with every 7th weight's low exponent bit flipped. Served
// under the original's name, it is the wrong-model cheat.
func Perturb(data []byte) []byte {
	out := append([]byte(nil), data...)
	for i := 28 + 4000; i+4 <= len(out); i += 28 {
		out[i+3] ^= 0x01
	}
	return out
}
