package chain

import (
	"bytes"
	"encoding/hex"
	"errors"
	"slices"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/seed0ffb8d46/agora/consensus"
	"github.com/seed0ffb8d46/agora/weights"
)

// Weights transactions. A subnet's epoch index is Subnet.Epochs: the
// number of epochs it has run. Epoch k is the blocks after its k-th epoch
// run (after its creation for k = 0) up to and including the block of its
// (k+1)-th run; since the epoch runs after the block's transactions, a
// transaction in an epoch block belongs to the epoch that block ends.
//
// With commit-reveal on, a commit made in epoch k is revealed in epoch
// k + reveal_period_epochs exactly; after that epoch it has expired.

// registeredNeuron returns the subnet and the signer's uid and neuron on it.
func (s *State) registeredNeuron(hotkey AccountID, netuid uint16) (Subnet, uint16, *Neuron, *TxError) {
	sn, ok := s.subnets[netuid]
	if !ok {
		return Subnet{}, 0, nil, reject(CodeUnknownSubnet, "no subnet %d", netuid)
	}
	uid, ok := s.UID(netuid, hotkey)
	if !ok {
		return Subnet{}, 0, nil, reject(CodeNotRegistered, "hotkey %s is not registered on subnet %d", hotkey, netuid)
	}
	return sn, uid, s.neurons[neuronKey{netuid, uid}], nil
}

// checkMechanism rejects a weights transaction for a mechanism the subnet
// does not have.
func checkMechanism(netuid uint16, sn Subnet, m uint8) *TxError {
	if m >= MaxMechanisms {
		return reject(CodeUnknownMechanism, "mechanism %d is out of range: a subnet has at most %d mechanisms, 0 to %d", m, MaxMechanisms, MaxMechanisms-1)
	}
	if c := sn.Params.MechanismCount; m >= c {
		return reject(CodeUnknownMechanism, "subnet %d has no mechanism %d: its mechanism_count is %d (mechanisms 0 to %d)", netuid, m, c, c-1)
	}
	return nil
}

// mechanismNeuron is registeredNeuron for a weights transaction on
// mechanism m, which the subnet must have.
func (s *State) mechanismNeuron(hotkey AccountID, netuid uint16, m uint8) (Subnet, uint16, *Neuron, *TxError) {
	sn, uid, n, err := s.registeredNeuron(hotkey, netuid)
	if err == nil {
		err = checkMechanism(netuid, sn, m)
	}
	return sn, uid, n, err
}

// checkRateLimit applies the subnet's weights rate limit on mechanism m: a
// neuron may set or commit weights there when block − its last update
// there >= weights_rate_limit, and its first time since registering
// always.
func checkRateLimit(netuid uint16, m uint8, sn Subnet, n *Neuron, blk Block) *TxError {
	limit := sn.Params.WeightsRateLimit
	st := n.Mechanism(m)
	if st.WeightsSet && blk.Height-st.LastUpdate < limit {
		where := ""
		if m != 0 {
			where = sprintf(" on mechanism %d", m)
		}
		return reject(CodeRateLimited, "weights last updated%s at block %d; subnet %d allows one update every %d blocks, the next at block %d",
			where, st.LastUpdate, netuid, limit, st.LastUpdate+limit)
	}
	return nil
}

// mechanismAttr is the event attribute naming a weights transaction's
// mechanism; mechanism 0's events carry none, as before mechanisms.
func mechanismAttr(attrs []abci.EventAttribute, m uint8) []abci.EventAttribute {
	if m == 0 {
		return attrs
	}
	return append(attrs, abci.EventAttribute{Key: "mechanism", Value: u64s(uint64(m))})
}

func (s *State) setWeightsTx(hotkey AccountID, b *SetWeights, blk Block) ([]abci.EventAttribute, *TxError) {
	sn, uid, n, err := s.mechanismNeuron(hotkey, b.Netuid, b.Mechanism)
	if err != nil {
		return nil, err
	}
	if sn.Params.CommitReveal {
		return nil, reject(CodeCommitRevealOn, "subnet %d uses commit-reveal: commit the weights' hash with commit_weights, then reveal them with reveal_weights", b.Netuid)
	}
	if err := checkRateLimit(b.Netuid, b.Mechanism, sn, n, blk); err != nil {
		return nil, err
	}
	attrs, err := s.applyWeights(b.Netuid, b.Mechanism, uid, sn, n, b.UIDs, b.Values, b.VersionKey, blk)
	return mechanismAttr(attrs, b.Mechanism), err
}

// applyWeights runs set_weights' checks other than the rate limit and
// stores the row on mechanism m: the version key, the stake threshold, the
// validator permit (unless a self-weight), then weights.Prepare.
func (s *State) applyWeights(netuid uint16, m uint8, uid uint16, sn Subnet, n *Neuron, uids, values []uint16, version uint64, blk Block) ([]abci.EventAttribute, *TxError) {
	p := sn.Params
	if version < p.WeightsVersion {
		return nil, reject(CodeOutdatedVersion, "version key %d is below subnet %d's weights_version %d: upgrade the validator", version, netuid, p.WeightsVersion)
	}
	if stake := s.hotkeys[n.Hotkey].Stake; stake < p.StakeThreshold {
		return nil, reject(CodeInsufficientStake, "hotkey stake %s is below subnet %d's stake_threshold %s for setting weights", inAGR(stake), netuid, inAGR(p.StakeThreshold))
	}
	req := weights.Request{UID: uid, UIDs: uids, Values: values}
	if !n.Permit && !req.IsSelfWeight() {
		return nil, reject(CodeNoPermit, "uid %d has no validator permit on subnet %d: it may only set a self-weight", uid, netuid)
	}
	rows, perr := weights.Prepare(req, weights.Rules{N: sn.N, MinAllowedWeights: p.MinAllowedWeights, MaxWeightLimit: p.MaxWeightLimit})
	if perr != nil {
		var msg = perr.Error()
		if errors.Is(perr, weights.ErrTooFewWeights) && sn.N < p.MinAllowedWeights {
			msg += " (min_allowed_weights capped by the subnet size)"
		}
		return nil, reject(CodeBadWeights, "%s", msg)
	}
	row := make([]consensus.Entry, len(rows))
	for i, e := range rows {
		row[i] = consensus.Entry{UID: e.UID, Value: e.Weight}
	}
	nn := *n
	st := nn.Mechanism(m)
	st.Weights, st.LastUpdate, st.WeightsSet = row, blk.Height, true
	nn.setMechanism(m, st)
	s.setNeuron(netuid, uid, &nn)
	return []abci.EventAttribute{
		{Key: "netuid", Value: u64s(uint64(netuid)), Index: true},
		{Key: "uid", Value: u64s(uint64(uid))},
		{Key: "weights", Value: u64s(uint64(len(row)))},
	}, nil
}

// unexpired keeps the commits still revealable in epoch cur or later.
func unexpired(cs []Commit, cur, period uint64) []Commit {
	var out []Commit
	for _, c := range cs {
		if c.Epoch+period >= cur {
			out = append(out, c)
		}
	}
	return out
}

func (s *State) commitWeights(hotkey AccountID, b *CommitWeights, blk Block) ([]abci.EventAttribute, *TxError) {
	sn, uid, n, err := s.mechanismNeuron(hotkey, b.Netuid, b.Mechanism)
	if err != nil {
		return nil, err
	}
	if !sn.Params.CommitReveal {
		return nil, reject(CodeCommitRevealOff, "subnet %d does not use commit-reveal: set weights with set_weights", b.Netuid)
	}
	if err := checkRateLimit(b.Netuid, b.Mechanism, sn, n, blk); err != nil {
		return nil, err
	}
	cur, period := sn.Epochs, sn.Params.RevealPeriodEpochs
	mk := mechKey{b.Netuid, b.Mechanism}
	cs := unexpired(s.commits[mk][hotkey], cur, period)
	if len(cs) >= MaxPendingCommits {
		return nil, reject(CodeTooManyCommits, "hotkey %s has %d unrevealed commits on subnet %d, the most allowed: reveal or let them expire", hotkey, len(cs), b.Netuid)
	}
	cs = append(cs, Commit{Hash: b.Hash, Epoch: cur, Block: blk.Height})
	s.setCommits(mk, hotkey, cs)
	nn := *n
	st := nn.Mechanism(b.Mechanism)
	st.LastUpdate, st.WeightsSet = blk.Height, true
	nn.setMechanism(b.Mechanism, st)
	s.setNeuron(b.Netuid, uid, &nn)
	return mechanismAttr([]abci.EventAttribute{
		{Key: "netuid", Value: u64s(uint64(b.Netuid)), Index: true},
		{Key: "uid", Value: u64s(uint64(uid))},
		{Key: "hash", Value: hex.EncodeToString(b.Hash[:])},
		{Key: "epoch", Value: u64s(cur)},
		{Key: "reveal_epoch", Value: u64s(cur + period)},
	}, b.Mechanism), nil
}

func (s *State) revealWeights(hotkey AccountID, b *RevealWeights, blk Block) ([]abci.EventAttribute, *TxError) {
	sn, uid, n, err := s.mechanismNeuron(hotkey, b.Netuid, b.Mechanism)
	if err != nil {
		return nil, err
	}
	if !sn.Params.CommitReveal {
		return nil, reject(CodeCommitRevealOff, "subnet %d does not use commit-reveal: set weights with set_weights", b.Netuid)
	}
	hash := weights.CommitHashMechanism(hotkey[:], b.Netuid, b.Mechanism, b.UIDs, b.Values, b.Salt, b.VersionKey)
	cur, period := sn.Epochs, sn.Params.RevealPeriodEpochs
	mk := mechKey{b.Netuid, b.Mechanism}
	cs := s.commits[mk][hotkey]
	found, first := -1, -1
	for i, c := range cs {
		if !bytes.Equal(c.Hash[:], hash[:]) {
			continue
		}
		if first < 0 {
			first = i
		}
		if c.Epoch+period == cur {
			found = i
			break
		}
	}
	switch {
	case found >= 0:
	case first < 0:
		where := ""
		if b.Mechanism != 0 {
			where = sprintf(" mechanism %d", b.Mechanism)
		}
		return nil, reject(CodeNoMatchingCommit, "no pending commit of hotkey %s on subnet %d%s matches these uids, values, salt and version key", hotkey, b.Netuid, where)
	case cs[first].Epoch+period > cur:
		return nil, reject(CodeRevealTooEarly, "too early: reveal in epoch %d (the commit is from epoch %d); subnet %d is in epoch %d, which ends at block %d",
			cs[first].Epoch+period, cs[first].Epoch, b.Netuid, cur, sn.LastEpoch+sn.Params.Tempo)
	default:
		return nil, reject(CodeRevealExpired, "expired: the commit of epoch %d could be revealed only in epoch %d; subnet %d is in epoch %d",
			cs[first].Epoch, cs[first].Epoch+period, b.Netuid, cur)
	}
	attrs, err := s.applyWeights(b.Netuid, b.Mechanism, uid, sn, n, b.UIDs, b.Values, b.VersionKey, blk)
	if err != nil {
		return nil, err
	}
	s.setCommits(mk, hotkey, slices.Clone(cs[found+1:]))
	return mechanismAttr(append(attrs, abci.EventAttribute{Key: "hash", Value: hex.EncodeToString(hash[:])}), b.Mechanism), nil
}

// MaxEmissionPerBlock bounds set_emission's per-block amount (10^6 AGR).
const MaxEmissionPerBlock = 1_000_000 * Unit

func (s *State) setEmission(signer AccountID, b *SetEmission) ([]abci.EventAttribute, *TxError) {
	g := s.global
	if g.Governance == (AccountID{}) || signer != g.Governance {
		return nil, reject(CodeNotGovernance, "only the governance key may set the emission; %s is not it", signer)
	}
	if b.PerBlock > MaxEmissionPerBlock {
		return nil, reject(CodeBadParams, "emission per block %d exceeds %d", b.PerBlock, uint64(MaxEmissionPerBlock))
	}
	seen := map[uint16]bool{}
	for _, sh := range b.Shares {
		if seen[sh.Netuid] {
			return nil, reject(CodeBadParams, "subnet %d's share is given twice", sh.Netuid)
		}
		seen[sh.Netuid] = true
		sn, ok := s.subnets[sh.Netuid]
		if !ok {
			return nil, reject(CodeUnknownSubnet, "no subnet %d", sh.Netuid)
		}
		sn.Share = sh.Share
		s.setSubnet(sh.Netuid, sn)
	}
	g.EmissionPerBlock = b.PerBlock
	s.setGlobal(g)
	return []abci.EventAttribute{
		{Key: "per_block", Value: u64s(b.PerBlock)},
		{Key: "shares", Value: u64s(uint64(len(b.Shares)))},
	}, nil
}
