package api

// CompletionRequest is what a validator asks a miner at PathCompletions:
// one completion of Prompt, sampled with the given parameters, with every
// token's id and log-probability so that the answer can be verified.
//
// Every field is sent, zero or not: temperature 0 is greedy decoding, not
// OpenAI's default of 1.
type CompletionRequest struct {
	Prompt    string `json:"prompt"`
	MaxTokens int    `json:"max_tokens"`
	// Temperature and TopP are the sampler's; TopP is left out when 0
	// (the miner's default, no nucleus).
	Temperature float64 `json:"temperature"`
	TopP        float64 `json:"top_p,omitempty"`
	// Seed seeds the sampler: an OpenAI seed is a signed 64-bit integer,
	// so it is below 2^63.
	Seed uint64 `json:"seed"`
	// Logprobs is how many alternatives per token the answer lists
	// (0: the chosen token's log-probability alone).
	Logprobs int `json:"logprobs"`
	// TokenIDs asks for tokens named "token_id:N" in the answer's
	// log-probabilities (vLLM's extension), so that the validator knows
	// the exact ids.
	TokenIDs bool `json:"return_tokens_as_token_ids"`
}

// CompletionResponse is the part of a miner's answer at PathCompletions
// that a validator reads (OpenAI's completions object; a miner sends more).
type CompletionResponse struct {
	// Model is the model the miner declares it ran.
	Model   string             `json:"model"`
	Choices []CompletionChoice `json:"choices"`
}

// CompletionChoice is one completion of a CompletionResponse.
type CompletionChoice struct {
	Text string `json:"text"`
	// FinishReason is "stop" (the model ended) or "length" (max_tokens);
	// "" when the miner sent null.
	FinishReason string `json:"finish_reason"`
	// Logprobs is nil when the miner sent none.
	Logprobs *CompletionLogprobs `json:"logprobs"`
}

// CompletionLogprobs is the log-probability block of a completion, one
// entry per generated token.
type CompletionLogprobs struct {
	// Tokens name the tokens: their text, or "token_id:N" when the request
	// set TokenIDs.
	Tokens []string `json:"tokens"`
	// TokenLogprobs are the tokens' natural-log probabilities.
	TokenLogprobs []float64 `json:"token_logprobs"`
	// TopLogprobs are, per token, the most likely alternatives (named as
	// Tokens are) and their log-probabilities: the request's Logprobs of
	// them.
	TopLogprobs []map[string]float64 `json:"top_logprobs"`
}
