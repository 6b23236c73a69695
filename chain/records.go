package chain

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/seed0ffb8d46/agora/consensus"
)

// encodeRecord returns the stored bytes of the record at key, or nil if the
// record does not exist (was deleted).
func (s *State) encodeRecord(key string) []byte {
	e := &enc{}
	id := func(b string) (a AccountID) { copy(a[:], b); return a }
	u16 := func(b string) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }
	switch key[0] {
	case prefixGlobal:
		g := &s.global
		e.bytes([]byte(g.ChainID))
		g.Fees.encode(e)
		e.u64(g.GenesisSupply)
		e.u64(g.Minted)
		e.u64(g.Burned)
		e.u64(g.TotalSupply)
		e.u16(g.NextNetuid)
		e.u64(g.EmissionPerBlock)
		e.id(g.Governance)
		// Fees of kinds added after the first release, only when not
		// zero: a chain that charges none keeps its record and app hash.
		if g.Fees.CommitDatasetRoot != 0 {
			e.u64(g.Fees.CommitDatasetRoot)
		}
	case prefixAccount:
		a, ok := s.accounts[id(key[1:])]
		if !ok {
			return nil
		}
		e.u64(a.Balance)
		e.u64(a.Nonce)
	case prefixHotkey:
		h, ok := s.hotkeys[id(key[1:])]
		if !ok {
			return nil
		}
		e.id(h.Owner)
		e.u16(h.Take)
		e.u64(h.Stake)
	case prefixStake:
		v, ok := s.stakes[stakeKey{id(key[1:33]), id(key[33:])}]
		if !ok {
			return nil
		}
		e.u64(v.Amount)
		// A stake with no addition on record is its amount alone.
		if v.Since != 0 {
			e.u64(v.Base)
			e.u64(v.Since)
		}
	case prefixSubnet:
		sn, ok := s.subnets[u16(key[1:])]
		if !ok {
			return nil
		}
		e.id(sn.Owner)
		sn.Params.encode(e)
		e.u64(sn.Burn)
		e.u16(sn.Regs)
		e.u64(sn.RegsAt)
		e.u64(sn.Created)
		e.u16(sn.N)
		e.u32(sn.Share)
		e.u64(sn.LastEpoch)
		e.u64(sn.Epochs)
		e.u64(sn.LastEmission)
		sn.Params.encodeMechanisms(e)
	case prefixNeuron:
		n, ok := s.neurons[neuronKey{u16(key[1:]), u16(key[3:])}]
		if !ok {
			return nil
		}
		e.id(n.Hotkey)
		e.u64(n.RegisteredAt)
		e.u64(n.LastUpdate)
		e.b = append(e.b, n.Axon.IP[:]...)
		e.u16(n.Axon.Port)
		e.u8(n.Axon.Protocol)
		e.u64(n.Axon.Block)
		e.u16(n.Consensus)
		e.u16(n.Incentive)
		e.u16(n.Dividends)
		e.u16(n.ValidatorTrust)
		e.u64(n.Emission)
		e.bool(n.Permit)
		e.u16(n.PruningScore)
		e.bool(n.WeightsSet)
		encodeEntries(e, n.Weights)
		encodeEntries(e, n.Bonds)
		encodeNeuronMechanisms(e, n)
	case prefixCommits:
		cs, ok := s.commits[commitsMech(key)][id(key[3:35])]
		if !ok {
			return nil
		}
		e.u32(uint32(len(cs)))
		for _, c := range cs {
			e.b = append(e.b, c.Hash[:]...)
			e.u64(c.Epoch)
			e.u64(c.Block)
		}
	case prefixDatasets:
		ds, ok := s.datasets[u16(key[1:])]
		if !ok {
			return nil
		}
		e.u32(uint32(len(ds)))
		for _, r := range ds {
			e.b = append(e.b, r.Root[:]...)
			e.u64(r.Records)
			e.u32(r.Chunks)
			e.id(r.Hotkey)
			e.u64(r.Block)
		}
	default:
		panic(fmt.Sprintf("chain: record key with unknown prefix %q", key[0]))
	}
	return e.b
}

// encodeNeuronMechanisms appends a neuron's state on mechanisms 1 and up
// and every mechanism's results, on a subnet with more than one mechanism:
// u8 count−1, then per mechanism u64 last update, bool weights set, the
// weights and bonds rows; u8 count, then per mechanism the four u16
// outputs and the u64 emission. With one mechanism it appends nothing, so
// the record is as before mechanisms.
func encodeNeuronMechanisms(e *enc, n *Neuron) {
	if len(n.Mechanisms) == 0 && len(n.Results) == 0 {
		return
	}
	e.u8(uint8(len(n.Mechanisms)))
	for _, m := range n.Mechanisms {
		e.u64(m.LastUpdate)
		e.bool(m.WeightsSet)
		encodeEntries(e, m.Weights)
		encodeEntries(e, m.Bonds)
	}
	e.u8(uint8(len(n.Results)))
	for _, r := range n.Results {
		e.u16(r.Consensus)
		e.u16(r.Incentive)
		e.u16(r.Dividends)
		e.u16(r.ValidatorTrust)
		e.u64(r.Emission)
	}
}

// decodeNeuronMechanisms reads what encodeNeuronMechanisms wrote, if
// anything is left in d.
func decodeNeuronMechanisms(d *dec, n *Neuron) {
	if d.err != nil || len(d.b) == 0 {
		return
	}
	c := d.u8()
	if d.err == nil && (c == 0 || c >= MaxMechanisms) {
		d.err = fmt.Errorf("%d mechanisms past the first, want 1 to %d", c, MaxMechanisms-1)
		return
	}
	n.Mechanisms = make([]MechanismState, c)
	for i := range n.Mechanisms {
		m := &n.Mechanisms[i]
		m.LastUpdate, m.WeightsSet = d.u64(), d.bool()
		m.Weights, m.Bonds = decodeEntries(d), decodeEntries(d)
	}
	if r := d.u8(); d.err == nil && r != c+1 {
		d.err = fmt.Errorf("results of %d mechanisms, want %d", r, c+1)
		return
	}
	n.Results = make([]MechanismResult, c+1)
	for i := range n.Results {
		r := &n.Results[i]
		r.Consensus, r.Incentive, r.Dividends, r.ValidatorTrust, r.Emission = d.u16(), d.u16(), d.u16(), d.u16(), d.u64()
	}
}

// commitsMech is the mechanism a commits key is for (see keyCommits).
func commitsMech(key string) mechKey {
	mk := mechKey{netuid: uint16(key[1])<<8 | uint16(key[2])}
	if len(key) > 35 {
		mk.mechanism = key[35]
	}
	return mk
}

func encodeEntries(e *enc, row []consensus.Entry) {
	e.u32(uint32(len(row)))
	// Rows hold up to thousands of entries (a validator's weights over a
	// whole subnet): grow once and write in place, rather than append
	// each value.
	n := len(e.b)
	e.b = slices.Grow(e.b, 4*len(row))[:n+4*len(row)]
	for i, x := range row {
		binary.BigEndian.PutUint32(e.b[n+4*i:], uint32(x.UID)<<16|uint32(x.Value))
	}
}

func decodeEntries(d *dec) []consensus.Entry {
	n := d.u32()
	if n > consensus.MaxUIDs {
		d.err = fmt.Errorf("row of %d entries exceeds %d", n, consensus.MaxUIDs)
		return nil
	}
	row := make([]consensus.Entry, 0, n)
	for range n {
		row = append(row, consensus.Entry{UID: d.u16(), Value: d.u16()})
	}
	return row
}

// loadRecord decodes a stored record into s, without journal or dirty
// marks: it is how a node rebuilds its state at start.
func (s *State) loadRecord(key string, value []byte) error {
	d := &dec{b: value}
	bad := func(what string) error { return fmt.Errorf("record %x: bad %s key", key, what) }
	id := func(b string) (a AccountID) { copy(a[:], b); return a }
	u16 := func(b string) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }
	switch key[0] {
	case prefixGlobal:
		if len(key) != 1 {
			return bad("global")
		}
		g := &s.global
		g.ChainID = string(d.bytes(maxChainID))
		g.Fees.decode(d)
		g.GenesisSupply, g.Minted, g.Burned, g.TotalSupply = d.u64(), d.u64(), d.u64(), d.u64()
		g.NextNetuid = d.u16()
		g.EmissionPerBlock, g.Governance = d.u64(), d.id()
		if d.err == nil && len(d.b) > 0 {
			if g.Fees.CommitDatasetRoot = d.u64(); d.err == nil && g.Fees.CommitDatasetRoot == 0 {
				return fmt.Errorf("record %x: a zero commit_dataset_root fee is stored, but zero is stored as nothing", key)
			}
		}
	case prefixAccount:
		if len(key) != 33 {
			return bad("account")
		}
		s.accounts[id(key[1:])] = Account{Balance: d.u64(), Nonce: d.u64()}
	case prefixHotkey:
		if len(key) != 33 {
			return bad("hotkey")
		}
		s.hotkeys[id(key[1:])] = Hotkey{Owner: d.id(), Take: d.u16(), Stake: d.u64()}
	case prefixStake:
		if len(key) != 65 {
			return bad("stake")
		}
		k := stakeKey{id(key[1:33]), id(key[33:])}
		r := stakeRec{Amount: d.u64()}
		if d.err == nil && len(d.b) > 0 {
			if r.Base, r.Since = d.u64(), d.u64(); d.err == nil && (r.Since == 0 || r.Base > r.Amount) {
				return fmt.Errorf("record %x: stake %d with base %d since block %d", key, r.Amount, r.Base, r.Since)
			}
		}
		s.stakes[k] = r
		s.indexStake(k, true)
	case prefixSubnet:
		if len(key) != 3 {
			return bad("subnet")
		}
		var sn Subnet
		sn.Owner = d.id()
		sn.Params.decode(d)
		sn.Burn, sn.Regs, sn.RegsAt, sn.Created, sn.N = d.u64(), d.u16(), d.u64(), d.u64(), d.u16()
		sn.Share, sn.LastEpoch, sn.Epochs, sn.LastEmission = d.u32(), d.u64(), d.u64(), d.u64()
		sn.Params.decodeMechanisms(d)
		s.subnets[u16(key[1:])] = sn
	case prefixNeuron:
		if len(key) != 5 {
			return bad("neuron")
		}
		n := &Neuron{Hotkey: d.id(), RegisteredAt: d.u64(), LastUpdate: d.u64()}
		copy(n.Axon.IP[:], d.take(16))
		n.Axon.Port, n.Axon.Protocol, n.Axon.Block = d.u16(), d.u8(), d.u64()
		n.Consensus, n.Incentive, n.Dividends, n.ValidatorTrust = d.u16(), d.u16(), d.u16(), d.u16()
		n.Emission, n.Permit, n.PruningScore, n.WeightsSet = d.u64(), d.bool(), d.u16(), d.bool()
		n.Weights, n.Bonds = decodeEntries(d), decodeEntries(d)
		decodeNeuronMechanisms(d, n)
		netuid, uid := u16(key[1:]), u16(key[3:])
		s.neurons[neuronKey{netuid, uid}] = n
		if s.uidOf[netuid] == nil {
			s.uidOf[netuid] = map[AccountID]uint16{}
		}
		s.uidOf[netuid][n.Hotkey] = uid
	case prefixCommits:
		if len(key) != 35 && (len(key) != 36 || key[35] == 0 || key[35] >= MaxMechanisms) {
			return bad("commits")
		}
		n := d.u32()
		if n > MaxPendingCommits*100 || uint64(n)*48 > uint64(len(d.b)) {
			return fmt.Errorf("record %x: %d commits", key, n)
		}
		cs := make([]Commit, n)
		for i := range cs {
			copy(cs[i].Hash[:], d.take(32))
			cs[i].Epoch, cs[i].Block = d.u64(), d.u64()
		}
		mk := commitsMech(key)
		if s.commits[mk] == nil {
			s.commits[mk] = map[AccountID][]Commit{}
		}
		s.commits[mk][id(key[3:35])] = cs
	case prefixDatasets:
		if len(key) != 3 {
			return bad("datasets")
		}
		n := d.u32()
		if n == 0 || n > MaxDatasetRoots {
			return fmt.Errorf("record %x: %d dataset roots, want 1 to %d", key, n, MaxDatasetRoots)
		}
		ds := make([]DatasetRoot, n)
		for i := range ds {
			copy(ds[i].Root[:], d.take(32))
			ds[i].Records, ds[i].Chunks, ds[i].Hotkey, ds[i].Block = d.u64(), d.u32(), d.id(), d.u64()
		}
		s.datasets[u16(key[1:])] = ds
	default:
		return fmt.Errorf("record %x: unknown kind %q", key, key[0])
	}
	if err := d.done(); err != nil {
		return fmt.Errorf("record %x: %w", key, err)
	}
	return nil
}
