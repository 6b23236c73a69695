package node

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
	abcicli "github.com/cometbft/cometbft/abci/client"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/proxy"
	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/chain"
)

// newGenesisApp is a chain app after InitChain, with these accounts funded.
func newGenesisApp(t *testing.T, funded ...account) *chain.App {
	t.Helper()
	return newGenesisAppOn(t, dbm.NewMemDB(), funded...)
}

// newGenesisAppOn is newGenesisApp on db.
func newGenesisAppOn(t *testing.T, db dbm.DB, funded ...account) *chain.App {
	t.Helper()
	app, err := chain.NewApp(db, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	gs := chain.GenesisState{Fees: chain.DefaultFees()}
	for _, a := range funded {
		gs.Balances = append(gs.Balances, chain.GenesisBalance{Account: a.hex(), Amount: 1_000_000_000_000})
	}
	raw, err := json.Marshal(gs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChainID, AppStateBytes: raw}); err != nil {
		t.Fatal(err)
	}
	return app
}

// TestPreCheckClientsAnswerAsLocal: through preCheckClients, CheckTx from
// many goroutines at once (as CometBFT's RPC handlers call the mempool),
// with forged signatures among valid transfers and queries on another
// connection in between, answers every transaction exactly as
// proxy.NewLocalClientCreator's client answers the same transactions on
// an identical app; the synchronous CheckTx (the /check_tx RPC's) answers
// the same as a dry run that admits nothing; the mempool's callbacks see
// each answer once; and rechecks answer as CheckTx does.
func TestPreCheckClientsAnswerAsLocal(t *testing.T) {
	const perSender = 15
	senders := []account{newAccount("s0"), newAccount("s1"), newAccount("s2"), newAccount("s3"), newAccount("s4"), newAccount("s5")}
	bob := newAccount("bob")
	// Each sender's transactions in its order: a forged copy of each
	// transfer first, then the transfer.
	txs := make([][][]byte, len(senders))
	for s, a := range senders {
		for nonce := range uint64(perSender) {
			good, err := chain.SignTx(a.priv, testChainID, nonce, &chain.Transfer{To: bob.id, Amount: 1})
			if err != nil {
				t.Fatal(err)
			}
			forged := bytes.Clone(good)
			forged[len(forged)-1] ^= 0x40
			txs[s] = append(txs[s], forged, good)
		}
	}

	type answer struct {
		code uint32
		log  string
	}
	// The reference: the plain local client, one transaction at a time.
	want := map[string]answer{}
	ref, err := proxy.NewLocalClientCreator(newGenesisApp(t, senders...)).NewABCIClient()
	if err != nil {
		t.Fatal(err)
	}
	for _, stxs := range txs {
		for _, tx := range stxs {
			r, err := ref.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: tx, Type: abci.CheckTxType_New})
			if err != nil {
				t.Fatal(err)
			}
			want[string(tx)] = answer{r.Code, r.Log}
		}
	}

	creator := &preCheckClients{app: &gatedApp{App: newGenesisApp(t, senders...)}}
	mempool, err := creator.NewABCIClient()
	if err != nil {
		t.Fatal(err)
	}
	query, err := creator.NewABCIClient()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	globalSeen := map[string]int{}
	mempool.SetResponseCallback(func(req *abci.Request, res *abci.Response) {
		mu.Lock()
		defer mu.Unlock()
		globalSeen[string(req.GetCheckTx().Tx)]++
	})
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i, tx := range txs[s] {
				if i%4 >= 2 {
					// First the synchronous CheckTx, /check_tx's: the
					// same answer, as a dry run that admits nothing (or
					// the admission below would be a bad nonce).
					r, err := mempool.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: tx, Type: abci.CheckTxType_New})
					if err != nil {
						t.Error(err)
						return
					}
					if got := (answer{r.Code, r.Log}); got != want[string(tx)] {
						t.Errorf("sender %d tx %d, dry run: %+v, the local client says %+v", s, i, got, want[string(tx)])
					}
				}
				var got answer
				rr, err := mempool.CheckTxAsync(context.Background(), &abci.RequestCheckTx{Tx: tx, Type: abci.CheckTxType_New})
				if err != nil {
					t.Error(err)
					return
				}
				calls := 0
				rr.SetCallback(func(res *abci.Response) {
					calls++
					got = answer{res.GetCheckTx().Code, res.GetCheckTx().Log}
				})
				if calls != 1 {
					t.Errorf("sender %d tx %d: request callback called %d times", s, i, calls)
				}
				if got != want[string(tx)] {
					t.Errorf("sender %d tx %d: %+v, the local client says %+v", s, i, got, want[string(tx)])
				}
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			r, err := query.Query(context.Background(), &abci.RequestQuery{Path: chain.QueryAccount + bob.hex()})
			if err != nil || r.Code != 0 {
				t.Errorf("query: %v %+v", err, r)
				return
			}
		}
	})
	wg.Wait()

	forged, accepted := 0, 0
	for _, stxs := range txs {
		for i, tx := range stxs {
			if w := want[string(tx)]; i%2 == 0 && w.code == uint32(chain.CodeBadSignature) {
				forged++
			} else if w.code == 0 {
				accepted++
			}
			if globalSeen[string(tx)] != 1 {
				t.Errorf("CheckTxAsync of tx %d: the connection's callback saw it %d times", i, globalSeen[string(tx)])
			}
		}
	}
	if total := len(senders) * perSender; forged != total || accepted != total {
		t.Errorf("%d forged rejected and %d accepted, want %d each", forged, accepted, total)
	}

	// A recheck goes straight to the app and answers as CheckTx does
	// there: the accepted transfers are now a replay of their nonce.
	r, err := mempool.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: txs[0][1], Type: abci.CheckTxType_Recheck})
	if err != nil {
		t.Fatal(err)
	}
	refR, err := ref.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: txs[0][1], Type: abci.CheckTxType_Recheck})
	if err != nil {
		t.Fatal(err)
	}
	if r.Code != refR.Code || r.Log != refR.Log || r.Code != uint32(chain.CodeBadNonce) {
		t.Errorf("recheck: %d %q, local client %d %q, want bad_nonce", r.Code, r.Log, refR.Code, refR.Log)
	}
}

var _ abcicli.Client = (*preCheckClient)(nil)

// TestPreCheckClientsForwardSnapshots: CometBFT's snapshot connection,
// through preCheckClients, reaches the app's snapshots rather than
// BaseApplication's empty answers.
func TestPreCheckClientsForwardSnapshots(t *testing.T) {
	db, err := dbm.NewGoLevelDB("app", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	app := newGenesisAppOn(t, db)
	ctx := context.Background()
	if err := app.EnableSnapshots(t.TempDir(), 1, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Commit(ctx, &abci.RequestCommit{}); err != nil {
		t.Fatal(err)
	}
	app.WaitSnapshot()
	client, err := (&preCheckClients{app: &gatedApp{App: app}}).NewABCIClient()
	if err != nil {
		t.Fatal(err)
	}
	list, err := client.ListSnapshots(ctx, &abci.RequestListSnapshots{})
	if err != nil || len(list.Snapshots) != 1 || list.Snapshots[0].Height != 1 {
		t.Fatalf("ListSnapshots through the client: %+v %v, want the snapshot at height 1", list, err)
	}
	chunk, err := client.LoadSnapshotChunk(ctx, &abci.RequestLoadSnapshotChunk{Height: 1, Format: chain.SnapshotFormat})
	if err != nil || len(chunk.Chunk) == 0 {
		t.Fatalf("LoadSnapshotChunk through the client: %v, %d bytes", err, len(chunk.GetChunk()))
	}
	offer, err := client.OfferSnapshot(ctx, &abci.RequestOfferSnapshot{Snapshot: list.Snapshots[0], AppHash: make([]byte, 32)})
	if err != nil || offer.Result != abci.ResponseOfferSnapshot_ABORT {
		t.Fatalf("OfferSnapshot to an app with state, through the client: %v %v, want ABORT", offer, err)
	}
}
