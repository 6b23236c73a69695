package consensus

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

// The vectors in this file are subtensor's math tests
// (pallets/subtensor/src/tests/math.rs at 14bc6f9f), research/yuma.md
// sections 6.1, 6.2 and 6.10, run against the Go kernels. Literals that
// subtensor writes as f32 (vec_to_fixed, fixed(), vec_to_mat_fixed) or as an
// untyped float, i.e. f64 (I32F32::from_num(0.9)), are converted exactly as
// substrate-fixed's from_num does: to the nearest I32F32, ties to even. The
// conversion decodes the IEEE bits with integer arithmetic; floats appear
// otherwise only in tolerance comparisons.

// vxRound is m·2^shift rounded to the nearest integer, ties to even.
func vxRound(m uint64, shift int, neg bool) fix {
	var q uint64
	switch {
	case shift >= 0:
		if shift >= 63 || m > math.MaxInt64>>shift {
			panic("vxRound: literal out of I32F32 range")
		}
		q = m << shift
	case -shift >= 64:
		q = 0 // below 2^-33: rounds to 0 (m < 2^53)
	default:
		s := uint(-shift)
		q = m >> s
		r, h := m&(1<<s-1), uint64(1)<<(s-1)
		if r > h || (r == h && q&1 == 1) {
			q++
		}
	}
	if neg {
		return -fix(q)
	}
	return fix(q)
}

// vxF32 is I32F32::from_num(x as f32).
func vxF32(x float32) fix {
	b := math.Float32bits(x)
	e, m := int(b>>23&0xff), uint64(b&(1<<23-1))
	if e == 0 {
		e = 1
	} else {
		m |= 1 << 23
	}
	return vxRound(m, e-150+fracBits, b>>31 == 1)
}

// vxF64 is I32F32::from_num(x as f64).
func vxF64(x float64) fix {
	b := math.Float64bits(x)
	e, m := int(b>>52&0x7ff), b&(1<<52-1)
	if e == 0 {
		e = 1
	} else {
		m |= 1 << 52
	}
	return vxRound(m, e-1075+fracBits, b>>63 == 1)
}

// vxVec is vec_to_fixed.
func vxVec(xs ...float32) []fix {
	out := make([]fix, len(xs))
	for i, x := range xs {
		out[i] = vxF32(x)
	}
	return out
}

// vxSparse is vec_to_sparse_mat_fixed(xs, rows, false): entries > 0 only.
func vxSparse(xs []float32, rows int) matrix {
	cols := len(xs) / rows
	m := make(matrix, rows)
	for i := range rows {
		m[i] = []cell{}
		for j := range cols {
			if v := xs[i*cols+j]; v > 0 {
				m[i] = append(m[i], cell{uint32(j), vxF32(v)})
			}
		}
	}
	return m
}

// vxDense is vec_to_mat_fixed(xs, rows, false).
func vxDense(xs []float32, rows int) [][]fix {
	cols := len(xs) / rows
	m := make([][]fix, rows)
	for i := range rows {
		m[i] = vxVec(xs[i*cols : (i+1)*cols]...)
	}
	return m
}

// vxFull is a dense matrix as a sparse one that stores every cell, zeros
// included, as set_weights stores explicit zero weights.
func vxFull(d [][]fix) matrix {
	m := make(matrix, len(d))
	for i, row := range d {
		m[i] = make([]cell, len(row))
		for j, v := range row {
			m[i][j] = cell{uint32(j), v}
		}
	}
	return m
}

// vxDensify turns a sparse matrix into rows of cols cells.
func vxDensify(m matrix, cols int) [][]fix {
	d := make([][]fix, len(m))
	for i, row := range m {
		d[i] = make([]fix, cols)
		for _, c := range row {
			d[i][c.col] = c.val
		}
	}
	return d
}

// vxFloat is x as a float, for tolerance comparisons only.
func vxFloat(x fix) float64 { return float64(x) / float64(one) }

// vxSparseEqual is assert_sparse_mat_compare: same columns row by row and
// every value within eps (eps 0 means bit-equal).
func vxSparseEqual(t *testing.T, name string, got, want matrix, eps fix) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d rows, want %d", name, len(got), len(want))
		return
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Errorf("%s: row %d = %v, want %v", name, i, got[i], want[i])
			continue
		}
		for k := range want[i] {
			g, w := got[i][k], want[i][k]
			if g.col != w.col || max(g.val-w.val, w.val-g.val) > eps {
				t.Errorf("%s: row %d entry %d = (%d, %.10f), want (%d, %.10f) within %.10f",
					name, i, k, g.col, vxFloat(g.val), w.col, vxFloat(w.val), vxFloat(eps))
			}
		}
	}
}

// vxDenseEqual is assert_mat_compare.
func vxDenseEqual(t *testing.T, name string, got, want [][]fix, eps fix) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d rows, want %d", name, len(got), len(want))
		return
	}
	for i := range want {
		for j := range want[i] {
			if d := got[i][j] - want[i][j]; max(d, -d) > eps {
				t.Errorf("%s: [%d][%d] = %.10f, want %.10f within %.10f",
					name, i, j, vxFloat(got[i][j]), vxFloat(want[i][j]), vxFloat(eps))
			}
		}
	}
}

// vxMaxUpscale is subtensor's vec_u16_max_upscale_to_u16, which set_weights
// applies to the submitted values before storing them: round(v·65535/max),
// rounding half away from zero, computed in I32F32.
func vxMaxUpscale(vals ...uint16) []uint16 {
	out := make([]uint16, len(vals))
	var mx fix
	for _, v := range vals {
		mx = max(mx, fromInt(int64(v)))
	}
	round := func(x fix) uint16 { return toU16(satAdd(x, half) &^ (one - 1)) } // x >= 0
	for i, v := range vals {
		e := fromInt(int64(v))
		switch {
		case mx == 0:
			out[i] = toU16(mul(e, u16Max))
		case mx > fromInt(32768):
			out[i] = round(mul(e, safeDiv(u16Max, mx)))
		default:
			out[i] = round(safeDiv(mul(e, u16Max), mx))
		}
	}
	return out
}

// TestMaxUpscaleHelper checks the test-local set_weights helper against
// subtensor's test_vec_u16_max_upscale_to_u16 (and the stored values that
// test_outdated_weights documents).
func TestMaxUpscaleHelper(t *testing.T) {
	cases := []struct{ in, want []uint16 }{
		{[]uint16{}, []uint16{}},
		{[]uint16{0}, []uint16{0}},
		{[]uint16{0, 0}, []uint16{0, 0}},
		{[]uint16{1}, []uint16{65535}},
		{[]uint16{0, 1}, []uint16{0, 65535}},
		{[]uint16{65534}, []uint16{65535}},
		{[]uint16{65535}, []uint16{65535}},
		{[]uint16{65535, 65535}, []uint16{65535, 65535}},
		{[]uint16{0, 1, 65534}, []uint16{0, 1, 65535}},
		{[]uint16{0, 1, 2, 3, 4, 65533, 65535}, []uint16{0, 1, 2, 3, 4, 65533, 65535}},
		// test_outdated_weights: [2·(MAX/3), MAX/3] is stored as [65535, 32768].
		{[]uint16{2 * (max16 / 3), max16 / 3}, []uint16{65535, 32768}},
		// MAX/2 (test_active_stake, stable_miner) and MAX/512 (test_512_graph).
		{[]uint16{max16 / 2, 0, max16 / 2}, []uint16{65535, 0, 65535}},
		{[]uint16{max16 / 512, max16 / 512}, []uint16{65535, 65535}},
	}
	for _, c := range cases {
		if got := vxMaxUpscale(c.in...); !slices.Equal(got, c.want) {
			t.Errorf("max upscale %v = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestLiteralConversion(t *testing.T) {
	// Known I32F32 bit patterns of test literals (yuma.md section 1).
	cases := []struct {
		name string
		got  fix
		want fix
	}{
		{"f64 0.1", vxF64(0.1), 429496730},
		{"f32 0.5", vxF32(0.5), half},
		{"f32 1", vxF32(1), one},
		{"f32 0", vxF32(0), 0},
		{"f32 65535", vxF32(65535), u16Max},
		{"f32 0.000000001 (tie region)", vxF32(0.000000001), 4},
		{"f64 -20", vxF64(-20), fromInt(-20)},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}

// --- 6.1 weighted_median -----------------------------------------------

func TestWeightedMedianVectors(t *testing.T) {
	zero, majority := fix(0), vxF32(0.51)
	normalized := vxVec(0.51)
	normalize(normalized)
	cases := []struct {
		name  string
		stake []fix
		score []fix
		want  fix
	}{
		{"empty", vxVec(), vxVec(), 0},
		{"normalize([0.51])", normalized, vxVec(1), one},
		{"[.49 .51]", vxVec(0.49, 0.51), vxVec(0.5, 1), one},
		{"[.51 .49]", vxVec(0.51, 0.49), vxVec(0.5, 1), vxF32(0.5)},
		{"[.49 0 .51]", vxVec(0.49, 0, 0.51), vxVec(0.5, 0.7, 1), one},
		{"[.49 .01 .5]", vxVec(0.49, 0.01, 0.5), vxVec(0.5, 0.7, 1), vxF32(0.7)},
		{"[.49 .51 0]", vxVec(0.49, 0.51, 0), vxVec(0.5, 0.7, 1), vxF32(0.7)},
		{"[0 .49 .51]", vxVec(0, 0.49, 0.51), vxVec(0.5, 0.7, 1), one},
		{"[0 .49 0 .51]", vxVec(0, 0.49, 0, 0.51), vxVec(0.5, 0.5, 1, 1), one},
		{"[0 .49 0 .51 0]", vxVec(0, 0.49, 0, 0.51, 0), vxVec(0.5, 0.5, 1, 1, 0.5), one},
		{"[.2 ×5]", vxVec(0.2, 0.2, 0.2, 0.2, 0.2), vxVec(0.8, 0.2, 1, 0.6, 0.4), vxF32(0.6)},
		{"[.1 ×10]", vxVec(0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1),
			vxVec(0.8, 0.8, 0.2, 0.2, 1, 1, 0.6, 0.6, 0.4, 0.4), vxF32(0.6)},
	}
	for _, c := range cases {
		idx := make([]int, len(c.stake))
		for i := range idx {
			idx[i] = i
		}
		got := weightedMedian(c.stake, c.score, idx, one-majority, zero, sum(c.stake))
		if got != c.want {
			t.Errorf("%s: weighted median = %.10f, want %.10f", c.name, vxFloat(got), vxFloat(c.want))
		}
	}
}

// TestWeightedMedianRandom is the randomised half of
// test_math_weighted_median: the result must be one of the brute-force
// medians, also after permuting the input (fixed seed here).
func TestWeightedMedianRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 100
	majorities := vxVec(0, 0.0000001, 0.25, 0.49, 0.49, 0.49, 0.5, 0.51, 0.51, 0.51, 0.9999999, 1)
	for range 10 {
		for _, majority := range majorities {
			for _, allowEqual := range []bool{false, true} {
				stake, score := make([]fix, n), make([]fix, n)
				var last fix
				for i := range n {
					if allowEqual {
						if rng.IntN(2) == 1 {
							stake[i] = one
						}
						if rng.IntN(2) == 1 {
							last += one
						}
						score[i] = last
					} else {
						stake[i], score[i] = one, fromInt(int64(i))
					}
				}
				normalize(stake)
				total := sum(stake)
				minority := max(total-majority, 0)
				var medians []fix
				var medianStake, acc fix
				set := false
				for i := range n {
					acc += stake[i]
					if !set && acc >= minority {
						medianStake, set = acc, true
					}
					if set {
						if medianStake < acc {
							if medianStake == minority && !slices.Contains(medians, score[i]) {
								medians = append(medians, score[i])
							}
							break
						}
						if !slices.Contains(medians, score[i]) {
							medians = append(medians, score[i])
						}
					}
				}
				if len(medians) == 0 {
					medians = append(medians, 0)
				}
				idx := make([]int, n)
				for i := range idx {
					idx[i] = i
				}
				for p := range 11 {
					if p > 0 {
						perm := rng.Perm(n)
						s2, c2 := make([]fix, n), make([]fix, n)
						for i, j := range perm {
							s2[i], c2[i] = stake[j], score[j]
						}
						stake, score = s2, c2
					}
					if got := weightedMedian(stake, score, idx, minority, 0, total); !slices.Contains(medians, got) {
						t.Fatalf("majority %.7f equal=%v perm %d: median %v not in %v", vxFloat(majority), allowEqual, p, got, medians)
					}
				}
			}
		}
	}
}

// --- 6.2 weighted_median_col / weighted_median_col_sparse ------------------

// vxMedianColDense is subtensor's weighted_median_col on top of the literal
// weightedMedian port.
func vxMedianColDense(stake []fix, score [][]fix, majority fix) []fix {
	cols := 0
	if len(score) > 0 {
		cols = len(score[0])
	}
	median := make([]fix, cols)
	for c := range median {
		var useStake, useScore []fix
		for r, st := range stake {
			if st > 0 {
				useStake = append(useStake, st)
				useScore = append(useScore, score[r][c])
			}
		}
		if len(useStake) > 0 {
			normalize(useStake)
			s := sum(useStake)
			idx := make([]int, len(useStake))
			for i := range idx {
				idx[i] = i
			}
			median[c] = weightedMedian(useStake, useScore, idx, satSub(s, majority), 0, s)
		}
	}
	return median
}

// vxMedianColSparse is subtensor's weighted_median_col_sparse on top of the
// literal weightedMedian port.
func vxMedianColSparse(stake []fix, score matrix, cols int, majority fix) []fix {
	var useStake []fix
	for _, s := range stake {
		if s > 0 {
			useStake = append(useStake, s)
		}
	}
	normalize(useStake)
	s := sum(useStake)
	idx := make([]int, len(useStake))
	for i := range idx {
		idx[i] = i
	}
	useScore := make([][]fix, cols)
	for c := range useScore {
		useScore[c] = make([]fix, len(useStake))
	}
	k := 0
	for i := 0; i < len(stake) && i < len(score); i++ {
		if stake[i] > 0 {
			for _, e := range score[i] {
				if int(e.col) < cols {
					useScore[e.col][k] = e.val
				}
			}
			k++
		}
	}
	median := make([]fix, cols)
	for c := range median {
		median[c] = weightedMedian(useStake, useScore[c], idx, satSub(s, majority), 0, s)
	}
	return median
}

func TestWeightedMedianColVectors(t *testing.T) {
	wA := []float32{0, 0.1, 0, 0, 0.2, 0.4, 0, 0.3, 0.1, 0, 0.4, 0.5}
	wB := []float32{0, 0.1, 0, 0, 0.2, 0.4, 0, 0.3, 0.1, 0, 0, 0.5}
	cases := []struct {
		name     string
		stake    []fix
		w        []float32
		rows     int
		majority fix
		want     []fix
	}{
		{"empty", vxVec(), nil, 0, vxF32(0.5), vxVec()},
		{"zero stake", vxVec(0, 0), []float32{0, 0, 0, 0}, 2, vxF32(0.5), vxVec(0, 0)},
		{"A majority .24", vxVec(0, 0.75, 0.25, 0), wA, 4, vxF32(0.24), vxVec(0, 0.3, 0.4)},
		{"A majority .26", vxVec(0, 0.75, 0.25, 0), wA, 4, vxF32(0.26), vxVec(0, 0.2, 0.4)},
		{"A majority .76", vxVec(0, 0.75, 0.25, 0), wA, 4, vxF32(0.76), vxVec(0, 0.2, 0.1)},
		{"B majority .51", vxVec(0, 0.3, 0.2, 0.5), wB, 4, vxF32(0.51), vxVec(0, 0, 0.4)},
	}
	for _, c := range cases {
		cols := 0
		var dense [][]fix
		var sparse matrix
		if c.rows > 0 {
			cols = len(c.w) / c.rows
			dense, sparse = vxDense(c.w, c.rows), vxSparse(c.w, c.rows)
		}
		if got := vxMedianColDense(c.stake, dense, c.majority); !slices.Equal(got, c.want) {
			t.Errorf("%s: weighted_median_col = %v, want %v", c.name, got, c.want)
		}
		if got := vxMedianColSparse(c.stake, sparse, cols, c.majority); !slices.Equal(got, c.want) {
			t.Errorf("%s: weighted_median_col_sparse = %v, want %v", c.name, got, c.want)
		}
		// medianCols reads one row per stake entry (the epoch always passes n
		// rows); subtensor's empty case has a single empty row and no stake,
		// which is the same as no rows.
		if got := medianCols(c.stake, sparse, cols, c.majority, 1); !slices.Equal(got, c.want) {
			t.Errorf("%s: medianCols = %v, want %v", c.name, got, c.want)
		}
	}
}

// --- 6.10 other kernels ----------------------------------------------------

// TestMatEmaSparseVectors: mat_ema_sparse, which original Yuma and Yuma3
// without liquid alpha use. HEAD's tests/math.rs no longer has a test for it;
// these vectors are test_math_sparse_mat_ema from the same file at 2548e9ea0
// (the function's semantics are unchanged: alpha·new + (1−alpha)·old per
// cell, positive cells kept).
func TestMatEmaSparseVectors(t *testing.T) {
	eps, alpha := vxF32(0.000001), vxF64(0.1)
	cases := []struct {
		name           string
		old, new, want []float32
	}{
		{"dense",
			[]float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
			[]float32{10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120},
			[]float32{1.9, 3.8, 5.7, 7.6, 9.5, 11.4, 13.3, 15.2, 17.1, 19, 20.9, 22.8}},
		{"holes",
			[]float32{0, 2, 3, 4, 0, 6, 7, 8, 0, 10, 11, 12},
			[]float32{10, 20, 0, 40, 0, 60, 0, 80, 90, 100, 110, 120},
			[]float32{1, 3.8, 2.7, 7.6, 0, 11.4, 6.3, 15.2, 9, 19, 20.9, 22.8}},
		{"no old",
			[]float32{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
			[]float32{10, 20, 0, 40, 0, 60, 0, 80, 90, 100, 110, 120},
			[]float32{1, 2, 0, 4, 0, 6, 0, 8, 9, 10, 11, 12}},
		{"all zero",
			[]float32{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
			[]float32{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
			[]float32{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"old decays where new is absent",
			[]float32{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
			[]float32{0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0},
			[]float32{0.9, 0, 0, 0, 0.2, 0, 0, 0, 0, 0, 0, 0}},
	}
	for _, c := range cases {
		got := ema(vxSparse(c.new, 4), vxSparse(c.old, 4), alpha)
		vxSparseEqual(t, "mat_ema_sparse "+c.name, got, vxSparse(c.want, 4), eps)
	}
}

// TestLiquidEMAVectors: test_math_sparse_mat_ema_alpha, whose alpha matrix
// is the constant 0.1. liquidEMA computes its alphas itself (alpha_sigmoid);
// with AlphaLow == AlphaHigh every alpha is exactly AlphaLow/65535, so the
// test uses 6553/65535 = 0.0999924, the value set_alpha_values_32(0.1, ..)
// stores, 7.6e-6 from 0.1. Two of subtensor's targets (0.017 and 0.0227 in
// the second case) sit 1e-4 from the exact-0.1 result, on the edge of the
// test's 1e-4 tolerance, so the comparison keeps that tolerance and, in
// addition, every cell is checked bit for bit against mat_ema_alpha_sparse's
// formula with this alpha. The last case is the drop case of yuma.md
// section 2.10: an old bond on a column missing from the new row is
// dropped, not decayed.
func TestLiquidEMAVectors(t *testing.T) {
	p := Params{AlphaLow: 6553, AlphaHigh: 6553, AlphaSigmoidSteepness: 1000}
	a := u16Proportion(6553)
	consensus := vxVec(0.5, 0.5, 0.5)
	cases := []struct {
		name           string
		old, new, want []float32
		eps            fix
	}{
		{"clamped at 1",
			[]float32{0.1, 0.2, 3, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10, 0.11, 0.12},
			[]float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
			[]float32{0.19, 0.38, 1, 0.43599, 0.545, 0.65399, 0.763, 0.87199, 0.981, 1, 1, 1},
			vxF64(1e-4)},
		{"small",
			[]float32{0.001, 0.002, 0.003, 0.004, 0.05, 0.006, 0.007, 0.008, 0.009, 0.010, 0.011, 0.012},
			[]float32{0.1, 0.2, 3, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10, 0.11, 0.12},
			[]float32{0.0109, 0.0218, 0.30270, 0.007599, 0.05, 0.01139, 0.0133, 0.01519, 0.017, 0.01899, 0.02089, 0.0227},
			vxF64(1e-4)},
		{"no old",
			[]float32{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
			[]float32{0.1, 0.2, 3, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10, 0.11, 0.12},
			[]float32{0.01, 0.02, 0.3, 0.00399, 0.005, 0.00599, 0.007, 0.00799, 0.009, 0.01, 0.011, 0.01199},
			vxF64(1e-4)},
		{"all zero",
			[]float32{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
			[]float32{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
			[]float32{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
			vxF64(1e-4)},
		{"drop case",
			[]float32{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
			[]float32{0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0},
			[]float32{0, 0, 0, 0, 0.2, 0, 0, 0, 0, 0, 0, 0},
			vxF64(1e-1)},
	}
	for _, c := range cases {
		newM, oldM := vxSparse(c.new, 4), vxSparse(c.old, 4)
		got := liquidEMA1(newM, oldM, consensus, p)
		vxSparseEqual(t, "mat_ema_alpha_sparse "+c.name, got, vxSparse(c.want, 4), c.eps)
		// mat_ema_alpha_sparse: for each (j, w) of the new row,
		// min((1−a)·old_j + max(a·w, 0), 1), kept if positive.
		exact := make(matrix, len(newM))
		oldD := vxDensify(oldM, 3)
		for i, row := range newM {
			exact[i] = []cell{}
			for _, e := range row {
				v := min(satAdd(mul(satSub(one, a), oldD[i][e.col]), max(mul(a, e.val), 0)), one)
				if v > 0 {
					exact[i] = append(exact[i], cell{e.col, v})
				}
			}
		}
		vxSparseEqual(t, "mat_ema_alpha_sparse exact "+c.name, got, exact, 0)
	}
	// The drop case exactly: row 0 loses its bond, row 1 gets 2·alpha.
	got := liquidEMA1(vxSparse([]float32{0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0}, 4),
		vxSparse([]float32{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 4), consensus, p)
	if len(got[0]) != 0 || len(got[1]) != 1 || got[1][0] != (cell{1, mul(a, fromInt(2))}) {
		t.Errorf("drop case = %v, want [[] [(1, %d)] [] []]", got, mul(a, fromInt(2)))
	}
}

// TestMatEmaAlphaDenseVectors is test_math_mat_ema_alpha. The dense
// mat_ema_alpha computes the same cell formula as mat_ema_alpha_sparse on
// every cell, which is what liquidEMA computes when every cell is a stored
// entry. Alphas 0 and 1 are exact u16 proportions (0 and 65535); 0.1 is
// 6553/65535 as in TestLiquidEMAVectors.
func TestMatEmaAlphaDenseVectors(t *testing.T) {
	old1 := []float32{0.1, 0.2, 3, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10, 0.11, 0.12}
	capped := []float32{0.10, 0.2, 1, 0.0399, 0.05, 0.0599, 0.07, 0.07999, 0.09, 0.1, 0.10999, 0.11999}
	cases := []struct {
		name           string
		alpha          uint16
		old, new, want []float32
	}{
		{"alpha 0.1", 6553, old1,
			[]float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
			[]float32{0.19, 0.38, 1, 0.436, 0.545, 0.6539, 0.763, 0.8719, 0.981, 1, 1, 1}},
		{"alpha 0", 0, old1,
			[]float32{10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120}, capped},
		{"alpha 1", max16,
			[]float32{0.001, 0.002, 0.003, 0.004, 0.05, 0.006, 0.007, 0.008, 0.009, 0.010, 0.011, 0.012},
			old1, capped},
	}
	for _, c := range cases {
		p := Params{AlphaLow: c.alpha, AlphaHigh: c.alpha, AlphaSigmoidSteepness: 1000}
		got := liquidEMA1(vxFull(vxDense(c.new, 4)), vxFull(vxDense(c.old, 4)), vxVec(0.5, 0.5, 0.5), p)
		vxDenseEqual(t, "mat_ema_alpha "+c.name, vxDensify(got, 3), vxDense(c.want, 4), vxF64(1e-4))
	}
}

// TestLiquidAlphaEqualValues is test_liquid_alpha_equal_values_against_itself:
// liquid alpha with alpha_low == alpha_high == MAX/10 matches disabled liquid
// alpha with bonds_moving_average 900_000 within 1e-3. Subtensor runs the
// dense compute_bonds; here every cell, zeros included, is a stored entry,
// which makes the sparse kernels compute the dense result.
func TestLiquidAlphaEqualValues(t *testing.T) {
	w := vxDense([]float32{0, 0.1, 0, 0, 0.2, 0.4, 0, 0.3, 0.1, 0, 0.4, 0.5}, 4)
	b := vxDense([]float32{0.1, 0.1, 0.5, 0, 0, 0.4, 0.5, 0.1, 0.1, 0, 0.4, 0.2}, 4)
	consensus := vxVec(0.3, 0.2, 0.1, 0.4)
	p := Params{AlphaLow: max16 / 10, AlphaHigh: max16 / 10, AlphaSigmoidSteepness: 1000}
	on := vxDensify(liquidEMA1(vxFull(w), vxFull(b), consensus, p), 3)
	off := vxDensify(ema(vxFull(w), vxFull(b), bondsAlpha(900_000)), 3)
	vxDenseEqual(t, "liquid alpha on vs off", on, off, vxF64(1e-3))
}

func TestInterpolateVectors(t *testing.T) {
	m0 := make([]float32, 12)
	m1 := []float32{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
	fill := func(v float32) []float32 {
		out := make([]float32, 12)
		for i := range out {
			out[i] = v
		}
		return out
	}
	cases := []struct {
		name       string
		a, b, want []float32
		rows       int
		ratio, eps fix
	}{
		// test_math_interpolate_sparse
		{"1x1 ratio 0", []float32{0}, []float32{1}, []float32{0}, 1, 0, 0},
		{"1x1 ratio .5", []float32{0}, []float32{1}, []float32{0.5}, 1, vxF64(0.5), 0},
		{"1x1 ratio 1", []float32{0}, []float32{1}, []float32{1}, 1, one, 0},
		{"zeros ratio 0", m0, m0, m0, 4, 0, 0},
		{"zeros ratio 1", m0, m0, m0, 4, one, 0},
		{"3x2 ratio 0", []float32{1, 0, 100, 1000, 10000, 100000}, []float32{10, 100, 1000, 10000, 100000, 0},
			[]float32{1, 0, 100, 1000, 10000, 100000}, 3, 0, 0},
		{"3x2 ratio .9", []float32{1, 0, 100, 1000, 10000, 100000}, []float32{10, 100, 1000, 10000, 100000, 0},
			[]float32{9.1, 90, 910, 9100, 91000, 10000}, 3, vxF64(0.9), vxF64(0.0001)},
		{"0→1 ratio 0", m0, m1, m0, 4, 0, 0},
		{"0→1 ratio 1e-9", m0, m1, fill(0.000000001), 4, vxF64(0.000000001), 0},
		{"0→1 ratio .5", m0, m1, fill(0.5), 4, vxF64(0.5), 0},
		{"0→1 ratio .9999998808", m0, m1, fill(0.999_999_9), 4, vxF64(0.9999998808), 0},
		{"0→1 ratio 1", m0, m1, fill(1), 4, one, 0},
		// test_math_interpolate (dense) where its inputs have no zero cell
		{"dense 3x2 ratio .9", []float32{1, 10, 100, 1000, 10000, 100000}, []float32{10, 100, 1000, 10000, 100000, 1000000},
			[]float32{9.1, 91, 910, 9100, 91000, 910000}, 3, vxF64(0.9), vxF64(0.0001)},
	}
	for _, c := range cases {
		got := interpolate(vxSparse(c.a, c.rows), vxSparse(c.b, c.rows), c.ratio)
		vxSparseEqual(t, "interpolate_sparse "+c.name, got, vxSparse(c.want, c.rows), c.eps)
	}
	if got := interpolate(matrix{{}}, matrix{{}}, 0); len(got) != 1 || len(got[0]) != 0 {
		t.Errorf("interpolate_sparse empty = %v, want [[]]", got)
	}
}

func TestColClipVectors(t *testing.T) {
	th := vxVec(0, 5, 12)
	cases := []struct {
		name    string
		m, want []float32
	}{
		{"full", []float32{0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, []float32{0, 2, 3, 0, 5, 6, 0, 5, 9, 0, 5, 12}},
		{"holes", []float32{0, 2, 3, 4, 5, 6, 0, 0, 0, 10, 11, 12}, []float32{0, 2, 3, 0, 5, 6, 0, 0, 0, 0, 5, 12}},
		{"zeros", make([]float32, 12), make([]float32, 12)},
	}
	for _, c := range cases {
		vxSparseEqual(t, "col_clip_sparse "+c.name, colClip(vxSparse(c.m, 4), th), vxSparse(c.want, 4), 0)
	}
	// An explicit zero entry stays (0 is not above any threshold) and an
	// entry above a zero threshold is dropped (yuma.md 2.6 step 19).
	got := colClip(matrix{{{0, 0}, {1, one}}, {{0, one}}}, []fix{0, half})
	want := matrix{{{0, 0}, {1, half}}, {}}
	vxSparseEqual(t, "col_clip_sparse zero entries", got, want, 0)
}

// TestTopKNonzeroVectors ports test_math_is_topk to is_topk_nonzero, the
// function the epoch uses. is_topk_nonzero(v, k) is is_topk(v, k) with zero
// entries forced to false (same stable ascending sort, same cut), so each
// target below is subtensor's is_topk target with the zero entries cleared.
func TestTopKNonzeroVectors(t *testing.T) {
	seq := vxVec(0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	cases := []struct {
		name string
		v    []fix
		k    int
		topk []bool // subtensor's is_topk target
	}{
		{"empty", vxVec(), 5, []bool{}},
		{"k=0", seq, 0, []bool{false, false, false, false, false, false, false, false, false, false}},
		{"k=5", seq, 5, []bool{false, false, false, false, false, true, true, true, true, true}},
		{"k=10", seq, 10, []bool{true, true, true, true, true, true, true, true, true, true}},
		{"k=100", seq, 100, []bool{true, true, true, true, true, true, true, true, true, true}},
		{"descending", vxVec(9, 8, 7, 6, 5, 4, 3, 2, 1, 0), 5, []bool{true, true, true, true, true, false, false, false, false, false}},
		{"interleaved", vxVec(9, 0, 8, 1, 7, 2, 6, 3, 5, 4), 5, []bool{true, false, true, false, true, false, true, false, true, false}},
		{"fractions", vxVec(0.9, 0, 0.8, 0.1, 0.7, 0.2, 0.6, 0.3, 0.5, 0.4), 5, []bool{true, false, true, false, true, false, true, false, true, false}},
		{"ties", vxVec(0, 1, 2, 3, 4, 5, 5, 5, 5, 6), 5, []bool{false, false, false, false, false, true, true, true, true, true}},
		// epoch_logs epoch_topk_validator_permits: normalised stakes 2:1, k=1.
		{"permits 2:1", []fix{normStake(2e9, 3e9), normStake(1e9, 3e9)}, 1, []bool{true, false}},
	}
	for _, c := range cases {
		want := make([]bool, len(c.topk))
		for i := range want {
			want[i] = c.topk[i] && c.v[i] != 0
		}
		if got := topKNonzero(c.v, c.k); !slices.Equal(got, want) {
			t.Errorf("%s: is_topk_nonzero = %v, want %v", c.name, got, want)
		}
	}
}

// vxExpRef is substrate-fixed's exp for I32F32 (transcendental.rs, v0.6.0)
// in math/big, written from the Rust source independently of exp in
// fixed.go: term = floor(term·x), term = trunc(term / i) for i in 2..32,
// result += term, and 1/result for a negative argument.
func vxExpRef(x fix) fix {
	if x == 0 {
		return one
	}
	if x == one {
		return eFix
	}
	neg := x < 0
	ax := new(big.Int).Abs(big.NewInt(x))
	result := new(big.Int).Add(ax, big.NewInt(one))
	term := new(big.Int).Set(ax)
	for i := int64(2); i < 32; i++ {
		term.Mul(term, ax).Rsh(term, fracBits)                      // floor (non-negative)
		term.Quo(term.Lsh(term, fracBits), big.NewInt(i<<fracBits)) // (term<<32)/(i<<32), truncated
		result.Add(result, term)
	}
	if neg {
		q := new(big.Int).Lsh(big.NewInt(one), fracBits)
		return q.Quo(q, result).Int64()
	}
	return result.Int64()
}

// TestExpVectors is test_math_exp_safe plus spot checks of exp's
// substrate-fixed semantics.
func TestExpVectors(t *testing.T) {
	exp0, _ := exp(0)
	exp1, _ := exp(one)
	expMin, _ := exp(fromInt(-20))
	expMax, _ := exp(fromInt(20))
	cases := []struct {
		name      string
		got, want fix
	}{
		{"exp(0) = 1", exp0, one},
		{"exp(1) = E as I9F23", exp1, eFix},
		{"exp_safe(0)", expSafe(0), exp0},
		{"exp_safe(1)", expSafe(one), exp1},
		{"exp_safe(-20)", expSafe(fromInt(-20)), expMin},
		{"exp_safe(-21)", expSafe(fromInt(-21)), expMin},
		{"exp_safe(min)", expSafe(math.MinInt64), expMin},
		{"exp_safe(20)", expSafe(fromInt(20)), expMax},
		{"exp_safe(21)", expSafe(fromInt(21)), expMax},
		{"exp_safe(max)", expSafe(math.MaxInt64), expMax},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	// exp matches the independent big.Int transcription bit for bit.
	points := []fix{1, -1, half, -half, one + 1, fromInt(2), fromInt(-2), fromInt(5), fromInt(-5),
		fromInt(10), fromInt(-10), fromInt(20) - 1, fromInt(-20) + 1, fromInt(20), fromInt(-20), vxF64(0.1), vxF64(-4.9999)}
	for _, x := range points {
		if got, ok := exp(x); !ok || got != vxExpRef(x) {
			t.Errorf("exp(%d) = %d (ok %v), substrate-fixed gives %d", x, got, ok, vxExpRef(x))
		}
	}
	// Accuracy where the Yuma3 sigmoid evaluates it (|x| <= 5): the 30-term
	// series is within 1e-8 relative there; at 20 it is about 0.8% low
	// (yuma.md section 1: 481,239,357.67 against the true 485,165,195.4).
	for _, x := range []fix{fromInt(-5), fromInt(-1), -half, half, fromInt(2), fromInt(5)} {
		got, _ := exp(x)
		if want := math.Exp(vxFloat(x)); math.Abs(vxFloat(got)-want) > 1e-8*want+1e-9 {
			t.Errorf("exp(%v) = %.12f, want %.12f", vxFloat(x), vxFloat(got), want)
		}
	}
	if got := vxFloat(expMax); math.Abs(got-481_239_357.67) > 0.01 {
		t.Errorf("exp(20) = %.4f, want 481239357.67 (30-term series)", got)
	}
}

// ema is mat_ema_sparse on plain matrices: emaNormalized with no scaling.
func ema(newM, oldM matrix, alpha fix) matrix {
	n := 0
	for _, m := range []matrix{newM, oldM} {
		for _, row := range m {
			for _, c := range row {
				n = max(n, int(c.col)+1)
			}
		}
	}
	out, _ := emaNormalized(emaSide{m: newM}, emaSide{m: oldM}, alpha, n, oneSpan(len(newM)))
	return out
}

// colClip is col_clip_sparse into a new matrix: clipRanks without the ranks.
func colClip(m matrix, threshold []fix) matrix {
	out := rowsLike(m, nil)
	clipRanks(out, m, threshold, make([]fix, len(m)), oneSpan(len(m)))
	return out
}

// clone returns a deep copy of m.
func (m matrix) clone() matrix {
	out := rowsLike(m, nil)
	for i, row := range m {
		out[i] = append(out[i], row...)
	}
	return out
}

// liquidEMA1 is liquidEMA on one goroutine.
func liquidEMA1(w, b matrix, consensus []fix, p Params) matrix {
	return liquidEMA(w, b, consensus, p, oneSpan(len(w)))
}
