package chain

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/seed0ffb8d46/agora/consensus"
)

// Query paths, each answered with JSON:
//
//	/account/<hex key>        AccountView
//	/hotkey/<hex key>         HotkeyView
//	/coldkey/<hex key>        ColdkeyView (balance, stakes, owned hotkeys)
//	/subnet/<netuid>          SubnetView
//	/neuron/<netuid>/<uid>    NeuronView
//	/metagraph/<netuid>       MetagraphView
//	/supply                   SupplyView
//	/weights/<netuid>/<uid>[/<mechanism>]   RowView (the uid's stored weights)
//	/bonds/<netuid>/<uid>[/<mechanism>]     RowView (the uid's bonds)
//	/commits/<netuid>/<hex hotkey>[/<mechanism>]  CommitsView (pending weight commits)
//	/epoch/<netuid>           EpochView (the last epoch's outputs)
//	/emission                 EmissionView
//	/datasets/<netuid>        DatasetsView (committed dataset roots, newest last)
//	/nonce/<hex key>          NonceView (the last block's nonce and the mempool's next)
//
// A weights, bonds or commits path without a mechanism is about mechanism 0.
const (
	QueryAccount   = "/account/"
	QueryHotkey    = "/hotkey/"
	QueryColdkey   = "/coldkey/"
	QuerySubnet    = "/subnet/"
	QueryNeuron    = "/neuron/"
	QueryMetagraph = "/metagraph/"
	QuerySupply    = "/supply"
	QueryWeights   = "/weights/"
	QueryBonds     = "/bonds/"
	QueryCommits   = "/commits/"
	QueryEpoch     = "/epoch/"
	QueryEmission  = "/emission"
	QueryDatasets  = "/datasets/"
	QueryNonce     = "/nonce/"
)

// RowPath is the query path of uid's weights (or bonds) row on mechanism
// m of netuid; mechanism 0's has no mechanism part.
func RowPath(bonds bool, netuid, uid uint16, m uint8) string {
	kind := QueryWeights
	if bonds {
		kind = QueryBonds
	}
	return fmt.Sprintf("%s%d/%d", kind, netuid, uid) + mechanismSuffix(m)
}

// CommitsPath is the query path of hotkey's pending commits on mechanism m
// of netuid; mechanism 0's has no mechanism part.
func CommitsPath(netuid uint16, m uint8, hotkey AccountID) string {
	return fmt.Sprintf("%s%d/%s", QueryCommits, netuid, hotkey) + mechanismSuffix(m)
}

func mechanismSuffix(m uint8) string {
	if m == 0 {
		return ""
	}
	return "/" + strconv.Itoa(int(m))
}

// RowView is one uid's weights or bonds row: u16 values by target uid.
type RowView struct {
	Netuid     uint16            `json:"netuid"`
	Mechanism  uint8             `json:"mechanism,omitempty"`
	UID        uint16            `json:"uid"`
	Hotkey     string            `json:"hotkey"`
	LastUpdate uint64            `json:"last_update"`
	Row        []consensus.Entry `json:"row"`
}

// CommitsView is a hotkey's pending weight commits on a subnet, oldest
// first, with the subnet's current epoch.
type CommitsView struct {
	Netuid       uint16       `json:"netuid"`
	Mechanism    uint8        `json:"mechanism,omitempty"`
	Hotkey       string       `json:"hotkey"`
	Epoch        uint64       `json:"epoch"`
	RevealPeriod uint64       `json:"reveal_period_epochs"`
	Commits      []CommitView `json:"commits"`
}

// CommitView is one pending commit; RevealEpoch is the only epoch it can
// be revealed in.
type CommitView struct {
	Hash        string `json:"hash"`
	Epoch       uint64 `json:"epoch"`
	Block       uint64 `json:"block"`
	RevealEpoch uint64 `json:"reveal_epoch"`
}

// EpochView is a subnet's epoch clock and what its last epoch computed.
type EpochView struct {
	Netuid         uint16         `json:"netuid"`
	Epoch          uint64         `json:"epoch"` // the current epoch index: epochs run so far
	LastEpochBlock uint64         `json:"last_epoch_block"`
	NextEpochBlock uint64         `json:"next_epoch_block"`
	Emission       uint64         `json:"emission"` // minted by the last epoch
	Neurons        []EpochUIDView `json:"neurons"`
}

// EpochUIDView is one uid's outputs of the last epoch.
type EpochUIDView struct {
	UID             uint16 `json:"uid"`
	Consensus       uint16 `json:"consensus"`
	Incentive       uint16 `json:"incentive"`
	Dividends       uint16 `json:"dividends"`
	ValidatorTrust  uint16 `json:"validator_trust"`
	Emission        uint64 `json:"emission"`
	ValidatorPermit bool   `json:"validator_permit"`
	PruningScore    uint16 `json:"pruning_score"`
}

// EmissionView is the chain's emission settings and each subnet's share.
type EmissionView struct {
	PerBlock   uint64      `json:"per_block"`
	Governance string      `json:"governance,omitempty"`
	Shares     []ShareView `json:"shares"`
}

// ShareView is one subnet's emission share.
type ShareView struct {
	Netuid uint16 `json:"netuid"`
	Share  uint32 `json:"share"`
}

// AccountView is an account as queries show it.
type AccountView struct {
	Balance uint64 `json:"balance"`
	Nonce   uint64 `json:"nonce"`
}

// HotkeyView is a hotkey as queries show it.
type HotkeyView struct {
	Owner string `json:"owner"`
	Take  uint16 `json:"take"`
	Stake uint64 `json:"stake"`
}

// ColdkeyView is everything a coldkey holds, for a wallet's overview: its
// balance, its stake on each hotkey, and the hotkeys it owns with who
// stakes on them and where they are registered. Lists are sorted by
// account (hex), registrations by netuid.
type ColdkeyView struct {
	Coldkey string            `json:"coldkey"`
	Balance uint64            `json:"balance"`
	Nonce   uint64            `json:"nonce"`
	Stakes  []StakeView       `json:"stakes"`
	Hotkeys []OwnedHotkeyView `json:"hotkeys"`
}

// StakeView is a coldkey's stake on one hotkey, and who owns the hotkey
// ("" if no one does any longer).
type StakeView struct {
	Hotkey string `json:"hotkey"`
	Owner  string `json:"owner"`
	Stake  uint64 `json:"stake"`
}

// OwnedHotkeyView is a hotkey a coldkey owns: its take, its total stake
// split into the owner's own and its nominators' (every other coldkey's,
// listed), and its uid on each subnet it is registered on.
type OwnedHotkeyView struct {
	Hotkey         string             `json:"hotkey"`
	Take           uint16             `json:"take"`
	Stake          uint64             `json:"stake"`
	OwnerStake     uint64             `json:"owner_stake"`
	NominatorStake uint64             `json:"nominator_stake"`
	Nominators     []NominatorView    `json:"nominators"`
	Registrations  []RegistrationView `json:"registrations"`
}

// NominatorView is one nominator's stake on a hotkey.
type NominatorView struct {
	Coldkey string `json:"coldkey"`
	Stake   uint64 `json:"stake"`
}

// RegistrationView is a hotkey's uid on a subnet.
type RegistrationView struct {
	Netuid uint16 `json:"netuid"`
	UID    uint16 `json:"uid"`
}

// coldkeyView answers /coldkey/. It walks every hotkey and stake, which a
// query can afford and keeps the state free of another index to maintain.
func (s *State) coldkeyView(id AccountID) ColdkeyView {
	a := s.accounts[id]
	v := ColdkeyView{Coldkey: id.String(), Balance: a.Balance, Nonce: a.Nonce, Stakes: []StakeView{}, Hotkeys: []OwnedHotkeyView{}}
	for k, r := range s.stakes {
		if k.coldkey == id && r.Amount > 0 {
			sv := StakeView{Hotkey: k.hotkey.String(), Stake: r.Amount}
			if h, ok := s.hotkeys[k.hotkey]; ok {
				sv.Owner = h.Owner.String()
			}
			v.Stakes = append(v.Stakes, sv)
		}
	}
	slices.SortFunc(v.Stakes, func(a, b StakeView) int { return strings.Compare(a.Hotkey, b.Hotkey) })
	for hk, h := range s.hotkeys {
		if h.Owner != id {
			continue
		}
		o := OwnedHotkeyView{Hotkey: hk.String(), Take: h.Take, Stake: h.Stake, Nominators: []NominatorView{}, Registrations: []RegistrationView{}}
		for ck := range s.stakers[hk] {
			amount := s.stakes[stakeKey{hk, ck}].Amount
			if ck == id {
				o.OwnerStake = amount
				continue
			}
			o.NominatorStake += amount
			o.Nominators = append(o.Nominators, NominatorView{Coldkey: ck.String(), Stake: amount})
		}
		slices.SortFunc(o.Nominators, func(a, b NominatorView) int { return strings.Compare(a.Coldkey, b.Coldkey) })
		for netuid, uids := range s.uidOf {
			if uid, ok := uids[hk]; ok {
				o.Registrations = append(o.Registrations, RegistrationView{Netuid: netuid, UID: uid})
			}
		}
		slices.SortFunc(o.Registrations, func(a, b RegistrationView) int { return int(a.Netuid) - int(b.Netuid) })
		v.Hotkeys = append(v.Hotkeys, o)
	}
	slices.SortFunc(v.Hotkeys, func(a, b OwnedHotkeyView) int { return strings.Compare(a.Hotkey, b.Hotkey) })
	return v
}

// SubnetView is a subnet as queries show it.
type SubnetView struct {
	Netuid  uint16      `json:"netuid"`
	Owner   string      `json:"owner"`
	Params  Hyperparams `json:"params"`
	Burn    uint64      `json:"burn"`
	N       uint16      `json:"n"`
	Created uint64      `json:"created"`
	// Epoch is the subnet's current epoch index, the epochs run so far: a
	// daemon that sees it change knows its uid's figures were recomputed.
	Epoch uint64 `json:"epoch"`
}

// NeuronView is one uid of the metagraph: every per-uid field of
// DESIGN.md section 3.
type NeuronView struct {
	UID             uint16            `json:"uid"`
	Hotkey          string            `json:"hotkey"`
	Coldkey         string            `json:"coldkey"`
	Stake           uint64            `json:"stake"`
	Consensus       uint16            `json:"consensus"`
	Incentive       uint16            `json:"incentive"`
	Dividends       uint16            `json:"dividends"`
	Emission        uint64            `json:"emission"`
	ValidatorTrust  uint16            `json:"validator_trust"`
	ValidatorPermit bool              `json:"validator_permit"`
	LastUpdate      uint64            `json:"last_update"`
	RegisteredAt    uint64            `json:"registered_at"`
	PruningScore    uint16            `json:"pruning_score"`
	Axon            *AxonView         `json:"axon"`
	Weights         []consensus.Entry `json:"weights,omitempty"`
	Bonds           []consensus.Entry `json:"bonds,omitempty"`
	// Mechanisms has one entry per mechanism, in order, on a subnet with
	// more than one; the fields above are then their aggregate (LastUpdate,
	// Weights and Bonds are mechanism 0's). Absent with one mechanism.
	Mechanisms []MechanismNeuronView `json:"mechanisms,omitempty"`
}

// MechanismNeuronView is what one mechanism's last epoch computed for a
// uid, and when the uid last set weights there.
type MechanismNeuronView struct {
	Mechanism      uint8  `json:"mechanism"`
	Consensus      uint16 `json:"consensus"`
	Incentive      uint16 `json:"incentive"`
	Dividends      uint16 `json:"dividends"`
	ValidatorTrust uint16 `json:"validator_trust"`
	Emission       uint64 `json:"emission"`
	LastUpdate     uint64 `json:"last_update"`
}

// AxonView is a served endpoint.
type AxonView struct {
	Addr     string `json:"addr"`
	Protocol uint8  `json:"protocol"`
	Block    uint64 `json:"block"`
}

// MetagraphView is a subnet and all of its neurons, by uid.
type MetagraphView struct {
	Subnet  SubnetView   `json:"subnet"`
	Neurons []NeuronView `json:"neurons"`
}

// SupplyView is the supply ledger: total = genesis + minted − burned.
type SupplyView struct {
	Total   uint64 `json:"total"`
	Genesis uint64 `json:"genesis"`
	Minted  uint64 `json:"minted"`
	Burned  uint64 `json:"burned"`
}

// NonceView is an account's nonce at the last block and the nonce its
// next transaction must carry for this node's CheckTx to admit it: Next
// counts the account's transactions already admitted to the mempool
// (Next − Nonce of them), so a sender signs at Next without waiting for
// a block.
type NonceView struct {
	Nonce uint64 `json:"nonce"`
	Next  uint64 `json:"next"`
}

// Query answers read-only questions about the state at the last block,
// and /nonce/ also about the mempool as CheckTx sees it.
func (a *App) Query(_ context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	var v any
	var err error
	if rest, ok := strings.CutPrefix(req.Path, QueryNonce); ok {
		var id AccountID
		if id, err = ParseAccountID(rest); err == nil {
			v = NonceView{Nonce: a.state.accounts[id].Nonce, Next: a.NextNonce(id)}
		}
	} else {
		v, err = a.state.query(req.Path)
	}
	if err != nil {
		return &abci.ResponseQuery{Code: 1, Log: err.Error(), Height: a.height, Codespace: "agora"}, nil
	}
	b, jerr := json.Marshal(v)
	if jerr != nil {
		return &abci.ResponseQuery{Code: 1, Log: jerr.Error(), Height: a.height}, nil
	}
	return &abci.ResponseQuery{Code: 0, Value: b, Height: a.height}, nil
}

func (s *State) query(path string) (any, error) {
	switch {
	case path == QuerySupply:
		g := s.global
		return SupplyView{Total: g.TotalSupply, Genesis: g.GenesisSupply, Minted: g.Minted, Burned: g.Burned}, nil
	case path == QueryEmission:
		g := s.global
		v := EmissionView{PerBlock: g.EmissionPerBlock, Shares: []ShareView{}}
		if g.Governance != (AccountID{}) {
			v.Governance = g.Governance.String()
		}
		for _, nu := range s.netuids() {
			v.Shares = append(v.Shares, ShareView{Netuid: nu, Share: s.subnets[nu].Share})
		}
		return v, nil
	case strings.HasPrefix(path, QueryWeights), strings.HasPrefix(path, QueryBonds):
		bonds := strings.HasPrefix(path, QueryBonds)
		rest := strings.TrimPrefix(strings.TrimPrefix(path, QueryWeights), QueryBonds)
		rest, m, err := s.queryMechanism(path, rest, 2)
		if err != nil {
			return nil, err
		}
		netuid, uid, n, err := s.queryNeuron(path, rest)
		if err != nil {
			return nil, err
		}
		if err := s.hasMechanism(netuid, m); err != nil {
			return nil, err
		}
		st := n.Mechanism(m)
		v := RowView{Netuid: netuid, Mechanism: m, UID: uid, Hotkey: n.Hotkey.String(), LastUpdate: st.LastUpdate, Row: st.Weights}
		if bonds {
			v.Row = st.Bonds
		}
		if v.Row == nil {
			v.Row = []consensus.Entry{}
		}
		return v, nil
	case strings.HasPrefix(path, QueryCommits):
		rest, m, err := s.queryMechanism(path, strings.TrimPrefix(path, QueryCommits), 2)
		if err != nil {
			return nil, err
		}
		parts := strings.Split(rest, "/")
		if len(parts) != 2 {
			return nil, fmt.Errorf("query %s: want /commits/<netuid>/<hex hotkey>[/<mechanism>]", path)
		}
		netuid, err := parseNetuid(parts[0])
		if err != nil {
			return nil, err
		}
		hk, err := ParseAccountID(parts[1])
		if err != nil {
			return nil, err
		}
		if err := s.hasMechanism(netuid, m); err != nil {
			return nil, err
		}
		sn := s.subnets[netuid]
		v := CommitsView{Netuid: netuid, Mechanism: m, Hotkey: hk.String(), Epoch: sn.Epochs, RevealPeriod: sn.Params.RevealPeriodEpochs, Commits: []CommitView{}}
		for _, c := range s.commits[mechKey{netuid, m}][hk] {
			v.Commits = append(v.Commits, CommitView{Hash: fmt.Sprintf("%x", c.Hash[:]), Epoch: c.Epoch, Block: c.Block,
				RevealEpoch: c.Epoch + sn.Params.RevealPeriodEpochs})
		}
		return v, nil
	case strings.HasPrefix(path, QueryEpoch):
		netuid, err := parseNetuid(strings.TrimPrefix(path, QueryEpoch))
		if err != nil {
			return nil, err
		}
		sn, ok := s.subnets[netuid]
		if !ok {
			return nil, fmt.Errorf("no subnet %d", netuid)
		}
		v := EpochView{Netuid: netuid, Epoch: sn.Epochs, NextEpochBlock: sn.LastEpoch + sn.Params.Tempo,
			Emission: sn.LastEmission, Neurons: make([]EpochUIDView, 0, sn.N)}
		if sn.Epochs > 0 {
			v.LastEpochBlock = sn.LastEpoch
		}
		for uid := range sn.N {
			n := s.neurons[neuronKey{netuid, uid}]
			v.Neurons = append(v.Neurons, EpochUIDView{UID: uid, Consensus: n.Consensus, Incentive: n.Incentive,
				Dividends: n.Dividends, ValidatorTrust: n.ValidatorTrust, Emission: n.Emission,
				ValidatorPermit: n.Permit, PruningScore: n.PruningScore})
		}
		return v, nil
	case strings.HasPrefix(path, QueryDatasets):
		netuid, err := parseNetuid(strings.TrimPrefix(path, QueryDatasets))
		if err != nil {
			return nil, err
		}
		return s.datasetsView(netuid)
	case strings.HasPrefix(path, QueryAccount):
		id, err := ParseAccountID(strings.TrimPrefix(path, QueryAccount))
		if err != nil {
			return nil, err
		}
		a := s.accounts[id]
		return AccountView{Balance: a.Balance, Nonce: a.Nonce}, nil
	case strings.HasPrefix(path, QueryColdkey):
		id, err := ParseAccountID(strings.TrimPrefix(path, QueryColdkey))
		if err != nil {
			return nil, err
		}
		return s.coldkeyView(id), nil
	case strings.HasPrefix(path, QueryHotkey):
		id, err := ParseAccountID(strings.TrimPrefix(path, QueryHotkey))
		if err != nil {
			return nil, err
		}
		h, ok := s.hotkeys[id]
		if !ok {
			return nil, fmt.Errorf("hotkey %s is not registered", id)
		}
		return HotkeyView{Owner: h.Owner.String(), Take: h.Take, Stake: h.Stake}, nil
	case strings.HasPrefix(path, QuerySubnet):
		netuid, err := parseNetuid(strings.TrimPrefix(path, QuerySubnet))
		if err != nil {
			return nil, err
		}
		return s.subnetView(netuid)
	case strings.HasPrefix(path, QueryNeuron):
		_, uid, n, err := s.queryNeuron(path, strings.TrimPrefix(path, QueryNeuron))
		if err != nil {
			return nil, err
		}
		return s.neuronView(uid, n, true), nil
	case strings.HasPrefix(path, QueryMetagraph):
		netuid, err := parseNetuid(strings.TrimPrefix(path, QueryMetagraph))
		if err != nil {
			return nil, err
		}
		sv, err := s.subnetView(netuid)
		if err != nil {
			return nil, err
		}
		mg := MetagraphView{Subnet: sv, Neurons: make([]NeuronView, 0, sv.N)}
		for uid := range sv.N {
			mg.Neurons = append(mg.Neurons, s.neuronView(uid, s.neurons[neuronKey{netuid, uid}], false))
		}
		return mg, nil
	}
	return nil, fmt.Errorf("unknown query path %q", path)
}

// queryMechanism splits an optional trailing "/<mechanism>" off rest, a
// path's part after its kind, when rest has more than parts parts.
func (s *State) queryMechanism(path, rest string, parts int) (string, uint8, error) {
	if strings.Count(rest, "/") < parts {
		return rest, 0, nil
	}
	i := strings.LastIndexByte(rest, '/')
	m, err := strconv.ParseUint(rest[i+1:], 10, 8)
	if err != nil {
		return "", 0, fmt.Errorf("query %s: mechanism %q: want an integer in [0, %d]", path, rest[i+1:], MaxMechanisms-1)
	}
	return rest[:i], uint8(m), nil
}

// hasMechanism says, when netuid exists but lacks mechanism m, why.
func (s *State) hasMechanism(netuid uint16, m uint8) error {
	sn, ok := s.subnets[netuid]
	if !ok {
		return fmt.Errorf("no subnet %d", netuid)
	}
	if c := sn.Params.MechanismCount; m >= c {
		return fmt.Errorf("subnet %d has no mechanism %d: its mechanism_count is %d", netuid, m, c)
	}
	return nil
}

// queryNeuron parses "<netuid>/<uid>" and finds the neuron.
func (s *State) queryNeuron(path, rest string) (uint16, uint16, *Neuron, error) {
	parts := strings.Split(rest, "/")
	if len(parts) != 2 {
		return 0, 0, nil, fmt.Errorf("query %s: want <netuid>/<uid> after the path's kind", path)
	}
	netuid, err := parseNetuid(parts[0])
	if err != nil {
		return 0, 0, nil, err
	}
	uid, err := strconv.ParseUint(parts[1], 10, 16)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("uid %q: want an integer", parts[1])
	}
	n, ok := s.neurons[neuronKey{netuid, uint16(uid)}]
	if !ok {
		return 0, 0, nil, fmt.Errorf("subnet %d has no uid %d", netuid, uid)
	}
	return netuid, uint16(uid), n, nil
}

func parseNetuid(s string) (uint16, error) {
	v, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("netuid %q: want an integer in [0, 65535]", s)
	}
	return uint16(v), nil
}

func (s *State) subnetView(netuid uint16) (SubnetView, error) {
	sn, ok := s.subnets[netuid]
	if !ok {
		return SubnetView{}, fmt.Errorf("no subnet %d", netuid)
	}
	return SubnetView{Netuid: netuid, Owner: sn.Owner.String(), Params: sn.Params, Burn: sn.Burn, N: sn.N, Created: sn.Created, Epoch: sn.Epochs}, nil
}

func (s *State) neuronView(uid uint16, n *Neuron, rows bool) NeuronView {
	hk := s.hotkeys[n.Hotkey]
	v := NeuronView{
		UID: uid, Hotkey: n.Hotkey.String(), Coldkey: hk.Owner.String(), Stake: hk.Stake,
		Consensus: n.Consensus, Incentive: n.Incentive, Dividends: n.Dividends, Emission: n.Emission,
		ValidatorTrust: n.ValidatorTrust, ValidatorPermit: n.Permit, LastUpdate: n.LastUpdate,
		RegisteredAt: n.RegisteredAt, PruningScore: n.PruningScore,
	}
	if n.Axon.Port != 0 {
		ip := netip.AddrFrom16(n.Axon.IP).Unmap()
		v.Axon = &AxonView{Addr: netip.AddrPortFrom(ip, n.Axon.Port).String(), Protocol: n.Axon.Protocol, Block: n.Axon.Block}
	}
	if rows {
		v.Weights, v.Bonds = n.Weights, n.Bonds
	}
	if len(n.Results) > 0 {
		v.Mechanisms = make([]MechanismNeuronView, len(n.Results))
		for m := range v.Mechanisms {
			r, st := n.Result(uint8(m)), n.Mechanism(uint8(m))
			v.Mechanisms[m] = MechanismNeuronView{Mechanism: uint8(m), Consensus: r.Consensus, Incentive: r.Incentive,
				Dividends: r.Dividends, ValidatorTrust: r.ValidatorTrust, Emission: r.Emission, LastUpdate: st.LastUpdate}
		}
	}
	return v
}
