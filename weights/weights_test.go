package weights

import (
	"errors"
	"slices"
	"testing"
)

func TestPrepareRejects(t *testing.T) {
	open := Rules{N: 256, MinAllowedWeights: 0, MaxWeightLimit: 65535}
	tests := []struct {
		name     string
		req      Request
		rules    Rules
		sentinel error
		target   any // pointer to the expected error type, for errors.As
		msg      string
	}{
		{
			name:     "length mismatch",
			req:      Request{UIDs: []uint16{1, 2, 3}, Values: []uint16{1, 2, 3, 4}},
			rules:    open,
			sentinel: ErrLengthMismatch, target: new(*LengthMismatchError),
			msg: "weights: 3 uids but 4 values",
		},
		{
			// tests/weights.rs test_weights_err_weights_vec_not_equal_size
			name:     "length mismatch subtensor",
			req:      Request{UIDs: []uint16{1, 2, 3, 4, 5, 6}, Values: []uint16{1, 2, 3, 4, 5}},
			rules:    open,
			sentinel: ErrLengthMismatch, target: new(*LengthMismatchError),
			msg: "weights: 6 uids but 5 values",
		},
		{
			name:     "length mismatch singular",
			req:      Request{UIDs: []uint16{1}, Values: nil},
			rules:    open,
			sentinel: ErrLengthMismatch, target: new(*LengthMismatchError),
			msg: "weights: 1 uid but 0 values",
		},
		{
			// test_set_weight_too_many_uids: 5 uids on a 2-neuron subnet fail
			// here, before the duplicate and range checks.
			name:     "too many uids",
			req:      Request{UID: 0, UIDs: []uint16{0, 1, 2, 3, 4}, Values: []uint16{88, 102, 303, 1212, 11}},
			rules:    Rules{N: 2, MinAllowedWeights: 2, MaxWeightLimit: 65535},
			sentinel: ErrTooManyUIDs, target: new(*TooManyUIDsError),
			msg: "weights: 5 uids but the subnet has 2 uids",
		},
		{
			name:     "too many uids beats duplicates",
			req:      Request{UIDs: []uint16{7, 7, 7}, Values: []uint16{1, 1, 1}},
			rules:    Rules{N: 1, MaxWeightLimit: 65535},
			sentinel: ErrTooManyUIDs, target: new(*TooManyUIDsError),
			msg: "weights: 3 uids but the subnet has 1 uid",
		},
		{
			name:     "duplicate",
			req:      Request{UIDs: []uint16{3, 7, 9, 7}, Values: []uint16{1, 2, 3, 4}},
			rules:    open,
			sentinel: ErrDuplicateUID, target: new(*DuplicateUIDError),
			msg: "weights: uid 7 appears twice",
		},
		{
			// test_weights_err_has_duplicate_ids
			name:     "duplicate three times",
			req:      Request{UIDs: []uint16{1, 1, 1}, Values: []uint16{1, 2, 3}},
			rules:    Rules{N: 4, MaxWeightLimit: 65535},
			sentinel: ErrDuplicateUID, target: new(*DuplicateUIDError),
			msg: "weights: uid 1 appears 3 times",
		},
		{
			name:     "duplicate beats out of range",
			req:      Request{UIDs: []uint16{300, 5, 5}, Values: []uint16{1, 2, 3}},
			rules:    open,
			sentinel: ErrDuplicateUID, target: new(*DuplicateUIDError),
			msg: "weights: uid 5 appears twice",
		},
		{
			name:     "first repeat in request order",
			req:      Request{UIDs: []uint16{9, 2, 2, 9}, Values: []uint16{1, 2, 3, 4}},
			rules:    open,
			sentinel: ErrDuplicateUID, target: new(*DuplicateUIDError),
			msg: "weights: uid 2 appears twice",
		},
		{
			name:     "out of range",
			req:      Request{UIDs: []uint16{4, 300, 500}, Values: []uint16{1, 2, 3}},
			rules:    open,
			sentinel: ErrUIDOutOfRange, target: new(*UIDOutOfRangeError),
			msg: "weights: uid 300 out of range: subnet has 256 uids",
		},
		{
			// test_set_weights_err_invalid_uid
			name:     "out of range subtensor",
			req:      Request{UIDs: []uint16{9999}, Values: []uint16{88}},
			rules:    Rules{N: 1, MaxWeightLimit: 65535},
			sentinel: ErrUIDOutOfRange, target: new(*UIDOutOfRangeError),
			msg: "weights: uid 9999 out of range: subnet has 1 uid",
		},
		{
			name:     "uid equal to n",
			req:      Request{UIDs: []uint16{256}, Values: []uint16{1}},
			rules:    open,
			sentinel: ErrUIDOutOfRange, target: new(*UIDOutOfRangeError),
			msg: "weights: uid 256 out of range: subnet has 256 uids",
		},
		{
			name:     "self weight must still be in range",
			req:      Request{UID: 9, UIDs: []uint16{9}, Values: []uint16{1}},
			rules:    Rules{N: 4, MinAllowedWeights: 4, MaxWeightLimit: 65535},
			sentinel: ErrUIDOutOfRange, target: new(*UIDOutOfRangeError),
			msg: "weights: uid 9 out of range: subnet has 4 uids",
		},
		{
			name:     "too few",
			req:      Request{UID: 0, UIDs: []uint16{1, 2}, Values: []uint16{1, 1}},
			rules:    Rules{N: 256, MinAllowedWeights: 8, MaxWeightLimit: 65535},
			sentinel: ErrTooFewWeights, target: new(*TooFewWeightsError),
			msg: "weights: 2 weights set but the subnet requires at least 8",
		},
		{
			// test_set_weight_not_enough_values: one weight that is not the
			// caller's own.
			name:     "single non-self weight",
			req:      Request{UID: 0, UIDs: []uint16{1}, Values: []uint16{88}},
			rules:    Rules{N: 2, MinAllowedWeights: 2, MaxWeightLimit: 65535},
			sentinel: ErrTooFewWeights, target: new(*TooFewWeightsError),
			msg: "weights: 1 weight set but the subnet requires at least 2",
		},
		{
			// test_check_length_to_few_weights: n = 7, min 3, 2 weights.
			name:     "too few subtensor",
			req:      Request{UID: 1, UIDs: []uint16{1, 2}, Values: []uint16{1, 2}},
			rules:    Rules{N: 7, MinAllowedWeights: 3, MaxWeightLimit: 65535},
			sentinel: ErrTooFewWeights, target: new(*TooFewWeightsError),
			msg: "weights: 2 weights set but the subnet requires at least 3",
		},
		{
			name:     "min capped by n",
			req:      Request{UID: 0, UIDs: []uint16{0, 1}, Values: []uint16{1, 1}},
			rules:    Rules{N: 3, MinAllowedWeights: 1024, MaxWeightLimit: 65535},
			sentinel: ErrTooFewWeights, target: new(*TooFewWeightsError),
			msg: "weights: 2 weights set but the subnet requires at least 3",
		},
		{
			name:     "empty with a minimum",
			req:      Request{UID: 0},
			rules:    Rules{N: 3, MinAllowedWeights: 1, MaxWeightLimit: 65535},
			sentinel: ErrTooFewWeights, target: new(*TooFewWeightsError),
			msg: "weights: 0 weights set but the subnet requires at least 1",
		},
		{
			name:     "max weight",
			req:      Request{UID: 0, UIDs: []uint16{1, 2}, Values: []uint16{65535, 41550}},
			rules:    Rules{N: 256, MaxWeightLimit: 32768},
			sentinel: ErrMaxWeightExceeded, target: new(*MaxWeightExceededError),
			msg: "weights: largest weight is 61.2% of the total but the subnet allows at most 50.0%",
		},
		{
			// Judged after max-upscaling: [2, 1] is stored as [65535, 32768].
			name:     "max weight after upscale",
			req:      Request{UID: 0, UIDs: []uint16{5, 6}, Values: []uint16{2, 1}},
			rules:    Rules{N: 256, MaxWeightLimit: 32768},
			sentinel: ErrMaxWeightExceeded, target: new(*MaxWeightExceededError),
			msg: "weights: largest weight is 66.7% of the total but the subnet allows at most 50.0%",
		},
		{
			// check_vec_max_limited: [0, MAX, MAX] fails at MAX/2.
			name:     "max weight needs three decimals",
			req:      Request{UID: 0, UIDs: []uint16{0, 1, 2}, Values: []uint16{0, 65535, 65535}},
			rules:    Rules{N: 3, MaxWeightLimit: 32767},
			sentinel: ErrMaxWeightExceeded, target: new(*MaxWeightExceededError),
			msg: "weights: largest weight is 50.000% of the total but the subnet allows at most 49.999%",
		},
		{
			// Share and limit agree to three decimals (both 50.00076…%),
			// but the share is one I32F32 ulp above the limit.
			name:     "max weight by one ulp",
			req:      Request{UID: 0, UIDs: []uint16{0, 1}, Values: []uint16{65535, 65533}},
			rules:    Rules{N: 2, MaxWeightLimit: 32768},
			sentinel: ErrMaxWeightExceeded, target: new(*MaxWeightExceededError),
			msg: "weights: largest weight is 50.001% of the total but the subnet allows at most 50.000%",
		},
		{
			name:     "max weight limit zero",
			req:      Request{UID: 0, UIDs: []uint16{0, 1}, Values: []uint16{1, 1}},
			rules:    Rules{N: 2, MaxWeightLimit: 0},
			sentinel: ErrMaxWeightExceeded, target: new(*MaxWeightExceededError),
			msg: "weights: largest weight is 50.0% of the total but the subnet allows at most 0.0%",
		},
		{
			// A single weight on someone else is 100%.
			name:     "single weight over a limit",
			req:      Request{UID: 0, UIDs: []uint16{1}, Values: []uint16{7}},
			rules:    Rules{N: 2, MinAllowedWeights: 1, MaxWeightLimit: 65534},
			sentinel: ErrMaxWeightExceeded, target: new(*MaxWeightExceededError),
			msg: "weights: largest weight is 100.000% of the total but the subnet allows at most 99.998%",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Prepare(tt.req, tt.rules)
			if err == nil {
				t.Fatalf("Prepare accepted it: %v", got)
			}
			if got != nil {
				t.Errorf("Prepare returned entries with an error: %v", got)
			}
			if err.Error() != tt.msg {
				t.Errorf("message:\n got %q\nwant %q", err.Error(), tt.msg)
			}
			if !errors.Is(err, tt.sentinel) {
				t.Errorf("errors.Is(%v, %v) is false", err, tt.sentinel)
			}
			if !errors.As(err, tt.target) {
				t.Errorf("errors.As(%v, %T) is false", err, tt.target)
			}
			for _, other := range []error{ErrLengthMismatch, ErrTooManyUIDs, ErrDuplicateUID, ErrUIDOutOfRange, ErrTooFewWeights, ErrMaxWeightExceeded} {
				if other != tt.sentinel && errors.Is(err, other) {
					t.Errorf("error also matches %v", other)
				}
			}
		})
	}
}

func TestPrepareAccepts(t *testing.T) {
	tests := []struct {
		name  string
		req   Request
		rules Rules
		want  []Entry
	}{
		{
			name:  "sorted by uid, upscaled",
			req:   Request{UID: 0, UIDs: []uint16{9, 2, 5}, Values: []uint16{100, 50, 25}},
			rules: Rules{N: 10, MinAllowedWeights: 3, MaxWeightLimit: 65535},
			want:  []Entry{{2, 32768}, {5, 16384}, {9, 65535}},
		},
		{
			name:  "zeros are stored",
			req:   Request{UID: 0, UIDs: []uint16{3, 1, 2}, Values: []uint16{0, 10, 0}},
			rules: Rules{N: 4, MinAllowedWeights: 3, MaxWeightLimit: 65535},
			want:  []Entry{{1, 65535}, {2, 0}, {3, 0}},
		},
		{
			name:  "all zero",
			req:   Request{UID: 0, UIDs: []uint16{0, 1}, Values: []uint16{0, 0}},
			rules: Rules{N: 2, MinAllowedWeights: 2, MaxWeightLimit: 0},
			want:  []Entry{{0, 0}, {1, 0}},
		},
		{
			// test_outdated_weights: validators' [2/3, 1/3] on the servers.
			name:  "outdated weights row",
			req:   Request{UID: 0, UIDs: []uint16{2, 3}, Values: []uint16{43690, 21845}},
			rules: Rules{N: 4, MinAllowedWeights: 1, MaxWeightLimit: 65535},
			want:  []Entry{{2, 65535}, {3, 32768}},
		},
		{
			// test_set_weights_sum_larger_than_u16_max
			name:  "sum above 65535",
			req:   Request{UID: 0, UIDs: []uint16{0, 1}, Values: []uint16{65535, 65535}},
			rules: Rules{N: 2, MinAllowedWeights: 2, MaxWeightLimit: 65535},
			want:  []Entry{{0, 65535}, {1, 65535}},
		},
		{
			// test_set_weight_not_enough_values: the self-weight passes the
			// minimum of 2.
			name:  "self weight exempt from minimum",
			req:   Request{UID: 0, UIDs: []uint16{0}, Values: []uint16{88}},
			rules: Rules{N: 2, MinAllowedWeights: 2, MaxWeightLimit: 65535},
			want:  []Entry{{0, 65535}},
		},
		{
			// test_max_weight_limited_allow_self_weights_to_exceed_max_weight_limit,
			// with a value of 0 as there.
			name:  "self weight exempt from max limit",
			req:   Request{UID: 1, UIDs: []uint16{1}, Values: []uint16{0}},
			rules: Rules{N: 2, MinAllowedWeights: 2, MaxWeightLimit: 100},
			want:  []Entry{{1, 0}},
		},
		{
			name:  "self weight exempt from max limit, non-zero",
			req:   Request{UID: 1, UIDs: []uint16{1}, Values: []uint16{5}},
			rules: Rules{N: 2, MinAllowedWeights: 2, MaxWeightLimit: 0},
			want:  []Entry{{1, 65535}},
		},
		{
			// test_check_length_weights_length_exceeds_min_allowed
			name:  "exactly the minimum",
			req:   Request{UID: 1, UIDs: []uint16{1, 2, 3}, Values: []uint16{1, 2, 3}},
			rules: Rules{N: 4, MinAllowedWeights: 3, MaxWeightLimit: 65535},
			want:  []Entry{{1, 21845}, {2, 43690}, {3, 65535}},
		},
		{
			name:  "minimum capped by n",
			req:   Request{UID: 0, UIDs: []uint16{0, 1, 2}, Values: []uint16{1, 1, 1}},
			rules: Rules{N: 3, MinAllowedWeights: 1024, MaxWeightLimit: 65535},
			want:  []Entry{{0, 65535}, {1, 65535}, {2, 65535}},
		},
		{
			name:  "empty, no minimum",
			req:   Request{UID: 0},
			rules: Rules{N: 3, MinAllowedWeights: 0, MaxWeightLimit: 0},
			want:  []Entry{},
		},
		{
			name:  "empty subnet",
			req:   Request{},
			rules: Rules{N: 0, MinAllowedWeights: 1024, MaxWeightLimit: 65535},
			want:  []Entry{},
		},
		{
			// check_vec_max_limited: [0, MAX, MAX] passes at MAX/2 + 1.
			name:  "max limit just met",
			req:   Request{UID: 0, UIDs: []uint16{0, 1, 2}, Values: []uint16{0, 65535, 65535}},
			rules: Rules{N: 3, MaxWeightLimit: 32768},
			want:  []Entry{{0, 0}, {1, 65535}, {2, 65535}},
		},
		{
			// check_vec_max_limited: [0, MAX, MAX, MAX] passes at MAX/3.
			name:  "max limit a third",
			req:   Request{UID: 0, UIDs: []uint16{3, 2, 1, 0}, Values: []uint16{9, 9, 9, 0}},
			rules: Rules{N: 4, MaxWeightLimit: 21845},
			want:  []Entry{{0, 0}, {1, 65535}, {2, 65535}, {3, 65535}},
		},
		{
			// [65535, 65534] is just under 50.00076% (see the one-ulp case).
			name:  "max limit by one ulp",
			req:   Request{UID: 0, UIDs: []uint16{0, 1}, Values: []uint16{65535, 65534}},
			rules: Rules{N: 2, MaxWeightLimit: 32768},
			want:  []Entry{{0, 65535}, {1, 65534}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uids, values := slices.Clone(tt.req.UIDs), slices.Clone(tt.req.Values)
			got, err := Prepare(tt.req, tt.rules)
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Prepare = %v, want %v", got, tt.want)
			}
			if !slices.Equal(uids, tt.req.UIDs) || !slices.Equal(values, tt.req.Values) {
				t.Errorf("Prepare modified its request")
			}
			again, err := Prepare(requestOf(tt.req.UID, got), tt.rules)
			if err != nil || !slices.Equal(again, got) {
				t.Errorf("Prepare of its own output = %v, %v; want %v", again, err, got)
			}
		})
	}
}

// requestOf turns stored entries back into a request from uid.
func requestOf(uid uint16, entries []Entry) Request {
	req := Request{UID: uid, UIDs: make([]uint16, len(entries)), Values: make([]uint16, len(entries))}
	for i, e := range entries {
		req.UIDs[i], req.Values[i] = e.UID, e.Weight
	}
	return req
}

func TestIsSelfWeight(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		want bool
	}{
		// tests/weights.rs test_is_self_weight_*
		{"three weights", Request{UID: 1, UIDs: []uint16{1, 2, 3}, Values: []uint16{1, 2, 3}}, false},
		{"other uid", Request{UID: 2, UIDs: []uint16{1}, Values: []uint16{0}}, false},
		{"own uid", Request{UID: 1, UIDs: []uint16{1}, Values: []uint16{0}}, true},
		{"empty", Request{UID: 0}, false},
		{"no uids", Request{UID: 0, Values: []uint16{1}}, false},
	}
	for _, tt := range tests {
		if got := tt.req.IsSelfWeight(); got != tt.want {
			t.Errorf("%s: IsSelfWeight() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestPercentPair(t *testing.T) {
	tests := []struct {
		a, b, c, d       uint64
		share, limitText string
	}{
		{612, 1000, 500, 1000, "61.2%", "50.0%"},
		{1, 3, 1, 4, "33.3%", "25.0%"},
		{1, 1, 0, 1, "100.0%", "0.0%"},
		{1, 2, 4999, 10000, "50.00%", "49.99%"},
		{1, 2, 49999, 100000, "50.000%", "49.999%"},
		// Equal to three decimals: share rounded up, limit down.
		{500001, 1000000, 5000001, 10000000, "50.001%", "50.000%"},
		{1, 2000, 0, 1, "0.1%", "0.0%"},
	}
	for _, tt := range tests {
		s, l := percentPair(tt.a, tt.b, tt.c, tt.d)
		if s != tt.share || l != tt.limitText {
			t.Errorf("percentPair(%d/%d, %d/%d) = %s, %s; want %s, %s", tt.a, tt.b, tt.c, tt.d, s, l, tt.share, tt.limitText)
		}
	}
}
