package scoring

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Vote is a pairwise preference on the ordinal scale A better < tie < B better, the scale on
// which label agreement is measured. "Both bad" has no place of its own on that scale and is
// treated as a tie: the labeler preferred neither completion.
type Vote int8

const (
	// VoteA means completion "a" is better.
	VoteA Vote = 0
	// VoteTie means neither completion is better (a tie, or both bad).
	VoteTie Vote = 1
	// VoteB means completion "b" is better.
	VoteB Vote = 2
)

// ParseVote maps a labelling-page choice ("a", "b", "tie", "both_bad") to a Vote; "both_bad"
// becomes VoteTie. Any other string is an error.
func ParseVote(choice string) (Vote, error) {
	switch choice {
	case "a":
		return VoteA, nil
	case "b":
		return VoteB, nil
	case "tie", "both_bad":
		return VoteTie, nil
	}
	return 0, fmt.Errorf("scoring: unknown label choice %q (want a, b, tie or both_bad)", choice)
}

// LabelObs is one label as the validator sees it: which labeler of which miner judged which
// item, what they chose, how it was shown and how long they took. Choice, TrapAnswer, ShownLeft
// and Longer name completions ("a", "b"), not screen positions, so labels by different people
// on the same Item are comparable whatever order each was shown.
type LabelObs struct {
	// Item identifies the comparison (prompt and the two completions); labels with equal Item
	// are labels of the same thing.
	Item string
	// Labeler identifies the person; it is scoped to Miner, since miners issue labeler tokens.
	Labeler string
	// Miner is the miner (hotkey or uid as a string) whose labelling page produced the label.
	Miner string
	// Choice is "a", "b", "tie" or "both_bad".
	Choice string
	// ShownLeft is the completion ("a" or "b") shown on the left; empty when unknown, in which
	// case the label does not count towards position bias.
	ShownLeft string
	// Longer is the completion ("a" or "b") that is longer in characters; empty when the two
	// are equally long or it is unknown, in which case the label does not count towards
	// length bias.
	Longer string
	// TimeOnTaskMs is how long the labeler spent, in milliseconds, as the validator measured
	// it; 0 or less means unknown and counts as implausible.
	TimeOnTaskMs int64
	// TextLen is the length in characters of the prompt plus both completions.
	TextLen int
	// Trap marks an item whose right answer the validator knows (one completion a real but
	// worse answer, as Dojo does).
	Trap bool
	// TrapAnswer is the right Choice for a trap ("a" or "b" usually); ignored unless Trap.
	TrapAnswer string
}

// LabelOptions tunes LabelerQualities and AssessLabels. Start from DefaultLabelOptions; every
// field must be set (the zero value is rejected).
type LabelOptions struct {
	// MaxCharsPerSec is the fastest plausible reading speed: a label is implausibly fast when
	// TimeOnTaskMs < max(MinTimeMs, 1000·TextLen/MaxCharsPerSec). Default 50.
	MaxCharsPerSec float64
	// MinTimeMs is the least plausible time on task in milliseconds, whatever the text
	// length. Default 1000.
	MinTimeMs int64
	// TrapChance is the trap accuracy of a labeler who ignores the content (0.5: clicking A or
	// B blindly). Trap skill is accuracy above this. Default 0.5; must be in [0, 1).
	TrapChance float64
	// PriorStrength is the number of pseudo-observations that shrink trap skill and
	// consensus skill towards 0, so 1 trap out of 1 is not perfect skill: skill·n/(n + s).
	// Default 2 (for traps that is a Beta(1, 1) prior when TrapChance is 0.5).
	PriorStrength float64
	// SkillZ is the z-score at which consensus skill counts in full in Skill (and a miner's
	// trap skill in its consensus weight): when its evidence is weaker (KappaZ or the miner's
	// pooled TrapZ below SkillZ) it is scaled by z/SkillZ, so what a blind clicker gains by
	// luck on a few dozen items counts for little. Default 2.
	SkillZ float64
	// PositionZ is the binomial z-score at which position bias counts in full; below it the
	// penalty is scaled by |z|/PositionZ. Default 3.
	PositionZ float64
	// LengthZ is the same for length bias (preferring the longer, or the shorter, side).
	// Default 3.
	LengthZ float64
	// ConsensusOtherMiners makes the consensus for a label come only from labelers of other
	// miners, so a miner cannot manufacture agreement with its own sock puppets. When false,
	// only the labeler's own label is left out. Default true.
	ConsensusOtherMiners bool
	// MaxMinerConsensusShare is the most of an item's consensus weight one miner may hold:
	// with k miners of total weight W in an item's consensus, a miner's weight is cut to
	// max(MaxMinerConsensusShare, 1/k)·W, and what is cut abstains. It is not shared out:
	// that would hand a trusted miner's weight to untrusted ones, which a ring of them could
	// then outvote it with. With 2–3 miners the cap is 1/k, an equal share, so it binds only
	// on a miner that outweighs the rest together; miners of equal weight are never cut.
	// Default 0.25. Must be in (0, 1]. The same cap applies to each miner's weight in a
	// labeler's PeerKappa.
	MaxMinerConsensusShare float64
	// ConsensusRounds is how many times the consensus is computed: the first round weighs
	// other miners by traps and conduct alone, each later round also by their PeerKappa
	// standing in the round before (see LabelerQuality). Default 4: in simulation a ring of 3
	// miners of 8 that answers traps right and votes by a shared rule keeps 0.6 of a careful
	// miner's score after 2 rounds, 0.47 after 3 and 0.23 after 4, where it stays. At least 1.
	ConsensusRounds int
	// OutlierAlpha is the level of the sequential outlier-voter test: a labeler is flagged
	// when the test statistic exceeds 1/OutlierAlpha. Default 0.01: Chatbot Arena uses 0.05,
	// which in simulation flags about 3% of careful labelers, too many when a flag halves
	// the score; at 0.01 none of 280 simulated careful labelers was flagged.
	OutlierAlpha float64
	// OutlierMinVotes is the least number of testable votes (votes on real pairs with a
	// consensus) before the sequential test runs; OutlierMaxVotes is how many of them it
	// walks. Defaults 5 and 100, as Chatbot Arena.
	OutlierMinVotes, OutlierMaxVotes int
	// OutlierAgreementZ flags a labeler whose agreement with consensus is this many standard
	// errors below the rest of the population's. Default 3.
	OutlierAgreementZ float64
	// OutlierPenalty multiplies the Score of a flagged labeler. Default 0.5; must be in
	// [0, 1].
	OutlierPenalty float64

	// CopyMinShared, CopyDisagreementRatio and CopyZ set the test for miners whose labels
	// were not made independently (one person's labels submitted by several miners; see
	// LabelerQuality.CopyMates): two miners are copies when they shared at least
	// CopyMinShared real pairs and disagreed on them CopyZ standard errors less often than
	// CopyDisagreementRatio times the population's typical disagreement. Defaults 30, 0.75
	// and 3.5. CopyMinShared at least 1, CopyDisagreementRatio in (0, 1], CopyZ positive.
	CopyMinShared         int
	CopyDisagreementRatio float64
	CopyZ                 float64
	// CopyPenalty multiplies the Score of a labeler whose miner has copy mates, before
	// MinerLabelScores shares the cluster's score among them. Default 0.5; must be in [0, 1]. Sharing alone would make copying free to try: caught,
	// the cluster earns what the person would have earned alone, and any miss is profit. The
	// penalty makes an attempt cost, as OutlierPenalty does for an outlier; it falls on the
	// original too, since its labels cannot be copied before submission without its consent.
	CopyPenalty float64
}

// DefaultLabelOptions returns the defaults documented on LabelOptions.
func DefaultLabelOptions() LabelOptions {
	return LabelOptions{
		MaxCharsPerSec:         50,
		MinTimeMs:              1000,
		TrapChance:             0.5,
		PriorStrength:          2,
		SkillZ:                 2,
		PositionZ:              3,
		LengthZ:                3,
		ConsensusOtherMiners:   true,
		MaxMinerConsensusShare: 0.25,
		ConsensusRounds:        4,
		OutlierAlpha:           0.01,
		OutlierMinVotes:        5,
		OutlierMaxVotes:        100,
		OutlierAgreementZ:      3,
		OutlierPenalty:         0.5,
		CopyMinShared:          30,
		CopyDisagreementRatio:  0.75,
		CopyZ:                  3.5,
		CopyPenalty:            0.5,
	}
}

func (o LabelOptions) validate() error {
	bad := func(name string, v any) error {
		return fmt.Errorf("scoring: label options: bad %s %v", name, v)
	}
	switch {
	case !(o.MaxCharsPerSec > 0) || math.IsInf(o.MaxCharsPerSec, 0):
		return bad("MaxCharsPerSec", o.MaxCharsPerSec)
	case o.MinTimeMs < 0:
		return bad("MinTimeMs", o.MinTimeMs)
	case !(o.TrapChance >= 0 && o.TrapChance < 1):
		return bad("TrapChance", o.TrapChance)
	case !(o.PriorStrength >= 0) || math.IsInf(o.PriorStrength, 0):
		return bad("PriorStrength", o.PriorStrength)
	case !(o.SkillZ > 0) || math.IsInf(o.SkillZ, 0):
		return bad("SkillZ", o.SkillZ)
	case !(o.PositionZ > 0):
		return bad("PositionZ", o.PositionZ)
	case !(o.LengthZ > 0):
		return bad("LengthZ", o.LengthZ)
	case !(o.MaxMinerConsensusShare > 0 && o.MaxMinerConsensusShare <= 1):
		return bad("MaxMinerConsensusShare", o.MaxMinerConsensusShare)
	case o.ConsensusRounds < 1:
		return bad("ConsensusRounds", o.ConsensusRounds)
	case !(o.OutlierAlpha > 0 && o.OutlierAlpha < 1):
		return bad("OutlierAlpha", o.OutlierAlpha)
	case o.OutlierMinVotes < 1 || o.OutlierMaxVotes < o.OutlierMinVotes:
		return bad("OutlierMinVotes/OutlierMaxVotes", [2]int{o.OutlierMinVotes, o.OutlierMaxVotes})
	case !(o.OutlierAgreementZ > 0):
		return bad("OutlierAgreementZ", o.OutlierAgreementZ)
	case !(o.OutlierPenalty >= 0 && o.OutlierPenalty <= 1):
		return bad("OutlierPenalty", o.OutlierPenalty)
	case o.CopyMinShared < 1:
		return bad("CopyMinShared", o.CopyMinShared)
	case !(o.CopyDisagreementRatio > 0 && o.CopyDisagreementRatio <= 1):
		return bad("CopyDisagreementRatio", o.CopyDisagreementRatio)
	case !(o.CopyZ > 0) || math.IsInf(o.CopyZ, 0):
		return bad("CopyZ", o.CopyZ)
	case !(o.CopyPenalty >= 0 && o.CopyPenalty <= 1):
		return bad("CopyPenalty", o.CopyPenalty)
	}
	return nil
}

// LabelerQuality is what the labels of one labeler say about them. All fractions are in [0, 1].
//
// The combined score is
//
//	Skill = TrapSkill · ConsensusSkill·min(1, KappaZ⁺/SkillZ)
//	Score = Skill · PlausibleFrac · PositionFactor · LengthFactor · (OutlierPenalty if Outlier)
//	        · (CopyPenalty if CopyMates)
//
// with z⁺ = max(0, z). Both skills are chance-corrected (0 = no better than blind clicking,
// 1 = perfect) and shrunk towards 0 by n/(n + PriorStrength); consensus skill counts in full
// only once it is SkillZ standard errors above chance, since κ near 0 is noisy and a product
// with a high trap skill would otherwise pay for luck.
//
// Skill is a product, not a mean (TrapWeight and ConsensusWeight are gone), because the two signals are evidence about different items
// and an attacker can behave differently on each: traps are the only ground truth but are a
// fifth of the items, and a labeler who can tell them apart (a leak, a pattern in how they are
// made) could answer them right and click at random on the rest, keeping most of a mean; real
// pairs have no known answer, only the crowd's, which a ring voting by a shared rule can agree
// with while failing every trap. The product is 0 when either is 0 and needs no common scale
// (a careful labeler's κ against a noisy crowd is well below its trap skill, so min() would
// ignore the traps entirely). A missing signal counts as 0: a labeler with no traps, or with
// no real pair that trusted other miners also labelled, has not shown quality yet.
//
// ConsensusSkill is measured on real pairs only (traps are left out, or spotting them would
// buy agreement too), against other miners in a way that cannot be captured:
//   - the labeler's own miner never counts (ConsensusOtherMiners);
//   - each other miner's labelers are one vote on an item (their plurality, split on a tie),
//     however many labelers it has;
//   - each other miner is weighted: first by its trap-based weight, its pooled TrapSkill
//     times min(1, TrapZ⁺/SkillZ) times its labelers' label-weighted mean of PlausibleFrac·
//     PositionFactor·LengthFactor, so miners that fail traps or click by side or length carry
//     little or no weight; then by that times its standing with the other miners (below);
//   - no miner counts for more than MaxMinerConsensusShare of an item's total weight;
//   - the consensus on an item is the distribution of that capped weight over the votes, and
//     a label agrees with it by the share of the weight that voted the same (a soft
//     agreement); ConsensusSkill comes from the labeler's κ against it over all its real
//     pairs. A hard plurality would let a block of small weight decide every item on which
//     honest votes split evenly, and agree with itself there; with shares it gains only its
//     share.
//
// Trap-based weights alone leave one hole: a ring that can tell traps (a leak, a pattern in
// how they are made), answers them right and votes by a shared rule on real pairs has full
// weight, votes as a block, and outvotes honest labelers, whose votes are noisy, on most
// items; its members then agree with "the consensus" and honest labelers do not. So the
// weights are computed in rounds (ConsensusRounds): after the first, each miner's weight is
// its trap-based weight times its labelers' mean consensus standing in the round before,
// measured not against the pooled vote but as the weighted median over the other miners of
// the labeler's κ with each (PeerKappa). A ring member agrees perfectly with its mates and not
// at all with everyone else, so its median is near 0 unless the ring holds half the trusted
// weight; an honest labeler agrees moderately with every honest miner. Each round the ring's
// weight shrinks, and with it its say in its members' medians. The median is noisy
// (few items per pair) and so only decides whose votes count; the score uses the κ against
// the item consensus. A round that would leave fewer than two miners of positive weight (of
// those with a positive trap-based weight) is skipped, keeping the weights of the round
// before: with one weighted miner left no one else has a consensus, and in a small network
// (two careful miners with few items, whose PeerLower is below 0 for want of items) every
// score would fall to 0.
//
// A lone labelling miner (or one whose only peers weigh 0) has no consensus and scores 0,
// however good its traps: quality must be shown on real pairs too, and on traps alone a
// miner that spots traps and clicks at random on the rest cannot be told from a careful
// one. No fallback to trap skill is made for it.
//
// Labels not made independently. One person's labels submitted by several miners (sybils,
// or a miner relaying its labels to others, each showing the sides in its own order) would
// count in full in each other's consensus and PeerKappa, agree perfectly there, and be paid
// once per miner. So, before the rounds, every pair of miners is compared on the real pairs
// both labelled (each miner's vote its labelers' plurality, split on a tie): with n such
// pairs and D the summed disagreement (for each, the share of the two votes that differ),
// the two are copies when n ≥ CopyMinShared and
//
//	D < n·θ − CopyZ·√(n·θ·(1 − θ)),   θ = CopyDisagreementRatio·Dref,
//
// a one-sided binomial test that they disagree less often than independent labelers
// could. Dref, the typical disagreement rate of independent careful labelers, is the median
// of D/n over the tested pairs whose miners both have at least half the largest trap-based
// weight (a pair with a clicker disagrees half the time, and would make careful miners look
// like copies), taken again without the pairs the first pass flagged so that a cluster of
// copies does not pull it towards its own agreement; with no such pair (no traps yet) the
// test flags nobody. Copies are joined
// transitively into clusters; in a cluster each miner's mates never count in its
// consensus or its PeerKappa, in everyone else's the members share one miner's weight
// (each has its weight divided by the cluster's size), every member lists its mates in
// CopyMates (and reads "copies labels of …"), its labelers' Scores are multiplied by
// CopyPenalty, and MinerLabelScores shares the cluster's score among its members. The
// test cannot tell the original from a copy, and does not try: copying a label needs it
// before it is submitted, which needs the original's consent.
//
// Why these thresholds: people judging two answers to the same prompt disagree often. In
// simulation (TestLabelCopyFalsePositives) a careful labeler is right on 70–85% of real
// pairs (78–93% for a sharper one), two careful miners disagree on 28–50% of the pairs they
// share (about 200 in 900 items) and Dref is 0.35–0.43, so θ ≈ 0.3. Over 30 seeds careful
// pairs fell between 0.1 standard errors below θ and 6 above, far from the line at −3.5,
// while copies that flip 5–10% of their labels disagreed on 3–23% of their shared pairs,
// 2–9 standard errors below θ; a pair of copies that is missed (between −2 and −3.5) is
// still joined to its cluster through a mate it is closer to. CopyMinShared = 30 keeps
// the normal approximation honest; with 30 shared pairs an independent pair would need
// almost no disagreement at all to be flagged. In 60 seeds of 7 markets (2 820 careful miners, some of
// them sharper than the rest) no careful miner was flagged, and every copying sybil was. The
// rule misjudges two cases: two independent labelers that disagree with each other less
// than 0.75 times as often as the typical pair (experts in a crowd of novices) are taken for
// copies; and when copies hold more than half of the tested pairs the median is theirs and
// the test finds nothing.
type LabelerQuality struct {
	// Miner and Labeler identify the labeler (labeler names are scoped to their miner).
	Miner, Labeler string
	// Labels is the number of labels.
	Labels int

	// Traps and TrapCorrect count trap labels and the right ones among them.
	Traps, TrapCorrect int
	// TrapAccuracy is the shrunk trap accuracy, the posterior mean
	// (TrapCorrect + s·TrapChance)/(Traps + s) with s = PriorStrength; TrapChance when
	// Traps is 0.
	TrapAccuracy float64
	// TrapSkill is (TrapAccuracy − TrapChance)/(1 − TrapChance), clipped at 0.
	TrapSkill float64
	// TrapZ is the binomial z-score of TrapCorrect against blind clicking,
	// (TrapCorrect − Traps·c)/√(Traps·c·(1 − c)) with c = TrapChance; 0 when Traps is 0, and
	// +Inf when c is 0 and some trap is right.
	TrapZ float64

	// Implausible counts labels submitted faster than the reading-speed bound (or with no time).
	Implausible int
	// PlausibleFrac is 1 − Implausible/Labels.
	PlausibleFrac float64
	// MedianCharsPerSec is the median reading speed TextLen/time over labels with a time; 0
	// when none has one.
	MedianCharsPerSec float64

	// Decisive counts labels that chose a or b with a known ShownLeft; LeftPicks counts those
	// that chose the completion shown on the left.
	Decisive, LeftPicks int
	// LeftFrac is LeftPicks/Decisive (0.5 when Decisive is 0).
	LeftFrac float64
	// PositionZ is the binomial test statistic (LeftPicks − Decisive/2)/(√Decisive/2) against
	// an unbiased 0.5; 0 when Decisive is 0.
	PositionZ float64
	// PositionFactor is 1 − |2·LeftFrac − 1|·min(1, |PositionZ|/opts.PositionZ): 1 for no
	// detectable bias, 0 for someone who always clicks the same side.
	PositionFactor float64

	// LengthDecisive counts labels on real pairs (not traps, whose lengths are the
	// validator's construction) that chose a or b with a known Longer; LongerPicks counts those
	// that chose the longer completion.
	LengthDecisive, LongerPicks int
	// LongerFrac is LongerPicks/LengthDecisive (0.5 when LengthDecisive is 0).
	LongerFrac float64
	// LengthZ is (LongerPicks − LengthDecisive/2)/(√LengthDecisive/2); 0 when LengthDecisive
	// is 0.
	LengthZ float64
	// LengthFactor is 1 − |2·LongerFrac − 1|·min(1, |LengthZ|/opts.LengthZ): 1 for no
	// detectable length bias, 0 for someone who always picks the longer (or the shorter) side.
	LengthFactor float64

	// PeerMiners is how many other miners of positive weight labelled some of the same real
	// pairs as the labeler.
	PeerMiners int
	// PeerKappa is the weighted median (the midpoint when the weight splits exactly in half),
	// over those miners, in the last round, of Cohen's κ between the
	// labeler's votes and that miner's votes (its plurality on each item) on the real pairs
	// both labelled; each miner weighs its consensus weight times n/(n + PriorStrength) for its
	// n shared labels, capped at MaxMinerConsensusShare (or 1/PeerMiners if larger) of the
	// total. 0 when PeerMiners is 0.
	PeerKappa float64
	// PeerLower is PeerKappa − 1/√n, with n the labels shared with the median miner (the
	// fewer of the two at a midpoint): about one standard error below it, since κ's standard
	// error with no agreement beyond chance is about 1/√n for two-way choices. A miner's
	// standing for the next round is its labelers' label-weighted mean of max(0, PeerLower):
	// a lower bound, so the noise in a median over few items per pair does not count as
	// agreement.
	PeerLower float64

	// Shared counts labels on real pairs (not traps) that at least one other miner of
	// positive weight also labelled: labels with a consensus.
	Shared int
	// Agree sums, over those labels, the consensus share of the labeler's vote: the capped
	// weight of the other miners that voted the same over the capped weight of all.
	Agree float64
	// Agreement is Agree/Shared (0 when Shared is 0).
	Agreement float64
	// Kappa is Cohen's κ between the labeler's votes and the consensus on those labels:
	// (Agreement − pe)/(1 − pe), with pe = Σ_x (the labeler's share of votes x)·(the mean
	// consensus share of x), the agreement the two marginal distributions give by chance. 0
	// when undefined (no shared labels, or both concentrated on one vote).
	Kappa float64
	// KappaZ is κ over its large-sample standard error when there is no agreement beyond
	// chance, κ·√(Shared·(1 − pe)/pe) with pe the chance agreement (Cohen 1960); 0 when
	// undefined.
	KappaZ float64
	// ConsensusSkill is max(0, Kappa)·Shared/(Shared + PriorStrength).
	ConsensusSkill float64
	// AgreementZ is (Agree − Shared·p)/√(Shared·p·(1−p)), with p the agreement rate of all
	// other labelers; 0 when undefined.
	AgreementZ float64

	// OutlierE is the largest value reached by the Chatbot Arena sequential outlier statistic
	// (see Outlier); 0 when the test did not run.
	OutlierE float64
	// Outlier is set when the labeler is an outlier voter: the sequential test crossed
	// 1/OutlierAlpha, or AgreementZ < −OutlierAgreementZ.
	//
	// The sequential test (Chatbot Arena's elo_analysis.outlier_detect) walks the labeler's
	// testable votes (real pairs with a consensus) in input order; for a vote v on an item
	// whose consensus, from k ≥ 1 other miners, gives vote x the capped weight share C_x, it
	// takes p_x = (k·C_x + 0.5)/(k + 1.5) (Arena's smoothing, with miners as voters),
	// multiplies M⁺ by 1/(2·P(X ≤ v)) and M⁻ by 1/(2·P(X ≥ v)), and flags as soon as either
	// exceeds 1/OutlierAlpha.
	Outlier bool

	// CopyMates are the other miners whose labels are copies of this labeler's miner's, or
	// it of theirs (see above), sorted; nil when there are none.
	CopyMates []string

	// Skill is the product of the trap and the evidence-scaled consensus skill described above.
	Skill float64
	// Score is the combined quality in [0, 1] described above.
	Score float64
	// Reasons says, for a miner to read, what held Score down, most important first: "no
	// traps yet", "traps 4/12" (TrapSkill under 1/2), "no consensus yet" (Shared is 0),
	// "agreement kappa 0.02" (consensus part of Skill under 1/5), "implausibly
	// fast 80%" (PlausibleFrac under
	// 0.9), "position bias 0.95 left", "longer side 0.90" or "shorter side 0.90" (factor
	// under 0.9), "outlier voter", "copies labels of m1, m2" (CopyMates; the miner's score
	// is shared with them). Empty when nothing did.
	Reasons []string
}

// MinerLabelScore is a miner's label-task score: how good the labels its labelers produced are.
type MinerLabelScore struct {
	// Miner identifies the miner, as in LabelObs.Miner.
	Miner string
	// Labelers and Labels count the miner's labelers and their labels.
	Labelers, Labels int
	// Score is SoloScore for a miner with no copy mates. For a cluster of N miners whose
	// labels are copies of each other's (see LabelerQuality.CopyMates) it is the mean of
	// their SoloScores divided by N: together they earn what one of them would alone.
	Score float64
	// SoloScore is the label-weighted mean of the labelers' scores, Σ Labels·Score /
	// Σ Labels, in [0, 1]: the expected quality of one of the miner's labels. Volume is not
	// rewarded here.
	SoloScore float64
	// CopyMates is the miner's copy mates (LabelerQuality.CopyMates), sorted and joined by
	// ", "; empty when it has none.
	CopyMates string
}

// LabelReport is everything AssessLabels computes.
type LabelReport struct {
	// Labelers holds one entry per (Miner, Labeler), sorted by Miner then Labeler.
	Labelers []LabelerQuality
	// Miners holds one entry per miner, sorted by Miner.
	Miners []MinerLabelScore
	// AlphaOrdinal and AlphaNominal are Krippendorff's α over all labels (units are items,
	// values are votes, A < tie < B); both are 0 when AlphaDefined is false.
	AlphaOrdinal, AlphaNominal float64
	// AlphaDefined reports whether α exists (see ErrAlphaUndefined).
	AlphaDefined bool
}

// AssessLabels computes labeler qualities, miner label scores and the overall agreement of a
// batch of labels. obs is not modified; the result depends on its order only through the
// sequential outlier test, which walks each labeler's labels in the order given (oldest first
// is the intended order).
func AssessLabels(obs []LabelObs, opts LabelOptions) (LabelReport, error) {
	q, err := LabelerQualities(obs, opts)
	if err != nil {
		return LabelReport{}, err
	}
	r := LabelReport{Labelers: q, Miners: MinerLabelScores(q)}
	ord, err := LabelAlpha(obs, AlphaOrdinal)
	if err == nil {
		nom, _ := LabelAlpha(obs, AlphaNominal)
		r.AlphaOrdinal, r.AlphaNominal, r.AlphaDefined = ord, nom, true
	} else if !errors.Is(err, ErrAlphaUndefined) {
		return LabelReport{}, err
	}
	return r, nil
}

// LabelAlpha returns Krippendorff's α for the labels with items as units and votes (A = 0,
// tie and both-bad = 1, B = 2) as values; see KrippendorffAlpha for the errors.
func LabelAlpha(obs []LabelObs, metric AlphaMetric) (float64, error) {
	items := make(map[string]int)
	var units [][]int
	for i, ob := range obs {
		v, err := ParseVote(ob.Choice)
		if err != nil {
			return 0, fmt.Errorf("scoring: label %d: %w", i, err)
		}
		u, ok := items[ob.Item]
		if !ok {
			u = len(units)
			items[ob.Item] = u
			units = append(units, nil)
		}
		units[u] = append(units[u], int(v))
	}
	return KrippendorffAlpha(units, metric)
}

type lqKey struct{ miner, labeler string }

// lqVotes counts one miner's votes on one item.
type lqVotes struct {
	miner int
	n     [3]int32
}

// lqAcc accumulates one labeler's signals.
type lqAcc struct {
	q          LabelerQuality
	miner      int
	obs        []int
	rates      []float64
	pl         [3]int     // the labeler's votes on shared labels
	pc         [3]float64 // the consensus shares of each vote, summed over shared labels
	testable   int
	mUp, mDown float64
	maxE       float64
	flagged    bool
}

// lqTable is a batch of labels parsed and indexed.
type lqTable struct {
	votes     []Vote
	itemOf    []int
	itemVotes [][]lqVotes // per item, one entry per miner that labelled it
	itemTrap  []bool      // per item, whether it is a trap
	accs      []*lqAcc
	miners    int
	// minerNames[m] is miner m's name; cluster[m] its copy cluster (the least miner index
	// in it) and mates[m] the names of the other miners in it (see findCopies).
	minerNames []string
	cluster    []int
	mates      [][]string
}

// newLQTable parses and indexes obs; see LabelerQualities for the errors.
func newLQTable(obs []LabelObs) (*lqTable, error) {
	t := &lqTable{votes: make([]Vote, len(obs)), itemOf: make([]int, len(obs))}
	items := make(map[string]int)
	miners := make(map[string]int)
	labelers := make(map[lqKey]int)
	side := func(s string) bool { return s == "" || s == "a" || s == "b" }
	for i := range obs {
		ob := &obs[i]
		if ob.Item == "" || ob.Labeler == "" {
			return nil, fmt.Errorf("scoring: label %d: empty item or labeler", i)
		}
		v, err := ParseVote(ob.Choice)
		if err != nil {
			return nil, fmt.Errorf("scoring: label %d: %w", i, err)
		}
		if !side(ob.ShownLeft) {
			return nil, fmt.Errorf("scoring: label %d: shown left %q is not a or b", i, ob.ShownLeft)
		}
		if !side(ob.Longer) {
			return nil, fmt.Errorf("scoring: label %d: longer %q is not a or b", i, ob.Longer)
		}
		if ob.Trap {
			if _, err := ParseVote(ob.TrapAnswer); err != nil {
				return nil, fmt.Errorf("scoring: label %d: trap answer: %w", i, err)
			}
		}
		t.votes[i] = v
		it, ok := items[ob.Item]
		if !ok {
			it = len(t.itemVotes)
			items[ob.Item] = it
			t.itemVotes = append(t.itemVotes, nil)
			t.itemTrap = append(t.itemTrap, false)
		}
		t.itemTrap[it] = t.itemTrap[it] || ob.Trap
		t.itemOf[i] = it
		m, ok := miners[ob.Miner]
		if !ok {
			m = len(miners)
			miners[ob.Miner] = m
			t.minerNames = append(t.minerNames, ob.Miner)
		}
		iv := t.itemVotes[it]
		j := slices.IndexFunc(iv, func(e lqVotes) bool { return e.miner == m })
		if j < 0 {
			j = len(iv)
			t.itemVotes[it] = append(iv, lqVotes{miner: m})
		}
		t.itemVotes[it][j].n[v]++
		k := lqKey{ob.Miner, ob.Labeler}
		l, ok := labelers[k]
		if !ok {
			l = len(t.accs)
			labelers[k] = l
			t.accs = append(t.accs, &lqAcc{q: LabelerQuality{Miner: ob.Miner, Labeler: ob.Labeler}, miner: m})
		}
		t.accs[l].obs = append(t.accs[l].obs, i)
	}
	t.miners = len(miners)
	return t, nil
}

// LabelerQualities returns the quality of every labeler in obs, sorted by Miner then Labeler;
// LabelerQuality documents each signal and the combined Score. It fails on a label with an
// empty Item or Labeler, an unknown Choice, a ShownLeft or Longer other than "", "a" or "b",
// or a trap with an unknown TrapAnswer, and on bad options. obs is not modified.
func LabelerQualities(obs []LabelObs, opts LabelOptions) ([]LabelerQuality, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	t, err := newLQTable(obs)
	if err != nil {
		return nil, err
	}
	for _, a := range t.accs {
		a.ownSignals(obs, t.votes, opts)
	}
	// The first round weighs miners by their traps and conduct alone, each later one also by
	// how well they agreed with the others in the round before (see LabelerQuality).
	base := t.minerWeights(opts)
	t.findCopies(base, opts)
	for _, a := range t.accs {
		a.q.CopyMates = t.mates[a.miner]
	}
	weights := slices.Clone(base)
	// A copy cluster is one labeling source: in the consensus and PeerKappa of the miners
	// outside it, its members share one miner's weight.
	size := make([]int, t.miners)
	for m := range size {
		size[t.cluster[m]]++
	}
	shared := make([]float64, t.miners)
	cons := lqConsensus{cluster: t.cluster}
	for round := range opts.ConsensusRounds {
		if round > 0 {
			t.reweigh(base, weights, opts)
		}
		for m := range shared {
			shared[m] = weights[m] / float64(size[t.cluster[m]])
		}
		for _, a := range t.accs {
			a.agreement(obs, t, shared, &cons, opts)
		}
	}

	// Agreement z-scores compare each labeler with everyone else.
	var allAgree float64
	var allShared int
	for _, a := range t.accs {
		allAgree += a.q.Agree
		allShared += a.q.Shared
	}
	out := make([]LabelerQuality, len(t.accs))
	for l, a := range t.accs {
		a.finish(allAgree, allShared, opts)
		out[l] = a.q
	}
	slices.SortFunc(out, func(x, y LabelerQuality) int {
		return cmp.Or(cmp.Compare(x.Miner, y.Miner), cmp.Compare(x.Labeler, y.Labeler))
	})
	return out, nil
}

// ownSignals computes what a labeler's labels say on their own: traps, time, position and
// length bias.
func (a *lqAcc) ownSignals(obs []LabelObs, votes []Vote, opts LabelOptions) {
	q := &a.q
	for _, i := range a.obs {
		ob := &obs[i]
		v := votes[i]
		q.Labels++
		if ob.Trap {
			q.Traps++
			if ob.Choice == ob.TrapAnswer {
				q.TrapCorrect++
			}
		}
		floor := max(float64(opts.MinTimeMs), 1000*float64(ob.TextLen)/opts.MaxCharsPerSec)
		if ob.TimeOnTaskMs <= 0 || float64(ob.TimeOnTaskMs) < floor {
			q.Implausible++
		}
		if ob.TimeOnTaskMs > 0 {
			a.rates = append(a.rates, 1000*float64(ob.TextLen)/float64(ob.TimeOnTaskMs))
		}
		if v == VoteTie {
			continue
		}
		if ob.ShownLeft != "" {
			q.Decisive++
			if ob.Choice == ob.ShownLeft {
				q.LeftPicks++
			}
		}
		if ob.Longer != "" && !ob.Trap {
			q.LengthDecisive++
			if ob.Choice == ob.Longer {
				q.LongerPicks++
			}
		}
	}
	q.TrapAccuracy, q.TrapSkill, q.TrapZ = lqTrapSkill(q.TrapCorrect, q.Traps, opts)
	q.PlausibleFrac = 1 - float64(q.Implausible)/float64(q.Labels)
	if len(a.rates) > 0 {
		q.MedianCharsPerSec = lqMedian(a.rates)
	}
	q.LeftFrac, q.PositionZ, q.PositionFactor = lqBias(q.LeftPicks, q.Decisive, opts.PositionZ)
	q.LongerFrac, q.LengthZ, q.LengthFactor = lqBias(q.LongerPicks, q.LengthDecisive, opts.LengthZ)
}

// minerWeights returns each miner's weight in the consensus (see LabelerQuality): its pooled
// trap skill, scaled by the evidence for it, times its labelers' label-weighted mean of
// PlausibleFrac·PositionFactor·LengthFactor. It needs ownSignals done.
func (t *lqTable) minerWeights(opts LabelOptions) []float64 {
	traps := make([]int, t.miners)
	correct := make([]int, t.miners)
	labels := make([]int, t.miners)
	conduct := make([]float64, t.miners)
	for _, a := range t.accs {
		q := &a.q
		traps[a.miner] += q.Traps
		correct[a.miner] += q.TrapCorrect
		labels[a.miner] += q.Labels
		conduct[a.miner] += float64(q.Labels) * q.PlausibleFrac * q.PositionFactor * q.LengthFactor
	}
	w := make([]float64, t.miners)
	for m := range w {
		_, skill, z := lqTrapSkill(correct[m], traps[m], opts)
		w[m] = skill * lqEvidence(z, opts.SkillZ) * conduct[m] / float64(labels[m])
	}
	return w
}

// reweigh sets each miner's consensus weight to its trap-based weight in base times its
// labelers' standing in the last agreement pass (see LabelerQuality.PeerLower), unless that
// would leave fewer than two miners (of those with a positive base weight) with a positive
// weight; then it leaves weights as they are.
func (t *lqTable) reweigh(base, weights []float64, opts LabelOptions) {
	labels := make([]int, t.miners)
	cons := make([]float64, t.miners)
	for _, a := range t.accs {
		q := &a.q
		labels[a.miner] += q.Labels
		cons[a.miner] += float64(q.Labels) * max(0, q.PeerLower)
	}
	next := make([]float64, len(weights))
	had, have := 0, 0
	for m := range next {
		next[m] = base[m] * cons[m] / float64(labels[m])
		if base[m] > 0 {
			had++
		}
		if next[m] > 0 {
			have++
		}
	}
	if have < min(2, had) {
		return
	}
	copy(weights, next)
}

// findCopies sets t.cluster and t.mates: miners whose labels were not made independently
// share a cluster (see LabelerQuality). base is each miner's trap-based weight.
func (t *lqTable) findCopies(base []float64, opts LabelOptions) {
	m := t.miners
	t.cluster = make([]int, m)
	t.mates = make([][]string, m)
	for i := range m {
		t.cluster[i] = i
	}
	// Shared real pairs and summed disagreement of each pair of miners a < b, at a·m + b.
	n := make([]float64, m*m)
	d := make([]float64, m*m)
	var vs [][3]float64
	for it, item := range t.itemVotes {
		if t.itemTrap[it] || len(item) < 2 {
			continue
		}
		vs = vs[:0]
		for _, e := range item {
			v, _ := lqSplit(e.n)
			vs = append(vs, v)
		}
		for x := range item {
			for y := x + 1; y < len(item); y++ {
				a, b := item[x].miner, item[y].miner
				if a > b {
					a, b = b, a
				}
				same := vs[x][0]*vs[y][0] + vs[x][1]*vs[y][1] + vs[x][2]*vs[y][2]
				n[a*m+b]++
				d[a*m+b] += 1 - same
			}
		}
	}
	type pair struct {
		a, b    int
		n, d    float64
		trusted bool
		copies  bool
	}
	// The reference for independent agreement: pairs of miners that both
	// showed care on traps, at least half the trap-based weight of the
	// most careful. A pair with a clicker disagrees half the time and
	// would make two independent careful miners look like copies (with
	// two careful miners and one clicker, the median pair is a clicker's).
	// With no such pair there is no reference, and nobody is flagged.
	var top float64
	for _, w := range base {
		top = max(top, w)
	}
	var pairs []pair
	for a := range m {
		for b := a + 1; b < m; b++ {
			if k := n[a*m+b]; k >= float64(opts.CopyMinShared) {
				trusted := top > 0 && base[a] >= top/2 && base[b] >= top/2
				pairs = append(pairs, pair{a: a, b: b, n: k, d: d[a*m+b], trusted: trusted})
			}
		}
	}
	var rates []float64
	for range 2 {
		rates = rates[:0]
		for _, p := range pairs {
			if p.trusted && !p.copies {
				rates = append(rates, p.d/p.n)
			}
		}
		if len(rates) == 0 {
			break
		}
		theta := opts.CopyDisagreementRatio * lqMedian(rates)
		for j := range pairs {
			p := &pairs[j]
			p.copies = p.d < p.n*theta-opts.CopyZ*math.Sqrt(p.n*theta*(1-theta))
		}
	}
	root := func(i int) int {
		for t.cluster[i] != i {
			t.cluster[i] = t.cluster[t.cluster[i]]
			i = t.cluster[i]
		}
		return i
	}
	for _, p := range pairs {
		if p.copies {
			if ra, rb := root(p.a), root(p.b); ra != rb {
				t.cluster[max(ra, rb)] = min(ra, rb)
			}
		}
	}
	for i := range m {
		t.cluster[i] = root(i)
	}
	for i := range m {
		for j := range m {
			if j != i && t.cluster[j] == t.cluster[i] {
				t.mates[i] = append(t.mates[i], t.minerNames[j])
			}
		}
		slices.Sort(t.mates[i])
	}
}

// agreement compares the labeler's votes on real pairs with the other miners' (see
// LabelerQuality), and runs the sequential outlier test on them; it sets the consensus
// fields of the labeler anew on every call.
func (a *lqAcc) agreement(obs []LabelObs, t *lqTable, weights []float64, cons *lqConsensus, opts LabelOptions) {
	q := &a.q
	threshold := 1 / opts.OutlierAlpha
	q.Shared, q.Agree = 0, 0
	a.pl, a.pc, a.testable, a.maxE, a.flagged = [3]int{}, [3]float64{}, 0, 0, false
	a.mUp, a.mDown = 1, 1
	for _, i := range a.obs {
		if obs[i].Trap {
			continue
		}
		v := t.votes[i]
		dist, k := cons.of(t.itemVotes[t.itemOf[i]], a.miner, v, weights, opts)
		if k == 0 {
			continue
		}
		q.Shared++
		q.Agree += dist[v]
		a.pl[v]++
		for x := range 3 {
			a.pc[x] += dist[x]
		}
		for j, m := range cons.miners {
			cons.peer(m).add(v, cons.v[j])
		}
		a.testable++
		if a.flagged || a.testable > opts.OutlierMaxVotes {
			continue
		}
		var pUp, pDown float64 // P(X ≤ v), P(X ≥ v)
		n := float64(k)
		for x := range Vote(3) {
			p := (n*dist[x] + 0.5) / (n + 1.5)
			if x <= v {
				pUp += p
			}
			if x >= v {
				pDown += p
			}
		}
		a.mUp /= 2 * pUp
		a.mDown /= 2 * pDown
		a.maxE = max(a.maxE, a.mUp, a.mDown)
		if a.mUp > threshold || a.mDown > threshold {
			a.flagged = true
		}
	}
	var n float64
	q.PeerMiners, q.PeerKappa, n = cons.peerKappa(weights, opts)
	q.PeerLower = 0
	if n > 0 {
		q.PeerLower = q.PeerKappa - 1/math.Sqrt(n)
	}
}

// finish computes κ, the outlier flags, Skill, Score and Reasons; allAgree and allShared sum
// Agree and Shared over all labelers.
func (a *lqAcc) finish(allAgree float64, allShared int, opts LabelOptions) {
	q := &a.q
	if q.Shared > 0 {
		n := float64(q.Shared)
		q.Agreement = q.Agree / n
		pe := 0.0
		for x := range 3 {
			pe += float64(a.pl[x]) * a.pc[x] / (n * n)
		}
		if 1-pe > 1e-12 {
			q.Kappa = (q.Agreement - pe) / (1 - pe)
			if pe > 0 {
				q.KappaZ = q.Kappa * math.Sqrt(n*(1-pe)/pe)
			}
		}
		q.ConsensusSkill = max(0, q.Kappa) * n / (n + opts.PriorStrength)
		if rest := allShared - q.Shared; rest > 0 {
			p := (allAgree - q.Agree) / float64(rest)
			if p > 0 && p < 1 {
				q.AgreementZ = (q.Agree - n*p) / math.Sqrt(n*p*(1-p))
			}
		}
	}
	if a.testable >= opts.OutlierMinVotes {
		q.OutlierE = a.maxE
		q.Outlier = a.flagged
	}
	if q.AgreementZ < -opts.OutlierAgreementZ {
		q.Outlier = true
	}
	trapPart := q.TrapSkill
	consPart := q.ConsensusSkill * lqEvidence(q.KappaZ, opts.SkillZ)
	q.Skill = trapPart * consPart
	q.Score = q.Skill * q.PlausibleFrac * q.PositionFactor * q.LengthFactor
	if q.Outlier {
		q.Score *= opts.OutlierPenalty
	}
	if len(q.CopyMates) > 0 {
		q.Score *= opts.CopyPenalty
	}
	q.Score = min(1, max(0, q.Score))
	q.Reasons = q.reasons(trapPart, consPart)
}

// reasons lists what held the score down, as documented on LabelerQuality.Reasons.
func (q *LabelerQuality) reasons(trapPart, consPart float64) []string {
	var rs []string
	if len(q.CopyMates) > 0 {
		rs = append(rs, "copies labels of "+strings.Join(q.CopyMates, ", "))
	}
	switch {
	case q.Traps == 0:
		rs = append(rs, "no traps yet")
	case trapPart < 0.5:
		rs = append(rs, fmt.Sprintf("traps %d/%d", q.TrapCorrect, q.Traps))
	}
	switch {
	case q.Shared == 0:
		rs = append(rs, "no consensus yet")
	case consPart < 0.2:
		rs = append(rs, fmt.Sprintf("agreement kappa %.2f", q.Kappa))
	}
	if q.PlausibleFrac < 0.9 {
		rs = append(rs, fmt.Sprintf("implausibly fast %.0f%%", 100*(1-q.PlausibleFrac)))
	}
	if q.PositionFactor < 0.9 {
		side, f := "left", q.LeftFrac
		if f < 0.5 {
			side, f = "right", 1-f
		}
		rs = append(rs, fmt.Sprintf("position bias %.2f %s", f, side))
	}
	if q.LengthFactor < 0.9 {
		side, f := "longer", q.LongerFrac
		if f < 0.5 {
			side, f = "shorter", 1-f
		}
		rs = append(rs, fmt.Sprintf("%s side %.2f", side, f))
	}
	if q.Outlier {
		rs = append(rs, "outlier voter")
	}
	return rs
}

// lqConsensus computes an item's consensus for one label; its slices are scratch space
// reused between calls.
type lqConsensus struct {
	// cluster is each miner's copy cluster (see lqTable); nil when no miner has mates.
	cluster []int

	w, share []float64
	v        [][3]float64
	miners   []int // the miner of each entry of w, share and v

	// Per-labeler agreement with each other miner: conf[slot[m]-1] for miner m, 0 for none.
	slot    []int
	conf    []lqConfusion
	touched []int // miners with a slot, in order of first use
}

// lqConfusion counts a labeler's votes (rows) against one miner's (columns, split on a tie).
type lqConfusion [3][3]float64

func (c *lqConfusion) add(own Vote, theirs [3]float64) {
	for x := range 3 {
		c[own][x] += theirs[x]
	}
}

// kappa returns Cohen's κ of the table and its total; κ is 0 when undefined.
func (c *lqConfusion) kappa() (k, n float64) {
	var row, col [3]float64
	agree := 0.0
	for x := range 3 {
		agree += c[x][x]
		for y := range 3 {
			row[x] += c[x][y]
			col[y] += c[x][y]
			n += c[x][y]
		}
	}
	if n == 0 {
		return 0, 0
	}
	pe := 0.0
	for x := range 3 {
		pe += row[x] * col[x] / (n * n)
	}
	if 1-pe <= 1e-12 {
		return 0, n
	}
	return (agree/n - pe) / (1 - pe), n
}

// peer returns the labeler's confusion table against miner m, making it if need be.
func (c *lqConsensus) peer(m int) *lqConfusion {
	for len(c.slot) <= m {
		c.slot = append(c.slot, 0)
	}
	if c.slot[m] == 0 {
		c.touched = append(c.touched, m)
		if len(c.touched) > len(c.conf) {
			c.conf = append(c.conf, lqConfusion{})
		}
		c.conf[len(c.touched)-1] = lqConfusion{}
		c.slot[m] = len(c.touched)
	}
	return &c.conf[c.slot[m]-1]
}

// peerKappa returns how many miners the labeler was compared with, the weighted median of its
// κ with each (see LabelerQuality.PeerKappa) and the number of labels behind it, and clears
// the tables for the next labeler.
func (c *lqConsensus) peerKappa(weights []float64, opts LabelOptions) (int, float64, float64) {
	type peer struct{ kappa, w, n float64 }
	peers := make([]peer, 0, len(c.touched))
	for j, m := range c.touched {
		k, n := c.conf[j].kappa()
		peers = append(peers, peer{k, weights[m] * n / (n + opts.PriorStrength), n})
		c.slot[m] = 0
	}
	c.touched = c.touched[:0]
	if len(peers) == 0 {
		return 0, 0, 0
	}
	slices.SortFunc(peers, func(x, y peer) int { return cmp.Compare(x.kappa, y.kappa) })
	c.w, c.share = c.w[:0], c.share[:0]
	for _, p := range peers {
		c.w = append(c.w, p.w)
		c.share = append(c.share, 0)
	}
	lqCap(c.w, c.share, max(opts.MaxMinerConsensusShare, 1/float64(len(peers))))
	half, cum := 0.0, 0.0
	for _, s := range c.share {
		half += s / 2
	}
	for j, p := range peers {
		cum += c.share[j]
		switch {
		case cum > half*(1+1e-12) || j == len(peers)-1:
			return len(peers), p.kappa, p.n
		case cum >= half*(1-1e-12):
			// Exactly half the weight on each side: the midpoint, as for an even count.
			return len(peers), (p.kappa + peers[j+1].kappa) / 2, min(p.n, peers[j+1].n)
		}
	}
	last := peers[len(peers)-1]
	return len(peers), last.kappa, last.n
}

// of returns the capped, weighted distribution of the other miners' votes on an item (see
// LabelerQuality) for a label with vote own by a labeler of miner, and how many miners it
// comes from (0: no consensus). Miners of weight 0 do not count.
func (c *lqConsensus) of(item []lqVotes, miner int, own Vote, weights []float64, opts LabelOptions) ([3]float64, int) {
	c.w, c.share, c.v, c.miners = c.w[:0], c.share[:0], c.v[:0], c.miners[:0]
	for _, e := range item {
		n := e.n
		if e.miner == miner {
			if opts.ConsensusOtherMiners {
				continue
			}
			n[own]--
		}
		if e.miner != miner && c.cluster != nil && c.cluster[e.miner] == c.cluster[miner] {
			continue // a copy mate (see LabelerQuality): not an independent vote
		}
		if weights[e.miner] <= 0 {
			continue
		}
		v, ok := lqSplit(n)
		if !ok {
			continue
		}
		c.w = append(c.w, weights[e.miner])
		c.v = append(c.v, v)
		c.miners = append(c.miners, e.miner)
		c.share = append(c.share, 0)
	}
	var dist [3]float64
	if len(c.w) == 0 {
		return dist, 0
	}
	lqCap(c.w, c.share, max(opts.MaxMinerConsensusShare, 1/float64(len(c.w))))
	total := 0.0
	for j, s := range c.share {
		total += s
		for x := range 3 {
			dist[x] += s * c.v[j][x]
		}
	}
	for x := range 3 {
		dist[x] /= total
	}
	return dist, len(c.w)
}

// lqSplit is one miner's vote on an item: its labelers' plurality, split evenly on a tie;
// false when it has no votes.
func lqSplit(n [3]int32) ([3]float64, bool) {
	var v [3]float64
	top := max(n[0], n[1], n[2])
	if top <= 0 {
		return v, false
	}
	tied := 0.0
	for x := range 3 {
		if n[x] == top {
			tied++
		}
	}
	for x := range 3 {
		if n[x] == top {
			v[x] = 1 / tied
		}
	}
	return v, true
}

// lqCap sets share[j] to min(w[j], limit·Σw)/Σw for positive weights w: no entry holds more
// than limit of the total, and what is cut abstains rather than going to the others, so
// capping a trusted miner never hands its weight to untrusted ones.
func lqCap(w, share []float64, limit float64) {
	total := 0.0
	for _, x := range w {
		total += x
	}
	for j, x := range w {
		share[j] = min(x, limit*total) / total
	}
}

// lqTrapSkill returns the shrunk trap accuracy, the trap skill and the trap z-score of correct
// right answers out of n traps, as documented on LabelerQuality.
func lqTrapSkill(correct, n int, opts LabelOptions) (acc, skill, z float64) {
	c, s := opts.TrapChance, opts.PriorStrength
	if n == 0 {
		return c, 0, 0
	}
	acc = (float64(correct) + s*c) / (float64(n) + s)
	skill = max(0, (acc-c)/(1-c))
	switch sd := math.Sqrt(float64(n) * c * (1 - c)); {
	case sd > 0:
		z = (float64(correct) - float64(n)*c) / sd
	case correct > 0:
		z = math.Inf(1)
	}
	return acc, skill, z
}

// lqEvidence is min(1, max(0, z)/full): how much of a skill with z-score z counts.
func lqEvidence(z, full float64) float64 {
	return min(1, max(0, z)/full)
}

// lqBias measures a side preference: picks of n decisive labels chose the side; it returns
// the fraction, the binomial z-score against 0.5 and the factor 1 − |2·frac − 1|·min(1,
// |z|/full), or 0.5, 0, 1 when n is 0.
func lqBias(picks, n int, full float64) (frac, z, factor float64) {
	if n == 0 {
		return 0.5, 0, 1
	}
	d := float64(n)
	frac = float64(picks) / d
	z = (float64(picks) - d/2) / (math.Sqrt(d) / 2)
	return frac, z, 1 - math.Abs(2*frac-1)*min(1, math.Abs(z)/full)
}

// MinerLabelScores aggregates labeler qualities per miner (see MinerLabelScore), sorted by
// Miner. Labelers with no labels carry no weight; a miner whose labelers have no labels scores
// 0. q is not modified.
func MinerLabelScores(q []LabelerQuality) []MinerLabelScore {
	idx := make(map[string]int)
	var out []MinerLabelScore
	var sums []float64
	for _, lq := range q {
		i, ok := idx[lq.Miner]
		if !ok {
			i = len(out)
			idx[lq.Miner] = i
			out = append(out, MinerLabelScore{Miner: lq.Miner})
			sums = append(sums, 0)
		}
		out[i].Labelers++
		out[i].Labels += lq.Labels
		sums[i] += float64(lq.Labels) * lq.Score
	}
	mates := make([][]string, len(out))
	for _, lq := range q {
		if len(lq.CopyMates) > 0 {
			mates[idx[lq.Miner]] = lq.CopyMates
		}
	}
	for i := range out {
		if out[i].Labels > 0 {
			out[i].SoloScore = min(1, max(0, sums[i]/float64(out[i].Labels)))
		}
		out[i].Score = out[i].SoloScore
		out[i].CopyMates = strings.Join(mates[i], ", ")
	}
	// A copy cluster shares one score: the mean of its members' solo scores, split evenly.
	for i := range out {
		if len(mates[i]) == 0 {
			continue
		}
		total, members := out[i].SoloScore, 1+len(mates[i])
		for _, mate := range mates[i] {
			if j, ok := idx[mate]; ok {
				total += out[j].SoloScore
			}
		}
		out[i].Score = total / float64(members) / float64(members)
	}
	slices.SortFunc(out, func(x, y MinerLabelScore) int { return cmp.Compare(x.Miner, y.Miner) })
	return out
}

// lqMedian returns the median of xs, reordering xs.
func lqMedian(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
