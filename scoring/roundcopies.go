package scoring

import "slices"

// RoundCopies finds near-duplicates among the answers to one round's
// prompt, on their tokens: a copy of another miner's answer cut short, a
// few words swapped, or one model run shared by several hotkeys. It is the
// copy check of the statistical path, where another miner's sample is a
// sample of the declared model too; exact replay needs none (a copy does
// not replay under the copier's own seed). There is no length floor: an
// answer of one token is compared like any other. Not safe for concurrent
// use; one per round.
type RoundCopies struct {
	threshold float64
	sets      []map[uint64]struct{}
	ids       [][]int
}

// copyShingle is the length, in tokens, of the runs answers are compared
// on.
const copyShingle = 4

// NewRoundCopies compares answers at threshold: the fraction of an
// answer's token runs found in an earlier answer that makes it a copy, in
// (0, 1].
func NewRoundCopies(threshold float64) *RoundCopies {
	return &RoundCopies{threshold: threshold}
}

// Add adds the next answer's token ids, in the order the answers were
// received, and returns the index (in the order added) of an earlier
// answer that contains at least threshold of its token runs, with that
// fraction; -1 and the highest fraction seen when there is none. An answer
// shorter than one run copies an earlier answer it begins (similarity 1).
func (rc *RoundCopies) Add(ids []int) (int, float64) {
	defer func() { rc.ids = append(rc.ids, ids) }()
	if len(ids) > 0 && len(ids) < copyShingle {
		rc.sets = append(rc.sets, nil)
		for j, other := range rc.ids {
			if len(other) >= len(ids) && slices.Equal(other[:len(ids)], ids) {
				return j, 1
			}
		}
		return -1, 0
	}
	set := shingles(ids)
	best, bestSim := -1, 0.0
	for j, other := range rc.sets {
		if len(set) == 0 {
			break
		}
		in := 0
		for h := range set {
			if _, ok := other[h]; ok {
				in++
			}
		}
		if sim := float64(in) / float64(len(set)); sim > bestSim {
			best, bestSim = j, sim
		}
	}
	rc.sets = append(rc.sets, set)
	if bestSim >= rc.threshold && best >= 0 {
		return best, bestSim
	}
	return -1, bestSim
}

// shingles is the set of hashes of ids' runs of copyShingle tokens (the
// whole of ids when it is shorter).
func shingles(ids []int) map[uint64]struct{} {
	set := make(map[uint64]struct{}, len(ids))
	n := min(copyShingle, len(ids))
	for i := 0; i+n <= len(ids) && n > 0; i++ {
		h := uint64(n)
		for _, id := range ids[i : i+n] {
			h = ufMix64(h ^ uint64(id))
		}
		set[h] = struct{}{}
	}
	return set
}
