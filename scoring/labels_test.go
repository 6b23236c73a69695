package scoring

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

func TestLabelParseVote(t *testing.T) {
	for choice, want := range map[string]Vote{"a": VoteA, "tie": VoteTie, "both_bad": VoteTie, "b": VoteB} {
		got, err := ParseVote(choice)
		if err != nil || got != want {
			t.Errorf("ParseVote(%q) = %v, %v; want %v", choice, got, err, want)
		}
	}
	for _, bad := range []string{"", "A", "left", "both bad"} {
		if _, err := ParseVote(bad); err == nil {
			t.Errorf("ParseVote(%q): no error", bad)
		}
	}
}

func TestLabelValidation(t *testing.T) {
	ok := LabelObs{Item: "i", Labeler: "l", Miner: "m", Choice: "a", ShownLeft: "a"}
	for name, ob := range map[string]LabelObs{
		"empty item":      {Labeler: "l", Choice: "a"},
		"empty labeler":   {Item: "i", Choice: "a"},
		"bad choice":      {Item: "i", Labeler: "l", Choice: "x"},
		"bad shown left":  {Item: "i", Labeler: "l", Choice: "a", ShownLeft: "left"},
		"bad trap answer": {Item: "i", Labeler: "l", Choice: "a", Trap: true, TrapAnswer: "?"},
	} {
		if _, err := LabelerQualities([]LabelObs{ok, ob}, DefaultLabelOptions()); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := LabelerQualities([]LabelObs{ok}, LabelOptions{}); err == nil {
		t.Error("zero options: no error")
	}
	bad := DefaultLabelOptions()
	bad.OutlierPenalty = 2
	if _, err := AssessLabels([]LabelObs{ok}, bad); err == nil {
		t.Error("OutlierPenalty 2: no error")
	}
	if q, err := LabelerQualities(nil, DefaultLabelOptions()); err != nil || len(q) != 0 {
		t.Errorf("no labels: %v, %v", q, err)
	}
}

// TestLabelTrapShrinkage: one right trap out of one is not perfect accuracy; with the default
// Beta(1,1)-like prior it is 2/3, i.e. skill 1/3; 10/10 is 11/12, skill 5/6.
func TestLabelTrapShrinkage(t *testing.T) {
	opts := DefaultLabelOptions()
	for _, tc := range []struct {
		right, n        int
		wantAcc, wantSk float64
	}{
		{1, 1, 2.0 / 3, 1.0 / 3},
		{10, 10, 11.0 / 12, 5.0 / 6},
		{0, 4, 1.0 / 6, 0},
		{5, 10, 0.5, 0},
	} {
		var obs []LabelObs
		for i := range tc.n {
			choice := "b"
			if i < tc.right {
				choice = "a"
			}
			obs = append(obs, LabelObs{Item: fmt.Sprint(i), Labeler: "l", Choice: choice, Trap: true, TrapAnswer: "a",
				TimeOnTaskMs: 60000, TextLen: 100})
		}
		q, err := LabelerQualities(obs, opts)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(q[0].TrapAccuracy-tc.wantAcc) > 1e-12 || math.Abs(q[0].TrapSkill-tc.wantSk) > 1e-12 {
			t.Errorf("%d/%d: accuracy %v skill %v, want %v %v", tc.right, tc.n, q[0].TrapAccuracy, q[0].TrapSkill, tc.wantAcc, tc.wantSk)
		}
		// Only traps, no consensus: quality on real pairs is not shown yet, so Skill and
		// Score are 0 and the reasons say why.
		if q[0].Skill != 0 || q[0].Score != 0 || !slices.Contains(q[0].Reasons, "no consensus yet") {
			t.Errorf("%d/%d: skill %v score %v reasons %q, want 0, 0 and no consensus", tc.right, tc.n, q[0].Skill, q[0].Score, q[0].Reasons)
		}
	}
}

// TestLabelTimePlausibility: at 50 chars/s, 2,000 chars need 40 s; the 1 s floor applies to
// short texts; a missing time is implausible.
func TestLabelTimePlausibility(t *testing.T) {
	obs := []LabelObs{
		{TextLen: 2000, TimeOnTaskMs: 40000}, // exactly the bound: plausible
		{TextLen: 2000, TimeOnTaskMs: 39999}, // too fast
		{TextLen: 10, TimeOnTaskMs: 999},     // under the 1 s floor
		{TextLen: 10, TimeOnTaskMs: 1000},    // plausible
		{TextLen: 10, TimeOnTaskMs: 0},       // unknown
	}
	for i := range obs {
		obs[i].Item, obs[i].Labeler, obs[i].Choice = fmt.Sprint(i), "l", "tie"
	}
	q, err := LabelerQualities(obs, DefaultLabelOptions())
	if err != nil {
		t.Fatal(err)
	}
	if q[0].Implausible != 3 || math.Abs(q[0].PlausibleFrac-0.4) > 1e-12 {
		t.Errorf("implausible %d frac %v, want 3 and 0.4", q[0].Implausible, q[0].PlausibleFrac)
	}
	// Reading speeds 50, 50.001…, 10.01…, 10 chars/s (the unknown time has none): the median
	// is the mean of the middle two, 10.01… and 50.
	want := (50 + 1000*10/999.0) / 2
	if math.Abs(q[0].MedianCharsPerSec-want) > 1e-9 {
		t.Errorf("median speed %v, want %v", q[0].MedianCharsPerSec, want)
	}
}

// TestLabelPositionBias checks the binomial z and the factor on hand-countable cases. Ties
// and unknown sides are not decisive.
func TestLabelPositionBias(t *testing.T) {
	mk := func(left, right int) []LabelObs {
		var obs []LabelObs
		for i := range left + right {
			ob := LabelObs{Item: fmt.Sprint(i), Labeler: "l", ShownLeft: "a", Choice: "a"}
			if i >= left {
				ob.Choice = "b"
			}
			obs = append(obs, ob)
		}
		obs = append(obs, LabelObs{Item: "tie", Labeler: "l", ShownLeft: "b", Choice: "both_bad"},
			LabelObs{Item: "unknown", Labeler: "l", Choice: "a"})
		return obs
	}
	for _, tc := range []struct {
		left, right int
		z, factor   float64
	}{
		{16, 0, 4, 0},                // z = (16−8)/(4/2) = 4 ≥ 3: full penalty 1 − 1
		{8, 8, 0, 1},                 // no bias
		{6, 3, 1, 1 - (1.0/3)/3},     // z = 1.5/1.5 = 1; bias |2·6/9 − 1| = 1/3, scaled by 1/3
		{3, 6, -1, 1 - (1.0/3)/3},    // symmetric
		{18, 7, 2.2, 1 - 0.44*2.2/3}, // z = 5.5/2.5
	} {
		q, err := LabelerQualities(mk(tc.left, tc.right), DefaultLabelOptions())
		if err != nil {
			t.Fatal(err)
		}
		g := q[0]
		if g.Decisive != tc.left+tc.right || g.LeftPicks != tc.left {
			t.Errorf("%d/%d: decisive %d left %d", tc.left, tc.right, g.Decisive, g.LeftPicks)
		}
		if math.Abs(g.PositionZ-tc.z) > 1e-12 || math.Abs(g.PositionFactor-tc.factor) > 1e-12 {
			t.Errorf("%d/%d: z %v factor %v, want %v %v", tc.left, tc.right, g.PositionZ, g.PositionFactor, tc.z, tc.factor)
		}
	}
}

// trapLabels is n right answers to traps by a labeler, on items of its own, at a plausible
// pace and with no side shown: what gives its miner a full weight in the consensus.
func trapLabels(miner, labeler string, n int) []LabelObs {
	var obs []LabelObs
	for i := range n {
		obs = append(obs, LabelObs{Item: fmt.Sprintf("trap/%s/%s/%d", miner, labeler, i), Miner: miner, Labeler: labeler,
			Choice: "a", Trap: true, TrapAnswer: "a", TimeOnTaskMs: 60000, TextLen: 100})
	}
	return obs
}

// TestLabelConsensusLeaveOneOut: the consensus for a label is the weighted distribution of the
// other miners' votes on the item, each miner one vote (its labelers' plurality, split on a
// tie); with ConsensusOtherMiners false only the labeler's own label is left out. All three
// miners pass 10 traps of 10, so they weigh the same.
func TestLabelConsensusLeaveOneOut(t *testing.T) {
	obs := []LabelObs{
		// item 1: x and y (miner m1) say a, z (m2) says b, w (m3) says both_bad (a tie).
		{Item: "1", Miner: "m1", Labeler: "x", Choice: "a"},
		{Item: "1", Miner: "m1", Labeler: "y", Choice: "a"},
		{Item: "1", Miner: "m2", Labeler: "z", Choice: "b"},
		{Item: "1", Miner: "m3", Labeler: "w", Choice: "both_bad"},
		// item 2: x says b, z says b, y says a.
		{Item: "2", Miner: "m1", Labeler: "x", Choice: "b"},
		{Item: "2", Miner: "m2", Labeler: "z", Choice: "b"},
		{Item: "2", Miner: "m1", Labeler: "y", Choice: "a"},
	}
	for i := range obs {
		obs[i].TimeOnTaskMs, obs[i].TextLen = 60000, 100
	}
	obs = slices.Concat(obs, trapLabels("m1", "x", 5), trapLabels("m1", "y", 5), trapLabels("m2", "z", 10), trapLabels("m3", "w", 10))
	type sa struct {
		shared int
		agree  float64
	}
	for _, tc := range []struct {
		otherMiners bool
		want        map[string]sa
	}{
		// Leave only the label itself out; m1's vote is then its other labeler's. A label
		// agrees by the share of the (equal) weight that voted the same:
		// x: item 1 m1 a (y), m2 b, m3 tie: 1/3; item 2 m1 a (y), m2 b: 1/2.
		// y: item 1 as x, 1/3; item 2 m1 b (x), m2 b: 0.
		// z: item 1 m1 a, m3 tie: 0; item 2 m1 split a/b: 1/2.
		// w: item 1 m1 a, m2 b: 0.
		{false, map[string]sa{"x": {2, 1.0/3 + 0.5}, "y": {2, 1.0 / 3}, "z": {2, 0.5}, "w": {1, 0}}},
		// Leave the whole miner out:
		// x (m1): item 1 m2 b, m3 tie: 0; item 2 m2 b: 1.  y: 0 and 0.
		// z (m2): item 1 m1 a (x and y are one vote), m3 tie: 0; item 2 m1 split: 1/2.
		// w (m3): item 1 m1 a, m2 b: 0.
		{true, map[string]sa{"x": {2, 1}, "y": {2, 0}, "z": {2, 0.5}, "w": {1, 0}}},
	} {
		opts := DefaultLabelOptions()
		opts.ConsensusOtherMiners = tc.otherMiners
		opts.ConsensusRounds = 1 // weights from traps alone, which are equal here
		q, err := LabelerQualities(obs, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range q {
			if w := tc.want[g.Labeler]; g.Shared != w.shared || math.Abs(g.Agree-w.agree) > 1e-12 {
				t.Errorf("otherMiners=%v %s: shared %d agree %v, want %d %v", tc.otherMiners, g.Labeler, g.Shared, g.Agree, w.shared, w.agree)
			}
		}
	}
}

// TestLabelKappa: a labeler who copies the consensus has κ = 1 and, with 10 traps of 10,
// Skill = TrapSkill·ConsensusSkill = (5/6)·(20/22); one who always says the opposite has
// κ < 0, no consensus skill and a zero score whatever its traps.
func TestLabelKappa(t *testing.T) {
	var obs []LabelObs
	for i := range 20 {
		item := fmt.Sprint(i)
		truth, opposite := "a", "b"
		if i%2 == 1 {
			truth, opposite = "b", "a"
		}
		for j := range 3 {
			obs = append(obs, LabelObs{Item: item, Miner: fmt.Sprint("crowd", j), Labeler: "c", Choice: truth})
		}
		obs = append(obs, LabelObs{Item: item, Miner: "good", Labeler: "g", Choice: truth},
			LabelObs{Item: item, Miner: "bad", Labeler: "b", Choice: opposite})
	}
	for i := range obs {
		obs[i].TimeOnTaskMs, obs[i].TextLen = 60000, 100
	}
	for _, m := range []string{"crowd0", "crowd1", "crowd2", "good", "bad"} {
		obs = append(obs, trapLabels(m, m[:1], 10)...)
	}
	q, err := LabelerQualities(obs, DefaultLabelOptions())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]LabelerQuality{}
	for _, g := range q {
		byName[g.Miner] = g
	}
	if g := byName["good"]; g.Kappa != 1 || math.Abs(g.ConsensusSkill-20.0/22) > 1e-12 ||
		math.Abs(g.Skill-5.0/6*20/22) > 1e-12 || g.Score != g.Skill || len(g.Reasons) != 0 {
		t.Errorf("copier: kappa %v skill %v/%v score %v reasons %q, want 1, 20/22, 5/6·20/22", g.Kappa, g.ConsensusSkill, g.Skill, g.Score, g.Reasons)
	}
	if b := byName["bad"]; !(b.Kappa < 0) || b.ConsensusSkill != 0 || !b.Outlier || b.Score != 0 ||
		!slices.Contains(b.Reasons, fmt.Sprintf("agreement kappa %.2f", b.Kappa)) {
		t.Errorf("contrarian: kappa %v skill %v outlier %v score %v reasons %q", b.Kappa, b.ConsensusSkill, b.Outlier, b.Score, b.Reasons)
	}
}

// TestLabelOutlierSequential follows the Arena statistic by hand: three other miners voted
// b, b, b (smoothed p = (0.5, 0.5, 3.5)/4.5), so a vote a multiplies M⁺ by
// 1/(2·0.5/4.5) = 4.5, and a vote b multiplies M⁺ by 1/2 and M⁻ by 1/(2·3.5/4.5) = 9/14.
func TestLabelOutlierSequential(t *testing.T) {
	mk := func(choices string) []LabelObs {
		var obs []LabelObs
		for i, c := range choices {
			item := fmt.Sprint(i)
			for j := range 3 {
				obs = append(obs, LabelObs{Item: item, Miner: fmt.Sprint("crowd", j), Labeler: "c", Choice: "b", TimeOnTaskMs: 60000, TextLen: 100})
			}
			obs = append(obs, LabelObs{Item: item, Miner: "x", Labeler: "x", Choice: string(c)})
		}
		for j := range 3 {
			obs = append(obs, trapLabels(fmt.Sprint("crowd", j), "c", 10)...)
		}
		return obs
	}
	find := func(q []LabelerQuality) LabelerQuality {
		for _, g := range q {
			if g.Miner == "x" {
				return g
			}
		}
		t.Fatal("labeler x missing")
		return LabelerQuality{}
	}
	opts := DefaultLabelOptions()
	opts.OutlierAlpha = 0.05     // Chatbot Arena's level: flag above 20
	opts.OutlierAgreementZ = 1e9 // isolate the sequential test
	opts.ConsensusRounds = 1     // the crowd, unanimous, has no κ to weigh it by
	for _, tc := range []struct {
		choices string
		maxE    float64
		outlier bool
	}{
		{"bbbbb", 9.0 / 14, false},
		{"abbbb", 4.5, false},
		{"aabbb", 20.25, true},                     // crosses 1/0.05 = 20 at the second vote
		{"abbab", 4.5 * 4.5 / 4, false},            // 4.5, 2.25, 1.125, 5.0625, 2.53
		{"aa", 0, false},                           // fewer than OutlierMinVotes testable votes
		{"babaabbbaaa", 4.5 * 4.5 * 4.5 / 4, true}, // 0.5, 2.25, 1.125, 5.06, 22.8: flagged, then frozen
	} {
		g := find(mustQualities(t, mk(tc.choices), opts))
		if g.Outlier != tc.outlier || math.Abs(g.OutlierE-tc.maxE) > 1e-9 {
			t.Errorf("%s: outlier %v E %v, want %v %v", tc.choices, g.Outlier, g.OutlierE, tc.outlier, tc.maxE)
		}
	}
}

func mustQualities(t *testing.T, obs []LabelObs, opts LabelOptions) []LabelerQuality {
	t.Helper()
	q, err := LabelerQualities(obs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestLabelMinerScores(t *testing.T) {
	q := []LabelerQuality{
		{Miner: "m2", Labeler: "a", Labels: 30, Score: 0.9},
		{Miner: "m1", Labeler: "a", Labels: 10, Score: 0.8},
		{Miner: "m2", Labeler: "b", Labels: 10, Score: 0.1},
		{Miner: "m1", Labeler: "b", Labels: 30, Score: 0},
		{Miner: "m3", Labeler: "a"},
	}
	got := MinerLabelScores(q)
	want := []MinerLabelScore{
		{Miner: "m1", Labelers: 2, Labels: 40, Score: 0.2},
		{Miner: "m2", Labelers: 2, Labels: 40, Score: 0.7},
		{Miner: "m3", Labelers: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Miner != w.Miner || g.Labelers != w.Labelers || g.Labels != w.Labels || math.Abs(g.Score-w.Score) > 1e-12 {
			t.Errorf("miner %d: %+v, want %+v", i, g, w)
		}
	}
}

func TestLabelAssessReport(t *testing.T) {
	obs, _ := simulateLabels(rand.New(rand.NewPCG(7, 7)), labelSim{items: 200, perItem: 5})
	r, err := AssessLabels(obs, DefaultLabelOptions())
	if err != nil {
		t.Fatal(err)
	}
	ord, err := LabelAlpha(obs, AlphaOrdinal)
	if err != nil || !r.AlphaDefined || r.AlphaOrdinal != ord {
		t.Errorf("report alpha %v (defined %v), LabelAlpha %v %v", r.AlphaOrdinal, r.AlphaDefined, ord, err)
	}
	if !slices.IsSortedFunc(r.Labelers, func(a, b LabelerQuality) int {
		if a.Miner != b.Miner {
			return cmpStr(a.Miner, b.Miner)
		}
		return cmpStr(a.Labeler, b.Labeler)
	}) {
		t.Error("labelers not sorted")
	}
	total := 0
	for _, m := range r.Miners {
		total += m.Labels
		if m.Score < 0 || m.Score > 1 {
			t.Errorf("miner %s score %v out of [0,1]", m.Miner, m.Score)
		}
	}
	if total != len(obs) {
		t.Errorf("miners hold %d labels, want %d", total, len(obs))
	}
	for _, g := range r.Labelers {
		if g.Score < 0 || g.Score > 1 || math.IsNaN(g.Score) {
			t.Errorf("%s/%s score %v", g.Miner, g.Labeler, g.Score)
		}
	}
	// Deterministic: the same input gives the same report.
	r2, _ := AssessLabels(obs, DefaultLabelOptions())
	if !reflect.DeepEqual(r.Labelers, r2.Labelers) || !slices.Equal(r.Miners, r2.Miners) {
		t.Error("two runs differ")
	}
	// A mix of careful and bad labelers agrees somewhat, but far from perfectly.
	if !(r.AlphaOrdinal > 0.1 && r.AlphaOrdinal < 0.9) || !(r.AlphaNominal < r.AlphaOrdinal) {
		t.Errorf("alpha ordinal %v nominal %v", r.AlphaOrdinal, r.AlphaNominal)
	}
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// labelKind is a simulated labeler's behaviour.
type labelKind int

const (
	kindCareful    labelKind = iota // follows the latent truth 90% of the time, reads at 5–20 chars/s
	kindRandom                      // uniform over the four buttons, 0.3–2 s per label
	kindLeft                        // always the completion shown on the left, at a careful pace
	kindSlowRandom                  // uniform over the buttons, at a careful pace
	kindCount
)

var kindNames = [...]string{"careful", "random", "left", "slowrandom"}

type labelSim struct {
	items, perItem int
}

// simulateLabels draws labels from 7 miners: three with two careful labelers each, one per
// bad kind with two labelers each, and one with a careful and a random labeler. Every item gets
// perItem labels from distinct labelers; 20% of items are traps. It returns the labels and
// each labeler's kind keyed by miner/labeler.
func simulateLabels(r *rand.Rand, s labelSim) ([]LabelObs, map[string]labelKind) {
	type who struct {
		miner, labeler string
		kind           labelKind
	}
	var pool []who
	add := func(miner string, kinds ...labelKind) {
		for i, k := range kinds {
			pool = append(pool, who{miner, fmt.Sprintf("%s-%d", kindNames[k], i), k})
		}
	}
	add("m-careful-1", kindCareful, kindCareful)
	add("m-careful-2", kindCareful, kindCareful)
	add("m-careful-3", kindCareful, kindCareful)
	add("m-random", kindRandom, kindRandom)
	add("m-left", kindLeft, kindLeft)
	add("m-slowrandom", kindSlowRandom, kindSlowRandom)
	add("m-mixed", kindCareful, kindRandom)
	kinds := map[string]labelKind{}
	for _, w := range pool {
		kinds[w.miner+"/"+w.labeler] = w.kind
	}
	buttons := []string{"a", "b", "tie", "both_bad"}
	var obs []LabelObs
	for it := range s.items {
		item := fmt.Sprint("item-", it)
		trap := r.IntN(5) == 0
		var truth Vote
		switch x := r.Float64(); {
		case trap || x < 0.9:
			truth = Vote(2 * r.IntN(2)) // A or B
		default:
			truth = VoteTie
		}
		textLen := 300 + r.IntN(3000)
		perm := r.Perm(len(pool))[:s.perItem]
		for _, p := range perm {
			w := pool[p]
			ob := LabelObs{Item: item, Miner: w.miner, Labeler: w.labeler, TextLen: textLen, Trap: trap}
			if trap {
				ob.TrapAnswer = [3]string{"a", "", "b"}[truth]
			}
			ob.ShownLeft = []string{"a", "b"}[r.IntN(2)]
			careTime := int64(float64(textLen) / (5 + 15*r.Float64()) * 1000)
			switch w.kind {
			case kindCareful:
				v := truth
				if r.Float64() >= 0.9 {
					v = (truth + Vote(1+r.IntN(2))) % 3
				}
				ob.Choice = voteButton(r, v)
				ob.TimeOnTaskMs = careTime
			case kindRandom:
				ob.Choice = buttons[r.IntN(4)]
				ob.TimeOnTaskMs = 300 + r.Int64N(1700)
			case kindLeft:
				ob.Choice = ob.ShownLeft
				ob.TimeOnTaskMs = careTime
			case kindSlowRandom:
				ob.Choice = buttons[r.IntN(4)]
				ob.TimeOnTaskMs = careTime
			}
			obs = append(obs, ob)
		}
	}
	return obs, kinds
}

func voteButton(r *rand.Rand, v Vote) string {
	switch v {
	case VoteA:
		return "a"
	case VoteB:
		return "b"
	}
	return []string{"tie", "both_bad"}[r.IntN(2)]
}

// TestLabelQualitySeparatesLabelers: over many seeds, careful labelers score well above random
// clickers (fast or slow) and always-left clickers, individually and on average, and miners
// are ranked by their labelers: every careful miner above every bad one in every seed, and the
// miner with one careful labeler of two at about half a careful miner on average (in a single
// seed, with some 20 traps per labeler, a product of two skills is too noisy to order a miner
// against one worth half of it).
func TestLabelQualitySeparatesLabelers(t *testing.T) {
	const seeds = 40
	var sum [kindCount]float64
	var cnt [kindCount]int
	var minCareful, maxBad = 1.0, 0.0
	misordered := 0
	var carefulMiners, mixedMiner float64
	for seed := range uint64(seeds) {
		obs, kinds := simulateLabels(rand.New(rand.NewPCG(seed, 99)), labelSim{items: 300, perItem: 5})
		r, err := AssessLabels(obs, DefaultLabelOptions())
		if err != nil {
			t.Fatal(err)
		}
		seedMinCareful, seedMaxBad := 1.0, 0.0
		for _, g := range r.Labelers {
			k := kinds[g.Miner+"/"+g.Labeler]
			sum[k] += g.Score
			cnt[k]++
			if k == kindCareful {
				seedMinCareful = min(seedMinCareful, g.Score)
			} else {
				seedMaxBad = max(seedMaxBad, g.Score)
			}
		}
		minCareful, maxBad = min(minCareful, seedMinCareful), max(maxBad, seedMaxBad)
		if seedMaxBad >= seedMinCareful {
			misordered++
		}
		ms := map[string]float64{}
		for _, m := range r.Miners {
			ms[m.Miner] = m.Score
		}
		for _, good := range []string{"m-careful-1", "m-careful-2", "m-careful-3"} {
			carefulMiners += ms[good] / 3 / seeds
			for _, bad := range []string{"m-random", "m-left", "m-slowrandom"} {
				if !(ms[good] > ms[bad]) {
					t.Errorf("seed %d: miner %s %.3f not above %s %.3f", seed, good, ms[good], bad, ms[bad])
				}
			}
		}
		mixedMiner += ms["m-mixed"] / seeds
		if !(ms["m-mixed"] > ms["m-random"]) {
			t.Errorf("seed %d: mixed miner %.3f not above random %.3f", seed, ms["m-mixed"], ms["m-random"])
		}
	}
	var mean [kindCount]float64
	for k := range kindCount {
		mean[k] = sum[k] / float64(cnt[k])
		t.Logf("%-10s mean score %.3f over %d labelers", kindNames[k], mean[k], cnt[k])
	}
	t.Logf("lowest careful %.3f, highest bad %.3f, seeds with overlap %d/%d", minCareful, maxBad, misordered, seeds)
	t.Logf("careful miners mean %.3f, mixed miner mean %.3f", carefulMiners, mixedMiner)
	if !(mixedMiner > 0.3*carefulMiners && mixedMiner < 0.7*carefulMiners) {
		t.Errorf("mixed miner mean %.3f, want about half the careful miners' %.3f", mixedMiner, carefulMiners)
	}
	// Skill is a product of trap skill (about 0.75 here) and κ against the crowd (about 0.6).
	if mean[kindCareful] < 0.4 {
		t.Errorf("careful labelers mean %.3f, want ≥ 0.4", mean[kindCareful])
	}
	for k := kindRandom; k < kindCount; k++ {
		if mean[k] > mean[kindCareful]/3 {
			t.Errorf("%s mean %.3f above a third of careful %.3f", kindNames[k], mean[k], mean[kindCareful])
		}
	}
	if misordered > 0 {
		t.Errorf("in %d of %d seeds some bad labeler scored at least as high as some careful one", misordered, seeds)
	}
}

// TestLabelConsensusCap: a miner counts for at most max(MaxMinerConsensusShare, 1/k) of the
// total weight W of the k miners in an item's consensus; what is cut abstains, so equal
// weights are never cut and a heavy miner's excess does not go to the light ones.
func TestLabelConsensusCap(t *testing.T) {
	opts := DefaultLabelOptions()
	// Miner 0 ("ring", ten labelers voting b, weight 1), miners 1–4 (one labeler each voting
	// a, weight 0.2), miner 5 the labeler's own.
	item := []lqVotes{{miner: 0, n: [3]int32{0, 0, 10}}, {miner: 5, n: [3]int32{1, 0, 0}}}
	for m := 1; m <= 4; m++ {
		item = append(item, lqVotes{miner: m, n: [3]int32{1, 0, 0}})
	}
	weights := []float64{1, 0.2, 0.2, 0.2, 0.2, 0.5}
	var c lqConsensus
	for _, tc := range []struct {
		miners int     // how many of miners 1–4 are in the item
		limit  float64 // MaxMinerConsensusShare
		ringB  float64 // the ring's share of the consensus
	}{
		{4, 0.25, 0.45 / 1.25}, // k = 5, W = 1.8: the ring is cut to 0.45
		{4, 1, 1 / 1.8},        // no cap: the ring outweighs the four together
		{1, 0.25, 0.6 / 0.8},   // k = 2: the cap is 1/2, W = 1.2: cut to 0.6
		{3, 0.25, 0.4 / 1.0},   // k = 4, W = 1.6: cut to 0.4
	} {
		o := opts
		o.MaxMinerConsensusShare = tc.limit
		dist, k := c.of(item[:2+tc.miners], 5, VoteA, weights, o)
		if k != 1+tc.miners || math.Abs(dist[VoteB]-tc.ringB) > 1e-12 || math.Abs(dist[VoteA]+dist[VoteB]-1) > 1e-12 {
			t.Errorf("%d honest miners, cap %v: k %d consensus %v, want ring share %v", tc.miners, tc.limit, k, dist, tc.ringB)
		}
	}
	// Equal weights are never cut, whatever k.
	equal := []float64{0.3, 0.3, 0.3, 0.3, 0.3, 0.3}
	if dist, _ := c.of(item[:3], 5, VoteA, equal, opts); dist != [3]float64{0.5, 0, 0.5} {
		t.Errorf("two equal miners: %v", dist)
	}
	// Whatever the weights, no miner's capped weight exceeds the cap times the total.
	r := rand.New(rand.NewPCG(3, 3))
	for range 1000 {
		k := 1 + r.IntN(8)
		w, share := make([]float64, k), make([]float64, k)
		for j := range w {
			w[j] = r.ExpFloat64()
		}
		limit := max(opts.MaxMinerConsensusShare, 1/float64(k))
		lqCap(w, share, limit)
		for j := range share {
			if share[j] > limit+1e-12 || share[j] > w[j]/sumOf(w)+1e-12 {
				t.Fatalf("weights %v: share %v above %v", w, share, limit)
			}
		}
	}
}

func sumOf(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s
}

// TestLabelRingMajorityCapped: a miner whose six labelers hold most of the labels on every item
// and vote against four honest miners is one vote among five; an honest labeler, judged
// against it and three honest miners, still agrees with three quarters of the consensus.
func TestLabelRingMajorityCapped(t *testing.T) {
	var obs []LabelObs
	for i := range 40 {
		item := fmt.Sprint(i)
		right, wrong := "a", "b"
		if i%2 == 1 {
			right, wrong = "b", "a"
		}
		for l := range 6 {
			obs = append(obs, LabelObs{Item: item, Miner: "ring", Labeler: fmt.Sprint(l), Choice: wrong})
		}
		for m := range 4 {
			obs = append(obs, LabelObs{Item: item, Miner: fmt.Sprint("honest", m), Labeler: "h", Choice: right})
		}
	}
	for i := range obs {
		obs[i].TimeOnTaskMs, obs[i].TextLen = 60000, 100
	}
	obs = append(obs, trapLabels("ring", "0", 10)...) // the same traps as each honest miner: the same weight
	for m := range 4 {
		obs = append(obs, trapLabels(fmt.Sprint("honest", m), "h", 10)...)
	}
	opts := DefaultLabelOptions()
	opts.ConsensusRounds = 1 // weights from traps alone: the ring weighs as much as each honest miner
	for _, g := range mustQualities(t, obs, opts) {
		if g.Miner == "honest0" && math.Abs(g.Agreement-0.75) > 1e-12 {
			t.Errorf("honest labeler agreement %v, want 3/4", g.Agreement)
		}
	}
	// With later rounds the ring, which agrees with no one, loses its weight altogether.
	for _, g := range mustQualities(t, obs, DefaultLabelOptions()) {
		if g.Miner == "honest0" && g.Agreement != 1 {
			t.Errorf("after reweighing: honest labeler agreement %v, want 1", g.Agreement)
		}
		if g.Miner == "ring" && g.Score != 0 {
			t.Errorf("ring labeler %s scores %v", g.Labeler, g.Score)
		}
	}
}
