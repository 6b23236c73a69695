package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtcfg "github.com/cometbft/cometbft/config"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/seed0ffb8d46/agora/chain"
)

const testChainID = "agora-test-1"

// waitTimeout bounds every wait for the chain; generous for -race on two
// cores, and only ever reached when something is broken.
const waitTimeout = 30 * time.Second

// fastConsensus shortens CometBFT's timeouts so that tests see a block
// every ~200 ms instead of every second.
func fastConsensus(c *cmtcfg.Config) {
	c.Consensus.TimeoutPropose = 500 * time.Millisecond
	c.Consensus.TimeoutProposeDelta = 100 * time.Millisecond
	c.Consensus.TimeoutPrevote = 100 * time.Millisecond
	c.Consensus.TimeoutPrevoteDelta = 50 * time.Millisecond
	c.Consensus.TimeoutPrecommit = 100 * time.Millisecond
	c.Consensus.TimeoutPrecommitDelta = 50 * time.Millisecond
	c.Consensus.TimeoutCommit = 150 * time.Millisecond
	c.Consensus.PeerGossipSleepDuration = 10 * time.Millisecond
	c.Consensus.PeerQueryMaj23SleepDuration = 200 * time.Millisecond
	c.P2P.FlushThrottleTimeout = 10 * time.Millisecond
}

// account is a test key.
type account struct {
	priv ed25519.PrivateKey
	id   chain.AccountID
}

func newAccount(name string) account {
	seed := sha256.Sum256([]byte(name))
	priv := ed25519.NewKeyFromSeed(seed[:])
	var a account
	a.priv = priv
	copy(a.id[:], priv.Public().(ed25519.PublicKey))
	return a
}

func (a account) hex() string { return hex.EncodeToString(a.id[:]) }

// testLog is a logger into a buffer, printed if the test fails. Nodes may
// log after the test ends, so it never writes to t.Log.
func testLog(t *testing.T) *zap.Logger {
	t.Helper()
	buf := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node logs:\n%s", buf.String())
		}
	})
	enc := zap.NewDevelopmentEncoderConfig()
	return zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(buf), zapcore.InfoLevel))
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// running is a node started by start.
type running struct {
	*Node
	cancel context.CancelFunc
	done   chan error
}

// start opens the node at home and runs it until stop or the end of the
// test.
func start(t *testing.T, home string, log *zap.Logger) *running {
	t.Helper()
	n, err := New(home, log.With(zap.String("node", filepath.Base(home))))
	if err != nil {
		t.Fatalf("New(%s): %v", home, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Node: n, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- n.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	select {
	case <-n.Ready():
	case err := <-r.done:
		r.cancel = nil
		t.Fatalf("Run(%s): %v", home, err)
	case <-time.After(waitTimeout):
		t.Fatalf("%s did not start within %v", home, waitTimeout)
	}
	return r
}

// stop cancels the node and waits for Run to return nil.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run of %s: %v", r.Home(), err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("%s did not stop within %v", r.Home(), waitTimeout)
	}
}

func (r *running) height() int64 { return r.Comet().BlockStore().Height() }

// appHashAfter is the app hash after block h, as block h+1's header has it.
func (r *running) appHashAfter(t *testing.T, h int64) []byte {
	t.Helper()
	meta := r.Comet().BlockStore().LoadBlockMeta(h + 1)
	if meta == nil {
		t.Fatalf("%s has no block %d", r.Home(), h+1)
	}
	return meta.Header.AppHash
}

func (r *running) client(t *testing.T) *rpchttp.HTTP {
	t.Helper()
	c, err := rpchttp.New(r.RPCAddress(), "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitFor polls cond until it holds or waitTimeout passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitHeight(t *testing.T, h int64, nodes ...*running) {
	t.Helper()
	for _, n := range nodes {
		waitFor(t, fmt.Sprintf("%s to reach height %d", n.Home(), h), func() bool { return n.height() >= h })
	}
}

// queryAccount asks a node for an account over RPC.
func queryAccount(t *testing.T, c *rpchttp.HTTP, a account) chain.AccountView {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.ABCIQuery(ctx, chain.QueryAccount+a.hex(), nil)
	if err != nil {
		t.Fatalf("abci_query: %v", err)
	}
	if res.Response.Code != 0 {
		t.Fatalf("abci_query %s: code %d: %s", chain.QueryAccount+a.hex(), res.Response.Code, res.Response.Log)
	}
	var v chain.AccountView
	if err := json.Unmarshal(res.Response.Value, &v); err != nil {
		t.Fatalf("abci_query: %v", err)
	}
	return v
}

func waitBalance(t *testing.T, c *rpchttp.HTTP, a account, want uint64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("balance %d", want), func() bool { return queryAccount(t, c, a).Balance == want })
}

// transfer signs and broadcasts a transfer and checks CheckTx accepted it.
func transfer(t *testing.T, c *rpchttp.HTTP, from account, nonce uint64, to account, amount uint64) []byte {
	t.Helper()
	tx, err := chain.SignTx(from.priv, testChainID, nonce, &chain.Transfer{To: to.id, Amount: amount})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.BroadcastTxSync(ctx, tx)
	if err != nil {
		t.Fatalf("broadcast_tx_sync: %v", err)
	}
	if res.Code != abci.CodeTypeOK {
		t.Fatalf("broadcast_tx_sync: code %d: %s", res.Code, res.Log)
	}
	return tx
}

// committedApp reads the app database of a stopped node: the height and
// app hash of its last commit.
func committedApp(t *testing.T, home string) (int64, []byte) {
	t.Helper()
	db, err := dbm.NewDB(AppDBName, appDBBackend, filepath.Join(home, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	app, err := chain.NewApp(db, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	info, err := app.Info(context.Background(), &abci.RequestInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return info.LastBlockHeight, info.LastBlockAppHash
}

func initSingle(t *testing.T, home string, balances ...chain.GenesisBalance) {
	t.Helper()
	ports, err := FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	err = Init(home, InitOptions{
		ChainID: testChainID, Balances: balances,
		P2PAddress: hostPort(ports[0]), RPCAddress: hostPort(ports[1]),
		Configure: fastConsensus,
	})
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
}

// TestSingleNode: a node from Init produces blocks, takes a signed
// transfer over RPC, answers the balance query, stops on cancel, and
// resumes at the same height and app hash.
func TestSingleNode(t *testing.T) {
	alice, bob := newAccount("alice"), newAccount("bob")
	const funds = 1_000_000_000_000
	home := t.TempDir()
	initSingle(t, home, chain.GenesisBalance{Account: alice.hex(), Amount: funds})
	if err := Init(home, InitOptions{ChainID: testChainID}); err == nil || !strings.Contains(err.Error(), "already holds a node") {
		t.Fatalf("Init over an existing home: %v, want a refusal", err)
	}
	log := testLog(t)

	n := start(t, home, log)
	waitHeight(t, 2, n)
	c := n.client(t)
	tx := transfer(t, c, alice, 0, bob, 1000)
	waitBalance(t, c, bob, 1000)
	fee := chain.DefaultFees().Transfer
	if got := queryAccount(t, c, alice); got != (chain.AccountView{Balance: funds - 1000 - fee, Nonce: 1}) {
		t.Errorf("alice = %+v, want balance %d nonce 1", got, funds-1000-fee)
	}
	// The kv indexer has it, and a replay of it is refused.
	hash := sha256.Sum256(tx)
	waitFor(t, "the indexer to have the transfer", func() bool {
		res, err := c.Tx(context.Background(), hash[:], false)
		return err == nil && res.TxResult.Code == 0 && res.Height >= 1
	})
	if res, err := c.BroadcastTxSync(context.Background(), tx); err == nil && res.Code == 0 {
		t.Errorf("replayed transfer accepted: %+v", res)
	}
	n.stop(t)

	height, appHash := committedApp(t, home)
	if height < 2 {
		t.Fatalf("app committed height %d, want >= 2", height)
	}
	n = start(t, home, log)
	// The restarted node may commit a block before this reads its height.
	if got := n.height(); got != height && got != height+1 {
		t.Errorf("after restart the block store is at %d, the app at %d", got, height)
	}
	waitHeight(t, height+1, n)
	if got := n.appHashAfter(t, height); !bytes.Equal(got, appHash) {
		t.Errorf("app hash after %d: %X before the restart, %X after", height, appHash, got)
	}
	if got := queryAccount(t, n.client(t), bob); got.Balance != 1000 {
		t.Errorf("bob after restart = %+v, want 1000", got)
	}
}

// TestWipedAppDBReplays: a node whose app database is deleted replays
// every block from genesis and reaches the same app hash.
func TestWipedAppDBReplays(t *testing.T) {
	alice, bob := newAccount("alice"), newAccount("bob")
	home := t.TempDir()
	initSingle(t, home, chain.GenesisBalance{Account: alice.hex(), Amount: 1 << 40})
	log := testLog(t)

	n := start(t, home, log)
	c := n.client(t)
	transfer(t, c, alice, 0, bob, 7)
	waitBalance(t, c, bob, 7)
	transfer(t, c, alice, 1, bob, 5)
	waitBalance(t, c, bob, 12)
	n.stop(t)
	height, appHash := committedApp(t, home)

	if err := os.RemoveAll(filepath.Join(home, "data", AppDBName+".db")); err != nil {
		t.Fatal(err)
	}
	n = start(t, home, log) // New replays blocks 1..height into a fresh app
	waitHeight(t, height+1, n)
	if got := n.appHashAfter(t, height); !bytes.Equal(got, appHash) {
		t.Errorf("app hash after %d: %X before the wipe, %X after replay", height, appHash, got)
	}
	if got := queryAccount(t, n.client(t), bob); got.Balance != 12 {
		t.Errorf("bob after replay = %+v, want 12", got)
	}
}

// sameAppHashes checks that every node has the same header, and so the
// same app hash, at every height all of them have.
func sameAppHashes(t *testing.T, nodes []*running) {
	t.Helper()
	top := nodes[0].height()
	for _, n := range nodes[1:] {
		top = min(top, n.height())
	}
	for h := int64(1); h <= top; h++ {
		want := nodes[0].Comet().BlockStore().LoadBlockMeta(h)
		for _, n := range nodes[1:] {
			got := n.Comet().BlockStore().LoadBlockMeta(h)
			if got == nil || want == nil || !bytes.Equal(got.Header.AppHash, want.Header.AppHash) || !bytes.Equal(got.BlockID.Hash, want.BlockID.Hash) {
				t.Fatalf("height %d: %s and %s differ", h, nodes[0].Home(), n.Home())
			}
		}
	}
}

func maxHeight(nodes ...*running) int64 {
	var top int64
	for _, n := range nodes {
		top = max(top, n.height())
	}
	return top
}

// TestFourValidators runs a 4-validator network in this process: it agrees
// on every block; with one validator stopped the other three go on; the
// stopped one catches up on restart, also after losing its app database.
func TestFourValidators(t *testing.T) {
	alice, bob := newAccount("alice"), newAccount("bob")
	dir := t.TempDir()
	err := Testnet(dir, 4, TestnetOptions{
		ChainID:   testChainID,
		Balances:  []chain.GenesisBalance{{Account: alice.hex(), Amount: 1 << 40}},
		Configure: func(_ int, c *cmtcfg.Config) { fastConsensus(c) },
	})
	if err != nil {
		t.Fatalf("Testnet: %v", err)
	}
	log := testLog(t)
	nodes := make([]*running, 4)
	for i := range nodes {
		nodes[i] = start(t, TestnetHome(dir, i), log)
	}
	waitHeight(t, 3, nodes...)
	transfer(t, nodes[0].client(t), alice, 0, bob, 100)
	for _, n := range nodes {
		waitBalance(t, n.client(t), bob, 100)
	}
	sameAppHashes(t, nodes)

	// Validator 3 stops; 3 of 4 votes are more than two thirds.
	nodes[3].stop(t)
	live := nodes[:3]
	from := maxHeight(live...)
	transfer(t, nodes[1].client(t), alice, 1, bob, 50)
	waitBalance(t, nodes[0].client(t), bob, 150)
	// Three blocks without it (one in -short mode).
	waitHeight(t, from+blocksWithout(), live...)
	sameAppHashes(t, live)

	// It restarts on its home and catches up.
	nodes[3] = start(t, TestnetHome(dir, 3), log)
	waitHeight(t, maxHeight(live...), nodes[3])
	waitBalance(t, nodes[3].client(t), bob, 150)
	sameAppHashes(t, nodes)

	// Validator 2 loses its app database: it replays from genesis, then
	// catches up, with the same app hashes.
	nodes[2].stop(t)
	height, appHash := committedApp(t, TestnetHome(dir, 2))
	if err := os.RemoveAll(filepath.Join(TestnetHome(dir, 2), "data", AppDBName+".db")); err != nil {
		t.Fatal(err)
	}
	nodes[2] = start(t, TestnetHome(dir, 2), log)
	waitHeight(t, maxHeight(nodes[0], nodes[1], nodes[3])+1, nodes[2])
	if got := nodes[2].appHashAfter(t, height); !bytes.Equal(got, appHash) {
		t.Errorf("node2 app hash after %d: %X before the wipe, %X after", height, appHash, got)
	}
	waitBalance(t, nodes[2].client(t), bob, 150)
	sameAppHashes(t, nodes)
}

// blocksWithout is how many blocks the network must make with a validator
// down: -short shortens the test, it does not skip it.
func blocksWithout() int64 {
	if testing.Short() {
		return 1
	}
	return 3
}
