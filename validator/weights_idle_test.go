package validator

import (
	"slices"
	"testing"

	"github.com/seed0ffb8d46/agora/scoring"
)

// TestIdleUIDsTakeNoClippedShare: with a max_weight_limit, the share
// clipped off the best miners is not handed to uids whose scores have
// decayed to nothing (found by the red team: six idle uids took 60%).
func TestIdleUIDsTakeNoClippedShare(t *testing.T) {
	w := scoring.DefaultPolicy().Weights([]float64{0, .85, .84, 1e-6, 1e-6, 1e-6, 1e-6, 1e-6, 1e-6})
	uids, values := weightVector(w, 13107) // a limit of 0.2
	if !slices.Equal(uids, []uint16{1, 2}) {
		t.Fatalf("weights on uids %v (%v), want the two working miners only", uids, values)
	}
}
