package validator

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"slices"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/weights"
)

// weightVector turns combined scores (by uid, in [0, 1]) into the vector a
// validator sets: the uids with a positive score, with values in
// proportion, no share above maxLimit (a u16 proportion, as the subnet's
// max_weight_limit; 65535 is no limit), the largest value 65535. It
// returns nil when nothing scores: a validator never sets an all-zero
// vector.
func weightVector(scores []float64, maxLimit uint16) (uids, values []uint16) {
	// Weights that round to 0 against the best are dropped before the
	// clipping, which would hand them the clipped share: a uid that
	// answered once and refuses since must not be padded up to the limit.
	top := 0.0
	for _, s := range scores {
		if s > top {
			top = s
		}
	}
	var w []float64
	for uid, s := range scores {
		if s > 0 && s/top >= 0.5/math.MaxUint16 && uid <= math.MaxUint16 {
			uids = append(uids, uint16(uid))
			w = append(w, s)
		}
	}
	if len(uids) == 0 {
		return nil, nil
	}
	if maxLimit < math.MaxUint16 {
		clipShares(w, float64(maxLimit)/math.MaxUint16*0.999)
	}
	top = slices.Max(w)
	values = make([]uint16, len(w))
	for i, v := range w {
		values[i] = uint16(math.Round(v / top * math.MaxUint16))
	}
	// Drop the uids that rounding took to zero.
	k := 0
	for i := range uids {
		if values[i] > 0 {
			uids[k], values[k] = uids[i], values[i]
			k++
		}
	}
	return uids[:k], values[:k]
}

// clipShares lowers the largest weights until none is more than limit of
// the total, moving their excess share onto the rest in proportion (as
// Bittensor's normalize_max_weight). When even equal shares exceed limit,
// the weights become equal.
func clipShares(w []float64, limit float64) {
	if float64(len(w))*limit <= 1 {
		for i := range w {
			w[i] = 1
		}
		return
	}
	for range len(w) {
		var sum float64
		for _, v := range w {
			sum += v
		}
		var over int
		var rest float64
		for _, v := range w {
			if v/sum > limit {
				over++
			} else {
				rest += v
			}
		}
		if over == 0 {
			return
		}
		// Each clipped weight x must satisfy x = limit·(over·x + rest).
		x := limit * rest / (1 - float64(over)*limit)
		for i, v := range w {
			if v/sum > limit {
				w[i] = x
			}
		}
	}
}

// checkVector runs the chain's own checks on a vector before it is sent.
func checkVector(uid uint16, uids, values []uint16, sn chain.SubnetView) error {
	_, err := weights.Prepare(weights.Request{UID: uid, UIDs: uids, Values: values},
		weights.Rules{N: sn.N, MinAllowedWeights: sn.Params.MinAllowedWeights, MaxWeightLimit: sn.Params.MaxWeightLimit})
	return err
}

// newCommit makes a commit of the vector for mechanism mech with a random
// salt.
func newCommit(hotkey []byte, netuid uint16, mech uint8, epoch uint64, uids, values []uint16, version uint64) (*pendingCommit, error) {
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("validator: salt: %w", err)
	}
	salt := make([]uint16, 8)
	for i := range salt {
		salt[i] = binary.BigEndian.Uint16(raw[2*i:])
	}
	h := weights.CommitHashMechanism(hotkey, netuid, mech, uids, values, salt, version)
	return &pendingCommit{Epoch: epoch, UIDs: uids, Values: values, Salt: salt, VersionKey: version, Hash: hex.EncodeToString(h[:]), Mechanism: mech}, nil
}
