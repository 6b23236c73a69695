package node

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/types"
	cmttime "github.com/cometbft/cometbft/types/time"

	"github.com/seed0ffb8d46/agora/chain"
)

// Defaults of InitOptions and TestnetOptions.
const (
	// DefaultBlockTime is consensus.timeout_commit: the pause after a
	// block is committed before the next height starts, so blocks come
	// about this often.
	DefaultBlockTime = time.Second
	// DefaultP2PPort and DefaultRPCPort are where a node from Init
	// listens, on 127.0.0.1.
	DefaultP2PPort = 26656
	DefaultRPCPort = 26657
	// DefaultLogLevel is CometBFT's log_level in config.toml: the node's
	// start and stop and one line per executed and committed block;
	// errors from everything else. Our own zap level filters on top.
	DefaultLogLevel = "main:info,state:info,*:error"
	// AppDBName is the app's database under the home's data directory
	// (data/app.db), separate from CometBFT's block and state stores: they
	// are committed at different times.
	AppDBName = "app"
)

// InitOptions says what Init writes. ChainID is required; the rest have
// defaults.
type InitOptions struct {
	// ChainID names the chain; it is in every signed transaction. 1 to 50
	// bytes (CometBFT's limit).
	ChainID string
	// Balances are the genesis balances: hex ed25519 public keys and
	// amounts in base units (1 AGR = 10^9). Each key at most once.
	Balances []chain.GenesisBalance
	// Fees are the per-kind transaction fees; nil means chain.DefaultFees.
	Fees *chain.Fees
	// Governance is the hex ed25519 key that may set the emission and the
	// subnets' shares of it (a new subnet earns nothing until it gets a
	// share); empty means nobody may.
	Governance string
	// Moniker is the node's name among its peers; "agora" if empty.
	Moniker string
	// P2PAddress and RPCAddress are the listen addresses, host:port;
	// 127.0.0.1:26656 and 127.0.0.1:26657 if empty.
	P2PAddress, RPCAddress string
	// BlockTime is consensus.timeout_commit; DefaultBlockTime if zero.
	BlockTime time.Duration
	// GenesisTime is the chain's start; now if zero.
	GenesisTime time.Time
	// Configure, if set, edits the CometBFT configuration after Init has
	// applied its settings and before it is written to config.toml. Tests
	// use it for millisecond timeouts.
	Configure func(*cmtcfg.Config)
	// App is written to config/app.toml; nil means DefaultAppConfig.
	App *AppConfig
	// Force lets Init overwrite a home that already has a node: it rewrites
	// config.toml and genesis.json and deletes the chain data (blocks,
	// state, app database and the validator's last-signed state). The node
	// and validator keys are kept.
	Force bool
}

// Init writes a single-validator node home: config/config.toml with
// Agora's settings, config/node_key.json, config/priv_validator_key.json,
// data/priv_validator_state.json and config/genesis.json with the chain
// id, the balances (app_state, a chain.GenesisState) and this node as the
// only validator. It refuses a home that already has a node unless
// opts.Force is set. Start the node with New and Run.
func Init(home string, opts InitOptions) error {
	if err := checkChainID(opts.ChainID); err != nil {
		return fmt.Errorf("node: init: %w", err)
	}
	appState, err := genesisAppState(opts.Balances, opts.Fees, opts.Governance)
	if err != nil {
		return fmt.Errorf("node: init: %w", err)
	}
	p2pAddr := orDefault(opts.P2PAddress, hostPort(DefaultP2PPort))
	rpcAddr := orDefault(opts.RPCAddress, hostPort(DefaultRPCPort))
	if err := checkHostPort("P2P", p2pAddr); err != nil {
		return fmt.Errorf("node: init: %w", err)
	}
	if err := checkHostPort("RPC", rpcAddr); err != nil {
		return fmt.Errorf("node: init: %w", err)
	}
	if err := prepareHome(home, opts.Force); err != nil {
		return fmt.Errorf("node: init: %w", err)
	}
	c := baseConfig(home, orDefault(opts.Moniker, "agora"), p2pAddr, rpcAddr, opts.BlockTime)
	if opts.Configure != nil {
		opts.Configure(c)
	}
	if err := c.ValidateBasic(); err != nil {
		return fmt.Errorf("node: init: config: %w", err)
	}
	keys, err := writeKeys(c)
	if err != nil {
		return fmt.Errorf("node: init: %w", err)
	}
	gen := genesisDoc(opts.ChainID, opts.GenesisTime, appState, []types.GenesisValidator{keys.validator(c.Moniker)})
	if err := writeConfigAndGenesis(c, gen, orDefaultApp(opts.App)); err != nil {
		return fmt.Errorf("node: init: %w", err)
	}
	return nil
}

// TestnetOptions says what Testnet writes. ChainID is required.
type TestnetOptions struct {
	// ChainID, Balances, Fees, Governance, BlockTime, GenesisTime and Configure are
	// as in InitOptions; Configure is called once per node.
	ChainID     string
	Balances    []chain.GenesisBalance
	Fees        *chain.Fees
	Governance  string
	BlockTime   time.Duration
	GenesisTime time.Time
	Configure   func(i int, c *cmtcfg.Config)
	// BasePort, if not zero, gives node i the P2P port BasePort+2i and the
	// RPC port BasePort+2i+1 on 127.0.0.1. Zero picks free ports. Not
	// with Hosts.
	BasePort int
	// Hosts, if set, has one IP address per validator, for a testnet
	// across machines: node i listens for peers on Hosts[i]:P2PPort
	// (advertised as its external address) and for RPC on
	// Hosts[i]:RPCPort, and dials the others at Hosts[j]:P2PPort.
	Hosts []string
	// P2PPort and RPCPort are the ports used with Hosts;
	// DefaultP2PPort and DefaultRPCPort if zero.
	P2PPort, RPCPort int
	// App is written to every node's config/app.toml; nil means
	// DefaultAppConfig.
	App *AppConfig
	// Force lets Testnet overwrite an existing testnet under dir, as
	// InitOptions.Force does for each node home.
	Force bool
}

// MaxValidators bounds Testnet's n; more would not run on one machine.
const MaxValidators = 64

// TestnetHome is the home of node i of a testnet written under dir.
func TestnetHome(dir string, i int) string {
	return filepath.Join(dir, "node"+strconv.Itoa(i))
}

// Testnet writes n validator homes under dir (TestnetHome(dir, i)), all
// with one genesis listing the n validators (power 1 each), every node a
// persistent peer of every other, PEX off and the address book not
// strict. Without opts.Hosts each node has its own loopback ports and
// duplicate IPs are allowed, so all of them can run on one machine; with
// Hosts, node i runs on the machine at Hosts[i]. Start each with New and
// Run; TestnetNodes lists their addresses.
func Testnet(dir string, n int, opts TestnetOptions) error {
	if n < 1 || n > MaxValidators {
		return fmt.Errorf("node: testnet: %d validators: want 1 to %d", n, MaxValidators)
	}
	if err := checkChainID(opts.ChainID); err != nil {
		return fmt.Errorf("node: testnet: %w", err)
	}
	appState, err := genesisAppState(opts.Balances, opts.Fees, opts.Governance)
	if err != nil {
		return fmt.Errorf("node: testnet: %w", err)
	}
	addrs, err := testnetAddresses(n, opts)
	if err != nil {
		return fmt.Errorf("node: testnet: %w", err)
	}
	for i := range n {
		if err := prepareHome(TestnetHome(dir, i), opts.Force); err != nil {
			return fmt.Errorf("node: testnet: node %d: %w", i, err)
		}
	}
	cfgs := make([]*cmtcfg.Config, n)
	vals := make([]types.GenesisValidator, n)
	peers := make([]string, n)
	for i := range n {
		p2pAddr, rpcAddr := addrs[2*i], addrs[2*i+1]
		c := baseConfig(TestnetHome(dir, i), "node"+strconv.Itoa(i), p2pAddr, rpcAddr, opts.BlockTime)
		if len(opts.Hosts) > 0 {
			c.P2P.ExternalAddress = p2pAddr
		} else {
			c.P2P.AllowDuplicateIP = true
		}
		keys, err := writeKeys(c)
		if err != nil {
			return fmt.Errorf("node: testnet: node %d: %w", i, err)
		}
		cfgs[i], vals[i] = c, keys.validator(c.Moniker)
		peers[i] = p2p.IDAddressString(keys.nodeID, p2pAddr)
	}
	gen := genesisDoc(opts.ChainID, opts.GenesisTime, appState, vals)
	for i, c := range cfgs {
		var others []string
		for j, p := range peers {
			if j != i {
				others = append(others, p)
			}
		}
		c.P2P.PersistentPeers = strings.Join(others, ",")
		if opts.Configure != nil {
			opts.Configure(i, c)
		}
		if err := c.ValidateBasic(); err != nil {
			return fmt.Errorf("node: testnet: node %d: config: %w", i, err)
		}
		if err := writeConfigAndGenesis(c, gen, orDefaultApp(opts.App)); err != nil {
			return fmt.Errorf("node: testnet: node %d: %w", i, err)
		}
	}
	return nil
}

// testnetAddresses returns node i's P2P and RPC listen addresses
// (host:port) at 2i and 2i+1.
func testnetAddresses(n int, opts TestnetOptions) ([]string, error) {
	var addrs []string
	if len(opts.Hosts) > 0 {
		if len(opts.Hosts) != n {
			return nil, fmt.Errorf("%d hosts for %d validators: want one IP address per validator", len(opts.Hosts), n)
		}
		if opts.BasePort != 0 {
			return nil, errors.New("a base port is for loopback testnets; with hosts, give the P2P and RPC ports")
		}
		p2pPort, rpcPort := cmp.Or(opts.P2PPort, DefaultP2PPort), cmp.Or(opts.RPCPort, DefaultRPCPort)
		for _, p := range []int{p2pPort, rpcPort} {
			if p < 1 || p > 65535 {
				return nil, fmt.Errorf("port %d: want 1 to 65535", p)
			}
		}
		if p2pPort == rpcPort {
			return nil, fmt.Errorf("P2P and RPC both on port %d", p2pPort)
		}
		seen := map[string]int{}
		for i, h := range opts.Hosts {
			ip := net.ParseIP(h)
			if ip == nil {
				return nil, fmt.Errorf("host %d %q: want an IP address", i, h)
			}
			if ip.IsUnspecified() {
				return nil, fmt.Errorf("host %d %q: want the address other machines reach it at, not an unspecified one", i, h)
			}
			if j, dup := seen[ip.String()]; dup {
				return nil, fmt.Errorf("hosts %d and %d are both %s: their ports would clash", j, i, h)
			}
			seen[ip.String()] = i
			addrs = append(addrs, net.JoinHostPort(h, strconv.Itoa(p2pPort)), net.JoinHostPort(h, strconv.Itoa(rpcPort)))
		}
		return addrs, nil
	}
	if opts.P2PPort != 0 || opts.RPCPort != 0 {
		return nil, errors.New("P2P and RPC ports are for testnets across hosts; without hosts, give a base port or none")
	}
	var ports []int
	var err error
	switch {
	case opts.BasePort == 0:
		if ports, err = FreePorts(2 * n); err != nil {
			return nil, err
		}
	case opts.BasePort < 1024 || opts.BasePort+2*n-1 > 65535:
		return nil, fmt.Errorf("base port %d: want 1024 to %d for %d validators", opts.BasePort, 65535-2*n+1, n)
	default:
		for i := range 2 * n {
			ports = append(ports, opts.BasePort+i)
		}
	}
	for _, p := range ports {
		addrs = append(addrs, hostPort(p))
	}
	return addrs, nil
}

// FreePorts returns n distinct TCP ports that were free on 127.0.0.1 a
// moment ago. They are drawn from below Linux's ephemeral range (which
// starts at 32768), so the outgoing connections of the very nodes and
// clients that are about to start cannot be handed one of them before it
// is bound; only another FreePorts caller drawing the same port could, and
// the draw is random over 12,000 ports.
func FreePorts(n int) ([]int, error) {
	const lo, hi = 20000, 32000
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for tries := 0; len(ports) < n; tries++ {
		if tries == 1000 {
			return nil, fmt.Errorf("find a free port: none free among %d tries in [%d, %d)", tries, lo, hi)
		}
		p := lo + rand.IntN(hi-lo)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue // taken
		}
		ls = append(ls, l)
		ports = append(ports, p)
	}
	return ports, nil
}

// baseConfig is Agora's CometBFT configuration for a node at home.
func baseConfig(home, moniker, p2pAddr, rpcAddr string, blockTime time.Duration) *cmtcfg.Config {
	c := cmtcfg.DefaultConfig()
	c.SetRoot(home)
	c.Moniker = moniker
	c.LogLevel = DefaultLogLevel
	c.DBBackend = string(appDBBackend)
	c.P2P.ListenAddress = "tcp://" + p2pAddr
	c.RPC.ListenAddress = "tcp://" + rpcAddr
	c.P2P.AddrBookStrict = false // peers are on loopback
	// Peers come from persistent_peers. PEX would only gossip loopback
	// addresses, and its address book writes config/addrbook.json from a
	// goroutine that outlives the node's Stop.
	c.P2P.PexReactor = false
	c.TxIndex.Indexer = "kv"
	if blockTime <= 0 {
		blockTime = DefaultBlockTime
	}
	c.Consensus.TimeoutCommit = blockTime
	// The app is in-process; these are never dialled, but keep them
	// loopback so that nothing in config.toml listens on every interface.
	c.ProxyApp = "tcp://127.0.0.1:26658"
	return c
}

// prepareHome refuses a home that has a node unless force, in which case
// it removes the chain data, and creates the config and data directories.
func prepareHome(home string, force bool) error {
	if home == "" {
		return errors.New("home directory not set")
	}
	c := cmtcfg.DefaultConfig()
	c.SetRoot(home)
	existing := []string{c.GenesisFile(), filepath.Join(home, "config", "config.toml"), c.PrivValidatorKeyFile(), c.DBDir()}
	for _, p := range existing {
		_, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if !force {
			return fmt.Errorf("%s already holds a node (%s exists); pass --force to overwrite it, which deletes its chain data (keys are kept)", home, p)
		}
	}
	if force {
		if err := os.RemoveAll(c.DBDir()); err != nil {
			return fmt.Errorf("remove old chain data: %w", err)
		}
	}
	for _, d := range []string{home, filepath.Join(home, "config"), c.DBDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	return nil
}

// nodeKeys are the identities writeKeys made or found.
type nodeKeys struct {
	nodeID p2p.ID
	pv     *privval.FilePV
}

func (k nodeKeys) validator(name string) types.GenesisValidator {
	pub := k.pv.Key.PubKey
	return types.GenesisValidator{Address: pub.Address(), PubKey: pub, Power: 1, Name: name}
}

// writeKeys loads the node and validator keys of c's home, generating any
// that are missing, and writes a fresh last-signed state for the
// validator (the data directory is new).
func writeKeys(c *cmtcfg.Config) (nodeKeys, error) {
	nk, err := p2p.LoadOrGenNodeKey(c.NodeKeyFile())
	if err != nil {
		return nodeKeys{}, fmt.Errorf("node key: %w", err)
	}
	var pv *privval.FilePV
	if _, err := os.Stat(c.PrivValidatorKeyFile()); err == nil {
		if err := checkJSONFile(c.PrivValidatorKeyFile(), &privval.FilePVKey{}); err != nil {
			return nodeKeys{}, err
		}
		pv = privval.LoadFilePVEmptyState(c.PrivValidatorKeyFile(), c.PrivValidatorStateFile())
	} else {
		pv = privval.GenFilePV(c.PrivValidatorKeyFile(), c.PrivValidatorStateFile())
	}
	pv.Save()
	return nodeKeys{nodeID: nk.ID(), pv: pv}, nil
}

// checkJSONFile reports whether name holds v in CometBFT's JSON, so that
// privval, which exits the process on a bad file, is only given good ones.
func checkJSONFile(name string, v any) error {
	data, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	if err := cmtjson.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func genesisDoc(chainID string, t time.Time, appState json.RawMessage, vals []types.GenesisValidator) *types.GenesisDoc {
	if t.IsZero() {
		t = cmttime.Now()
	}
	return &types.GenesisDoc{
		ChainID:         chainID,
		GenesisTime:     t,
		InitialHeight:   1,
		ConsensusParams: types.DefaultConsensusParams(),
		Validators:      vals,
		AppState:        appState,
	}
}

func writeConfigAndGenesis(c *cmtcfg.Config, gen *types.GenesisDoc, app AppConfig) error {
	if err := gen.ValidateAndComplete(); err != nil {
		return fmt.Errorf("genesis: %w", err)
	}
	if err := gen.SaveAs(c.GenesisFile()); err != nil {
		return fmt.Errorf("write genesis: %w", err)
	}
	if err := writeAppConfig(c.RootDir, app); err != nil {
		return err
	}
	cmtcfg.WriteConfigFile(filepath.Join(c.RootDir, "config", "config.toml"), c)
	return nil
}

// genesisAppState checks the app state as the chain will and encodes it.
func genesisAppState(balances []chain.GenesisBalance, fees *chain.Fees, governance string) (json.RawMessage, error) {
	gs := chain.GenesisState{Fees: chain.DefaultFees(), Balances: balances, Governance: governance}
	if fees != nil {
		gs.Fees = *fees
	}
	if gs.Balances == nil {
		gs.Balances = []chain.GenesisBalance{}
	}
	data, err := json.Marshal(gs)
	if err != nil {
		return nil, err
	}
	if _, err := chain.ParseGenesisState(data); err != nil {
		return nil, err
	}
	return data, nil
}

func checkChainID(id string) error {
	if id == "" {
		return errors.New("chain id is required")
	}
	if len(id) > types.MaxChainIDLen {
		return fmt.Errorf("chain id %q: longer than %d bytes", id, types.MaxChainIDLen)
	}
	return nil
}

func checkHostPort(what, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s address %q: want host:port", what, addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("%s address %q: bad port", what, addr)
	}
	return nil
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
