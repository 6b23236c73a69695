// Package scoring holds the validator's judgement, as pure functions and
// small self-contained types with no network I/O:
//
//   - reference evaluations: tasks with known answers generated from a seed
//     (RefTask, NewRefTask, RandomRefTask) and strict-then-flexible answer
//     checking (RefTask.Check, the Extract functions);
//   - story prompts for open-ended inference tasks (StoryPrompt);
//   - model verification: recomputing the declared model's log-probabilities
//     of a miner's tokens at sampled positions (VerifyTokens, TokenModel);
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
