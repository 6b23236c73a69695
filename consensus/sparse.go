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

// rowNormalize divides each row by its sum where the sum is positive
// (inplace_row_normalize_sparse).
func rowNormalize(m matrix) {
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

// colNormalize divides each entry by its column's sum where that sum is
// non-zero (inplace_col_normalize_sparse). scratch must have n zeroed cells;
// it is left zeroed.
func colNormalize(m matrix, scratch []fix) {
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

// classicDividends column-normalises the classic bonds EMA, computes each
// validator's dividend d_i = Σ_j ema_ij · incentive_j from the normalised
// bonds (matmul_transpose_sparse), and leaves ema column max-upscaled for
// storage (inplace_col_max_upscale_sparse): three passes where subtensor
// makes five, with the same rounding. scratch as for colNormalize.
func classicDividends(ema matrix, incentive, scratch []fix) []fix {
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

// clone returns a deep copy of m.
func (m matrix) clone() matrix {
	out := rowsLike(m, nil)
	for i, row := range m {
		out[i] = append(out[i], row...)
	}
	return out
}

// colClip clips each entry at its column's threshold; an entry above a zero
// threshold is dropped (col_clip_sparse). It returns a new matrix.
func colClip(m matrix, threshold []fix) matrix {
	return clipInto(rowsLike(m, nil), m, threshold)
}

// clipInto is colClip writing into out's rows, which may be m's own: a
// clipped row is never longer than the row it comes from.
func clipInto(out, m matrix, threshold []fix) matrix {
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

// trustAndRanks returns each row's sum (row_sum_sparse: validator trust)
// and each column's stake-weighted sum r_j = Σ_i v_i · m_ij, each product
// floored then added (matmul_sparse: ranks), in one pass.
func trustAndRanks(m matrix, v []fix, n int) (trust, ranks []fix) {
	trust, ranks = make([]fix, len(m)), make([]fix, n)
	for i, row := range m {
		for _, c := range row {
			trust[i] += c.val
			ranks[c.col] = satAdd(ranks[c.col], mul(v[i], c.val))
		}
	}
	return trust, ranks
}

// scaleRows multiplies row i of m by v_i in place (row_hadamard_sparse).
func scaleRows(m matrix, v []fix) {
	for i, row := range m {
		for k := range row {
			row[k].val = mul(row[k].val, v[i])
		}
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

// ema returns alpha·new + (1−alpha)·old per entry, keeping positive entries
// (mat_ema_sparse). Both products are floored before they are added.
func ema(newM, oldM matrix, alpha fix) matrix {
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
