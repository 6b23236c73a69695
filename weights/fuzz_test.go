package weights

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// u16sFrom reads big-endian uint16s from b, ignoring an odd last byte.
func u16sFrom(b []byte) []uint16 {
	out := make([]uint16, len(b)/2)
	for i := range out {
		out[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return out
}

var sentinels = []error{ErrLengthMismatch, ErrTooManyUIDs, ErrDuplicateUID, ErrUIDOutOfRange, ErrTooFewWeights, ErrMaxWeightExceeded}

// FuzzPrepare checks that Prepare never panics, that every rejection wraps
// exactly one sentinel, and that an accepted vector is sorted, complete,
// max-upscaled (largest 65535 when any input is non-zero) and accepted again,
// unchanged, when fed back in. Seeds are in testdata/fuzz/FuzzPrepare.
func FuzzPrepare(f *testing.F) {
	f.Fuzz(func(t *testing.T, uidBytes, valueBytes []byte, self, n, minAllowed, maxLimit uint16) {
		req := Request{UID: self, UIDs: u16sFrom(uidBytes), Values: u16sFrom(valueBytes)}
		rules := Rules{N: n, MinAllowedWeights: minAllowed, MaxWeightLimit: maxLimit}
		got, err := Prepare(req, rules)
		if err != nil {
			if got != nil {
				t.Fatalf("entries %v returned with error %v", got, err)
			}
			if !strings.HasPrefix(err.Error(), "weights: ") {
				t.Fatalf("message %q lacks the package prefix", err.Error())
			}
			matched := 0
			for _, s := range sentinels {
				if errors.Is(err, s) {
					matched++
				}
			}
			if matched != 1 {
				t.Fatalf("%v matches %d sentinels", err, matched)
			}
			return
		}
		if len(got) != len(req.UIDs) {
			t.Fatalf("%d entries for %d uids", len(got), len(req.UIDs))
		}
		upscaled := MaxUpscale(req.Values)
		want := make(map[uint16]uint16, len(req.UIDs))
		anyNonZero := false
		for i, uid := range req.UIDs {
			want[uid] = upscaled[i]
			anyNonZero = anyNonZero || req.Values[i] != 0
		}
		var largest uint16
		for i, e := range got {
			if i > 0 && got[i-1].UID >= e.UID {
				t.Fatalf("entries not strictly sorted by uid: %v", got)
			}
			if e.UID >= n {
				t.Fatalf("uid %d accepted on a subnet of %d", e.UID, n)
			}
			if w, ok := want[e.UID]; !ok || w != e.Weight {
				t.Fatalf("entry %v, want weight %d (present %v)", e, w, ok)
			}
			largest = max(largest, e.Weight)
		}
		if anyNonZero && largest != 65535 {
			t.Fatalf("largest stored weight %d, want 65535", largest)
		}
		if !anyNonZero && largest != 0 {
			t.Fatalf("all-zero input stored a weight of %d", largest)
		}
		again, err := Prepare(requestOf(self, got), rules)
		if err != nil {
			t.Fatalf("accepted output rejected when fed back: %v", err)
		}
		if !slices.Equal(again, got) {
			t.Fatalf("second Prepare = %v, first %v", again, got)
		}
	})
}
