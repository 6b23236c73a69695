package scoring

import (
	"errors"
	"fmt"
	"math"
)

// Task kinds: the keys of a validator's moving averages and of
// Policy.KindWeights.
const (
	KindInference  = "inference"  // story prompts, sampled with a per-miner seed and verified token by token
	KindReference  = "reference"  // greedy continuations of secret stories, compared with the validator's own
	KindPreference = "preference" // human preference labels, judged against traps
)

// Policy is every weight and threshold of a validator's judgement, in one
// place. DefaultPolicy is the one set of defaults; config and the daemons
// start from it. The zero value is not a policy: start from DefaultPolicy.
type Policy struct {
	// MaxTokens is the length of the completion an inference task asks
	// for. Honest answers end there or where the model itself stopped.
	MaxTokens int
	// Temperature and TopP are the sampling an inference task asks for:
	// above 0 so that each miner's seed gives its own answer, and a copy
	// of another miner's answer cannot replay under the copier's seed.
	Temperature, TopP float64
	// ReferenceTokens is the length of the greedy continuation a
	// reference task asks for; ReferencePromptTokens is about how long its
	// secret prompt is (the validator's own sample, cut at a word).
	ReferenceTokens, ReferencePromptTokens int

	// Replay tunes the exact check of the built-in engine's answers.
	Replay ReplayPolicy
	// Stat tunes the statistical checks of answers from model servers
	// (CheckSampled); StatPositions is how many positions of an answer
	// they check, chosen by a secret the miner never sees (0: every one).
	Stat          StatPolicy
	StatPositions int
	// CopyThreshold is the fraction of an answer's runs of words found in
	// an earlier answer of its round that makes it a copy (RoundCopies):
	// the statistical path's copy check. Honest 64-token samples of one
	// prompt from the demo's formulaic story model share up to 0.55 of
	// their 3-word runs; a copy with k of its n words changed keeps about
	// 1-3k/n of them.
	CopyThreshold float64

	// Quality of an answer that passed every hard check, in [0, 1]:
	// Base + Useful·p(useful) + Speed·(1 - latency/deadline). They add up
	// to 1. A verified answer is the declared model's own sample, so
	// p(useful) and speed only order honest miners a little; everything
	// that decides whether a miner is paid at all is a hard check.
	QualityBase, QualityUseful, QualitySpeed float64

	// KindWeights weigh the task kinds' moving averages into one score
	// (kinds with no weight, or never sent, do not count).
	KindWeights map[string]float64
	// Alpha is the moving average's weight of a new score, in (0, 1].
	Alpha float64
	// Sharpen is the exponent of the step from scores to weights: a uid's
	// weight is (score / best score)^Sharpen. At 4, a miner at 0.9 of the
	// best keeps 0.66 of its pay, at 0.75 keeps 0.32, at half keeps 0.06.
	// 1 is linear.
	Sharpen float64

	// KindMechanism is the incentive mechanism each kind pays through on
	// a subnet with more than one (kinds not named pay through mechanism
	// 0): labels are their own market. On a subnet with one mechanism
	// every kind weighs into its one vector by KindWeights.
	KindMechanism map[string]uint8
	// MechanismSharpen is the sharpening exponent of a mechanism, on a
	// subnet with more than one, where it is not Sharpen. Labels' default
	// is 2: a label score is an estimate from a few dozen labels, noisy
	// between careful labelers, and label cheats already score near 0 (the
	// product of skills), so the steep curve that makes a partly cheating
	// inference miner lose its pay would mostly pay careful labelers by
	// luck.
	MechanismSharpen map[uint8]float64

	// TrapMargin is how much more likely (in nats per token, under the
	// declared model at temperature 1) one verified answer to a prompt must
	// be than another for the pair to be a trap with a known answer
	// (PrefPair). Between two of the demo model's 64-token samples at the
	// tasks' temperature, 18% of pairs are 0.2 apart or more.
	TrapMargin float64
}

// ReplayPolicy tunes CheckReplay, the exact check of answers from the
// built-in engine.
type ReplayPolicy struct {
	// NearTie is the largest distance (in units of the sampler's coin, in
	// [0, 1]; at temperature 0, in logits) between the sampler's draw and
	// the sent token's interval that still accepts the token: a miner on
	// another CPU (fused multiply-add on arm64 or GOAMD64=v3) computes
	// logits a few ulps apart and may fall on the other side of a
	// boundary.
	NearTie float64
	// MaxNearTies is the most near-ties an answer may have: an honest
	// miner on another machine has one now and then; a forger that picks
	// tokens next to the sampler's has many.
	MaxNearTies int
}

// DefaultPolicy is the judgement a validator runs unless told otherwise.
func DefaultPolicy() Policy {
	return Policy{
		MaxTokens:             64,
		Temperature:           0.8,
		TopP:                  0.9,
		ReferenceTokens:       24,
		ReferencePromptTokens: 48,
		Replay:                ReplayPolicy{NearTie: 1e-4, MaxNearTies: 2},
		Stat:                  DefaultStatPolicy(),
		StatPositions:         0,
		CopyThreshold:         0.7,
		QualityBase:           0.7,
		QualityUseful:         0.2,
		QualitySpeed:          0.1,
		KindWeights:           map[string]float64{KindInference: 0.65, KindReference: 0.2, KindPreference: 0.15},
		Alpha:                 0.1,
		Sharpen:               4,
		KindMechanism:         map[string]uint8{KindPreference: 1},
		MechanismSharpen:      map[uint8]float64{1: 2},
		TrapMargin:            0.2,
	}
}

// Validate says what is wrong with p, if anything.
func (p Policy) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("scoring: policy: "+format, args...)) }
	if p.MaxTokens < 1 {
		bad("max_tokens %d is below 1", p.MaxTokens)
	}
	if !(p.Temperature > 0 && p.Temperature <= 2) {
		bad("temperature %v is not in (0, 2]: inference tasks must sample, so each miner's seed gives its own answer", p.Temperature)
	}
	if !(p.TopP > 0 && p.TopP <= 1) {
		bad("top_p %v is not in (0, 1]", p.TopP)
	}
	if p.ReferenceTokens < 1 || p.ReferencePromptTokens < 1 {
		bad("reference tasks need at least one token of prompt (%d) and of answer (%d)", p.ReferencePromptTokens, p.ReferenceTokens)
	}
	if !(p.Replay.NearTie >= 0 && p.Replay.NearTie < 0.5) || p.Replay.MaxNearTies < 0 {
		bad("replay near-tie %v must be in [0, 0.5) and its allowance %d at least 0", p.Replay.NearTie, p.Replay.MaxNearTies)
	}
	if err := p.Stat.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("scoring: policy: %w", err))
	}
	if p.StatPositions < 0 {
		bad("stat positions %d is below 0", p.StatPositions)
	}
	if !(p.CopyThreshold > 0 && p.CopyThreshold <= 1) {
		bad("copy threshold %v is not in (0, 1]", p.CopyThreshold)
	}
	for name, v := range map[string]float64{"quality_base": p.QualityBase, "quality_useful": p.QualityUseful, "quality_speed": p.QualitySpeed} {
		if !(v >= 0 && v <= 1) {
			bad("%s %v is not in [0, 1]", name, v)
		}
	}
	if s := p.QualityBase + p.QualityUseful + p.QualitySpeed; math.Abs(s-1) > 1e-9 {
		bad("quality_base, quality_useful and quality_speed add up to %.4g, not 1", s)
	}
	var total float64
	for k, w := range p.KindWeights {
		if !(w >= 0) || math.IsInf(w, 0) {
			bad("kind weight of %q is %v", k, w)
		}
		total += w
	}
	if !(total > 0) {
		bad("no task kind has a weight")
	}
	if !(p.Alpha > 0 && p.Alpha <= 1) {
		bad("alpha %v is not in (0, 1]", p.Alpha)
	}
	if !(p.Sharpen >= 1 && p.Sharpen <= 16) {
		bad("sharpen %v is not in [1, 16]", p.Sharpen)
	}
	if !(p.TrapMargin > 0) || math.IsInf(p.TrapMargin, 0) {
		bad("trap margin %v is not a number of nats above 0", p.TrapMargin)
	}
	for m, x := range p.MechanismSharpen {
		if m >= MaxMechanisms || !(x >= 1 && x <= 16) {
			bad("mechanism %d's sharpen %v: want a mechanism below %d and an exponent in [1, 16]", m, x, MaxMechanisms)
		}
	}
	for k, m := range p.KindMechanism {
		if m >= MaxMechanisms {
			bad("kind %q pays through mechanism %d; a subnet has at most %d", k, m, MaxMechanisms)
		}
	}
	return errors.Join(errs...)
}

// Quality is the score of an answer that passed every hard check, from its
// p(useful) and its latency as a fraction of the deadline (both clamped to
// [0, 1]).
func (p Policy) Quality(useful, latency float64) float64 {
	useful = ufClamp01(useful)
	latency = ufClamp01(latency)
	return p.QualityBase + p.QualityUseful*useful + p.QualitySpeed*(1-latency)
}

// Weights turns scores (by uid, in [0, 1]) into the weights a validator
// sets, before quantisation: (score / best)^Sharpen, 0 where the score is
// 0 or not a number. All zero when nothing scores.
func (p Policy) Weights(scores []float64) []float64 {
	return sharpen(scores, p.Sharpen)
}

// MechanismWeights is Weights for mechanism mech of a subnet with count
// mechanisms: with its own exponent (MechanismSharpen) when it has one and
// the subnet more than one mechanism.
func (p Policy) MechanismWeights(mech, count uint8, scores []float64) []float64 {
	if x, ok := p.MechanismSharpen[mech]; ok && count > 1 {
		return sharpen(scores, x)
	}
	return p.Weights(scores)
}

// sharpen is (score / best)^x, 0 where the score is 0 or not a number.
func sharpen(scores []float64, x float64) []float64 {
	out := make([]float64, len(scores))
	best := 0.0
	for _, s := range scores {
		if s > best {
			best = s
		}
	}
	if best <= 0 {
		return out
	}
	for i, s := range scores {
		if s > 0 {
			out[i] = math.Pow(s/best, x)
		}
	}
	return out
}

// MaxMechanisms is the most incentive mechanisms a subnet has (as the
// chain's mechanism_count).
const MaxMechanisms = 8

// MechanismKinds is the kind weights of mechanism mech on a subnet with
// count mechanisms: every kind for the one mechanism of a subnet with one;
// else the kinds KindMechanism sends to mech (a kind bound for a mechanism
// the subnet does not have pays through mechanism 0). Empty when no kind
// pays through mech.
func (p Policy) MechanismKinds(mech, count uint8) map[string]float64 {
	out := map[string]float64{}
	for k, w := range p.KindWeights {
		m := p.KindMechanism[k]
		if count <= 1 || m >= count {
			m = 0
		}
		if m == mech && w > 0 {
			out[k] = w
		}
	}
	return out
}

// SentKinds is p.KindWeights without the kinds a validator never sends
// (share 0): a kind never sent would be a row of zeros that lowers every
// miner alike.
func (p Policy) SentKinds(shares map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, w := range p.KindWeights {
		if w > 0 && shares[k] > 1e-9 {
			out[k] = w
		}
	}
	return out
}
