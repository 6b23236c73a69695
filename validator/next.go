package validator

import (
	"time"

	"github.com/seed0ffb8d46/agora/chain"
)

// The weights decision, apart from its acting (raft's decide-then-act):
// Next looks at what the chain and the validator's state say and returns
// what to do; weights and reveal gather its inputs and carry the Action out
// (transactions, saving the state, logs, metrics). Next reads no clock and
// talks to no chain, so each of its cases is a row of a table test.

// Act is what the validator does about weights.
type Act string

// The acts.
const (
	// ActWait sends nothing now (Action.Why says why).
	ActWait Act = "wait"
	// ActSet sets the vector (a subnet without commit-reveal).
	ActSet Act = "set"
	// ActCommit commits the vector's hash, to be revealed later.
	ActCommit Act = "commit"
	// ActReveal reveals the pending commit: its reveal epoch has come.
	ActReveal Act = "reveal"
	// ActDrop forgets the pending commit: the chain will never take its
	// reveal (Action.Why says why), and weights are due afresh.
	ActDrop Act = "drop"
)

// Why is why Next chose to wait or to drop.
type Why string

// The reasons to wait.
const (
	// WhyRateLimited: weights were set or committed fewer blocks ago than
	// the interval (and the subnet's rate limit).
	WhyRateLimited Why = "rate_limited"
	// WhyNoScores: no miner has scored yet; an all-zero vector is never
	// set.
	WhyNoScores Why = "no_scores"
	// WhyInvalid: the vector breaks the subnet's rules (Action.Err).
	WhyInvalid Why = "invalid"
	// WhyEarly: the commit is on chain, its reveal epoch still to come.
	WhyEarly Why = "before_reveal_epoch"
	// WhyInFlight: the commit is not on chain, but was sent (or the
	// validator restarted with it) within commitGrace: it may still be in
	// the mempool.
	WhyInFlight Why = "in_flight"
)

// The reasons to drop a pending commit.
const (
	// WhyExpired: its reveal epoch passed before it was revealed, whether
	// the chain still lists it or pruned it after this validator saw it.
	WhyExpired Why = "expired"
	// WhyRevealed: it was on chain and left it within its reveal epoch: a
	// reveal of ours landed though its answer was lost.
	WhyRevealed Why = "revealed"
	// WhyMissing: never seen on chain, and now past any epoch it could be
	// revealed in: it never reached a block, or it expired unrevealed
	// before this validator saw it.
	WhyMissing Why = "missing"
	// WhyLost: never seen on chain, and the grace is over: it never reached
	// a block (its transaction was lost, as at a shutdown before it was
	// included).
	WhyLost Why = "lost"
)

// commitGrace is how long a commit that is not on chain is waited for
// after it was sent (or, after a restart, after the restart): it may be in
// the mempool still.
const commitGrace = time.Minute

// WeightsView is what the weights decision looks at besides a pending
// commit and the chain's record of it.
type WeightsView struct {
	// Height is the metagraph's block height.
	Height int64
	// Subnet holds the rules: rate limit, commit-reveal, max weight limit,
	// min allowed weights, size.
	Subnet chain.SubnetView
	// SelfUID is the validator's uid.
	SelfUID uint16
	// LastUpdate is the chain's last_update of SelfUID: a reveal updates
	// it, and the rate limit runs from it. 0 if unknown.
	LastUpdate uint64
	// LastWeights is the height at which this validator last set or
	// committed weights, by its own state.
	LastWeights int64
	// Interval is the blocks wanted between weights (Config's
	// WeightsInterval); the subnet's rate limit is the least.
	Interval int64
	// Scores are the combined scores, by uid.
	Scores []float64
	// PendingSince is when the pending commit was sent, or when the
	// validator started with it in its state (when it was sent is then
	// unknown, and may have been just before the restart).
	PendingSince time.Time
}

// Action is what Next decided.
type Action struct {
	Act Act
	// Why says why, for ActWait and ActDrop.
	Why Why
	// UIDs and Values are the vector to set or commit.
	UIDs, Values []uint16
	// Err is how the vector breaks the subnet's rules (WhyInvalid).
	Err error
	// For a pending commit: OnChain is whether the chain lists it, and
	// RevealEpoch the epoch it is to be revealed in, as the chain says
	// when OnChain, else as this validator last saw it (0: never seen).
	// The shell remembers an OnChain RevealEpoch in the pending commit: it
	// tells a commit that expired from one that never reached a block.
	OnChain     bool
	RevealEpoch uint64
	// Epoch is the chain's current epoch, for a pending commit.
	Epoch uint64
}

// Next decides what to do about weights at now: with a pending commit,
// reveal it in its reveal epoch (as the chain recorded it: a commit sent at
// the end of an epoch can land in the next) or drop it once the chain will
// never take its reveal, saying why; without one, set or commit the scores'
// vector once the interval since the last weights has passed. commits is
// the chain's record of this validator's commits, read only with a pending
// commit.
func Next(view WeightsView, pending *pendingCommit, commits chain.CommitsView, now time.Time) Action {
	if pending != nil {
		return nextPending(pending, commits, now.Sub(view.PendingSince))
	}
	// The chain's own record counts too: a reveal updates it, and the
	// rate limit runs from it.
	last := max(view.LastWeights, int64(view.LastUpdate))
	interval := max(view.Interval, int64(view.Subnet.Params.WeightsRateLimit))
	if last > 0 && view.Height-last < interval {
		return Action{Act: ActWait, Why: WhyRateLimited}
	}
	uids, values := weightVector(view.Scores, view.Subnet.Params.MaxWeightLimit)
	if uids == nil {
		return Action{Act: ActWait, Why: WhyNoScores}
	}
	if err := checkVector(view.SelfUID, uids, values, view.Subnet); err != nil {
		return Action{Act: ActWait, Why: WhyInvalid, Err: err}
	}
	if !view.Subnet.Params.CommitReveal {
		return Action{Act: ActSet, UIDs: uids, Values: values}
	}
	return Action{Act: ActCommit, UIDs: uids, Values: values}
}

// nextPending decides about the pending commit p, sent age ago, from the
// chain's record of commits.
func nextPending(p *pendingCommit, commits chain.CommitsView, age time.Duration) Action {
	due, found := uint64(0), false
	for _, c := range commits.Commits {
		if c.Hash == p.Hash {
			due, found = c.RevealEpoch, true
		}
	}
	seen := p.RevealEpoch // when the validator saw it on chain before; 0 if never
	a := Action{OnChain: found, RevealEpoch: seen, Epoch: commits.Epoch}
	if found {
		a.RevealEpoch = due
	}
	epoch := commits.Epoch
	switch {
	case found && epoch < due:
		a.Act, a.Why = ActWait, WhyEarly
	case found && epoch > due:
		a.Act, a.Why = ActDrop, WhyExpired
	case !found && seen != 0 && epoch > seen:
		// It was on chain, and the chain dropped it after its reveal epoch.
		a.Act, a.Why = ActDrop, WhyExpired
	case !found && seen != 0:
		// It was on chain and left it within its reveal epoch: a reveal
		// of ours landed though its answer was lost.
		a.Act, a.Why = ActDrop, WhyRevealed
	case !found && age < commitGrace:
		a.Act, a.Why = ActWait, WhyInFlight // the commit may not be in a block yet
	case !found && epoch > p.Epoch+1+commits.RevealPeriod:
		// Never seen, and now past any epoch it could be revealed in (the
		// commit may land in the epoch after the one it was made in).
		a.Act, a.Why = ActDrop, WhyMissing
	case !found:
		a.Act, a.Why = ActDrop, WhyLost
	default:
		a.Act = ActReveal
	}
	return a
}
