package chainclient

import (
	"context"
	"testing"
	"time"

	"github.com/seed0ffb8d46/agora/chain"
)

// TestBurstOfTransfersLands sends 300 transfers from one account back to
// back, each signed with the next nonce and broadcast with
// broadcast_tx_sync without waiting for a block, and checks that every
// one is admitted, lands with an OK result, and lands in nonce order.
func TestBurstOfTransfersLands(t *testing.T) {
	const n = 300
	alice, aliceID, bobID, c := aliceOnNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	chainID, start, err := c.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hashes := make([]string, n)
	began := time.Now()
	for i := range n {
		tx, err := chain.SignTx(alice, chainID, uint64(i), &chain.Transfer{To: bobID, Amount: chain.Unit})
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Broadcast(ctx, tx)
		if err != nil {
			t.Fatalf("broadcast %d: %v", i, err)
		}
		if !r.OK() {
			t.Fatalf("broadcast %d: code %d (%s): %s", i, r.Code, r.CodeName, r.Log)
		}
		hashes[i] = r.Hash
	}
	var first, last int64
	for i, h := range hashes {
		r, err := c.WaitTx(ctx, h)
		if err != nil {
			t.Fatalf("transfer %d: %v", i, err)
		}
		if !r.OK() {
			t.Fatalf("transfer %d in block %d: code %d (%s): %s", i, r.Height, r.Code, r.CodeName, r.Log)
		}
		if r.Height < last {
			t.Fatalf("transfer %d in block %d, before transfer %d's block %d", i, r.Height, i-1, last)
		}
		if i == 0 {
			first = r.Height
		}
		last = r.Height
	}
	took := time.Since(began)
	bob, err := c.Account(ctx, bobID)
	if err != nil || bob.Balance != n*chain.Unit {
		t.Fatalf("bob = %+v, %v; want balance %d", bob, err, n*chain.Unit)
	}
	a, err := c.Account(ctx, aliceID)
	if err != nil || a.Nonce != n {
		t.Fatalf("alice = %+v, %v; want nonce %d", a, err, n)
	}
	t.Logf("%d transfers landed in blocks %d to %d (block %d was the latest when the first was sent), %v after it",
		n, first, last, start, took.Round(time.Millisecond))
}
