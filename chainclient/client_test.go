package chainclient

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/node"
	"github.com/seed0ffb8d46/agora/node/nodetest"
)

const testChainID = "chainclient-test"

// startNode runs a single-validator node with fast blocks in a temporary
// home, with balances, until the test ends, and returns its RPC address
// once it answers.
func startNode(t *testing.T, balances map[chain.AccountID]uint64, configure ...func(*cmtcfg.Config)) string {
	t.Helper()
	var gb []chain.GenesisBalance
	for id, amount := range balances {
		gb = append(gb, chain.GenesisBalance{Account: id.String(), Amount: amount})
	}
	return nodetest.Start(t, testChainID, gb, configure...)
}

func newKey(t *testing.T, seed byte) (ed25519.PrivateKey, chain.AccountID) {
	priv := ed25519.NewKeyFromSeed(bytesOf(seed, ed25519.SeedSize))
	var id chain.AccountID
	copy(id[:], priv.Public().(ed25519.PublicKey))
	return priv, id
}

// aliceOnNode starts a node where alice holds 1000 AGR and returns her
// key, bob's account and a client of the node (closed with the test).
func aliceOnNode(t *testing.T) (ed25519.PrivateKey, chain.AccountID, chain.AccountID, *Client) {
	t.Helper()
	alice, aliceID := newKey(t, 1)
	_, bobID := newKey(t, 2)
	c, err := New(startNode(t, map[chain.AccountID]uint64{aliceID: 1000 * chain.Unit}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return alice, aliceID, bobID, c
}

func bytesOf(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

func TestNewAddress(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "tcp://127.0.0.1:26657", want: "tcp://127.0.0.1:26657"},
		{in: "http://localhost:8080", want: "http://localhost:8080"},
		{in: "https://rpc.example.org", want: "https://rpc.example.org"},
		{in: "127.0.0.1:26657", want: "tcp://127.0.0.1:26657"},
		{in: "http://[::1]:26657/", want: "http://[::1]:26657"},
		{in: "", err: "empty"},
		{in: "tcp://127.0.0.1", err: "no port"},
		{in: "udp://127.0.0.1:1", err: `scheme "udp"`},
		{in: "tcp://127.0.0.1:99999", err: "port"},
		{in: "http://host:1/rpc", err: "only a scheme, a host and a port"},
		{in: "tcp://:26657", err: "no host"},
	} {
		c, err := New(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("New(%q): error %v, want one containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || c.Address() != tc.want {
			t.Errorf("New(%q) = %v, %v; want %s", tc.in, c, err, tc.want)
		}
	}
}

// TestHostPort: the host:port a route to the node goes to, with the
// scheme's default port when the address has none.
func TestHostPort(t *testing.T) {
	for in, want := range map[string]string{
		"tcp://127.0.0.1:26657":   "127.0.0.1:26657",
		"10.77.0.2:26657":         "10.77.0.2:26657",
		"http://[::1]:26657/":     "[::1]:26657",
		"http://node.lan":         "node.lan:80",
		"https://rpc.example.org": "rpc.example.org:443",
	} {
		c, err := New(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.HostPort(); got != want {
			t.Errorf("New(%q).HostPort() = %q, want %q", in, got, want)
		}
	}
}

func TestUnreachable(t *testing.T) {
	ports, err := node.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(fmt.Sprintf("tcp://127.0.0.1:%d", ports[0]))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err = c.ChainID(ctx)
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("ChainID of nothing: %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
	if _, err := c.WaitTx(ctx, strings.Repeat("AB", 32)); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("WaitTx against nothing: %v", err)
	}
}

func TestClientAgainstNode(t *testing.T) {
	alice, aliceID, bobID, c := aliceOnNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	id, err := c.ChainID(ctx)
	if err != nil || id != testChainID {
		t.Fatalf("ChainID = %q, %v", id, err)
	}
	sup, err := c.Supply(ctx)
	if err != nil || sup.Total != 1000*chain.Unit || sup.Genesis != sup.Total {
		t.Fatalf("Supply = %+v, %v", sup, err)
	}
	nonce, err := c.NextNonce(ctx, aliceID)
	if err != nil || nonce != 0 {
		t.Fatalf("NextNonce = %d, %v", nonce, err)
	}

	// A transfer lands and changes both balances.
	tx, err := chain.SignTx(alice, id, nonce, &chain.Transfer{To: bobID, Amount: 5 * chain.Unit})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.BroadcastAndWait(ctx, tx)
	if err != nil || !r.OK() || !r.Included() || r.Hash != TxHash(tx) || r.CodeName != "ok" {
		t.Fatalf("transfer: %+v, %v", r, err)
	}
	if len(r.Events) == 0 || r.Events[0].Type != "transfer" {
		t.Errorf("transfer events: %+v", r.Events)
	}
	bob, err := c.Account(ctx, bobID)
	if err != nil || bob.Balance != 5*chain.Unit {
		t.Fatalf("bob = %+v, %v", bob, err)
	}
	height, err := c.Query(ctx, chain.QueryAccount+aliceID.String(), &chain.AccountView{})
	if err != nil || height < r.Height {
		t.Errorf("query height %d < inclusion height %d (%v)", height, r.Height, err)
	}

	// Sending the same bytes again finds them in the mempool cache and
	// returns the block that has them.
	first := r
	r, err = c.BroadcastAndWait(ctx, tx)
	if err != nil || r.Height != first.Height || !r.OK() {
		t.Fatalf("resend: %+v, %v; first %+v", r, err, first)
	}
	// Another transaction with the spent nonce is CheckTx's bad nonce,
	// returned at once.
	tx, _ = chain.SignTx(alice, id, 0, &chain.Transfer{To: bobID, Amount: 7})
	r, err = c.BroadcastAndWait(ctx, tx)
	if err != nil || r.Code != chain.CodeBadNonce || r.Included() || !strings.Contains(r.Log, "nonce 0, want 1") {
		t.Fatalf("stale nonce: %+v, %v", r, err)
	}
	// So is a transaction for another chain.
	tx, _ = chain.SignTx(alice, "other-chain", 1, &chain.Transfer{To: bobID, Amount: 1})
	if r, err = c.BroadcastAndWait(ctx, tx); err != nil || r.Code != chain.CodeWrongChain || r.CodeName != "wrong_chain" {
		t.Fatalf("wrong chain: %+v, %v", r, err)
	}

	// Broadcast alone returns after CheckTx; WaitTx then finds the block.
	tx, _ = chain.SignTx(alice, id, 1, &chain.CreateSubnet{Params: chain.DefaultHyperparams()})
	r, err = c.Broadcast(ctx, tx)
	if err != nil || !r.OK() || r.Included() {
		t.Fatalf("Broadcast: %+v, %v", r, err)
	}
	if r, err = c.WaitTx(ctx, r.Hash); err != nil || !r.OK() || !r.Included() {
		t.Fatalf("WaitTx: %+v, %v", r, err)
	}
	sn, err := c.Subnet(ctx, 1)
	if err != nil || sn.Owner != aliceID.String() || !reflect.DeepEqual(sn.Params, chain.DefaultHyperparams()) {
		t.Fatalf("Subnet = %+v, %v", sn, err)
	}
	mg, err := c.Metagraph(ctx, 1)
	if err != nil || mg.Subnet.Netuid != 1 || len(mg.Neurons) != 0 {
		t.Fatalf("Metagraph = %+v, %v", mg, err)
	}

	// Weights, bonds and commits are per mechanism: the subnet has one
	// until its owner sets two.
	if cv, err := c.Commits(ctx, 1, 0, aliceID); err != nil || cv.Netuid != 1 || cv.Mechanism != 0 || len(cv.Commits) != 0 {
		t.Fatalf("Commits(1, 0) = %+v, %v", cv, err)
	}
	if _, err := c.Commits(ctx, 1, 1, aliceID); err == nil || !strings.Contains(err.Error(), "subnet 1 has no mechanism 1") {
		t.Fatalf("Commits(1, 1) on one mechanism: %v", err)
	}
	two := chain.DefaultHyperparams()
	two.MechanismCount, two.MechanismSplit = 2, []uint16{65000, 535}
	tx, _ = chain.SignTx(alice, id, 2, &chain.SetHyperparams{Netuid: 1, Params: two})
	if r, err = c.BroadcastAndWait(ctx, tx); err != nil || !r.OK() {
		t.Fatalf("set two mechanisms: %+v, %v", r, err)
	}
	if cv, err := c.Commits(ctx, 1, 1, aliceID); err != nil || cv.Mechanism != 1 || len(cv.Commits) != 0 {
		t.Fatalf("Commits(1, 1) = %+v, %v", cv, err)
	}
	if sn, err := c.Subnet(ctx, 1); err != nil || !reflect.DeepEqual(sn.Params, two) {
		t.Fatalf("Subnet after setting mechanisms = %+v, %v", sn, err)
	}
	for _, q := range []func() error{
		func() error { _, err := c.Weights(ctx, 1, 0, 1); return err },
		func() error { _, err := c.Bonds(ctx, 1, 0, 1); return err },
	} {
		if err := q(); err == nil || !strings.Contains(err.Error(), "subnet 1 has no uid 0") {
			t.Errorf("row of a uid that does not exist: %v", err)
		}
	}

	// Errors of queries are the node's words, as *QueryError.
	_, err = c.Subnet(ctx, 9)
	var qe *QueryError
	if !errors.As(err, &qe) || !strings.Contains(qe.Log, "no subnet 9") {
		t.Errorf("Subnet(9): %v", err)
	}
	if _, err = c.Neuron(ctx, 1, 0); err == nil || !strings.Contains(err.Error(), "subnet 1 has no uid 0") {
		t.Errorf("Neuron(1, 0): %v", err)
	}
	if _, err = c.Hotkey(ctx, bobID); err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Errorf("Hotkey(bob): %v", err)
	}

	// Waiting for a transaction that never comes ends with ctx.
	wctx, wcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer wcancel()
	if _, err := c.WaitTx(wctx, strings.Repeat("00", 32)); err == nil || !strings.Contains(err.Error(), "not in a block yet") ||
		!errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitTx(unknown): %v", err)
	}
	if _, err := c.WaitTx(ctx, "xyz"); err == nil {
		t.Error("WaitTx(bad hash): no error")
	}

	// SendTx's transactions are valid for TxValidity blocks from when
	// they were signed.
	key, err := keys.NewPrivateKeyFromSeed(alice.Seed())
	if err != nil {
		t.Fatal(err)
	}
	r, err = c.SendTx(ctx, key, &chain.Transfer{To: bobID, Amount: 1})
	if err != nil || !r.Included() {
		t.Fatalf("SendTx: %+v, %v", r, err)
	}
	hash, _ := hex.DecodeString(r.Hash)
	res, err := c.rpc.Tx(ctx, hash, false)
	if err != nil {
		t.Fatal(err)
	}
	sent, derr := chain.DecodeTx(res.Tx)
	if derr != nil || sent.ValidUntil < uint64(r.Height) || sent.ValidUntil > uint64(r.Height)+TxValidity {
		t.Errorf("SendTx's valid_until %d, included at %d: want within %d blocks after it", sent.ValidUntil, r.Height, TxValidity)
	}
	// A transaction that was never sent and whose last block is past is
	// reported expired once the chain is past it, not waited for.
	nonce, _ = c.NextNonce(ctx, aliceID)
	stale, _ := chain.SignTxUntil(alice, id, nonce, 1, &chain.Transfer{To: bobID, Amount: 1})
	for {
		st, err := c.rpc.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.SyncInfo.LatestBlockHeight > 1+expiryMargin {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r, err = c.waitTx(ctx, TxHash(stale), 1); err != nil || r.Code != chain.CodeExpired || r.Included() ||
		!strings.Contains(r.Log, "not included by block 1, the last it was valid for") {
		t.Errorf("waiting for an expired transaction: %+v, %v", r, err)
	}
	// Broadcasting it is CheckTx's expired, at once.
	if r, err = c.BroadcastAndWait(ctx, stale); err != nil || r.Code != chain.CodeExpired {
		t.Errorf("broadcasting an expired transaction: %+v, %v", r, err)
	}
}

func TestWaitWithoutIndexer(t *testing.T) {
	alice, aliceID := newKey(t, 3)
	addr := startNode(t, map[chain.AccountID]uint64{aliceID: chain.Unit}, func(c *cmtcfg.Config) { c.TxIndex.Indexer = "null" })
	c, err := New(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tx, err := chain.SignTx(alice, testChainID, 0, &chain.Transfer{To: aliceID, Amount: 1})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.BroadcastAndWait(ctx, tx)
	if err == nil || !strings.Contains(err.Error(), `does not index transactions (set tx_index.indexer = "kv"`) {
		t.Fatalf("BroadcastAndWait without an indexer: %+v, %v", r, err)
	}
}
