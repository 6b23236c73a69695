package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/cometbft/cometbft/types"
	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/node"
)

// localnetCmd is "agora localnet": a local network on this machine. So
// far only the chain (--chain-only): N validators in this one process.
func localnetCmd() *Command {
	fs := flag.NewFlagSet("localnet", flag.ContinueOnError)
	chainOnly := fs.Bool("chain-only", false, "run only the chain's validators (required: miners and validators come later)")
	validators := fs.Int("validators", 4, "number of chain `N` validators, 1 to "+strconv.Itoa(node.MaxValidators))
	dir := fs.String("dir", "", "directory of the validators' homes (default HOME/localnet)")
	basePort := fs.Int("base-port", 26656, "validator i listens for P2P on `PORT`+2i and RPC on PORT+2i+1, on 127.0.0.1; 0 picks free ports")
	chainID := fs.String("chain-id", "agora-localnet", "the chain's `ID`")
	balances := &balancesValue{}
	governance := fs.String("governance", "", governanceUsage)
	fs.Var(balances, "balance", balanceUsage)
	blockTime := fs.Duration("block-time", node.DefaultBlockTime, "pause after each block (consensus.timeout_commit)")
	reset := fs.Bool("reset", false, "delete the chain data of an existing localnet in --dir and write a new one")
	output := outputFlag(fs, "text", "text", "json")
	return &Command{
		Name:  "localnet",
		Short: "Run a local N-validator chain in this process",
		Long: `Writes an N-validator testnet under --dir (one home per validator, nodeI,
with a shared genesis, its own loopback ports and every other validator as
a persistent peer) and runs all N validators in this one process until
SIGINT or SIGTERM, printing each validator's RPC address. Run it again to
resume the same chain; --reset starts a new one. One process keeps a small
machine responsive: the validators share its goroutine scheduler.`,
		Flags: fs,
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			if !*chainOnly {
				return usageErrorf("only --chain-only is implemented: the local miners and validators are not built yet")
			}
			if *validators < 1 || *validators > node.MaxValidators {
				return usageErrorf("--validators %d: want 1 to %d", *validators, node.MaxValidators)
			}
			if *basePort != 0 && (*basePort < 1024 || *basePort+2**validators-1 > 65535) {
				return usageErrorf("--base-port %d: want 0 or 1024 to %d for %d validators", *basePort, 65535-2**validators+1, *validators)
			}
			if *blockTime <= 0 {
				return usageErrorf("--block-time %v: want a positive duration", *blockTime)
			}
			gov, err := parseGovernance(*governance)
			if err != nil {
				return err
			}
			if *dir == "" {
				*dir = filepath.Join(rt.Config.Home, "localnet")
			}
			existing, err := existingValidators(*dir)
			if err != nil {
				return err
			}
			if existing > 0 && !*reset {
				if existing != *validators {
					return fmt.Errorf("localnet: %s has a %d-validator chain, not %d; use --reset to replace it", *dir, existing, *validators)
				}
				rt.Log.Info("resuming the localnet", zap.String("dir", *dir), zap.Int("validators", existing))
			} else {
				err := node.Testnet(*dir, *validators, node.TestnetOptions{
					ChainID: *chainID, Balances: balances.list, Governance: gov, BasePort: *basePort,
					BlockTime: *blockTime, Force: *reset,
				})
				if err != nil {
					return fmt.Errorf("localnet: %w", err)
				}
			}
			return runLocalnet(ctx, rt, *dir, *validators, *output)
		},
	}
}

// existingValidators is the number of validators in the genesis of the
// testnet under dir, or 0 if there is none.
func existingValidators(dir string) (int, error) {
	file := filepath.Join(node.TestnetHome(dir, 0), "config", "genesis.json")
	if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	gen, err := types.GenesisDocFromFile(file)
	if err != nil {
		return 0, fmt.Errorf("localnet: %w", err)
	}
	return len(gen.Validators), nil
}

// runLocalnet opens and runs the n validators under dir until ctx is
// cancelled or one of them fails, which stops them all.
func runLocalnet(ctx context.Context, rt *Runtime, dir string, n int, output string) error {
	nodes := make([]*node.Node, n)
	for i := range n {
		nd, err := node.New(node.TestnetHome(dir, i), rt.Log.With(zap.String("node", "node"+strconv.Itoa(i))))
		if err != nil {
			for _, o := range nodes[:i] {
				_ = o.Close()
			}
			return fmt.Errorf("localnet: validator %d: %w", i, err)
		}
		nodes[i] = nd
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, n)
	failed := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, nd := range nodes {
		wg.Go(func() {
			if errs[i] = nd.Run(ctx); errs[i] != nil {
				failed <- struct{}{}
				cancel()
			}
		})
	}
	if waitStarted(ctx, nodes, failed) {
		printLocalnet(rt, dir, nodes, output)
	}
	wg.Wait()
	return errors.Join(errs...)
}

// waitStarted reports whether every node started before ctx ended or one
// failed.
func waitStarted(ctx context.Context, nodes []*node.Node, failed <-chan struct{}) bool {
	for _, nd := range nodes {
		select {
		case <-nd.Ready():
		case <-failed:
			return false
		case <-ctx.Done():
			return false
		}
	}
	return true
}

func printLocalnet(rt *Runtime, dir string, nodes []*node.Node, output string) {
	if output == "json" {
		enc := json.NewEncoder(rt.Stdout)
		for i, nd := range nodes {
			_ = enc.Encode(map[string]any{"validator": i, "home": nd.Home(), "rpc": nd.RPCAddress()})
		}
		return
	}
	fmt.Fprintf(rt.Stdout, "localnet: %d validators in this process, homes under %s; Ctrl-C stops them\n", len(nodes), dir)
	for i, nd := range nodes {
		fmt.Fprintf(rt.Stdout, "node%d  rpc %s\n", i, nd.RPCURL())
	}
}
