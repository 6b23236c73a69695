package consensus

// This file keeps the epoch's weights-to-bonds steps as a literal
// composition of subtensor's kernels: one pass per kernel, each
// materialising its matrix, and the literal quickselect median, as epoch.go
// computed them before it fused them. The fused epoch must give the same
// output bit for bit (TestEpochMatchesLiteral). The kernels that epoch.go
// still shares are used from there; the ones it replaced are kept here.

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

func litEpoch(in *Input) *Output {
	n, p := in.N, in.Params
	s := newUIDState(in, 1)
	activeStake, lastTempo := s.activeStake, s.lastTempo

	// Weights: permitted rows, no self-weight but the owner's, no weight
	// older than its target's registration (or than a pending commit).
	w := litLoad(in.Weights, in.N, false, in.BlockAtRegistration, s.owner, weightBound(in, s.permits))
	litRowNormalize(w)

	// Consensus, clipping, validator trust, incentive.
	kappa := safeDiv(fromInt(int64(p.Kappa)), u16Max)
	consensus := propLiteralMedianCols(activeStake, w, n, kappa)
	beta := safeDiv(fromInt(int64(p.BondsPenalty)), u16Max)
	var clipped matrix
	if beta == one {
		clipped = litClipInto(w, w, consensus) // bonds follow the clipped weights alone
	} else {
		clipped = litClipInto(rowsLike(w, nil), w, consensus)
	}
	trust, incentive := litTrustAndRanks(clipped, activeStake, n)
	normalize(incentive)

	// Bonds and dividends.
	wfb := interpolate(w, clipped, beta) // w and clipped are not used below
	scratch := make([]fix, n)
	var dividends []fix
	var bonds matrix
	if p.Yuma3 {
		b := litLoad(in.Bonds, in.N, true, in.BlockAtRegistration, allDiagonal, func(int) uint64 { return lastTempo })
		if p.LiquidAlpha && slices.ContainsFunc(consensus, func(c fix) bool { return c != 0 }) {
			bonds = liquidEMA(wfb, b, consensus, p, oneSpan(n))
		} else {
			bonds = litEma(wfb, b, bondsAlpha(p.BondsMovingAverage))
		}
		norm := bonds.clone()
		litColNormalize(norm, scratch)
		dividends = make([]fix, n)
		for i, row := range norm {
			var s fix
			for _, c := range row {
				s += mul(c.val, incentive[c.col])
			}
			if d, ok := mulChecked(s, activeStake[i]); ok {
				dividends[i] = d
			}
		}
		normalize(dividends)
	} else {
		b := litLoad(in.Bonds, in.N, false, in.BlockAtRegistration, allDiagonal, func(int) uint64 { return lastTempo })
		litColNormalize(b, scratch)
		litScaleRows(wfb, activeStake) // ΔB = W̃ ◦ S
		litColNormalize(wfb, scratch)
		bonds = litEma(wfb, b, bondsAlpha(p.BondsMovingAverage))
		dividends = litClassicDividends(bonds, incentive, scratch)
		normalize(dividends)
	}
	// litClassicDividends left the bonds upscaled: no column maxima.
	return s.finish(in, consensus, trust, incentive, dividends, bonds, nil)
}

// litRowNormalize divides each row by its sum where the sum is positive
// (inplace_row_normalize_sparse).
func litRowNormalize(m matrix) {
	for _, row := range m {
		var s fix
		for _, c := range row {
			s += c.val
		}
		if s > 0 {
			for k := range row {
				row[k].val = safeDiv(row[k].val, s)
			}
		}
	}
}

// litColNormalize divides each entry by its column's sum where that sum is
// non-zero (inplace_col_normalize_sparse). scratch must have n zeroed cells;
// it is left zeroed.
func litColNormalize(m matrix, scratch []fix) {
	for _, row := range m {
		for _, c := range row {
			scratch[c.col] = satAdd(scratch[c.col], c.val)
		}
	}
	for _, row := range m {
		for k, c := range row {
			if d := scratch[c.col]; d != 0 {
				row[k].val = safeDiv(c.val, d)
			}
		}
	}
	clear(scratch)
}

// litClassicDividends column-normalises the classic bonds EMA, computes each
// validator's dividend d_i = Σ_j ema_ij · incentive_j from the normalised
// bonds (matmul_transpose_sparse), and leaves ema column max-upscaled for
// storage (inplace_col_max_upscale_sparse): three passes where subtensor
// makes five, with the same rounding. scratch as for colNormalize.
func litClassicDividends(ema matrix, incentive, scratch []fix) []fix {
	for _, row := range ema {
		for _, c := range row {
			scratch[c.col] = satAdd(scratch[c.col], c.val)
		}
	}
	colMax := make([]fix, len(scratch))
	dividends := make([]fix, len(ema))
	for i, row := range ema {
		var acc fix
		for k, c := range row {
			v := c.val
			if d := scratch[c.col]; d != 0 {
				v = safeDiv(v, d)
				row[k].val = v
			}
			acc = satAdd(acc, mul(incentive[c.col], v))
			colMax[c.col] = max(colMax[c.col], v)
		}
		dividends[i] = acc
	}
	clear(scratch)
	for _, row := range ema {
		for k, c := range row {
			if d := colMax[c.col]; d != 0 {
				row[k].val = safeDiv(c.val, d)
			}
		}
	}
	return dividends
}

// litTrustAndRanks returns each row's sum (row_sum_sparse: validator trust)
// and each column's stake-weighted sum r_j = Σ_i v_i · m_ij, each product
// floored then added (matmul_sparse: ranks), in one pass.
func litTrustAndRanks(m matrix, v []fix, n int) (trust, ranks []fix) {
	trust, ranks = make([]fix, len(m)), make([]fix, n)
	for i, row := range m {
		for _, c := range row {
			trust[i] += c.val
			ranks[c.col] = satAdd(ranks[c.col], mul(v[i], c.val))
		}
	}
	return trust, ranks
}

// litScaleRows multiplies row i of m by v_i in place (row_hadamard_sparse).
func litScaleRows(m matrix, v []fix) {
	for i, row := range m {
		for k := range row {
			row[k].val = mul(row[k].val, v[i])
		}
	}
}

// litClipInto is colClip writing into out's rows, which may be m's own: a
// clipped row is never longer than the row it comes from.
func litClipInto(out, m matrix, threshold []fix) matrix {
	for i, row := range m {
		r := out[i][:0]
		for _, c := range row {
			th := threshold[c.col]
			if th < c.val {
				if th > 0 {
					r = append(r, cell{c.col, th})
				}
			} else {
				r = append(r, c)
			}
		}
		out[i] = r
	}
	return out
}

// litEma returns alpha·new + (1−alpha)·old per entry, keeping positive entries
// (mat_ema_sparse). Both products are floored before they are added.
func litEma(newM, oldM matrix, alpha fix) matrix {
	oneMinus := satSub(one, alpha)
	out := rowsLike(newM, func(i int) int { return len(oldM[i]) })
	for i := range newM {
		a, b, r := newM[i], oldM[i], out[i]
		for x, y := 0, 0; x < len(a) || y < len(b); {
			var col uint32
			var v fix
			switch {
			case y == len(b) || (x < len(a) && a[x].col < b[y].col):
				col, v = a[x].col, mul(alpha, a[x].val)
				x++
			case x == len(a) || b[y].col < a[x].col:
				col, v = b[y].col, mul(oneMinus, b[y].val)
				y++
			default:
				col, v = a[x].col, satAdd(mul(alpha, a[x].val), mul(oneMinus, b[y].val))
				x++
				y++
			}
			if v > 0 {
				r = append(r, cell{col, v})
			}
		}
		out[i] = r
	}
	return out
}

// litLoad converts stored u16 rows to a column-sorted fixed-point matrix with
// n rows, carved from one allocation. Row i keeps the entries whose target
// registered before bound(i) (reg[col] < bound(i)); unless keepDiag is
// allDiagonal, it also drops its self-entry, except on row keepDiag.
func litLoad(rows [][]Entry, n int, proportion bool, reg []uint64, keepDiag int, bound func(i int) uint64) matrix {
	total := 0
	for i := 0; i < n && i < len(rows); i++ {
		total += len(rows[i])
	}
	backing := make([]cell, total)
	m := make(matrix, n)
	for i := 0; i < n && i < len(rows); i++ {
		limit := bound(i)
		r := backing[:0:len(rows[i])]
		backing = backing[len(rows[i]):]
		dropSelf := keepDiag != allDiagonal && i != keepDiag
		sorted := true
		for _, e := range rows[i] {
			col := e.UID
			if reg[col] >= limit || (dropSelf && int(col) == i) {
				continue
			}
			v := fromInt(int64(e.Value))
			if proportion {
				v = safeDiv(v, u16Max)
			}
			if len(r) > 0 && uint32(col) < r[len(r)-1].col {
				sorted = false
			}
			r = append(r, cell{uint32(col), v})
		}
		if !sorted {
			slices.SortFunc(r, byCol)
		}
		m[i] = r
	}
	return m
}

// TestEpochMatchesLiteral checks that the fused epoch gives exactly the
// literal composition's output on random inputs of every kind (classic and
// Yuma3, liquid alpha, any bonds penalty, owners, commit-reveal masks,
// unsorted rows) and on dense steady-state graphs, on one goroutine and on
// several.
func TestEpochMatchesLiteral(t *testing.T) {
	r := rand.New(rand.NewPCG(0x11, 7))
	for c := range propCases(1500) {
		in := propInput(r, propSize(r))
		if err := in.Validate(); err != nil {
			t.Fatalf("case %d: %v", c, err)
		}
		want := litEpoch(in)
		for parts := 1; parts <= 3; parts++ {
			if got := epochOn(in, parts); !reflect.DeepEqual(got, want) {
				data, _ := in.MarshalJSON()
				t.Fatalf("case %d, %d goroutines: fused epoch differs from the literal one\ninput: %s\ngot  %+v\nwant %+v", c, parts, data, got, want)
			}
		}
	}
	for _, yuma3 := range []bool{false, true} {
		for _, penalty := range []uint16{65535, 30000} {
			in := benchGraph(96, 24, yuma3)
			in.Params.BondsPenalty = penalty
			want := litEpoch(in)
			for parts := 1; parts <= 4; parts++ {
				if got := epochOn(in, parts); !reflect.DeepEqual(got, want) {
					t.Fatalf("dense graph (yuma3 %v, penalty %d), %d goroutines: fused epoch differs from the literal one", yuma3, penalty, parts)
				}
			}
		}
	}
}
