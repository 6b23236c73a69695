// Package validator is the validator daemon: it queries the subnet's
// miners, scores their answers, keeps a durable moving average per uid, and
// sets weights on chain from it.
//
// # A step
//
// Every StepInterval the validator realigns its scores with the metagraph
// (a uid whose hotkey changed starts from zero), takes a sample of serving
// miners, least recently queried first, and sends all of them one task at
// once, each with its own deadline (QueryTimeout) and its latency measured
// from its own request:
//
//   - a story prompt (scoring.StoryPrompt), each miner with its own sampling
//     seed, so honest miners on one model still answer differently and an
//     identical answer is a copy; or
//   - in ReferenceShare of the steps, a task with a known answer
//     (scoring.RandomRefTask), where identical correct answers are expected;
//   - in RedundancyShare of the steps, one story prompt at temperature 0
//     with one seed for all: miners on the declared model agree, and the
//     answers outside the majority score 0 (scoring.Outliers). It checks
//     models the validator cannot run itself; there is no copy check, as
//     honest answers are identical.
//
// An answer to a story prompt scores 0 when the query failed (timeout,
// unreachable, an unsigned or badly signed answer, an error status), when a
// hard rule rejects it (empty, too short, gibberish, repetition, prompt
// echo), when it copies an earlier signed answer of another miner, or when
// the miner declares the model the validator runs (VerifyModel) and its
// tokens or log-probabilities do not check out against it (no token ids,
// text the tokens do not spell, log-probabilities that differ). Otherwise it
// scores 0.8·p(useful) + 0.2·speed, halved when the declared model is one
// the validator cannot check. A reference answer scores its correctness,
// with a tenth for speed.
//
// Scores update the moving average of their task kind for the uids queried
// only; the combined score weighs the kinds (KindWeights). Work that the
// validator's own shutdown cuts short (its context cancelled while queries
// are out or an answer is being verified) is discarded, never scored: only
// a miner's own failure, such as missing its deadline, scores 0. Outcomes the
// validator verified itself (rules, copies, verification) train the
// p(useful) classifier, each miner capped per window.
//
// # Durability
//
// The scores, the classifier and any weights commit awaiting its reveal are
// saved after every step to StatePath, atomically (temporary file, fsync,
// rename, fsync of the directory), and loaded before anything is saved. A
// restarted validator therefore resumes with the same scores and sets the
// same next weights; a state file it cannot read stops it, rather than
// letting it set weights from nothing.
//
// # Weights
//
// Every WeightsInterval blocks (at least the subnet's weights_rate_limit)
// the combined scores become a u16 vector: positive scores only, shares
// clipped to the subnet's max_weight_limit, checked against the subnet's
// rules with weights.Prepare before sending. A vector with nothing in it is
// never set. On a subnet with commit-reveal, the validator commits the
// vector's hash, saving the vector and salt first, and reveals it in the
// reveal epoch; StepInterval must be well below an epoch for the reveal to
// land in it.
//
// What to do about weights at a moment (wait, set, commit, reveal, or drop a
// commit the chain will never take, saying why) is decided by Next, a pure
// function of the chain's view, the pending commit and the time; the
// validator only gathers its inputs and carries its Action out.
package validator
