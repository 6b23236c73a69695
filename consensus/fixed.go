package consensus

import (
	"math"
	"math/bits"
)

// fix is a signed fixed-point number with 32 integer and 32 fractional bits,
// the I32F32 type of substrate-fixed that subtensor's epoch computes in. The
// value is fix / 2^32. Every operation below reproduces substrate-fixed's
// rounding exactly: multiplication floors (arithmetic shift), division
// truncates toward zero, conversions to integers drop the fraction.
type fix = int64

const (
	fracBits = 32
	one      = fix(1) << fracBits
	half     = fix(1) << (fracBits - 1)
	u16Max   = fix(math.MaxUint16) << fracBits
	// eFix is substrate-fixed's constant e: e truncated to 23 fractional bits
	// (an I9F23), widened to I32F32. exp(1) returns exactly this.
	eFix = fix(22802600) << 9
)

// fromInt converts a small integer to fix. The caller guarantees |v| < 2^31.
func fromInt(v int64) fix { return v << fracBits }

// abs64 returns |v| as an unsigned magnitude; it is exact for math.MinInt64.
func abs64(v int64) uint64 {
	if v < 0 {
		return uint64(-v)
	}
	return uint64(v)
}

// signed turns a magnitude and a sign into an int64, saturating at the
// int64 range as substrate-fixed's saturating operations do. hi holds any
// bits above the low 64.
func signed(hi, lo uint64, neg bool) int64 {
	if neg {
		if hi != 0 || lo > 1<<63 {
			return math.MinInt64
		}
		return -int64(lo)
	}
	if hi != 0 || lo > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(lo)
}

// mul is saturating_mul: floor(a*b / 2^32), clamped to the int64 range.
func mul(a, b fix) fix {
	if a|b < 0 {
		return mulSigned(a, b)
	}
	return mulPos(a, b)
}

// mulPos is mul for a, b >= 0, small enough to inline: the epoch's matrices
// hold no negative values.
func mulPos(a, b fix) fix {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= 1<<(fracBits-1) {
		return math.MaxInt64
	}
	return fix(hi<<fracBits | lo>>fracBits)
}

// mulSigned is mul for operands of any sign.
func mulSigned(a, b fix) fix {
	neg := (a < 0) != (b < 0)
	hi, lo := bits.Mul64(abs64(a), abs64(b))
	qhi, qlo := hi>>fracBits, hi<<fracBits|lo>>fracBits
	if neg && lo&(1<<fracBits-1) != 0 {
		// floor of a negative quotient rounds away from zero in magnitude.
		var c uint64
		qlo, c = bits.Add64(qlo, 1, 0)
		qhi += c
	}
	return signed(qhi, qlo, neg && (qhi|qlo) != 0)
}

// mulChecked is checked_mul: the same product, and false on overflow.
func mulChecked(a, b fix) (fix, bool) {
	p := mul(a, b)
	if p == math.MaxInt64 || p == math.MinInt64 {
		return 0, false
	}
	return p, true
}

// quo is (a << 32) / b truncated toward zero, and false when b is zero or the
// quotient does not fit in 64 bits.
func quo(a, b fix) (fix, bool) {
	if b == 0 {
		return 0, false
	}
	ua, ub := abs64(a), abs64(b)
	hi, lo := ua>>(64-fracBits), ua<<fracBits
	if hi >= ub {
		return 0, false
	}
	q, _ := bits.Div64(hi, lo, ub)
	neg := (a < 0) != (b < 0)
	if neg {
		if q > 1<<63 {
			return 0, false
		}
		return -int64(q), true
	}
	if q > math.MaxInt64 {
		return 0, false
	}
	return int64(q), true
}

// frac is safeDiv(a, d) for 0 <= a <= d, d > 0: floor(a·2^32/d), which
// fits because the quotient is at most one. Row and column normalisations
// divide each entry by a sum that includes it, so they all fall in this
// domain and skip quo's sign and overflow checks.
func frac(a, d fix) fix {
	q, _ := bits.Div64(uint64(a)>>(64-fracBits), uint64(a)<<fracBits, uint64(d))
	return fix(q)
}

// safeDiv is subtensor's safe_div: a/b, or 0 when b is zero or on overflow.
func safeDiv(a, b fix) fix {
	q, _ := quo(a, b)
	return q
}

// satDiv is saturating_div for a non-zero divisor: a/b clamped on overflow.
func satDiv(a, b fix) fix {
	if q, ok := quo(a, b); ok {
		return q
	}
	if (a < 0) != (b < 0) {
		return math.MinInt64
	}
	return math.MaxInt64
}

// satAdd is saturating_add.
func satAdd(a, b fix) fix {
	s := a + b
	if (s > a) != (b > 0) {
		if b > 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return s
}

// satSub is saturating_sub.
func satSub(a, b fix) fix {
	if b == math.MinInt64 {
		if a >= 0 {
			return math.MaxInt64
		}
		return a - b
	}
	return satAdd(a, -b)
}

// toU16 is saturating_to_num::<u16>: the integer part, clamped to [0, 65535].
func toU16(x fix) uint16 {
	if x <= 0 {
		return 0
	}
	if v := x >> fracBits; v < math.MaxUint16 {
		return uint16(v)
	}
	return math.MaxUint16
}

// proportionToU16 is fixed_proportion_to_u16: floor(x * 65535), clamped.
func proportionToU16(x fix) uint16 { return toU16(mul(x, u16Max)) }

// u16Proportion is u16_proportion_to_fixed: v / 65535 in fix, truncated.
func u16Proportion(v uint16) fix { return safeDiv(fromInt(int64(v)), u16Max) }

// scaleU64 is I96F32(x) * I96F32(amount) converted to u64 with
// saturating_to_num: floor(x * amount), clamped to [0, 2^64-1].
func scaleU64(x fix, amount uint64) uint64 {
	if x <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(x), amount)
	if hi>>fracBits != 0 {
		return math.MaxUint64
	}
	return hi<<fracBits | lo>>fracBits
}

// expTerms is the number of fractional bits of I32F32: substrate-fixed's
// exp sums its Taylor series for i in 2..frac_nbits.
const expTerms = fracBits

// exp is substrate-fixed's transcendental::exp for I32F32: a Taylor series
// with 30 terms, each term floored then truncated by i, and 1/exp(|x|) for a
// negative argument. It reports false on overflow.
func exp(x fix) (fix, bool) {
	switch x {
	case 0:
		return one, true
	case one:
		return eFix, true
	}
	neg := x < 0
	if neg {
		if x == math.MinInt64 {
			return 0, false
		}
		x = -x
	}
	result := x + one
	if result < x {
		return 0, false
	}
	term := x
	for i := int64(2); i < expTerms; i++ {
		var ok bool
		if term, ok = mulChecked(term, x); !ok {
			return 0, false
		}
		// checked_div by the fixed-point integer i: (term<<32)/(i<<32),
		// which for term >= 0 is term/i.
		term /= i
		if result+term < result {
			return 0, false
		}
		result += term
	}
	if neg {
		return quo(one, result)
	}
	return result, true
}

// expSafe is subtensor's exp_safe: exp with the input clamped to [-20, 20],
// and 0 or the maximum on overflow.
func expSafe(x fix) fix {
	lo, hi := fromInt(-20), fromInt(20)
	if x < lo {
		x = lo
	} else if hi < x {
		x = hi
	}
	if v, ok := exp(x); ok {
		return v
	}
	if x <= 0 {
		return 0
	}
	return math.MaxInt64
}

// clamp is clamp_value: min(max(v, lo), hi) applied as v.min(hi).max(lo).
func clamp(v, lo, hi fix) fix {
	if v > hi {
		v = hi
	}
	if v < lo {
		v = lo
	}
	return v
}
