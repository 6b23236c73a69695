// Package nodetest starts a real single-validator Agora node for the tests
// of packages that need a running chain, such as chainclient and the agora
// command.
package nodetest

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/node"
)

// Start initialises a single-validator node
// with fast blocks and the given genesis balances in a temporary home, runs
// it until the test ends (failing the test if it then stops with an error),
// and returns its RPC address once it answers the supply query. configure
// runs after Start's own changes to config.toml.
func Start(t testing.TB, chainID string, balances []chain.GenesisBalance, configure ...func(*cmtcfg.Config)) string {
	t.Helper()
	return StartWith(t, Options{ChainID: chainID, Balances: balances, Configure: configure})
}

// Options are what StartWith writes into the node's genesis and config.
type Options struct {
	ChainID  string
	Balances []chain.GenesisBalance
	// Governance is the hex key that may set the emission ("" for none).
	Governance string
	// Configure runs after the fast-block changes to config.toml.
	Configure []func(*cmtcfg.Config)
}

// StartWith is Start with every option, the governance key included.
func StartWith(t testing.TB, o Options) string {
	t.Helper()
	chainID, balances, configure := o.ChainID, o.Balances, o.Configure
	ports, err := node.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	err = node.Init(home, node.InitOptions{
		ChainID:    chainID,
		Balances:   balances,
		Governance: o.Governance,
		P2PAddress: fmt.Sprintf("127.0.0.1:%d", ports[0]),
		RPCAddress: fmt.Sprintf("127.0.0.1:%d", ports[1]),
		BlockTime:  50 * time.Millisecond,
		Configure: func(c *cmtcfg.Config) {
			c.Consensus.TimeoutPropose = 500 * time.Millisecond
			c.Consensus.TimeoutPrevote = 50 * time.Millisecond
			c.Consensus.TimeoutPrecommit = 50 * time.Millisecond
			c.LogLevel = "*:error"
			for _, f := range configure {
				f(c)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.New(home, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node: %v", err)
		}
	})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c, err := rpchttp.NewWithClient(n.RPCAddress(), "/websocket", &http.Client{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		qctx, qcancel := context.WithTimeout(context.Background(), time.Second)
		res, err := c.ABCIQuery(qctx, chain.QuerySupply, nil)
		qcancel()
		if err == nil && res.Response.Code != 0 {
			err = fmt.Errorf("query %s: code %d: %s", chain.QuerySupply, res.Response.Code, res.Response.Log)
		}
		if err == nil {
			return n.RPCAddress()
		}
		if time.Now().After(deadline) {
			t.Fatalf("node at %s did not answer: %v", n.RPCAddress(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
