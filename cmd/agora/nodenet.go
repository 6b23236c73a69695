package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/seed0ffb8d46/agora/node"
)

// snapshotFlags are --snapshot-interval and --snapshot-keep, which init,
// testnet and join write into app.toml and start overrides it with.
type snapshotFlags struct {
	interval, keep countFlag
}

func addSnapshotFlags(fs *flag.FlagSet) *snapshotFlags {
	s := &snapshotFlags{interval: countFlag{n: node.DefaultSnapshotInterval}, keep: countFlag{n: node.DefaultSnapshotKeepRecent}}
	fs.Var(&s.interval, "snapshot-interval", "take a state sync snapshot every `N` blocks for joining nodes (0: none); app.toml's snapshot_interval")
	fs.Var(&s.keep, "snapshot-keep", "keep the `K` latest snapshots; app.toml's snapshot_keep_recent")
	return s
}

// config is the app.toml the flags describe.
func (s *snapshotFlags) config() (*node.AppConfig, error) {
	c := &node.AppConfig{SnapshotInterval: int64(s.interval.n), SnapshotKeepRecent: s.keep.n}
	if err := c.Validate(); err != nil {
		return nil, usageErrorf("--snapshot-interval/--snapshot-keep: %v", err)
	}
	return c, nil
}

// override sets in c the flags given on the command line.
func (s *snapshotFlags) override(c *node.AppConfig) {
	if s.interval.set {
		c.SnapshotInterval = int64(s.interval.n)
	}
	if s.keep.set {
		c.SnapshotKeepRecent = s.keep.n
	}
}

// commaList splits a comma-separated flag value, dropping empty items.
func commaList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// nodeTestnetCmd is "agora node testnet": write the homes of an
// n-validator chain, on this machine or across several.
func nodeTestnetCmd() *Command {
	fs := flag.NewFlagSet("testnet", flag.ContinueOnError)
	out := fs.String("out", "", "write the homes into `DIR`/node0 ... (required)")
	n := fs.Int("validators", 4, "how many validators, `N`")
	chainID := fs.String("chain-id", "", "the chain's `ID`, signed into every transaction (required)")
	hosts := fs.String("hosts", "", "comma-separated `IPS`, one per validator, for a testnet across machines; without it every node gets free loopback ports")
	p2pPort, rpcPort := &countFlag{n: node.DefaultP2PPort}, &countFlag{n: node.DefaultRPCPort}
	fs.Var(p2pPort, "p2p-port", "with --hosts: the P2P `PORT` of every node")
	fs.Var(rpcPort, "rpc-port", "with --hosts: the CometBFT RPC `PORT` of every node")
	balances := &balancesValue{}
	fs.Var(balances, "balance", balanceUsage)
	governance := fs.String("governance", "", governanceUsage)
	blockTime := fs.Duration("block-time", node.DefaultBlockTime, "pause after each block (consensus.timeout_commit)")
	snaps := addSnapshotFlags(fs)
	force := fs.Bool("force", false, "overwrite existing homes under --out, deleting their chain data (keys are kept)")
	output := outputFlag(fs, "text", "text", "json")
	return &Command{
		Name:  "testnet",
		Short: "Write the homes of an N-validator chain, on this machine or across hosts",
		Long: `Writes --out/node0 ... node<N-1>: each a full node home with its own keys,
all with one genesis that lists the N validators (power 1 each) and every
node a persistent peer of the others. With --hosts (one IP per validator)
node i listens on HOSTS[i]:--p2p-port and HOSTS[i]:--rpc-port and its
peers dial it there: copy each home to its machine and run
agora node start --home HOME there. Without --hosts the nodes get free
loopback ports and all run on this machine.`,
		Flags: fs,
		Run: func(_ context.Context, rt *Runtime, args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			if *out == "" {
				return usageErrorf("--out is required")
			}
			if *chainID == "" {
				return usageErrorf("--chain-id is required")
			}
			if *n < 1 || *n > node.MaxValidators {
				return usageErrorf("--validators %d: want 1 to %d", *n, node.MaxValidators)
			}
			if *blockTime <= 0 {
				return usageErrorf("--block-time %v: want a positive duration", *blockTime)
			}
			opts := node.TestnetOptions{ChainID: *chainID, Balances: balances.list, BlockTime: *blockTime, Force: *force}
			if h := commaList(*hosts); len(h) > 0 {
				if len(h) != *n {
					return usageErrorf("--hosts has %d addresses for %d validators: want one per validator", len(h), *n)
				}
				for _, p := range []struct {
					name string
					v    int
				}{{"p2p-port", p2pPort.n}, {"rpc-port", rpcPort.n}} {
					if p.v < 1 || p.v > 65535 {
						return usageErrorf("--%s %d: want 1 to 65535", p.name, p.v)
					}
				}
				opts.Hosts, opts.P2PPort, opts.RPCPort = h, p2pPort.n, rpcPort.n
			} else if p2pPort.set || rpcPort.set {
				return usageErrorf("--p2p-port and --rpc-port only with --hosts: without it every node gets free loopback ports")
			}
			var err error
			if opts.Governance, err = parseGovernance(*governance); err != nil {
				return err
			}
			if opts.App, err = snaps.config(); err != nil {
				return err
			}
			if err := node.Testnet(*out, *n, opts); err != nil {
				return err
			}
			nodes, err := node.TestnetNodes(*out, *n)
			if err != nil {
				return err
			}
			res := struct {
				Homes   []string `json:"homes"`
				Genesis string   `json:"genesis"`
				Peers   string   `json:"peers"`
				RPC     []string `json:"rpc"`
			}{Genesis: filepath.Join(node.TestnetHome(*out, 0), "config", "genesis.json")}
			var peers []string
			for _, nd := range nodes {
				res.Homes = append(res.Homes, nd.Home)
				res.RPC = append(res.RPC, nd.RPC)
				peers = append(peers, nd.Peer())
			}
			res.Peers = strings.Join(peers, ",")
			if *output == "json" {
				return json.NewEncoder(rt.Stdout).Encode(res)
			}
			fmt.Fprintf(rt.Stdout, "wrote a %d-validator testnet for chain %s in %s\n", *n, *chainID, *out)
			for _, nd := range nodes {
				fmt.Fprintf(rt.Stdout, "  %s  p2p %s  rpc %s\n", nd.Home, nd.P2P, nd.RPC)
			}
			fmt.Fprintf(rt.Stdout, "genesis: %s\npeers: %s\n", res.Genesis, res.Peers)
			if len(opts.Hosts) > 0 {
				fmt.Fprintf(rt.Stdout, "copy each home to its host and run there: agora node start --home HOME\n")
			} else {
				fmt.Fprintf(rt.Stdout, "start each with: agora node start --home HOME\n")
			}
			return nil
		},
	}
}

// nodeJoinCmd is "agora node join": write a full-node home for a
// running chain.
func nodeJoinCmd() *Command {
	fs := flag.NewFlagSet("join", flag.ContinueOnError)
	genesis := fs.String("genesis", "", "the chain's genesis: a genesis.json `FILE` or a node's RPC URL (http://HOST:PORT) to fetch it from (required)")
	peers := fs.String("peers", "", "comma-separated persistent peers, `ID@HOST:PORT,...` (as agora node testnet prints them; required)")
	chainID := fs.String("chain-id", "", "refuse a genesis or state sync server of any chain but `ID`")
	p2pAddr := fs.String("p2p-laddr", "127.0.0.1:26656", "P2P listen `HOST:PORT`")
	rpcAddr := fs.String("rpc-laddr", "127.0.0.1:26657", "CometBFT RPC listen `HOST:PORT`")
	external := fs.String("external-address", "", "the `HOST:PORT` peers should dial this node at, if not --p2p-laddr")
	stateSync := fs.String("state-sync", "", "comma-separated RPC `URLS` of the chain's nodes: restore the state from a peer's snapshot, trusting a recent block they agree on, instead of replaying every block")
	snaps := addSnapshotFlags(fs)
	force := fs.Bool("force", false, "overwrite an existing node in home, deleting its chain data (keys are kept)")
	output := outputFlag(fs, "text", "text", "json")
	return &Command{
		Name:  "join",
		Short: "Write a full-node home that joins a running chain",
		Long: `Writes a full node in the configured home directory (--home): its own node
key, a validator key with no voting power, the chain's genesis (copied from
--genesis FILE or fetched from a node's RPC) and --peers as persistent
peers. With --state-sync it asks those RPC servers for their latest block,
trusts the block ` + fmt.Sprint(node.DefaultTrustMargin) + ` below it (its hash from /commit) and writes the
[statesync] section: the node restores the state from a peer's snapshot,
then syncs the remaining blocks. Then run: agora node start --home DIR`,
		Flags: fs,
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			if *genesis == "" {
				return usageErrorf("--genesis is required")
			}
			peerList := commaList(*peers)
			if len(peerList) == 0 {
				return usageErrorf("--peers is required")
			}
			for _, f := range []struct{ name, v string }{{"p2p-laddr", *p2pAddr}, {"rpc-laddr", *rpcAddr}, {"external-address", *external}} {
				if f.v == "" {
					continue
				}
				if err := checkHostPort(f.v); err != nil {
					return usageErrorf("--%s %q: %v", f.name, f.v, err)
				}
			}
			app, err := snaps.config()
			if err != nil {
				return err
			}
			home := rt.Config.Home
			j, err := node.Join(ctx, home, node.JoinOptions{
				Genesis: *genesis, ChainID: *chainID, Peers: peerList,
				P2PAddress: *p2pAddr, RPCAddress: *rpcAddr, ExternalAddress: *external,
				StateSync: commaList(*stateSync), App: app, Force: *force,
			})
			if err != nil {
				return err
			}
			if *output == "json" {
				return json.NewEncoder(rt.Stdout).Encode(j)
			}
			fmt.Fprintf(rt.Stdout, "wrote a full node for chain %s in %s (node ID %s)\npeers: %s\n", j.ChainID, home, j.NodeID, j.Peers)
			if j.StateSync {
				fmt.Fprintf(rt.Stdout, "state sync: from a peer's snapshot, verified by the light client against %s, trusting block %d (%s) for %v\n",
					strings.Join(j.RPCServers, ","), j.TrustHeight, j.TrustHash, node.DefaultTrustPeriod)
			} else {
				fmt.Fprintf(rt.Stdout, "it replays every block from genesis\n")
			}
			fmt.Fprintf(rt.Stdout, "start it with: agora node start --home %s\n", home)
			return nil
		},
	}
}
