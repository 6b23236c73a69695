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
	"time"

	"github.com/cometbft/cometbft/types"
	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/localnet"
	"github.com/seed0ffb8d46/agora/node"
)

// defaultModel is the demo model beside the repository.
const defaultModel = "../shared/models/babyllama105"

// localnetCmd is "agora localnet": the whole network on this machine, or
// with --chain-only just the chain's validators.
func localnetCmd() *Command {
	fs := flag.NewFlagSet("localnet", flag.ContinueOnError)
	chainOnly := fs.Bool("chain-only", false, "run only the chain's validators")
	validators := &countFlag{}
	fs.Var(validators, "validators", "`N` chain validators (CometBFT nodes), 1 to "+strconv.Itoa(node.MaxValidators)+" (default 1, or 4 with --chain-only)")
	miners := fs.Int("miners", 3, "honest miners on the built-in model")
	subnetValidators := fs.Int("subnet-validators", 2, "validators scoring the subnet's miners")
	adversaries := fs.Bool("adversaries", false, "add the cheats the network must not pay (README, \"The adversaries\"): junk, lazy, copier, wrong_model, canned, truncate, short_copier, paraphraser and greedy miners, five sybil hotkeys on one model run, an honest miner with a random labeler, and a weight-copying validator")
	model := fs.String("model", "", "llama2.c checkpoint `PATH` the miners run: the file, or a folder holding one *.bin and its tokenizer (default "+defaultModel+")")
	tokenizer := fs.String("tokenizer", "", "its tokenizer.model `FILE` (default: beside the checkpoint)")
	dash := fs.String("dashboard", "127.0.0.1:8080", "the dashboard's listen `ADDRESS`")
	tempo := fs.Uint64("tempo", 20, "the demo subnet's epoch length in `BLOCKS`")
	dir := fs.String("dir", "", "the `DIR` holding all the network's data: the chain's homes, every key, the miners' labels, the validators' state (default HOME/localnet)")
	basePort := fs.Int("base-port", 26656, "with --chain-only, validator i listens for P2P on `PORT`+2i and RPC on PORT+2i+1, on 127.0.0.1; 0 picks free ports (the whole network always picks free ports)")
	chainID := fs.String("chain-id", "agora-localnet", "the chain's `ID`")
	balances := &balancesValue{}
	governance := fs.String("governance", "", governanceUsage)
	fs.Var(balances, "balance", balanceUsage)
	blockTime := fs.Duration("block-time", 0, "pause after each block, consensus.timeout_commit (default 250ms, or 1s with --chain-only)")
	reset := fs.Bool("reset", false, "delete the data of an existing localnet in --dir and start a new one")
	output := outputFlag(fs, "text", "text", "json")
	return &Command{
		Name:  "localnet",
		Short: "Run the whole network locally: chain, miners, labelers, validators, dashboard",
		Long: `Runs the whole network in this one process until SIGINT or SIGTERM: a chain
of --validators CometBFT nodes, a subnet with a fast tempo that receives
the emission, --miners miners on the built-in model (each with a simulated
careful labeler and a labelling page), --subnet-validators validators
scoring them and setting weights, and the dashboard. It prints the
dashboard's URL and each miner's labelling page with a token to label
with. --adversaries adds the cheats the network must not pay. The data
stays under --dir (default HOME/localnet): run it again to resume, or
--reset to start afresh.

With --chain-only it writes an N-validator testnet under --dir (one home
per validator, nodeI, with a shared genesis, its own loopback ports and
every other validator as a persistent peer) and runs just those
validators, printing each one's RPC address.

Either way it records its chain's RPC address in --dir (localnet.json, gone
when it stops), so that every agora command run with the same home finds it
without --node, and prints the export AGORA_NODE=... line for other homes.
'agora localnet fund ADDRESS AGR' funds a wallet while it runs; --balance on
a resumed localnet does the same once its chain runs.`,
		Flags:       fs,
		Subcommands: []*Command{localnetFundCmd()},
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			if !validators.set {
				validators.n = 1
				if *chainOnly {
					validators.n = 4
				}
			}
			// Flags of one mode given to the other: refused, not ignored.
			if !*chainOnly {
				for name, changed := range map[string]bool{"chain-id": *chainID != "agora-localnet", "governance": *governance != "", "base-port": *basePort != 26656, "output": *output != "text"} {
					if changed {
						return usageErrorf("--%s is for --chain-only; the whole network picks its own", name)
					}
				}
			} else {
				for name, changed := range map[string]bool{"miners": *miners != 3, "subnet-validators": *subnetValidators != 2, "adversaries": *adversaries, "model": *model != "", "tokenizer": *tokenizer != "", "dashboard": *dash != "127.0.0.1:8080", "tempo": *tempo != 20} {
					if changed {
						return usageErrorf("--%s is not for --chain-only", name)
					}
				}
			}
			if *blockTime == 0 {
				*blockTime = node.DefaultBlockTime
				if !*chainOnly {
					*blockTime = 250 * time.Millisecond
				}
			}
			if validators.n < 1 || validators.n > node.MaxValidators {
				return usageErrorf("--validators %d: want 1 to %d", validators.n, node.MaxValidators)
			}
			if *basePort != 0 && (*basePort < 1024 || *basePort+2*validators.n-1 > 65535) {
				return usageErrorf("--base-port %d: want 0 or 1024 to %d for %d validators", *basePort, 65535-2*validators.n+1, validators.n)
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
			if !*chainOnly {
				return runNetwork(ctx, rt, localnet.Config{
					Dir: *dir, Nodes: validators.n, Miners: *miners, Validators: *subnetValidators,
					Model: *model, Tokenizer: *tokenizer, Adversaries: *adversaries,
					BlockTime: *blockTime, Tempo: *tempo, Dashboard: *dash, Balances: balances.list,
				}, *reset)
			}
			existing, err := existingValidators(*dir)
			if err != nil {
				return err
			}
			if existing > 0 && !*reset {
				if existing != validators.n {
					return fmt.Errorf("localnet: %s has a %d-validator chain, not %d; use --reset to replace it", *dir, existing, validators.n)
				}
				rt.Log.Info("resuming the localnet", zap.String("dir", *dir), zap.Int("validators", existing))
			} else {
				if *reset {
					// New keys for a new chain: the funding key's
					// balance is in the genesis about to be written.
					if err := os.Remove(filepath.Join(*dir, "keys.json")); err != nil && !errors.Is(err, os.ErrNotExist) {
						return fmt.Errorf("localnet: %w", err)
					}
				}
				if err := os.MkdirAll(*dir, 0o700); err != nil {
					return fmt.Errorf("localnet: %w", err)
				}
				funder, err := localnet.FundingKey(*dir)
				if err != nil {
					return err
				}
				err = node.Testnet(*dir, validators.n, node.TestnetOptions{
					ChainID: *chainID, Governance: gov, BasePort: *basePort, BlockTime: *blockTime, Force: *reset,
					Balances: append([]chain.GenesisBalance{{Account: funder.PublicKey().Hex(), Amount: localnet.SubnetOwnerBalance}}, balances.list...),
				})
				if err != nil {
					return fmt.Errorf("localnet: %w", err)
				}
				balances.list = nil // in the genesis
			}
			return runLocalnet(ctx, rt, *dir, validators.n, *output, balances.list)
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
// A resumed chain's balances are funded by transfers (localnet.FundAll)
// once it runs.
func runLocalnet(ctx context.Context, rt *Runtime, dir string, n int, output string, balances []chain.GenesisBalance) error {
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
	var ready error
	if waitStarted(ctx, nodes, failed) {
		var remove func()
		remove, ready = localnetReady(ctx, rt, dir, nodes, output, balances)
		// The record goes before this returns, so that nothing finds a
		// localnet that has stopped (an AfterFunc may not run before exit).
		defer remove()
		if ready != nil {
			cancel()
		}
	}
	wg.Wait()
	return errors.Join(append(errs, ready)...)
}

// localnetReady leaves the record by which other commands find the chain,
// funds the balances of a resumed chain, and prints the ready lines. It
// returns the function that removes the record (safe to call once the
// chain stops, also after an error).
func localnetReady(ctx context.Context, rt *Runtime, dir string, nodes []*node.Node, output string, balances []chain.GenesisBalance) (func(), error) {
	rpc := nodes[0].RPCAddress()
	remove, err := localnet.WriteRecord(dir, localnet.Record{RPC: rpc, PID: os.Getpid()})
	if err != nil {
		return func() {}, err
	}
	return remove, localnetAnnounce(ctx, rt, dir, rpc, nodes, output, balances)
}

// localnetAnnounce funds a resumed chain's balances and prints the ready
// lines.
func localnetAnnounce(ctx context.Context, rt *Runtime, dir, rpc string, nodes []*node.Node, output string, balances []chain.GenesisBalance) error {
	if len(balances) > 0 {
		funder, err := localnet.ExistingFundingKey(dir)
		if err != nil {
			return err
		}
		c, err := chainclient.New(rpc)
		if err != nil {
			return fmt.Errorf("localnet: %w", err)
		}
		defer c.Close()
		say := func(format string, args ...any) {
			if output == "text" {
				fmt.Fprintf(rt.Stdout, format+"\n", args...)
			}
		}
		fctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := localnet.FundAll(fctx, c, funder, balances, say); err != nil {
			return err
		}
	}
	printLocalnet(rt, dir, nodes, output)
	return nil
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
	fmt.Fprintf(rt.Stdout, "export AGORA_NODE=%s   # for other shells; agora finds this localnet without it\n", nodes[0].RPCAddress())
}

// runNetwork runs the whole local network.
func runNetwork(ctx context.Context, rt *Runtime, cfg localnet.Config, reset bool) error {
	switch {
	case cfg.Miners < 1 || cfg.Miners > 32:
		return usageErrorf("--miners %d: want 1 to 32", cfg.Miners)
	case cfg.Validators < 1 || cfg.Validators > 16:
		return usageErrorf("--subnet-validators %d: want 1 to 16", cfg.Validators)
	case cfg.Tempo < 2 || cfg.Tempo > 1000:
		return usageErrorf("--tempo %d: want 2 to 1000 blocks", cfg.Tempo)
	}
	given := cfg.Model != ""
	if !given {
		cfg.Model = defaultModel
	}
	ckpt, err := llm.FindCheckpoint(cfg.Model)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !given:
		return usageErrorf("no model at %s: put a llama2.c checkpoint (with its tokenizer.model beside it) there, or give --model PATH; a real miner can instead point at an OpenAI-compatible server with agora miner run --miner.backend_url", cfg.Model)
	case errors.Is(err, fs.ErrNotExist):
		return usageErrorf("--model %s: no such file or folder", cfg.Model)
	case err != nil:
		return usageErrorf("--model %v", err)
	}
	cfg.Model = ckpt
	if reset {
		if err := os.RemoveAll(cfg.Dir); err != nil {
			return fmt.Errorf("localnet: %w", err)
		}
	}
	cfg.Progress = rt.Stdout
	cfg.Logger = rt.Log
	if rt.Config.Log.Level == "info" {
		// A dozen components at info would scroll the URLs away; warnings
		// and errors still show. --log.level debug shows everything.
		cfg.Logger = rt.Log.WithOptions(zap.IncreaseLevel(zap.WarnLevel))
	}
	return localnet.Run(ctx, cfg)
}

// countFlag is an int flag that knows whether it was given.
type countFlag struct {
	n   int
	set bool
}

func (c *countFlag) String() string { return strconv.Itoa(c.n) }
func (c *countFlag) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("not an integer")
	}
	c.n, c.set = n, true
	return nil
}

// localnetFundCmd is "agora localnet fund": a transfer from the demo's
// funding key, while the localnet runs.
func localnetFundCmd() *Command {
	fs := flag.NewFlagSet("fund", flag.ContinueOnError)
	dir := fs.String("dir", "", "the localnet's `DIR`, whose keys.json holds the funding key (default HOME/localnet)")
	timeout := fs.Duration("timeout", 30*time.Second, "give up on the node after this long, waiting for the block included")
	output := outputFlag(fs, "text", "text", "json")
	return &Command{
		Name:  "fund",
		Args:  "ADDRESS AGR",
		Short: "Fund a wallet from the running localnet's funding key",
		Long: `Transfers AGR (such as 100 or 0.5) to ADDRESS (agora1..., or a
64-hex-character public key) from the localnet's funding key (the demo's
subnet owner, which the genesis gives 1,000,000 AGR; its seed is in
--dir/keys.json), through the node found as by every command (--node, env
AGORA_NODE, node: in --config FILE, the localnet running under the home,
tcp://127.0.0.1:26657), and waits for the block that includes it.`,
		Flags: fs,
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			if len(args) != 2 {
				return usageErrorf("want ADDRESS AGR, got %d argument(s)", len(args))
			}
			to, err := parseAddressArg(args[0])
			if err != nil {
				return err
			}
			amount, err := parseAGR(args[1])
			if err != nil {
				return usageErrorf("amount %v", err)
			}
			if amount == 0 {
				return usageErrorf("amount %q: want more than 0 AGR", args[1])
			}
			if *timeout <= 0 {
				return usageErrorf("--timeout must be positive")
			}
			if *dir == "" {
				*dir = filepath.Join(rt.Config.Home, "localnet")
			}
			funder, err := localnet.ExistingFundingKey(*dir)
			if err != nil {
				return err
			}
			node := rt.node("")
			c, err := node.client()
			if err != nil {
				return err
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(ctx, *timeout)
			defer cancel()
			r, err := localnet.Fund(ctx, c, funder, to, amount)
			if err != nil {
				return node.explain(err)
			}
			if *output == "json" {
				return walletWriteJSON(rt.Stdout, map[string]any{"to": keys.PublicKey(to).Address(), "amount": amount, "hash": r.Hash, "height": r.Height})
			}
			fmt.Fprintf(rt.Stdout, "funded %s with %s AGR at height %d (tx %s)\n", keys.PublicKey(to).Address(), formatAGR(amount), r.Height, r.Hash)
			return nil
		},
	}
}
