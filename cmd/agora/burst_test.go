package main

import (
	"context"
	"testing"
	"time"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/keys"
)

// TestTransferLoopNoWait runs agora tx transfer --no-wait 300 times in a
// row for one key, as a shell loop would, without waiting for blocks in
// between: each must sign at the nonce after the sender's transactions
// already in the mempool, so all 300 are admitted and land.
func TestTransferLoopNoWait(t *testing.T) {
	const n = 300
	e, alice, bob, _ := newTxEnv(t)
	hashes := make([]string, n)
	began := time.Now()
	for i := range n {
		j := decodeJSON[txJSON](t, e.ok("tx", "transfer", "--wallet", "alice", "--to", bob, "--amount", "1", "--no-wait", "--output", "json"))
		if j.Status != "pending" || j.Nonce != uint64(i) {
			t.Fatalf("transfer %d: status %s, nonce %d: %+v", i, j.Status, j.Nonce, j)
		}
		hashes[i] = j.Hash
	}
	c, err := chainclient.New(e.node)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var first, last int64
	for i, h := range hashes {
		r, err := c.WaitTx(ctx, h)
		if err != nil || !r.OK() {
			t.Fatalf("transfer %d: %+v, %v", i, r, err)
		}
		if r.Height < last {
			t.Fatalf("transfer %d in block %d, before transfer %d's block %d", i, r.Height, i-1, last)
		}
		if i == 0 {
			first = r.Height
		}
		last = r.Height
	}
	t.Logf("%d commands' transfers landed in blocks %d to %d, %v after the first command started",
		n, first, last, time.Since(began).Round(time.Millisecond))
	bobID, _ := keys.ParseAddress(bob)
	aliceID, _ := keys.ParseAddress(alice)
	b, err := c.Account(ctx, chain.AccountID(bobID))
	if err != nil || b.Balance != n*chain.Unit {
		t.Errorf("bob = %+v, %v; want balance %d", b, err, n*chain.Unit)
	}
	a, err := c.Account(ctx, chain.AccountID(aliceID))
	if err != nil || a.Nonce != n {
		t.Errorf("alice = %+v, %v; want nonce %d", a, err, n)
	}
}
