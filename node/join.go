package node

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/p2p"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/cometbft/cometbft/types"

	"github.com/seed0ffb8d46/agora/chain"
)

// Defaults of JoinOptions.
const (
	// DefaultTrustMargin is how far below the servers' latest block Join
	// sets the state sync trust height: far enough that the latest
	// snapshots (DefaultSnapshotInterval apart) are above it, so the light
	// client verifies forward to them.
	DefaultTrustMargin = 2 * DefaultSnapshotInterval
	// DefaultTrustPeriod is statesync.trust_period: how old the trusted
	// block may be when the node starts. It must be shorter than the
	// time a validator's misbehaviour can still be punished.
	DefaultTrustPeriod = 168 * time.Hour
	// StateSyncDiscoveryTime is statesync.discovery_time: how long the
	// node gathers snapshots from its peers before it picks one (5 s is
	// CometBFT's minimum).
	StateSyncDiscoveryTime = 5 * time.Second
	// rpcTimeout bounds each question Join asks a node.
	rpcTimeout = 10 * time.Second
)

// JoinOptions says what Join writes. Genesis and Peers are required.
type JoinOptions struct {
	// Genesis is the chain's genesis: a file, or the RPC address of one of
	// its nodes (http://HOST:PORT or tcp://HOST:PORT), whose /genesis is
	// fetched.
	Genesis string
	// ChainID, if set, is the chain the node must join: a genesis or a
	// state sync server of another chain is refused.
	ChainID string
	// Peers are the nodes to connect to, each ID@HOST:PORT (as
	// TestnetNodes lists them or a node's /status has them).
	Peers []string
	// Moniker is the node's name among its peers; "agora" if empty.
	Moniker string
	// P2PAddress and RPCAddress are the listen addresses, host:port;
	// 127.0.0.1:26656 and 127.0.0.1:26657 if empty. ExternalAddress is
	// the host:port peers should dial, if not the P2P one.
	P2PAddress, RPCAddress, ExternalAddress string
	// StateSync, if set, lists RPC addresses of the chain's nodes: the
	// node restores the state from a snapshot instead of replaying every
	// block, trusting the block TrustMargin below their latest.
	StateSync []string
	// TrustMargin is DefaultTrustMargin if zero; TrustPeriod
	// DefaultTrustPeriod.
	TrustMargin int64
	TrustPeriod time.Duration
	// BlockTime, App, Configure and Force are as in InitOptions.
	BlockTime time.Duration
	App       *AppConfig
	Configure func(*cmtcfg.Config)
	Force     bool
}

// Joined is what Join wrote.
type Joined struct {
	Home    string `json:"home"`
	ChainID string `json:"chain_id"`
	// NodeID is the new node's P2P identity.
	NodeID string `json:"node_id"`
	// Peers is persistent_peers.
	Peers string `json:"peers"`
	// StateSync says whether the node restores from a snapshot; then
	// RPCServers, TrustHeight and TrustHash are statesync's settings.
	StateSync   bool     `json:"state_sync"`
	RPCServers  []string `json:"rpc_servers,omitempty"`
	TrustHeight int64    `json:"trust_height,omitempty"`
	TrustHash   string   `json:"trust_hash,omitempty"`
}

// Join writes a full-node home for an existing chain: config.toml with
// the peers (and, with opts.StateSync, the [statesync] section with a
// trust height and hash fetched from those servers), app.toml, a node
// key, a validator key that has no voting power (it is not in the
// genesis), and the chain's genesis. It refuses a home that already has a
// node unless opts.Force. Start the node with New and Run.
func Join(ctx context.Context, home string, opts JoinOptions) (*Joined, error) {
	j, err := join(ctx, home, opts)
	if err != nil {
		return nil, fmt.Errorf("node: join: %w", err)
	}
	return j, nil
}

func join(ctx context.Context, home string, opts JoinOptions) (*Joined, error) {
	if len(opts.Peers) == 0 {
		return nil, errors.New("no peers: give at least one ID@HOST:PORT")
	}
	loopbackPeer := false
	for _, p := range opts.Peers {
		addr, err := p2p.NewNetAddressString(p)
		if err != nil {
			return nil, fmt.Errorf("peer %q: want ID@HOST:PORT (the ID is the peer's node ID, 40 hex characters): %w", p, err)
		}
		loopbackPeer = loopbackPeer || addr.IP.IsLoopback()
	}
	p2pAddr := orDefault(opts.P2PAddress, hostPort(DefaultP2PPort))
	rpcAddr := orDefault(opts.RPCAddress, hostPort(DefaultRPCPort))
	for _, a := range []struct{ what, addr string }{{"P2P", p2pAddr}, {"RPC", rpcAddr}, {"external", opts.ExternalAddress}} {
		if a.addr == "" {
			continue
		}
		if err := checkHostPort(a.what, a.addr); err != nil {
			return nil, err
		}
	}
	gen, err := loadGenesis(ctx, opts.Genesis)
	if err != nil {
		return nil, err
	}
	if opts.ChainID != "" && gen.ChainID != opts.ChainID {
		return nil, fmt.Errorf("genesis %s is of chain %q, not %q", opts.Genesis, gen.ChainID, opts.ChainID)
	}
	j := &Joined{Home: home, ChainID: gen.ChainID, Peers: strings.Join(opts.Peers, ",")}
	if len(opts.StateSync) > 0 {
		if err := trustBlock(ctx, gen.ChainID, opts, j); err != nil {
			return nil, err
		}
	}
	if err := prepareHome(home, opts.Force); err != nil {
		return nil, err
	}
	c := baseConfig(home, orDefault(opts.Moniker, "agora"), p2pAddr, rpcAddr, opts.BlockTime)
	c.P2P.PersistentPeers = j.Peers
	c.P2P.ExternalAddress = opts.ExternalAddress
	// Peers on this machine all come from 127.0.0.1.
	c.P2P.AllowDuplicateIP = loopbackPeer
	if j.StateSync {
		c.StateSync.Enable = true
		c.StateSync.RPCServers = j.RPCServers
		c.StateSync.TrustHeight = j.TrustHeight
		c.StateSync.TrustHash = j.TrustHash
		c.StateSync.TrustPeriod = cmp.Or(opts.TrustPeriod, DefaultTrustPeriod)
		c.StateSync.DiscoveryTime = StateSyncDiscoveryTime
	}
	if opts.Configure != nil {
		opts.Configure(c)
	}
	if err := c.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	keys, err := writeKeys(c)
	if err != nil {
		return nil, err
	}
	j.NodeID = string(keys.nodeID)
	if err := writeConfigAndGenesis(c, gen, orDefaultApp(opts.App)); err != nil {
		return nil, err
	}
	return j, nil
}

// isRPC reports whether s names a node's RPC server rather than a file.
func isRPC(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "tcp://")
}

// rpcClient is a client of the RPC server at addr (http://, https://,
// tcp:// or bare HOST:PORT).
func rpcClient(addr string) (*rpchttp.HTTP, string, error) {
	if !strings.Contains(addr, "://") {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, "", fmt.Errorf("RPC address %q: want http://HOST:PORT or HOST:PORT", addr)
		}
		addr = "http://" + addr
	}
	addr = strings.Replace(addr, "tcp://", "http://", 1)
	c, err := rpchttp.New(addr, "/websocket")
	if err != nil {
		return nil, "", fmt.Errorf("RPC address %q: %w", addr, err)
	}
	return c, addr, nil
}

// loadGenesis reads the genesis from a file or a node's /genesis and
// checks that it is a valid genesis of an Agora chain.
func loadGenesis(ctx context.Context, from string) (*types.GenesisDoc, error) {
	if from == "" {
		return nil, errors.New("no genesis: give a genesis.json file or a node's RPC address")
	}
	var gen *types.GenesisDoc
	if isRPC(from) {
		c, addr, err := rpcClient(from)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(ctx, rpcTimeout)
		defer cancel()
		res, err := c.Genesis(ctx)
		if err != nil {
			return nil, fmt.Errorf("fetch the genesis from %s: %w", addr, err)
		}
		gen = res.Genesis
	} else {
		data, err := os.ReadFile(from)
		if err != nil {
			return nil, fmt.Errorf("genesis: %w", err)
		}
		if gen, err = types.GenesisDocFromJSON(data); err != nil {
			return nil, fmt.Errorf("genesis %s: %w", from, err)
		}
	}
	if err := gen.ValidateAndComplete(); err != nil {
		return nil, fmt.Errorf("genesis from %s: %w", from, err)
	}
	if _, err := chain.ParseGenesisState(gen.AppState); err != nil {
		return nil, fmt.Errorf("genesis from %s is not an Agora chain's: %w", from, err)
	}
	return gen, nil
}

// trustBlock asks the state sync servers for their latest height, picks
// the trust height opts.TrustMargin below it (at least 1) and its block
// hash, checks that every server is on chainID and agrees on that hash,
// and fills in j's state sync fields.
func trustBlock(ctx context.Context, chainID string, opts JoinOptions, j *Joined) error {
	margin := opts.TrustMargin
	if margin == 0 {
		margin = DefaultTrustMargin
	}
	if margin < 0 {
		return fmt.Errorf("trust margin %d: want a number of blocks", margin)
	}
	var hash string
	for i, s := range opts.StateSync {
		c, addr, err := rpcClient(s)
		if err != nil {
			return fmt.Errorf("state sync server: %w", err)
		}
		qctx, cancel := context.WithTimeout(ctx, rpcTimeout)
		st, err := c.Status(qctx)
		if err != nil {
			cancel()
			return fmt.Errorf("state sync server %s: %w", addr, err)
		}
		if st.NodeInfo.Network != chainID {
			cancel()
			return fmt.Errorf("state sync server %s is on chain %q, the genesis on %q", addr, st.NodeInfo.Network, chainID)
		}
		if i == 0 {
			if st.SyncInfo.LatestBlockHeight < 1 {
				cancel()
				return fmt.Errorf("state sync server %s has no blocks yet: nothing to trust or restore; join without state sync, or wait", addr)
			}
			j.TrustHeight = max(1, st.SyncInfo.LatestBlockHeight-margin)
		}
		h := j.TrustHeight
		res, err := c.Commit(qctx, &h)
		cancel()
		if err != nil {
			return fmt.Errorf("state sync server %s: block %d: %w", addr, h, err)
		}
		got := res.SignedHeader.Hash().String()
		if i > 0 && got != hash {
			return fmt.Errorf("state sync servers disagree on block %d: %s has %s, %s has %s", h, j.RPCServers[0], hash, addr, got)
		}
		hash = got
		j.RPCServers = append(j.RPCServers, addr)
	}
	// CometBFT's light client wants a primary and a witness.
	if len(j.RPCServers) == 1 {
		j.RPCServers = append(j.RPCServers, j.RPCServers[0])
	}
	j.StateSync, j.TrustHash = true, hash
	return nil
}

// TestnetNode is one node of a testnet as Testnet wrote it.
type TestnetNode struct {
	Home   string `json:"home"`
	NodeID string `json:"node_id"`
	// P2P is the address its peers dial (host:port); RPC its RPC
	// address (tcp://host:port).
	P2P string `json:"p2p"`
	RPC string `json:"rpc"`
}

// Peer is the node as a persistent peer, ID@HOST:PORT.
func (n TestnetNode) Peer() string { return n.NodeID + "@" + n.P2P }

// TestnetNodes reads the n homes Testnet wrote under dir.
func TestnetNodes(dir string, n int) ([]TestnetNode, error) {
	out := make([]TestnetNode, 0, n)
	for i := range n {
		home := TestnetHome(dir, i)
		c, err := LoadConfig(home)
		if err != nil {
			return nil, fmt.Errorf("node: testnet: %w", err)
		}
		nk, err := p2p.LoadNodeKey(c.NodeKeyFile())
		if err != nil {
			return nil, fmt.Errorf("node: testnet: node %d: %w", i, err)
		}
		addr := c.P2P.ExternalAddress
		if addr == "" {
			addr = strings.TrimPrefix(c.P2P.ListenAddress, "tcp://")
		}
		out = append(out, TestnetNode{Home: home, NodeID: string(nk.ID()), P2P: addr, RPC: c.RPC.ListenAddress})
	}
	return out, nil
}
