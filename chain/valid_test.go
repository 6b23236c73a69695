package chain

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
)

// applyValid runs raw in a block of its own and checks that it succeeds,
// changes exactly the records named in changed (describeKey's names), burns
// exactly burned, keeps the supply invariant, and emits events (one for
// most kinds).
func applyValid(t *testing.T, f *fixture, raw []byte, burned uint64, changed []string, events ...abci.Event) {
	t.Helper()
	before := f.snap()
	g0 := f.global()
	res := f.block(raw)
	if res[0].Code != 0 {
		t.Fatalf("code %d (%s) %s", res[0].Code, Code(res[0].Code), res[0].Log)
	}
	after := f.snap()
	got := slices.DeleteFunc(changedKeys(before.dump, after.dump), func(k string) bool { return strings.HasPrefix(k, "~stakers/") })
	if !reflect.DeepEqual(got, changed) {
		t.Errorf("changed records %v, want %v", got, changed)
	}
	if reflect.DeepEqual(before.hash, after.hash) {
		t.Errorf("app hash did not change")
	}
	g := f.global()
	if g.Burned-g0.Burned != burned || g0.TotalSupply-g.TotalSupply != burned || g.Minted != g0.Minted {
		t.Errorf("burned %d, supply %d -> %d, want %d burned", g.Burned-g0.Burned, g0.TotalSupply, g.TotalSupply, burned)
	}
	if !reflect.DeepEqual(res[0].Events, events) {
		t.Errorf("events %v\nwant %v", res[0].Events, events)
	}
	supplyInvariant(t, f.app.State())
	f.checkConsistency(true)
}

func ev(kind Kind, signer AccountID, fee uint64, attrs ...abci.EventAttribute) abci.Event {
	return abci.Event{Type: kind.String(), Attributes: append([]abci.EventAttribute{
		{Key: "signer", Value: signer.String(), Index: true},
		{Key: "fee", Value: u64s(fee)},
	}, attrs...)}
}

func attr(k, v string, index bool) abci.EventAttribute {
	return abci.EventAttribute{Key: k, Value: v, Index: index}
}

func key4(id AccountID) string { return describeKey(keyAccount(id))[len("account/"):] }

func TestValidTransfer(t *testing.T) {
	fees := DefaultFees()
	for _, tc := range []struct {
		name, from, to string
		amount         uint64
	}{
		{"to an account", "alice", "carol", 3 * Unit},
		{"to a new account", "alice", "hkd", 1},
		{"of the whole balance after the fee", "hkb", "carol", 10*Unit - fees.Transfer},
		{"to oneself", "bob", "bob", 7 * Unit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			from, to := f.id[tc.from], f.id[tc.to]
			a0, b0 := f.app.State().Account(from), f.app.State().Account(to)
			changed := []string{"account/" + key4(from), "account/" + key4(to), "global"}
			if from == to {
				changed = changed[1:]
			}
			if key4(to) < key4(from) {
				changed[0], changed[1] = changed[1], changed[0]
			}
			applyValid(t, f, f.tx(tc.from, &Transfer{To: to, Amount: tc.amount}), fees.Transfer, changed,
				ev(KindTransfer, from, fees.Transfer, attr("recipient", to.String(), true), attr("amount", u64s(tc.amount), false)))
			a, b := f.app.State().Account(from), f.app.State().Account(to)
			if from == to {
				if a.Balance != a0.Balance-fees.Transfer || a.Nonce != a0.Nonce+1 {
					t.Errorf("self transfer: %+v -> %+v", a0, a)
				}
				return
			}
			if a.Balance != a0.Balance-tc.amount-fees.Transfer || a.Nonce != a0.Nonce+1 {
				t.Errorf("sender %+v -> %+v", a0, a)
			}
			if b.Balance != b0.Balance+tc.amount || b.Nonce != b0.Nonce {
				t.Errorf("recipient %+v -> %+v", b0, b)
			}
		})
	}
}

func TestValidCreateSubnet(t *testing.T) {
	f := newFixture(t)
	fee := DefaultFees().CreateSubnet
	alice := f.id["alice"]
	p := subnet1Params()
	p.MinBurn = 3 * Unit
	a0 := f.app.State().Account(alice)
	applyValid(t, f, f.tx("alice", &CreateSubnet{Params: p}), fee,
		[]string{"account/" + key4(alice), "global", "subnet/3"},
		ev(KindCreateSubnet, alice, fee, attr("netuid", "3", true)))
	sn, ok := f.app.State().Subnet(3)
	want := Subnet{Owner: alice, Params: p, Burn: 3 * Unit, RegsAt: uint64(f.height), Created: uint64(f.height),
		Share: 0, LastEpoch: uint64(f.height)} // no emission until governance gives it a share
	if !ok || !reflect.DeepEqual(sn, want) {
		t.Errorf("subnet 3 = %+v, want %+v", sn, want)
	}
	if g := f.global(); g.NextNetuid != 4 {
		t.Errorf("next netuid %d", g.NextNetuid)
	}
	if a := f.app.State().Account(alice); a.Balance != a0.Balance-fee || a.Nonce != a0.Nonce+1 {
		t.Errorf("alice %+v -> %+v", a0, a)
	}
}

func TestValidSetHyperparams(t *testing.T) {
	fee := DefaultFees().SetHyperparams
	for _, tc := range []struct {
		name     string
		mut      func(*Hyperparams)
		wantBurn uint64
	}{
		{"same burn range", func(p *Hyperparams) { p.Tempo = 10; p.Yuma3 = true }, 1 * Unit},
		{"burn raised to min_burn", func(p *Hyperparams) { p.MinBurn = 2 * Unit }, 2 * Unit},
		{"burn lowered to max_burn", func(p *Hyperparams) { p.MinBurn, p.MaxBurn = 0, Unit/2 }, Unit / 2},
		{"max_uids down to the uids in use", func(p *Hyperparams) { p.MaxUIDs, p.MaxValidators = 2, 2 }, 1 * Unit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			alice := f.id["alice"]
			p := badParams(tc.mut)
			sn0 := f.subnet(1)
			applyValid(t, f, f.tx("alice", &SetHyperparams{Netuid: 1, Params: p}), fee,
				[]string{"account/" + key4(alice), "global", "subnet/1"},
				ev(KindSetHyperparams, alice, fee, attr("netuid", "1", true)))
			want := sn0
			want.Params, want.Burn = p, tc.wantBurn
			if sn := f.subnet(1); !reflect.DeepEqual(sn, want) {
				t.Errorf("subnet 1 = %+v, want %+v", sn, want)
			}
		})
	}
}

func TestValidRegister(t *testing.T) {
	fees := DefaultFees()
	t.Run("new hotkey", func(t *testing.T) {
		f := newFixture(t)
		carol, hkb := f.id["carol"], f.id["hkb"]
		sn0 := f.subnet(1)
		c0 := f.app.State().Account(carol)
		changed := []string{"account/" + key4(carol), "global", "hotkey/" + key4(hkb), "neuron/1/2", "subnet/1", "~uid/1/" + key4(hkb)}
		applyValid(t, f, f.tx("carol", &Register{Netuid: 1, Hotkey: hkb, MaxBurn: Unit}), fees.Register+Unit, changed,
			ev(KindRegister, carol, fees.Register, attr("netuid", "1", true), attr("uid", "2", false),
				attr("hotkey", hkb.String(), true), attr("burn", u64s(Unit), false)))
		if c := f.app.State().Account(carol); c.Balance != c0.Balance-fees.Register-Unit || c.Nonce != 1 {
			t.Errorf("carol %+v -> %+v", c0, c)
		}
		want := sn0
		want.N, want.Regs = 3, sn0.Regs+1
		if sn := f.subnet(1); !reflect.DeepEqual(sn, want) {
			t.Errorf("subnet %+v, want %+v", sn, want)
		}
		if h, ok := f.app.State().Hotkey(hkb); !ok || h != (Hotkey{Owner: carol, Take: DefaultTake}) {
			t.Errorf("hotkey %+v %v", h, ok)
		}
		n, ok := f.app.State().Neuron(1, 2)
		h := uint64(f.height)
		if !ok || !reflect.DeepEqual(n, Neuron{Hotkey: hkb, RegisteredAt: h, LastUpdate: h}) {
			t.Errorf("neuron %+v", n)
		}
		if uid, ok := f.app.State().UID(1, hkb); !ok || uid != 2 {
			t.Errorf("uid %d %v", uid, ok)
		}
	})
	t.Run("owned hotkey on a second subnet", func(t *testing.T) {
		f := newFixture(t)
		alice, hka := f.id["alice"], f.id["hka"]
		f.mustBlock(f.tx("alice", &CreateSubnet{Params: subnet1Params()}))
		changed := []string{"account/" + key4(alice), "global", "neuron/3/0", "subnet/3", "~uid/3/" + key4(hka)}
		applyValid(t, f, f.tx("alice", &Register{Netuid: 3, Hotkey: hka, MaxBurn: Unit}), fees.Register+Unit, changed,
			ev(KindRegister, alice, fees.Register, attr("netuid", "3", true), attr("uid", "0", false),
				attr("hotkey", hka.String(), true), attr("burn", u64s(Unit), false)))
		if h := f.hotkey(hka); h.Owner != alice || h.Stake != 5*Unit {
			t.Errorf("hotkey %+v", h)
		}
	})
}

func TestValidServeAxon(t *testing.T) {
	fee := DefaultFees().ServeAxon
	if fee != 0 {
		t.Fatalf("serve_axon fee is %d: a new hotkey has no balance to pay it", fee)
	}
	for _, tc := range []struct {
		addr  string
		proto uint8
	}{
		{"10.0.0.1:8091", 0},
		{"[2001:db8::1]:443", 1},
		{"127.0.0.1:65535", 3},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			f := newFixture(t)
			hka := f.id["hka"]
			ap := netip.MustParseAddrPort(tc.addr)
			b := &ServeAxon{Netuid: 1, IP: ap.Addr().As16(), Port: ap.Port(), Protocol: tc.proto}
			n0, _ := f.app.State().Neuron(1, 0)
			changed := []string{"account/" + key4(hka), "neuron/1/0"} // the fee is 0: no burn
			applyValid(t, f, f.tx("hka", b), fee, changed,
				ev(KindServeAxon, hka, fee, attr("netuid", "1", true), attr("uid", "0", false), attr("addr", tc.addr, false)))
			want := n0
			want.Axon = Axon{IP: b.IP, Port: b.Port, Protocol: tc.proto, Block: uint64(f.height)}
			if n, _ := f.app.State().Neuron(1, 0); !reflect.DeepEqual(n, want) {
				t.Errorf("neuron %+v, want %+v", n, want)
			}
			q, err := f.app.State().query("/neuron/1/0")
			if err != nil || q.(NeuronView).Axon == nil || q.(NeuronView).Axon.Addr != tc.addr || q.(NeuronView).Axon.Protocol != tc.proto {
				t.Errorf("query: %+v %v", q, err)
			}
		})
	}
}

func TestValidStake(t *testing.T) {
	fee := DefaultFees().AddStake
	t.Run("add: delegation from another coldkey", func(t *testing.T) {
		f := newFixture(t)
		carol, hka := f.id["carol"], f.id["hka"]
		c0 := f.app.State().Account(carol)
		applyValid(t, f, f.tx("carol", &AddStake{Hotkey: hka, Amount: 2 * Unit}), fee,
			sortedNames("account/"+key4(carol), "global", "hotkey/"+key4(hka), "stake/"+key4(hka)+"/"+key4(carol)),
			ev(KindAddStake, carol, fee, attr("hotkey", hka.String(), true), attr("amount", u64s(2*Unit), false)))
		if c := f.app.State().Account(carol); c.Balance != c0.Balance-2*Unit-fee || c.Nonce != 1 {
			t.Errorf("carol %+v -> %+v", c0, c)
		}
		if h := f.hotkey(hka); h.Stake != 7*Unit || h.Owner != f.id["alice"] {
			t.Errorf("hotkey %+v", h)
		}
		if s := f.stake(hka, carol); s != 2*Unit {
			t.Errorf("carol's stake %d", s)
		}
		if s := f.stake(hka, f.id["bob"]); s != 5*Unit {
			t.Errorf("bob's stake %d", s)
		}
	})
	t.Run("add: to one's own hotkey, twice", func(t *testing.T) {
		f := newFixture(t)
		alice, hka := f.id["alice"], f.id["hka"]
		f.mustBlock(f.tx("alice", &AddStake{Hotkey: hka, Amount: Unit}))
		applyValid(t, f, f.tx("alice", &AddStake{Hotkey: hka, Amount: Unit}), fee,
			sortedNames("account/"+key4(alice), "global", "hotkey/"+key4(hka), "stake/"+key4(hka)+"/"+key4(alice)),
			ev(KindAddStake, alice, fee, attr("hotkey", hka.String(), true), attr("amount", u64s(Unit), false)))
		if h, s := f.hotkey(hka), f.stake(hka, alice); h.Stake != 7*Unit || s != 2*Unit {
			t.Errorf("hotkey %+v, stake %d", h, s)
		}
	})
	t.Run("remove: part", func(t *testing.T) {
		f := newFixture(t)
		bob, hka := f.id["bob"], f.id["hka"]
		b0 := f.app.State().Account(bob)
		applyValid(t, f, f.tx("bob", &RemoveStake{Hotkey: hka, Amount: 2 * Unit}), fee,
			sortedNames("account/"+key4(bob), "global", "hotkey/"+key4(hka), "stake/"+key4(hka)+"/"+key4(bob)),
			ev(KindRemoveStake, bob, fee, attr("hotkey", hka.String(), true), attr("amount", u64s(2*Unit), false)))
		if b := f.app.State().Account(bob); b.Balance != b0.Balance+2*Unit-fee || b.Nonce != b0.Nonce+1 {
			t.Errorf("bob %+v -> %+v", b0, b)
		}
		if h, s := f.hotkey(hka), f.stake(hka, bob); h.Stake != 3*Unit || s != 3*Unit {
			t.Errorf("hotkey %+v, stake %d", h, s)
		}
	})
	t.Run("remove: all, deleting the record", func(t *testing.T) {
		f := newFixture(t)
		bob, hka := f.id["bob"], f.id["hka"]
		b0 := f.app.State().Account(bob)
		applyValid(t, f, f.tx("bob", &RemoveStake{Hotkey: hka, Amount: 5 * Unit}), fee,
			sortedNames("account/"+key4(bob), "global", "hotkey/"+key4(hka), "stake/"+key4(hka)+"/"+key4(bob)),
			ev(KindRemoveStake, bob, fee, attr("hotkey", hka.String(), true), attr("amount", u64s(5*Unit), false)))
		if b := f.app.State().Account(bob); b.Balance != b0.Balance+5*Unit-fee {
			t.Errorf("bob %+v -> %+v", b0, b)
		}
		if _, ok := f.app.State().stakes[stakeKey{hka, bob}]; ok {
			t.Errorf("an empty stake record is kept")
		}
		if h := f.hotkey(hka); h.Stake != 0 {
			t.Errorf("hotkey %+v", h)
		}
	})
}

func sortedNames(names ...string) []string {
	out := append([]string(nil), names...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestDelegation: several coldkeys stake on one hotkey they do not own;
// the hotkey's total is the sum, each stake is its own, and unstaking
// everything returns every balance less the fees.
func TestDelegation(t *testing.T) {
	f := newFixture(t)
	hka, owner := f.id["hka"], f.id["alice"]
	fees := DefaultFees()
	stakers := []string{"bob", "carol", "hkb", "alice"}
	amounts := map[string]uint64{"bob": 3 * Unit, "carol": 11 * Unit, "hkb": Unit / 2, "alice": 1}
	start := map[string]uint64{}
	for _, name := range stakers {
		start[name] = f.balance(f.id[name])
	}
	var txs [][]byte
	for _, name := range stakers {
		txs = append(txs, f.tx(name, &AddStake{Hotkey: hka, Amount: amounts[name]}))
	}
	f.mustBlock(txs...)
	total := uint64(5 * Unit) // bob's from the fixture
	for _, name := range stakers {
		total += amounts[name]
	}
	if h := f.hotkey(hka); h.Stake != total || h.Owner != owner {
		t.Errorf("hotkey %+v, want stake %d", h, total)
	}
	if got := f.stake(hka, f.id["bob"]); got != 8*Unit {
		t.Errorf("bob's stake %d", got)
	}
	for _, name := range stakers[1:] {
		if got := f.stake(hka, f.id[name]); got != amounts[name] {
			t.Errorf("%s's stake %d", name, got)
		}
	}
	q, err := f.app.State().query("/neuron/1/0")
	if err != nil || q.(NeuronView).Stake != total || q.(NeuronView).Coldkey != owner.String() {
		t.Errorf("neuron view %+v %v", q, err)
	}
	supplyInvariant(t, f.app.State())
	// Everyone takes everything back.
	txs = nil
	for _, name := range stakers {
		txs = append(txs, f.tx(name, &RemoveStake{Hotkey: hka, Amount: f.stake(hka, f.id[name])}))
	}
	f.mustBlock(txs...)
	if h := f.hotkey(hka); h.Stake != 0 {
		t.Errorf("hotkey stake %d left", h.Stake)
	}
	for _, name := range stakers {
		want := start[name] - fees.AddStake - fees.RemoveStake
		if name == "bob" {
			want += 5 * Unit // the fixture's stake came back too
		}
		if got := f.balance(f.id[name]); got != want {
			t.Errorf("%s balance %d, want %d", name, got, want)
		}
	}
	supplyInvariant(t, f.app.State())
	f.checkConsistency(true)
}
