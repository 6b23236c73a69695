package node

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/chain"
)

// childHomeEnv, when set, makes the test binary run a node on that home
// instead of the tests: TestKillNine starts it as a separate process so
// that SIGKILL can end it at any instant, mid-FinalizeBlock or mid-Commit
// included, with no chance to flush or close anything.
const childHomeEnv = "AGORA_TEST_CHILD_NODE_HOME"

func TestMain(m *testing.M) {
	if home := os.Getenv(childHomeEnv); home != "" {
		n, err := New(home, zap.NewNop())
		if err != nil {
			fmt.Fprintln(os.Stderr, "child node:", err)
			os.Exit(3)
		}
		if err := n.Run(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "child node:", err)
			os.Exit(3)
		}
		return
	}
	os.Exit(m.Run())
}

// TestKillNine kills a node process with SIGKILL at random moments while
// it commits blocks full of transfers, restarts it each time, and checks
// that the app always reopens (its records hash to the committed app
// hash), resumes where CometBFT's block store says, reaches the same app
// hash that the next header carries, and loses no committed transfer.
func TestKillNine(t *testing.T) {
	alice, bob := newAccount("alice"), newAccount("bob")
	const funds = 1_000_000_000_000
	home := t.TempDir()
	initSingle(t, home, chain.GenesisBalance{Account: alice.hex(), Amount: funds})
	cfg, err := LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	c, err := rpchttp.New(strings.Replace(cfg.RPC.ListenAddress, "tcp://", "http://", 1), "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	rounds := 8
	if testing.Short() {
		rounds = 3
	}
	var lastHeight int64
	for round := range rounds {
		cmd, stderr := startChild(t, home)
		// Send transfers until the chain is a few blocks past the last
		// round, then kill at a random moment of the next block.
		waitFor(t, fmt.Sprintf("round %d: the node past height %d", round, lastHeight+3), func() bool {
			st, err := c.Status(context.Background())
			if err != nil {
				return false
			}
			if acct, err := tryAccount(c, alice); err == nil {
				_ = broadcast(c, alice, acct.Nonce, bob, 1)
			}
			return st.SyncInfo.LatestBlockHeight > lastHeight+3
		})
		time.Sleep(time.Duration(r.IntN(150)) * time.Millisecond) // a random point in a block
		killChild(t, cmd)
		if strings.Contains(stderr.String(), "child node:") {
			t.Fatalf("round %d: the node failed on its own: %s", round, stderr.String())
		}
		height, _ := committedApp(t, home) // reopens, or fails on a corrupt database
		if height < lastHeight {
			t.Fatalf("round %d: app committed height went back from %d to %d", round, lastHeight, height)
		}
		lastHeight = height
	}

	// A last restart in-process: it must resume, agree with the headers,
	// and hold every committed transfer.
	height, appHash := committedApp(t, home)
	n := start(t, home, testLog(t))
	defer n.stop(t)
	waitHeight(t, height+2, n)
	if got := n.appHashAfter(t, height); string(got) != string(appHash) {
		t.Errorf("app hash after %d: %X committed, %X in the next header", height, appHash, got)
	}
	a, b := queryAccount(t, n.client(t), alice), queryAccount(t, n.client(t), bob)
	fee := chain.DefaultFees().Transfer
	if b.Balance != a.Nonce || a.Balance != funds-a.Nonce*(1+fee) {
		t.Errorf("after %d transfers of 1: alice %+v, bob %+v", a.Nonce, a, b)
	}
	if a.Nonce == 0 {
		t.Errorf("no transfer was committed")
	}
}

// startChild runs a node on home in a child process: the test binary
// re-executed with childHomeEnv set. Its stderr is returned.
func startChild(t *testing.T, home string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childHomeEnv+"="+home)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, &stderr
}

// killChild ends a child node with SIGKILL: no chance to flush or close.
func killChild(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// tryAccount is queryAccount that reports errors instead of failing.
func tryAccount(c *rpchttp.HTTP, a account) (chain.AccountView, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	res, err := c.ABCIQuery(ctx, chain.QueryAccount+a.hex(), nil)
	if err != nil {
		return chain.AccountView{}, err
	}
	if res.Response.Code != 0 {
		return chain.AccountView{}, fmt.Errorf("query: %s", res.Response.Log)
	}
	var v chain.AccountView
	return v, json.Unmarshal(res.Response.Value, &v)
}

// broadcast sends a transfer without waiting, ignoring rejections (a
// nonce may already be in the mempool).
func broadcast(c *rpchttp.HTTP, from account, nonce uint64, to account, amount uint64) error {
	tx, err := chain.SignTx(from.priv, testChainID, nonce, &chain.Transfer{To: to.id, Amount: amount})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = c.BroadcastTxAsync(ctx, tx)
	return err
}
