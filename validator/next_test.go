package validator

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/weights"
)

// TestNextPending: every case of a pending commit, against the chain's
// record of this validator's commits. The commit was made in epoch 11;
// the subnet's reveal period is 1 epoch, so the chain takes its reveal in
// epoch 12, or 13 if the commit landed in epoch 12.
func TestNextPending(t *testing.T) {
	const hash = "ab01"
	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	fresh := now.Add(-10 * time.Second)        // sent within commitGrace
	old := now.Add(-commitGrace - time.Second) // sent before it
	at := func(epoch uint64, commits ...chain.CommitView) chain.CommitsView {
		return chain.CommitsView{Epoch: epoch, RevealPeriod: 1, Commits: append([]chain.CommitView{}, commits...)}
	}
	ours := func(reveal uint64) chain.CommitView {
		return chain.CommitView{Hash: hash, Epoch: reveal - 1, RevealEpoch: reveal}
	}
	other := chain.CommitView{Hash: "cd02", Epoch: 11, RevealEpoch: 12}
	for _, c := range []struct {
		name    string
		seen    uint64 // RevealEpoch in the pending commit: 0 if never seen on chain
		since   time.Time
		commits chain.CommitsView
		want    Action
	}{
		// On chain.
		{"on chain, before its reveal epoch", 0, old, at(11, ours(12)),
			Action{Act: ActWait, Why: WhyEarly, OnChain: true, RevealEpoch: 12, Epoch: 11}},
		{"on chain, before its reveal epoch, just sent", 0, fresh, at(11, ours(12)),
			Action{Act: ActWait, Why: WhyEarly, OnChain: true, RevealEpoch: 12, Epoch: 11}},
		{"on chain, in its reveal epoch", 12, old, at(12, ours(12)),
			Action{Act: ActReveal, OnChain: true, RevealEpoch: 12, Epoch: 12}},
		{"on chain, in its reveal epoch, among others", 12, old, at(12, other, ours(12)),
			Action{Act: ActReveal, OnChain: true, RevealEpoch: 12, Epoch: 12}},
		// A commit sent at the end of epoch 11 that landed in 12: its
		// reveal epoch is the chain's, 13, not 12.
		{"landed an epoch late, in the epoch it was expected", 0, old, at(12, ours(13)),
			Action{Act: ActWait, Why: WhyEarly, OnChain: true, RevealEpoch: 13, Epoch: 12}},
		{"landed an epoch late, in its reveal epoch", 13, old, at(13, ours(13)),
			Action{Act: ActReveal, OnChain: true, RevealEpoch: 13, Epoch: 13}},
		{"on chain, past its reveal epoch", 12, old, at(13, ours(12)),
			Action{Act: ActDrop, Why: WhyExpired, OnChain: true, RevealEpoch: 12, Epoch: 13}},
		{"on chain, past its reveal epoch, never seen before", 0, fresh, at(13, ours(12)),
			Action{Act: ActDrop, Why: WhyExpired, OnChain: true, RevealEpoch: 12, Epoch: 13}},

		// Seen on chain before, gone now.
		{"seen, pruned after its reveal epoch", 12, old, at(13),
			Action{Act: ActDrop, Why: WhyExpired, RevealEpoch: 12, Epoch: 13}},
		{"seen, pruned long after its reveal epoch", 12, fresh, at(20, other),
			Action{Act: ActDrop, Why: WhyExpired, RevealEpoch: 12, Epoch: 20}},
		{"seen, gone within its reveal epoch: revealed", 12, old, at(12),
			Action{Act: ActDrop, Why: WhyRevealed, RevealEpoch: 12, Epoch: 12}},
		{"seen, gone before its reveal epoch: revealed", 12, fresh, at(11, other),
			Action{Act: ActDrop, Why: WhyRevealed, RevealEpoch: 12, Epoch: 11}},

		// Never seen on chain.
		{"never seen, just sent", 0, fresh, at(11),
			Action{Act: ActWait, Why: WhyInFlight, Epoch: 11}},
		{"never seen, just restarted, its epochs long past", 0, fresh, at(20),
			Action{Act: ActWait, Why: WhyInFlight, Epoch: 20}},
		{"never seen, grace over: lost", 0, old, at(11, other),
			Action{Act: ActDrop, Why: WhyLost, Epoch: 11}},
		{"never seen, grace over, at the last epoch it could be revealed in: lost", 0, old, at(13),
			Action{Act: ActDrop, Why: WhyLost, Epoch: 13}},
		{"never seen, grace over, past any epoch it could be revealed in: missing", 0, old, at(14),
			Action{Act: ActDrop, Why: WhyMissing, Epoch: 14}},
		{"never seen, when it was sent unknown", 0, time.Time{}, at(11),
			Action{Act: ActDrop, Why: WhyLost, Epoch: 11}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &pendingCommit{Epoch: 11, UIDs: []uint16{1}, Values: []uint16{65535}, Salt: []uint16{1}, Hash: hash, RevealEpoch: c.seen}
			// What the view says besides is for weights without a pending
			// commit: here it is due, and it must not count.
			view := WeightsView{Height: 1000, Subnet: subnet(false), Scores: []float64{0, 1}, PendingSince: c.since}
			got := Next(view, p, c.commits, now)
			if !sameAction(got, c.want) {
				t.Errorf("Next = %+v\nwant   %+v", got, c.want)
			}
			if p.RevealEpoch != c.seen {
				t.Errorf("Next changed the pending commit's reveal epoch to %d", p.RevealEpoch)
			}
		})
	}
}

// subnet is a subnet of 4 uids with a rate limit of 100 blocks.
func subnet(commitReveal bool) chain.SubnetView {
	return chain.SubnetView{Netuid: 1, N: 4, Params: chain.Hyperparams{WeightsRateLimit: 100, MaxWeightLimit: 65535, MinAllowedWeights: 1, CommitReveal: commitReveal, RevealPeriodEpochs: 1}}
}

// TestNextWeights: without a pending commit, weights are set (or
// committed, with commit-reveal) once the interval since the last ones has
// passed, by the validator's record or the chain's, and never as a vector
// that scores nobody or breaks the subnet's rules.
func TestNextWeights(t *testing.T) {
	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	scores := []float64{0, 0.5, 1, 0.25} // uid 0 is the validator
	uids, values := []uint16{1, 2, 3}, []uint16{32768, 65535, 16384}
	tooFew := subnet(false)
	tooFew.Params.MinAllowedWeights = 4
	for _, c := range []struct {
		name string
		view WeightsView
		want Action
	}{
		{"never set", WeightsView{Height: 5, Subnet: subnet(false), Scores: scores},
			Action{Act: ActSet, UIDs: uids, Values: values}},
		{"never set, commit-reveal", WeightsView{Height: 5, Subnet: subnet(true), Scores: scores},
			Action{Act: ActCommit, UIDs: uids, Values: values}},
		{"set by this validator within the rate limit", WeightsView{Height: 1099, Subnet: subnet(false), LastWeights: 1000, Scores: scores},
			Action{Act: ActWait, Why: WhyRateLimited}},
		{"set by this validator, the rate limit passed", WeightsView{Height: 1100, Subnet: subnet(false), LastWeights: 1000, Scores: scores},
			Action{Act: ActSet, UIDs: uids, Values: values}},
		// A reveal updates the chain's last_update, not the state's.
		{"the chain's record within the rate limit", WeightsView{Height: 1099, Subnet: subnet(true), LastUpdate: 1000, LastWeights: 900, Scores: scores},
			Action{Act: ActWait, Why: WhyRateLimited}},
		{"the chain's record, the rate limit passed", WeightsView{Height: 1100, Subnet: subnet(true), LastUpdate: 1000, LastWeights: 900, Scores: scores},
			Action{Act: ActCommit, UIDs: uids, Values: values}},
		{"the validator's interval above the rate limit", WeightsView{Height: 1150, Subnet: subnet(false), LastWeights: 1000, Interval: 200, Scores: scores},
			Action{Act: ActWait, Why: WhyRateLimited}},
		{"the validator's interval passed", WeightsView{Height: 1200, Subnet: subnet(false), LastWeights: 1000, Interval: 200, Scores: scores},
			Action{Act: ActSet, UIDs: uids, Values: values}},
		{"the validator's interval below the rate limit", WeightsView{Height: 1050, Subnet: subnet(false), LastWeights: 1000, Interval: 10, Scores: scores},
			Action{Act: ActWait, Why: WhyRateLimited}},
		{"nobody scored", WeightsView{Height: 5, Subnet: subnet(false), Scores: []float64{0, 0, 0, 0}},
			Action{Act: ActWait, Why: WhyNoScores}},
		{"no scores yet", WeightsView{Height: 5, Subnet: subnet(true)},
			Action{Act: ActWait, Why: WhyNoScores}},
		{"rate limited before anything else", WeightsView{Height: 1001, Subnet: subnet(false), LastWeights: 1000},
			Action{Act: ActWait, Why: WhyRateLimited}},
		{"fewer uids than the subnet's minimum", WeightsView{Height: 5, Subnet: tooFew, Scores: scores},
			Action{Act: ActWait, Why: WhyInvalid, Err: weights.ErrTooFewWeights}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Next(c.view, nil, chain.CommitsView{Epoch: 99}, now)
			if !sameAction(got, c.want) {
				t.Errorf("Next = %+v\nwant   %+v", got, c.want)
			}
		})
	}
}

// sameAction compares actions, errors by errors.Is.
func sameAction(got, want Action) bool {
	if (got.Err == nil) != (want.Err == nil) || (want.Err != nil && !errors.Is(got.Err, want.Err)) {
		return false
	}
	return got.Act == want.Act && got.Why == want.Why && slices.Equal(got.UIDs, want.UIDs) && slices.Equal(got.Values, want.Values) &&
		got.OnChain == want.OnChain && got.RevealEpoch == want.RevealEpoch && got.Epoch == want.Epoch
}
