// Package node runs Agora's chain: a CometBFT v0.38 node in-process
// around chain.App, with the home folders it runs from.
//
// Init writes a single-validator home and Testnet an n-validator one on
// loopback ports; New opens a home and Run runs it until its context is
// cancelled. A home is CometBFT's layout (config/config.toml,
// config/genesis.json, the node and validator keys, data/) plus the app's
// own database, data/app.db, which is committed separately from
// CometBFT's stores: if it is lost, the node replays every block from
// genesis on the next start.
package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtcfg "github.com/cometbft/cometbft/config"
	cmtflags "github.com/cometbft/cometbft/libs/cli/flags"
	nm "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/spf13/viper"
	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/chain"
)

// appDBBackend is the app database's engine: goleveldb, which cometbft-db
// builds without tags.
const appDBBackend = dbm.GoLevelDBBackend

// Node is one CometBFT validator or full node running chain.App
// in-process. Make it with New, run it once with Run; to restart, make a
// new Node on the same home.
type Node struct {
	home  string
	cfg   *cmtcfg.Config
	app   AppConfig
	log   *zap.Logger
	appDB dbm.DB
	comet *nm.Node
	dbs   *dbTracker
	gate  *gatedApp
	ready chan struct{}
	// stopping, once set, has CometBFT's errors logged at debug level:
	// its teardown reports every closed listener and peer as one.
	stopping *atomic.Bool

	runOnce   sync.Once
	closeOnce sync.Once
	closeErr  error
}

// LoadConfig reads home's config/config.toml over CometBFT's defaults,
// with every path rooted at home, and validates it.
func LoadConfig(home string) (*cmtcfg.Config, error) {
	c := cmtcfg.DefaultConfig()
	file := filepath.Join(home, "config", "config.toml")
	v := viper.New()
	v.SetConfigFile(file)
	if err := v.ReadInConfig(); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: no node here (run agora node init)", file)
		}
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	if err := v.Unmarshal(c); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	c.SetRoot(home)
	if err := c.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return c, nil
}

// New opens the node at home: its configuration, keys and genesis, the
// app database (data/app.db), the chain app, and the CometBFT node with
// the app behind a local client. CometBFT's handshake runs here: if the
// app is behind the block store, New replays the missing blocks into it
// (from genesis if the app database is new). Logs go to log: the node's
// own with component=node, CometBFT's with component=cometbft and the
// app's with component=chain; so log should not carry a component field. New starts
// nothing that listens; Run does. Call Run, or Close to release the home.
func New(home string, log *zap.Logger) (*Node, error) {
	return Open(home, log, Options{})
}

// Options change how Open opens a home.
type Options struct {
	// App, if set, edits the app settings read from config/app.toml
	// before they are used, as command-line flags do.
	App func(*AppConfig)
}

// Open is New with options.
func Open(home string, log *zap.Logger, opts Options) (*Node, error) {
	appCfg, err := LoadAppConfig(home)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	if opts.App != nil {
		opts.App(&appCfg)
		if err := appCfg.Validate(); err != nil {
			return nil, fmt.Errorf("node: %w", err)
		}
	}
	c, err := LoadConfig(home)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	if _, err := os.Stat(c.GenesisFile()); err != nil {
		return nil, fmt.Errorf("node: genesis: %w", err)
	}
	nodeKey, err := p2p.LoadNodeKey(c.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("node: node key: %w", err)
	}
	// privval exits the process on a missing or bad file; check first.
	if err := checkJSONFile(c.PrivValidatorKeyFile(), &privval.FilePVKey{}); err != nil {
		return nil, fmt.Errorf("node: validator key: %w", err)
	}
	if err := checkJSONFile(c.PrivValidatorStateFile(), &privval.FilePVLastSignState{}); err != nil {
		return nil, fmt.Errorf("node: validator state: %w", err)
	}
	pv := privval.LoadFilePV(c.PrivValidatorKeyFile(), c.PrivValidatorStateFile())

	stopping := &atomic.Bool{}
	cmtLog, err := cmtflags.ParseLogLevel(c.LogLevel, newCometLogger(log, stopping), cmtcfg.DefaultLogLevel)
	if err != nil {
		return nil, fmt.Errorf("node: log_level in config.toml: %w", err)
	}
	appDB, err := dbm.NewDB(AppDBName, appDBBackend, c.DBDir())
	if err != nil {
		if homeLocked(err) {
			return nil, fmt.Errorf("node: the home %s is in use by another running node (its app database %s is locked); stop that node first", home, filepath.Join(c.DBDir(), AppDBName+".db"))
		}
		return nil, fmt.Errorf("node: open app database: %w", err)
	}
	app, err := chain.NewApp(appDB, log.With(zap.String("component", "chain")))
	if err != nil {
		_ = appDB.Close()
		return nil, fmt.Errorf("node: open app: %w", err)
	}
	if err := app.EnableSnapshots(SnapshotDir(home), uint64(appCfg.SnapshotInterval), appCfg.SnapshotKeepRecent); err != nil {
		_ = appDB.Close()
		return nil, fmt.Errorf("node: %w", err)
	}
	// The gate answers CometBFT's peer filter queries; see gatedApp.
	c.FilterPeers = true
	gate := &gatedApp{App: app}
	dbs := &dbTracker{}
	comet, err := nm.NewNode(c, pv, nodeKey, &preCheckClients{app: gate},
		nm.DefaultGenesisDocProviderFunc(c), dbs.provider,
		nm.DefaultMetricsProvider(c.Instrumentation), cmtLog)
	if err != nil {
		dbs.closeAll()
		_ = appDB.Close()
		return nil, fmt.Errorf("node: %w", err)
	}
	return &Node{home: home, cfg: c, app: appCfg, log: log.With(zap.String("component", "node")), appDB: appDB, comet: comet, dbs: dbs, gate: gate, ready: make(chan struct{}), stopping: stopping}, nil
}

// homeLocked reports whether err is goleveldb's failure to lock a
// database that another process (or another node in this one) holds open.
func homeLocked(err error) bool {
	return errors.Is(err, syscall.EWOULDBLOCK) || errors.Is(err, syscall.EAGAIN) ||
		strings.Contains(err.Error(), "resource temporarily unavailable")
}

// Home is the node's home directory.
func (n *Node) Home() string { return n.home }

// RPCAddress is the address of the node's CometBFT RPC server as
// config.toml sets it, such as "tcp://127.0.0.1:26657"; clients such as
// rpc/client/http take it as it is. It serves once Run has started.
func (n *Node) RPCAddress() string { return n.cfg.RPC.ListenAddress }

// RPCURL is RPCAddress as an http:// URL, for people and curl.
func (n *Node) RPCURL() string {
	return "http://" + strings.TrimPrefix(n.cfg.RPC.ListenAddress, "tcp://")
}

// Comet is the CometBFT node, for its block store, event bus and local
// RPC client (rpc/client/local). It is safe to use concurrently while Run
// runs; do not start or stop it.
func (n *Node) Comet() *nm.Node { return n.comet }

// Ready is closed once Run has started the node: its RPC server and P2P
// listener accept connections.
func (n *Node) Ready() <-chan struct{} { return n.ready }

// Run starts the node and runs it until ctx is cancelled, then stops it
// (consensus, P2P, RPC), waits for it and closes its databases. A
// cancelled ctx is a clean stop: Run returns nil. Run may be called once.
func (n *Node) Run(ctx context.Context) error {
	err := errors.New("node: Run called twice")
	n.runOnce.Do(func() { err = n.run(ctx) })
	return err
}

func (n *Node) run(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return n.Close()
	}
	if err := n.comet.Start(); err != nil {
		// OnStart failed part way (a port in use, say): release what it
		// opened, since Stop refuses a node that did not start.
		n.comet.OnStop()
		return errors.Join(fmt.Errorf("node: start: %w", err), n.Close())
	}
	close(n.ready)
	n.log.Info("node started", zap.String("home", n.home), zap.String("rpc", n.RPCAddress()),
		zap.String("p2p", n.cfg.P2P.ListenAddress), zap.String("node_id", string(n.comet.NodeInfo().ID())),
		zap.Int64("snapshot_interval", n.app.SnapshotInterval))
	if ss := n.cfg.StateSync; ss.Enable && n.comet.BlockStore().Height() == 0 {
		n.log.Info("state sync: restoring the state from a peer's snapshot, then syncing blocks to the tip",
			zap.Strings("rpc_servers", ss.RPCServers), zap.Int64("trust_height", ss.TrustHeight))
	}
	<-ctx.Done()
	n.gate.closing.Store(true)
	n.stopping.Store(true)
	if err := n.comet.Stop(); err != nil {
		n.log.Warn("stop CometBFT", zap.Error(err))
	}
	n.comet.Wait()
	n.log.Info("node stopped", zap.String("home", n.home))
	return n.Close()
}

// Close releases a node that has not run or has stopped: the ABCI
// connections and every database. Run calls it; calling it again, or
// while Run runs, does nothing useful and must be avoided for the latter.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		if err := n.comet.ProxyApp().Stop(); err != nil {
			n.log.Debug("stop ABCI connections", zap.Error(err))
		}
		if !n.comet.IsRunning() {
			// CometBFT's OnStop closes the block, state and evidence
			// stores but not the indexer's; close whatever is still open.
			n.dbs.closeAll()
		}
		n.gate.App.WaitSnapshot()
		if err := n.appDB.Close(); err != nil {
			n.closeErr = fmt.Errorf("node: close app database: %w", err)
		}
	})
	return n.closeErr
}

// dbTracker is a cmtcfg.DBProvider that remembers what it opened, so that
// Close can close the databases CometBFT leaves open.
type dbTracker struct {
	mu  sync.Mutex
	dbs []trackedDB
}

type trackedDB struct {
	id string
	db dbm.DB
}

func (t *dbTracker) provider(ctx *cmtcfg.DBContext) (dbm.DB, error) {
	raw, err := cmtcfg.DefaultDBProvider(ctx)
	if err != nil {
		return nil, err
	}
	db := &closingDB{DB: raw}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.dbs = append(t.dbs, trackedDB{ctx.ID, db})
	return db, nil
}

// closingDB is one of CometBFT's databases, made safe to read while it is
// being closed: once Close has been called, Get and Has report "not
// found" instead of an error.
//
// This works around CometBFT v0.38 consensus/reactor.go
// queryMaj23Routine, a goroutine per peer that may wake up after the node
// has stopped and closed its block store, read a commit from it and panic
// ("leveldb: closed"), which would take down every node in the process.
// With "not found" it skips the send and exits at its next check.
type closingDB struct {
	dbm.DB
	closed atomic.Bool
}

func (d *closingDB) Get(key []byte) ([]byte, error) {
	if d.closed.Load() {
		return nil, nil
	}
	v, err := d.DB.Get(key)
	if err != nil && d.closed.Load() {
		return nil, nil
	}
	return v, err
}

func (d *closingDB) Has(key []byte) (bool, error) {
	if d.closed.Load() {
		return false, nil
	}
	ok, err := d.DB.Has(key)
	if err != nil && d.closed.Load() {
		return false, nil
	}
	return ok, err
}

// Close closes the database once; later calls do nothing.
func (d *closingDB) Close() error {
	if d.closed.Swap(true) {
		return nil
	}
	return d.DB.Close()
}

// closeAll closes every database opened that is still open.
func (t *dbTracker) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, d := range t.dbs {
		_ = d.db.Close()
	}
	t.dbs = nil
}

// gatedApp is the chain app as CometBFT sees it, plus answers to the peer
// filter queries (/p2p/filter/addr/... and /p2p/filter/id/...) that
// config.FilterPeers turns on: every peer is accepted until the node
// starts stopping, then every peer is refused.
//
// This works around CometBFT v0.38 p2p/switch.go addPeer: a peer that
// connects while the switch is stopping is neither started nor closed
// ("Won't start a peer - switch is not running"), so the other node keeps
// a silent connection to us and, as it already has a peer with our ID,
// refuses us as a duplicate when we come back: a restarted node in the
// same process could not rejoin for minutes. A refused peer is closed.
type gatedApp struct {
	*chain.App
	closing atomic.Bool
}

// p2pFilterPrefix starts the paths of CometBFT's peer filter queries.
const p2pFilterPrefix = "/p2p/filter/"

// Query answers the peer filter queries and passes the rest to the app.
func (g *gatedApp) Query(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	if !strings.HasPrefix(req.Path, p2pFilterPrefix) {
		return g.App.Query(ctx, req)
	}
	if g.closing.Load() {
		return &abci.ResponseQuery{Code: 1, Log: "node is stopping"}, nil
	}
	return &abci.ResponseQuery{}, nil
}
