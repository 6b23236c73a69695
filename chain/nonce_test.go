package chain

import (
	"context"
	"encoding/json"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
)

// queryNonce asks the app's /nonce/ query about id.
func (c *testChain) queryNonce(id AccountID) NonceView {
	c.t.Helper()
	r, err := c.app.Query(context.Background(), &abci.RequestQuery{Path: QueryNonce + id.String()})
	if err != nil || r.Code != 0 {
		c.t.Fatalf("query %s%s: %v, code %d: %s", QueryNonce, id, err, r.Code, r.Log)
	}
	var v NonceView
	if err := json.Unmarshal(r.Value, &v); err != nil {
		c.t.Fatal(err)
	}
	return v
}

// TestNextNonceAcrossRecheck follows the next-nonce query through the
// mempool's life: it counts the admitted transactions, keeps counting the
// ones still in the mempool between Commit and the end of the recheck
// (when CometBFT has cleared nothing yet but the app has reset its
// CheckTx state), and falls back to the committed nonce plus what is left
// once a recheck evicts a transaction.
func TestNextNonceAcrossRecheck(t *testing.T) {
	f := newFixture(t)
	alice, carol := f.id["alice"], f.id["carol"]
	n := f.nonce(alice)
	tx := func(nonce, until uint64) []byte {
		raw, err := SignTxUntil(f.priv["alice"], testChainID, nonce, until, &Transfer{To: carol, Amount: Unit})
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	want := func(what string, nonce, next uint64) {
		t.Helper()
		if got := f.queryNonce(alice); got != (NonceView{Nonce: nonce, Next: next}) {
			t.Errorf("%s: %+v, want nonce %d next %d", what, got, nonce, next)
		}
	}
	check := func(raw []byte, typ abci.CheckTxType, code Code, what string) {
		t.Helper()
		if r := f.checkTx(raw, typ); Code(r.Code) != code {
			t.Errorf("%s: code %s (%s), want %s", what, Code(r.Code), r.Log, code)
		}
	}

	want("nothing sent", n, n)
	// Five admitted; the third expires after the next block.
	h := uint64(f.height)
	mempool := [][]byte{tx(n, 0), tx(n+1, 0), tx(n+2, h+2), tx(n+3, 0), tx(n+4, 0)}
	for i, raw := range mempool {
		check(raw, abci.CheckTxType_New, CodeOK, "new")
		want("admitted", n, n+uint64(i)+1)
	}
	// A dry run (CometBFT's /check_tx) does not count.
	if r := f.checkTxIn(DryRun(context.Background()), tx(n+5, 0), abci.CheckTxType_New); r.Code != 0 {
		t.Fatalf("dry run: %s", r.Log)
	}
	want("after a dry run", n, n+5)

	// Between FinalizeBlock and Commit the state holds the block.
	f.finalize(mempool[0])
	want("finalized", n+1, n+5)
	f.commit()
	want("committed, before the recheck", n+1, n+5)
	check(mempool[1], abci.CheckTxType_Recheck, CodeOK, "recheck")
	want("recheck under way", n+1, n+5)
	for _, raw := range mempool[2:] {
		check(raw, abci.CheckTxType_Recheck, CodeOK, "recheck")
	}
	want("rechecked", n+1, n+5)
	check(tx(n+5, 0), abci.CheckTxType_New, CodeOK, "next after the recheck")
	want("one more", n+1, n+6)

	// The next block includes only the second, and the third expires
	// with it: the recheck evicts the third and every later one, and the
	// next nonce is the third's.
	f.mustBlock(mempool[1])
	want("committed, before the recheck", n+2, n+6)
	check(mempool[2], abci.CheckTxType_Recheck, CodeExpired, "recheck of the expired one")
	want("after the eviction", n+2, n+2)
	check(mempool[3], abci.CheckTxType_Recheck, CodeBadNonce, "recheck after the gap")
	want("after the eviction", n+2, n+2)
	check(tx(n+2, 0), abci.CheckTxType_New, CodeOK, "the freed nonce")
	want("the freed nonce taken", n+2, n+3)

	// The next nonce is CheckTx's view only: a chain that ran the same
	// blocks without any CheckTx has the same app hash.
	g := newFixture(t)
	g.mustBlock(mempool[0])
	g.mustBlock(mempool[1])
	if a, b := f.appHash(), g.appHash(); string(a) != string(b) {
		t.Errorf("app hash %X after CheckTx, %X without", a, b)
	}
}

func (c *testChain) appHash() []byte {
	c.t.Helper()
	r, err := c.app.Info(context.Background(), &abci.RequestInfo{})
	if err != nil {
		c.t.Fatal(err)
	}
	return r.LastBlockAppHash
}
