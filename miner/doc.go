// Package miner is the miner daemon: an OpenAI-compatible axon that serves
// the subnet's validators, and only them, on a model backend.
//
// # Requests
//
// POST /v1/completions and /v1/chat/completions take OpenAI's wire format,
// streaming (server-sent events) or not, with log-probabilities when asked
// (logprobs; return_tokens_as_token_ids names tokens by id, as vLLM does, so
// a validator can recompute them). Each request passes, in order:
//
//  1. the signed-request check (protocol.Verifier): Epistula v2 headers,
//     time window, receiver, then the caller must be registered on the
//     subnet with a validator permit, or with Config.MinStake; replay and
//     signature, all before the body is read; then the bounded body;
//  2. a token-bucket rate limit per caller (429 rate_limited, Retry-After);
//  3. the request's own checks (400 bad_request, 404 model_not_found);
//  4. the queue: at most MaxConcurrent requests run on the backend, the
//     rest wait by the caller's stake, highest first; when MaxQueue are
//     waiting, a better-staked caller displaces the worst (503 queue_full),
//     and nobody waits past QueueTimeout (503 queue_timeout);
//  5. the backend, within RequestTimeout: a backend that is down answers
//     502 backend_error at once, a slow one 504 backend_timeout, never a
//     hang. A stream that fails midway ends with an error event.
//
// Every answer after step 1, errors included, is signed by the miner's
// hotkey for the caller, echoing the request's uuid: in the headers, or for
// a stream in HTTP trailers (protocol.StreamSigner). A validator therefore
// holds evidence of what the miner answered to each of its requests.
//
// # Backends
//
// Server forwards to any OpenAI-compatible model server (vLLM, Ollama,
// llama.cpp's server): the miner builds the request from the checked one
// (go-openai's encoding, with temperature 0 and the log-probability
// fields sent as they are). A non-streamed answer is checked and passed
// on byte for byte under the miner's signature, the server's own id and
// numbers included (its "model" is set to the configured model if the
// server named another); streams are read through go-openai and sent as
// the miner's own chunks. Builtin runs the built-in
// llama2.c engine on the CPU. OpenAIHandler serves a backend unsigned, as a
// model server would: package minertest uses it to stand a real HTTP server
// in for a GPU one in tests.
//
// # Operating
//
// Run is the daemon: it follows the subnet's metagraph from a node,
// serves, and publishes the axon on chain (serve_axon) once the hotkey is
// registered. /healthz, /readyz (metagraph, registration, backend) and
// /metrics (Prometheus: requests by status, rejections by reason, latency
// and first-chunk histograms, tokens and tokens/s, queue depth) are served
// beside the API.
package miner
