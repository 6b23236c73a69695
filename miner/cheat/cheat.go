// Package cheat holds miner backends that misbehave in the ways validators
// must not pay for (DESIGN.md section 7, issue 14): each is the cheapest
// way its author knows to get paid without doing the work asked.
//
//   - Junk answers random letters; Lazy echoes the prompt.
//   - Copier hands in another miner's answer; ShortCopier cuts it under
//     the length copy checks look at; Paraphraser swaps a few of its words
//     and recomputes the token ids and log-probabilities.
//   - Canned answers story text from templates, carrying the declared
//     model's real token ids and log-probabilities for it (tokenizer
//     Encode and Llama.Score), max_tokens of them.
//   - Truncate runs the honest model for a few tokens and claims it
//     stopped (or reached max_tokens).
//   - Greedy runs the honest model at temperature 0 whatever was asked,
//     and caches its answer per prompt.
//   - A SybilGroup's members are several hotkeys that share one model run
//     per prompt.
//   - Perturb makes another checkpoint of the same shape, served under the
//     declared model's name (the wrong-model cheat).
//
// The local network's --adversaries and the validator's tests run them; no
// real miner would.
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
		r.answers[promptOf(req)] = g
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

// copyDelay is how long after the honest miner answered a copier has the
// answer: a network round trip.
const copyDelay = 50 * time.Millisecond

// wait returns the recorded answer to prompt once there is one, copyDelay
// after it appeared, or ctx's error. The answer is shared: callers copy
// what they change.
func (r *Recorder) wait(ctx context.Context, prompt string) (*llm.OpenAIGeneration, error) {
	for {
		if g, ok := r.lookup(prompt); ok {
			select {
			case <-time.After(copyDelay):
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

// Copier answers with the Recorder's answer to the same prompt, fetched a
// network round trip (50 ms) after the honest miner gave it.
type Copier struct {
	miner.Backend // for Model, Ready and Concurrency
	From          *Recorder
}

// Generate implements miner.Backend.
func (c *Copier) Generate(ctx context.Context, req *miner.Request, fn llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	g, err := c.From.wait(ctx, promptOf(req))
	if err != nil {
		return nil, err
	}
	return deliver(g, fn)
}

// Junk answers random letters.
type Junk struct{ miner.Backend }

// Generate implements miner.Backend.
func (j Junk) Generate(_ context.Context, req *miner.Request, fn llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	r := rand.New(rand.NewPCG(req.Options.Seed, 9))
	var b strings.Builder
	for range 30 {
		for range 2 + r.IntN(6) {
			b.WriteByte(byte('a' + r.IntN(26)))
		}
		b.WriteByte(' ')
	}
	return deliver(&llm.OpenAIGeneration{Generation: llm.Generation{Text: b.String(), FinishReason: llm.FinishLength}, Model: j.Model()}, fn)
}

// Lazy echoes the prompt.
type Lazy struct{ miner.Backend }

// Generate implements miner.Backend.
func (l Lazy) Generate(_ context.Context, req *miner.Request, fn llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	return deliver(&llm.OpenAIGeneration{Generation: llm.Generation{Text: promptOf(req), FinishReason: llm.FinishStop}, Model: l.Model()}, fn)
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

// promptOf is the text the built-in engine continues for req (a chat's
// messages joined as miner.ChatPrompt joins them).
func promptOf(req *miner.Request) string {
	if req.Chat {
		return miner.ChatPrompt(req.Messages)
	}
	return req.Prompt
}

// deliver returns g, streaming it to fn (when not nil) in one chunk, as a
// backend that has the whole answer at once would.
func deliver(g *llm.OpenAIGeneration, fn llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	if fn != nil {
		if err := fn(g.Text, g.Tokens); err != nil {
			return nil, err
		}
	}
	return g, nil
}
