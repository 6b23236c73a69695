package scoring

import (
	"fmt"
	"math"
	"math/rand/v2"
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
		// Only traps, no consensus: Skill is TrapSkill, and nothing else penalises.
		if math.Abs(q[0].Skill-tc.wantSk) > 1e-12 || math.Abs(q[0].Score-tc.wantSk) > 1e-12 {
			t.Errorf("%d/%d: skill %v score %v, want %v", tc.right, tc.n, q[0].Skill, q[0].Score, tc.wantSk)
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

// TestLabelConsensusLeaveOneOut: the consensus for a label is the plurality of the other
// labelers' votes on the item, and with ConsensusOtherMiners only other miners' labelers count.
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
	type sa struct{ shared, agree int }
	for _, tc := range []struct {
		otherMiners bool
		want        map[string]sa
	}{
		// Per labeler, leave only itself out:
		// x: item 1 others {a, b, tie} → no plurality; item 2 others {b, a} → none.
		// y: item 1 as x; item 2 others {b, b} → b, disagrees.
		// z: item 1 others {a, a, tie} → a, disagrees; item 2 others {b, a} → none.
		// w: item 1 others {a, a, b} → a, disagrees.
		{false, map[string]sa{"x": {0, 0}, "y": {1, 0}, "z": {1, 0}, "w": {1, 0}}},
		// Leave the whole miner out:
		// x, y (m1): item 1 others {b, tie} → none; item 2 others {b} → b: x agrees, y not.
		// z (m2): item 1 {a, a, tie} → a; item 2 {b, a} → none.  w (m3): item 1 {a, a, b} → a.
		{true, map[string]sa{"x": {1, 1}, "y": {1, 0}, "z": {1, 0}, "w": {1, 0}}},
	} {
		opts := DefaultLabelOptions()
		opts.ConsensusOtherMiners = tc.otherMiners
		q, err := LabelerQualities(obs, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range q {
			if w := tc.want[g.Labeler]; g.Shared != w.shared || g.Agree != w.agree {
				t.Errorf("otherMiners=%v %s: shared %d agree %d, want %d %d", tc.otherMiners, g.Labeler, g.Shared, g.Agree, w.shared, w.agree)
			}
		}
	}
}

// TestLabelKappa: a labeler who copies the consensus has κ = 1; one who always says the
// opposite has κ < 0 and no consensus skill.
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
	q, err := LabelerQualities(obs, DefaultLabelOptions())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]LabelerQuality{}
	for _, g := range q {
		byName[g.Miner] = g
	}
	if g := byName["good"]; g.Kappa != 1 || math.Abs(g.ConsensusSkill-20.0/22) > 1e-12 {
		t.Errorf("copier: kappa %v skill %v, want 1 and 20/22", g.Kappa, g.ConsensusSkill)
	}
	if b := byName["bad"]; !(b.Kappa < 0) || b.ConsensusSkill != 0 || !b.Outlier || b.Score != 0 {
		t.Errorf("contrarian: kappa %v skill %v outlier %v score %v", b.Kappa, b.ConsensusSkill, b.Outlier, b.Score)
	}
}

// TestLabelOutlierSequential follows the Arena statistic by hand: others on the item voted
// b, b, b (smoothed p = (0.5, 0.5, 3.5)/4.5), so a vote a multiplies M⁺ by
// 1/(2·0.5/4.5) = 4.5, and a vote b multiplies M⁺ by 1/2 and M⁻ by 1/(2·3.5/4.5) = 9/14.
func TestLabelOutlierSequential(t *testing.T) {
	mk := func(choices string) []LabelObs {
		var obs []LabelObs
		for i, c := range choices {
			item := fmt.Sprint(i)
			for j := range 3 {
				obs = append(obs, LabelObs{Item: item, Miner: "crowd", Labeler: fmt.Sprint(j), Choice: "b"})
			}
			obs = append(obs, LabelObs{Item: item, Miner: "x", Labeler: "x", Choice: string(c)})
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
	if !slices.Equal(r.Labelers, r2.Labelers) || !slices.Equal(r.Miners, r2.Miners) {
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
// are ranked by their labelers.
func TestLabelQualitySeparatesLabelers(t *testing.T) {
	const seeds = 40
	var sum [kindCount]float64
	var cnt [kindCount]int
	var minCareful, maxBad = 1.0, 0.0
	misordered := 0
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
			for _, bad := range []string{"m-random", "m-left", "m-slowrandom", "m-mixed"} {
				if !(ms[good] > ms[bad]) {
					t.Errorf("seed %d: miner %s %.3f not above %s %.3f", seed, good, ms[good], bad, ms[bad])
				}
			}
		}
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
	if mean[kindCareful] < 0.5 {
		t.Errorf("careful labelers mean %.3f, want ≥ 0.5", mean[kindCareful])
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
