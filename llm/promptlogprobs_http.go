package llm

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	openai "github.com/sashabaranov/go-openai"
)

// The PromptScorer of an OpenAI-compatible server, through vLLM's
// extensions (llama.cpp's server speaks the same /tokenize and /detokenize
// but returns no prompt log-probabilities):
//
//   - POST /tokenize {"model", "prompt", "add_special_tokens": true}
//     -> {"tokens": [...]}, at the server's root, not under /v1 (llama.cpp
//     reads "content" and "add_special", which are sent too);
//   - POST /detokenize {"model", "tokens"} -> {"prompt": "..."} (llama.cpp:
//     {"content": "..."});
//   - POST /v1/completions with the prompt as token ids, max_tokens 1,
//     temperature 0, prompt_logprobs k, logprobs k and
//     return_tokens_as_token_ids: choices[0].prompt_logprobs has an entry
//     per prompt token (null for the first), a map from token id to
//     {"logprob", "rank", "decoded_token"} holding that token and the k
//     most likely; choices[0].logprobs.top_logprobs[0] is the k most likely
//     after the whole prompt, keyed "token_id:N".

// StatusError is a server's answer with an HTTP status outside 2xx.
type StatusError struct {
	URL     string // the request's
	Status  int
	Message string // from the body: its error message, or an excerpt
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("llm: openai backend: POST %s: HTTP %d: %s", e.URL, e.Status, e.Message)
}

// rootURL is the server's root: the base URL without its /v1.
func (o *OpenAI) rootURL() string {
	return strings.TrimSuffix(o.baseURL, "/v1")
}

// postJSON posts req as JSON to url and decodes the answer into out. A
// status outside 2xx is a *StatusError; one that says a token is out of
// the vocabulary also wraps ErrBadToken.
func (o *OpenAI) postJSON(ctx context.Context, url string, req []byte, out any) error {
	hreq, err := o.newPost(ctx, url, req)
	if err != nil {
		return err
	}
	resp, err := o.hc.Do(hreq)
	if err != nil {
		return o.wrap(ctx, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return o.wrap(ctx, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &StatusError{URL: url, Status: resp.StatusCode, Message: errorBodyMessage(buf.Bytes())}
		if resp.StatusCode == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Message), "vocab") {
			return fmt.Errorf("%w (%w)", e, ErrBadToken)
		}
		return e
	}
	if err := json.Unmarshal(buf.Bytes(), out); err != nil {
		return fmt.Errorf("llm: openai backend: POST %s: malformed response: %w", url, err)
	}
	return nil
}

func checkNonNegative(ids []int) error {
	for i, id := range ids {
		if id < 0 {
			return fmt.Errorf("llm: token %d is id %d: %w", i, id, ErrBadToken)
		}
	}
	return nil
}

// Tokenize implements PromptScorer through the server's POST /tokenize,
// with the tokenizer's special tokens (BOS) added as for a prompt.
func (o *OpenAI) Tokenize(ctx context.Context, text string) ([]int, error) {
	req, err := json.Marshal(map[string]any{
		"model": o.model, "prompt": text, "add_special_tokens": true,
		"content": text, "add_special": true, // llama.cpp's names
	})
	if err != nil {
		return nil, fmt.Errorf("llm: openai backend %s: encoding /tokenize: %w", o.baseURL, err)
	}
	var out struct {
		Tokens *[]int `json:"tokens"`
	}
	url := o.rootURL() + "/tokenize"
	if err := o.postJSON(ctx, url, req, &out); err != nil {
		return nil, err
	}
	if out.Tokens == nil {
		return nil, fmt.Errorf("llm: openai backend: POST %s: malformed response: no tokens", url)
	}
	return *out.Tokens, nil
}

// Detokenize implements PromptScorer through the server's POST
// /detokenize. Negative ids, and ids the server says are out of its
// vocabulary, are errors wrapping ErrBadToken.
func (o *OpenAI) Detokenize(ctx context.Context, ids []int) (string, error) {
	if err := checkNonNegative(ids); err != nil {
		return "", err
	}
	req, err := json.Marshal(map[string]any{"model": o.model, "tokens": ids})
	if err != nil {
		return "", fmt.Errorf("llm: openai backend %s: encoding /detokenize: %w", o.baseURL, err)
	}
	var out struct {
		Prompt  *string `json:"prompt"`
		Content *string `json:"content"` // llama.cpp
	}
	url := o.rootURL() + "/detokenize"
	if err := o.postJSON(ctx, url, req, &out); err != nil {
		return "", err
	}
	switch {
	case out.Prompt != nil:
		return *out.Prompt, nil
	case out.Content != nil:
		return *out.Content, nil
	}
	return "", fmt.Errorf("llm: openai backend: POST %s: malformed response: no prompt", url)
}

// serverLogprob is one entry of vLLM's prompt_logprobs.
type serverLogprob struct {
	Logprob      *float64 `json:"logprob"`
	Rank         *int     `json:"rank"`
	DecodedToken *string  `json:"decoded_token"`
}

// promptLogprobsResponse is what PromptLogprobs reads of a completion.
type promptLogprobsResponse struct {
	Choices []struct {
		PromptLogprobs []map[string]serverLogprob `json:"prompt_logprobs"`
		Logprobs       *struct {
			TopLogprobs []map[string]float64 `json:"top_logprobs"`
		} `json:"logprobs"`
	} `json:"choices"`
}

// PromptLogprobs implements PromptScorer through POST /completions with
// vLLM's prompt_logprobs (see the comment at the top of this file); k is
// at most the server's max_logprobs (20 unless vLLM was started with
// another). A server that answers without prompt log-probabilities, or
// without the distribution after the last id, gives an error wrapping
// ErrNoLogprobs; negative ids, and ids the server calls out of its
// vocabulary, one wrapping ErrBadToken.
func (o *OpenAI) PromptLogprobs(ctx context.Context, ids []int, k int) ([]PositionLogprobs, error) {
	if len(ids) == 0 {
		return nil, fmt.Errorf("llm: openai backend %s: prompt log-probabilities of no tokens", o.baseURL)
	}
	if k < 1 {
		return nil, fmt.Errorf("llm: openai backend %s: prompt log-probabilities with k = %d, want at least 1", o.baseURL, k)
	}
	if err := checkNonNegative(ids); err != nil {
		return nil, err
	}
	// go-openai encodes what it knows; temperature 0 (which its omitempty
	// drops) and vLLM's extensions are added as they are.
	body, err := json.Marshal(openai.CompletionRequest{Model: o.model, Prompt: ids, MaxTokens: 1})
	if err == nil {
		kk := strconv.Itoa(k)
		body, err = withFields(body, explicit(nil).add("temperature", "0").add("logprobs", kk).
			add("prompt_logprobs", kk).add("return_tokens_as_token_ids", "true"))
	}
	if err != nil {
		return nil, fmt.Errorf("llm: openai backend %s: encoding the request: %w", o.baseURL, err)
	}
	url := o.baseURL + "/completions"
	var resp promptLogprobsResponse
	if err := o.postJSON(ctx, url, body, &resp); err != nil {
		return nil, err
	}
	malformed := func(format string, args ...any) error {
		return fmt.Errorf("llm: openai backend: POST %s: malformed response: %s", url, fmt.Sprintf(format, args...))
	}
	if len(resp.Choices) == 0 {
		return nil, malformed("no choices")
	}
	c := resp.Choices[0]
	if c.PromptLogprobs == nil {
		return nil, fmt.Errorf("llm: openai backend: POST %s: the server returned no prompt_logprobs (vLLM returns them; this server may not): %w", url, ErrNoLogprobs)
	}
	if len(c.PromptLogprobs) != len(ids) {
		return nil, malformed("%d prompt_logprobs for %d prompt tokens", len(c.PromptLogprobs), len(ids))
	}
	out := make([]PositionLogprobs, len(ids))
	for i := range len(ids) - 1 {
		entry := c.PromptLogprobs[i+1]
		if entry == nil {
			return nil, malformed("prompt_logprobs[%d] is null", i+1)
		}
		p, err := positionFromServer(entry, ids[i+1], k)
		if err != nil {
			return nil, malformed("prompt_logprobs[%d]: %v", i+1, err)
		}
		out[i] = p
	}
	if c.Logprobs == nil || len(c.Logprobs.TopLogprobs) == 0 || c.Logprobs.TopLogprobs[0] == nil {
		return nil, fmt.Errorf("llm: openai backend: POST %s: the server returned no top log-probabilities after the prompt: %w", url, ErrNoLogprobs)
	}
	last := PositionLogprobs{Sent: TokenLogprob{ID: -1, Logprob: math.NaN()}}
	for key, lp := range c.Logprobs.TopLogprobs[0] {
		t := tokenLogprob(key, nil, lp)
		if t.ID < 0 {
			return nil, malformed("top_logprobs names token %q, not token_id:N (the server ignored return_tokens_as_token_ids)", key)
		}
		if err := checkLogprob(lp); err != nil {
			return nil, malformed("top_logprobs[0][%q]: %v", key, err)
		}
		last.Top = append(last.Top, t)
	}
	last.Top = bestK(last.Top, k)
	out[len(ids)-1] = last
	return out, nil
}

// positionFromServer turns one prompt_logprobs entry, which must hold sent,
// into a PositionLogprobs.
func positionFromServer(entry map[string]serverLogprob, sent, k int) (PositionLogprobs, error) {
	var p PositionLogprobs
	found := false
	for key, v := range entry {
		id, err := strconv.Atoi(key)
		if err != nil || id < 0 {
			return p, fmt.Errorf("key %q is not a token id", key)
		}
		if v.Logprob == nil {
			return p, fmt.Errorf("token %d has no logprob", id)
		}
		if err := checkLogprob(*v.Logprob); err != nil {
			return p, fmt.Errorf("token %d: %v", id, err)
		}
		t := TokenLogprob{ID: id, Logprob: *v.Logprob}
		if v.DecodedToken != nil {
			t.Text = *v.DecodedToken
		}
		if id == sent {
			found = true
			p.Sent = t
			if v.Rank != nil {
				p.SentRank = *v.Rank
			}
			// The sent token is among the top only when its rank says so
			// (or, without a rank, when it sorts among them).
			if v.Rank != nil && *v.Rank > k {
				continue
			}
		}
		p.Top = append(p.Top, t)
	}
	if !found {
		return p, fmt.Errorf("no entry for the prompt's token %d", sent)
	}
	p.Top = bestK(p.Top, k)
	return p, nil
}

// checkLogprob rejects values no log-probability can have (vLLM sends
// -9999 for -inf).
func checkLogprob(lp float64) error {
	if math.IsNaN(lp) || math.IsInf(lp, 0) || lp > 1e-6 {
		return fmt.Errorf("log-probability %v", lp)
	}
	return nil
}

// bestK sorts ts most likely first (lower id on ties) and keeps k.
func bestK(ts []TokenLogprob, k int) []TokenLogprob {
	slices.SortFunc(ts, func(a, b TokenLogprob) int {
		return cmp.Or(cmp.Compare(b.Logprob, a.Logprob), cmp.Compare(a.ID, b.ID))
	})
	return ts[:min(k, len(ts))]
}
