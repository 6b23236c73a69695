// Package validator is the validator daemon: it queries the subnet's
// miners, checks that what they hand in is work the declared model
// sampled, keeps a durable moving average per uid, and sets weights on
// chain from it. The judgement itself is package scoring's (Policy.Judge,
// CheckReplay, VerifySampled, RoundCopies); this package gathers what it
// judges from and carries its verdicts out.
//
// # The model it verifies with
//
// A validator needs its own copy of the model the subnet pays for
// (Config.VerifyModel, the name miners must declare): either the built-in
// engine on the same llama2.c checkpoint (Config.Exact), whose sampler it
// replays exactly, or a model server that returns prompt log-probabilities
// with top-k (Config.Stat, a scoring.TokenModel), whose answers it checks
// statistically. New refuses to start without one.
//
// # A step
//
// Every StepInterval the validator realigns its scores with the metagraph
// (a uid whose hotkey changed starts from zero), moves them to the current
// epoch, takes a sample of serving miners, least recently queried first,
// and sends all of them one task at once, each with its own deadline
// (QueryTimeout) and its latency measured from its own request:
//
//   - an inference task: one story prompt (scoring.StoryPrompt) for the
//     round, sampled at the policy's temperature and top_p, with a seed of
//     its own for each miner, derived from the round's seed and the uid
//     under the validator's secret (minerSeed): honest miners on one model
//     answer differently, an answer sampled under another miner's seed
//     does not replay under this one's, and no miner can work out another
//     miner's seed; or
//   - in ReferenceShare of the steps, a reference task: for each miner its
//     own secret prompt (a story the validator's own model samples from a
//     seed derived from a secret nobody else knows, cut after a different
//     word for each miner), to be continued greedily; the right answer is the declared
//     model's greedy continuation, which the validator computes itself as
//     it replays the answer; or
//   - in PreferenceShare of the steps, pairs of completions (traps among
//     them) for the miners' human labelers (see below).
//
// # Judging an answer
//
// For each answer, earliest received first:
//
//   - no answer (timeout, unreachable, an error status, an unsigned or
//     badly signed or malformed answer) scores 0 for that answer, with the
//     failure as its reason;
//   - an answer naming a model other than VerifyModel is a hard failure
//     (undeclared_model);
//   - otherwise its tokens are verified (verify). An answer without token
//     ids fails (sample_no_tokens). With the built-in engine the ids must
//     spell the text; the round's prompt is prefilled once and the sampler
//     replayed over each answer with the miner's own seed, temperature and
//     top_p (scoring.CheckReplay): every token must be the one the sampler
//     draws there, give or take a near-tie, and the answer must end at
//     max_tokens or where the sampler draws a stop. With a model server,
//     scoring.VerifySampled checks, at positions chosen by the validator's
//     secret (or all of them), that each token is inside the top_p nucleus
//     at the requested temperature, the argmax at temperature 0, that no
//     stop was skipped and the answer was not greedy when sampling was
//     asked; the answers to an inference round's prompt that pass are then
//     compared on runs of words (scoring.RoundCopies), a later
//     near-duplicate being a copy, and an answer handed in before (the
//     last 65,536 that passed, scoring.AnswerMemory) is a copy too.
//     Failing any of these is a hard failure, with the check's reason
//     prefixed "sample_" (sample_not_sampled, sample_early_stop,
//     sample_short, ...) or "copy";
//   - an answer that passes scores Policy.Quality: a base, plus p(useful)
//     and speed, which only order honest miners a little.
//
// A hard failure costs the miner the epoch: all its moving averages
// restart from 0 and its combined score is 0 until the next epoch
// (scoring.Scores.Fail). Why each answer scored as it did, with a detail
// saying where a check failed, is kept per miner for /scores (Report).
//
// A failure on the validator's own side (its model server down, its
// prefill failing) scores nobody. Work that the validator's own shutdown
// (its context cancelled while queries are out or an answer is being
// verified) cuts short is discarded, never scored: only a miner's own
// failure, such as missing its deadline, scores 0. A uid without an axon
// scores 0 in every kind each step, so a miner cannot keep its weight
// without serving.
//
// # p(useful)
//
// The classifier learns from usefulness outcomes only, never from
// "passed verification", which says an answer is the declared model's,
// not that it is useful: the chosen and rejected completions of labels
// from labelers who pass the quality checks, reference results (the
// declared model's verified greedy answer, right or wrong), and, with a
// Judge, an LLM's verdicts on JudgeShare of the answers that pass every
// check, asked in the background. Each miner's examples are capped per
// epoch.
//
// # Preference tasks
//
// In preference steps each miner sampled gets the same new pairs of
// completions, shown blind; labels are collected from the miners sampled
// at every step and scored for quality (traps, agreement, time on task,
// position bias: scoring.AssessLabels), which is the preference kind's
// score; the trap verdicts go back to the miners. Labels of labelers good
// enough to trust go to DatasetDir for `agora labels export`, whose Merkle
// root is committed on chain every DatasetEvery epochs.
//
// # Durability
//
// The scores, the classifier and any weights commit awaiting its reveal are
// saved after every step to StatePath, atomically (temporary file, fsync,
// rename, fsync of the directory), and loaded before anything is saved. A
// restarted validator therefore resumes with the same scores and sets the
// same next weights; a state file it cannot read stops it, rather than
// letting it set weights from nothing. A classifier of an older kind in the
// state is replaced by a new one.
//
// # Weights
//
// Scores update the moving average of their task kind for the uids queried
// only; the combined score weighs the kinds the validator sends
// (Policy.KindWeights). Every WeightsInterval blocks (at least the
// subnet's weights_rate_limit) the combined scores are sharpened
// (Policy.Weights: (score/best)^Sharpen) and become a u16 vector:
// positive weights only, shares clipped to the subnet's max_weight_limit,
// checked against the subnet's rules with weights.Prepare before sending.
// A vector with nothing in it is never set. On a subnet with
// commit-reveal, the validator commits the vector's hash, saving the
// vector and salt first, and reveals it in the reveal epoch; StepInterval
// must be well below an epoch for the reveal to land in it.
//
// What to do about weights at a moment (wait, set, commit, reveal, or drop a
// commit the chain will never take, saying why) is decided by Next, a pure
// function of the chain's view, the pending commit and the time; the
// validator only gathers its inputs and carries its Action out.
package validator
