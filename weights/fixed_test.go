package weights

import (
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

// fx returns the integer v as I32F32 bits.
func fx(v int64) int64 { return v << fracBits }

// TestMaxUpscaleFixedSubtensor ports subtensor's test_vec_max_upscale_to_u16
// (pallets/subtensor/src/tests/math.rs). The Rust test builds its inputs from
// f32 literals with I32F32::from_num (round to nearest, ties to even); the
// bits below are those conversions, computed once, so no float is involved.
func TestMaxUpscaleFixedSubtensor(t *testing.T) {
	const (
		f1e9   = 4          // 0.000000001f32
		f16e6  = 68719      // 0.000016f32
		f1e6   = 4295       // 0.000001f32
		f6e6   = 25770      // 0.000006f32
		f7e6   = 30065      // 0.000007f32
		f1e4   = 429497     // 0.0001f32
		f1e3   = 4294968    // 0.001f32
		f1e2   = 42949672   // 0.01f32
		f1e1   = 429496736  // 0.1f32
		f2e1   = 858993472  // 0.2f32
		f3e1   = 1288490240 // 0.3f32
		f4e1   = 1717986944 // 0.4f32
		fHalf  = 1 << 31    // 0.5
		f3Half = 3 << 31    // 1.5
	)
	tests := []struct {
		name string
		in   []int64
		want []uint16
	}{
		{"empty", []int64{}, []uint16{}},
		{"zero", []int64{0}, []uint16{0}},
		{"zeros", []int64{0, 0}, []uint16{0, 0}},
		{"zero one", []int64{0, fx(1)}, []uint16{0, 65535}},
		{"zero tiny", []int64{0, f1e9}, []uint16{0, 65535}},
		{"zero small one", []int64{0, f16e6, fx(1)}, []uint16{0, 1, 65535}},
		{"tiny tiny", []int64{f1e9, f1e9}, []uint16{65535, 65535}},
		{"decades",
			[]int64{f1e6, f6e6, f7e6, f1e4, f1e3, f1e2, f1e1, f2e1, f3e1, f4e1},
			[]uint16{0, 1, 1, 16, 164, 1638, 16384, 32768, 49151, 65535}},
		{"16384", []int64{fx(16384)}, []uint16{65535}},
		{"32768", []int64{fx(32768)}, []uint16{65535}},
		{"32769", []int64{fx(32769)}, []uint16{65535}},
		{"65535", []int64{fx(65535)}, []uint16{65535}},
		{"I32F32 max", []int64{maxFixed}, []uint16{65535}},
		{"0 1 65535", []int64{0, fx(1), fx(65535)}, []uint16{0, 1, 65535}},
		{"halves to 32768",
			[]int64{0, fHalf, fx(1), f3Half, fx(2), fx(32768)},
			[]uint16{0, 1, 2, 3, 4, 65535}},
		{"halves to 32769",
			[]int64{0, fHalf, fx(1), f3Half, fx(2), fx(32768), fx(32769)},
			[]uint16{0, 1, 2, 3, 4, 65533, 65535}},
		{"up to I32F32 max",
			[]int64{0, fx(1), fx(32768), fx(32769), maxFixed},
			[]uint16{0, 0, 1, 1, 65535}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := maxUpscaleFixed(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("maxUpscaleFixed(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// TestMaxUpscale ports subtensor's test_vec_u16_max_upscale_to_u16 and adds
// the weight vectors of the epoch tests noted in research/yuma.md.
func TestMaxUpscale(t *testing.T) {
	const max = 65535
	tests := []struct {
		name string
		in   []uint16
		want []uint16
	}{
		// tests/math.rs test_vec_u16_max_upscale_to_u16
		{"empty", []uint16{}, []uint16{}},
		{"zero", []uint16{0}, []uint16{0}},
		{"zeros", []uint16{0, 0}, []uint16{0, 0}},
		{"one", []uint16{1}, []uint16{65535}},
		{"zero one", []uint16{0, 1}, []uint16{0, 65535}},
		{"65534", []uint16{65534}, []uint16{65535}},
		{"65535", []uint16{65535}, []uint16{65535}},
		{"two max", []uint16{65535, 65535}, []uint16{65535, 65535}},
		{"0 1 65534", []uint16{0, 1, 65534}, []uint16{0, 1, 65535}},
		{"max already", []uint16{0, 1, 2, 3, 4, 65533, 65535}, []uint16{0, 1, 2, 3, 4, 65533, 65535}},

		// test_outdated_weights: [2*(MAX/3), MAX/3] is stored as [65535, 32768].
		{"two thirds one third", []uint16{2 * (max / 3), max / 3}, []uint16{65535, 32768}},
		// test_active_stake: [MAX/2, MAX/2] is stored as [65535, 65535].
		{"halves", []uint16{max / 2, max / 2}, []uint16{65535, 65535}},
		// test_512_graph: MAX/512 on every server is stored as 65535.
		{"512 graph", []uint16{max / 512, max / 512, max / 512}, []uint16{65535, 65535, 65535}},
		// A vector whose largest value is already 65535 is unchanged: the
		// multiplier 65535/65535 is exactly 1 in I32F32. Both readings of
		// "3/4 of MAX" are covered.
		{"quarters 3*(MAX/4)", []uint16{max / 4, max / 2, 3 * (max / 4), max}, []uint16{16383, 32767, 49149, 65535}},
		{"quarters 3*MAX/4", []uint16{max / 4, max / 2, 3 * max / 4, max}, []uint16{16383, 32767, 49151, 65535}},
		// Around the 32768 threshold between the two formulas.
		{"max 32768", []uint16{1, 16384, 32768}, []uint16{2, 32768, 65535}},
		{"max 32769", []uint16{1, 16384, 32769}, []uint16{2, 32767, 65535}},
		{"max 32767", []uint16{1, 16384, 32767}, []uint16{2, 32769, 65535}},
		// Ties round away from zero: 1·65535/2 = 32767.5 -> 32768.
		{"tie", []uint16{1, 2}, []uint16{32768, 65535}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			got := MaxUpscale(in)
			if !slices.Equal(got, tt.want) {
				t.Errorf("MaxUpscale(%v) = %v, want %v", tt.in, got, tt.want)
			}
			if !slices.Equal(in, tt.in) {
				t.Errorf("MaxUpscale modified its input: %v, was %v", in, tt.in)
			}
			if ref := refMaxUpscale(tt.in); !slices.Equal(got, ref) {
				t.Errorf("reference emulation gives %v, MaxUpscale %v", ref, got)
			}
		})
	}
}

// TestMaxUpscaleMatchesReference checks the int64 implementation against a
// literal big-integer emulation of the substrate-fixed operations, for every
// element value under a set of maxima (both sides of the 32768 threshold) and
// for random vectors.
func TestMaxUpscaleMatchesReference(t *testing.T) {
	maxima := []uint16{1, 2, 3, 7, 255, 1000, 32767, 32768, 32769, 40000, 65534, 65535}
	if testing.Short() {
		maxima = []uint16{3, 32768, 32769, 65535}
	}
	for _, m := range maxima {
		vec := make([]uint16, 0, int(m)+1)
		for e := 0; e <= int(m); e++ {
			vec = append(vec, uint16(e))
		}
		got, want := MaxUpscale(vec), refMaxUpscale(vec)
		for i := range vec {
			if got[i] != want[i] {
				t.Fatalf("max %d, element %d: got %d, reference %d", m, vec[i], got[i], want[i])
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		vec := make([]uint16, 1+r.IntN(20))
		limit := 1 + r.IntN(65536)
		for i := range vec {
			vec[i] = uint16(r.IntN(limit))
		}
		if got, want := MaxUpscale(vec), refMaxUpscale(vec); !slices.Equal(got, want) {
			t.Fatalf("MaxUpscale(%v) = %v, reference %v", vec, got, want)
		}
	}
}

// The reference: I32F32 values as big.Int bits, following the Rust control
// flow of vec_max_upscale_to_u16 step by step.
var (
	bigOne      = big.NewInt(1)
	refFixedMax = new(big.Int).Sub(new(big.Int).Lsh(bigOne, 63), bigOne)
	refFixedMin = new(big.Int).Neg(new(big.Int).Lsh(bigOne, 63))
)

func refFromInt(v int64) *big.Int { return new(big.Int).Lsh(big.NewInt(v), 32) }

// refSatMul: (a·b) >> 32 (arithmetic, so floor), clamped to the I32F32 range.
func refSatMul(a, b *big.Int) *big.Int {
	p := new(big.Int).Mul(a, b)
	p.Rsh(p, 32)
	if p.Cmp(refFixedMax) > 0 {
		return new(big.Int).Set(refFixedMax)
	}
	if p.Cmp(refFixedMin) < 0 {
		return new(big.Int).Set(refFixedMin)
	}
	return p
}

// refSafeDiv: (a << 32) / b truncated toward zero, or 0 on division by zero
// or overflow.
func refSafeDiv(a, b *big.Int) *big.Int {
	if b.Sign() == 0 {
		return new(big.Int)
	}
	q := new(big.Int).Quo(new(big.Int).Lsh(a, 32), b)
	if q.Cmp(refFixedMax) > 0 || q.Cmp(refFixedMin) < 0 {
		return new(big.Int)
	}
	return q
}

// refRound: round() for a non-negative value: add one when the first
// fractional bit is set, then drop the fraction.
func refRound(x *big.Int) *big.Int {
	r := new(big.Int).Rsh(x, 32)
	if x.Bit(31) == 1 {
		r.Add(r, bigOne)
	}
	return r.Lsh(r, 32)
}

// refToU16: saturating_to_num::<u16>() (floor, then clamp).
func refToU16(x *big.Int) uint16 {
	i := new(big.Int).Rsh(x, 32)
	switch {
	case i.Sign() < 0:
		return 0
	case i.Cmp(big.NewInt(65535)) > 0:
		return 65535
	}
	return uint16(i.Int64())
}

func refMaxUpscale(values []uint16) []uint16 {
	vec := make([]*big.Int, len(values))
	for i, v := range values {
		vec[i] = refFromInt(int64(v))
	}
	u16max, threshold := refFromInt(65535), refFromInt(32768)
	out := make([]uint16, len(vec))
	if len(vec) == 0 {
		return out
	}
	mx := vec[0]
	for _, e := range vec {
		if e.Cmp(mx) > 0 {
			mx = e
		}
	}
	for i, e := range vec {
		switch {
		case mx.Sign() == 0:
			out[i] = refToU16(refSatMul(e, u16max))
		case mx.Cmp(threshold) > 0:
			out[i] = refToU16(refRound(refSatMul(e, refSafeDiv(u16max, mx))))
		default:
			out[i] = refToU16(refRound(refSafeDiv(refSatMul(e, u16max), mx)))
		}
	}
	return out
}

// TestMaxLimited ports subtensor's test_check_vec_max_limited.
func TestMaxLimited(t *testing.T) {
	const max = 65535
	tests := []struct {
		vec   []uint16
		limit uint16
		want  bool
	}{
		{[]uint16{}, 0, true},
		{[]uint16{}, max, true},
		{[]uint16{max}, max, true},
		{[]uint16{max}, max - 1, false},
		{[]uint16{max}, 0, false},
		{[]uint16{0}, max, true},
		{[]uint16{0, max}, max, true},
		{[]uint16{0, max, max}, max / 2, false},
		{[]uint16{0, max, max}, max/2 + 1, true},
		{[]uint16{0, max, max, max}, max/3 - 1, false},
		{[]uint16{0, max, max, max}, max / 3, true},
		// An all-zero vector passes any limit (nothing to normalise).
		{[]uint16{0, 0}, 0, true},
	}
	for _, tt := range tests {
		if got := maxLimited(tt.vec, tt.limit); got != tt.want {
			t.Errorf("maxLimited(%v, %d) = %v, want %v", tt.vec, tt.limit, got, tt.want)
		}
	}
}

func TestFixedHelpers(t *testing.T) {
	if got := fixedMul(maxFixed, fx(2)); got != maxFixed {
		t.Errorf("fixedMul saturates: got %d", got)
	}
	if got := fixedMul(fx(3), one/2); got != fx(3)/2 {
		t.Errorf("fixedMul(3, 0.5) = %d", got)
	}
	if got := fixedMul(1, 1); got != 0 {
		t.Errorf("fixedMul floors: got %d", got)
	}
	if got := fixedSafeDiv(fx(1), 0); got != 0 {
		t.Errorf("fixedSafeDiv by zero = %d, want 0", got)
	}
	if got := fixedSafeDiv(maxFixed, 1); got != 0 {
		t.Errorf("fixedSafeDiv overflow = %d, want 0", got)
	}
	if got := fixedSafeDiv(fx(1), fx(3)); got != 1431655765 {
		t.Errorf("fixedSafeDiv(1, 3) = %d, want 1431655765 (truncated)", got)
	}
	for _, tt := range []struct {
		x    int64
		want uint16
	}{
		{0, 0}, {one/2 - 1, 0}, {one / 2, 1}, {fx(2) + one/2, 3}, {fx(70000), 65535}, {maxFixed, 65535},
	} {
		if got := roundToU16(tt.x); got != tt.want {
			t.Errorf("roundToU16(%d) = %d, want %d", tt.x, got, tt.want)
		}
	}
}
