// Package llm runs language models for miners and checks their answers.
//
// The built-in engine (Llama, LoadLlama) is a float32 port of
// llama2.c's run.c: it loads any legacy ("v0") llama2.c checkpoint from a
// path, with the SentencePiece tokenizer (Tokenizer, LoadTokenizer) read
// from the model's tokenizer.model, and generates on the calling goroutine
// with greedy or seeded temperature/top-p sampling. Every generated token
// comes with its log-probability, and Score recomputes those for given
// tokens, so a validator running the same model can check a miner's output.
//
// Exact replay: the sampler's coin for generated token i is
// SampleCoin(seed, i), a pure function, so any position can be redrawn on
// its own. Prefill runs a prompt once; Prefix.Replay then recomputes, at
// every position of an answer to it, the token the sampler draws there
// given the tokens before, and how far the sent token is from being drawn.
// An honest answer replays exactly. Verifying an answer costs well under
// half of generating it when the round's answers to a prompt share its
// Prefix (BenchmarkVerifyVsGenerate): the answer's tokens are known, so
// they run batched.
//
// Determinism: each reduction sums in a fixed order on one goroutine and
// products are rounded before they are added, so greedy output and seeded
// samples repeat exactly. Known tokens (a prompt, an answer being checked)
// run in batches whose matrix products keep every sum's order, so a token's
// logits have the same bits alone or in a batch; on amd64 an SSE2 kernel
// (matmul_amd64.s) runs eight tokens at once, one per lane (the build tag
// purego leaves it out). Floats are fine here: nothing in this package
// feeds consensus.
//
// The demo model, babyllama105, lives in ../shared/models/babyllama105
// beside the repository; it is never committed into it.
package llm
