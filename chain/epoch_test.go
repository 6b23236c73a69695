package chain

import (
	"bytes"
	"math"
	"math/big"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/seed0ffb8d46/agora/consensus"
)

// randomSubnet writes a random subnet 1 straight into c's state: n uids,
// random stakes and delegations (some hotkeys owned by the subnet owner),
// takes, weights, bonds, permits, last updates and registration blocks,
// and with commit-reveal on, random pending commits. Genesis supply grows
// by the stakes so that the supply invariant holds.
func randomSubnet(c *testChain, rng *rand.Rand, n int, tempo uint64) {
	_, owner := testKey(900)
	colds := make([]AccountID, 1+rng.IntN(8))
	for i := range colds {
		_, colds[i] = testKey(901 + i)
	}
	colds[0] = owner
	p := DefaultHyperparams()
	p.Tempo = tempo
	p.MaxUIDs = uint16(max(n, 1))
	p.MaxValidators = uint16(1 + rng.IntN(max(n, 1)))
	p.Yuma3 = rng.IntN(2) == 0
	p.LiquidAlpha = p.Yuma3 && rng.IntN(2) == 0
	p.CommitReveal = rng.IntN(3) == 0
	p.RevealPeriodEpochs = uint64(1 + rng.IntN(2))
	p.ActivityCutoff = uint64(5 + rng.IntN(50))
	p.BondsMovingAverage = uint64(rng.IntN(1_000_001))
	p.Kappa = uint16(rng.IntN(65536))
	c.mutateStaged(func(s *State) {
		var minted uint64
		s.setSubnet(1, Subnet{Owner: owner, Params: p, Burn: p.MinBurn, N: uint16(n), Share: 1, Epochs: uint64(rng.IntN(3))})
		for uid := range n {
			_, hk := testKey(1000 + uid)
			ck := colds[rng.IntN(len(colds))]
			s.setHotkey(hk, Hotkey{Owner: ck, Take: uint16(rng.IntN(65536))})
			for range rng.IntN(4) {
				staker := colds[rng.IntN(len(colds))]
				amt := rng.Uint64N(1000 * Unit)
				if rng.IntN(4) == 0 {
					amt = rng.Uint64N(100)
				}
				h := s.hotkeys[hk]
				h.Stake += amt
				s.setHotkey(hk, h)
				s.setStake(hk, staker, stakeRec{Amount: s.Stake(hk, staker) + amt})
				minted += amt
			}
			row := func() []consensus.Entry {
				var r []consensus.Entry
				for _, u := range rng.Perm(n)[:rng.IntN(n+1)] {
					r = append(r, consensus.Entry{UID: uint16(u), Value: uint16(rng.IntN(65536))})
				}
				return r
			}
			s.setNeuron(1, uint16(uid), &Neuron{
				Hotkey: hk, RegisteredAt: rng.Uint64N(tempo), LastUpdate: rng.Uint64N(tempo),
				Permit: rng.IntN(2) == 0, Weights: row(), Bonds: row(),
			})
			if p.CommitReveal && rng.IntN(2) == 0 {
				var cs []Commit
				for range 1 + rng.IntN(3) {
					cs = append(cs, Commit{Epoch: rng.Uint64N(4), Block: rng.Uint64N(tempo)})
				}
				// As on chain, later commits have later epochs and blocks.
				epochs, blocks := make([]uint64, len(cs)), make([]uint64, len(cs))
				for i := range cs {
					epochs[i], blocks[i] = cs[i].Epoch, cs[i].Block
				}
				slices.Sort(epochs)
				slices.Sort(blocks)
				for i := range cs {
					cs[i].Epoch, cs[i].Block = epochs[i], blocks[i]
				}
				s.setCommits(mechKey{1, 0}, hk, cs)
			}
		}
		g := s.global
		g.NextNetuid = 2
		g.GenesisSupply += minted
		g.TotalSupply += minted
		s.setGlobal(g)
	})
}

// expectedInput builds subnet 1's epoch input for mechanism m at block h
// from the state's public accessors, independently of epochInput.
func expectedInput(s *State, m uint8, h, emission uint64) *consensus.Input {
	sn, _ := s.Subnet(1)
	n := int(sn.N)
	in := &consensus.Input{N: n, Block: h, Emission: emission, Params: sn.Params.Consensus()}
	if sn.Epochs > 0 {
		in.LastEpochBlock = sn.LastEpoch
	}
	if sn.Params.CommitReveal {
		in.CommitBlocks = make([]uint64, n)
	}
	for uid := range uint16(n) {
		nr, _ := s.Neuron(1, uid)
		hk, _ := s.Hotkey(nr.Hotkey)
		in.Stake = append(in.Stake, hk.Stake)
		in.Permits = append(in.Permits, nr.Permit)
		st := nr.Mechanism(m)
		in.LastUpdate = append(in.LastUpdate, st.LastUpdate)
		in.BlockAtRegistration = append(in.BlockAtRegistration, nr.RegisteredAt)
		in.Weights = append(in.Weights, st.Weights)
		in.Bonds = append(in.Bonds, st.Bonds)
		if hk.Owner == sn.Owner && in.OwnerUID == nil {
			o := uid
			in.OwnerUID = &o
		}
		if in.CommitBlocks != nil {
			in.CommitBlocks[uid] = math.MaxUint64
			for _, c := range s.MechanismCommits(1, m, nr.Hotkey) {
				if c.Epoch+sn.Params.RevealPeriodEpochs >= sn.Epochs && c.Block < in.CommitBlocks[uid] {
					in.CommitBlocks[uid] = c.Block
				}
			}
		}
	}
	return in
}

// expectedCredits is what each account should be paid for the outputs of
// each mechanism, which had the shares of the emission after the owner's
// cut, computed with big integers: the rule of epoch.go restated.
func expectedCredits(s *State, outs []*consensus.Output, shares []uint64, cut uint64) map[AccountID]uint64 {
	sn, _ := s.Subnet(1)
	want := map[AccountID]uint64{}
	want[sn.Owner] += cut
	left := slices.Clone(shares)
	for uid := range uint16(sn.N) {
		nr, _ := s.Neuron(1, uid)
		hk, _ := s.Hotkey(nr.Hotkey)
		var d uint64
		for m, out := range outs {
			want[hk.Owner] += out.ServerEmission[uid]
			d += out.ValidatorEmission[uid]
			left[m] -= out.ServerEmission[uid] + out.ValidatorEmission[uid]
		}
		take := new(big.Int).Div(new(big.Int).Mul(big.NewInt(0).SetUint64(d), big.NewInt(int64(hk.Take))), big.NewInt(65535)).Uint64()
		want[hk.Owner] += take
		rest := d - take
		var stakers []AccountID
		for k := range s.stakes {
			if k.hotkey == nr.Hotkey {
				stakers = append(stakers, k.coldkey)
			}
		}
		slices.SortFunc(stakers, func(a, b AccountID) int { return bytes.Compare(a[:], b[:]) })
		if len(stakers) == 0 {
			want[hk.Owner] += rest
			continue
		}
		var given uint64
		for _, c := range stakers {
			v := new(big.Int).Div(new(big.Int).Mul(new(big.Int).SetUint64(rest), new(big.Int).SetUint64(s.Stake(nr.Hotkey, c))), new(big.Int).SetUint64(hk.Stake)).Uint64()
			want[c] += v
			given += v
		}
		for i := 0; given < rest; i++ {
			want[stakers[i]]++
			given++
		}
	}
	for m, rem := range left {
		if rem <= flooringDust(shares[m], sn.N) {
			want[sn.Owner] += rem
		} // else consensus paid nobody, and the rest is not minted
	}
	for k, v := range want {
		if v == 0 {
			delete(want, k)
		}
	}
	return want
}

// mintedFor is what the epoch mints of its emission e: all of it, but for
// what consensus left undistributed beyond flooring dust.
func mintedFor(credits map[AccountID]uint64) uint64 {
	var sum uint64
	for _, v := range credits {
		sum += v
	}
	return sum
}

// TestEpochMatchesConsensus: over many random subnet states, the epoch run
// by FinalizeBlock stores exactly what consensus.Epoch computes on the same
// input, pays every account what the emission rule says, and mints exactly
// what the credits sum to: the tempo's emission whenever some stake counts.
func TestEpochMatchesConsensus(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for iter := range 150 {
		c := newTestChain(t, nil)
		tempo := uint64(1 + rng.IntN(5))
		n := rng.IntN(40)
		if iter%10 == 0 {
			n = 0
		}
		randomSubnet(c, rng, n, tempo)
		for uint64(c.height)+1 < tempo {
			c.block()
		}
		s := c.app.State()
		h := uint64(c.height) + 1
		e := tempo * DefaultEmissionPerBlock
		cut := e * OwnerCut / 65535
		in := expectedInput(s, 0, h, e-cut)
		want, err := consensus.Epoch(in)
		if err != nil {
			t.Fatal(err)
		}
		credits := expectedCredits(s, []*consensus.Output{want}, []uint64{e - cut}, cut)
		resp := epochPays(t, c, iter, credits)
		if len(resp.Events) != 1 || resp.Events[0].Type != "epoch" {
			t.Fatalf("iter %d: events %v", iter, resp.Events)
		}
		if minted := mintedFor(credits); n > 0 && minted != e && !allStakeBelow(s, in) {
			t.Fatalf("iter %d: %d of %d minted on a subnet with stake", iter, minted, e)
		}
		for uid := range uint16(n) {
			nr, _ := s.Neuron(1, uid)
			got := []any{nr.Consensus, nr.Incentive, nr.Dividends, nr.ValidatorTrust, nr.Emission, nr.Permit}
			exp := []any{want.Consensus[uid], want.Incentive[uid], want.Dividends[uid], want.ValidatorTrust[uid], want.Emission[uid], want.ValidatorPermits[uid]}
			if !reflect.DeepEqual(got, exp) || !slices.Equal(nr.Bonds, want.Bonds[uid]) {
				t.Fatalf("iter %d uid %d: stored %v bonds %v, consensus %v bonds %v", iter, uid, got, nr.Bonds, exp, want.Bonds[uid])
			}
		}
		supplyInvariant(t, s)
		c.checkConsistency(true)
	}
}

// epochPays finalizes and commits the next block, an epoch block, and
// checks that it credits each account exactly credits and mints, as its
// epoch event says, exactly what they sum to.
func epochPays(t *testing.T, c *testChain, iter int, credits map[AccountID]uint64) *abci.ResponseFinalizeBlock {
	t.Helper()
	s := c.app.State()
	before := map[AccountID]uint64{}
	for id, a := range s.accounts {
		before[id] = a.Balance
	}
	g0 := c.global()
	resp := c.finalize()
	c.commit()
	minted := mintedFor(credits)
	if got := epochEmission(t, resp.Events); got != minted {
		t.Fatalf("iter %d: epoch event says %d, want %d", iter, got, minted)
	}
	var sum uint64
	for id, a := range s.accounts {
		if d := a.Balance - before[id]; d != credits[id] {
			t.Fatalf("iter %d: account %s credited %d, want %d", iter, id, d, credits[id])
		}
		sum += a.Balance - before[id]
	}
	g := c.global()
	if sum != minted || g.Minted-g0.Minted != minted || g.TotalSupply-g0.TotalSupply != minted {
		t.Fatalf("iter %d: credited %d, minted %d, want %d", iter, sum, g.Minted-g0.Minted, minted)
	}
	return resp
}

// TestPruningScores: the combined emission max-upscaled to u16, rounded.
func TestPruningScores(t *testing.T) {
	for _, tc := range []struct {
		in   []uint64
		want []uint16
	}{
		{nil, []uint16{}},
		{[]uint64{0, 0}, []uint16{0, 0}},
		{[]uint64{1, 2, 3}, []uint16{21845, 43690, 65535}},
		{[]uint64{1, 131070}, []uint16{1, 65535}}, // 0.5 rounds up
		{[]uint64{1, 131071}, []uint16{0, 65535}}, // just under 0.5
		{[]uint64{math.MaxUint64, math.MaxUint64 / 2}, []uint16{65535, 32767}},
	} {
		if got := pruningScores(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("pruningScores(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// eventValue returns an attribute of a block event.
func eventValue(e abci.Event, key string) uint64 {
	for _, a := range e.Attributes {
		if a.Key == key {
			v, _ := strconv.ParseUint(a.Value, 10, 64)
			return v
		}
	}
	return 0
}

// allStakeBelow reports whether no uid's stake counts in the epoch of in:
// all zero, or under the threshold (the owner's uid excepted).
func allStakeBelow(s *State, in *consensus.Input) bool {
	for uid, v := range in.Stake {
		if v > 0 && (v >= in.Params.StakeThreshold || (in.OwnerUID != nil && int(*in.OwnerUID) == uid)) {
			return false
		}
	}
	return true
}
