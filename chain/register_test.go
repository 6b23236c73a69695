package chain

import (
	"fmt"
	"math"
	"strings"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
)

// regChain is a chain with one subnet of params owned by key 1, and
// coldkey key 2 rich enough to register many hotkeys (keys 100+).
type regChain struct {
	*testChain
	ownerNonce, coldNonce uint64
}

func newRegChain(t *testing.T, p Hyperparams) *regChain {
	t.Helper()
	_, owner := testKey(1)
	_, cold := testKey(2)
	c := &regChain{testChain: newTestChain(t, map[AccountID]uint64{owner: 1000 * Unit, cold: 1_000_000 * Unit})}
	ownerPriv, _ := testKey(1)
	c.mustBlock(sign(t, ownerPriv, 0, &CreateSubnet{Params: p}))
	c.ownerNonce = 1
	return c
}

func hotkeyID(i int) AccountID { _, id := testKey(100 + i); return id }

// register signs a registration of hotkey i by the rich coldkey.
func (c *regChain) register(i int, maxBurn uint64) []byte {
	priv, _ := testKey(2)
	raw := sign(c.t, priv, c.coldNonce, &Register{Netuid: 1, Hotkey: hotkeyID(i), MaxBurn: maxBurn})
	c.coldNonce++
	return raw
}

// mutate changes the state outside any transaction, as an epoch would;
// the next block stages the change.
func (c *testChain) mutate(f func(s *State)) {
	f(c.app.State())
	c.app.State().forget()
}

func (c *testChain) setPruningScores(netuid uint16, scores ...uint16) {
	c.mutate(func(s *State) {
		for uid, sc := range scores {
			n, ok := s.Neuron(netuid, uint16(uid))
			if !ok {
				c.t.Fatalf("no uid %d", uid)
			}
			n.PruningScore = sc
			s.setNeuron(netuid, uint16(uid), &n)
		}
	})
}

func regParams(maxUIDs uint16, immunity uint64) Hyperparams {
	p := DefaultHyperparams()
	p.MaxUIDs, p.MaxValidators = maxUIDs, maxUIDs
	p.ImmunityPeriod = immunity
	p.MinBurn, p.MaxBurn = Unit, 1000*Unit
	p.AdjustmentInterval = 1_000_000
	p.TargetRegistrations = 1000 // no cap on registrations in these tests
	return p
}

func TestRegisterFillsUIDsInOrder(t *testing.T) {
	c := newRegChain(t, regParams(8, 100))
	var txs [][]byte
	for i := range 8 {
		txs = append(txs, c.register(i, Unit))
	}
	res := c.mustBlock(txs...)
	for i, r := range res {
		if got := eventAttr(r.Events, "register", "uid"); got != fmt.Sprint(i) {
			t.Errorf("registration %d got uid %s", i, got)
		}
		if uid, ok := c.app.State().UID(1, hotkeyID(i)); !ok || int(uid) != i {
			t.Errorf("hotkey %d at uid %d %v", i, uid, ok)
		}
	}
	if sn := c.subnet(1); sn.N != 8 || sn.Regs != 8 {
		t.Errorf("subnet %+v", sn)
	}
	// The ninth finds every neuron immune.
	res = c.block(c.register(8, Unit))
	if Code(res[0].Code) != CodeSubnetFull {
		t.Errorf("ninth: %s %s", Code(res[0].Code), res[0].Log)
	}
	c.coldNonce--
	mg, err := c.app.State().query("/metagraph/1")
	if err != nil || len(mg.(MetagraphView).Neurons) != 8 {
		t.Fatalf("metagraph %v %v", mg, err)
	}
}

func eventAttr(events []abci.Event, typ, key string) string {
	for _, e := range events {
		if e.Type == typ {
			for _, a := range e.Attributes {
				if a.Key == key {
					return a.Value
				}
			}
		}
	}
	return ""
}

// TestPruneCandidate checks the choice of the uid to replace on a full
// subnet: not immune, lowest pruning score, then earliest registration,
// then lowest uid.
func TestPruneCandidate(t *testing.T) {
	type nrn struct {
		reg   uint64
		score uint16
	}
	for _, tc := range []struct {
		name    string
		height  uint64
		neurons []nrn
		want    int // -1: none
	}{
		{"all immune", 105, []nrn{{100, 0}, {101, 0}, {102, 0}}, -1},
		{"lowest score", 200, []nrn{{100, 5}, {101, 3}, {102, 4}}, 1},
		{"tie: earlier registration", 200, []nrn{{100, 5}, {102, 3}, {101, 3}, {103, 3}}, 2},
		{"tie: lower uid", 200, []nrn{{100, 5}, {101, 3}, {101, 3}, {101, 3}}, 1},
		{"immune lowest score is skipped", 200, []nrn{{100, 9}, {195, 0}, {100, 7}}, 2},
		{"immunity ends exactly at the period", 200, []nrn{{190, 1}, {191, 0}}, 0},
		{"only one not immune", 200, []nrn{{195, 0}, {196, 0}, {150, 65535}}, 2},
		{"registered this block is immune", 200, []nrn{{200, 0}, {100, 1}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewState()
			p := regParams(uint16(len(tc.neurons)), 10)
			sn := Subnet{Params: p, N: uint16(len(tc.neurons))}
			for uid, n := range tc.neurons {
				s.setNeuron(1, uint16(uid), &Neuron{Hotkey: hotkeyID(uid), RegisteredAt: n.reg, PruningScore: n.score})
			}
			uid, ok := s.pruneCandidate(1, sn, Block{Height: tc.height})
			if tc.want < 0 {
				if ok {
					t.Errorf("picked uid %d, want none", uid)
				}
				return
			}
			if !ok || int(uid) != tc.want {
				t.Errorf("picked uid %d (%v), want %d", uid, ok, tc.want)
			}
		})
	}
}

func TestRegisterReplacesLowestPruningScore(t *testing.T) {
	c := newRegChain(t, regParams(4, 10))
	// uid 0 at height 2, uid 1 at 3, uids 2 and 3 at 4.
	c.mustBlock(c.register(0, Unit))
	c.mustBlock(c.register(1, Unit))
	c.mustBlock(c.register(2, Unit), c.register(3, Unit))
	// Immunity: at height 5..13 uid 3 (registered at 4) is immune; at 12
	// uids 0 and 1 are not (12-2 >= 10, 12-3 < 10: uid 1 is).
	c.setPruningScores(1, 9, 0, 0, 0)
	for c.height < 11 {
		c.block()
	}
	// Height 12: only uid 0 is past immunity, even though its score is
	// the highest.
	res := c.block(c.register(4, Unit))
	if res[0].Code != 0 || eventAttr(res[0].Events, "register", "uid") != "0" {
		t.Fatalf("at 12: %s %s %v", Code(res[0].Code), res[0].Log, res[0].Events)
	}
	if _, ok := c.app.State().UID(1, hotkeyID(0)); ok {
		t.Errorf("the replaced hotkey keeps its uid")
	}
	if n, _ := c.app.State().Neuron(1, 0); n.Hotkey != hotkeyID(4) || n.RegisteredAt != 12 || n.PruningScore != 0 || n.Axon != (Axon{}) {
		t.Errorf("new neuron %+v", n)
	}
	if sn := c.subnet(1); sn.N != 4 {
		t.Errorf("N = %d", sn.N)
	}
	// The replaced hotkey stays registered as a hotkey (its stake is
	// safe) and its coldkey may register it again.
	if _, ok := c.app.State().Hotkey(hotkeyID(0)); !ok {
		t.Errorf("hotkey record of the replaced neuron is gone")
	}
	// Height 14: uids 1, 2, 3 are past immunity (scores 0, 0, 0; uid 1
	// registered first), uid 0 is immune again.
	c.setPruningScores(1, 0, 0, 0, 0)
	c.block()
	res = c.block(c.register(0, Unit))
	if got := eventAttr(res[0].Events, "register", "uid"); res[0].Code != 0 || got != "1" {
		t.Fatalf("at 14: uid %s, %s %s", got, Code(res[0].Code), res[0].Log)
	}
	// Height 15: uids 2 and 3 tie on score and registration: uid 2.
	res = c.block(c.register(1, Unit))
	if got := eventAttr(res[0].Events, "register", "uid"); res[0].Code != 0 || got != "2" {
		t.Fatalf("at 15: uid %s, %s %s", got, Code(res[0].Code), res[0].Log)
	}
	// Height 16: uid 3 has a higher score than nobody else non-immune.
	c.setPruningScores(1, 0, 0, 0, 65535)
	res = c.block(c.register(5, Unit))
	if got := eventAttr(res[0].Events, "register", "uid"); res[0].Code != 0 || got != "3" {
		t.Fatalf("at 16: uid %s, %s %s", got, Code(res[0].Code), res[0].Log)
	}
	// Height 17: everyone is immune.
	res = c.block(c.register(6, Unit))
	if Code(res[0].Code) != CodeSubnetFull || !strings.Contains(res[0].Log, "every neuron is immune") {
		t.Fatalf("at 17: %s %s", Code(res[0].Code), res[0].Log)
	}
	supplyInvariant(t, c.app.State())
	c.checkConsistency(true)
}

func TestImmuneNeuronNeverReplaced(t *testing.T) {
	// Immunity longer than the test: however many try, uid 0 stays.
	c := newRegChain(t, regParams(1, 1000))
	c.mustBlock(c.register(0, Unit))
	c.setPruningScores(1, 0)
	for i := 1; i < 20; i++ {
		res := c.block(c.register(i, Unit))
		c.coldNonce--
		if Code(res[0].Code) != CodeSubnetFull {
			t.Fatalf("attempt %d: %s %s", i, Code(res[0].Code), res[0].Log)
		}
	}
	if n, _ := c.app.State().Neuron(1, 0); n.Hotkey != hotkeyID(0) {
		t.Errorf("uid 0 was replaced")
	}
}

// TestBurnAdjustment checks burn·(regs+target)/(2·target), clamped, once
// per adjustment interval, over several intervals.
func TestBurnAdjustment(t *testing.T) {
	p := regParams(64, 0)
	p.MinBurn, p.MaxBurn = Unit/4, 5*Unit
	p.TargetRegistrations, p.AdjustmentInterval = 2, 5
	c := newRegChain(t, p) // created at height 1: intervals start at 1, 6, 11, ...
	next := 0
	regs := func(n int) [][]byte {
		var txs [][]byte
		for range n {
			txs = append(txs, c.register(next, math.MaxUint64))
			next++
		}
		return txs
	}
	// Registrations per interval, and the burn after it.
	steps := []struct {
		regs int
		burn uint64
	}{
		{4, 375_000_000},   // 0.25e9 (min_burn, the start)·6/4
		{2, 375_000_000},   // on target
		{0, Unit / 4},      // 187_500_000 clamped up to min_burn
		{6, 500_000_000},   // ·8/4: the most an interval may take, 3× the target
		{6, Unit},          // ·8/4
		{6, 2 * Unit},      // ·8/4
		{6, 4 * Unit},      // ·8/4
		{6, 5 * Unit},      // 8e9 clamped down to max_burn
		{3, 5 * Unit},      // ·5/4 clamped
		{1, 3_750_000_000}, // ·3/4
		{0, 1_875_000_000}, // ·2/4
		{1, 1_406_250_000}, // ·3/4
		{0, 703_125_000},   // ·2/4
		{3, 878_906_250},   // ·5/4
		{1, 659_179_687},   // ·3/4 = 659_179_687.5, rounded down
	}
	height := func() uint64 { return uint64(c.height) }
	for i, st := range steps {
		start := height() // the block the interval started at (after creation: 1)
		if i == 0 {
			start = 1
		}
		// Spread the registrations over the interval's blocks.
		for b := 0; height() < start+p.AdjustmentInterval-1; b++ {
			var txs [][]byte
			if b == 0 {
				txs = regs(st.regs)
			}
			for j, r := range c.block(txs...) {
				if r.Code != 0 {
					t.Fatalf("interval %d reg %d: %s", i, j, r.Log)
				}
			}
		}
		if got := c.subnet(1).Regs; int(got) != st.regs {
			t.Fatalf("interval %d: %d registrations counted, want %d", i, got, st.regs)
		}
		burnBefore := c.subnet(1).Burn
		c.block() // the adjustment block
		sn := c.subnet(1)
		if sn.Burn != st.burn || sn.Regs != 0 || sn.RegsAt != height() {
			t.Fatalf("interval %d (%d regs, burn %d): burn %d regs %d at %d, want burn %d at %d",
				i, st.regs, burnBefore, sn.Burn, sn.Regs, sn.RegsAt, st.burn, height())
		}
	}
	supplyInvariant(t, c.app.State())
}

func TestBurnAdjustmentOverflow(t *testing.T) {
	p := regParams(64, 0)
	p.MinBurn, p.MaxBurn = 0, math.MaxUint64
	p.TargetRegistrations, p.AdjustmentInterval = 1, 1
	s := NewState()
	s.setSubnet(1, Subnet{Params: p, Burn: 1 << 62, Regs: 7})
	s.beginBlock(Block{Height: 1})
	if sn, _ := s.Subnet(1); sn.Burn != math.MaxUint64 {
		t.Errorf("burn %d, want max_burn", sn.Burn)
	}
	s.setSubnet(1, Subnet{Params: p, Burn: 1 << 62, Regs: 2}) // ·3/2 fits
	s.beginBlock(Block{Height: 2})
	if sn, _ := s.Subnet(1); sn.Burn != 3<<61 {
		t.Errorf("burn %d, want %d", sn.Burn, uint64(3<<61))
	}
}

// TestMaxBurnProtectsRegistrant: a registration signed at the current
// cost fails, charging nothing, when the cost rises before it lands.
func TestMaxBurnProtectsRegistrant(t *testing.T) {
	p := regParams(64, 0)
	p.TargetRegistrations, p.AdjustmentInterval = 2, 3
	c := newRegChain(t, p) // height 1
	c.mustBlock(c.register(0, Unit), c.register(1, Unit), c.register(2, Unit), c.register(4, Unit), c.register(5, Unit))
	c.block()
	// Signed at burn 1 AGR, included after the adjustment at height 4.
	raw := c.register(3, c.subnet(1).Burn)
	ck := c.checkTx(raw, abci.CheckTxType_New)
	if ck.Code != 0 {
		t.Fatalf("CheckTx before the adjustment: %s", ck.Log)
	}
	_, cold := testKey(2)
	before := c.snap()
	res := c.block(raw)
	const newBurn = Unit * 7 / 4 // 5 registrations against a target of 2
	if c.subnet(1).Burn != newBurn {
		t.Fatalf("burn %d, want %d", c.subnet(1).Burn, newBurn)
	}
	if Code(res[0].Code) != CodeBurnTooHigh || !strings.Contains(res[0].Log, "registration costs 1.750000000 AGR (1750000000 base units), above the 1.000000000 AGR (1000000000 base units) you allowed") {
		t.Fatalf("%s %s", Code(res[0].Code), res[0].Log)
	}
	after := c.snap()
	if got := changedKeys(before.dump, after.dump); len(got) != 1 || got[0] != "subnet/1" {
		t.Errorf("changed %v, want only the subnet's burn", got)
	}
	if c.app.State().Account(cold) != before.account(t, cold) {
		t.Errorf("the registrant was charged")
	}
	// With the new max it goes through at the new price.
	c.coldNonce--
	bal := c.balance(cold)
	c.mustBlock(c.register(3, newBurn))
	if got := bal - c.balance(cold); got != newBurn+DefaultFees().Register {
		t.Errorf("charged %d", got)
	}
}

func (s snapshot) account(t *testing.T, id AccountID) Account {
	st := NewState()
	if v, ok := s.dump[keyAccount(id)]; ok {
		if err := st.loadRecord(keyAccount(id), v); err != nil {
			t.Fatal(err)
		}
	}
	return st.Account(id)
}

func TestSubnetLimit(t *testing.T) {
	priv, id := testKey(1)
	fees := DefaultFees()
	fees.CreateSubnet = 0
	c := newTestChainOn(t, dbm.NewMemDB(), testGenesis(map[AccountID]uint64{id: Unit}, fees))
	p := subnet1Params()
	var txs [][]byte
	for i := range MaxSubnets {
		txs = append(txs, sign(t, priv, uint64(i), &CreateSubnet{Params: p}))
	}
	c.mustBlock(txs...)
	if g := c.global(); g.NextNetuid != MaxSubnets+1 || len(c.app.State().subnets) != MaxSubnets {
		t.Fatalf("next netuid %d, %d subnets", g.NextNetuid, len(c.app.State().subnets))
	}
	before := c.snap()
	res := c.block(sign(t, priv, MaxSubnets, &CreateSubnet{Params: p}))
	if Code(res[0].Code) != CodeSubnetLimit || !strings.Contains(res[0].Log, "already has 1024 subnets") {
		t.Fatalf("%s %s", Code(res[0].Code), res[0].Log)
	}
	sameSnapshot(t, "rejected create_subnet", before, c.snap())
}

// TestRegistrationCapPerInterval: a subnet takes at most three times its
// target registrations in one adjustment interval; the next one is refused
// with a code that says when the interval ends, charging nothing, and the
// next interval takes registrations again.
func TestRegistrationCapPerInterval(t *testing.T) {
	p := regParams(64, 0)
	p.TargetRegistrations, p.AdjustmentInterval = 2, 10
	c := newRegChain(t, p) // created at height 1: the next interval starts at 11
	var txs [][]byte
	for i := range 6 {
		txs = append(txs, c.register(i, 100*Unit))
	}
	c.mustBlock(txs...)
	before := c.snap()
	res := c.block(c.register(6, 100*Unit))
	if Code(res[0].Code) != CodeTooManyRegistrations || !strings.Contains(res[0].Log, "took 6 registrations this adjustment interval, 3 times its target of 2; the next interval starts at block 11") {
		t.Fatalf("seventh registration: %s %s", Code(res[0].Code), res[0].Log)
	}
	if got := changedKeys(before.dump, c.snap().dump); len(got) != 0 {
		t.Errorf("a refused registration changed %v", got)
	}
	c.coldNonce--
	for c.height < 10 {
		c.block()
	}
	c.mustBlock(c.register(6, 100*Unit)) // block 11: a new interval
	if n := c.subnet(1).N; n != 7 {
		t.Errorf("N = %d, want 7", n)
	}
}
