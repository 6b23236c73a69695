package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/dashboard"
	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/node"
)

// nodeCmd is "agora node": a chain node (CometBFT in-process around the
// chain app) in the home directory.
func nodeCmd() *Command {
	return &Command{
		Name:        "node",
		Short:       "Set up and run a chain node",
		Subcommands: []*Command{nodeInitCmd(), nodeStartCmd(), nodeTestnetCmd(), nodeJoinCmd()},
	}
}

// nodeInitCmd is "agora node init": write a single-validator home.
func nodeInitCmd() *Command {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	chainID := fs.String("chain-id", "", "the chain's `ID`, signed into every transaction (required)")
	balances := &balancesValue{}
	governance := fs.String("governance", "", governanceUsage)
	fs.Var(balances, "balance", balanceUsage)
	force := fs.Bool("force", false, "overwrite an existing node in home, deleting its chain data (keys are kept)")
	p2pAddr := fs.String("p2p-laddr", "127.0.0.1:26656", "P2P listen `HOST:PORT`")
	rpcAddr := fs.String("rpc-laddr", "127.0.0.1:26657", "CometBFT RPC listen `HOST:PORT`")
	blockTime := fs.Duration("block-time", node.DefaultBlockTime, "pause after each block (consensus.timeout_commit)")
	snaps := addSnapshotFlags(fs)
	output := outputFlag(fs, "text", "text", "json")
	return &Command{
		Name:  "init",
		Short: "Write a node home: config, keys and a one-validator genesis",
		Long: `Writes a CometBFT home in the configured home directory (--home):
config/config.toml (blocks about every --block-time, loopback listen
addresses, the kv transaction indexer), the node key, the validator key and
config/genesis.json with --chain-id, the --balance entries and this node as
the only validator. It refuses a home that already has a node unless
--force. Then run: agora node start --home DIR`,
		Flags: fs,
		Run: func(_ context.Context, rt *Runtime, args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			if *chainID == "" {
				return usageErrorf("--chain-id is required")
			}
			for _, f := range []struct{ name, v string }{{"p2p-laddr", *p2pAddr}, {"rpc-laddr", *rpcAddr}} {
				if err := checkHostPort(f.v); err != nil {
					return usageErrorf("--%s %q: %v", f.name, f.v, err)
				}
			}
			if *blockTime <= 0 {
				return usageErrorf("--block-time %v: want a positive duration", *blockTime)
			}
			gov, err := parseGovernance(*governance)
			if err != nil {
				return err
			}
			app, err := snaps.config()
			if err != nil {
				return err
			}
			home := rt.Config.Home
			err = node.Init(home, node.InitOptions{
				ChainID: *chainID, Balances: balances.list, Governance: gov, Force: *force,
				P2PAddress: *p2pAddr, RPCAddress: *rpcAddr, BlockTime: *blockTime, App: app,
			})
			if err != nil {
				return err
			}
			if *output == "json" {
				return json.NewEncoder(rt.Stdout).Encode(map[string]any{
					"home": home, "chain_id": *chainID, "balances": len(balances.list),
					"rpc": "tcp://" + *rpcAddr, "p2p": "tcp://" + *p2pAddr,
				})
			}
			fmt.Fprintf(rt.Stdout, "wrote a node for chain %s in %s (%d genesis balances)\nstart it with: agora node start --home %s\n",
				*chainID, home, len(balances.list), home)
			return nil
		},
	}
}

// nodeStartCmd is "agora node start": run the node in home until
// SIGINT or SIGTERM.
func nodeStartCmd() *Command {
	fs := flag.NewFlagSet("start", flag.ContinueOnError)
	dash := fs.String("dashboard", "", "also serve the dashboard of a subnet on `ADDRESS` (host:port)")
	netuid := fs.Uint("dashboard-netuid", 1, "the subnet the dashboard shows")
	validators := fs.String("dashboard-validators", "", "comma-separated base `URLS` of validators whose /scores the dashboard shows")
	snaps := addSnapshotFlags(fs)
	return &Command{
		Name:  "start",
		Short: "Run the node in the home directory until interrupted",
		Long: `Runs the node written by "agora node init" in the configured home directory
(--home): CometBFT and the chain app in this process, CometBFT's logs
through Agora's logger (component=cometbft). SIGINT or SIGTERM stops it
cleanly. If the app database (data/app.db) is missing, the node replays
every block from genesis. With --dashboard it also serves the network's
dashboard for one subnet, reading this node. --snapshot-interval and
--snapshot-keep, if given, override config/app.toml. A home written by
"agora node join --state-sync" first restores the state from a peer's
snapshot, then syncs the remaining blocks.`,
		Flags: fs,
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			if *netuid > 65535 {
				return usageErrorf("--dashboard-netuid %d: want 0 to 65535", *netuid)
			}
			var ln net.Listener
			if *dash != "" {
				var err error
				if ln, err = net.Listen("tcp", *dash); err != nil {
					return usageErrorf("--dashboard: %v", err)
				}
				defer ln.Close()
			}
			n, err := node.Open(rt.Config.Home, rt.Log, node.Options{App: snaps.override})
			if err != nil {
				return err
			}
			if ln == nil {
				return n.Run(ctx)
			}
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- n.Run(ctx) }()
			select {
			case <-n.Ready():
			case err := <-done:
				return err
			}
			client, err := chainclient.New(n.RPCAddress())
			if err != nil {
				return err
			}
			defer client.Close()
			urls := commaList(*validators)
			d, err := dashboard.New(dashboard.Config{Client: client, Netuid: uint16(*netuid), Validators: urls, Logger: rt.Log.Named("dashboard")})
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 10 * time.Second}
			go func() { _ = d.Run(ctx) }()
			go func() { _ = srv.Serve(ln) }()
			fmt.Fprintf(rt.Stdout, "dashboard of subnet %d: http://%s/\n", *netuid, ln.Addr())
			err = <-done
			sctx, c := context.WithTimeout(context.Background(), 3*time.Second)
			defer c()
			_ = srv.Shutdown(sctx)
			return err
		},
	}
}

// Usage of --balance and --governance, shared by node init and localnet.
const (
	balanceUsage = "a genesis balance `ADDRESS=AGR`: an agora1... address (or a 64-hex-character public key) and an amount in AGR as for agora tx --amount, such as agora1...=1000; repeat for more"

	governanceUsage = "the `ADDRESS` (agora1..., or a 64-hex-character public key) that may set the emission and give subnets their share of it (agora tx emission set); a new subnet earns nothing until it has a share"
)

// parseGovernance parses --governance into the genesis's hex account, or
// "" if it is not set.
func parseGovernance(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	id, err := parseAccount(s)
	if err != nil {
		return "", usageErrorf("--governance: %v", err)
	}
	return id.String(), nil
}

// balancesValue is the repeatable --balance ADDRESS=AGR flag.
type balancesValue struct {
	list []chain.GenesisBalance
}

func (b *balancesValue) String() string {
	if b == nil {
		return ""
	}
	parts := make([]string, len(b.list))
	for i, e := range b.list {
		parts[i] = address(e.Account) + "=" + formatAGR(e.Amount)
	}
	return strings.Join(parts, ",")
}

func (b *balancesValue) Get() any { return b.list }

func (b *balancesValue) Set(s string) error {
	key, amount, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("%q: want ADDRESS=AGR, such as agora1...=1000", s)
	}
	id, err := parseAccount(key)
	if err != nil {
		return fmt.Errorf("%q: %v", s, err)
	}
	n, err := parseAGR(amount)
	if err != nil {
		return fmt.Errorf("%q: %v", s, err)
	}
	for _, e := range b.list {
		if e.Account == id.String() {
			return fmt.Errorf("%q: account %s is given twice", s, keys.PublicKey(id).Address())
		}
	}
	b.list = append(b.list, chain.GenesisBalance{Account: id.String(), Amount: n})
	return nil
}

// checkHostPort checks a HOST:PORT listen address.
func checkHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want HOST:PORT")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("port %q: want 1 to 65535", port)
	}
	return nil
}
