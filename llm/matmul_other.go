//go:build !amd64 || purego

package llm

// lanes is 0: without the amd64 kernel, matmulBatch runs every token
// through matmul.
const lanes = 0

// matmulLanes is never called when lanes is 0; it is matmulLanesGo for
// the tests.
func matmulLanes(oT, xT, w []float32, n, d int) {
	matmulLanesGo(oT, xT, w, n, d, 8)
}
