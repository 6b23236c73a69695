package weights

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors, one per way Prepare can reject a request. Every error
// Prepare returns wraps exactly one of them, so callers can map a rejection to
// a result code with errors.Is, or get the details with errors.As on the
// matching *...Error type.
var (
	// ErrLengthMismatch: uids and values differ in length (subtensor
	// WeightVecNotEqualSize).
	ErrLengthMismatch = errors.New("weights: uids and values differ in length")
	// ErrTooManyUIDs: more uids than the subnet has neurons (subtensor
	// UidsLengthExceedUidsInSubNet).
	ErrTooManyUIDs = errors.New("weights: more uids than the subnet has")
	// ErrDuplicateUID: a uid appears more than once (subtensor DuplicateUids).
	ErrDuplicateUID = errors.New("weights: duplicate uid")
	// ErrUIDOutOfRange: a uid is not below the subnet size (subtensor
	// UidVecContainInvalidOne).
	ErrUIDOutOfRange = errors.New("weights: uid out of range")
	// ErrTooFewWeights: fewer weights than the subnet's minimum (subtensor
	// WeightVecLengthIsLow).
	ErrTooFewWeights = errors.New("weights: too few weights")
	// ErrMaxWeightExceeded: the largest weight is too large a share of the
	// total (subtensor MaxWeightExceeded).
	ErrMaxWeightExceeded = errors.New("weights: largest weight exceeds the limit")
)

// LengthMismatchError reports that a request has a different number of uids
// and values. It wraps ErrLengthMismatch.
type LengthMismatchError struct {
	UIDs, Values int // the two lengths
}

// Error says what was wrong, e.g. "weights: 3 uids but 4 values".
func (e *LengthMismatchError) Error() string {
	return fmt.Sprintf("weights: %s but %s", count(e.UIDs, "uid", "uids"), count(e.Values, "value", "values"))
}

// Unwrap returns ErrLengthMismatch.
func (e *LengthMismatchError) Unwrap() error { return ErrLengthMismatch }

// TooManyUIDsError reports that a request names more uids than the subnet
// has neurons. It wraps ErrTooManyUIDs.
type TooManyUIDsError struct {
	UIDs int    // number of uids in the request
	N    uint16 // subnet size
}

// Error says what was wrong, e.g. "weights: 300 uids but the subnet has 256 uids".
func (e *TooManyUIDsError) Error() string {
	return fmt.Sprintf("weights: %s but the subnet has %s", count(e.UIDs, "uid", "uids"), count(int(e.N), "uid", "uids"))
}

// Unwrap returns ErrTooManyUIDs.
func (e *TooManyUIDsError) Unwrap() error { return ErrTooManyUIDs }

// DuplicateUIDError reports a uid that appears more than once. It names the
// first uid, in request order, that repeats an earlier one. It wraps
// ErrDuplicateUID.
type DuplicateUIDError struct {
	UID   uint16
	Count int // how many times UID appears in the request (at least 2)
}

// Error says what was wrong, e.g. "weights: uid 7 appears twice".
func (e *DuplicateUIDError) Error() string {
	if e.Count == 2 {
		return fmt.Sprintf("weights: uid %d appears twice", e.UID)
	}
	return fmt.Sprintf("weights: uid %d appears %d times", e.UID, e.Count)
}

// Unwrap returns ErrDuplicateUID.
func (e *DuplicateUIDError) Unwrap() error { return ErrDuplicateUID }

// UIDOutOfRangeError reports a uid that is not below the subnet size. It names
// the first such uid in request order. It wraps ErrUIDOutOfRange.
type UIDOutOfRangeError struct {
	UID uint16
	N   uint16 // subnet size: valid uids are 0..N-1
}

// Error says what was wrong, e.g. "weights: uid 300 out of range: subnet has 256 uids".
func (e *UIDOutOfRangeError) Error() string {
	return fmt.Sprintf("weights: uid %d out of range: subnet has %s", e.UID, count(int(e.N), "uid", "uids"))
}

// Unwrap returns ErrUIDOutOfRange.
func (e *UIDOutOfRangeError) Unwrap() error { return ErrUIDOutOfRange }

// TooFewWeightsError reports a request with fewer weights than the subnet
// requires. It wraps ErrTooFewWeights.
type TooFewWeightsError struct {
	Count int // weights in the request
	Min   int // effective minimum: min(subnet size, MinAllowedWeights)
}

// Error says what was wrong, e.g. "weights: 2 weights set but the subnet requires at least 8".
func (e *TooFewWeightsError) Error() string {
	return fmt.Sprintf("weights: %s set but the subnet requires at least %d", count(e.Count, "weight", "weights"), e.Min)
}

// Unwrap returns ErrTooFewWeights.
func (e *TooFewWeightsError) Unwrap() error { return ErrTooFewWeights }

// MaxWeightExceededError reports that the largest weight, after max-upscaling,
// is a larger share of the total than the subnet's max weight limit. It wraps
// ErrMaxWeightExceeded.
type MaxWeightExceededError struct {
	Largest uint16 // largest max-upscaled weight (65535)
	Total   uint64 // sum of the max-upscaled weights
	Limit   uint16 // the subnet's MaxWeightLimit, a u16 proportion of 65535
}

// Error says what was wrong, e.g. "weights: largest weight is 61.2% of the
// total but the subnet allows at most 50.0%". Both shares are rounded to
// nearest with as many decimals (one to three) as it takes to tell them
// apart; if three are not enough, the share is rounded up and the limit down,
// so the message never shows the share at or below the limit.
func (e *MaxWeightExceededError) Error() string {
	if e.Total == 0 { // not produced by Prepare; avoid dividing by zero
		return fmt.Sprintf("weights: largest weight %d of a zero total exceeds the limit %d/65535", e.Largest, e.Limit)
	}
	share, limit := percentPair(uint64(e.Largest), e.Total, uint64(e.Limit), 65535)
	return fmt.Sprintf("weights: largest weight is %s of the total but the subnet allows at most %s", share, limit)
}

// Unwrap returns ErrMaxWeightExceeded.
func (e *MaxWeightExceededError) Unwrap() error { return ErrMaxWeightExceeded }

// count formats "1 uid" or "3 uids".
func count(n int, singular, plural string) string {
	if n == 1 {
		return "1 " + singular
	}
	return strconv.Itoa(n) + " " + plural
}

// percentPair formats a/b and c/d, with a/b > c/d, as percentages that read
// differently (see MaxWeightExceededError.Error). It uses integers only.
func percentPair(a, b, c, d uint64) (string, string) {
	scale := uint64(1000) // tenths of a percent
	for decimals := 1; decimals <= 3; decimals++ {
		x, y := scaledRound(a, b, scale), scaledRound(c, d, scale)
		if x != y {
			return formatScaled(x, decimals), formatScaled(y, decimals)
		}
		scale *= 10
	}
	scale /= 10
	up := scaledFloor(a, b, scale)
	if up*b != a*scale { // a·scale/b has a fraction: round it up
		up++
	}
	return formatScaled(up, 3), formatScaled(scaledFloor(c, d, scale), 3)
}

// scaledFloor is floor(a·scale/b); scaledRound rounds half up. b > 0 and
// a·scale must fit in a uint64 (here a <= 65535·65536 and scale <= 10^5).
func scaledFloor(a, b, scale uint64) uint64 { return a * scale / b }
func scaledRound(a, b, scale uint64) uint64 { return (2*a*scale + b) / (2 * b) }

// formatScaled prints v / 10^decimals as a percentage, e.g. (612, 1) -> "61.2%".
func formatScaled(v uint64, decimals int) string {
	s := strconv.FormatUint(v, 10)
	for len(s) <= decimals {
		s = "0" + s
	}
	return s[:len(s)-decimals] + "." + s[len(s)-decimals:] + "%"
}
