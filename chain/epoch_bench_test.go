package chain

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/consensus"
)

// epochApp is an app holding one subnet of n uids with tempo 1 (every
// block is an epoch block): v validators with permits, stake from their
// own coldkey and two nominators each, weighting every miner; miners with
// no stake. It has run warm epochs, so bonds are populated.
func epochApp(b *testing.B, n, v int) *App { return mechanismsApp(b, n, v, 1) }

// mechanismsApp is epochApp with mechs mechanisms, split evenly, on each
// of which the validators weight every miner with weights of their own.
func mechanismsApp(b *testing.B, n, v int, mechs uint8) *App {
	app, err := NewApp(dbm.NewMemDB(), zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(n), uint64(v)))
	s := app.State()
	p := DefaultHyperparams()
	p.Tempo, p.MaxUIDs, p.MaxValidators = 1, uint16(n), uint16(v)
	p.MechanismCount = mechs
	var owner AccountID
	owner[0] = 'o'
	s.setSubnet(1, Subnet{Owner: owner, Params: p, Burn: p.MinBurn, N: uint16(n), Share: 1})
	var supply uint64
	for uid := range n {
		var hk, ck AccountID
		hk[0], hk[1], hk[2] = 'h', byte(uid>>8), byte(uid)
		ck[0], ck[1], ck[2] = 'c', byte(uid>>8), byte(uid)
		s.setAccount(ck, Account{Balance: Unit})
		supply += Unit
		nr := newNeuron(hk, mechs, Block{Height: 1})
		nr.RegisteredAt, nr.Permit = 0, uid < v
		h := Hotkey{Owner: ck, Take: DefaultTake}
		if uid < v {
			for k := range 3 {
				staker := ck
				if k > 0 {
					staker[0], staker[3] = 'd', byte(k)
				}
				amt := (1 + rng.Uint64N(1000)) * Unit
				s.setStake(hk, staker, stakeRec{Amount: amt})
				h.Stake += amt
				supply += amt
			}
			for m := range mechs {
				row := make([]consensus.Entry, 0, n-v)
				for u := v; u < n; u++ {
					row = append(row, consensus.Entry{UID: uint16(u), Value: uint16(rng.IntN(65536))})
				}
				st := nr.Mechanism(m)
				st.Weights = row
				nr.setMechanism(m, st)
			}
		}
		s.setHotkey(hk, h)
		s.setNeuron(1, uint16(uid), nr)
	}
	s.setGlobal(Global{ChainID: testChainID, Fees: DefaultFees(), NextNetuid: 2, EmissionPerBlock: Unit,
		GenesisSupply: supply, TotalSupply: supply})
	s.forget()
	app.appHash = app.stage()
	if err := app.store.commit(0, app.appHash); err != nil {
		b.Fatal(err)
	}
	for range 3 { // warm epochs: bonds
		finalizeCommit(b, app)
	}
	return app
}

func finalizeCommit(b *testing.B, app *App) {
	ctx := context.Background()
	h := app.height + 1
	resp, err := app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: h, Time: time.Unix(h, 0)})
	if err != nil || len(resp.Events) != 1 {
		b.Fatalf("FinalizeBlock %d: %v, events %v", h, err, resp.Events)
	}
	b.StopTimer()
	if _, err := app.Commit(ctx, &abci.RequestCommit{}); err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
}

// BenchmarkEpochBlock times FinalizeBlock of an epoch block (the epoch,
// its payouts and staging the changed records into the app hash; Commit
// excluded) and, on the same state, consensus.Epoch alone. The chain's
// overhead is the ratio of the two.
func BenchmarkEpochBlock(b *testing.B) {
	for _, size := range []struct{ n, v int }{{256, 64}, {4096, 256}} {
		name := fmt.Sprintf("n=%d_v=%d", size.n, size.v)
		app := epochApp(b, size.n, size.v)
		b.Run(name+"/finalize_block", func(b *testing.B) {
			for range b.N {
				finalizeCommit(b, app)
			}
		})
		b.Run(name+"/consensus_epoch", func(b *testing.B) {
			s := app.State()
			sn := s.subnets[1]
			in, _ := s.epochInput(1, 0, sn, Block{Height: uint64(app.height) + 1}, Unit)
			b.ResetTimer()
			for range b.N {
				if _, err := consensus.Epoch(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEpochBlockMechanisms times the epoch block of a 4096-uid subnet
// with one mechanism and with two (each with its own full weights and
// bonds). Two run consensus twice and store one record per neuron, so the
// target is at most 2.2 times the one-mechanism block.
func BenchmarkEpochBlockMechanisms(b *testing.B) {
	for _, mechs := range []uint8{1, 2} {
		app := mechanismsApp(b, 4096, 256, mechs)
		b.Run(fmt.Sprintf("n=4096_v=256/mechanisms=%d", mechs), func(b *testing.B) {
			for range b.N {
				finalizeCommit(b, app)
			}
		})
	}
}
