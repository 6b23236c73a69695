package chainclient

import (
	"math"
	"testing"

	"github.com/seed0ffb8d46/agora/chain"
)

// StandingOf reads a uid's figures by role, ranks it among the subnet's
// uids (ties share a rank), per mechanism too, and says the stake a
// validator without a permit needs.
func TestStandingOf(t *testing.T) {
	hk := func(b byte) chain.AccountID { var a chain.AccountID; a[0] = b; return a }
	u16 := func(f float64) uint16 { return uint16(f * math.MaxUint16) }
	view := &chain.MetagraphView{
		Subnet: chain.SubnetView{Netuid: 3, Epoch: 7, Params: chain.Hyperparams{MaxValidators: 2}},
		Neurons: []chain.NeuronView{
			{UID: 0, Hotkey: hk(1).String(), Stake: 500, ValidatorPermit: true, Dividends: u16(0.6), ValidatorTrust: u16(0.9)},
			{UID: 1, Hotkey: hk(2).String(), Stake: 300, ValidatorPermit: true, Dividends: u16(0.4), ValidatorTrust: u16(0.8)},
			{UID: 2, Hotkey: hk(3).String(), Stake: 100, Incentive: u16(0.5), Consensus: u16(0.5),
				Mechanisms: []chain.MechanismNeuronView{{Mechanism: 0, Incentive: u16(0.5)}, {Mechanism: 1, Incentive: u16(0.1)}}},
			{UID: 3, Hotkey: hk(4).String(), Incentive: u16(0.5), Consensus: u16(0.4),
				Mechanisms: []chain.MechanismNeuronView{{Mechanism: 0, Incentive: u16(0.1)}, {Mechanism: 1, Incentive: u16(0.9)}}},
		},
	}
	miner := StandingOf(view, hk(3), RoleMiner)
	if !miner.Registered || miner.UID != 2 || miner.Epoch != 7 || miner.Netuid != 3 || miner.Rank != 1 || miner.N != 4 || math.Abs(miner.Figure-0.5) > 1e-4 {
		t.Errorf("miner: %+v, want uid 2 ranked 1 of 4 (a tie) with incentive 0.5", miner)
	}
	if len(miner.Mechanisms) != 2 || miner.Mechanisms[0].Rank != 1 || miner.Mechanisms[1].Rank != 2 || math.Abs(miner.Mechanisms[1].Figure-0.1) > 1e-4 {
		t.Errorf("miner's mechanisms: %+v, want rank 1 on 0 and 2 on 1", miner.Mechanisms)
	}
	second := StandingOf(view, hk(2), RoleValidator)
	if second.Rank != 2 || !second.Permit || math.Abs(second.Trust-0.8) > 1e-4 {
		t.Errorf("validator: %+v, want rank 2 by dividends, trust 0.8, a permit", second)
	}
	// Uid 2 has no permit, and both are held: it needs more than 300.
	if s := StandingOf(view, hk(3), RoleValidator); s.Permit || s.Permits != 2 || s.StakeNeeded != 301 || s.Stake != 100 {
		t.Errorf("no permit, full: %+v, want stake needed 301", s)
	}
	view.Subnet.Params.MaxValidators = 3
	if s := StandingOf(view, hk(3), RoleValidator); s.StakeNeeded != 1 {
		t.Errorf("no permit, a permit free: %+v, want any stake (1)", s)
	}
	if s := StandingOf(view, hk(9), RoleMiner); s.Registered || s.Epoch != 7 {
		t.Errorf("unregistered: %+v", s)
	}
}
