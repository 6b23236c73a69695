//go:build amd64 && !purego

package llm

// lanes is how many tokens matmulLanes multiplies at once: two SSE
// registers of four float32 (SSE2 is part of every amd64 CPU).
const lanes = 8

// matmulLanes sets oT[i·8+l] = Σ_j w[i·n+j]·xT[j·8+l] for i < d and the 8
// lanes l: w is d×n, row-major, and xT holds 8 tokens' inputs transposed.
// Each lane's sum runs in j order with MULPS then ADDPS, so it rounds
// every product before adding it, exactly as matmul does (see
// matmulLanesGo).
func matmulLanes(oT, xT, w []float32, n, d int) {
	_ = xT[8*n-1]
	_ = w[d*n-1]
	_ = oT[8*d-1]
	matmulLanesSSE(oT, xT, w, n, d)
}

//go:noescape
func matmulLanesSSE(oT, xT, w []float32, n, d int)
