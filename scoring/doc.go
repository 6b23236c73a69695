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
//     statistical path;
//   - story prompts for inference and reference tasks (StoryPrompt);
//   - hard rules that reject junk before any model looks at it (RuleChecker:
//     empty, too short, gibberish, repetition, prompt echo);
//   - p(useful), a calibrated online logistic regression over hashed n-grams
//     and quality features, trained only from verified outcomes with a cap
//     per miner (Useful, FeatureExtractor);
//   - copies: SimHash near-duplicates across miners and over time, the
//     earliest signed answer keeping the credit (CopyIndex, Outliers);
//   - label quality: trap accuracy, agreement, time on task, position bias,
//     outlier voters and Krippendorff's alpha (AssessLabels);
//   - the moving averages a validator keeps per uid and task kind (Scores).
//
// Floats are fine here: scores become u16 weights in the validator, and
// nothing in this package feeds consensus.
package scoring
