package weights

import "math/bits"

// This file holds the little I32F32 arithmetic that set_weights needs. An
// I32F32 value is an int64 holding value × 2^32. Only non-negative values
// occur here, so every helper works on non-negative inputs and says so.
//
// The rules follow substrate-fixed v0.6.0 as subtensor uses it:
//   - mul is (a·b) >> 32 on the widened product: floor for non-negative values;
//     the saturating form clamps to the largest I32F32.
//   - div is (a << 32) / b on widened integers, truncating; safe_div returns 0
//     when b is 0 or the quotient does not fit.
//   - round is to nearest with ties away from zero.
//   - to_num::<u16> drops the fraction; the saturating form clamps to 65535.

const (
	fracBits = 32
	one      = int64(1) << fracBits // I32F32 1.0
	maxFixed = int64(1<<63 - 1)     // I32F32::max_value()

	// u16Max is 65535 as an I32F32.
	u16Max = int64(65535) << fracBits
	// upscaleThreshold is 32768 as an I32F32: above it, e·65535 would not fit
	// in an I32F32, so vec_max_upscale_to_u16 multiplies by 65535/max instead.
	upscaleThreshold = int64(32768) << fracBits
)

// fixedMul is I32F32 saturating_mul for a, b >= 0: floor(a·b / 2^32),
// clamped to maxFixed.
func fixedMul(a, b int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	// The result is the 128-bit product shifted right by 32; it fits in an
	// int64 exactly when the top 33 bits of the product are zero.
	if hi>>(fracBits-1) != 0 {
		return maxFixed
	}
	return int64(hi<<fracBits | lo>>fracBits)
}

// fixedSafeDiv is I32F32 safe_div for a >= 0, b >= 0: trunc(a·2^32 / b), or 0
// when b is 0 or the quotient does not fit in an I32F32.
func fixedSafeDiv(a, b int64) int64 {
	if b == 0 {
		return 0
	}
	hi, lo := uint64(a)>>(64-fracBits), uint64(a)<<fracBits
	if hi >= uint64(b) {
		return 0 // the quotient needs more than 64 bits
	}
	q, _ := bits.Div64(hi, lo, uint64(b))
	if q > uint64(maxFixed) {
		return 0
	}
	return int64(q)
}

// roundToU16 is I32F32 round() followed by saturating_to_num::<u16>() for
// x >= 0: the nearest integer, ties up, clamped to 65535.
func roundToU16(x int64) uint16 {
	r := (uint64(x) + uint64(one>>1)) >> fracBits
	if r > 65535 {
		return 65535
	}
	return uint16(r)
}

// floorToU16 is saturating_to_num::<u16>() for x >= 0.
func floorToU16(x int64) uint16 {
	r := uint64(x) >> fracBits
	if r > 65535 {
		return 65535
	}
	return uint16(r)
}

// upscaleOne maps one element e of a vector whose largest element is mx
// (0 <= e <= mx) the way vec_max_upscale_to_u16 does.
func upscaleOne(e, mx int64) uint16 {
	switch {
	case mx == 0:
		return floorToU16(fixedMul(e, u16Max))
	case mx > upscaleThreshold:
		return roundToU16(fixedMul(e, fixedSafeDiv(u16Max, mx)))
	default:
		return roundToU16(fixedSafeDiv(fixedMul(e, u16Max), mx))
	}
}

// maxUpscaleFixed is subtensor's vec_max_upscale_to_u16 over non-negative
// I32F32 values. MaxUpscale is the same function for u16 inputs; this general
// form exists so that subtensor's test vectors, which start from fixed-point
// values, can be checked bit for bit.
func maxUpscaleFixed(vec []int64) []uint16 {
	out := make([]uint16, len(vec))
	var mx int64
	for _, e := range vec {
		mx = max(mx, e)
	}
	for i, e := range vec {
		out[i] = upscaleOne(e, mx)
	}
	return out
}

// MaxUpscale scales values so that the largest becomes 65535, keeping their
// ratios as closely as u16 allows. It is bit-exact with subtensor's
// vec_u16_max_upscale_to_u16, which set_weights applies before storing a
// weight vector: with m the largest value,
//   - m == 0: every output is 0;
//   - m > 32768: each output is round(e · q), where q = 65535/m in I32F32
//     (truncated) and the product is floored to 32 fractional bits;
//   - otherwise: each output is round(floor(e · 65535) / m), the quotient
//     truncated to 32 fractional bits;
//
// round is to nearest with ties away from zero. Outputs are u16 proportions
// of 65535; the largest is exactly 65535 whenever any input is non-zero, and
// a vector whose largest value is already 65535 comes back unchanged. The
// result is a new slice of the same length; values is not modified.
func MaxUpscale(values []uint16) []uint16 {
	out := make([]uint16, len(values))
	var m uint16
	for _, v := range values {
		m = max(m, v)
	}
	mx := int64(m) << fracBits
	for i, v := range values {
		out[i] = upscaleOne(int64(v)<<fracBits, mx)
	}
	return out
}

// maxLimited reports whether the largest of values, as a share of their sum,
// is at most limit/65535, both computed in I32F32 as subtensor's
// check_vec_max_limited does: the share is trunc(max·2^32/sum) and the limit
// trunc(limit·2^32/65535). An empty or all-zero vector passes.
//
// subtensor sums the vector in I32F32, which overflows once the sum reaches
// 2^31 (more than 32768 entries of 65535); this port sums exactly in uint64
// instead, and agrees with subtensor wherever subtensor does not overflow.
func maxLimited(values []uint16, limit uint16) bool {
	var sum, m uint64
	for _, v := range values {
		sum += uint64(v)
		m = max(m, uint64(v))
	}
	if sum == 0 {
		return true
	}
	share := (m << fracBits) / sum
	lim := (uint64(limit) << fracBits) / 65535
	return share <= lim
}
