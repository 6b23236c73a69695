package llm

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// Generator is what a miner needs from a backend: the built-in engine
// (*Llama) and an OpenAI-compatible server (*OpenAI) both continue a prompt
// and return the same Generation.
type Generator interface {
	Generate(ctx context.Context, prompt string, opts GenOptions) (*Generation, error)
}

var (
	_ Generator = (*Llama)(nil)
	_ Generator = (*OpenAI)(nil)
)

// DefaultIdleTimeout is OpenAIConfig.IdleTimeout when it is left 0.
const DefaultIdleTimeout = 30 * time.Second

// ErrIdleTimeout is wrapped by the error a stream returns when the server
// sent nothing for OpenAIConfig.IdleTimeout.
var ErrIdleTimeout = errors.New("idle timeout")

// OpenAIConfig configures an OpenAI-compatible backend.
type OpenAIConfig struct {
	// BaseURL is the server's API root, such as http://127.0.0.1:8000/v1
	// (vLLM), http://127.0.0.1:11434/v1 (Ollama) or
	// http://127.0.0.1:8080/v1 (llama.cpp server). A URL with no path
	// gets /v1.
	BaseURL string
	// APIKey is sent as a bearer token when not empty.
	APIKey string
	// Model is the model name the server serves (required).
	Model string
	// IdleTimeout is the longest a stream may wait for its next chunk,
	// the first one included; DefaultIdleTimeout when 0. Deadlines for a
	// whole request come from the caller's context.
	IdleTimeout time.Duration
	// HTTPClient is used for requests when not nil. Its Timeout must be 0:
	// it would cut long streams; use context deadlines and IdleTimeout.
	HTTPClient *http.Client
}

// OpenAI is a backend on an OpenAI-compatible server, called through
// go-openai. Safe for concurrent use.
type OpenAI struct {
	client  *openai.Client
	hc      *http.Client // what client sends through, and post
	apiKey  string
	baseURL string
	model   string
	idle    time.Duration
}

// ChatMessage is one message of a chat.
type ChatMessage struct {
	Role    string `json:"role"` // "system", "user" or "assistant"
	Content string `json:"content"`
}

// OpenAIOptions control one request to an OpenAI-compatible server.
type OpenAIOptions struct {
	// GenOptions are sent as max_tokens (when > 0), temperature (always,
	// 0 included; below 0 is sent as 0), top_p (when in (0, 1)) and seed
	// (always, 0 included).
	GenOptions
	// NoLogprobs asks for no log-probabilities; by default every token's
	// is asked for.
	NoLogprobs bool
	// TopLogprobs is how many most likely alternatives to return per
	// token (top_logprobs for chat, logprobs for completions).
	TopLogprobs int
	// Stop sequences, passed through.
	Stop []string
	// TokenIDs asks the server to name each token "token_id:N" (vLLM's
	// return_tokens_as_token_ids), so that TokenLogprob.ID is known;
	// servers without the extension ignore it and IDs stay -1.
	TokenIDs bool
}

// OpenAIGeneration is a Generation with what only a server reports.
//
// Generation.PromptTokens is nil: the server does not return token ids.
// A token's ID is -1 unless the server names it as "token_id:N" (vLLM's
// --return-tokens-as-token-ids). Tokens is empty when the server returned
// no log-probabilities. Unlike the built-in engine's, Tokens never ends
// with a stop token: servers do not return it.
type OpenAIGeneration struct {
	Generation
	// TopLogprobs[i] are the alternatives for Tokens[i], most likely
	// first, when OpenAIOptions.TopLogprobs > 0.
	TopLogprobs [][]TokenLogprob `json:"top_logprobs,omitempty"`
	// Model is the model the server says answered.
	Model string `json:"model"`
	// PromptTokenCount and CompletionTokenCount are the server's usage
	// figures (0 when it did not report them).
	PromptTokenCount     int `json:"prompt_token_count"`
	CompletionTokenCount int `json:"completion_token_count"`
}

// StreamFunc receives each streamed chunk: its text and, when
// log-probabilities were asked for and returned, its tokens. An error
// from it ends the stream and is returned.
type StreamFunc func(text string, tokens []TokenLogprob) error

// NewOpenAI checks cfg and returns a backend. It does not contact the
// server.
func NewOpenAI(cfg OpenAIConfig) (*OpenAI, error) {
	raw := strings.TrimSpace(cfg.BaseURL)
	if raw == "" {
		return nil, errors.New("llm: openai backend: empty base URL (want e.g. http://127.0.0.1:8000/v1)")
	}
	if !strings.Contains(raw, "://") {
		return nil, fmt.Errorf("llm: openai backend: base URL %q: scheme must be http or https (want e.g. http://%s/v1)", raw, strings.TrimRight(raw, "/"))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("llm: openai backend: bad base URL %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("llm: openai backend: base URL %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("llm: openai backend: base URL %q has no host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("llm: openai backend: base URL %q must not have a query or fragment", raw)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1"
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if cfg.Model == "" {
		return nil, fmt.Errorf("llm: openai backend %s: no model name", u)
	}
	if cfg.IdleTimeout < 0 {
		return nil, fmt.Errorf("llm: openai backend %s: negative idle timeout %s", u, cfg.IdleTimeout)
	}
	idle := cfg.IdleTimeout
	if idle == 0 {
		idle = DefaultIdleTimeout
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	if hc.Timeout != 0 {
		return nil, fmt.Errorf("llm: openai backend %s: HTTPClient.Timeout is %s; leave it 0 and use context deadlines and IdleTimeout", u, hc.Timeout)
	}
	oc := openai.DefaultConfig(cfg.APIKey)
	oc.BaseURL = u.String()
	oc.HTTPClient = bodyPatcher{hc}
	return &OpenAI{client: openai.NewClientWithConfig(oc), hc: hc, apiKey: cfg.APIKey, baseURL: u.String(), model: cfg.Model, idle: idle}, nil
}

// BaseURL returns the API root requests go to.
func (o *OpenAI) BaseURL() string { return o.baseURL }

// Model returns the configured model name.
func (o *OpenAI) Model() string { return o.model }

// ModelNotServedError is CheckModel's error when the server answers but
// does not list the model asked for: it was started with another model,
// or the name is spelt differently (vLLM lists the name given to its
// --served-model-name, by default the path or repository it loaded).
type ModelNotServedError struct {
	BaseURL string   // the server's API root
	Model   string   // the model asked for
	Served  []string // the models the server lists, in its order
}

func (e *ModelNotServedError) Error() string {
	lists := "lists no models"
	if len(e.Served) > 0 {
		q := make([]string, len(e.Served))
		for i, s := range e.Served {
			q[i] = strconv.Quote(s)
		}
		lists = "lists " + strings.Join(q, ", ")
	}
	return fmt.Sprintf("the model server %s does not serve model %q: GET /models %s", e.BaseURL, e.Model, lists)
}

// Models returns the ids of the models the server lists (GET /models,
// through go-openai's ListModels), in its order.
func (o *OpenAI) Models(ctx context.Context) ([]string, error) {
	list, err := o.client.ListModels(ctx)
	if err != nil {
		return nil, o.wrap(ctx, err)
	}
	ids := make([]string, 0, len(list.Models))
	for _, m := range list.Models {
		ids = append(ids, m.ID)
	}
	return ids, nil
}

// CheckModel returns nil when the server lists the configured model, a
// *ModelNotServedError when it answers without it, and Models' error when
// it cannot be asked (down, unreachable, an HTTP error).
func (o *OpenAI) CheckModel(ctx context.Context) error {
	ids, err := o.Models(ctx)
	if err != nil {
		return err
	}
	if slices.Contains(ids, o.model) {
		return nil
	}
	return &ModelNotServedError{BaseURL: o.baseURL, Model: o.model, Served: ids}
}

// Generate continues prompt through the completions API (POST
// /completions), asking for every token's log-probability, as
// (*Llama).Generate does. Deadlines come from ctx.
func (o *OpenAI) Generate(ctx context.Context, prompt string, opts GenOptions) (*Generation, error) {
	g, err := o.Complete(ctx, prompt, OpenAIOptions{GenOptions: opts})
	if err != nil {
		return nil, err
	}
	return &g.Generation, nil
}

// ---- the temperature-0 workaround ----
//
// go-openai's request structs tag Temperature (and the completions API's
// integer logprobs) with omitempty, so a 0 never reaches the server, which
// then samples at its default temperature (1 for vLLM). Its request
// builder cannot be replaced from outside the package and chat requests
// have no "extra body". So those fields are left zero in go-openai's
// struct, which drops them, and are added to the JSON it encodes as they
// are (withFields), along with the ones go-openai does not know: by
// bodyPatcher, the HTTPDoer given to go-openai, from the request's
// context, or by post, which sends non-streamed requests itself.

// explicit is the fields a request sets as they are: `"key":value` pairs,
// each preceded by a comma, to add at the end of a JSON object.
type explicit []byte

// add returns e with key set to the JSON value v.
func (e explicit) add(key, v string) explicit {
	e = append(e, ',', '"')
	e = append(e, key...)
	e = append(e, '"', ':')
	return append(e, v...)
}

type explicitKey struct{}

// withExplicit returns ctx carrying fields to set in the request body.
func withExplicit(ctx context.Context, fields explicit) context.Context {
	return context.WithValue(ctx, explicitKey{}, fields)
}

// withFields returns the JSON object body, as go-openai encodes a request
// (none of fields' keys in it), with fields added at its end.
func withFields(body []byte, fields explicit) ([]byte, error) {
	body = bytes.TrimRight(body, " \t\r\n")
	if len(body) < 2 || body[0] != '{' || body[len(body)-1] != '}' {
		return nil, errors.New("request body is not a JSON object")
	}
	out := make([]byte, 0, len(body)+len(fields))
	out = append(out, body[:len(body)-1]...)
	if len(fields) > 0 && len(bytes.TrimSpace(body[1:len(body)-1])) == 0 {
		fields = fields[1:] // an empty object: no comma before the first
	}
	out = append(out, fields...)
	return append(out, '}'), nil
}

type bodyPatcher struct{ hc *http.Client }

func (p bodyPatcher) Do(req *http.Request) (*http.Response, error) {
	fields, _ := req.Context().Value(explicitKey{}).(explicit)
	if len(fields) > 0 && req.Body != nil {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("reading request body: %w", err)
		}
		if body, err = withFields(body, fields); err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		req.ContentLength = int64(len(body))
	}
	return p.hc.Do(req)
}

func jsonFloat32(f float32) string {
	return strconv.FormatFloat(float64(f), 'g', -1, 32)
}

// common checks opts and returns the fields every request carries.
func (o *OpenAI) common(opts OpenAIOptions) (temp float32, topP float32, seed *int, err error) {
	t := opts.Temperature
	if t < 0 || math.IsNaN(float64(t)) {
		t = 0
	}
	if math.IsInf(float64(t), 0) {
		return 0, 0, nil, fmt.Errorf("llm: openai backend %s: infinite temperature", o.baseURL)
	}
	if opts.TopP > 0 && opts.TopP < 1 {
		topP = opts.TopP
	}
	if opts.Seed > math.MaxInt64 {
		return 0, 0, nil, fmt.Errorf("llm: openai backend %s: seed %d does not fit in an int64", o.baseURL, opts.Seed)
	}
	if opts.TopLogprobs < 0 {
		return 0, 0, nil, fmt.Errorf("llm: openai backend %s: negative TopLogprobs %d", o.baseURL, opts.TopLogprobs)
	}
	if opts.NoLogprobs && opts.TopLogprobs > 0 {
		return 0, 0, nil, fmt.Errorf("llm: openai backend %s: TopLogprobs needs log-probabilities, but NoLogprobs is set", o.baseURL)
	}
	s := int(opts.Seed)
	return t, topP, &s, nil
}

// chatRequest is the chat request for msgs and opts: go-openai's struct
// and the fields to add to its JSON (see withFields).
func (o *OpenAI) chatRequest(msgs []ChatMessage, opts OpenAIOptions) (openai.ChatCompletionRequest, explicit, error) {
	temp, topP, seed, err := o.common(opts)
	if err != nil {
		return openai.ChatCompletionRequest{}, nil, err
	}
	if len(msgs) == 0 {
		return openai.ChatCompletionRequest{}, nil, fmt.Errorf("llm: openai backend %s: no messages", o.baseURL)
	}
	m := make([]openai.ChatCompletionMessage, len(msgs))
	for i, msg := range msgs {
		m[i] = openai.ChatCompletionMessage{Role: msg.Role, Content: msg.Content}
	}
	req := openai.ChatCompletionRequest{
		Model:       o.model,
		Messages:    m,
		MaxTokens:   max(opts.MaxTokens, 0),
		TopP:        topP,
		Seed:        seed,
		Stop:        opts.Stop,
		LogProbs:    !opts.NoLogprobs,
		TopLogProbs: opts.TopLogprobs,
	}
	fields := explicit(nil).add("temperature", jsonFloat32(temp))
	if opts.TokenIDs {
		fields = fields.add("return_tokens_as_token_ids", "true")
	}
	return req, fields, nil
}

// completionRequest is chatRequest for the completions API.
func (o *OpenAI) completionRequest(prompt string, opts OpenAIOptions) (openai.CompletionRequest, explicit, error) {
	temp, topP, seed, err := o.common(opts)
	if err != nil {
		return openai.CompletionRequest{}, nil, err
	}
	req := openai.CompletionRequest{
		Model:     o.model,
		Prompt:    prompt,
		MaxTokens: max(opts.MaxTokens, 0),
		TopP:      topP,
		Seed:      seed,
		Stop:      opts.Stop,
	}
	fields := explicit(nil).add("temperature", jsonFloat32(temp))
	if opts.TokenIDs {
		fields = fields.add("return_tokens_as_token_ids", "true")
	}
	if !opts.NoLogprobs {
		// The completions API's logprobs is the number of alternatives;
		// 0 still returns the chosen tokens' log-probabilities.
		fields = fields.add("logprobs", strconv.Itoa(opts.TopLogprobs))
	}
	return req, fields, nil
}

// Chat answers msgs through the chat completions API (POST
// /chat/completions). Deadlines come from ctx.
func (o *OpenAI) Chat(ctx context.Context, msgs []ChatMessage, opts OpenAIOptions) (*OpenAIGeneration, error) {
	req, fields, err := o.chatRequest(msgs, opts)
	if err != nil {
		return nil, err
	}
	resp, err := o.client.CreateChatCompletion(withExplicit(ctx, fields), req)
	if err != nil {
		return nil, o.wrap(ctx, err)
	}
	if len(resp.Choices) == 0 {
		return nil, fmt.Errorf("llm: openai backend %s: malformed response: no choices", o.baseURL)
	}
	c := resp.Choices[0]
	g := &OpenAIGeneration{
		Generation:           Generation{Text: c.Message.Content, FinishReason: finishReason(string(c.FinishReason))},
		Model:                resp.Model,
		PromptTokenCount:     resp.Usage.PromptTokens,
		CompletionTokenCount: resp.Usage.CompletionTokens,
	}
	if c.LogProbs != nil {
		for _, lp := range c.LogProbs.Content {
			tops := make([]TokenLogprob, 0, len(lp.TopLogProbs))
			for _, t := range lp.TopLogProbs {
				tops = append(tops, tokenLogprob(t.Token, t.Bytes, t.LogProb))
			}
			g.add(tokenLogprob(lp.Token, lp.Bytes, lp.LogProb), tops, opts.TopLogprobs > 0)
		}
	}
	return g, nil
}

// Complete continues prompt through the completions API (POST
// /completions). Deadlines come from ctx.
func (o *OpenAI) Complete(ctx context.Context, prompt string, opts OpenAIOptions) (*OpenAIGeneration, error) {
	req, fields, err := o.completionRequest(prompt, opts)
	if err != nil {
		return nil, err
	}
	resp, err := o.client.CreateCompletion(withExplicit(ctx, fields), req)
	if err != nil {
		return nil, o.wrap(ctx, err)
	}
	if len(resp.Choices) == 0 {
		return nil, fmt.Errorf("llm: openai backend %s: malformed response: no choices", o.baseURL)
	}
	c := resp.Choices[0]
	g := &OpenAIGeneration{
		Generation: Generation{Text: c.Text, FinishReason: finishReason(c.FinishReason)},
		Model:      resp.Model,
	}
	if resp.Usage != nil {
		g.PromptTokenCount, g.CompletionTokenCount = resp.Usage.PromptTokens, resp.Usage.CompletionTokens
	}
	if err := g.addCompletionLogprobs(c.LogProbs, opts.TopLogprobs > 0); err != nil {
		return nil, fmt.Errorf("llm: openai backend %s: %w", o.baseURL, err)
	}
	return g, nil
}

// RawAnswer is a non-streamed answer as the server sent it, for a caller
// that passes it on unchanged.
type RawAnswer struct {
	// Body is the server's response body, byte for byte: a JSON object
	// with at least one choice, whose completions log-probabilities, if
	// any, have a log-probability per token. One exception: its "model"
	// is the backend's configured model (OpenAIConfig.Model), as in
	// Complete's answers, and is set so when the server named another
	// model or none (some servers report their own id rather than the
	// name they were asked for).
	Body []byte
	// CompletionTokens is the server's usage figure or, when it reported
	// none, the number of tokens with log-probabilities (0 without them).
	CompletionTokens int
}

// CompleteRaw is Complete returning the server's answer as it was sent,
// checked but not decoded (see RawAnswer): the same request and the same
// errors from the server, without the cost of go-openai's response types
// for a caller that only passes the answer on. It skips go-openai's checks
// of OpenAI's own model names against the endpoint, which a model server
// of ours does not need. Deadlines come from ctx.
func (o *OpenAI) CompleteRaw(ctx context.Context, prompt string, opts OpenAIOptions) (*RawAnswer, error) {
	req, fields, err := o.completionRequest(prompt, opts)
	if err != nil {
		return nil, err
	}
	return o.post(ctx, "/completions", req, fields)
}

// ChatRaw is CompleteRaw for Chat.
func (o *OpenAI) ChatRaw(ctx context.Context, msgs []ChatMessage, opts OpenAIOptions) (*RawAnswer, error) {
	req, fields, err := o.chatRequest(msgs, opts)
	if err != nil {
		return nil, err
	}
	return o.post(ctx, "/chat/completions", req, fields)
}

// post sends req, encoded as go-openai encodes it with fields added, to
// path under the base URL, and reads and checks the answer. Its errors
// read as Complete's do.
func (o *OpenAI) post(ctx context.Context, path string, req any, fields explicit) (*RawAnswer, error) {
	body, err := json.Marshal(req)
	if err == nil {
		body, err = withFields(body, fields)
	}
	if err != nil {
		return nil, fmt.Errorf("llm: openai backend %s: encoding the request: %w", o.baseURL, err)
	}
	hreq, err := o.newPost(ctx, o.baseURL+path, body)
	if err != nil {
		return nil, err
	}
	resp, err := o.hc.Do(hreq)
	if err != nil {
		return nil, o.wrap(ctx, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if resp.ContentLength > 0 && resp.ContentLength < 64<<20 {
		buf.Grow(int(resp.ContentLength) + 1) // +1: ReadFrom sees EOF without growing
	}
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return nil, o.wrap(ctx, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("llm: openai backend %s: HTTP %d: %s", o.baseURL, resp.StatusCode, errorBodyMessage(buf.Bytes()))
	}
	answer := buf.Bytes()
	n, model, err := checkAnswer(answer)
	if err == nil && model != o.model {
		answer, err = withModel(answer, o.model)
	}
	if err != nil {
		return nil, fmt.Errorf("llm: openai backend %s: malformed response: %w", o.baseURL, err)
	}
	return &RawAnswer{Body: answer, CompletionTokens: n}, nil
}

// withModel returns the JSON object body with its "model" set to model.
// newPost is a POST of the JSON body to url with the backend's headers
// (and its API key, when it has one).
func (o *OpenAI) newPost(ctx context.Context, url string, body []byte) (*http.Request, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("llm: openai backend %s: %w", o.baseURL, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	if o.apiKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+o.apiKey)
	}
	return hreq, nil
}

func withModel(body []byte, model string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	name, err := json.Marshal(model)
	if err != nil {
		return nil, err
	}
	m["model"] = name
	return json.Marshal(m)
}

// checkAnswer checks a non-streamed answer of either API, decoding only
// what it checks, and returns its completion token count (see RawAnswer)
// and the model it names.
func checkAnswer(body []byte) (int, string, error) {
	var v struct {
		Model   string `json:"model"`
		Choices []struct {
			Text    string `json:"text"`
			Message *struct {
				Content *string `json:"content"`
			} `json:"message"`
			Logprobs *struct {
				Tokens        []skipped `json:"tokens"`
				TokenLogprobs []skipped `json:"token_logprobs"`
				Content       []skipped `json:"content"`
			} `json:"logprobs"`
		} `json:"choices"`
		Usage *struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return 0, "", err
	}
	if len(v.Choices) == 0 {
		return 0, "", errors.New("no choices")
	}
	n := 0
	if lp := v.Choices[0].Logprobs; lp != nil {
		if len(lp.Tokens) != len(lp.TokenLogprobs) {
			return 0, "", fmt.Errorf("%d tokens but %d token_logprobs", len(lp.Tokens), len(lp.TokenLogprobs))
		}
		n = len(lp.Tokens) + len(lp.Content)
	}
	if v.Usage != nil && v.Usage.CompletionTokens > 0 {
		n = v.Usage.CompletionTokens
	}
	return n, v.Model, nil
}

// skipped is a JSON value that is counted, not decoded.
type skipped struct{}

func (*skipped) UnmarshalJSON([]byte) error { return nil }

// ChatStream is Chat with streaming: fn gets each chunk as it arrives. A
// gap of more than IdleTimeout between chunks ends the stream with an error
// wrapping ErrIdleTimeout; on any error the Generation so far is returned
// with it.
func (o *OpenAI) ChatStream(ctx context.Context, msgs []ChatMessage, opts OpenAIOptions, fn StreamFunc) (*OpenAIGeneration, error) {
	req, fields, err := o.chatRequest(msgs, opts)
	if err != nil {
		return nil, err
	}
	g := &OpenAIGeneration{}
	err = o.stream(withExplicit(ctx, fields), g, func(sctx context.Context) (recv func() error, closeFn func() error, err error) {
		s, err := o.client.CreateChatCompletionStream(sctx, req)
		if err != nil {
			return nil, nil, err
		}
		return func() error {
			resp, err := s.Recv()
			if err != nil {
				return err
			}
			if resp.Model != "" {
				g.Model = resp.Model
			}
			if resp.Usage != nil {
				g.PromptTokenCount, g.CompletionTokenCount = resp.Usage.PromptTokens, resp.Usage.CompletionTokens
			}
			for _, c := range resp.Choices {
				if c.Index != 0 {
					continue
				}
				var toks []TokenLogprob
				if c.Logprobs != nil {
					for _, lp := range c.Logprobs.Content {
						tops := make([]TokenLogprob, 0, len(lp.TopLogprobs))
						for _, t := range lp.TopLogprobs {
							tops = append(tops, tokenLogprob(t.Token, int64Bytes(t.Bytes), t.Logprob))
						}
						tok := tokenLogprob(lp.Token, int64Bytes(lp.Bytes), lp.Logprob)
						g.add(tok, tops, opts.TopLogprobs > 0)
						toks = append(toks, tok)
					}
				}
				g.Text += c.Delta.Content
				if c.FinishReason != "" && c.FinishReason != openai.FinishReasonNull {
					g.FinishReason = finishReason(string(c.FinishReason))
				}
				if c.Delta.Content != "" || len(toks) > 0 {
					if fn != nil {
						if err := fn(c.Delta.Content, toks); err != nil {
							return callbackError{err}
						}
					}
				}
			}
			return nil
		}, s.Close, nil
	})
	return g, err
}

// Stream is Complete with streaming; see ChatStream.
func (o *OpenAI) Stream(ctx context.Context, prompt string, opts OpenAIOptions, fn StreamFunc) (*OpenAIGeneration, error) {
	req, fields, err := o.completionRequest(prompt, opts)
	if err != nil {
		return nil, err
	}
	g := &OpenAIGeneration{}
	err = o.stream(withExplicit(ctx, fields), g, func(sctx context.Context) (func() error, func() error, error) {
		s, err := o.client.CreateCompletionStream(sctx, req)
		if err != nil {
			return nil, nil, err
		}
		return func() error {
			resp, err := s.Recv()
			if err != nil {
				return err
			}
			if resp.Model != "" {
				g.Model = resp.Model
			}
			if resp.Usage != nil {
				g.PromptTokenCount, g.CompletionTokenCount = resp.Usage.PromptTokens, resp.Usage.CompletionTokens
			}
			for _, c := range resp.Choices {
				if c.Index != 0 {
					continue
				}
				n := len(g.Tokens)
				if err := g.addCompletionLogprobs(c.LogProbs, opts.TopLogprobs > 0); err != nil {
					return malformedError{err}
				}
				g.Text += c.Text
				if c.FinishReason != "" {
					g.FinishReason = finishReason(c.FinishReason)
				}
				if (c.Text != "" || len(g.Tokens) > n) && fn != nil {
					if err := fn(c.Text, slices.Clone(g.Tokens[n:])); err != nil {
						return callbackError{err}
					}
				}
			}
			return nil
		}, s.Close, nil
	})
	return g, err
}

type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

type malformedError struct{ err error }

func (e malformedError) Error() string { return e.err.Error() }

// stream runs one streaming request: open starts it and returns a function
// reading the next chunk (io.EOF after data: [DONE]) and one closing it.
// Every chunk must arrive within the idle timeout of the previous one (or
// of the start).
func (o *OpenAI) stream(ctx context.Context, g *OpenAIGeneration, open func(context.Context) (func() error, func() error, error)) error {
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idleErr := fmt.Errorf("llm: openai backend %s: no token for %s: %w", o.baseURL, o.idle, ErrIdleTimeout)
	timer := time.AfterFunc(o.idle, func() { cancel(idleErr) })
	defer timer.Stop()

	fail := func(err error) error {
		if cause := context.Cause(sctx); errors.Is(cause, ErrIdleTimeout) {
			return idleErr
		}
		return o.wrap(ctx, err)
	}
	recv, closeFn, err := open(sctx)
	if err != nil {
		return fail(err)
	}
	defer closeFn()
	for {
		err := recv()
		timer.Reset(o.idle)
		switch {
		case err == nil:
			continue
		case errors.Is(err, io.EOF) && context.Cause(sctx) == nil:
			if g.FinishReason == "" {
				return fmt.Errorf("llm: openai backend %s: stream ended before the model finished (no finish_reason, no data: [DONE])", o.baseURL)
			}
			return nil
		}
		var cb callbackError
		if errors.As(err, &cb) {
			return cb.err
		}
		var me malformedError
		if errors.As(err, &me) {
			return fmt.Errorf("llm: openai backend %s: malformed stream chunk: %w", o.baseURL, me.err)
		}
		return fail(err)
	}
}

// wrap turns an error from go-openai into one that names the backend and
// says what went wrong. ctx is the caller's context.
func (o *OpenAI) wrap(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("llm: openai backend %s: %w (%v)", o.baseURL, context.Cause(ctx), ctxErr)
	}
	var reqErr *openai.RequestError
	if errors.As(err, &reqErr) {
		return fmt.Errorf("llm: openai backend %s: HTTP %d: %s", o.baseURL, reqErr.HTTPStatusCode, errorBodyMessage(reqErr.Body))
	}
	var apiErr *openai.APIError
	if errors.As(err, &apiErr) {
		msg := cmp.Or(apiErr.Message, "(no message)")
		if apiErr.HTTPStatusCode > 0 {
			return fmt.Errorf("llm: openai backend %s: HTTP %d: %s", o.baseURL, apiErr.HTTPStatusCode, msg)
		}
		return fmt.Errorf("llm: openai backend %s: error in stream: %s", o.baseURL, msg)
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("llm: openai backend %s is down (connection refused): %w", o.baseURL, err)
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return fmt.Errorf("llm: openai backend %s unreachable: %w", o.baseURL, err)
	}
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &syntaxErr) || errors.As(err, &typeErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, openai.ErrTooManyEmptyStreamMessages) {
		return fmt.Errorf("llm: openai backend %s: malformed response: %w", o.baseURL, err)
	}
	return fmt.Errorf("llm: openai backend %s: %w", o.baseURL, err)
}

// errorBodyMessage digs the message out of an error body: OpenAI's
// {"error": {"message": ...}}, vLLM's {"object": "error", "message": ...},
// FastAPI's {"detail": ...}, llama.cpp's {"error": "..."}, or plain text.
func errorBodyMessage(body []byte) string {
	var v struct {
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
		Error   json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &v) == nil {
		var s string
		var openAI struct {
			Message string `json:"message"`
		}
		switch {
		case v.Message != "":
			return v.Message
		case json.Unmarshal(v.Error, &s) == nil && s != "":
			return s
		case json.Unmarshal(v.Error, &openAI) == nil && openAI.Message != "":
			return openAI.Message
		case json.Unmarshal(v.Detail, &s) == nil && s != "":
			return s
		case len(v.Detail) > 0:
			return string(v.Detail)
		}
	}
	s := strings.TrimSpace(string(body))
	if s == "" {
		return "(empty body)"
	}
	if len(s) > 512 {
		s = s[:512] + "…"
	}
	return s
}

func finishReason(r string) string {
	switch r {
	case "stop", "eos", "stop_sequence":
		return FinishStop
	case "length", "max_tokens":
		return FinishLength
	}
	return r
}

// tokenLogprob makes a TokenLogprob from a server's token: bytes, when
// given, are its exact text; "token_id:N" names its id.
func tokenLogprob(token string, b []byte, lp float64) TokenLogprob {
	t := TokenLogprob{ID: -1, Text: token, Logprob: lp}
	if id, ok := strings.CutPrefix(token, "token_id:"); ok {
		if n, err := strconv.Atoi(id); err == nil && n >= 0 {
			t.ID = n
			t.Text = ""
		}
	}
	if b != nil {
		t.Text = string(b)
	}
	return t
}

func int64Bytes(v []int64) []byte {
	if v == nil {
		return nil
	}
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}

func (g *OpenAIGeneration) add(tok TokenLogprob, tops []TokenLogprob, wantTops bool) {
	g.Tokens = append(g.Tokens, tok)
	if wantTops {
		g.TopLogprobs = append(g.TopLogprobs, tops)
	}
}

func (g *OpenAIGeneration) addCompletionLogprobs(lp openai.LogprobResult, wantTops bool) error {
	if len(lp.TokenLogprobs) != len(lp.Tokens) {
		return fmt.Errorf("malformed response: %d tokens but %d token_logprobs", len(lp.Tokens), len(lp.TokenLogprobs))
	}
	for i, tok := range lp.Tokens {
		var tops []TokenLogprob
		if wantTops && i < len(lp.TopLogprobs) {
			for t, v := range lp.TopLogprobs[i] {
				tops = append(tops, tokenLogprob(t, nil, float64(v)))
			}
			slices.SortFunc(tops, func(a, b TokenLogprob) int {
				return cmp.Or(cmp.Compare(b.Logprob, a.Logprob), strings.Compare(a.Text, b.Text))
			})
		}
		g.add(tokenLogprob(tok, nil, float64(lp.TokenLogprobs[i])), tops, wantTops)
	}
	return nil
}
