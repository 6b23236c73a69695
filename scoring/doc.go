// Package scoring holds the validator's judgement, as pure functions and
// small self-contained types with no network I/O:
//
//   - the policy: every weight and threshold in one place (Policy,
//     DefaultPolicy), the judgement of one answer from what was observed and
//     the checks run on it (Policy.Judge: hard failures cost the window),
//     and the sharpening step from scores to weights (Policy.Weights);
//   - sampling verification: exact replay of the built-in engine's sampler
//     (CheckReplay) and statistical checks for model servers through their
//     prompt log-probabilities (CheckSampled, TokenModel), with the length
//     rule (CheckLength);
//   - copies within a round, on token runs (RoundCopies), for the
//     statistical path (exact replay needs none: a copy does not replay
//     under the copier's seed);
//   - story prompts for inference and reference tasks (StoryPrompt);
//   - p(useful), a calibrated online logistic regression over hashed n-grams
//     and quality features (among them the declared model's mean
//     log-probability and topicality), trained only from usefulness
//     outcomes (preferences of good labelers, reference results, an LLM
//     judge's verdicts) with a cap per miner (Useful, FeatureExtractor);
//   - label quality: trap accuracy times agreement with other miners on real
//     pairs (weighted, capped, robust to rings), time on task, position and
//     length bias, outlier voters and Krippendorff's alpha (AssessLabels);
//   - the moving averages a validator keeps per uid and task kind, and the
//     hard failures that zero them for the window (Scores).
//
// The validator no longer calls the text rules (RuleChecker: empty,
// gibberish, repetition, prompt echo): since issue 14 an answer is paid
// only when its tokens are the declared model's sample, which junk and
// echoes are not. The rules remain as a tool, and their statistics are
// p(useful)'s features. The SimHash copy index and the majority check of
// greedy answers are gone: RoundCopies and AnswerMemory replace them.
//
// Floats are fine here: scores become u16 weights in the validator, and
// nothing in this package feeds consensus.
package scoring
