// Package weights prepares validators' weight vectors for storage on chain,
// the way subtensor's set_weights does, and hashes them for commit-reveal.
//
// A weight is a u16 proportion of 65535. Prepare validates a request against
// a subnet's rules and returns the vector max-upscaled so that its largest
// weight is 65535 (MaxUpscale), which is what the chain stores and what the
// Yuma epoch reads. CommitHash is the hash a validator commits to before it
// reveals the same vector.
//
// The package is pure: integer arithmetic only (I32F32 fixed point where
// subtensor uses it), no floats, no I/O, no clock, no randomness. All
// functions are safe for concurrent use and neither modify nor retain the
// slices they are given.
package weights

import "math/bits"

// Request is one neuron's set_weights call: the weights it wants to set on
// other neurons of a subnet.
type Request struct {
	// UID is the caller's own uid on the subnet. It matters only for the
	// self-weight exemption (see IsSelfWeight).
	UID uint16
	// UIDs are the neurons the weights are for, in any order, each at most
	// once.
	UIDs []uint16
	// Values are the weights, UIDs[i] getting Values[i]. Only their ratios
	// matter: Prepare max-upscales them. Zero is allowed.
	Values []uint16
}

// IsSelfWeight reports whether r is a self-weight: exactly one weight, on
// the caller's own uid. A self-weight is exempt from the minimum number of
// weights and from the max weight limit, and subtensor lets a neuron without
// a validator permit set one. As in subtensor, the value does not matter
// (even 0), and the single uid must still be a valid one.
func (r Request) IsSelfWeight() bool {
	return len(r.Values) == 1 && len(r.UIDs) >= 1 && r.UIDs[0] == r.UID
}

// Rules are the subnet's state and hyperparameters that a weight vector is
// checked against.
type Rules struct {
	// N is the number of neurons on the subnet; valid uids are 0..N-1.
	N uint16
	// MinAllowedWeights is the least number of weights a vector must have;
	// the effective minimum is min(N, MinAllowedWeights). 0 allows an empty
	// vector.
	MinAllowedWeights uint16
	// MaxWeightLimit caps the largest weight's share of the vector's total,
	// as a u16 proportion of 65535 (32768 is about 50%). 65535 turns the
	// check off, which is subtensor's default.
	MaxWeightLimit uint16
}

// Entry is one stored weight: Weight is a u16 proportion of 65535 on the
// neuron UID.
type Entry struct {
	UID    uint16
	Weight uint16
}

// Prepare checks req against rules and returns the weights to store, or an
// error saying what was wrong.
//
// The checks and their order follow subtensor's set_weights where they
// depend only on the vector; each failure is a *...Error that wraps the
// sentinel named here:
//  1. len(UIDs) == len(Values) (ErrLengthMismatch);
//  2. len(UIDs) <= N (ErrTooManyUIDs);
//  3. no uid appears twice (ErrDuplicateUID);
//  4. every uid is below N (ErrUIDOutOfRange);
//  5. at least min(N, MinAllowedWeights) weights, unless req is a
//     self-weight (ErrTooFewWeights);
//  6. after MaxUpscale, the largest weight's share of the total is at most
//     MaxWeightLimit/65535 in I32F32, unless req is a self-weight or
//     MaxWeightLimit is 65535 (ErrMaxWeightExceeded).
//
// The caller checks the rest of set_weights before calling Prepare: that the
// caller is registered, has enough stake, sends a current version key,
// respects the rate limit and, between checks 2 and 3 in subtensor, has a
// validator permit or is setting a self-weight (Request.IsSelfWeight).
//
// On success the result has one entry per requested uid, zero weights
// included (as subtensor stores them), with Values max-upscaled (MaxUpscale)
// and sorted by increasing uid. If any value is non-zero the largest weight
// is 65535. Prepare is idempotent: preparing its own output again, with the
// same caller uid and rules, succeeds and returns the same entries.
func Prepare(req Request, rules Rules) ([]Entry, error) {
	uids, values := req.UIDs, req.Values
	if len(uids) != len(values) {
		return nil, &LengthMismatchError{UIDs: len(uids), Values: len(values)}
	}
	if len(uids) > int(rules.N) {
		return nil, &TooManyUIDsError{UIDs: len(uids), N: rules.N}
	}
	var seen uidSet
	if err := seen.addAll(uids); err != nil {
		return nil, err
	}
	for _, uid := range uids {
		if uid >= rules.N {
			return nil, &UIDOutOfRangeError{UID: uid, N: rules.N}
		}
	}
	self := req.IsSelfWeight()
	if minimum := int(min(rules.N, rules.MinAllowedWeights)); !self && len(values) < minimum {
		return nil, &TooFewWeightsError{Count: len(values), Min: minimum}
	}
	upscaled := MaxUpscale(values)
	if !self && rules.MaxWeightLimit != 65535 && !maxLimited(upscaled, rules.MaxWeightLimit) {
		var largest uint16
		var total uint64
		for _, v := range upscaled {
			largest = max(largest, v)
			total += uint64(v)
		}
		return nil, &MaxWeightExceededError{Largest: largest, Total: total, Limit: rules.MaxWeightLimit}
	}
	// Emit in uid order: place each weight at its uid, then walk the set.
	byUID := make([]uint16, rules.N)
	for i, uid := range uids {
		byUID[uid] = upscaled[i]
	}
	out := make([]Entry, 0, len(uids))
	for w, word := range seen[:(int(rules.N)+63)/64] {
		for word != 0 {
			uid := uint16(w*64 + bits.TrailingZeros64(word))
			out = append(out, Entry{UID: uid, Weight: byUID[uid]})
			word &= word - 1
		}
	}
	return out, nil
}

// uidSet is a bitset over all u16 uids.
type uidSet [65536 / 64]uint64

// addAll adds uids to s in order and returns a *DuplicateUIDError for the
// first one already present, or nil.
func (s *uidSet) addAll(uids []uint16) error {
	for _, uid := range uids {
		w, bit := uid/64, uint64(1)<<(uid%64)
		if s[w]&bit != 0 {
			n := 0
			for _, u := range uids {
				if u == uid {
					n++
				}
			}
			return &DuplicateUIDError{UID: uid, Count: n}
		}
		s[w] |= bit
	}
	return nil
}
