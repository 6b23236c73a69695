package chain

import (
	"math"
	"math/bits"
	"net/netip"
	"strconv"

	abci "github.com/cometbft/cometbft/abci/types"
)

// Block is what a state transition may know of the block it is in: its
// height and its time (from the header, never the clock).
type Block struct {
	Height uint64
	Time   int64 // unix nanoseconds
}

// apply runs one transaction against s: checks the chain id and nonce,
// burns the fee, bumps the nonce and carries out the body. It is all or
// nothing: on any failure s is as it was. It returns the events to emit.
func (s *State) apply(tx *Tx, blk Block) ([]abci.Event, *TxError) {
	m := s.mark()
	events, err := s.applyTx(tx, blk)
	if err != nil {
		s.revert(m)
		return nil, err
	}
	return events, nil
}

func (s *State) applyTx(tx *Tx, blk Block) ([]abci.Event, *TxError) {
	if err := s.checkChain(tx); err != nil {
		return nil, err
	}
	if tx.ValidUntil != 0 && blk.Height > tx.ValidUntil {
		return nil, reject(CodeExpired, "transaction was valid until block %d; this is block %d", tx.ValidUntil, blk.Height)
	}
	g := s.global
	acct := s.accounts[tx.Signer]
	if tx.Nonce != acct.Nonce {
		return nil, reject(CodeBadNonce, "nonce %d, want %d for %s", tx.Nonce, acct.Nonce, tx.Signer)
	}
	fee := g.Fees.Of(tx.Kind)
	if acct.Balance < fee {
		return nil, reject(CodeInsufficientBalance, "balance %s cannot pay the %s fee of %s", inAGR(acct.Balance), tx.Kind, inAGR(fee))
	}
	acct.Balance -= fee
	acct.Nonce++
	s.setAccount(tx.Signer, acct)
	s.burn(fee)

	var attrs []abci.EventAttribute
	var extra []abci.Event // events after the transaction's own
	var err *TxError
	switch b := tx.Body.(type) {
	case *Transfer:
		attrs, err = s.transfer(tx.Signer, b)
	case *CreateSubnet:
		attrs, err = s.createSubnet(tx.Signer, b, blk)
	case *SetHyperparams:
		attrs, err = s.setHyperparams(tx.Signer, b, blk)
	case *Register:
		attrs, err = s.register(tx.Signer, b, blk)
	case *ServeAxon:
		attrs, err = s.serveAxon(tx.Signer, b, blk)
	case *AddStake:
		attrs, err = s.addStake(tx.Signer, b, blk)
	case *RemoveStake:
		attrs, err = s.removeStake(tx.Signer, b)
	case *SetWeights:
		attrs, err = s.setWeightsTx(tx.Signer, b, blk)
	case *CommitWeights:
		attrs, err = s.commitWeights(tx.Signer, b, blk)
	case *RevealWeights:
		attrs, err = s.revealWeights(tx.Signer, b, blk)
	case *SetEmission:
		attrs, err = s.setEmission(tx.Signer, b)
	case *CommitDatasetRoot:
		attrs, extra, err = s.commitDatasetRoot(tx.Signer, b, blk)
	default:
		err = reject(CodeUnknownKind, "unknown transaction kind %s", tx.Kind)
	}
	if err != nil {
		return nil, err
	}
	if s.quiet {
		return nil, nil
	}
	ev := abci.Event{Type: tx.Kind.String(), Attributes: append([]abci.EventAttribute{
		{Key: "signer", Value: tx.Signer.String(), Index: true},
		{Key: "fee", Value: u64s(fee)},
	}, attrs...)}
	return append([]abci.Event{ev}, extra...), nil
}

// checkChain rejects a transaction signed for another chain.
func (s *State) checkChain(tx *Tx) *TxError {
	if tx.ChainID != s.global.ChainID {
		return reject(CodeWrongChain, "transaction is for chain %q, this is %q", tx.ChainID, s.global.ChainID)
	}
	return nil
}

// burn removes amount from the supply.
func (s *State) burn(amount uint64) {
	if amount == 0 {
		return
	}
	g := s.global
	g.Burned += amount
	g.TotalSupply -= amount
	s.setGlobal(g)
}

// debit takes amount from id's balance, or says why it cannot.
func (s *State) debit(id AccountID, amount uint64, what string) *TxError {
	a := s.accounts[id]
	if a.Balance < amount {
		return reject(CodeInsufficientBalance, "balance %s is less than the %s needed to %s", inAGR(a.Balance), inAGR(amount), what)
	}
	a.Balance -= amount
	s.setAccount(id, a)
	return nil
}

// credit adds amount to id's balance. Balances cannot overflow: every
// balance is part of the total supply, a uint64.
func (s *State) credit(id AccountID, amount uint64) {
	a := s.accounts[id]
	a.Balance += amount
	s.setAccount(id, a)
}

func (s *State) transfer(from AccountID, b *Transfer) ([]abci.EventAttribute, *TxError) {
	if b.Amount == 0 {
		return nil, reject(CodeBadAmount, "transfer of 0")
	}
	if err := s.debit(from, b.Amount, "transfer"); err != nil {
		return nil, err
	}
	s.credit(b.To, b.Amount)
	if s.quiet {
		return nil, nil
	}
	return []abci.EventAttribute{
		{Key: "recipient", Value: b.To.String(), Index: true},
		{Key: "amount", Value: u64s(b.Amount)},
	}, nil
}

func (s *State) createSubnet(owner AccountID, b *CreateSubnet, blk Block) ([]abci.EventAttribute, *TxError) {
	if err := b.Params.Validate(); err != nil {
		return nil, reject(CodeBadParams, "hyperparameters: %v", err)
	}
	g := s.global
	if len(s.subnets) >= MaxSubnets || g.NextNetuid == 0 {
		return nil, reject(CodeSubnetLimit, "the chain already has %d subnets, the most it allows", len(s.subnets))
	}
	netuid := g.NextNetuid
	g.NextNetuid++
	s.setGlobal(g)
	s.setSubnet(netuid, Subnet{Owner: owner, Params: b.Params, Burn: b.Params.MinBurn, RegsAt: blk.Height, Created: blk.Height,
		Share: 0, LastEpoch: blk.Height})
	return []abci.EventAttribute{{Key: "netuid", Value: u64s(uint64(netuid)), Index: true}}, nil
}

func (s *State) ownedSubnet(signer AccountID, netuid uint16) (Subnet, *TxError) {
	sn, ok := s.subnets[netuid]
	if !ok {
		return Subnet{}, reject(CodeUnknownSubnet, "no subnet %d", netuid)
	}
	if sn.Owner != signer {
		return Subnet{}, reject(CodeNotOwner, "subnet %d is owned by %s, not %s", netuid, sn.Owner, signer)
	}
	return sn, nil
}

func (s *State) setHyperparams(signer AccountID, b *SetHyperparams, blk Block) ([]abci.EventAttribute, *TxError) {
	sn, err := s.ownedSubnet(signer, b.Netuid)
	if err != nil {
		return nil, err
	}
	if err := b.Params.Validate(); err != nil {
		return nil, reject(CodeBadParams, "hyperparameters: %v", err)
	}
	if b.Params.MaxUIDs < sn.N {
		return nil, reject(CodeBadParams, "max_uids %d is below the %d uids in use", b.Params.MaxUIDs, sn.N)
	}
	from := sn.Params.MechanismCount
	sn.Params = b.Params
	sn.Burn = min(max(sn.Burn, b.Params.MinBurn), b.Params.MaxBurn)
	s.setSubnet(b.Netuid, sn)
	if to := b.Params.MechanismCount; to != from {
		s.resizeMechanisms(b.Netuid, sn, from, to, blk)
	}
	return []abci.EventAttribute{{Key: "netuid", Value: u64s(uint64(b.Netuid)), Index: true}}, nil
}

func (s *State) register(coldkey AccountID, b *Register, blk Block) ([]abci.EventAttribute, *TxError) {
	sn, ok := s.subnets[b.Netuid]
	if !ok {
		return nil, reject(CodeUnknownSubnet, "no subnet %d", b.Netuid)
	}
	if _, dup := s.UID(b.Netuid, b.Hotkey); dup {
		return nil, reject(CodeAlreadyRegistered, "hotkey %s is already registered on subnet %d", b.Hotkey, b.Netuid)
	}
	hk, known := s.hotkeys[b.Hotkey]
	if known && hk.Owner != coldkey {
		return nil, reject(CodeHotkeyOwnedElsewhere, "hotkey %s belongs to coldkey %s", b.Hotkey, hk.Owner)
	}
	if limit := MaxRegistrationsPerTarget * uint64(sn.Params.TargetRegistrations); uint64(sn.Regs) >= limit {
		return nil, reject(CodeTooManyRegistrations, "subnet %d took %d registrations this adjustment interval, %d times its target of %d; the next interval starts at block %d",
			b.Netuid, sn.Regs, MaxRegistrationsPerTarget, sn.Params.TargetRegistrations, sn.RegsAt+sn.Params.AdjustmentInterval)
	}
	if sn.Burn > b.MaxBurn {
		return nil, reject(CodeBurnTooHigh, "registration costs %s, above the %s you allowed", inAGR(sn.Burn), inAGR(b.MaxBurn))
	}
	uid := sn.N
	if sn.N >= sn.Params.MaxUIDs {
		var found bool
		if uid, found = s.pruneCandidate(b.Netuid, sn, blk); !found {
			return nil, reject(CodeSubnetFull, "subnet %d has all %d uids taken and every neuron is immune", b.Netuid, sn.N)
		}
	}
	if err := s.debit(coldkey, sn.Burn, "register"); err != nil {
		return nil, err
	}
	s.burn(sn.Burn)
	if uid == sn.N {
		sn.N++
	}
	if sn.Regs < math.MaxUint16 {
		sn.Regs++
	}
	s.setSubnet(b.Netuid, sn)
	if !known {
		s.setHotkey(b.Hotkey, Hotkey{Owner: coldkey, Take: DefaultTake})
	}
	s.setNeuron(b.Netuid, uid, newNeuron(b.Hotkey, sn.Params.MechanismCount, blk))
	return []abci.EventAttribute{
		{Key: "netuid", Value: u64s(uint64(b.Netuid)), Index: true},
		{Key: "uid", Value: u64s(uint64(uid))},
		{Key: "hotkey", Value: b.Hotkey.String(), Index: true},
		{Key: "burn", Value: u64s(sn.Burn)},
	}, nil
}

// newNeuron is a neuron just registered at blk on a subnet with count
// mechanisms: on each, no weights yet and last updated now.
func newNeuron(hotkey AccountID, count uint8, blk Block) *Neuron {
	n := &Neuron{Hotkey: hotkey, RegisteredAt: blk.Height, LastUpdate: blk.Height}
	if count > 1 {
		n.Mechanisms = make([]MechanismState, count-1)
		for i := range n.Mechanisms {
			n.Mechanisms[i].LastUpdate = blk.Height
		}
		n.Results = make([]MechanismResult, count)
	}
	return n
}

// resizeMechanisms changes netuid's neurons and commits from count
// mechanisms to count to. Mechanisms that go are cleared: their weights,
// bonds, last updates, results and commits. Mechanisms that come start as
// on a neuron registered at blk. Going to one mechanism, the neurons keep
// their outputs' last aggregate; leaving one, mechanism 0's results are
// its last outputs.
func (s *State) resizeMechanisms(netuid uint16, sn Subnet, from, to uint8, blk Block) {
	for uid := range sn.N {
		n := *s.neurons[neuronKey{netuid, uid}]
		if to == 1 {
			n.Mechanisms, n.Results = nil, nil
		} else {
			fresh := newNeuron(n.Hotkey, to, blk)
			if from == 1 {
				fresh.Results[0] = n.Result(0)
			}
			copy(fresh.Mechanisms, n.Mechanisms)
			copy(fresh.Results, n.Results)
			n.Mechanisms, n.Results = fresh.Mechanisms, fresh.Results
		}
		s.setNeuron(netuid, uid, &n)
	}
	for m := to; m < from; m++ {
		mk := mechKey{netuid, m}
		for _, hk := range s.commitHotkeys(mk) {
			s.setCommits(mk, hk, nil)
		}
	}
}

// pruneCandidate picks the uid a new registration replaces on a full
// subnet: among neurons past their immunity period, the lowest pruning
// score, then the earliest registration, then the lowest uid.
func (s *State) pruneCandidate(netuid uint16, sn Subnet, blk Block) (uint16, bool) {
	var best *Neuron
	var bestUID uint16
	for uid := range sn.N {
		n := s.neurons[neuronKey{netuid, uid}]
		if n == nil || blk.Height-n.RegisteredAt < sn.Params.ImmunityPeriod {
			continue
		}
		if best == nil || n.PruningScore < best.PruningScore ||
			(n.PruningScore == best.PruningScore && n.RegisteredAt < best.RegisteredAt) {
			best, bestUID = n, uid
		}
	}
	return bestUID, best != nil
}

// serveAxon sets the neuron's axon. It is free, so the subnet's
// serving_rate_limit bounds it: a neuron may serve when block − the block
// it last served >= serving_rate_limit, and its first time since
// registering always (a new neuron's axon is unset, block 0).
func (s *State) serveAxon(hotkey AccountID, b *ServeAxon, blk Block) ([]abci.EventAttribute, *TxError) {
	sn, ok := s.subnets[b.Netuid]
	if !ok {
		return nil, reject(CodeUnknownSubnet, "no subnet %d", b.Netuid)
	}
	uid, ok := s.UID(b.Netuid, hotkey)
	if !ok {
		return nil, reject(CodeNotRegistered, "hotkey %s is not registered on subnet %d", hotkey, b.Netuid)
	}
	ip := netip.AddrFrom16(b.IP).Unmap()
	if !ip.IsValid() || ip.IsUnspecified() || b.Port == 0 || b.Protocol > maxAxonProto {
		return nil, reject(CodeMalformed, "axon %s port %d protocol %d: want a specified address, a port and protocol 0 to %d", ip, b.Port, b.Protocol, maxAxonProto)
	}
	n := *s.neurons[neuronKey{b.Netuid, uid}]
	if limit := sn.Params.ServingRateLimit; n.Axon.Block != 0 && blk.Height-n.Axon.Block < limit {
		return nil, reject(CodeServingRateLimited, "axon last served at block %d; subnet %d allows one serve_axon every %d blocks, the next at block %d",
			n.Axon.Block, b.Netuid, limit, n.Axon.Block+limit)
	}
	n.Axon = Axon{IP: b.IP, Port: b.Port, Protocol: b.Protocol, Block: blk.Height}
	s.setNeuron(b.Netuid, uid, &n)
	return []abci.EventAttribute{
		{Key: "netuid", Value: u64s(uint64(b.Netuid)), Index: true},
		{Key: "uid", Value: u64s(uint64(uid))},
		{Key: "addr", Value: netip.AddrPortFrom(ip, b.Port).String()},
	}, nil
}

func (s *State) addStake(coldkey AccountID, b *AddStake, blk Block) ([]abci.EventAttribute, *TxError) {
	if b.Amount == 0 {
		return nil, reject(CodeBadAmount, "stake of 0")
	}
	hk, ok := s.hotkeys[b.Hotkey]
	if !ok {
		return nil, reject(CodeNotRegistered, "hotkey %s is not registered on any subnet", b.Hotkey)
	}
	if err := s.debit(coldkey, b.Amount, "stake"); err != nil {
		return nil, err
	}
	hk.Stake += b.Amount
	s.setHotkey(b.Hotkey, hk)
	k := stakeKey{b.Hotkey, coldkey}
	s.setStake(b.Hotkey, coldkey, s.stakes[k].added(b.Amount, blk.Height, s.settledBlock()))
	return stakeAttrs(b.Hotkey, b.Amount), nil
}

func (s *State) removeStake(coldkey AccountID, b *RemoveStake) ([]abci.EventAttribute, *TxError) {
	if b.Amount == 0 {
		return nil, reject(CodeBadAmount, "unstake of 0")
	}
	have := s.Stake(b.Hotkey, coldkey)
	if have < b.Amount {
		return nil, reject(CodeInsufficientStake, "stake on %s is %s, less than the %s to remove", b.Hotkey, inAGR(have), inAGR(b.Amount))
	}
	hk := s.hotkeys[b.Hotkey]
	hk.Stake -= b.Amount
	s.setHotkey(b.Hotkey, hk)
	s.setStake(b.Hotkey, coldkey, s.stakes[stakeKey{b.Hotkey, coldkey}].removed(b.Amount))
	s.credit(coldkey, b.Amount)
	return stakeAttrs(b.Hotkey, b.Amount), nil
}

// settledBlock is the earliest of the subnets' last epochs: every epoch to
// come starts at it or later (a subnet created later, later still).
func (s *State) settledBlock() uint64 {
	settled := uint64(math.MaxUint64)
	for _, sn := range s.subnets {
		settled = min(settled, sn.LastEpoch)
	}
	return settled
}

func stakeAttrs(hotkey AccountID, amount uint64) []abci.EventAttribute {
	return []abci.EventAttribute{
		{Key: "hotkey", Value: hotkey.String(), Index: true},
		{Key: "amount", Value: u64s(amount)},
	}
}

// beginBlock runs what happens at the start of every block: each subnet's
// registration burn moves toward its target once per adjustment interval,
// as subtensor's does: burn · (regs + target) / (2 · target), clamped.
func (s *State) beginBlock(blk Block) {
	for _, netuid := range s.netuids() {
		sn := s.subnets[netuid]
		p := sn.Params
		if blk.Height-sn.RegsAt < p.AdjustmentInterval {
			continue
		}
		target := uint64(p.TargetRegistrations)
		burn := p.MaxBurn
		if hi, lo := bits.Mul64(sn.Burn, uint64(sn.Regs)+target); hi < 2*target {
			burn, _ = bits.Div64(hi, lo, 2*target)
		}
		sn.Burn = min(max(burn, p.MinBurn), p.MaxBurn)
		sn.Regs, sn.RegsAt = 0, blk.Height
		s.setSubnet(netuid, sn)
	}
}

func u64s(v uint64) string { return strconv.FormatUint(v, 10) }
