package consensus

// cell is one entry of a sparse row in fixed point: column and value.
type cell struct {
	col uint32
	val fix
}

// matrix is a sparse n×n matrix: one row per uid, entries sorted by column,
// no duplicate columns. This is subtensor's Vec<Vec<(u16, I32F32)>>.
type matrix [][]cell

// rowsLike returns a matrix with len(m) rows, each empty with room for
// len(m[i]) + extra(i) entries, all carved from one allocation.
func rowsLike(m matrix, extra func(i int) int) matrix {
	total := 0
	for i, row := range m {
		total += len(row)
		if extra != nil {
			total += extra(i)
		}
	}
	backing := make([]cell, 0, total)
	out := make(matrix, len(m))
	for i, row := range m {
		c := len(row)
		if extra != nil {
			c += extra(i)
		}
		out[i] = backing[len(backing) : len(backing) : len(backing)+c]
		backing = backing[:len(backing)+c]
	}
	return out
}

// sum is the plain sum of a vector (Rust's iter().sum()).
func sum(x []fix) fix {
	var s fix
	for _, v := range x {
		s += v
	}
	return s
}

// normalize divides every element by the sum unless the sum is zero
// (inplace_normalize).
func normalize(x []fix) {
	normalizeUsing(x, sum(x))
}

// normalizeUsing divides every element by s unless s is zero
// (inplace_normalize_using_sum).
func normalizeUsing(x []fix, s fix) {
	if s == 0 {
		return
	}
	for i, v := range x {
		x[i] = safeDiv(v, s)
	}
}

// interpolate returns m1 + ratio·(m2 − m1), keeping positive entries
// (interpolate_sparse). ratio 0 and 1 return the inputs themselves.
func interpolate(m1, m2 matrix, ratio fix) matrix {
	switch ratio {
	case 0:
		return m1
	case one:
		return m2
	}
	out := rowsLike(m1, func(i int) int { return len(m2[i]) })
	for i := range m1 {
		a, b, r := m1[i], m2[i], out[i]
		for x, y := 0, 0; x < len(a) || y < len(b); {
			var col uint32
			var v1, v2 fix
			switch {
			case y == len(b) || (x < len(a) && a[x].col < b[y].col):
				col, v1 = a[x].col, a[x].val
				x++
			case x == len(a) || b[y].col < a[x].col:
				col, v2 = b[y].col, b[y].val
				y++
			default:
				col, v1, v2 = a[x].col, a[x].val, b[y].val
				x++
				y++
			}
			if v := satAdd(v1, mul(ratio, satSub(v2, v1))); v > 0 {
				r = append(r, cell{col, v})
			}
		}
		out[i] = r
	}
	return out
}

// clipRow appends row, each entry clipped at its column's threshold, to r:
// an entry above a zero threshold is dropped. Thresholds are never
// negative. The clip itself is a min, not a branch: whether a weight is
// above its consensus is a coin toss a branch predictor would lose (the
// one branch left, a zero threshold, is rare and predictable).
func clipRow(r, row []cell, threshold []fix) []cell {
	for _, c := range row {
		th := threshold[c.col]
		if th == 0 && c.val > 0 {
			continue
		}
		r = append(r, cell{c.col, min(c.val, th)})
	}
	return r
}

// clipRanks writes m clipped at each column's threshold into out's rows,
// which may be m's own (col_clip_sparse; a clipped row is never longer than
// the row it comes from). While each clipped row is in cache it also sums
// it (row_sum_sparse: validator trust) and adds its entries, weighted by
// v_i, to each column's r_j = Σ_i v_i · clipped_ij, each product floored
// then added (matmul_sparse: ranks). v >= 0.
func clipRanks(out, m matrix, threshold, v []fix, sp spans) (trust, ranks []fix) {
	trust = make([]fix, len(m))
	ranks = sp.cols(len(threshold), add, func(acc []fix, lo, hi int) {
		for i := lo; i < hi; i++ {
			r := clipRow(out[i][:0], m[i], threshold)
			out[i] = r
			for _, c := range r {
				trust[i] += c.val
				acc[c.col] = satAdd(acc[c.col], mulPos(v[i], c.val))
			}
		}
	})
	return trust, ranks
}

// scaledColSums returns the column sums of m with row i scaled by v_i:
// s_j = Σ_i m_ij · v_i, each product floored (row_hadamard_sparse, then
// the sums col_normalize divides by).
func scaledColSums(m matrix, v []fix, sp spans) []fix {
	return sp.cols(len(v), add, func(acc []fix, lo, hi int) {
		for i := lo; i < hi; i++ {
			for _, c := range m[i] {
				acc[c.col] = satAdd(acc[c.col], mul(c.val, v[i]))
			}
		}
	})
}

// colSums returns the n column sums of m (the sums col_normalize divides
// by), saturating as subtensor's do.
func colSums(m matrix, n int, sp spans) []fix {
	return sp.cols(n, add, func(acc []fix, lo, hi int) {
		for i := lo; i < hi; i++ {
			for _, c := range m[i] {
				acc[c.col] = satAdd(acc[c.col], c.val)
			}
		}
	})
}

// colNormDot divides each entry of m by its column's sum where that sum is
// non-zero (inplace_col_normalize_sparse) and returns, for each row, the
// dot product with x of the normalised row, each product floored
// (matmul_transpose_sparse), and each column's largest normalised entry.
// With inPlace it leaves the normalised values in m; otherwise m is
// unchanged. sums are m's column sums (colSums); x >= 0.
func colNormDot(m matrix, sums, x []fix, inPlace bool, sp spans) (dot, colMax []fix) {
	dot = make([]fix, len(m))
	colMax = sp.cols(len(sums), maxFix, func(colMax []fix, lo, hi int) {
		for i := lo; i < hi; i++ {
			row := m[i]
			var acc fix
			for k, c := range row {
				v := c.val
				if d := sums[c.col]; d != 0 {
					v = frac(v, d)
				}
				if inPlace {
					row[k].val = v
				}
				acc = satAdd(acc, mulPos(x[c.col], v))
				colMax[c.col] = max(colMax[c.col], v)
			}
			dot[i] = acc
		}
	})
	return dot, colMax
}

func maxFix(a, b fix) fix { return max(a, b) }

// emaSide is one operand of emaNormalized: a matrix whose entry ij is first
// multiplied by rowScale_i (row_hadamard_sparse) when rowScale is set, and
// then divided by colSums_j when colSums is set and colSums_j is non-zero
// (inplace_col_normalize_sparse, with colSums the sums of the scaled
// entries). Applying both on the fly saves a pass over the matrix each.
type emaSide struct {
	m        matrix
	rowScale []fix
	colSums  []fix
}

// rowFactors returns row i's scale (one when unscaled: mul by one is
// exact) and the column divisors (all zero, so none applies, when unset).
func (s *emaSide) rowFactors(i int, zeros []fix) (fix, []fix) {
	scale, sums := one, s.colSums
	if s.rowScale != nil {
		scale = s.rowScale[i]
	}
	if sums == nil {
		sums = zeros
	}
	return scale, sums
}

// emaNormalized returns alpha·new + (1−alpha)·old per entry of two
// emaSides, keeping positive entries (mat_ema_sparse; both products are
// floored before they are added), and the result's n column sums. Entries,
// scales and alpha are >= 0, alpha <= 1.
func emaNormalized(newS, oldS emaSide, alpha fix, n int, sp spans) (matrix, []fix) {
	oneMinus := satSub(one, alpha)
	newM, oldM := newS.m, oldS.m
	out := rowsLike(newM, func(i int) int { return len(oldM[i]) })
	zeros := make([]fix, n)
	sums := sp.cols(n, add, func(sums []fix, lo, hi int) {
		for i := lo; i < hi; i++ {
			a, b, r := newM[i], oldM[i], out[i]
			aScale, aSums := newS.rowFactors(i, zeros)
			bScale, bSums := oldS.rowFactors(i, zeros)
			for x, y := 0, 0; x < len(a) || y < len(b); {
				var col uint32
				var v fix
				inA := y == len(b) || (x < len(a) && a[x].col <= b[y].col)
				inB := x == len(a) || (y < len(b) && b[y].col <= a[x].col)
				if inA {
					col = a[x].col
					d := mulPos(a[x].val, aScale)
					if s := aSums[col]; s != 0 {
						d = frac(d, s)
					}
					v = mulPos(alpha, d)
					x++
				}
				if inB {
					col = b[y].col
					d := mulPos(b[y].val, bScale)
					if s := bSums[col]; s != 0 {
						d = frac(d, s)
					}
					v = satAdd(v, mulPos(oneMinus, d))
					y++
				}
				if v > 0 {
					r = append(r, cell{col, v})
					sums[col] = satAdd(sums[col], v)
				}
			}
			out[i] = r
		}
	})
	return out, sums
}
