package yumasim

import (
	"fmt"
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
	// Output is the epoch's result, bonds included.
	Output *consensus.Output `json:"output"`
}

// copier is a uid copying a lagged consensus vector.
type copier struct {
	uid uint16
	lag int
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
// Run fails only for a scenario that does not pass Validate, or when a
// change makes an epoch's input invalid (total stake above 2^63−1).
func Run(s *Scenario) ([]EpochResult, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	n := s.N
	params := s.Params
	stake := slices.Clone(s.Stake)
	rows := slices.Clone(s.Weights)
	permits := slices.Clone(s.Permits)
	lastUpdate := make([]uint64, n)
	refreshing := make([]bool, n)
	for i := range refreshing {
		refreshing[i] = true
	}
	var copiers []copier
	var bonds [][]consensus.Entry
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
			for _, u := range sortedKeys(c.Weights) {
				rows[u] = c.Weights[u]
				lastUpdate[u] = block
				copiers = stopCopying(copiers, u)
			}
			if c.Copy != nil {
				copiers = append(stopCopying(copiers, c.Copy.UID), copier{c.Copy.UID, c.Copy.Lag})
			}
			for _, u := range c.Stop {
				refreshing[u] = false
				copiers = stopCopying(copiers, u)
			}
			for _, u := range c.Resume {
				refreshing[u] = true
			}
		}
		if e == 0 {
			block = s.StartBlock
		} else {
			block = prevBlock + params.Tempo
		}
		copying := make([]bool, n)
		for _, c := range copiers {
			if src := e - c.lag; src >= 0 {
				rows[c.uid] = copyConsensus(results[src].Output.Consensus)
				lastUpdate[c.uid] = block
				copying[c.uid] = true
			}
		}
		for u, r := range refreshing {
			if r {
				lastUpdate[u] = block
			}
		}
		var lastEpochBlock uint64
		if e > 0 {
			lastEpochBlock = prevBlock
		}
		in := consensus.Input{
			N:                   n,
			Block:               block,
			LastEpochBlock:      lastEpochBlock,
			Emission:            s.Emission,
			OwnerUID:            s.OwnerUID,
			Stake:               slices.Clone(stake),
			Permits:             slices.Clone(permits),
			LastUpdate:          slices.Clone(lastUpdate),
			BlockAtRegistration: s.Registration,
			Weights:             slices.Clone(rows),
			Bonds:               bonds,
			Params:              params,
		}
		out, err := consensus.Epoch(&in)
		if err != nil {
			return nil, fmt.Errorf("yumasim: epoch %d: %w", e, err)
		}
		results = append(results, EpochResult{
			Epoch:          e,
			Block:          block,
			LastEpochBlock: lastEpochBlock,
			Params:         params,
			Stake:          in.Stake,
			Permits:        in.Permits,
			LastUpdate:     in.LastUpdate,
			Weights:        in.Weights,
			Copying:        copying,
			Output:         out,
		})
		permits = out.ValidatorPermits
		bonds = out.Bonds
		prevBlock = block
	}
	return results, nil
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
