package yumasim

import (
	"fmt"
	"math/bits"
	"slices"

	"github.com/seed0ffb8d46/agora/consensus"
)

// EpochResult is one epoch of a run: what the epoch read (the inputs
// summary) and what it computed. Treat it as read-only: weight rows are
// shared between results (and with the Scenario) where they did not change,
// and each epoch's Output.Bonds are what the next epoch read.
type EpochResult struct {
	// Epoch is the epoch's index, from 0.
	Epoch int `json:"epoch"`
	// Block is the block the epoch ran at.
	Block uint64 `json:"block"`
	// LastEpochBlock is the previous epoch's block, 0 for epoch 0.
	LastEpochBlock uint64 `json:"last_epoch_block"`
	// Params are the hyperparameters in force.
	Params consensus.Params `json:"params"`
	// Stake is each uid's stake in base units.
	Stake []uint64 `json:"stake"`
	// Permits are the validator permits the epoch read (granted by the
	// previous epoch, or Scenario.Permits for epoch 0).
	Permits []bool `json:"permits"`
	// LastUpdate is each uid's last weights block.
	LastUpdate []uint64 `json:"last_update"`
	// Weights are the stored (max-upscaled) weight rows the epoch read.
	Weights [][]consensus.Entry `json:"weights"`
	// Copying marks the uids whose weights this epoch were copied.
	Copying []bool `json:"copying"`
	// Output is the epoch's result, bonds included; with several
	// mechanisms, their aggregate (see Run), and LastUpdate, Weights and
	// Copying are mechanism 0's.
	Output *consensus.Output `json:"output"`
	// Mechanisms are each mechanism's results, when there are several.
	Mechanisms []MechanismResult `json:"mechanisms,omitempty"`
}

// MechanismResult is one mechanism's part of an epoch, on a scenario with
// several: its share of the emission, the weights it read and its output.
type MechanismResult struct {
	Mechanism  int                 `json:"mechanism"`
	Emission   uint64              `json:"emission"`
	LastUpdate []uint64            `json:"last_update"`
	Weights    [][]consensus.Entry `json:"weights"`
	Copying    []bool              `json:"copying"`
	Output     *consensus.Output   `json:"output"`
}

// copier is a uid copying a lagged consensus vector.
type copier struct {
	uid uint16
	lag int
}

// mechRun is what the runner carries between epochs for one mechanism.
type mechRun struct {
	rows       [][]consensus.Entry
	lastUpdate []uint64
	refreshing []bool
	copiers    []copier
	bonds      [][]consensus.Entry
	changes    []Change
	next       int                 // the first change not applied yet
	outs       []*consensus.Output // by epoch, for copiers
}

func newMechRun(n int, rows [][]consensus.Entry, changes []Change) *mechRun {
	m := &mechRun{rows: slices.Clone(rows), lastUpdate: make([]uint64, n), refreshing: make([]bool, n), changes: changes}
	for i := range m.refreshing {
		m.refreshing[i] = true
	}
	return m
}

// apply carries out c's weights, copy, stop and resume at block.
func (m *mechRun) apply(c *Change, block uint64) {
	for _, u := range sortedKeys(c.Weights) {
		m.rows[u] = c.Weights[u]
		m.lastUpdate[u] = block
		m.copiers = stopCopying(m.copiers, u)
	}
	if c.Copy != nil {
		m.copiers = append(stopCopying(m.copiers, c.Copy.UID), copier{c.Copy.UID, c.Copy.Lag})
	}
	for _, u := range c.Stop {
		m.refreshing[u] = false
		m.copiers = stopCopying(m.copiers, u)
	}
	for _, u := range c.Resume {
		m.refreshing[u] = true
	}
}

// prepare makes epoch e's copies and refreshes at block and returns which
// uids copied.
func (m *mechRun) prepare(e int, block uint64) []bool {
	copying := make([]bool, len(m.rows))
	for _, c := range m.copiers {
		if src := e - c.lag; src >= 0 {
			m.rows[c.uid] = copyConsensus(m.outs[src].Consensus)
			m.lastUpdate[c.uid] = block
			copying[c.uid] = true
		}
	}
	for u, r := range m.refreshing {
		if r {
			m.lastUpdate[u] = block
		}
	}
	return copying
}

// Run simulates s.Epochs epochs and returns one result per epoch. It is a
// pure function of s (no I/O, no clock, integer arithmetic only) and does
// not modify s.
//
// Between epochs the runner carries what the chain stores: the validator
// permits and bonds the epoch returns, stake, weights and last updates.
// Before epoch e, at block B(e) (StartBlock for e = 0, then B(e−1) plus the
// tempo in force at e), it applies e's changes in file order, then:
//   - every copying uid sets the consensus of epoch e−lag as its weights
//     (if that epoch exists), with last update B(e);
//   - every uid that has not stopped re-sets its weights unchanged, so its
//     last update becomes B(e) and it never goes inactive;
//   - the epoch runs with LastEpochBlock = B(e−1) (0 for e = 0).
//
// With several mechanisms the epoch runs once per mechanism, each on its
// own weights, bonds and last updates and its share of the emission, as
// on chain (mechanismShares); the result's Output is then their aggregate
// (aggregate) and Mechanisms holds each one's.
//
// Run fails only for a scenario that does not pass Validate, or when a
// change makes an epoch's input invalid (total stake above 2^63−1).
func Run(s *Scenario) ([]EpochResult, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	n := s.N
	params := s.Params
	stake := slices.Clone(s.Stake)
	permits := slices.Clone(s.Permits)
	mechs := []*mechRun{newMechRun(n, s.Weights, nil)}
	for _, m := range s.Mechanisms {
		mechs = append(mechs, newMechRun(n, m.Weights, m.Changes))
	}
	shares := mechanismShares(s.Emission, len(mechs), s.MechanismSplit)
	results := make([]EpochResult, 0, s.Epochs)
	next := 0
	var block, prevBlock uint64
	for e := range s.Epochs {
		for ; next < len(s.Changes) && s.Changes[next].Epoch == e; next++ {
			c := &s.Changes[next]
			params = c.Params.Apply(params)
			if e == 0 {
				block = s.StartBlock
			} else {
				block = prevBlock + params.Tempo
			}
			for _, u := range sortedKeys(c.Stake) {
				stake[u] = c.Stake[u]
			}
			mechs[0].apply(c, block)
		}
		if e == 0 {
			block = s.StartBlock
		} else {
			block = prevBlock + params.Tempo
		}
		for _, m := range mechs[1:] {
			for ; m.next < len(m.changes) && m.changes[m.next].Epoch == e; m.next++ {
				m.apply(&m.changes[m.next], block)
			}
		}
		var lastEpochBlock uint64
		if e > 0 {
			lastEpochBlock = prevBlock
		}
		r := EpochResult{Epoch: e, Block: block, LastEpochBlock: lastEpochBlock, Params: params,
			Stake: slices.Clone(stake), Permits: slices.Clone(permits)}
		outs := make([]*consensus.Output, len(mechs))
		for k, m := range mechs {
			copying := m.prepare(e, block)
			in := consensus.Input{
				N:                   n,
				Block:               block,
				LastEpochBlock:      lastEpochBlock,
				Emission:            shares[k],
				OwnerUID:            s.OwnerUID,
				Stake:               r.Stake,
				Permits:             r.Permits,
				LastUpdate:          slices.Clone(m.lastUpdate),
				BlockAtRegistration: s.Registration,
				Weights:             slices.Clone(m.rows),
				Bonds:               m.bonds,
				Params:              params,
			}
			out, err := consensus.Epoch(&in)
			if err != nil {
				return nil, fmt.Errorf("yumasim: epoch %d: %w", e, err)
			}
			outs[k] = out
			m.outs = append(m.outs, out)
			m.bonds = out.Bonds
			if k == 0 {
				r.LastUpdate, r.Weights, r.Copying, r.Output = in.LastUpdate, in.Weights, copying, out
			}
			if len(mechs) > 1 {
				r.Mechanisms = append(r.Mechanisms, MechanismResult{Mechanism: k, Emission: shares[k],
					LastUpdate: in.LastUpdate, Weights: in.Weights, Copying: copying, Output: out})
			}
		}
		if len(mechs) > 1 {
			r.Output = aggregate(outs, evenSplit(len(mechs), s.MechanismSplit))
		}
		results = append(results, r)
		permits = outs[0].ValidatorPermits
		prevBlock = block
	}
	return results, nil
}

// mechanismShares splits an epoch's emission among count mechanisms as
// the chain does: r·split[m]/65535 in 128 bits, or r/count each with no
// split, the remainder to mechanism 0.
func mechanismShares(r uint64, count int, split []uint16) []uint64 {
	out := make([]uint64, count)
	var sum uint64
	for m := range out {
		if len(split) == count {
			hi, lo := bits.Mul64(r, uint64(split[m]))
			out[m], _ = bits.Div64(hi, lo, 65535)
		} else {
			out[m] = r / uint64(count)
		}
		sum += out[m]
	}
	out[0] += r - sum
	return out
}

// evenSplit is the split in force: split, or 65535/count each with the
// remainder to mechanism 0.
func evenSplit(count int, split []uint16) []uint16 {
	if len(split) == count {
		return split
	}
	out := make([]uint16, count)
	for m := range out {
		out[m] = uint16(65535 / count)
	}
	out[0] += uint16(65535 % count)
	return out
}

// aggregate combines the mechanisms' outputs per uid as the chain stores
// them: emissions summed; consensus, incentive, dividends and validator
// trust floor(Σ split_m·x_m / 65535); stake weights, activity, permits and
// bonds are mechanism 0's (the first three are the same on every
// mechanism; each mechanism's bonds are in its own result).
func aggregate(outs []*consensus.Output, split []uint16) *consensus.Output {
	o := outs[0]
	agg := &consensus.Output{StakeWeight: o.StakeWeight, Active: o.Active, ValidatorPermits: o.ValidatorPermits, Bonds: o.Bonds}
	n := len(o.Emission)
	weighted := func(f func(*consensus.Output) []uint16) []uint16 {
		v := make([]uint16, n)
		for i := range v {
			var sum uint64
			for m, out := range outs {
				sum += uint64(split[m]) * uint64(f(out)[i])
			}
			v[i] = uint16(sum / 65535)
		}
		return v
	}
	summed := func(f func(*consensus.Output) []uint64) []uint64 {
		v := make([]uint64, n)
		for _, out := range outs {
			for i, x := range f(out) {
				v[i] += x
			}
		}
		return v
	}
	agg.Consensus = weighted(func(o *consensus.Output) []uint16 { return o.Consensus })
	agg.Incentive = weighted(func(o *consensus.Output) []uint16 { return o.Incentive })
	agg.Dividends = weighted(func(o *consensus.Output) []uint16 { return o.Dividends })
	agg.ValidatorTrust = weighted(func(o *consensus.Output) []uint16 { return o.ValidatorTrust })
	agg.ServerEmission = summed(func(o *consensus.Output) []uint64 { return o.ServerEmission })
	agg.ValidatorEmission = summed(func(o *consensus.Output) []uint64 { return o.ValidatorEmission })
	agg.Emission = summed(func(o *consensus.Output) []uint64 { return o.Emission })
	return agg
}

func stopCopying(cs []copier, uid uint16) []copier {
	return slices.DeleteFunc(cs, func(c copier) bool { return c.uid == uid })
}

// copyConsensus is the row a weight copier stores: the consensus vector
// (u16 proportions) max-upscaled as set_weights stores it, keeping the
// non-zero entries.
func copyConsensus(cons []uint16) []consensus.Entry {
	var row []consensus.Entry
	for u, v := range cons {
		if v != 0 {
			row = append(row, consensus.Entry{UID: uint16(u), Value: v})
		}
	}
	row = upscaleRow(row)
	return slices.DeleteFunc(row, func(e consensus.Entry) bool { return e.Value == 0 })
}
