package chain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/seed0ffb8d46/agora/consensus"
	"github.com/seed0ffb8d46/agora/weights"
)

// setMechanisms gives a subnet count mechanisms and split, outside any
// transaction, resizing its neurons as set_hyperparams would.
func (c *testChain) setMechanisms(netuid uint16, count uint8, split []uint16) {
	c.mutateStaged(func(s *State) {
		sn := s.subnets[netuid]
		from := sn.Params.MechanismCount
		sn.Params.MechanismCount, sn.Params.MechanismSplit = count, split
		s.setSubnet(netuid, sn)
		if count != from {
			s.resizeMechanisms(netuid, sn, from, count, Block{Height: uint64(c.height)})
		}
	})
}

// wantShares is mechanismShares restated with big integers.
func wantShares(r uint64, count int, split []uint16) []uint64 {
	out := make([]uint64, count)
	var sum uint64
	for m := range out {
		if len(split) == 0 {
			out[m] = r / uint64(count)
		} else {
			v := new(big.Int).Mul(new(big.Int).SetUint64(r), big.NewInt(int64(split[m])))
			out[m] = v.Quo(v, big.NewInt(65535)).Uint64()
		}
		sum += out[m]
	}
	out[0] += r - sum
	return out
}

// TestMechanismShares: each mechanism gets r·split/65535 in 128 bits (r/count
// with no split), the remainder going to mechanism 0; the shares always
// sum to r.
func TestMechanismShares(t *testing.T) {
	for _, tc := range []struct {
		r     uint64
		count uint8
		split []uint16
		want  []uint64
	}{
		{1000, 1, nil, []uint64{1000}},
		{1001, 2, nil, []uint64{501, 500}},
		{10, 3, nil, []uint64{4, 3, 3}},
		{1000, 2, []uint16{40000, 25535}, []uint64{611, 389}},
		{7, 3, []uint16{1, 32767, 32767}, []uint64{1, 3, 3}},
		{1 << 63, 2, []uint16{1, 65534}, nil},
		{^uint64(0), 8, []uint16{1, 2, 3, 4, 5, 6, 7, 65507}, nil},
		{0, 4, []uint16{65535, 0, 0, 0}, []uint64{0, 0, 0, 0}},
	} {
		h := Hyperparams{MechanismCount: tc.count, MechanismSplit: tc.split}
		got := h.mechanismShares(tc.r)
		want := tc.want
		if want == nil {
			want = wantShares(tc.r, int(tc.count), tc.split)
		}
		var sum uint64
		for _, v := range got {
			sum += v
		}
		if !slices.Equal(got, want) || sum != tc.r || !slices.Equal(got, wantShares(tc.r, int(tc.count), tc.split)) {
			t.Errorf("r %d count %d split %v: shares %v (sum %d), want %v", tc.r, tc.count, tc.split, got, sum, want)
		}
	}
	if got := (&Hyperparams{MechanismCount: 3}).effectiveSplit(); !slices.Equal(got, []uint16{21845, 21845, 21845}) {
		t.Errorf("even split of 3: %v", got)
	}
	if got := (&Hyperparams{MechanismCount: 4}).effectiveSplit(); !slices.Equal(got, []uint16{16386, 16383, 16383, 16383}) {
		t.Errorf("even split of 4: %v", got)
	}
}

// mechanismSubnet turns randomSubnet's subnet 1 into one with count
// mechanisms and a random split (none a third of the time), each neuron
// with random rows and last updates on mechanisms 1 and up and random
// pending commits there when commit-reveal is on.
func mechanismSubnet(c *testChain, rng *rand.Rand, count uint8) {
	var split []uint16
	if rng.IntN(3) > 0 {
		left := 65535
		for m := range count {
			v := rng.IntN(left + 1)
			if m == count-1 {
				v = left
			}
			split = append(split, uint16(v))
			left -= v
		}
	}
	c.setMechanisms(1, count, split)
	c.mutateStaged(func(s *State) {
		sn := s.subnets[1]
		n := int(sn.N)
		row := func() []consensus.Entry {
			var r []consensus.Entry
			for _, u := range rng.Perm(n)[:rng.IntN(n+1)] {
				r = append(r, consensus.Entry{UID: uint16(u), Value: uint16(rng.IntN(65536))})
			}
			return r
		}
		for uid := range sn.N {
			nn := *s.neurons[neuronKey{1, uid}]
			for m := uint8(1); m < count; m++ {
				nn.setMechanism(m, MechanismState{LastUpdate: rng.Uint64N(sn.Params.Tempo), WeightsSet: true, Weights: row(), Bonds: row()})
				if sn.Params.CommitReveal && rng.IntN(2) == 0 {
					e := rng.Uint64N(4)
					s.setCommits(mechKey{1, m}, nn.Hotkey, []Commit{{Epoch: e, Block: rng.Uint64N(sn.Params.Tempo)}})
				}
			}
			s.setNeuron(1, uid, &nn)
		}
	})
}

// TestMechanismEpochMatchesConsensus: over random subnets with 2 to 8
// mechanisms, the epoch gives each mechanism its exact share, stores what
// consensus.Epoch computes on each mechanism's input (its results and
// bonds), the aggregate weighted by the split and the summed emission,
// pays every account what the rule says and mints exactly what it pays.
func TestMechanismEpochMatchesConsensus(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	paidOn := 0 // iterations where a mechanism other than 0 paid a uid
	for iter := range 60 {
		c := newTestChain(t, nil)
		tempo := uint64(2 + rng.IntN(4))
		n := 1 + rng.IntN(30)
		randomSubnet(c, rng, n, tempo)
		count := uint8(2 + rng.IntN(MaxMechanisms-1))
		mechanismSubnet(c, rng, count)
		for uint64(c.height)+1 < tempo {
			c.block()
		}
		s := c.app.State()
		sn, _ := s.Subnet(1)
		h := uint64(c.height) + 1
		e := tempo * DefaultEmissionPerBlock
		cut := e * OwnerCut / 65535
		shares := wantShares(e-cut, int(count), sn.Params.MechanismSplit)
		var outs []*consensus.Output
		for m := range count {
			out, err := consensus.Epoch(expectedInput(s, m, h, shares[m]))
			if err != nil {
				t.Fatal(err)
			}
			outs = append(outs, out)
		}
		resp := epochPays(t, c, iter, expectedCredits(s, outs, shares, cut))
		for m, want := range shares {
			if got := eventValue(resp.Events[0], fmt.Sprintf("mechanism_%d_emission", m)); got != want {
				t.Fatalf("iter %d: mechanism %d's share %d, want %d", iter, m, got, want)
			}
		}
		split := sn.Params.effectiveSplit()
		for uid := range uint16(n) {
			nr, _ := s.Neuron(1, uid)
			var agg [4]uint64
			var em uint64
			for m, out := range outs {
				r := nr.Result(uint8(m))
				want := MechanismResult{out.Consensus[uid], out.Incentive[uid], out.Dividends[uid], out.ValidatorTrust[uid], out.Emission[uid]}
				if r != want || !slices.Equal(nr.Mechanism(uint8(m)).Bonds, out.Bonds[uid]) {
					t.Fatalf("iter %d uid %d mechanism %d: stored %+v bonds %v, consensus %+v bonds %v", iter, uid, m, r, nr.Mechanism(uint8(m)).Bonds, want, out.Bonds[uid])
				}
				for k, v := range []uint16{r.Consensus, r.Incentive, r.Dividends, r.ValidatorTrust} {
					agg[k] += uint64(split[m]) * uint64(v)
				}
				em += r.Emission
				if m > 0 && r.Emission > 0 {
					paidOn++
				}
			}
			got := [4]uint64{uint64(nr.Consensus), uint64(nr.Incentive), uint64(nr.Dividends), uint64(nr.ValidatorTrust)}
			for k := range agg {
				agg[k] /= 65535
			}
			if got != agg || nr.Emission != em || nr.Permit != outs[0].ValidatorPermits[uid] {
				t.Fatalf("iter %d uid %d: aggregate %v emission %d, want %v and %d", iter, uid, got, nr.Emission, agg, em)
			}
		}
		supplyInvariant(t, s)
		c.checkConsistency(true)
	}
	if paidOn < 30 {
		t.Errorf("mechanisms other than 0 paid uids %d times: the random states hardly exercise them", paidOn)
	}
}

// mechanismParams are the fixture's subnet 1 settings with two mechanisms
// split 50000/15535.
func mechanismParams() Hyperparams {
	p := subnet1Params()
	p.MechanismCount, p.MechanismSplit = 2, []uint16{50000, 15535}
	return p
}

func mechanismRejectCases() []txCase {
	setParams := func(mut func(p *Hyperparams)) func(f *fixture) []byte {
		return func(f *fixture) []byte {
			p := mechanismParams()
			mut(&p)
			return f.tx("alice", &SetHyperparams{Netuid: 1, Params: p})
		}
	}
	two := func(f *fixture) { f.setMechanisms(1, 2, nil); f.setPermit(1, 0, true) }
	return []txCase{
		{"params: mechanism_count 0", setParams(func(p *Hyperparams) { p.MechanismCount, p.MechanismSplit = 0, nil }),
			CodeBadParams, []string{"mechanism_count 0: want 1 to 8"}},
		{"params: mechanism_count 9", setParams(func(p *Hyperparams) { p.MechanismCount, p.MechanismSplit = 9, nil }),
			CodeBadParams, []string{"mechanism_count 9: want 1 to 8"}},
		{"params: split not summing to 65535", setParams(func(p *Hyperparams) { p.MechanismSplit = []uint16{50000, 15534} }),
			CodeBadParams, []string{"mechanism_emission_split [50000 15534] sums to 65534, want 65535"}},
		{"params: split longer than the count", setParams(func(p *Hyperparams) { p.MechanismSplit = []uint16{50000, 15535, 0} }),
			CodeBadParams, []string{"mechanism_emission_split has 3 entries, want one per mechanism (mechanism_count 2)"}},
		{"params: split with one mechanism", setParams(func(p *Hyperparams) { p.MechanismCount = 1 }),
			CodeBadParams, []string{"mechanism_emission_split has 2 entries", "mechanism_count 1"}},
		{"params: create with a bad split", func(f *fixture) []byte {
			p := mechanismParams()
			p.MechanismSplit = []uint16{1}
			return f.tx("alice", &CreateSubnet{Params: p})
		}, CodeBadParams, []string{"mechanism_emission_split has 1 entries"}},
		{"set: mechanism the subnet lacks", func(f *fixture) []byte {
			f.setPermit(1, 0, true)
			return f.tx("hka", &SetWeights{Netuid: 1, UIDs: []uint16{1}, Values: []uint16{1}, Mechanism: 1})
		}, CodeUnknownMechanism, []string{"subnet 1 has no mechanism 1: its mechanism_count is 1 (mechanisms 0 to 0)"}},
		{"set: mechanism 2 of 2", func(f *fixture) []byte {
			two(f)
			return f.tx("hka", &SetWeights{Netuid: 1, UIDs: []uint16{1}, Values: []uint16{1}, Mechanism: 2})
		}, CodeUnknownMechanism, []string{"subnet 1 has no mechanism 2: its mechanism_count is 2 (mechanisms 0 to 1)"}},
		{"set: mechanism out of range", func(f *fixture) []byte {
			two(f)
			return f.tx("hka", &SetWeights{Netuid: 1, UIDs: []uint16{1}, Values: []uint16{1}, Mechanism: 8})
		}, CodeUnknownMechanism, []string{"mechanism 8 is out of range: a subnet has at most 8 mechanisms, 0 to 7"}},
		{"set: rate limited on its mechanism", func(f *fixture) []byte {
			two(f)
			f.mustBlock(f.tx("hka", &SetWeights{Netuid: 1, UIDs: []uint16{1}, Values: []uint16{1}, Mechanism: 1}))
			return f.tx("hka", &SetWeights{Netuid: 1, UIDs: []uint16{1}, Values: []uint16{2}, Mechanism: 1})
		}, CodeRateLimited, []string{"weights last updated on mechanism 1 at block"}},
		{"commit: mechanism the subnet lacks", func(f *fixture) []byte {
			crFixture(f)
			c := commitOf(f, "hka", []uint16{1}, []uint16{1}, testSalt, 0)
			c.Mechanism = 3
			return f.tx("hka", c)
		}, CodeUnknownMechanism, []string{"subnet 1 has no mechanism 3"}},
		{"reveal: mechanism the subnet lacks", func(f *fixture) []byte {
			crFixture(f)
			return f.tx("hka", &RevealWeights{Netuid: 1, UIDs: []uint16{1}, Values: []uint16{1}, Salt: testSalt, Mechanism: 1})
		}, CodeUnknownMechanism, []string{"subnet 1 has no mechanism 1"}},
		{"reveal: a mechanism-0 commit on mechanism 1", func(f *fixture) []byte {
			crFixture(f)
			f.setMechanisms(1, 2, nil)
			f.mustBlock(f.tx("hka", commitOf(f, "hka", []uint16{1}, []uint16{1}, testSalt, 0)))
			f.toEpoch(1)
			return f.tx("hka", &RevealWeights{Netuid: 1, UIDs: []uint16{1}, Values: []uint16{1}, Salt: testSalt, Mechanism: 1})
		}, CodeNoMatchingCommit, []string{"no pending commit of hotkey", "on subnet 1 mechanism 1 matches"}},
	}
}

func TestRejectedMechanismTransactions(t *testing.T) {
	for _, tc := range mechanismRejectCases() {
		t.Run(tc.name, func(t *testing.T) { checkRejected(t, tc) })
	}
}

// TestMechanismWeights: the owner sets two mechanisms by transaction;
// weights set on mechanism 1 are stored there alone, each mechanism has
// its own rate limit, and a commit made for mechanism 1 reveals there.
func TestMechanismWeights(t *testing.T) {
	f := newFixture(t)
	f.mustBlock(f.tx("alice", &SetHyperparams{Netuid: 1, Params: mechanismParams()}))
	f.setPermit(1, 0, true)
	if n := f.neuron(1, 0); len(n.Mechanisms) != 1 || len(n.Results) != 2 {
		t.Fatalf("neuron after going to two mechanisms: %d states, %d results", len(n.Mechanisms), len(n.Results))
	}
	f.mustBlock(
		f.tx("hka", &SetWeights{Netuid: 1, UIDs: []uint16{1}, Values: []uint16{5}, Mechanism: 1}),
		f.tx("hka", &SetWeights{Netuid: 1, UIDs: []uint16{0, 1}, Values: []uint16{1, 1}}),
	)
	n := f.neuron(1, 0)
	if want := []consensus.Entry{{UID: 1, Value: 65535}}; !slices.Equal(n.Mechanism(1).Weights, want) {
		t.Errorf("mechanism 1 weights %v, want %v", n.Mechanism(1).Weights, want)
	}
	if len(n.Weights) != 2 || n.Mechanism(1).LastUpdate != uint64(f.height) || n.LastUpdate != uint64(f.height) {
		t.Errorf("mechanism 0 weights %v, last updates %d and %d at block %d", n.Weights, n.LastUpdate, n.Mechanism(1).LastUpdate, f.height)
	}

	crFixture(f)
	hka := f.id["hka"]
	uids, vals := []uint16{1}, []uint16{9}
	h := weights.CommitHashMechanism(hka[:], 1, 1, uids, vals, testSalt, 0)
	f.mustBlock(f.tx("hka", &CommitWeights{Netuid: 1, Hash: h, Mechanism: 1}))
	if cs := f.app.State().MechanismCommits(1, 1, hka); len(cs) != 1 || cs[0].Hash != h || len(f.app.State().Commits(1, hka)) != 0 {
		t.Fatalf("commits on mechanism 1: %v, on 0: %v", cs, f.app.State().Commits(1, hka))
	}
	f.toEpoch(1)
	f.mustBlock(f.tx("hka", &RevealWeights{Netuid: 1, UIDs: uids, Values: vals, Salt: testSalt, Mechanism: 1}))
	if w := f.neuron(1, 0).Mechanism(1).Weights; !slices.Equal(w, []consensus.Entry{{UID: 1, Value: 65535}}) || len(f.app.State().MechanismCommits(1, 1, hka)) != 0 {
		t.Errorf("after the reveal on mechanism 1: weights %v", w)
	}
	supplyInvariant(t, f.app.State())
	f.checkConsistency(true)
}

// TestMechanismCountLowered: lowering the count clears the removed
// mechanisms' weights, bonds, results and commits and resets the split to
// even; going back to one mechanism leaves neuron records as a subnet
// that never had more stores them, and the state reloads from disk.
func TestMechanismCountLowered(t *testing.T) {
	f := newFixture(t)
	p := subnet1Params()
	p.MechanismCount, p.MechanismSplit = 3, []uint16{1, 2, 65532}
	p.CommitReveal, p.WeightsRateLimit, p.Tempo = true, 1, 10
	f.mustBlock(f.tx("alice", &SetHyperparams{Netuid: 1, Params: p}))
	f.setPermit(1, 0, true)
	hka := f.id["hka"]
	for m := uint8(1); m < 3; m++ {
		h := weights.CommitHashMechanism(hka[:], 1, m, []uint16{1}, []uint16{1}, testSalt, 0)
		f.mustBlock(f.tx("hka", &CommitWeights{Netuid: 1, Hash: h, Mechanism: m}))
	}
	f.toEpoch(1)
	for m := uint8(1); m < 3; m++ {
		f.mustBlock(f.tx("hka", &RevealWeights{Netuid: 1, UIDs: []uint16{1}, Values: []uint16{1}, Salt: testSalt, Mechanism: m}))
		h := weights.CommitHashMechanism(hka[:], 1, m, []uint16{1}, []uint16{2}, testSalt, 0)
		f.mustBlock(f.tx("hka", &CommitWeights{Netuid: 1, Hash: h, Mechanism: m}))
	}
	f.toEpoch(1)
	if n := f.neuron(1, 0); len(n.Mechanism(2).Weights) == 0 || len(n.Mechanism(2).Bonds) == 0 || n.Result(2) == (MechanismResult{}) {
		t.Fatalf("mechanism 2 before lowering: %+v, result %+v", n.Mechanism(2), n.Result(2))
	}
	if len(f.app.State().MechanismCommits(1, 2, hka)) != 1 {
		t.Fatal("no pending commit on mechanism 2")
	}

	p.MechanismCount, p.MechanismSplit = 2, nil
	f.mustBlock(f.tx("alice", &SetHyperparams{Netuid: 1, Params: p}))
	sn := f.subnet(1)
	n := f.neuron(1, 0)
	if sn.Params.MechanismCount != 2 || sn.Params.MechanismSplit != nil || len(n.Mechanisms) != 1 || len(n.Results) != 2 {
		t.Fatalf("after lowering to 2: params %d %v, neuron %d states %d results", sn.Params.MechanismCount, sn.Params.MechanismSplit, len(n.Mechanisms), len(n.Results))
	}
	if len(f.app.State().MechanismCommits(1, 2, hka)) != 0 || len(f.app.State().MechanismCommits(1, 1, hka)) != 1 {
		t.Fatal("commits of mechanism 2 kept, or those of mechanism 1 lost")
	}
	for _, k := range allKeys(f.app.State()) {
		if k[0] == prefixCommits && len(k) == 36 && k[35] == 2 {
			t.Fatalf("record %s kept", describeKey(k))
		}
	}
	f.checkConsistency(true)

	p.MechanismCount = 1
	f.mustBlock(f.tx("alice", &SetHyperparams{Netuid: 1, Params: p}))
	n = f.neuron(1, 0)
	if n.Mechanisms != nil || n.Results != nil || len(f.app.State().MechanismCommits(1, 1, hka)) != 0 {
		t.Fatalf("after lowering to 1: %+v", n)
	}
	one := *f.app.State().neurons[neuronKey{1, 0}]
	rec := f.app.State().encodeRecord(keyNeuron(neuronKey{1, 0}))
	plain := NewState()
	plain.neurons[neuronKey{1, 0}] = &Neuron{Hotkey: one.Hotkey, RegisteredAt: one.RegisteredAt, LastUpdate: one.LastUpdate, Axon: one.Axon,
		Consensus: one.Consensus, Incentive: one.Incentive, Dividends: one.Dividends, ValidatorTrust: one.ValidatorTrust, Emission: one.Emission,
		Permit: one.Permit, PruningScore: one.PruningScore, WeightsSet: one.WeightsSet, Weights: one.Weights, Bonds: one.Bonds}
	if !bytes.Equal(rec, plain.encodeRecord(keyNeuron(neuronKey{1, 0}))) {
		t.Error("a neuron back on one mechanism encodes differently from one that never left it")
	}
	f.checkConsistency(true)
	reloaded, err := NewApp(f.db, f.app.log)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(dumpState(t, reloaded.State()), dumpState(t, f.app.State())) {
		t.Error("reloaded state differs")
	}
}

// TestMechanismScenario: three validators weight three miners differently
// on two mechanisms split 40001/25534 over several epochs, through
// transactions alone. Every epoch pays each mechanism its exact share,
// each neuron's emission is the sum of its mechanisms', the state reloads
// and the supply invariant holds.
func TestMechanismScenario(t *testing.T) {
	p := DefaultHyperparams()
	p.Tempo, p.MaxUIDs, p.MaxValidators, p.WeightsRateLimit = 7, 6, 3, 1
	p.MechanismCount, p.MechanismSplit = 2, []uint16{40001, 25534}
	nt := newNet(t, p, []uint64{100 * Unit, 50 * Unit, 25 * Unit}, 3)
	nt.toEpoch(1)
	var txs [][]byte
	for v := range 3 {
		txs = append(txs,
			nt.hotTx(v, &SetWeights{Netuid: 1, UIDs: []uint16{3, 4, 5}, Values: []uint16{uint16(1 + v), 2, 3}}),
			nt.hotTx(v, &SetWeights{Netuid: 1, UIDs: []uint16{3, 4, 5}, Values: []uint16{9, 1, uint16(v)}, Mechanism: 1}))
	}
	nt.run(txs...)
	for range 4 {
		e0 := nt.subnet(1).Epochs
		var ev []string
		for nt.subnet(1).Epochs == e0 {
			resp := nt.finalize()
			nt.commit()
			for _, e := range resp.Events {
				if e.Type == "epoch" {
					r := eventValue(e, "emission") - eventValue(e, "owner_cut")
					want := wantShares(eventValue(e, "server")+eventValue(e, "validator")+eventValue(e, "remainder"), 2, p.MechanismSplit)
					if r != want[0]+want[1] || eventValue(e, "mechanism_0_emission") != want[0] || eventValue(e, "mechanism_1_emission") != want[1] {
						t.Fatalf("epoch event %v: shares, want %v", e, want)
					}
					ev = append(ev, e.Type)
				}
			}
		}
		if len(ev) != 1 {
			t.Fatalf("%d epoch events", len(ev))
		}
		for uid := range uint16(6) {
			n := nt.neuron(1, uid)
			if n.Emission != n.Result(0).Emission+n.Result(1).Emission {
				t.Fatalf("uid %d: emission %d, mechanisms %d + %d", uid, n.Emission, n.Result(0).Emission, n.Result(1).Emission)
			}
		}
		if m := nt.neuron(1, 3); m.Result(1).Incentive <= m.Result(0).Incentive {
			t.Errorf("miner 3 is the favourite of mechanism 1 only: incentive %d on 0, %d on 1", m.Result(0).Incentive, m.Result(1).Incentive)
		}
		supplyInvariant(t, nt.app.State())
	}
	nt.checkConsistency(true)
}

// TestMechanismTxEncoding: a weights body for mechanism 0 has the bytes it
// had before mechanisms (nothing after its last field), another mechanism
// ends it with one byte, bodies round-trip, and an explicit 0 is malformed.
// Hyperparameters with one mechanism and no split add nothing either.
func TestMechanismTxEncoding(t *testing.T) {
	bodies := []Body{
		&SetWeights{Netuid: 3, UIDs: []uint16{1, 2}, Values: []uint16{5, 6}, VersionKey: 9},
		&CommitWeights{Netuid: 3, Hash: [32]byte{1, 2}},
		&RevealWeights{Netuid: 3, UIDs: []uint16{1}, Values: []uint16{5}, Salt: []uint16{7}, VersionKey: 9},
		&SetHyperparams{Netuid: 3, Params: DefaultHyperparams()},
	}
	withMech := func(b Body, m uint8) Body {
		switch b := b.(type) {
		case *SetWeights:
			c := *b
			c.Mechanism = m
			return &c
		case *CommitWeights:
			c := *b
			c.Mechanism = m
			return &c
		case *RevealWeights:
			c := *b
			c.Mechanism = m
			return &c
		case *SetHyperparams:
			c := *b
			c.Params.MechanismCount, c.Params.MechanismSplit = m+1, []uint16{65535 - uint16(m), uint16(m)}[:min(int(m)+1, 2)]
			return &c
		}
		return nil
	}
	encode := func(b Body) []byte { e := &enc{}; b.encode(e); return e.b }
	for _, b := range bodies {
		plain, mech := encode(b), encode(withMech(b, 1))
		if !bytes.Equal(mech[:len(plain)], plain) || len(mech) <= len(plain) {
			t.Errorf("%s: mechanism 1 body %x does not extend mechanism 0's %x", b.Kind(), mech, plain)
		}
		for _, raw := range [][]byte{plain, mech} {
			got := newBody(b.Kind())
			d := &dec{b: raw}
			got.decode(d)
			if err := d.done(); err != nil || !bytes.Equal(encode(got), raw) {
				t.Errorf("%s: %x decodes to %+v (%v)", b.Kind(), raw, got, err)
			}
		}
	}
	for _, b := range bodies[:3] {
		raw := append(encode(b), 0)
		d := &dec{b: raw}
		newBody(b.Kind()).decode(d)
		if err := d.done(); err == nil || err.Error() != "mechanism 0 is encoded as no byte, not as a 0" {
			t.Errorf("%s with an explicit mechanism 0: %v", b.Kind(), err)
		}
	}
	p := DefaultHyperparams()
	e := &enc{}
	if p.encodeMechanisms(e); len(e.b) != 0 {
		t.Errorf("one mechanism encodes as %x", e.b)
	}
	// Nor may a body say "one mechanism, no split" in a section: every
	// value has one encoding.
	for _, b := range []Body{&CreateSubnet{Params: p}, &SetHyperparams{Netuid: 3, Params: p}} {
		x := &enc{}
		b.encode(x)
		x.u8(1)
		x.u16s(nil)
		d := &dec{b: x.b}
		newBody(b.Kind()).decode(d)
		if err := d.done(); err == nil || !strings.Contains(err.Error(), "written as nothing") {
			t.Errorf("%s with an explicit one-mechanism section: %v", b.Kind(), err)
		}
	}
}

// TestMechanismQueries: weights, bonds and commits are queried per
// mechanism by a trailing /<mechanism>; neurons of a subnet with several
// mechanisms list each one's results, and those of a subnet with one show
// no mechanisms at all, as before.
func TestMechanismQueries(t *testing.T) {
	f := newFixture(t)
	crFixture(f)
	f.setMechanisms(1, 2, []uint16{60000, 5535})
	hka := f.id["hka"]
	h := weights.CommitHashMechanism(hka[:], 1, 1, []uint16{1}, []uint16{3}, testSalt, 0)
	f.mustBlock(f.tx("hka", &CommitWeights{Netuid: 1, Hash: h, Mechanism: 1}))
	f.toEpoch(1)
	f.mustBlock(
		f.tx("hka", &RevealWeights{Netuid: 1, UIDs: []uint16{1}, Values: []uint16{3}, Salt: testSalt, Mechanism: 1}),
		f.tx("hka", &CommitWeights{Netuid: 1, Hash: h, Mechanism: 1}),
	)
	f.toEpoch(1)
	n := f.neuron(1, 0)
	s := f.app.State()
	for path, want := range map[string]string{
		"/weights/1/0/1":                    `{"netuid":1,"mechanism":1,"uid":0,"hotkey":"` + hka.String() + `","last_update":` + u64s(n.Mechanism(1).LastUpdate) + `,"row":[[1,65535]]}`,
		"/weights/1/0/0":                    `{"netuid":1,"uid":0,"hotkey":"` + hka.String() + `","last_update":` + u64s(n.LastUpdate) + `,"row":[]}`,
		"/bonds/1/0/1":                      `"mechanism":1,"uid":0`,
		"/commits/1/" + hka.String() + "/1": `{"netuid":1,"mechanism":1,"hotkey":"` + hka.String() + `","epoch":2,"reveal_period_epochs":1,"commits":[{"hash":"` + hexOf(h[:]),
		"/commits/1/" + hka.String():        `"commits":[]`,
		"/neuron/1/0": fmt.Sprintf(`"mechanisms":[{"mechanism":0,"consensus":%d,"incentive":%d,"dividends":%d,"validator_trust":%d,"emission":%d,"last_update":%d},{"mechanism":1,`,
			n.Result(0).Consensus, n.Result(0).Incentive, n.Result(0).Dividends, n.Result(0).ValidatorTrust, n.Result(0).Emission, n.LastUpdate),
		"/metagraph/1": `"mechanism_count":2,"mechanism_emission_split":[60000,5535]`,
	} {
		v, err := s.query(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		raw, _ := json.Marshal(v)
		if !strings.Contains(string(raw), want) {
			t.Errorf("%s: %s, want %s", path, raw, want)
		}
	}
	if len(n.Mechanism(1).Bonds) == 0 {
		t.Error("no bonds on mechanism 1: the bonds query shows nothing")
	}
	mg, _ := s.query("/metagraph/1")
	for _, nv := range mg.(MetagraphView).Neurons {
		if len(nv.Mechanisms) != 2 || nv.Mechanisms[1].Mechanism != 1 {
			t.Errorf("uid %d: mechanisms %+v", nv.UID, nv.Mechanisms)
		}
	}
	one, _ := s.query("/metagraph/2")
	if raw, _ := json.Marshal(one); strings.Contains(string(raw), `"mechanisms"`) || !strings.Contains(string(raw), `"mechanism_count":1,"mechanism_emission_split":null`) {
		t.Errorf("one-mechanism metagraph: %s", raw)
	}
	for path, want := range map[string]string{
		"/weights/1/0/2":                    "subnet 1 has no mechanism 2: its mechanism_count is 2",
		"/bonds/2/0/1":                      "subnet 2 has no mechanism 1: its mechanism_count is 1",
		"/weights/1/0/x":                    `mechanism "x": want an integer in [0, 7]`,
		"/commits/1/" + hka.String() + "/9": "subnet 1 has no mechanism 9",
		"/commits/1/" + hka.String() + "/":  `mechanism ""`,
	} {
		if _, err := s.query(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", path, err, want)
		}
	}
}
