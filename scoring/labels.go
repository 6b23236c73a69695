package scoring

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
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
// item, what they chose, how it was shown and how long they took. Choice, TrapAnswer and
// ShownLeft name completions ("a", "b"), not screen positions, so labels by different people on
// the same Item are comparable whatever order each was shown.
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
	// TimeOnTaskMs is how long the labeler spent, in milliseconds; 0 or less means unknown and
	// counts as implausible.
	TimeOnTaskMs int64
	// TextLen is the length in characters of the prompt plus both completions.
	TextLen int
	// Trap marks an item whose right answer the validator knows (one completion deliberately
	// degraded, as Dojo does).
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
	// TrapWeight and ConsensusWeight weight trap skill and consensus skill in Skill.
	// Defaults 2 and 1: traps are ground truth, consensus is only the crowd.
	TrapWeight, ConsensusWeight float64
	// PositionZ is the binomial z-score at which position bias counts in full; below it the
	// penalty is scaled by |z|/PositionZ. Default 3.
	PositionZ float64
	// ConsensusOtherMiners makes the consensus for a label come only from labelers of other
	// miners, so a miner cannot manufacture agreement with its own sock puppets. Default true.
	ConsensusOtherMiners bool
	// OutlierAlpha is the level of the sequential outlier-voter test: a labeler is flagged
	// when the test statistic exceeds 1/OutlierAlpha. Default 0.01: Chatbot Arena uses 0.05,
	// which in simulation flags about 3% of careful labelers, too many when a flag halves
	// the score; at 0.01 none of 280 simulated careful labelers was flagged.
	OutlierAlpha float64
	// OutlierMinVotes is the least number of testable votes (votes on items others labelled)
	// before the sequential test runs; OutlierMaxVotes is how many of them it walks.
	// Defaults 5 and 100, as Chatbot Arena.
	OutlierMinVotes, OutlierMaxVotes int
	// OutlierAgreementZ flags a labeler whose agreement with consensus is this many standard
	// errors below the rest of the population's. Default 3.
	OutlierAgreementZ float64
	// OutlierPenalty multiplies the Score of a flagged labeler. Default 0.5; must be in
	// [0, 1].
	OutlierPenalty float64
}

// DefaultLabelOptions returns the defaults documented on LabelOptions.
func DefaultLabelOptions() LabelOptions {
	return LabelOptions{
		MaxCharsPerSec:       50,
		MinTimeMs:            1000,
		TrapChance:           0.5,
		PriorStrength:        2,
		TrapWeight:           2,
		ConsensusWeight:      1,
		PositionZ:            3,
		ConsensusOtherMiners: true,
		OutlierAlpha:         0.01,
		OutlierMinVotes:      5,
		OutlierMaxVotes:      100,
		OutlierAgreementZ:    3,
		OutlierPenalty:       0.5,
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
	case !(o.TrapWeight >= 0) || !(o.ConsensusWeight >= 0) || o.TrapWeight+o.ConsensusWeight == 0 ||
		math.IsInf(o.TrapWeight+o.ConsensusWeight, 0):
		return bad("TrapWeight/ConsensusWeight", [2]float64{o.TrapWeight, o.ConsensusWeight})
	case !(o.PositionZ > 0):
		return bad("PositionZ", o.PositionZ)
	case !(o.OutlierAlpha > 0 && o.OutlierAlpha < 1):
		return bad("OutlierAlpha", o.OutlierAlpha)
	case o.OutlierMinVotes < 1 || o.OutlierMaxVotes < o.OutlierMinVotes:
		return bad("OutlierMinVotes/OutlierMaxVotes", [2]int{o.OutlierMinVotes, o.OutlierMaxVotes})
	case !(o.OutlierAgreementZ > 0):
		return bad("OutlierAgreementZ", o.OutlierAgreementZ)
	case !(o.OutlierPenalty >= 0 && o.OutlierPenalty <= 1):
		return bad("OutlierPenalty", o.OutlierPenalty)
	}
	return nil
}

// LabelerQuality is what the labels of one labeler say about them. All fractions are in [0, 1].
//
// The combined score is
//
//	Skill = (TrapWeight·TrapSkill + ConsensusWeight·ConsensusSkill) / (sum of the weights)
//	Score = Skill · PlausibleFrac · PositionFactor · (OutlierPenalty if Outlier, else 1)
//
// where a signal with no observations (no traps, or no labels with a consensus) is left out of
// Skill's weighted mean, and Skill is 0 when both are missing: quality has to be shown. Both
// skills are chance-corrected (0 = no better than blind clicking, 1 = perfect) and shrunk
// towards 0 by n/(n + PriorStrength). A random clicker scores near 0 through Skill (and through
// PlausibleFrac when fast); an always-left clicker through Skill and PositionFactor.
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

	// Shared counts labels on items where the other labelers (leave-one-out; only other
	// miners' labelers when ConsensusOtherMiners) have a unique plurality vote; Agree counts
	// those equal to it.
	Shared, Agree int
	// Agreement is Agree/Shared (0 when Shared is 0).
	Agreement float64
	// Kappa is Cohen's κ between the labeler's votes and the consensus votes on those labels:
	// agreement corrected for what the two marginal distributions give by chance. 0 when
	// undefined (no shared labels, or both marginals concentrated on one vote).
	Kappa float64
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
	// testable votes in input order; for a vote v on an item whose other labelers' votes X have
	// the distribution p_x = (count_x + 0.5)/(N + 1.5) (N ≥ 1 other votes, smoothed), it
	// multiplies M⁺ by 1/(2·P(X ≤ v)) and M⁻ by 1/(2·P(X ≥ v)), and flags as soon as either
	// exceeds 1/OutlierAlpha.
	Outlier bool

	// Skill is the weighted mean of TrapSkill and ConsensusSkill described above.
	Skill float64
	// Score is the combined quality in [0, 1] described above.
	Score float64
}

// MinerLabelScore is a miner's label-task score: how good the labels its labelers produced are.
type MinerLabelScore struct {
	// Miner identifies the miner, as in LabelObs.Miner.
	Miner string
	// Labelers and Labels count the miner's labelers and their labels.
	Labelers, Labels int
	// Score is the label-weighted mean of the labelers' scores, Σ Labels·Score / Σ Labels, in
	// [0, 1]: the expected quality of one of the miner's labels. Volume is not rewarded here.
	Score float64
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

type lqCell struct{ item, who int }

// lqAcc accumulates one labeler's signals.
type lqAcc struct {
	q          LabelerQuality
	miner      int
	obs        []int
	rates      []float64
	pl, pc     [3]int // the labeler's and the consensus's votes on shared labels
	testable   int
	mUp, mDown float64
	maxE       float64
	flagged    bool
}

// LabelerQualities returns the quality of every labeler in obs, sorted by Miner then Labeler;
// LabelerQuality documents each signal and the combined Score. It fails on a label with an
// empty Item or Labeler, an unknown Choice, a ShownLeft other than "", "a" or "b", or a trap
// with an unknown TrapAnswer, and on bad options. obs is not modified.
func LabelerQualities(obs []LabelObs, opts LabelOptions) ([]LabelerQuality, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	votes := make([]Vote, len(obs))
	itemOf := make([]int, len(obs))
	items := make(map[string]int)
	miners := make(map[string]int)
	labelers := make(map[lqKey]int)
	var accs []*lqAcc
	var itemTotal [][3]int32
	for i := range obs {
		ob := &obs[i]
		if ob.Item == "" || ob.Labeler == "" {
			return nil, fmt.Errorf("scoring: label %d: empty item or labeler", i)
		}
		v, err := ParseVote(ob.Choice)
		if err != nil {
			return nil, fmt.Errorf("scoring: label %d: %w", i, err)
		}
		if ob.ShownLeft != "" && ob.ShownLeft != "a" && ob.ShownLeft != "b" {
			return nil, fmt.Errorf("scoring: label %d: shown left %q is not a or b", i, ob.ShownLeft)
		}
		if ob.Trap {
			if _, err := ParseVote(ob.TrapAnswer); err != nil {
				return nil, fmt.Errorf("scoring: label %d: trap answer: %w", i, err)
			}
		}
		votes[i] = v
		it, ok := items[ob.Item]
		if !ok {
			it = len(itemTotal)
			items[ob.Item] = it
			itemTotal = append(itemTotal, [3]int32{})
		}
		itemOf[i] = it
		itemTotal[it][v]++
		m, ok := miners[ob.Miner]
		if !ok {
			m = len(miners)
			miners[ob.Miner] = m
		}
		k := lqKey{ob.Miner, ob.Labeler}
		l, ok := labelers[k]
		if !ok {
			l = len(accs)
			labelers[k] = l
			accs = append(accs, &lqAcc{q: LabelerQuality{Miner: ob.Miner, Labeler: ob.Labeler}, miner: m})
		}
		accs[l].obs = append(accs[l].obs, i)
	}

	// The votes to leave out of an item's consensus for a label: the labeler's own, or all of
	// its miner's.
	excl := make(map[lqCell][3]int32)
	for l, a := range accs {
		who := l
		if opts.ConsensusOtherMiners {
			who = a.miner
		}
		for _, i := range a.obs {
			c := lqCell{itemOf[i], who}
			e := excl[c]
			e[votes[i]]++
			excl[c] = e
		}
	}

	threshold := 1 / opts.OutlierAlpha
	for l, a := range accs {
		who := l
		if opts.ConsensusOtherMiners {
			who = a.miner
		}
		q := &a.q
		a.mUp, a.mDown = 1, 1
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
			if ob.ShownLeft != "" && v != VoteTie {
				q.Decisive++
				if ob.Choice == ob.ShownLeft {
					q.LeftPicks++
				}
			}

			it := itemOf[i]
			tot, ex := itemTotal[it], excl[lqCell{it, who}]
			var others [3]float64
			n := 0.0
			for x := range 3 {
				others[x] = float64(tot[x] - ex[x])
				n += others[x]
			}
			if n == 0 {
				continue
			}
			if plur, ok := lqPlurality(others); ok {
				q.Shared++
				a.pl[v]++
				a.pc[plur]++
				if v == plur {
					q.Agree++
				}
			}
			a.testable++
			if a.flagged || a.testable > opts.OutlierMaxVotes {
				continue
			}
			var pUp, pDown float64 // P(X ≤ v), P(X ≥ v)
			for x := range Vote(3) {
				p := (others[x] + 0.5) / (n + 1.5)
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
	}

	// Agreement z-scores compare each labeler with everyone else.
	var allAgree, allShared int
	for _, a := range accs {
		allAgree += a.q.Agree
		allShared += a.q.Shared
	}

	out := make([]LabelerQuality, len(accs))
	s := opts.PriorStrength
	for l, a := range accs {
		q := &a.q
		if q.Traps > 0 {
			q.TrapAccuracy = (float64(q.TrapCorrect) + s*opts.TrapChance) / (float64(q.Traps) + s)
			q.TrapSkill = max(0, (q.TrapAccuracy-opts.TrapChance)/(1-opts.TrapChance))
		} else {
			q.TrapAccuracy = opts.TrapChance
		}
		q.PlausibleFrac = 1 - float64(q.Implausible)/float64(q.Labels)
		if len(a.rates) > 0 {
			q.MedianCharsPerSec = lqMedian(a.rates)
		}
		q.LeftFrac, q.PositionFactor = 0.5, 1
		if q.Decisive > 0 {
			d := float64(q.Decisive)
			q.LeftFrac = float64(q.LeftPicks) / d
			q.PositionZ = (float64(q.LeftPicks) - d/2) / (math.Sqrt(d) / 2)
			q.PositionFactor = 1 - math.Abs(2*q.LeftFrac-1)*min(1, math.Abs(q.PositionZ)/opts.PositionZ)
		}
		if q.Shared > 0 {
			n := float64(q.Shared)
			q.Agreement = float64(q.Agree) / n
			pe := 0.0
			for x := range 3 {
				pe += float64(a.pl[x]) * float64(a.pc[x]) / (n * n)
			}
			if 1-pe > 1e-12 {
				q.Kappa = (q.Agreement - pe) / (1 - pe)
			}
			q.ConsensusSkill = max(0, q.Kappa) * n / (n + s)
			if rest := allShared - q.Shared; rest > 0 {
				p := float64(allAgree-q.Agree) / float64(rest)
				if p > 0 && p < 1 {
					q.AgreementZ = (float64(q.Agree) - n*p) / math.Sqrt(n*p*(1-p))
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
		var w, sum float64
		if q.Traps > 0 {
			w += opts.TrapWeight
			sum += opts.TrapWeight * q.TrapSkill
		}
		if q.Shared > 0 {
			w += opts.ConsensusWeight
			sum += opts.ConsensusWeight * q.ConsensusSkill
		}
		if w > 0 {
			q.Skill = sum / w
		}
		q.Score = q.Skill * q.PlausibleFrac * q.PositionFactor
		if q.Outlier {
			q.Score *= opts.OutlierPenalty
		}
		q.Score = min(1, max(0, q.Score))
		out[l] = *q
	}
	slices.SortFunc(out, func(x, y LabelerQuality) int {
		return cmp.Or(cmp.Compare(x.Miner, y.Miner), cmp.Compare(x.Labeler, y.Labeler))
	})
	return out, nil
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
	for i := range out {
		if out[i].Labels > 0 {
			out[i].Score = min(1, max(0, sums[i]/float64(out[i].Labels)))
		}
	}
	slices.SortFunc(out, func(x, y MinerLabelScore) int { return cmp.Compare(x.Miner, y.Miner) })
	return out
}

// lqPlurality returns the vote with the most weight in c, and false if the top is shared or c
// is empty.
func lqPlurality(c [3]float64) (Vote, bool) {
	best, ok := Vote(0), c[0] > 0
	for x := Vote(1); x < 3; x++ {
		switch {
		case c[x] > c[best]:
			best, ok = x, true
		case c[x] == c[best] && c[x] > 0:
			ok = false
		}
	}
	return best, ok
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
