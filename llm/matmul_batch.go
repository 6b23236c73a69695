package llm

// minLaneTokens is the fewest tokens that matmulBatch runs as a lane group:
// a group costs about as much as two or three tokens through matmul, so
// fewer remaining tokens run through matmul one by one.
const minLaneTokens = 3

// laneScratch holds a group of tokens' activations transposed, lanes
// floats per row (one token per lane), for matmulLanes: xT its inputs,
// oT its outputs.
type laneScratch struct{ xT, oT []float32 }

// newLaneScratch is the scratch for batches of up to batch tokens with
// matrices of at most width rows and columns; none when they never use
// lanes.
func newLaneScratch(batch, width int) laneScratch {
	if lanes == 0 || batch < minLaneTokens {
		return laneScratch{}
	}
	return laneScratch{xT: make([]float32, lanes*width), oT: make([]float32, lanes*width)}
}

// matmulBatch is matmul for nt tokens: out[t·d+i] = Σ_j w[i·n+j]·x[t·n+j]
// for t < nt, i < d. Groups of up to lanes tokens run through matmulLanes
// (their x transposed into ls.xT, zero-padded), the rest through matmul;
// either way each output is the same sequential sum with the same bits.
func matmulBatch(out, x, w []float32, n, d, nt int, ls *laneScratch) {
	x = x[:nt*n]
	out = out[:nt*d]
	t := 0
	if lanes > 0 && nt >= minLaneTokens {
		xT, oT := ls.xT[:lanes*n], ls.oT[:lanes*d]
		for ; nt-t >= minLaneTokens; t += lanes {
			k := min(lanes, nt-t)
			for l := range lanes {
				if l >= k {
					for j := range n {
						xT[j*lanes+l] = 0
					}
					continue
				}
				for j, v := range x[(t+l)*n : (t+l+1)*n] {
					xT[j*lanes+l] = v
				}
			}
			matmulLanes(oT, xT, w, n, d)
			for l := range k {
				o := out[(t+l)*d : (t+l+1)*d]
				for i := range o {
					o[i] = oT[i*lanes+l]
				}
			}
		}
	}
	for ; t < nt; t++ {
		matmul(out[t*d:(t+1)*d], x[t*n:(t+1)*n], w, n, d)
	}
}

// matmulLanesGo is what matmulLanes computes, in Go: for each row i of w
// (d×n, row-major) and each lane l, oT[i·lanes+l] = Σ_j w[i·n+j]·xT[j·lanes+l],
// summed in j order with each product rounded, as matmul sums.
func matmulLanesGo(oT, xT, w []float32, n, d, lanes int) {
	xT = xT[:n*lanes]
	oT = oT[:d*lanes]
	w = w[:d*n]
	acc := make([]float32, lanes)
	for i := range d {
		clear(acc)
		for j, wv := range w[i*n : (i+1)*n] {
			xj := xT[j*lanes : (j+1)*lanes]
			for l, xv := range xj {
				acc[l] += float32(wv * xv)
			}
		}
		copy(oT[i*lanes:(i+1)*lanes], acc)
	}
}
