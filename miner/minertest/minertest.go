// Package minertest provides stand-ins for a GPU model server, for tests
// and benchmarks of miners and validators on a machine without a GPU: a
// fast, deterministic Backend (Model) with a real HTTP server speaking the
// OpenAI wire format over it (Serve), and the real demo model served the
// way vLLM serves one (LlamaServer, ServeLlama: prompt log-probabilities,
// /tokenize, /detokenize), with options to misbehave.
package minertest

import (
	"context"
	"errors"
	"hash/fnv"
	"math"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/miner"
)

// vocab is the model's vocabulary; a token's id is its index.
var vocab = strings.Fields(`the a cat dog sat on mat ran to park and saw bird sun was warm
happy little girl boy played with ball tree under big red blue green house went home
day night friend said hello yes no good bad fast slow jumped over river water sky`)

// Model is a deterministic backend: its continuation of a prompt is a
// function of the prompt, the seed and the temperature (greedy when 0),
// produced at TokenDelay per token. It is safe for concurrent use; set its
// fields before use, except Down, which may change at any time (as may the
// name, with Rename).
type Model struct {
	// Name is the model name served; default "test-model".
	Name string
	// Tokens is how many tokens a completion has unless max_tokens is
	// lower; default 16.
	Tokens int
	// TokenDelay is the time per generated token.
	TokenDelay time.Duration
	// Hold, if not nil, makes every Generate wait until it is closed (or
	// its context ends) before it starts: a test holds the backend busy
	// for as long as it needs, whatever the machine's load.
	Hold chan struct{}
	// Down makes every request fail as a server that is down would.
	Down atomic.Bool
	// Calls counts Generate calls.
	Calls atomic.Int64

	mu      sync.Mutex
	prompts []string // of the Generate calls, in order
	renamed atomic.Pointer[string]
}

// Rename makes m serve under name from now on (GET /v1/models lists it,
// answers name it), as a server restarted with another model would.
func (m *Model) Rename(name string) { m.renamed.Store(&name) }

// Prompts are the prompts of the Generate calls so far, in the order
// they were called: the order a miner served its requests in, recorded
// where it happens.
func (m *Model) Prompts() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.prompts)
}

// Model implements miner.Backend.
func (m *Model) Model() string {
	if n := m.renamed.Load(); n != nil {
		return *n
	}
	if m.Name == "" {
		return "test-model"
	}
	return m.Name
}

// Ready implements miner.Backend.
func (m *Model) Ready(context.Context) error {
	if m.Down.Load() {
		return errors.New("test model is down")
	}
	return nil
}

// Concurrency implements miner.Backend.
func (m *Model) Concurrency() int { return 64 }

// Continuation is the token ids Model generates for prompt at the given
// seed and temperature, n of them: what a validator that knows the model
// expects.
func Continuation(prompt string, seed uint64, temperature float32, n int) []int {
	h := fnv.New64a()
	h.Write([]byte(prompt))
	x := h.Sum64()
	if temperature > 0 {
		x ^= seed*0x9e3779b97f4a7c15 + 1
	}
	out := make([]int, n)
	for i := range out {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		out[i] = int(x % uint64(len(vocab)))
	}
	return out
}

// Logprob is the log-probability Model reports for token id at position i.
func Logprob(id, i int) float64 { return -float64(1+(id*7+i)%23) / 8 }

// Generate implements miner.Backend.
func (m *Model) Generate(ctx context.Context, r *miner.Request, fn llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	m.Calls.Add(1)
	m.mu.Lock()
	m.prompts = append(m.prompts, r.Prompt)
	m.mu.Unlock()
	if m.Down.Load() {
		return nil, errors.New("test model: connection refused")
	}
	if m.Hold != nil {
		select {
		case <-m.Hold:
		case <-ctx.Done():
			return &llm.OpenAIGeneration{Model: m.Model()}, ctx.Err()
		}
	}
	prompt := r.Prompt
	if r.Chat {
		prompt = miner.ChatPrompt(r.Messages)
	}
	n := m.Tokens
	if n == 0 {
		n = 16
	}
	finish := llm.FinishStop
	if r.Options.MaxTokens > 0 && r.Options.MaxTokens < n {
		n, finish = r.Options.MaxTokens, llm.FinishLength
	}
	g := &llm.OpenAIGeneration{Model: m.Model(), PromptTokenCount: len(strings.Fields(prompt)) + 1}
	var text strings.Builder
	for i, id := range Continuation(prompt, r.Options.Seed, r.Options.Temperature, n) {
		if m.TokenDelay > 0 {
			t := time.NewTimer(m.TokenDelay)
			select {
			case <-ctx.Done():
				t.Stop()
				g.Text = text.String()
				return g, ctx.Err()
			case <-t.C:
			}
		} else if err := ctx.Err(); err != nil {
			g.Text = text.String()
			return g, err
		}
		piece := vocab[id]
		if i > 0 || r.Chat {
			piece = " " + piece
		}
		tok := llm.TokenLogprob{ID: id, Text: piece, Logprob: Logprob(id, i)}
		if s := stopAt(text.String()+piece, r.Options.Stop); s >= 0 {
			finish = llm.FinishStop
			break
		}
		text.WriteString(piece)
		g.Tokens = append(g.Tokens, tok)
		if k := r.Options.TopLogprobs; k > 0 {
			alts := []llm.TokenLogprob{tok}
			for j := 1; j < k && j < len(vocab); j++ {
				alt := (id + j) % len(vocab)
				alts = append(alts, llm.TokenLogprob{ID: alt, Text: vocab[alt], Logprob: tok.Logprob - float64(j) - math.Ln2})
			}
			g.TopLogprobs = append(g.TopLogprobs, alts)
		}
		if fn != nil {
			if err := fn(piece, g.Tokens[len(g.Tokens)-1:]); err != nil {
				g.Text = text.String()
				return g, err
			}
		}
	}
	g.Text, g.FinishReason, g.CompletionTokenCount = text.String(), finish, len(g.Tokens)
	return g, nil
}

func stopAt(text string, stops []string) int {
	for _, s := range stops {
		if i := strings.Index(text, s); s != "" && i >= 0 {
			return i
		}
	}
	return -1
}

// Serve starts a real HTTP server on loopback speaking the OpenAI API over
// m (POST /v1/completions, /v1/chat/completions, GET /v1/models). Close it
// when done; its URL plus "/v1" is the base URL for clients.
func Serve(m *Model) *httptest.Server {
	return httptest.NewServer(miner.OpenAIHandler(m))
}
