package minertest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/seed0ffb8d46/agora/llm"
)

// LlamaServer serves a real built-in model (*llm.Llama) behind the OpenAI
// API the way vLLM does, for tests of validators that score a miner's
// tokens through a model server:
//
//   - GET /v1/models;
//   - POST /v1/completions: prompt as text or as token ids (a list, or a
//     list of one list), max_tokens (default 16; 0 with echo scores the
//     prompt only), temperature (default 1), top_p, seed, logprobs (0 to
//     20), echo, return_tokens_as_token_ids and prompt_logprobs (0 to 20:
//     choices[0].prompt_logprobs, null for the first token, then a map
//     from token id to {"logprob", "rank", "decoded_token"} holding the
//     prompt's token and the most likely ones);
//   - POST /tokenize {"prompt", "add_special_tokens"} -> {"tokens",
//     "count", "max_model_len"} and POST /detokenize {"tokens"} ->
//     {"prompt"}, at the root as in vLLM.
//
// A prompt of token ids that is not the tokenizer's encoding of its text
// can only be continued at temperature 0 (sampling goes through
// (*llm.Llama).Generate, which encodes text), which is what scoring asks
// for. Errors are vLLM's: {"object": "error", "message", "type", "code"}.
// Safe for concurrent use.
type LlamaServer struct {
	m    *llm.Llama
	opts LlamaOptions
	mux  *http.ServeMux
	// Completions counts completion requests.
	Completions atomic.Int64
}

// LlamaOptions name the served model and make the server misbehave for
// tests.
type LlamaOptions struct {
	// Name is the model name served; default "babyllama105".
	Name string
	// NoPromptLogprobs ignores prompt_logprobs, as servers without vLLM's
	// extension do.
	NoPromptLogprobs bool
	// TokenShift makes the server's tokenizer number every token TokenShift
	// more than the model's own (modulo the vocabulary) in everything it
	// reads and writes: a server with another tokenizer.
	TokenShift int
}

// NewLlamaServer is a LlamaServer over m.
func NewLlamaServer(m *llm.Llama, opts LlamaOptions) *LlamaServer {
	if opts.Name == "" {
		opts.Name = "babyllama105"
	}
	s := &LlamaServer{m: m, opts: opts, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /v1/models", s.models)
	s.mux.HandleFunc("POST /v1/completions", s.completions)
	s.mux.HandleFunc("POST /tokenize", s.tokenize)
	s.mux.HandleFunc("POST /detokenize", s.detokenize)
	return s
}

// ServeLlama starts a LlamaServer over m on a loopback port. Close it when
// done; its URL plus "/v1" is the base URL for clients.
func ServeLlama(m *llm.Llama, opts LlamaOptions) *httptest.Server {
	return httptest.NewServer(NewLlamaServer(m, opts))
}

// ServeHTTP implements http.Handler.
func (s *LlamaServer) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// apiError is a request the server refuses, with its HTTP status.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// reply writes v, or err as vLLM writes its errors.
func reply(w http.ResponseWriter, v any, err error) {
	if err == nil {
		writeJSON(w, http.StatusOK, v)
		return
	}
	status, typ := http.StatusInternalServerError, "InternalServerError"
	var ae *apiError
	if errors.As(err, &ae) {
		status, typ = ae.status, "BadRequestError"
	}
	writeJSON(w, status, map[string]any{"object": "error", "message": err.Error(), "type": typ, "param": nil, "code": status})
}

func decode(r *http.Request, v any) error {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		return badRequest("body is not a valid request: %v", err)
	}
	return nil
}

// The server's token ids are the model's shifted by opts.TokenShift.

func (s *LlamaServer) vocab() int { return s.m.Config().VocabSize }

func (s *LlamaServer) out(id int) int {
	v := s.vocab()
	return ((id+s.opts.TokenShift)%v + v) % v
}

func (s *LlamaServer) in(ids []int) ([]int, error) {
	v := s.vocab()
	own := make([]int, len(ids))
	for i, id := range ids {
		if id < 0 || id >= v {
			return nil, badRequest("Token id %d is out of vocabulary", id)
		}
		own[i] = ((id-s.opts.TokenShift)%v + v) % v
	}
	return own, nil
}

func (s *LlamaServer) outAll(ids []int) []int {
	o := make([]int, len(ids))
	for i, id := range ids {
		o[i] = s.out(id)
	}
	return o
}

func (s *LlamaServer) models(w http.ResponseWriter, _ *http.Request) {
	reply(w, map[string]any{"object": "list", "data": []map[string]any{{
		"id": s.opts.Name, "object": "model", "created": 0, "owned_by": "agora", "max_model_len": s.m.Config().SeqLen,
	}}}, nil)
}

func (s *LlamaServer) tokenize(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Prompt           *string `json:"prompt"`
		AddSpecialTokens *bool   `json:"add_special_tokens"`
	}
	if err := decode(r, &in); err != nil {
		reply(w, nil, err)
		return
	}
	if in.Prompt == nil {
		reply(w, nil, badRequest("prompt is required"))
		return
	}
	ids, err := s.m.Tokenizer().Encode(*in.Prompt, in.AddSpecialTokens == nil || *in.AddSpecialTokens)
	if err != nil {
		reply(w, nil, badRequest("%v", err))
		return
	}
	reply(w, map[string]any{"count": len(ids), "max_model_len": s.m.Config().SeqLen, "tokens": s.outAll(ids)}, nil)
}

func (s *LlamaServer) detokenize(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Tokens []int `json:"tokens"`
	}
	if err := decode(r, &in); err != nil {
		reply(w, nil, err)
		return
	}
	ids, err := s.in(in.Tokens)
	if err != nil {
		reply(w, nil, err)
		return
	}
	reply(w, map[string]any{"prompt": s.m.Tokenizer().Decode(ids)}, nil)
}

// completionIn is the body of POST /v1/completions.
type completionIn struct {
	Prompt                 json.RawMessage `json:"prompt"`
	MaxTokens              *int            `json:"max_tokens"`
	Temperature            *float64        `json:"temperature"`
	TopP                   *float64        `json:"top_p"`
	Seed                   *int64          `json:"seed"`
	Logprobs               *int            `json:"logprobs"`
	PromptLogprobs         *int            `json:"prompt_logprobs"`
	Echo                   bool            `json:"echo"`
	ReturnTokensAsTokenIDs bool            `json:"return_tokens_as_token_ids"`
	Stream                 bool            `json:"stream"`
	N                      *int            `json:"n"`
	Stop                   json.RawMessage `json:"stop"`
}

// promptIDs reads a prompt given as text or as token ids (server ids):
// the model's ids, and the text when it was text.
func (s *LlamaServer) promptIDs(raw json.RawMessage) (ids []int, text string, isText bool, err error) {
	var str string
	var strs []string
	var list []int
	var lists [][]int
	switch {
	case json.Unmarshal(raw, &str) == nil:
	case json.Unmarshal(raw, &strs) == nil && len(strs) == 1:
		str = strs[0]
	case json.Unmarshal(raw, &list) == nil && len(list) > 0:
		ids, err = s.in(list)
		return ids, "", false, err
	case json.Unmarshal(raw, &lists) == nil && len(lists) == 1 && len(lists[0]) > 0:
		ids, err = s.in(lists[0])
		return ids, "", false, err
	default:
		return nil, "", false, badRequest("prompt: want a string or a list of token ids (one prompt per request)")
	}
	ids, err = s.m.Tokenizer().Encode(str, true)
	if err != nil {
		return nil, "", false, badRequest("%v", err)
	}
	return ids, str, true, nil
}

func optInt(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

func (s *LlamaServer) completions(w http.ResponseWriter, r *http.Request) {
	s.Completions.Add(1)
	v, err := s.complete(r)
	reply(w, v, err)
}

func (s *LlamaServer) complete(r *http.Request) (any, error) {
	var in completionIn
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	switch {
	case in.Stream:
		return nil, badRequest("stream is not supported by this test server")
	case in.N != nil && *in.N != 1:
		return nil, badRequest("n %d: only 1 is supported", *in.N)
	case len(in.Stop) > 0 && string(in.Stop) != "null" && string(in.Stop) != "[]":
		return nil, badRequest("stop is not supported by this test server")
	}
	ids, text, isText, err := s.promptIDs(in.Prompt)
	if err != nil {
		return nil, err
	}
	maxTokens := optInt(in.MaxTokens, 16)
	logprobs, promptLogprobs := optInt(in.Logprobs, -1), optInt(in.PromptLogprobs, -1)
	opts := llm.GenOptions{MaxTokens: maxTokens, Temperature: 1}
	switch {
	case maxTokens < 0 || (maxTokens == 0 && !in.Echo):
		return nil, badRequest("max_tokens %d: want at least 1 (0 only with echo)", maxTokens)
	case logprobs > 20 || promptLogprobs > 20:
		return nil, badRequest("logprobs and prompt_logprobs: at most 20 (max_logprobs)")
	case len(ids) >= s.m.Config().SeqLen && maxTokens > 0:
		return nil, badRequest("This model's maximum context length is %d tokens; the prompt has %d", s.m.Config().SeqLen, len(ids))
	}
	if in.Temperature != nil {
		if *in.Temperature < 0 || *in.Temperature > 2 {
			return nil, badRequest("temperature %v: want 0 to 2", *in.Temperature)
		}
		opts.Temperature = float32(*in.Temperature)
	}
	if in.TopP != nil {
		if *in.TopP <= 0 || *in.TopP > 1 {
			return nil, badRequest("top_p %v: want above 0, at most 1", *in.TopP)
		}
		opts.TopP = float32(*in.TopP)
	}
	if in.Seed != nil {
		opts.Seed = uint64(*in.Seed)
	}

	gen, finish, err := s.generate(r, ids, text, isText, opts)
	if err != nil {
		return nil, err
	}
	// Log-probabilities of prompt and answer from one pass over both.
	all := slices.Concat(ids, gen)
	k := max(logprobs, promptLogprobs, 0)
	var pl []llm.PositionLogprobs
	if logprobs >= 0 || (promptLogprobs >= 0 && !s.opts.NoPromptLogprobs) {
		if pl, err = s.m.PromptLogprobs(r.Context(), all, k); err != nil {
			return nil, fmt.Errorf("scoring the prompt: %w", err)
		}
	}
	tok := s.m.Tokenizer()
	answer := tok.Decode(all)[len(tok.Decode(ids)):]
	choice := map[string]any{"index": 0, "text": answer, "finish_reason": finish, "logprobs": nil}
	if in.Echo {
		choice["text"] = tok.Decode(ids) + answer
	}
	if logprobs >= 0 {
		from := len(ids)
		if in.Echo {
			from = 0
		}
		choice["logprobs"] = s.legacyLogprobs(all, pl, from, logprobs, in.ReturnTokensAsTokenIDs)
	}
	if promptLogprobs >= 0 && !s.opts.NoPromptLogprobs {
		choice["prompt_logprobs"] = s.promptLogprobs(ids, pl, promptLogprobs)
	}
	return map[string]any{
		"id": "cmpl-" + strconv.FormatInt(s.Completions.Load(), 10), "object": "text_completion",
		"created": time.Now().Unix(), "model": s.opts.Name, "choices": []any{choice},
		"usage": map[string]int{"prompt_tokens": len(ids), "completion_tokens": len(gen), "total_tokens": len(all)},
	}, nil
}

// generate continues the model's ids: through Generate when they are the
// encoding of a text (every option honoured), else greedily, one pass per
// token. As in vLLM, a stop token the model draws ends what it returns
// (and counts as a completion token), with no text.
func (s *LlamaServer) generate(r *http.Request, ids []int, text string, isText bool, opts llm.GenOptions) ([]int, string, error) {
	if opts.MaxTokens == 0 {
		return nil, llm.FinishLength, nil
	}
	tok := s.m.Tokenizer()
	if !isText && ids[0] == llm.BOSID {
		if re, err := tok.Encode(tok.Decode(ids), true); err == nil && slices.Equal(re, ids) {
			text, isText = tok.Decode(ids), true
		}
	}
	if isText {
		g, err := s.m.Generate(r.Context(), text, opts)
		if err != nil {
			return nil, "", fmt.Errorf("generating: %w", err)
		}
		out := make([]int, len(g.Tokens))
		for i, t := range g.Tokens {
			out[i] = t.ID
		}
		return out, g.FinishReason, nil
	}
	if opts.Temperature > 0 {
		return nil, "", badRequest("this test server samples only from a prompt given as text (or its exact encoding); use temperature 0")
	}
	var out []int
	seq := slices.Clone(ids)
	for len(out) < opts.MaxTokens && len(seq) < s.m.Config().SeqLen {
		pl, err := s.m.PromptLogprobs(r.Context(), seq, 1)
		if err != nil {
			return nil, "", fmt.Errorf("generating: %w", err)
		}
		next := pl[len(pl)-1].Top[0].ID
		out = append(out, next)
		if next == llm.BOSID || next == llm.EOSID {
			return out, llm.FinishStop, nil
		}
		seq = append(seq, next)
	}
	return out, llm.FinishLength, nil
}

// name is how a token is named in log-probabilities.
func (s *LlamaServer) name(t llm.TokenLogprob, ids bool) string {
	if ids {
		return "token_id:" + strconv.Itoa(s.out(t.ID))
	}
	return t.Text
}

// legacyLogprobs is the completions API's logprobs block for all[from:],
// from the distributions pl over all: the first token of the sequence has
// no log-probability.
func (s *LlamaServer) legacyLogprobs(all []int, pl []llm.PositionLogprobs, from, k int, ids bool) map[string]any {
	tokens, lps, tops, offsets := []string{}, []any{}, []any{}, []int{}
	offset := 0
	tok := s.m.Tokenizer()
	for i := from; i < len(all); i++ {
		prev := -1
		if i > 0 {
			prev = all[i-1]
		}
		t := llm.TokenLogprob{ID: all[i], Text: tok.Piece(prev, all[i])}
		offsets = append(offsets, offset)
		offset += len(t.Text)
		if i == 0 {
			tokens, lps, tops = append(tokens, s.name(t, ids)), append(lps, nil), append(tops, nil)
			continue
		}
		p := pl[i-1]
		t.Logprob = p.Sent.Logprob
		tokens, lps = append(tokens, s.name(t, ids)), append(lps, t.Logprob)
		m := map[string]float64{}
		for _, a := range p.Top[:min(k, len(p.Top))] {
			m[s.name(a, ids)] = a.Logprob
		}
		if k > 0 {
			m[s.name(t, ids)] = t.Logprob // as vLLM, the chosen token too
		}
		tops = append(tops, m)
	}
	return map[string]any{"tokens": tokens, "token_logprobs": lps, "top_logprobs": tops, "text_offset": offsets}
}

// promptLogprobs is vLLM's prompt_logprobs for the prompt ids.
func (s *LlamaServer) promptLogprobs(ids []int, pl []llm.PositionLogprobs, k int) []any {
	out := []any{nil}
	for i := 1; i < len(ids); i++ {
		p := pl[i-1]
		m := map[string]any{}
		entry := func(t llm.TokenLogprob, rank int) {
			m[strconv.Itoa(s.out(t.ID))] = map[string]any{"logprob": t.Logprob, "rank": rank, "decoded_token": t.Text}
		}
		for j, t := range p.Top[:min(k, len(p.Top))] {
			entry(t, j+1)
		}
		entry(p.Sent, p.SentRank)
		out = append(out, m)
	}
	return out
}
