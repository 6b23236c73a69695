package validator

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/seed0ffb8d46/agora/scoring"
)

// noModel is a TokenModel that is never asked: Report needs none.
type noModel struct{}

func (noModel) TopK(context.Context, string, []int, int) ([]scoring.TopK, scoring.TopK, error) {
	panic("not asked")
}
func (noModel) Text(context.Context, string, []int) (string, error) { panic("not asked") }
func (noModel) StopTokens() []int                                   { return []int{2} }

// The report says when a uid's score is 0 because it failed a hard check
// this epoch, even when its latest answers passed, and not once the epoch
// has turned.
func TestReportSaysFailedEpoch(t *testing.T) {
	v, err := New(Config{Key: testKey(t, 2), Netuid: 1, Metagraph: noChain{}, Chain: noChain{}, StatePath: filepath.Join(t.TempDir(), "s.json"), Seed: 1, Stat: noModel{}, VerifyModel: "m"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	sc := v.st.Scores
	sc.Realign([]string{"aa", "bb"})
	sc.SetWindow(3)
	for uid := range 2 {
		if err := sc.Update(KindInference, uid, 0.9); err != nil {
			t.Fatal(err)
		}
	}
	if err := sc.Fail(1); err != nil {
		t.Fatal(err)
	}
	_ = sc.Update(KindInference, 1, 0.9) // an answer that passes after the failure
	byUID := func() map[uint16]bool {
		out := map[uint16]bool{}
		for _, u := range v.Report().Scores {
			out[u.UID] = u.FailedEpoch
			if u.FailedEpoch && u.Score != 0 {
				t.Errorf("uid %d failed this epoch but scores %v", u.UID, u.Score)
			}
		}
		return out
	}
	if f := byUID(); f[0] || !f[1] {
		t.Errorf("failed_epoch by uid %v, want only uid 1", f)
	}
	sc.SetWindow(4)
	if f := byUID(); f[0] || f[1] {
		t.Errorf("failed_epoch by uid %v in the next epoch, want none", f)
	}
}
