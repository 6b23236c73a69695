package miner

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/seed0ffb8d46/agora/llm"
)

// Backend is the model behind a miner: the built-in engine (Builtin) or an
// OpenAI-compatible server (Server). Implementations are safe for
// concurrent use.
type Backend interface {
	// Model is the model name the miner serves and reports.
	Model() string
	// Generate runs r. With fn not nil it streams: fn gets each chunk as
	// the model produces it, on the calling goroutine; an error from fn
	// ends the generation and is returned. Errors about the request itself
	// are *badRequest (answered with 400); anything else is the backend's
	// failure.
	Generate(ctx context.Context, r *Request, fn llm.StreamFunc) (*llm.OpenAIGeneration, error)
	// Ready returns nil when the backend can serve now. It is a cheap
	// probe, bounded by ctx.
	Ready(ctx context.Context) error
	// Concurrency is how many requests it runs well at once, the default of
	// Config.MaxConcurrent.
	Concurrency() int
}

// passThrough is a Backend that hands over its model server's answer to a
// non-streamed request as the server sent it. The miner answers with
// exactly those bytes, signed, instead of decoding the answer and encoding
// its own: cheaper, and the caller gets the server's own numbers.
type passThrough interface {
	GenerateRaw(ctx context.Context, r *Request) (*llm.RawAnswer, error)
}

// Builtin serves the built-in llama2.c engine on the miner's CPU.
type Builtin struct {
	m    *llm.Llama
	name string
}

// NewBuiltin serves m under the model name name.
func NewBuiltin(m *llm.Llama, name string) *Builtin { return &Builtin{m: m, name: name} }

// Model implements Backend.
func (b *Builtin) Model() string { return b.name }

// Ready implements Backend: the engine is in memory.
func (b *Builtin) Ready(context.Context) error { return nil }

// Concurrency implements Backend: one generation per CPU, since each runs
// on one goroutine.
func (b *Builtin) Concurrency() int { return runtime.GOMAXPROCS(0) }

// ChatPrompt is how the built-in engine, which has no chat template, reads
// a chat: the messages' contents in order, joined by a space. (Its
// tokenizer encodes a newline as the unknown token, so none is used.)
func ChatPrompt(msgs []llm.ChatMessage) string {
	parts := make([]string, 0, len(msgs))
	for _, m := range msgs {
		if s := strings.TrimSpace(m.Content); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}

// Generate implements Backend. The stop token the engine reports last is
// not returned: OpenAI-compatible servers do not return it either.
func (b *Builtin) Generate(ctx context.Context, r *Request, fn llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	if r.Options.TopLogprobs > 0 {
		return nil, badf("top log-probabilities are not supported by the built-in engine (each token's own log-probability is)")
	}
	if len(r.Options.Stop) > 0 {
		return nil, badf("stop sequences are not supported by the built-in engine")
	}
	prompt := r.Prompt
	if r.Chat {
		prompt = ChatPrompt(r.Messages)
	}
	ids, err := b.m.Tokenizer().Encode(prompt, true)
	var ue *llm.UnencodableError
	switch {
	case errors.As(err, &ue):
		return nil, badf("prompt: %v", err)
	case err != nil:
		return nil, badf("prompt: %v", err)
	case len(ids) >= b.m.Config().SeqLen:
		return nil, badf("prompt is %d tokens; the model's context is %d", len(ids), b.m.Config().SeqLen)
	}
	var wrapped llm.StreamFunc
	if fn != nil {
		wrapped = func(text string, toks []llm.TokenLogprob) error {
			if len(toks) == 1 && (toks[0].ID == llm.EOSID || toks[0].ID == llm.BOSID) {
				return nil
			}
			return fn(text, toks)
		}
	}
	g, err := b.m.GenerateStream(ctx, prompt, r.Options.GenOptions, wrapped)
	if g == nil {
		return nil, err
	}
	if g.FinishReason == llm.FinishStop && len(g.Tokens) > 0 {
		g.Tokens = g.Tokens[:len(g.Tokens)-1]
	}
	out := &llm.OpenAIGeneration{Generation: *g, Model: b.name, PromptTokenCount: len(g.PromptTokens), CompletionTokenCount: len(g.Tokens)}
	return out, err
}

// Server forwards to an OpenAI-compatible model server through go-openai
// (llm.OpenAI).
type Server struct {
	o *llm.OpenAI
}

// NewServer serves through the OpenAI-compatible server that cfg names.
func NewServer(cfg llm.OpenAIConfig) (*Server, error) {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: &http.Transport{
			MaxIdleConnsPerHost: 256, // many concurrent requests to one server
			IdleConnTimeout:     90 * time.Second,
		}}
	}
	o, err := llm.NewOpenAI(cfg)
	if err != nil {
		return nil, err
	}
	return &Server{o: o}, nil
}

// Model implements Backend.
func (s *Server) Model() string { return s.o.Model() }

// Concurrency implements Backend: model servers batch concurrent requests.
func (s *Server) Concurrency() int { return 64 }

// Ready implements Backend: the server answers GET /models and lists the
// model (llm.OpenAI.CheckModel). A server restarted with another model is
// not ready: its error is an *llm.ModelNotServedError naming the model
// asked for and the ones the server lists.
func (s *Server) Ready(ctx context.Context) error {
	return s.o.CheckModel(ctx)
}

// GenerateRaw runs the non-streamed request r and returns the server's
// answer byte for byte, checked to be a well-formed answer (llm.RawAnswer).
// The miner answers non-streamed requests with it; Generate's errors.
func (s *Server) GenerateRaw(ctx context.Context, r *Request) (*llm.RawAnswer, error) {
	if r.Chat {
		return s.o.ChatRaw(ctx, r.Messages, r.Options)
	}
	return s.o.CompleteRaw(ctx, r.Prompt, r.Options)
}

// Generate implements Backend.
func (s *Server) Generate(ctx context.Context, r *Request, fn llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	switch {
	case r.Chat && fn == nil:
		return s.o.Chat(ctx, r.Messages, r.Options)
	case r.Chat:
		return s.o.ChatStream(ctx, r.Messages, r.Options, fn)
	case fn == nil:
		return s.o.Complete(ctx, r.Prompt, r.Options)
	default:
		return s.o.Stream(ctx, r.Prompt, r.Options, fn)
	}
}
