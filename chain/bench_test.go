package chain

import (
	"context"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"

	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/consensus"
)

// BenchmarkFinalizeCommit1000Transfers times FinalizeBlock+Commit of a
// block of 1000 signed transfers from 1000 senders (signing is not
// timed), on a memory database and on goleveldb.
func BenchmarkFinalizeCommit1000Transfers(b *testing.B) {
	const n = 1000
	privs, _, balances := fundedKeys(n, 10_000, 1000*Unit)
	_, to := testKey(9999)
	for _, backend := range []string{"memdb", "goleveldb"} {
		b.Run(backend, func(b *testing.B) {
			db := dbm.DB(dbm.NewMemDB())
			if backend == "goleveldb" {
				var err error
				if db, err = dbm.NewGoLevelDB("app", b.TempDir()); err != nil {
					b.Fatal(err)
				}
				defer db.Close()
			}
			c := newTestChainOn(b, db, testGenesis(balances, DefaultFees()))
			ctx := context.Background()
			var elapsed, committing time.Duration
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				txs := make([][]byte, n)
				for j := range n {
					txs[j] = sign(b, privs[j], uint64(i), &Transfer{To: to, Amount: 1})
				}
				c.height++
				b.StartTimer()
				start := time.Now()
				resp, err := c.app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: c.height, Time: blockTime(c.height), Txs: txs})
				if err != nil {
					b.Fatal(err)
				}
				mid := time.Now()
				if _, err := c.app.Commit(ctx, &abci.RequestCommit{}); err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(start)
				committing += time.Since(mid)
				b.StopTimer()
				for _, r := range resp.TxResults {
					if r.Code != 0 {
						b.Fatalf("tx failed: %s", r.Log)
					}
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "tx/s")
			b.ReportMetric(float64((elapsed-committing).Milliseconds())/float64(b.N), "finalize-ms")
			b.ReportMetric(float64(committing.Milliseconds())/float64(b.N), "commit-ms")
		})
	}
}

// bigSubnetApp is an app whose state holds a 4096-neuron subnet: 4096
// hotkeys with a stake each, and their coldkeys.
func bigSubnetApp(b *testing.B) *App {
	app, err := NewApp(dbm.NewMemDB(), zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	s := app.State()
	s.setGlobal(Global{ChainID: testChainID, Fees: DefaultFees(), NextNetuid: 2})
	p := DefaultHyperparams()
	p.MaxUIDs, p.MaxValidators = 4096, 256
	s.setSubnet(1, Subnet{Params: p, Burn: p.MinBurn, N: 4096})
	for uid := range uint16(4096) {
		var hk, ck AccountID
		hk[0], hk[1], hk[2] = 'h', byte(uid>>8), byte(uid)
		ck[0], ck[1], ck[2] = 'c', byte(uid>>8), byte(uid)
		s.setAccount(ck, Account{Balance: Unit, Nonce: 1})
		s.setHotkey(hk, Hotkey{Owner: ck, Take: DefaultTake, Stake: Unit})
		s.setStake(hk, ck, stakeRec{Amount: Unit})
		w := make([]consensus.Entry, 0, 64)
		for j := range uint16(64) {
			w = append(w, consensus.Entry{UID: j * 64, Value: 1000})
		}
		s.setNeuron(1, uid, &Neuron{Hotkey: hk, RegisteredAt: 1, Weights: w, Bonds: w})
	}
	s.forget()
	app.appHash = app.stage()
	return app
}

// BenchmarkStageOneAccount times stage() (re-encoding the dirty records
// and computing the app hash) after one account changes, in a state of
// ~16k records including a 4096-neuron subnet; BenchmarkFullRehash is what
// rehashing everything would cost.
func BenchmarkStageOneAccount(b *testing.B) {
	app := bigSubnetApp(b)
	s := app.State()
	var id AccountID
	id[0] = 'c'
	b.ResetTimer()
	for i := range b.N {
		s.setAccount(id, Account{Balance: uint64(i), Nonce: 1})
		s.forget()
		app.appHash = app.stage()
	}
}

func BenchmarkFullRehash(b *testing.B) {
	app := bigSubnetApp(b)
	keys := allKeys(app.State())
	b.ResetTimer()
	for range b.N {
		h := newHasher()
		for _, k := range keys {
			h.set(k, app.State().encodeRecord(k))
		}
		h.root()
	}
}
