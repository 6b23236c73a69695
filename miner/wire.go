package miner

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/seed0ffb8d46/agora/llm"
)

// The OpenAI wire format of the two endpoints, as vLLM and OpenAI speak it.
// Requests are decoded into these structs rather than go-openai's because
// an absent temperature (default 1) must differ from temperature 0, and
// responses carry float64 log-probabilities, which go-openai's float32
// fields would round.

// completionRequest is the body of POST /v1/completions.
type completionRequest struct {
	Model       string          `json:"model"`
	Prompt      json.RawMessage `json:"prompt"`
	MaxTokens   *int            `json:"max_tokens"`
	Temperature *float64        `json:"temperature"`
	TopP        *float64        `json:"top_p"`
	Seed        *int64          `json:"seed"`
	Stream      bool            `json:"stream"`
	Logprobs    *int            `json:"logprobs"` // 0..20: top alternatives per token
	Stop        json.RawMessage `json:"stop"`
	N           *int            `json:"n"`
	Echo        bool            `json:"echo"`
	// ReturnTokensAsTokenIDs is vLLM's extension: tokens in log-probabilities
	// are "token_id:N", so a verifier knows the exact ids.
	ReturnTokensAsTokenIDs bool          `json:"return_tokens_as_token_ids"`
	StreamOptions          streamOptions `json:"stream_options"`
}

// chatRequest is the body of POST /v1/chat/completions.
type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	Seed                *int64          `json:"seed"`
	Stream              bool            `json:"stream"`
	Logprobs            bool            `json:"logprobs"`
	TopLogprobs         *int            `json:"top_logprobs"`
	Stop                json.RawMessage `json:"stop"`
	N                   *int            `json:"n"`
	Tools               json.RawMessage `json:"tools"`

	ReturnTokensAsTokenIDs bool          `json:"return_tokens_as_token_ids"`
	StreamOptions          streamOptions `json:"stream_options"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// chatMessage takes content as a string or as an array of text parts.
type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// Request is one generation request in the miner's terms, whichever
// endpoint it came through.
type Request struct {
	Chat     bool
	Prompt   string            // completions
	Messages []llm.ChatMessage // chat
	Model    string            // as asked; "" for the backend's
	Options  llm.OpenAIOptions
	Stream   bool
	// Logprobs is whether the response carries log-probabilities;
	// TopLogprobs (in Options) how many alternatives per token.
	Logprobs     bool
	TokenIDs     bool
	IncludeUsage bool
}

// badRequest is a request the miner refuses with 400 and this message.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func badf(format string, args ...any) error { return &badRequest{fmt.Sprintf(format, args...)} }

// decodeJSON decodes body into v; unknown fields are allowed (clients
// send many we do not use) but the body must be one JSON object, with
// nothing after it but white space.
func decodeJSON(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return badf("body is not a valid request: %v", err)
	}
	return nil
}

// parseCompletion decodes and checks a completions request.
func parseCompletion(body []byte) (*Request, error) {
	var in completionRequest
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	r := &Request{Model: in.Model, Stream: in.Stream, TokenIDs: in.ReturnTokensAsTokenIDs, IncludeUsage: in.StreamOptions.IncludeUsage}
	var err error
	if r.Prompt, err = oneString("prompt", in.Prompt); err != nil {
		return nil, err
	}
	if in.Echo {
		return nil, badf("echo is not supported")
	}
	if in.Logprobs != nil {
		if *in.Logprobs < 0 || *in.Logprobs > 20 {
			return nil, badf("logprobs %d: want 0 to 20", *in.Logprobs)
		}
		r.Logprobs, r.Options.TopLogprobs = true, *in.Logprobs
	}
	if err := common(r, in.MaxTokens, in.Temperature, in.TopP, in.Seed, in.N, in.Stop); err != nil {
		return nil, err
	}
	return r, nil
}

// parseChat decodes and checks a chat completions request.
func parseChat(body []byte) (*Request, error) {
	var in chatRequest
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	r := &Request{Chat: true, Model: in.Model, Stream: in.Stream, Logprobs: in.Logprobs, TokenIDs: in.ReturnTokensAsTokenIDs, IncludeUsage: in.StreamOptions.IncludeUsage}
	if len(in.Messages) == 0 {
		return nil, badf("messages: want at least one message")
	}
	for i, m := range in.Messages {
		switch m.Role {
		case "system", "user", "assistant", "developer":
		default:
			return nil, badf("messages[%d].role %q: want system, user or assistant", i, m.Role)
		}
		text, err := content(m.Content)
		if err != nil {
			return nil, badf("messages[%d].content: %v", i, err)
		}
		r.Messages = append(r.Messages, llm.ChatMessage{Role: m.Role, Content: text})
	}
	if len(in.Tools) > 0 && string(in.Tools) != "null" {
		return nil, badf("tools are not supported")
	}
	if in.TopLogprobs != nil {
		if *in.TopLogprobs < 0 || *in.TopLogprobs > 20 {
			return nil, badf("top_logprobs %d: want 0 to 20", *in.TopLogprobs)
		}
		if !in.Logprobs && *in.TopLogprobs > 0 {
			return nil, badf("top_logprobs needs logprobs: true")
		}
		r.Options.TopLogprobs = *in.TopLogprobs
	}
	maxTokens := in.MaxTokens
	if in.MaxCompletionTokens != nil {
		maxTokens = in.MaxCompletionTokens
	}
	if err := common(r, maxTokens, in.Temperature, in.TopP, in.Seed, in.N, in.Stop); err != nil {
		return nil, err
	}
	return r, nil
}

// common checks and sets the sampling fields both endpoints share.
func common(r *Request, maxTokens *int, temperature, topP *float64, seed *int64, n *int, stop json.RawMessage) error {
	if maxTokens != nil {
		if *maxTokens < 1 {
			return badf("max_tokens %d: want at least 1", *maxTokens)
		}
		r.Options.MaxTokens = *maxTokens
	}
	r.Options.Temperature = 1 // OpenAI's default
	if temperature != nil {
		if *temperature < 0 || *temperature > 2 {
			return badf("temperature %v: want 0 to 2", *temperature)
		}
		r.Options.Temperature = float32(*temperature)
	}
	if topP != nil {
		if *topP <= 0 || *topP > 1 {
			return badf("top_p %v: want above 0, at most 1", *topP)
		}
		r.Options.TopP = float32(*topP)
	}
	if seed != nil {
		if *seed < 0 {
			return badf("seed %d: want 0 or more", *seed)
		}
		r.Options.Seed = uint64(*seed)
	}
	if n != nil && *n != 1 {
		return badf("n %d: only n = 1 is supported", *n)
	}
	if len(stop) > 0 && string(stop) != "null" {
		var one string
		if json.Unmarshal(stop, &one) == nil {
			r.Options.Stop = []string{one}
		} else if err := json.Unmarshal(stop, &r.Options.Stop); err != nil {
			return badf("stop: want a string or an array of strings")
		}
		if len(r.Options.Stop) > 4 {
			return badf("stop: %d sequences, at most 4", len(r.Options.Stop))
		}
	}
	r.Options.NoLogprobs = !r.Logprobs
	r.Options.TokenIDs = r.TokenIDs
	return nil
}

// oneString reads a field that is a string or an array of one string.
func oneString(name string, raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", badf("%s is required", name)
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var ss []string
	if json.Unmarshal(raw, &ss) != nil {
		return "", badf("%s: want a string", name)
	}
	if len(ss) != 1 {
		return "", badf("%s: %d prompts, only one per request is supported", name, len(ss))
	}
	return ss[0], nil
}

// content reads a chat message's content: a string, or text parts.
func content(raw json.RawMessage) (string, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", fmt.Errorf("want a string or an array of text parts")
	}
	var b strings.Builder
	for i, p := range parts {
		if p.Type != "text" {
			return "", fmt.Errorf("part %d has type %q; only text is supported", i, p.Type)
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

// Responses.

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// completionLogprobs is the legacy completions log-probability block.
type completionLogprobs struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []float64            `json:"token_logprobs"`
	TopLogprobs   []map[string]float64 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}

type completionChoice struct {
	Text         string              `json:"text"`
	Index        int                 `json:"index"`
	Logprobs     *completionLogprobs `json:"logprobs"`
	FinishReason *string             `json:"finish_reason"`
}

type completionResponse struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []completionChoice `json:"choices"`
	Usage   *usage             `json:"usage,omitempty"`
}

// chatTokenLogprob is one token of the chat log-probability block.
type chatTokenLogprob struct {
	Token       string           `json:"token"`
	Logprob     float64          `json:"logprob"`
	Bytes       []int            `json:"bytes"`
	TopLogprobs []chatTopLogprob `json:"top_logprobs"`
}

type chatTopLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

type chatLogprobs struct {
	Content []chatTokenLogprob `json:"content"`
}

type chatMessageOut struct {
	Role    string `json:"role,omitempty"`
	Content string `json:"content"`
}

type chatChoice struct {
	Index        int             `json:"index"`
	Message      *chatMessageOut `json:"message,omitempty"`
	Delta        *chatMessageOut `json:"delta,omitempty"`
	Logprobs     *chatLogprobs   `json:"logprobs"`
	FinishReason *string         `json:"finish_reason"`
}

type chatResponse struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
	Usage   *usage       `json:"usage,omitempty"`
}

// tokenName is how a token is named on the wire: its text, or
// "token_id:N" when the caller asked for ids and the backend knows them.
func tokenName(t llm.TokenLogprob, ids bool) string {
	if ids && t.ID >= 0 {
		return "token_id:" + strconv.Itoa(t.ID)
	}
	return t.Text
}

func byteInts(s string) []int {
	out := make([]int, len(s))
	for i := range len(s) {
		out[i] = int(s[i])
	}
	return out
}

// completionLogprobsOf renders tokens (with their alternatives, if any) in
// the completions form; offset is the text offset of the first token.
func completionLogprobsOf(toks []llm.TokenLogprob, top [][]llm.TokenLogprob, ids bool, offset int) *completionLogprobs {
	lp := &completionLogprobs{Tokens: []string{}, TokenLogprobs: []float64{}, TextOffset: []int{}}
	for i, t := range toks {
		lp.Tokens = append(lp.Tokens, tokenName(t, ids))
		lp.TokenLogprobs = append(lp.TokenLogprobs, t.Logprob)
		lp.TextOffset = append(lp.TextOffset, offset)
		offset += len(t.Text)
		if i < len(top) {
			m := make(map[string]float64, len(top[i]))
			for _, a := range top[i] {
				m[tokenName(a, ids)] = a.Logprob
			}
			lp.TopLogprobs = append(lp.TopLogprobs, m)
		}
	}
	return lp
}

// chatLogprobsOf renders tokens in the chat form.
func chatLogprobsOf(toks []llm.TokenLogprob, top [][]llm.TokenLogprob, ids bool) *chatLogprobs {
	lp := &chatLogprobs{Content: []chatTokenLogprob{}}
	for i, t := range toks {
		c := chatTokenLogprob{Token: tokenName(t, ids), Logprob: t.Logprob, Bytes: byteInts(t.Text), TopLogprobs: []chatTopLogprob{}}
		if i < len(top) {
			for _, a := range top[i] {
				c.TopLogprobs = append(c.TopLogprobs, chatTopLogprob{Token: tokenName(a, ids), Logprob: a.Logprob, Bytes: byteInts(a.Text)})
			}
		}
		lp.Content = append(lp.Content, c)
	}
	return lp
}
