package consensus

import (
	"math/bits"
	"slices"
	"sort"
)

// weightedMedian is subtensor's weighted_median, ported step for step: a
// quickselect with the middle element of the partition as pivot that returns
// the score at which the stake below crosses minority. It is kept literal
// because subtensor's math tests exercise it directly (zero stakes included);
// the epoch uses medianCols, which gives the same answer from sparse columns.
func weightedMedian(stake, score []fix, partition []int, minority, lo, hi fix) fix {
	if len(stake) != len(score) {
		return 0
	}
	part := slices.Clone(partition)
	var lower, upper []int
	for iter := 0; iter <= len(partition); iter++ {
		switch len(part) {
		case 0:
			return 0
		case 1:
			return score[part[0]]
		}
		pivot := score[part[len(part)/2]]
		var loStake, hiStake fix
		for _, idx := range part {
			switch s := score[idx]; {
			case s == pivot:
			case s < pivot:
				loStake = satAdd(loStake, stake[idx])
				lower = append(lower, idx)
			default:
				hiStake = satAdd(hiStake, stake[idx])
				upper = append(upper, idx)
			}
		}
		switch {
		case minority < satAdd(lo, loStake) && len(lower) > 0:
			part = slices.Clone(lower)
			hi = satAdd(lo, loStake)
		case satSub(hi, hiStake) <= minority && len(upper) > 0:
			part = slices.Clone(upper)
			lo = satSub(hi, hiStake)
		default:
			return pivot
		}
		lower, upper = lower[:0], upper[:0]
	}
	return 0
}

// vote is one validator's score for a column and the stake behind it.
type vote struct {
	score, stake fix
}

// medianCols computes the stake-weighted median of every column of w
// (weighted_median_col_sparse) without densifying it.
//
// Subtensor builds, for each column, a dense vector over every validator with
// positive stake (a missing weight scores 0) and runs weightedMedian on it.
// With every stake positive, weightedMedian's answer does not depend on the
// order of its input: it returns the score v at which
// stake(score < v) <= minority < stake(score <= v), the smallest score if
// minority < 0, and the largest if no score crosses. So each column here
// holds only the votes it has, plus one vote at 0 carrying the stake of the
// validators that gave it nothing, and a weighted quickselect finds v in
// expected linear time. The property tests check this against the literal
// port on random columns.
func medianCols(stake []fix, w matrix, n int, kappa fix, parts int) []fix {
	return medianColsBlocked(stake, w, n, kappa, parts, medianBlockVotes)
}

// medianColsBlocked is medianCols bucketing about blockVotes votes at a
// time (tests make it small to cross block boundaries on small inputs).
func medianColsBlocked(stake []fix, w matrix, n int, kappa fix, parts, blockVotes int) []fix {
	// use_stake: the positive stakes, renormalised.
	var voters []int
	var useStake []fix
	for i, s := range stake {
		if s > 0 {
			voters = append(voters, i)
			useStake = append(useStake, s)
		}
	}
	normalize(useStake)
	stakeSum := sum(useStake)
	minority := satSub(stakeSum, kappa)
	median := make([]fix, n)
	if len(voters) == 0 {
		return median
	}

	// Each goroutine takes a span of columns. It buckets their votes a
	// block of columns at a time, so that the votes being written and then
	// selected stay in cache. Each column has room for every voter plus the
	// absent voters' vote; each voter's row is sorted by column, so a
	// cursor per voter walks it once across the blocks.
	per := len(voters) + 1
	block := max(1, min(n, blockVotes/per))
	colSpans(n, parts).run(func(_, lo, hi int) {
		votes := make([]vote, block*per)
		fill := make([]int, block)
		present := make([]fix, block)
		cursor := make([]int, len(voters))
		for k, i := range voters {
			cursor[k] = sort.Search(len(w[i]), func(c int) bool { return int(w[i][c].col) >= lo })
		}
		for j0 := lo; j0 < hi; j0 += block {
			j1 := min(j0+block, hi)
			clear(fill)
			clear(present)
			for k, i := range voters {
				row, c, s := w[i], cursor[k], useStake[k]
				for ; c < len(row) && int(row[c].col) < j1; c++ {
					j := int(row[c].col) - j0
					votes[j*per+fill[j]] = vote{row[c].val, s}
					fill[j]++
					present[j] += s
				}
				cursor[k] = c
			}
			for j := j0; j < j1; j++ {
				b := j - j0
				col := votes[b*per : b*per+fill[b]]
				if fill[b] < len(voters) {
					col = col[:fill[b]+1]
					col[fill[b]] = vote{0, stakeSum - present[b]}
				}
				median[j] = columnMedian(col, minority)
			}
		}
	})
	return median
}

// medianBlockVotes is how many votes medianCols buckets at a time: 256 KiB,
// which stays in a core's L2 cache.
const medianBlockVotes = 1 << 14

// columnMedian returns the weighted median of one column's votes, every
// stake positive: the score v with stake(< v) <= minority < stake(<= v), the
// smallest score if minority < 0, the largest if minority >= the total. It
// reorders and overwrites col.
//
// It is a weighted radix select: a histogram of the stake over the top bits
// of (score − lowest) picks the bucket where the stake crosses minority, and
// the search narrows to that bucket's votes until one score is left. Each
// level is a branch-free pass, and the spread of the scores, not their
// magnitude, sets the number of levels.
func columnMedian(col []vote, minority fix) fix {
	if len(col) == 0 {
		return 0
	}
	lo, hi := col[0].score, col[0].score
	for _, v := range col[1:] {
		lo, hi = min(lo, v.score), max(hi, v.score)
	}
	if minority < 0 {
		return lo
	}
	// width is the histogram's bits: enough to split the column, at most 8.
	width := min(max(bits.Len(uint(len(col))), 4), 8)
	var hist [256]fix
	var below fix // stake of the scores below lo, always <= minority
	for lo != hi {
		shift := max(bits.Len64(uint64(hi-lo))-width, 0)
		buckets := int(uint64(hi-lo)>>shift) + 1
		clear(hist[:buckets])
		for _, v := range col {
			hist[uint64(v.score-lo)>>shift] += v.stake
		}
		k := 0
		for ; k < buckets; k++ {
			if minority < below+hist[k] {
				break
			}
			below += hist[k]
		}
		if k == buckets {
			return hi // no score crosses: the largest
		}
		// Keep the votes of bucket k, with their range.
		kept := col[:0]
		nlo, nhi := hi, lo
		for _, v := range col {
			if int(uint64(v.score-lo)>>shift) == k {
				kept = append(kept, v)
				nlo, nhi = min(nlo, v.score), max(nhi, v.score)
			}
		}
		col, lo, hi = kept, nlo, nhi
	}
	return lo
}
