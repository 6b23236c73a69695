package consensus

import (
	"math"
	"math/big"
	"slices"
	"sort"
)

// This file is a naive reference epoch over rationals (math/big.Rat), dense
// n×n, written to be obviously correct rather than fast. It follows
// research/yuma.md section 2 step by step. Property tests compare Epoch with
// it (property_test.go).
//
// Exactness. Every quantity is an exact rational, with two deliberate
// exceptions, both of which are quantisations that subtensor's formulas
// specify, not arithmetic noise:
//
//   - the stake vector S is defined as I64F64 normalisation truncated to
//     I32F32 (yuma.md 2.2 step 6), i.e. S_i = floor(s_i·2^32/Σs)/2^32. The
//     reference computes that floor with big.Int. Using the exact s_i/Σs
//     instead would make a uid with stake 1 next to 10^18 positive here and
//     zero in subtensor, which changes permits (is_topk_nonzero), not just
//     the low bits.
//   - refSnap rounds a few intermediate vectors down to a multiple of
//     2^-refSnapBits (2^-128). Without it the denominators of sums of
//     products of row-normalised weights grow to thousands of bits at n = 48
//     and the reference takes seconds per case. 2^-128 is 96 bits below
//     I32F32's resolution, so it cannot be confused with the port's error;
//     the median's discrete decisions are taken on unsnapped values.
//
// The reference also measures how well conditioned each case is (refOut's
// margin and cond fields) so the tests can tell fixed-point noise from a
// wrong formula.

const refSnapBits = 128

var (
	refZero    = new(big.Rat)
	refOne     = big.NewRat(1, 1)
	refSnapDen = new(big.Int).Lsh(big.NewInt(1), refSnapBits)
)

func refInt(v int64) *big.Rat       { return big.NewRat(v, 1) }
func refFrac(a, b int64) *big.Rat   { return big.NewRat(a, b) }
func refU64(v uint64) *big.Rat      { return new(big.Rat).SetInt(new(big.Int).SetUint64(v)) }
func refAdd(a, b *big.Rat) *big.Rat { return new(big.Rat).Add(a, b) }
func refSub(a, b *big.Rat) *big.Rat { return new(big.Rat).Sub(a, b) }
func refMul(a, b *big.Rat) *big.Rat { return new(big.Rat).Mul(a, b) }
func refQuo(a, b *big.Rat) *big.Rat { return new(big.Rat).Quo(a, b) }
func refPos(a *big.Rat) bool        { return a.Sign() > 0 }
func refF(a *big.Rat) float64       { f, _ := a.Float64(); return f }

// refSnap rounds x >= 0 down to a multiple of 2^-refSnapBits.
func refSnap(x *big.Rat) *big.Rat {
	if x.IsInt() {
		return x
	}
	num := new(big.Int).Mul(x.Num(), refSnapDen)
	num.Quo(num, x.Denom())
	return new(big.Rat).SetFrac(num, refSnapDen)
}

func refSnapVec(v []*big.Rat) {
	for i := range v {
		v[i] = refSnap(v[i])
	}
}

func refSnapMat(m [][]*big.Rat) {
	for _, row := range m {
		refSnapVec(row)
	}
}

// refFloor returns floor(x) for x >= 0.
func refFloor(x *big.Rat) *big.Int {
	return new(big.Int).Quo(x.Num(), x.Denom())
}

// refU16 is floor(x·65535) clamped to [0, 65535]: fixed_proportion_to_u16.
func refU16(x *big.Rat) uint16 {
	if x.Sign() <= 0 {
		return 0
	}
	f := refFloor(refMul(x, refInt(65535)))
	if f.Cmp(big.NewInt(65535)) >= 0 {
		return 65535
	}
	return uint16(f.Int64())
}

// refScale is floor(x·amount) clamped to u64.
func refScale(x *big.Rat, amount uint64) uint64 {
	if x.Sign() <= 0 {
		return 0
	}
	f := refFloor(refMul(x, refU64(amount)))
	if !f.IsUint64() {
		return math.MaxUint64
	}
	return f.Uint64()
}

func refZeros(n int) []*big.Rat {
	v := make([]*big.Rat, n)
	for i := range v {
		v[i] = refZero
	}
	return v
}

func refZeroMat(n int) [][]*big.Rat {
	m := make([][]*big.Rat, n)
	for i := range m {
		m[i] = refZeros(n)
	}
	return m
}

func refSum(v []*big.Rat) *big.Rat {
	s := new(big.Rat)
	for _, x := range v {
		s.Add(s, x)
	}
	return s
}

// refNormalize divides v by its sum unless the sum is zero.
func refNormalize(v []*big.Rat) []*big.Rat {
	s := refSum(v)
	out := slices.Clone(v)
	if s.Sign() != 0 {
		for i := range out {
			out[i] = refQuo(out[i], s)
		}
	}
	return out
}

// refColNormalize divides each column by its sum where it is non-zero.
func refColNormalize(m [][]*big.Rat) [][]*big.Rat {
	n := len(m)
	out := refZeroMat(n)
	for j := range n {
		s := new(big.Rat)
		for i := range n {
			s.Add(s, m[i][j])
		}
		for i := range n {
			out[i][j] = m[i][j]
			if s.Sign() != 0 {
				out[i][j] = refQuo(m[i][j], s)
			}
		}
	}
	return out
}

// refColSums returns the column sums of m.
func refColSums(m [][]*big.Rat) []*big.Rat {
	n := len(m)
	out := refZeros(n)
	for j := range n {
		s := new(big.Rat)
		for i := range n {
			s.Add(s, m[i][j])
		}
		out[j] = s
	}
	return out
}

// refOut is the reference's result: exact proportions before their
// conversion to u16 and u64, plus conditioning measurements.
type refOut struct {
	// supported is false when the case uses liquid alpha with some non-zero
	// consensus, which the reference does not model.
	supported bool

	active, permits, newPermits []bool

	stake, activeStake, consensus, trust, incentive, dividends []*big.Rat
	// shares of the epoch emission: server, validator, combined.
	nse, nve, nce []*big.Rat
	// bonds are the values stored as u16 (after max-upscaling in classic
	// Yuma), dense; bondsSet says which are stored entries (value > 0).
	bonds    [][]*big.Rat
	fallback bool // emission sum was zero

	// margin is the smallest |cumulative stake − minority| over every
	// stake-weighted median decision (see refMedian): below the fixed-point
	// error the port may legitimately choose the neighbouring score.
	margin float64
	// rankSum and divSum are the denominators of the incentive and dividend
	// normalisations; emaColMin the smallest non-zero column sum the bond
	// EMA is normalised by. Absolute errors of the port are divided by
	// these, so they bound its relative precision.
	rankSum, divSum, emaColMin float64
	// deltaColMin is the smallest non-zero column sum of active_stake ⊙
	// weights_for_bonds, which classic Yuma's bond delta is normalised by.
	deltaColMin float64
}

// refMedian is the stake-weighted median of one column by its mathematical
// definition (yuma.md 2.6 with minority = Σstake − κ): the smallest score v
// with stake(score <= v) > minority; the largest score if none. stake and
// score are over the voters (positive stake) only. It also returns the
// smallest |stake(score <= v) − minority| over the groups before the last.
func refMedian(stake, score []*big.Rat, minority *big.Rat) (*big.Rat, float64) {
	if len(score) == 0 {
		return refZero, math.Inf(1)
	}
	idx := make([]int, len(score))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return score[idx[a]].Cmp(score[idx[b]]) < 0 })
	margin := math.Inf(1)
	cum := new(big.Rat)
	var result *big.Rat
	for g := 0; g < len(idx); {
		v := score[idx[g]]
		for ; g < len(idx) && score[idx[g]].Cmp(v) == 0; g++ {
			cum.Add(cum, stake[idx[g]])
		}
		if g < len(idx) {
			margin = min(margin, math.Abs(refF(refSub(cum, minority))))
		}
		if result == nil && minority.Cmp(cum) < 0 {
			result = v
		}
	}
	if result == nil {
		result = score[idx[len(idx)-1]]
	}
	return result, margin
}

// refEpoch is the reference epoch.
func refEpoch(in *Input) *refOut {
	n, p := in.N, in.Params
	owner := -1
	if in.OwnerUID != nil {
		owner = int(*in.OwnerUID)
	}
	out := &refOut{supported: true, margin: math.Inf(1), emaColMin: math.Inf(1), deltaColMin: math.Inf(1)}

	// 2.1 activity: last_update + cutoff < block means inactive (the sum
	// saturates in u64).
	out.active = make([]bool, n)
	for i := range n {
		end := new(big.Int).Add(new(big.Int).SetUint64(in.LastUpdate[i]), new(big.Int).SetUint64(p.ActivityCutoff))
		if end.Cmp(new(big.Int).SetUint64(math.MaxUint64)) > 0 {
			end.SetUint64(math.MaxUint64)
		}
		out.active[i] = end.Cmp(new(big.Int).SetUint64(in.Block)) >= 0
	}

	// 2.2 stake: threshold (the owner is exempt), then S_i = floor(s_i·2^32/Σs)/2^32.
	total := new(big.Int)
	filtered := make([]*big.Int, n)
	for i := range n {
		filtered[i] = new(big.Int)
		if i == owner || in.Stake[i] >= p.StakeThreshold {
			filtered[i].SetUint64(in.Stake[i])
			total.Add(total, filtered[i])
		}
	}
	out.stake = refZeros(n)
	if total.Sign() > 0 {
		for i := range n {
			q := new(big.Int).Lsh(filtered[i], 32)
			q.Quo(q, total)
			out.stake[i] = new(big.Rat).SetFrac(q, new(big.Int).Lsh(big.NewInt(1), 32))
		}
	}

	// 2.3 permits: stored ones (owner forced), and is_topk_nonzero for the
	// next epoch: positive stake, and if n >= k drop the n−k first of a
	// stable ascending sort.
	out.permits = slices.Clone(in.Permits)
	out.newPermits = make([]bool, n)
	for i := range n {
		out.newPermits[i] = refPos(out.stake[i])
	}
	if k := int(p.MaxAllowedValidators); n >= k {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return out.stake[idx[a]].Cmp(out.stake[idx[b]]) < 0 })
		for _, i := range idx[:n-k] {
			out.newPermits[i] = false
		}
	}
	if owner >= 0 {
		out.permits[owner] = true
		out.newPermits[owner] = true
	}

	// 2.4 active stake.
	as := refZeros(n)
	for i := range n {
		if out.active[i] && out.permits[i] {
			as[i] = out.stake[i]
		}
	}
	as = refNormalize(as)
	out.activeStake = as

	// 2.5 weights: raw u16, masks in order, row normalisation.
	w := refZeroMat(n)
	for i := 0; i < n && i < len(in.Weights); i++ {
		for _, e := range in.Weights[i] {
			j := int(e.UID)
			keep := out.permits[i] &&
				(i != j || i == owner) &&
				!(in.LastUpdate[i] <= in.BlockAtRegistration[j]) &&
				(in.CommitBlocks == nil || !(in.CommitBlocks[i] < in.BlockAtRegistration[j]))
			if keep {
				w[i][j] = refInt(int64(e.Value))
			}
		}
		s := refSum(w[i])
		if refPos(s) {
			for j := range n {
				w[i][j] = refQuo(w[i][j], s)
			}
		}
	}

	// 2.6 consensus over the voters (positive active stake); a missing
	// weight scores 0. minority = 1 − κ exactly (the voters' stake sums to 1).
	kappa := refFrac(int64(p.Kappa), 65535)
	var voters []int
	for i := range n {
		if refPos(as[i]) {
			voters = append(voters, i)
		}
	}
	vstake := make([]*big.Rat, len(voters))
	for k, i := range voters {
		vstake[k] = as[i]
	}
	minority := refSub(refSum(vstake), kappa)
	out.consensus = refZeros(n)
	for j := range n {
		score := make([]*big.Rat, len(voters))
		for k, i := range voters {
			score[k] = w[i][j]
		}
		c, m := refMedian(vstake, score, minority)
		out.consensus[j] = c
		out.margin = min(out.margin, m)
	}
	refSnapMat(w)

	// Clipping: an entry above its column's consensus becomes the
	// consensus, or disappears if that is zero.
	clipped := refZeroMat(n)
	for i := range n {
		for j := range n {
			clipped[i][j] = w[i][j]
			if out.consensus[j].Cmp(w[i][j]) < 0 {
				clipped[i][j] = out.consensus[j]
			}
		}
	}
	out.trust = make([]*big.Rat, n)
	for i := range n {
		out.trust[i] = refSum(clipped[i])
	}

	// 2.7 ranks and incentive.
	ranks := refZeros(n)
	for j := range n {
		s := new(big.Rat)
		for i := range n {
			s.Add(s, refMul(as[i], clipped[i][j]))
		}
		ranks[j] = refSnap(s)
	}
	out.rankSum = refF(refSum(ranks))
	out.incentive = refNormalize(ranks)
	refSnapVec(out.incentive)

	// 2.8 weights for bonds: W + β(clipped − W).
	beta := refFrac(int64(p.BondsPenalty), 65535)
	wfb := refZeroMat(n)
	for i := range n {
		for j := range n {
			wfb[i][j] = refAdd(w[i][j], refMul(beta, refSub(clipped[i][j], w[i][j])))
		}
	}
	refSnapMat(wfb)

	// Bonds on uids registered since the last epoch are dropped.
	lastTempo := in.LastEpochBlock + 1
	if in.LastEpochBlock == 0 {
		lastTempo = satSubU64(in.Block, p.Tempo)
	}
	b := refZeroMat(n)
	for i := 0; i < n && i < len(in.Bonds); i++ {
		for _, e := range in.Bonds[i] {
			if lastTempo <= in.BlockAtRegistration[e.UID] {
				continue
			}
			if p.Yuma3 {
				b[i][e.UID] = refFrac(int64(e.Value), 65535)
			} else {
				b[i][e.UID] = refInt(int64(e.Value))
			}
		}
	}
	alpha := refSub(refOne, refFrac(int64(p.BondsMovingAverage), 1_000_000))
	oneMinus := refSub(refOne, alpha)
	emaOf := func(nw, old [][]*big.Rat) [][]*big.Rat {
		e := refZeroMat(n)
		for i := range n {
			for j := range n {
				e[i][j] = refAdd(refMul(alpha, nw[i][j]), refMul(oneMinus, old[i][j]))
			}
		}
		refSnapMat(e)
		for _, s := range refColSums(e) {
			if refPos(s) {
				out.emaColMin = min(out.emaColMin, refF(s))
			}
		}
		return e
	}

	var dividends []*big.Rat
	var bonds [][]*big.Rat
	if p.Yuma3 {
		if p.LiquidAlpha && slices.ContainsFunc(out.consensus, refPos) {
			out.supported = false
			return out
		}
		// 2.10 without liquid alpha: EMA of proportions, then dividends
		// from the column-normalised EMA, scaled by active stake.
		bonds = emaOf(wfb, b)
		norm := refColNormalize(bonds)
		dividends = refZeros(n)
		for i := range n {
			s := new(big.Rat)
			for j := range n {
				s.Add(s, refMul(norm[i][j], out.incentive[j]))
			}
			dividends[i] = refMul(s, as[i])
		}
	} else {
		// 2.9: column-normalised old bonds and stake-weighted bond deltas.
		b = refColNormalize(b)
		delta := refZeroMat(n)
		for i := range n {
			for j := range n {
				delta[i][j] = refMul(wfb[i][j], as[i])
			}
		}
		for _, s := range refColSums(delta) {
			if refPos(s) {
				out.deltaColMin = min(out.deltaColMin, refF(s))
			}
		}
		delta = refColNormalize(delta)
		bonds = refColNormalize(emaOf(delta, b))
		refSnapMat(bonds)
		dividends = refZeros(n)
		for i := range n {
			s := new(big.Rat)
			for j := range n {
				s.Add(s, refMul(bonds[i][j], out.incentive[j]))
			}
			dividends[i] = s
		}
		// Storage: each column divided by its maximum.
		for j := range n {
			mx := refZero
			for i := range n {
				if bonds[i][j].Cmp(mx) > 0 {
					mx = bonds[i][j]
				}
			}
			if refPos(mx) {
				for i := range n {
					bonds[i][j] = refQuo(bonds[i][j], mx)
				}
			}
		}
	}
	refSnapVec(dividends)
	out.divSum = refF(refSum(dividends))
	out.dividends = refNormalize(dividends)
	out.bonds = bonds

	// 2.11 emission shares.
	combined := make([]*big.Rat, n)
	for i := range n {
		combined[i] = refAdd(out.incentive[i], out.dividends[i])
	}
	esum := refSum(combined)
	out.nse, out.nve, out.nce = refZeros(n), refZeros(n), refZeros(n)
	if esum.Sign() == 0 {
		out.fallback = true
		fb := as
		if refSum(as).Sign() == 0 {
			fb = out.stake
		}
		out.nse = slices.Clone(out.incentive)
		out.nve, out.nce = slices.Clone(fb), slices.Clone(fb)
	} else {
		for i := range n {
			out.nse[i] = refQuo(out.incentive[i], esum)
			out.nve[i] = refQuo(out.dividends[i], esum)
			out.nce[i] = refQuo(combined[i], esum)
		}
	}
	return out
}
