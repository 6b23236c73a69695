package chain

import (
	"maps"
	"slices"

	"github.com/seed0ffb8d46/agora/consensus"
)

// Account is a key's balance and the nonce its next transaction must carry.
type Account struct {
	Balance uint64
	Nonce   uint64
}

// Hotkey is a registered hotkey: the coldkey that owns it, the share of its
// nominators' dividends it keeps, and the total stake on it.
type Hotkey struct {
	Owner AccountID
	Take  uint16 // proportion of 65535
	Stake uint64 // Σ of every coldkey's stake on it
}

// Axon is where a neuron serves.
type Axon struct {
	IP       [16]byte
	Port     uint16
	Protocol uint8
	Block    uint64 // when it was last set
}

// Neuron is one uid of a subnet: who holds it and what the last epoch said
// about it. LastUpdate, WeightsSet, Weights and Bonds are its state on
// mechanism 0; the epoch outputs are the aggregate over the subnet's
// mechanisms (mechanism 0's alone on a subnet with one).
type Neuron struct {
	Hotkey       AccountID
	RegisteredAt uint64
	LastUpdate   uint64
	Axon         Axon
	// Epoch outputs: proportions of 65535, emission in base units.
	Consensus      uint16
	Incentive      uint16
	Dividends      uint16
	ValidatorTrust uint16
	Emission       uint64
	Permit         bool
	PruningScore   uint16
	// WeightsSet is whether the neuron has set or committed weights since
	// it registered: its first set is never rate limited.
	WeightsSet bool
	Weights    []consensus.Entry
	Bonds      []consensus.Entry
	// Mechanisms is the neuron's state on mechanisms 1 to count−1, by
	// mechanism − 1; Results is what the last epoch of each mechanism
	// computed, by mechanism. Both are empty on a subnet with one
	// mechanism and have count−1 and count entries otherwise. Neither is
	// changed in place: setters replace the slices.
	Mechanisms []MechanismState
	Results    []MechanismResult
}

// MechanismState is a neuron's weights state on one mechanism: when it
// last set or committed weights there (the mechanism's rate limit and
// activity), whether it has since registering, and its rows.
type MechanismState struct {
	LastUpdate uint64
	WeightsSet bool
	Weights    []consensus.Entry
	Bonds      []consensus.Entry
}

// MechanismResult is what one mechanism's last epoch computed for a uid:
// proportions of 65535 and emission in base units.
type MechanismResult struct {
	Consensus      uint16
	Incentive      uint16
	Dividends      uint16
	ValidatorTrust uint16
	Emission       uint64
}

// Mechanism returns the neuron's state on mechanism m, which its subnet
// has.
func (n Neuron) Mechanism(m uint8) MechanismState {
	if m == 0 {
		return MechanismState{LastUpdate: n.LastUpdate, WeightsSet: n.WeightsSet, Weights: n.Weights, Bonds: n.Bonds}
	}
	return n.Mechanisms[m-1]
}

// setMechanism stores st as the state on mechanism m of n, a copy the
// caller is about to store: the Mechanisms slice is copied, not written.
func (n *Neuron) setMechanism(m uint8, st MechanismState) {
	if m == 0 {
		n.LastUpdate, n.WeightsSet, n.Weights, n.Bonds = st.LastUpdate, st.WeightsSet, st.Weights, st.Bonds
		return
	}
	n.Mechanisms = slices.Clone(n.Mechanisms)
	n.Mechanisms[m-1] = st
}

// Result returns what mechanism m's last epoch computed for the neuron:
// on a subnet with one mechanism, the neuron's own outputs.
func (n Neuron) Result(m uint8) MechanismResult {
	if len(n.Results) == 0 {
		return MechanismResult{Consensus: n.Consensus, Incentive: n.Incentive, Dividends: n.Dividends,
			ValidatorTrust: n.ValidatorTrust, Emission: n.Emission}
	}
	return n.Results[m]
}

// Subnet is a subnet's owner, settings and registration state. Its
// neurons are records of their own.
type Subnet struct {
	Owner   AccountID
	Params  Hyperparams
	Burn    uint64 // the current registration cost
	Regs    uint16 // registrations in the current adjustment interval
	RegsAt  uint64 // the block the current interval started
	Created uint64
	N       uint16 // number of uids in use
	// Share is the subnet's emission weight: it gets Share/Σ Share of the
	// chain's emission. New subnets get 1; the governance key changes it.
	Share uint32
	// LastEpoch is the block of the subnet's last epoch (Created before
	// the first); Epochs counts the epochs run. The subnet's current epoch
	// index is Epochs (see epoch.go).
	LastEpoch uint64
	Epochs    uint64
	// LastEmission is what the last epoch minted for the subnet.
	LastEmission uint64
}

// Global is the chain-wide record: settings fixed at genesis and the
// supply ledger. TotalSupply = GenesisSupply + Minted − Burned at every
// height.
type Global struct {
	ChainID       string
	Fees          Fees
	GenesisSupply uint64
	Minted        uint64
	Burned        uint64
	TotalSupply   uint64
	NextNetuid    uint16
	// EmissionPerBlock is minted per block, split among subnets by share
	// and paid at each subnet's epoch.
	EmissionPerBlock uint64
	// Governance may change EmissionPerBlock and subnet shares (the zero
	// key: nobody may).
	Governance AccountID
}

// Commit is one pending weight commit of a hotkey on a subnet's mechanism.
type Commit struct {
	Hash  [32]byte
	Epoch uint64 // the subnet's epoch index at the commit
	Block uint64
}

type commitKey struct {
	netuid    uint16
	mechanism uint8
	hotkey    AccountID
}

// mechKey is one mechanism of a subnet.
type mechKey struct {
	netuid    uint16
	mechanism uint8
}

type stakeKey struct{ hotkey, coldkey AccountID }

type neuronKey struct {
	netuid, uid uint16
}

// State is the whole application state in memory, the source of truth
// between commits. Every change goes through a setter that records how to
// undo it (so a failing transaction, or a proposal being checked, leaves
// no trace) and marks its record dirty (so only changed records are
// re-encoded, rehashed and written).
type State struct {
	global   Global
	accounts map[AccountID]Account
	hotkeys  map[AccountID]Hotkey
	stakes   map[stakeKey]stakeRec
	subnets  map[uint16]Subnet
	neurons  map[neuronKey]*Neuron
	uidOf    map[uint16]map[AccountID]uint16 // derived: netuid → hotkey → uid
	// commits are the pending weight commits, (netuid, mechanism) →
	// hotkey → commits in the order they were made.
	commits map[mechKey]map[AccountID][]Commit
	// stakers is derived: hotkey → the coldkeys with stake on it.
	stakers map[AccountID]map[AccountID]struct{}
	// datasets are each subnet's committed dataset roots, oldest first, at
	// most MaxDatasetRoots; a subnet with none has no entry (and no record).
	datasets map[uint16][]DatasetRoot

	journal []undoEntry
	dirty   map[string]struct{}
	// quiet says the caller discards the events apply returns (CheckTx,
	// PrepareProposal): a transfer then builds none.
	quiet bool
}

// NewState returns an empty state.
func NewState() *State {
	return &State{
		accounts: map[AccountID]Account{},
		hotkeys:  map[AccountID]Hotkey{},
		stakes:   map[stakeKey]stakeRec{},
		subnets:  map[uint16]Subnet{},
		neurons:  map[neuronKey]*Neuron{},
		uidOf:    map[uint16]map[AccountID]uint16{},
		commits:  map[mechKey]map[AccountID][]Commit{},
		stakers:  map[AccountID]map[AccountID]struct{}{},
		datasets: map[uint16][]DatasetRoot{},
		dirty:    map[string]struct{}{},
	}
}

// Record keys: one byte of kind, then the fixed-size id.
const (
	prefixGlobal   = 'g'
	prefixAccount  = 'a'
	prefixHotkey   = 'h'
	prefixStake    = 'k'
	prefixSubnet   = 's'
	prefixNeuron   = 'n'
	prefixCommits  = 'w'
	prefixDatasets = 'd'
)

func keyGlobal() string              { return string([]byte{prefixGlobal}) }
func keyAccount(id AccountID) string { return string(append([]byte{prefixAccount}, id[:]...)) }
func keyHotkey(id AccountID) string  { return string(append([]byte{prefixHotkey}, id[:]...)) }
func keyStake(k stakeKey) string {
	return string(append(append([]byte{prefixStake}, k.hotkey[:]...), k.coldkey[:]...))
}
func keySubnet(netuid uint16) string {
	return string([]byte{prefixSubnet, byte(netuid >> 8), byte(netuid)})
}
func keyNeuron(k neuronKey) string {
	return string([]byte{prefixNeuron, byte(k.netuid >> 8), byte(k.netuid), byte(k.uid >> 8), byte(k.uid)})
}

// keyCommits is the commits key; a mechanism other than 0 follows the
// hotkey, so mechanism 0's keys are those from before mechanisms.
func keyCommits(k commitKey) string {
	b := append([]byte{prefixCommits, byte(k.netuid >> 8), byte(k.netuid)}, k.hotkey[:]...)
	if k.mechanism != 0 {
		b = append(b, k.mechanism)
	}
	return string(b)
}
func keyDatasets(netuid uint16) string {
	return string([]byte{prefixDatasets, byte(netuid >> 8), byte(netuid)})
}
func (s *State) undo(f func())                { s.journal = append(s.journal, undoEntry{fn: f}) }
func (s *State) mark() int                    { return len(s.journal) }
func (s *State) Global() Global               { return s.global }
func (s *State) Account(id AccountID) Account { return s.accounts[id] }

// touch marks a record changed. Reverting the change unmarks it, so a
// CheckTx or a proposal that was undone costs the next block nothing.
func (s *State) touch(key string) {
	if _, ok := s.dirty[key]; ok {
		return
	}
	s.dirty[key] = struct{}{}
	s.journal = append(s.journal, undoEntry{dirtyKey: key})
}

// revert undoes every change since mark m.
func (s *State) revert(m int) {
	for i := len(s.journal) - 1; i >= m; i-- {
		s.journal[i].undo(s)
	}
	clear(s.journal[m:]) // drop what the entries hold
	s.journal = s.journal[:m]
}

// forget drops the undo log: what is applied stays.
func (s *State) forget() {
	clear(s.journal)
	s.journal = s.journal[:0]
}

// undoEntry undoes one change. The two most frequent, an account set and a
// record marked dirty (a transfer makes several of each in CheckTx,
// PrepareProposal and FinalizeBlock), are plain values; the rest are
// closures.
type undoEntry struct {
	fn func()
	// With fn nil: dirtyKey, if set, is unmarked; otherwise account id is
	// restored to old (or deleted if it had none).
	dirtyKey string
	id       AccountID
	old      Account
	had      bool
}

func (e *undoEntry) undo(s *State) {
	switch {
	case e.fn != nil:
		e.fn()
	case e.dirtyKey != "":
		delete(s.dirty, e.dirtyKey)
	default:
		restore(s.accounts, e.id, e.old, e.had)
	}
}

func (s *State) setGlobal(g Global) {
	old := s.global
	s.undo(func() { s.global = old })
	s.global = g
	s.touch(keyGlobal())
}

func (s *State) setAccount(id AccountID, a Account) {
	old, had := s.accounts[id]
	if had && a == old {
		return
	}
	s.journal = append(s.journal, undoEntry{id: id, old: old, had: had})
	if a == (Account{}) {
		delete(s.accounts, id)
	} else {
		s.accounts[id] = a
	}
	// A transfer touches its sender twice: look the key up without
	// allocating it.
	var key [1 + len(id)]byte
	key[0] = prefixAccount
	copy(key[1:], id[:])
	if _, ok := s.dirty[string(key[:])]; !ok {
		s.touch(string(key[:]))
	}
}

// Hotkey returns a hotkey's record and whether it is registered anywhere.
func (s *State) Hotkey(id AccountID) (Hotkey, bool) {
	h, ok := s.hotkeys[id]
	return h, ok
}

func (s *State) setHotkey(id AccountID, h Hotkey) {
	old, had := s.hotkeys[id]
	s.undo(func() { restore(s.hotkeys, id, old, had) })
	s.hotkeys[id] = h
	s.touch(keyHotkey(id))
}

// Stake returns coldkey's stake on hotkey.
func (s *State) Stake(hotkey, coldkey AccountID) uint64 {
	return s.stakes[stakeKey{hotkey, coldkey}].Amount
}

// stakeRec is one coldkey's stake on one hotkey: Amount, and what of it
// earns dividends. Stake added just before an epoch and removed just after
// would otherwise take a share of dividends that the stake held through the
// tempo earned, for two fees. So stake earns at a subnet's epoch only what
// was held since that subnet's previous epoch:
//
// Since, when not 0, is the block of the latest addition, and Base at most
// the least amount held continuously from before every epoch start that
// may still precede Since. At an epoch whose previous epoch was at block
// L, the stake earns on Base if Since > L, else on Amount (every addition
// came before L and removals only lower Amount). An addition while an
// earlier one still matters to some subnet (one whose last epoch came
// before it) keeps Base, which underpays a staker who adds twice within
// one tempo of that subnet and never overpays one.
//
// This settles dividends among a hotkey's stakers. Consensus still weighs
// each validator by its whole stake, as subtensor does, so stake added
// just before an epoch still raises its validator's share against the
// other validators'.
type stakeRec struct {
	Amount, Base, Since uint64
}

// earning is what r earns dividends on at an epoch whose previous epoch
// was at block last.
func (r stakeRec) earning(last uint64) uint64 {
	if r.Since > last {
		return r.Base
	}
	return r.Amount
}

// added is r after amount more is staked at block, when every subnet's
// last epoch was at block settled or later.
func (r stakeRec) added(amount, block, settled uint64) stakeRec {
	if r.Since == 0 || r.Since <= settled || block-r.Since >= MaxTempo {
		r.Base = r.Amount // every epoch to come started after r.Since
	}
	r.Amount += amount
	r.Since = block
	return r
}

// removed is r after amount is unstaked.
func (r stakeRec) removed(amount uint64) stakeRec {
	r.Amount -= amount
	r.Base = min(r.Base, r.Amount)
	return r
}

func (s *State) setStake(hotkey, coldkey AccountID, v stakeRec) {
	k := stakeKey{hotkey, coldkey}
	old, had := s.stakes[k]
	s.undo(func() { restore(s.stakes, k, old, had) })
	if v.Amount == 0 {
		v = stakeRec{}
		delete(s.stakes, k)
	} else {
		s.stakes[k] = v
	}
	s.indexStake(k, v.Amount != 0)
	s.undo(func() { s.indexStake(k, had) })
	s.touch(keyStake(k))
}

// indexStake keeps the stakers index in step with one stake.
func (s *State) indexStake(k stakeKey, present bool) {
	set := s.stakers[k.hotkey]
	if present {
		if set == nil {
			set = map[AccountID]struct{}{}
			s.stakers[k.hotkey] = set
		}
		set[k.coldkey] = struct{}{}
		return
	}
	delete(set, k.coldkey)
	if len(set) == 0 {
		delete(s.stakers, k.hotkey)
	}
}

// Commits returns hotkey's pending weight commits on netuid's mechanism 0,
// oldest first.
func (s *State) Commits(netuid uint16, hotkey AccountID) []Commit {
	return s.MechanismCommits(netuid, 0, hotkey)
}

// MechanismCommits returns hotkey's pending weight commits on mechanism m
// of netuid, oldest first.
func (s *State) MechanismCommits(netuid uint16, m uint8, hotkey AccountID) []Commit {
	return slices.Clone(s.commits[mechKey{netuid, m}][hotkey])
}

// setCommits replaces hotkey's pending commits on mechanism mk; the caller
// does not change cs afterwards.
func (s *State) setCommits(mk mechKey, hotkey AccountID, cs []Commit) {
	old, had := s.commits[mk][hotkey]
	put := func(v []Commit, present bool) {
		m := s.commits[mk]
		if present {
			if m == nil {
				m = map[AccountID][]Commit{}
				s.commits[mk] = m
			}
			m[hotkey] = v
			return
		}
		delete(m, hotkey)
		if len(m) == 0 {
			delete(s.commits, mk)
		}
	}
	s.undo(func() { put(old, had) })
	put(cs, len(cs) > 0)
	s.touch(keyCommits(commitKey{mk.netuid, mk.mechanism, hotkey}))
}

// DatasetRoots returns the dataset roots committed on netuid, oldest
// first: at most MaxDatasetRoots, the latest ones.
func (s *State) DatasetRoots(netuid uint16) []DatasetRoot {
	return slices.Clone(s.datasets[netuid])
}

// setDatasets replaces netuid's dataset roots; an empty list deletes the
// record. The caller does not change ds afterwards.
func (s *State) setDatasets(netuid uint16, ds []DatasetRoot) {
	old, had := s.datasets[netuid]
	s.undo(func() { restore(s.datasets, netuid, old, had) })
	if len(ds) == 0 {
		delete(s.datasets, netuid)
	} else {
		s.datasets[netuid] = ds
	}
	s.touch(keyDatasets(netuid))
}

// Subnet returns a subnet and whether it exists.
func (s *State) Subnet(netuid uint16) (Subnet, bool) {
	sn, ok := s.subnets[netuid]
	return sn, ok
}

func (s *State) setSubnet(netuid uint16, sn Subnet) {
	old, had := s.subnets[netuid]
	s.undo(func() { restore(s.subnets, netuid, old, had) })
	s.subnets[netuid] = sn
	s.touch(keySubnet(netuid))
}

// Neuron returns a copy of the neuron at uid on netuid.
func (s *State) Neuron(netuid, uid uint16) (Neuron, bool) {
	n, ok := s.neurons[neuronKey{netuid, uid}]
	if !ok {
		return Neuron{}, false
	}
	return *n, true
}

// UID returns hotkey's uid on netuid.
func (s *State) UID(netuid uint16, hotkey AccountID) (uint16, bool) {
	uid, ok := s.uidOf[netuid][hotkey]
	return uid, ok
}

// setNeuron stores n at uid, keeping the hotkey index in step. The caller
// passes a neuron it will not change afterwards.
func (s *State) setNeuron(netuid, uid uint16, n *Neuron) {
	k := neuronKey{netuid, uid}
	old, had := s.neurons[k]
	idx := s.uidOf[netuid]
	if idx == nil {
		idx = map[AccountID]uint16{}
		s.uidOf[netuid] = idx
	}
	s.undo(func() {
		delete(idx, n.Hotkey)
		if had {
			idx[old.Hotkey] = uid
		}
		restore(s.neurons, k, old, had)
	})
	if had {
		delete(idx, old.Hotkey)
	}
	idx[n.Hotkey] = uid
	s.neurons[k] = n
	s.touch(keyNeuron(k))
}

func restore[K comparable, V any](m map[K]V, k K, old V, had bool) {
	if had {
		m[k] = old
	} else {
		delete(m, k)
	}
}

// netuids returns the subnets in order.
func (s *State) netuids() []uint16 {
	return slices.Sorted(maps.Keys(s.subnets))
}
