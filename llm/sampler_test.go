package llm

import (
	"math"
	"testing"
)

// SampleCoin is SplitMix64's output stream (its reference vector for state
// 1234567), cut to 24 bits.
func TestSampleCoin(t *testing.T) {
	t.Parallel()
	for i, out := range []uint64{6457827717110365317, 3203168211198807973, 9817491932198370423} {
		if got, want := SampleCoin(1234567, i), float32(out>>40)/(1<<24); got != want {
			t.Errorf("SampleCoin(1234567, %d) = %v, want %v", i, got, want)
		}
	}
	seen := map[float32]bool{}
	var sum float64
	const n = 4096
	for i := range n {
		c := SampleCoin(42, i)
		if c < 0 || c >= 1 {
			t.Fatalf("coin %d = %v, outside [0, 1)", i, c)
		}
		seen[c] = true
		sum += float64(c)
	}
	if len(seen) < n-5 || math.Abs(sum/n-0.5) > 0.02 {
		t.Errorf("%d distinct coins of %d, mean %v", len(seen), n, sum/n)
	}
	if SampleCoin(1, 0) == SampleCoin(2, 0) {
		t.Error("seeds 1 and 2 share their first coin")
	}
}
