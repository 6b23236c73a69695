//go:build !race

// The label markets are simulations of thousands of labels through pure,
// single-goroutine code: the race detector finds nothing in them and makes
// them ten times slower, so they build without it, and make test runs them
// in a pass of their own (see the Makefile).

package scoring

import (
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// This file pits careful labelers against labelers written the way their authors would write
// them: the cheapest way to be paid. A validator measures time on task itself, so every cheat
// waits out a plausible reading time; what it saves is the reading.

// mktItem is one simulated comparison. The validator knows Trap and the answer; labelers see
// only the texts (lengths, and a hash a ring can agree on) unless they are oracles.
type mktItem struct {
	id         string
	trap       bool
	better     Vote    // VoteA or VoteB
	gap        float64 // how much better, in logits of a careful labeler's accuracy
	lenA, lenB int     // completion lengths: uncorrelated with quality, as the validator makes them
	promptLen  int
}

func (it *mktItem) longer() string {
	switch {
	case it.lenA > it.lenB:
		return "a"
	case it.lenB > it.lenA:
		return "b"
	}
	return ""
}

// mktView is what a labeler sees of one task.
type mktView struct {
	item      *mktItem
	shownLeft string
	r         *rand.Rand
	floorMs   int64 // the least time the validator finds plausible for this text
}

// A mktPolicy answers a task and says how long it took (ms).
type mktPolicy func(v mktView) (choice string, ms int64)

func coin(r *rand.Rand) string { return [2]string{"a", "b"}[r.IntN(2)] }

// slowly is the cheat's time: just above the plausibility floor.
func slowly(v mktView) int64 { return v.floorMs + 200 + v.r.Int64N(v.floorMs/2+1) }

// careful reads (5–20 chars/s) and picks the better side with probability σ(gap), a tie now
// and then on close real pairs; no side or length preference.
func careful(v mktView) (string, int64) {
	it := v.item
	textLen := it.promptLen + it.lenA + it.lenB
	ms := int64(float64(textLen) / (5 + 15*v.r.Float64()) * 1000)
	if !it.trap && v.r.Float64() < 0.05 {
		return "tie", ms
	}
	right := v.r.Float64() < 1/(1+math.Exp(-it.gap))
	if (it.better == VoteA) == right {
		return "a", ms
	}
	return "b", ms
}

func randomClicker(v mktView) (string, int64) { return coin(v.r), slowly(v) }
func alwaysLeft(v mktView) (string, int64)    { return v.shownLeft, slowly(v) }
func alwaysTie(v mktView) (string, int64)     { return "tie", slowly(v) }

func alwaysLonger(v mktView) (string, int64) {
	if l := v.item.longer(); l != "" {
		return l, slowly(v)
	}
	return coin(v.r), slowly(v)
}

// hashRule is a ring's shared deterministic rule: the side whose text hashes lower.
func hashRule(v mktView) (string, int64) {
	h := func(side string) uint64 {
		f := fnv.New64a()
		f.Write([]byte(v.item.id + "/" + side))
		return f.Sum64()
	}
	if h("a") < h("b") {
		return "a", slowly(v)
	}
	return "b", slowly(v)
}

// oracle answers traps right (it knows which they are) and otherwise does what rest does.
func oracle(rest mktPolicy) mktPolicy {
	return func(v mktView) (string, int64) {
		if v.item.trap {
			return [3]string{"a", "", "b"}[v.item.better], slowly(v)
		}
		return rest(v)
	}
}

// mktMiner is a miner and its labelers; copies means all its labelers label every task the
// miner gets, copying one choice (the copy ring of sock puppets); onlyTraps means it labels
// only the tasks it recognises as traps.
//
// source names a person whose labels several miners submit (sybils): each item that any of
// them gets is judged once by that person, with policy, and every such miner submits that
// choice, except that each flips a fraction flip of its copies to the other side (or a tie to
// a random side) to dodge a duplicate check. sameLeft makes a miner show the completions in
// the order the person saw them (an exact duplicate); otherwise it shuffles its own.
type mktMiner struct {
	name      string
	labelers  int
	policy    mktPolicy
	copies    bool
	onlyTraps bool
	source    string
	flip      float64
	sameLeft  bool
}

// simulateMarket labels items: each is a trap with probability 0.2 (gap 3: a careful labeler is
// right 95% of the time) or a real pair (gap uniform in [0.85, 1.75]: 70–85%), and is given to
// 4–6 of the miners, each choosing one of its labelers (all of them if copies).
func simulateMarket(r *rand.Rand, miners []mktMiner, items int) []LabelObs {
	opts := DefaultLabelOptions()
	var obs []LabelObs
	for n := range items {
		it := &mktItem{id: fmt.Sprint("item-", n), trap: r.IntN(5) == 0, better: Vote(2 * r.IntN(2)),
			lenA: 200 + r.IntN(1500), lenB: 200 + r.IntN(1500), promptLen: 50 + r.IntN(300)}
		it.gap = 0.85 + 0.9*r.Float64()
		if it.trap {
			it.gap = 3
		}
		textLen := it.promptLen + it.lenA + it.lenB
		floor := max(opts.MinTimeMs, int64(1000*float64(textLen)/opts.MaxCharsPerSec))
		k := 4 + r.IntN(3)
		type judged struct {
			choice, left string
			ms           int64
		}
		persons := map[string]judged{} // what each source person chose on this item
		for _, mi := range r.Perm(len(miners))[:min(k, len(miners))] {
			m := miners[mi]
			if m.onlyTraps && !it.trap {
				continue
			}
			who := []int{r.IntN(m.labelers)}
			if m.copies {
				who = who[:0]
				for l := range m.labelers {
					who = append(who, l)
				}
			}
			var choice string
			for j, l := range who {
				v := mktView{item: it, shownLeft: coin(r), r: r, floorMs: floor}
				c, ms := m.policy(v)
				if m.source != "" {
					p, ok := persons[m.source]
					if !ok {
						p = judged{c, v.shownLeft, ms}
						persons[m.source] = p
					} else {
						ms = slowly(v) // the copy waits out a plausible time
					}
					c = p.choice
					if m.sameLeft {
						v.shownLeft = p.left
					}
					if r.Float64() < m.flip {
						c = map[string]string{"a": "b", "b": "a", "tie": coin(r)}[c]
					}
				}
				if j == 0 {
					choice = c
				}
				if m.copies {
					ms = slowly(v)
				}
				ob := LabelObs{Item: it.id, Miner: m.name, Labeler: fmt.Sprint("l", l), Choice: choice,
					ShownLeft: v.shownLeft, Longer: it.longer(), TimeOnTaskMs: ms, TextLen: textLen, Trap: it.trap}
				if it.trap {
					ob.TrapAnswer = [3]string{"a", "", "b"}[it.better]
				}
				obs = append(obs, ob)
			}
		}
	}
	return obs
}

// carefulMiners are five careful miners with 1–3 labelers.
func carefulMiners() []mktMiner {
	var ms []mktMiner
	for i, n := range []int{1, 2, 3, 2, 1} {
		ms = append(ms, mktMiner{name: fmt.Sprint("careful-", i), labelers: n, policy: careful})
	}
	return ms
}

// sybils are n miners submitting one careful person's labels (see mktMiner.source), the i-th
// flipping flip·(1 + i/(n−1)) of them (flip to 2·flip); withSource adds the person's own
// miner, <prefix>src, which submits the person's labels unchanged (it colludes: it is paid
// by the same person's work, so it is an attacker too).
func sybils(prefix string, n int, flip float64, sameLeft, withSource bool) []mktMiner {
	var ms []mktMiner
	if withSource {
		ms = append(ms, mktMiner{name: prefix + "src", labelers: 1, policy: careful, source: "person"})
	}
	for i := range n {
		f := flip * (1 + float64(i)/float64(max(1, n-1)))
		ms = append(ms, mktMiner{name: fmt.Sprint(prefix, i), labelers: 1, policy: careful, source: "person", flip: f, sameLeft: sameLeft})
	}
	return ms
}

// attackScenarios are the markets: five careful miners with up to five attacking ones each
// (6–10 miners, as a young subnet).
func attackScenarios() map[string][]mktMiner {
	ring := func(prefix string, p mktPolicy) []mktMiner {
		var ms []mktMiner
		for i := range 3 {
			ms = append(ms, mktMiner{name: fmt.Sprint(prefix, i), labelers: 2, policy: p})
		}
		return ms
	}
	return map[string][]mktMiner{
		"clickers": append(carefulMiners(),
			mktMiner{name: "x-random", labelers: 2, policy: randomClicker},
			mktMiner{name: "x-left", labelers: 2, policy: alwaysLeft},
			mktMiner{name: "x-longer", labelers: 2, policy: alwaysLonger},
			mktMiner{name: "x-tie", labelers: 1, policy: alwaysTie},
			mktMiner{name: "x-copy5", labelers: 5, policy: randomClicker, copies: true}),
		"spotters": append(carefulMiners(),
			mktMiner{name: "x-oracle", labelers: 2, policy: oracle(randomClicker)},
			mktMiner{name: "x-oracle-longer", labelers: 2, policy: oracle(alwaysLonger)},
			mktMiner{name: "x-oracle-traps-only", labelers: 2, policy: oracle(randomClicker), onlyTraps: true},
			mktMiner{name: "x-oracle-hash", labelers: 1, policy: oracle(hashRule)}),
		"hash-ring": append(carefulMiners(), ring("x-ring-", hashRule)...),
		// One careful person's labels submitted by several miners: three sybils copying exactly
		// (same choice, same side shown left) with the person's own miner in the market, or
		// without it; three that each flip 5–10% of their copies; and a careful miner relaying
		// its labels to two more miners that shuffle the sides themselves.
		"sybil-copy":       append(carefulMiners(), sybils("x-syb-", 3, 0, true, true)...),
		"sybil-copy-alone": append(carefulMiners(), sybils("x-syb-", 3, 0, true, false)...),
		"sybil-flip":       append(carefulMiners(), sybils("x-syb-", 3, 0.05, true, true)...),
		"sybil-flip-alone": append(carefulMiners(), sybils("x-syb-", 3, 0.05, true, false)...),
		"relay":            append(carefulMiners(), sybils("x-relay-", 2, 0, false, true)...),
		"oracle-ring":      append(carefulMiners(), ring("x-oring-", oracle(hashRule))...),
	}
}

// TestLabelAttacks: over several seeds and in every market, each attacking miner's label score
// is at most a third of the mean careful miner's, and every careful miner is well above that
// bar (at least half the careful mean: one careful labeler's score varies by about ±20% from
// seed to seed with a few hundred labels).
func TestLabelAttacks(t *testing.T) {
	const seeds = 8
	type tally struct{ sum, max float64 }
	for _, name := range []string{"clickers", "spotters", "hash-ring", "oracle-ring", "sybil-copy", "sybil-copy-alone", "sybil-flip", "sybil-flip-alone", "relay"} {
		miners := attackScenarios()[name]
		stats := map[string]*tally{}
		carefulSum, carefulMin := 0.0, math.Inf(1)
		sourceSum := &tally{}
		for seed := range uint64(seeds) {
			obs := simulateMarket(rand.New(rand.NewPCG(seed, 0xa77ac)), miners, 900)
			r, err := AssessLabels(obs, DefaultLabelOptions())
			if err != nil {
				t.Fatal(err)
			}
			mean, n := 0.0, 0
			for _, m := range r.Miners {
				if strings.HasPrefix(m.Miner, "careful-") {
					mean += m.Score
					n++
				}
			}
			mean /= float64(n)
			carefulSum += mean
			// Miners paid for one person's labels earn together about what one careful
			// miner earns, at most.
			source := 0.0
			for _, m := range r.Miners {
				if strings.HasPrefix(m.Miner, "x-syb-") || strings.HasPrefix(m.Miner, "x-relay-") {
					source += m.Score
				}
			}
			if source > 0 {
				sourceSum.sum += source / mean
				sourceSum.max = max(sourceSum.max, source/mean)
			}
			if source > mean {
				t.Errorf("%s seed %d: miners relaying one person earn %.3f together, above one careful miner (mean %.3f)", name, seed, source, mean)
			}
			for _, m := range r.Miners {
				if strings.HasPrefix(m.Miner, "careful-") {
					carefulMin = min(carefulMin, m.Score/mean)
					if m.CopyMates != "" {
						t.Errorf("%s seed %d: careful %s taken for a copy of %s", name, seed, m.Miner, m.CopyMates)
					}
					if m.Score < mean/2 {
						t.Errorf("%s seed %d: careful %s %.3f below half the careful mean %.3f", name, seed, m.Miner, m.Score, mean)
					}
					continue
				}
				s := stats[m.Miner]
				if s == nil {
					s = &tally{}
					stats[m.Miner] = s
				}
				s.sum += m.Score / mean
				s.max = max(s.max, m.Score/mean)
				if m.Score > mean/3 {
					t.Errorf("%s seed %d: %s scores %.3f, above a third of the careful mean %.3f", name, seed, m.Miner, m.Score, mean)
				}
			}
			if seed == 0 {
				for _, g := range r.Labelers {
					if !strings.HasPrefix(g.Miner, "careful-") {
						t.Logf("%s: %s/%s score %.3f reasons %q", name, g.Miner, g.Labeler, g.Score, g.Reasons)
					}
				}
			}
		}
		t.Logf("%s: careful mean score %.3f (lowest careful miner %.2f of its seed's mean)", name, carefulSum/seeds, carefulMin)
		for _, m := range slices.Sorted(maps.Keys(stats)) {
			s := stats[m]
			t.Logf("%s: %-22s score / careful mean: mean %.3f max %.3f", name, m, s.sum/seeds, s.max)
		}
		if sourceSum.max > 0 {
			t.Logf("%s: %-22s score / careful mean: mean %.3f max %.3f", name, "one person's miners, sum", sourceSum.sum/seeds, sourceSum.max)
		}
	}
}

// sharp is a careful labeler of more skill: as careful, with every quality gap half as
// large again (right on 78–93% of the real pairs instead of 70–85%).
func sharp(v mktView) (string, int64) {
	it := *v.item
	it.gap *= 1.5
	v.item = &it
	return careful(v)
}

// TestLabelCopyFalsePositives: independent careful miners, noisy like people and judging the
// same items (so their errors share each item's difficulty), are never taken for copies of
// each other: over many seeds, with many items and few, all of the same skill or some more
// skilled than the rest, and beside clickers and trap spotters, no careful miner has a copy
// mate. The sybils of the attack markets, by contrast, are found in every seed (checked here
// too, so the two sides of the threshold are measured on the same runs).
func TestLabelCopyFalsePositives(t *testing.T) {
	const seeds = 60
	eight := func(skilled int) []mktMiner {
		var ms []mktMiner
		for i, n := range []int{1, 2, 3, 2, 1, 1, 2, 1} {
			p := careful
			if i < skilled {
				p = sharp
			}
			ms = append(ms, mktMiner{name: fmt.Sprint("careful-", i), labelers: n, policy: p})
		}
		return ms
	}
	markets := []struct {
		name   string
		miners []mktMiner
		items  int
	}{
		{"careful-8", eight(0), 900},
		{"careful-8-few-items", eight(0), 150},
		{"careful-8-two-sharper", eight(2), 900},
		{"careful-8-four-sharper", eight(4), 900},
		{"clickers", attackScenarios()["clickers"], 900},
		{"spotters", attackScenarios()["spotters"], 900},
		{"sybil-flip-alone", attackScenarios()["sybil-flip-alone"], 900},
		// Two sharp careful miners and a clicker, the validator test's
		// market: with the clicker's pairs in the reference, the careful
		// pair's agreement looked like copying.
		{"two-sharp-one-clicker", []mktMiner{{name: "careful-0", labelers: 1, policy: sharp}, {name: "careful-1", labelers: 1, policy: sharp},
			{name: "clicker", labelers: 1, policy: randomClicker}}, 900},
	}
	for _, mk := range markets {
		flagged, careful, sybils, found := 0, 0, 0, 0
		for seed := range uint64(seeds) {
			obs := simulateMarket(rand.New(rand.NewPCG(seed, 0xfa15e)), mk.miners, mk.items)
			r, err := AssessLabels(obs, DefaultLabelOptions())
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range r.Miners {
				switch {
				case strings.HasPrefix(m.Miner, "careful-"):
					careful++
					if m.CopyMates != "" {
						flagged++
						t.Errorf("%s seed %d: careful %s taken for a copy of %s", mk.name, seed, m.Miner, m.CopyMates)
					}
				case strings.HasPrefix(m.Miner, "x-syb-"):
					sybils++
					if strings.Count(m.CopyMates, "x-syb-") == 2 {
						found++
					}
				}
			}
		}
		t.Logf("%-24s careful miners taken for copies: %d of %d; sybils found with both mates: %d of %d", mk.name, flagged, careful, found, sybils)
		if found != sybils {
			t.Errorf("%s: %d of %d sybils found with both mates", mk.name, found, sybils)
		}
	}
}

// TestLabelSmallNetworks: in a young network two careful miners with a few dozen items each
// are paid whenever the first round (weights from traps alone) pays them, since a PeerKappa
// round that would zero both weights is skipped (before, a κ whose lower bound fell below 0
// for want of items zeroed both, leaving neither a consensus); a lone miner, careful or a
// trap spotter that clicks at random on real pairs, has no one to be compared with and scores
// 0, since traps alone cannot tell the two apart (see LabelerQuality); and a trap spotter
// beside one careful miner scores far below what a careful miner earns beside another.
func TestLabelSmallNetworks(t *testing.T) {
	const seeds = 30
	one := func(name string, p mktPolicy) mktMiner { return mktMiner{name: name, labelers: 1, policy: p} }
	firstRound := DefaultLabelOptions()
	firstRound.ConsensusRounds = 1
	paid, lost := 0, 0
	var carefulPair, spotter, spotterMax float64
	for seed := range uint64(seeds) {
		r := rand.New(rand.NewPCG(seed, 0x5a11))
		for _, items := range []int{20, 30, 60} {
			obs := simulateMarket(r, []mktMiner{one("careful-0", careful), one("careful-1", careful)}, items)
			first, err := AssessLabels(obs, firstRound)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := AssessLabels(obs, DefaultLabelOptions())
			if err != nil {
				t.Fatal(err)
			}
			for i, m := range rep.Miners {
				if first.Miners[i].Score > 0 {
					paid++
					if m.Score == 0 {
						lost++
						t.Errorf("seed %d, %d items: %s paid %.3f by the first round, 0 after the rounds", seed, items, m.Miner, first.Miners[i].Score)
					}
				}
			}
		}
		for _, p := range []mktPolicy{careful, oracle(randomClicker)} {
			rep, err := AssessLabels(simulateMarket(r, []mktMiner{one("alone", p)}, 200), DefaultLabelOptions())
			if err != nil {
				t.Fatal(err)
			}
			if g := rep.Labelers[0]; g.Score != 0 || !slices.Contains(g.Reasons, "no consensus yet") {
				t.Errorf("seed %d: lone miner scores %v, reasons %q", seed, g.Score, g.Reasons)
			}
		}
		for i, other := range []mktPolicy{careful, oracle(randomClicker)} {
			rep, err := AssessLabels(simulateMarket(r, []mktMiner{one("a", careful), one("b", other)}, 200), DefaultLabelOptions())
			if err != nil {
				t.Fatal(err)
			}
			if s := rep.Miners[1].Score; i == 0 {
				carefulPair += s / seeds
			} else {
				spotter += s / seeds
				spotterMax = max(spotterMax, s)
			}
		}
	}
	t.Logf("two careful miners with 20–60 items: %d paid by the first round, %d of them zeroed by the later ones", paid, lost)
	t.Logf("200 items: careful beside careful %.3f, trap spotter beside careful %.3f (max %.3f)", carefulPair, spotter, spotterMax)
	if spotter > carefulPair/3 {
		t.Errorf("trap spotter beside one careful miner scores %.3f on average, above a third of a careful pair's %.3f", spotter, carefulPair)
	}
}
