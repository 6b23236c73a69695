package bench

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"sync"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/cometbft/cometbft/abci/example/kvstore"
	cmtcfg "github.com/cometbft/cometbft/config"
	cmtflags "github.com/cometbft/cometbft/libs/cli/flags"
	nm "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	voied "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/internal/cputime"
	"github.com/seed0ffb8d46/agora/node"
)

// ChainID is the chain id of the benchmark chains.
const ChainID = "agora-bench"

// Defaults of ChainOptions.
const (
	DefaultTxs           = 40_000
	DefaultSenders       = 200
	DefaultWorkers       = 8
	DefaultDuration      = 2 * time.Minute
	DefaultTimeoutCommit = 100 * time.Millisecond
)

// ChainOptions says how to load the chains. Zero fields take the defaults.
type ChainOptions struct {
	// Txs is the number of transactions sent to each app.
	Txs int
	// Senders is the number of Agora accounts signing them, each with
	// consecutive nonces from 0; the kvstore load is split the same way.
	Senders int
	// Workers is the number of concurrent broadcast_tx_sync callers, each
	// with its own HTTP connection; at most Senders.
	Workers int
	// Duration bounds each app's run, from the first broadcast until its
	// mempool is empty. When it runs out the bench stops sending and
	// measures what was committed by then (LoadResult.TimedOut).
	Duration time.Duration
	// TimeoutCommit is consensus.timeout_commit of both apps.
	TimeoutCommit time.Duration
	// Log receives the nodes' logs (CometBFT's at error level only).
	Log *zap.Logger
	// Profile, if set, receives a CPU profile (pprof) of the whole
	// process during the Agora run: load and drain, not setup.
	Profile io.Writer
	// Progress, if set, is told what the bench is doing.
	Progress func(msg string)
}

func (o *ChainOptions) fill() error {
	if o.Txs == 0 {
		o.Txs = DefaultTxs
	}
	if o.Senders == 0 {
		o.Senders = DefaultSenders
	}
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.TimeoutCommit == 0 {
		o.TimeoutCommit = DefaultTimeoutCommit
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	switch {
	case o.Txs < 1:
		return fmt.Errorf("bench: %d transactions: want at least 1", o.Txs)
	case o.Senders < 1 || o.Senders > o.Txs:
		return fmt.Errorf("bench: %d senders: want 1 to the number of transactions (%d)", o.Senders, o.Txs)
	case o.Workers < 1:
		return fmt.Errorf("bench: %d workers: want at least 1", o.Workers)
	case o.Duration < 0 || o.TimeoutCommit < 0:
		return errors.New("bench: negative duration")
	}
	o.Workers = min(o.Workers, o.Senders)
	return nil
}

// ChainResult is what Chain measured.
type ChainResult struct {
	Txs      int         `json:"txs"`
	Senders  int         `json:"senders"`
	Workers  int         `json:"workers"`
	TxBytes  int         `json:"tx_bytes"`
	Settings Settings    `json:"settings"`
	Agora    *LoadResult `json:"agora"`
	KVStore  *LoadResult `json:"kvstore"`
	// Ratio is Agora's committed tx/s over the kvstore's (header time);
	// WallRatio the same with wall-clock rates.
	Ratio     float64 `json:"ratio"`
	WallRatio float64 `json:"wall_ratio"`
	// CPURatio is the kvstore's CPUMicrosPerTx over Agora's: what Ratio
	// would be if both runs were bound by this process's CPU alone.
	CPURatio float64 `json:"cpu_ratio"`
	// VerifyMicros is one transfer's signature check as the app makes it
	// (ZIP-215, the signers' keys expanded and cached, the load's signers
	// in turn), in microseconds: the fastest of a few rounds, so the least
	// disturbed by other work.
	// VerifyBoundRatio is what CPURatio would be if Agora did exactly the
	// kvstore's work plus that check per transaction: a bound on CPURatio
	// for any app that verifies one ed25519 signature per transaction.
	VerifyMicros     float64 `json:"verify_us"`
	VerifyBoundRatio float64 `json:"verify_bound_ratio"`
}

// LoadResult is one app's run.
//
// TxPerSec is Committed over HeaderSeconds: the time from the header of
// FirstHeight to the header of the block after LastHeight. With one
// validator a header's time is the validator's precommit time for the
// block before, so that span is the time from the block before the load
// being decided to the last load block being decided: the time the chain
// took to order and execute the load, taken from the chain itself.
// WallTxPerSec is Committed over WallSeconds: from the first broadcast
// until all broadcasts were answered and the mempool was seen empty
// (polled every 10 ms), which adds the ramp-up and the last block's commit.
type LoadResult struct {
	App string `json:"app"`
	// Sent is the number of broadcasts the node answered; Accepted of
	// them had CheckTx code 0. Rejected is the rest, plus RPC errors.
	Sent     int `json:"sent"`
	Accepted int `json:"accepted"`
	Rejected int `json:"rejected"`
	// Committed are the transactions with code 0 in blocks; Failed those
	// with another code.
	Committed int `json:"committed"`
	Failed    int `json:"failed"`
	// FirstHeight and LastHeight are the first and last blocks with load;
	// Blocks counts the blocks between them, both included, and
	// MaxBlockTxs is the largest of them.
	FirstHeight   int64   `json:"first_height"`
	LastHeight    int64   `json:"last_height"`
	Blocks        int     `json:"blocks"`
	MaxBlockTxs   int     `json:"max_block_txs"`
	HeaderSeconds float64 `json:"header_seconds"`
	TxPerSec      float64 `json:"tx_per_sec"`
	WallSeconds   float64 `json:"wall_seconds"`
	WallTxPerSec  float64 `json:"wall_tx_per_sec"`
	// SendSeconds is how long the broadcasts took, first to last answer.
	SendSeconds float64 `json:"send_seconds"`
	// CPUSeconds is the CPU time (user and system) the whole process
	// used over WallSeconds: the node and the load generator. Other
	// programs on the machine slow the wall-clock rates down but barely
	// change it, so CPUMicrosPerTx, CPUSeconds per committed
	// transaction in microseconds, compares runs on a busy machine.
	// Both are 0 where the system does not report CPU time.
	CPUSeconds     float64 `json:"cpu_seconds"`
	CPUMicrosPerTx float64 `json:"cpu_us_per_tx"`
	TimedOut       bool    `json:"timed_out"`
	// FirstRejection is the first CheckTx log or RPC error, if any.
	FirstRejection string `json:"first_rejection,omitempty"`
}

// Chain runs the throughput comparison: the same number of same-sized
// transactions into a single-node Agora chain and into a single-node
// chain of CometBFT's kvstore example app, one after the other.
func Chain(ctx context.Context, opts ChainOptions) (*ChainResult, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	progress := func(format string, args ...any) {
		if opts.Progress != nil {
			opts.Progress(fmt.Sprintf(format, args...))
		}
	}
	privs := make([]ed25519.PrivateKey, opts.Senders)
	ids := make([]chain.AccountID, opts.Senders)
	balances := make([]chain.GenesisBalance, opts.Senders)
	for i := range privs {
		privs[i] = key("sender", i)
		copy(ids[i][:], privs[i].Public().(ed25519.PublicKey))
		balances[i] = chain.GenesisBalance{Account: ids[i].String(), Amount: 1_000_000 * chain.Unit}
	}
	progress("signing %d transfers from %d senders", opts.Txs, opts.Senders)
	agoraTxs := make([][][]byte, opts.Senders)
	kvTxs := make([][][]byte, opts.Senders)
	txBytes := 0
	for s := range opts.Senders {
		n := opts.Txs / opts.Senders
		if s < opts.Txs%opts.Senders {
			n++
		}
		agoraTxs[s], kvTxs[s] = make([][]byte, n), make([][]byte, n)
		for nonce := range n {
			tx, err := chain.SignTx(privs[s], ChainID, uint64(nonce), &chain.Transfer{To: ids[(s+1)%opts.Senders], Amount: 1})
			if err != nil {
				return nil, fmt.Errorf("bench: sign: %w", err)
			}
			agoraTxs[s][nonce] = tx
			txBytes = len(tx)
			kvTxs[s][nonce] = kvTx(s, nonce, len(tx))
		}
	}
	res := &ChainResult{Txs: opts.Txs, Senders: opts.Senders, Workers: opts.Workers, TxBytes: txBytes,
		Settings: settingsFor(opts.Txs, opts.TimeoutCommit)}
	var err error
	progress("agora: %d transactions, %d workers", opts.Txs, opts.Workers)
	if res.Agora, err = runLoad(ctx, "agora", agoraTxs, balances, res.Settings, opts); err != nil {
		return nil, err
	}
	progress("kvstore: %d transactions, %d workers", opts.Txs, opts.Workers)
	if res.KVStore, err = runLoad(ctx, "kvstore", kvTxs, balances, res.Settings, opts); err != nil {
		return nil, err
	}
	if res.KVStore.TxPerSec > 0 {
		res.Ratio = res.Agora.TxPerSec / res.KVStore.TxPerSec
	}
	if res.KVStore.WallTxPerSec > 0 {
		res.WallRatio = res.Agora.WallTxPerSec / res.KVStore.WallTxPerSec
	}
	if res.Agora.CPUMicrosPerTx > 0 {
		res.CPURatio = res.KVStore.CPUMicrosPerTx / res.Agora.CPUMicrosPerTx
	}
	if res.VerifyMicros, err = verifyMicros(privs); err != nil {
		return nil, err
	}
	if kv := res.KVStore.CPUMicrosPerTx; kv > 0 {
		res.VerifyBoundRatio = kv / (kv + res.VerifyMicros)
	}
	return res, nil
}

// verifyMicros times the signature checks of transfers signed by privs,
// made as the app makes them (ZIP-215, each signer's key expanded once and
// kept), taking the signers in turn as the load does, so that their keys
// compete for the cache as they do in the node. It returns the fastest of
// 5 rounds, in microseconds per check.
func verifyMicros(privs []ed25519.PrivateKey) (float64, error) {
	type check struct {
		key      *voied.ExpandedPublicKey
		msg, sig []byte
	}
	checks := make([]check, len(privs))
	for i, priv := range privs {
		raw, err := chain.SignTx(priv, ChainID, 0, &chain.Transfer{To: chain.AccountID{1}, Amount: 1})
		if err != nil {
			return 0, fmt.Errorf("bench: sign: %w", err)
		}
		key, err := voied.NewExpandedPublicKey(voied.PublicKey(priv.Public().(ed25519.PublicKey)))
		if err != nil {
			return 0, fmt.Errorf("bench: %w", err)
		}
		checks[i] = check{key, chain.SignedMessage(raw), raw[len(raw)-ed25519.SignatureSize:]}
	}
	opts := &voied.Options{Verify: voied.VerifyOptionsZIP_215}
	best := time.Duration(math.MaxInt64)
	n := max(500, len(checks))
	for range 5 {
		start := time.Now()
		for i := range n {
			c := &checks[i%len(checks)]
			if !voied.VerifyExpandedWithOptions(c.key, c.msg, c.sig, opts) {
				return 0, errors.New("bench: a transfer's signature does not verify")
			}
		}
		best = min(best, time.Since(start))
	}
	return float64(best.Nanoseconds()) / float64(n) / 1000, nil
}

// kvTx is a kvstore transaction "key=value" of exactly size bytes (at
// least 16), unique per sender and nonce: the value is padding.
func kvTx(sender, nonce, size int) []byte {
	tx := fmt.Appendf(nil, "s%d-n%d=", sender, nonce)
	for len(tx) < size {
		tx = append(tx, 'x')
	}
	return tx
}

// runLoad runs one app on a fresh home, sends it txs and measures.
func runLoad(ctx context.Context, app string, txs [][][]byte, balances []chain.GenesisBalance, set Settings, opts ChainOptions) (_ *LoadResult, err error) {
	dir, err := os.MkdirTemp("", "agora-bench-"+app+"-")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	home := filepath.Join(dir, "home")
	ports, err := node.FreePorts(2)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	hostPort := func(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }
	if err := node.Init(home, node.InitOptions{
		ChainID: ChainID, Balances: balances, Moniker: "bench-" + app,
		P2PAddress: hostPort(ports[0]), RPCAddress: hostPort(ports[1]),
		BlockTime: set.TimeoutCommit, Configure: set.apply,
	}); err != nil {
		return nil, fmt.Errorf("bench: %s: %w", app, err)
	}
	log := opts.Log.With(zap.String("bench", app))
	stop, err := startNode(app, home, log)
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", app, err)
	}
	defer func() {
		if serr := stop(); serr != nil && err == nil {
			err = fmt.Errorf("bench: %s: stop: %w", app, serr)
		}
	}()
	addr := "tcp://" + hostPort(ports[1])
	rpc, err := rpchttp.New(addr, "/websocket")
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", app, err)
	}
	// Start from a running chain: InitChain done, one block made.
	h0, err := waitHeight(ctx, rpc, 1, 30*time.Second)
	if err != nil {
		return nil, fmt.Errorf("bench: %s: node did not make a block: %w", app, err)
	}
	res := &LoadResult{App: app}
	loadCtx, cancel := context.WithTimeout(ctx, opts.Duration)
	defer cancel()
	if opts.Profile != nil && app == "agora" {
		if err := pprof.StartCPUProfile(opts.Profile); err != nil {
			return nil, fmt.Errorf("bench: cpu profile: %w", err)
		}
	}
	start, cpuStart := time.Now(), cputime.Process()
	drive(loadCtx, addr, txs, opts.Workers, res)
	res.SendSeconds = seconds(time.Since(start))
	end, drained := drain(loadCtx, rpc)
	cpu := cputime.Process() - cpuStart
	if opts.Profile != nil && app == "agora" {
		pprof.StopCPUProfile()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.TimedOut = !drained
	res.WallSeconds = seconds(end.Sub(start))
	if err := scan(ctx, rpc, h0, res); err != nil {
		return nil, fmt.Errorf("bench: %s: %w", app, err)
	}
	if res.WallSeconds > 0 {
		res.WallTxPerSec = float64(res.Committed) / res.WallSeconds
	}
	res.CPUSeconds = seconds(cpu)
	if res.Committed > 0 {
		res.CPUMicrosPerTx = float64(cpu.Microseconds()) / float64(res.Committed)
	}
	return res, nil
}

// startNode starts app's node on home in this process and returns how to
// stop it.
func startNode(app, home string, log *zap.Logger) (func() error, error) {
	if app == "agora" {
		n, err := node.New(home, log)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- n.Run(ctx) }()
		select {
		case <-n.Ready():
		case err := <-done:
			cancel()
			return nil, err
		}
		return func() error { cancel(); return <-done }, nil
	}
	return startKVStore(home, log)
}

// startKVStore runs CometBFT's kvstore example app as node.New runs
// Agora's: the same config.toml, keys, genesis and logger, a goleveldb
// database under data/ and a local client.
func startKVStore(home string, log *zap.Logger) (func() error, error) {
	c, err := node.LoadConfig(home)
	if err != nil {
		return nil, err
	}
	nodeKey, err := p2p.LoadNodeKey(c.NodeKeyFile())
	if err != nil {
		return nil, err
	}
	pv := privval.LoadFilePV(c.PrivValidatorKeyFile(), c.PrivValidatorStateFile())
	cmtLog, err := cmtflags.ParseLogLevel(c.LogLevel, node.NewCometLogger(log), cmtcfg.DefaultLogLevel)
	if err != nil {
		return nil, err
	}
	db, err := dbm.NewDB("kvstore", dbm.GoLevelDBBackend, c.DBDir())
	if err != nil {
		return nil, err
	}
	n, err := nm.NewNode(c, pv, nodeKey, proxy.NewLocalClientCreator(kvstore.NewApplication(db)),
		nm.DefaultGenesisDocProviderFunc(c), cmtcfg.DefaultDBProvider,
		nm.DefaultMetricsProvider(c.Instrumentation), cmtLog)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := n.Start(); err != nil {
		n.OnStop()
		_ = n.ProxyApp().Stop()
		_ = db.Close()
		return nil, err
	}
	return func() error {
		err := n.Stop()
		n.Wait()
		_ = n.ProxyApp().Stop()
		return errors.Join(err, db.Close())
	}, nil
}

// drive sends every transaction with workers concurrent callers. Worker w
// owns the senders s with s%workers == w and sends their transactions
// round-robin by nonce, so each sender's arrive in nonce order. It stops
// early when ctx is done.
func drive(ctx context.Context, addr string, txs [][][]byte, workers int, res *LoadResult) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var sent, accepted, rejected int
			var first string
			defer func() {
				mu.Lock()
				defer mu.Unlock()
				res.Sent += sent
				res.Accepted += accepted
				res.Rejected += rejected
				if res.FirstRejection == "" {
					res.FirstRejection = first
				}
			}()
			c, err := chainclient.New(addr)
			if err != nil {
				first = err.Error()
				return
			}
			defer c.Close()
			var mine [][][]byte
			rounds := 0
			for s := w; s < len(txs); s += workers {
				mine = append(mine, txs[s])
				rounds = max(rounds, len(txs[s]))
			}
			for n := range rounds {
				for _, stx := range mine {
					if n >= len(stx) {
						continue
					}
					r, err := c.Broadcast(ctx, stx[n])
					switch {
					case ctx.Err() != nil:
						return
					case err != nil:
						rejected++
						if first == "" {
							first = err.Error()
						}
					case r.Code != 0:
						sent++
						rejected++
						if first == "" {
							first = fmt.Sprintf("code %d: %s", r.Code, r.Log)
						}
					default:
						sent++
						accepted++
					}
				}
			}
		})
	}
	wg.Wait()
}

// drain waits until the node's mempool is empty, polling every 10 ms, and
// returns when it saw it so; false if ctx ran out first.
func drain(ctx context.Context, rpc *rpchttp.HTTP) (time.Time, bool) {
	for {
		r, err := rpc.NumUnconfirmedTxs(ctx)
		if err == nil && r.Total == 0 {
			return time.Now(), true
		}
		select {
		case <-ctx.Done():
			return time.Now(), false
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// waitHeight waits until the chain's last block is at least h and
// returns its height.
func waitHeight(ctx context.Context, rpc *rpchttp.HTTP, h int64, timeout time.Duration) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		st, err := rpc.Status(ctx)
		if err == nil && st.SyncInfo.LatestBlockHeight >= h {
			return st.SyncInfo.LatestBlockHeight, nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = ctx.Err()
			}
			return 0, err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// scan reads the results of the blocks after h0 and fills in the
// committed counts and rates.
func scan(ctx context.Context, rpc *rpchttp.HTTP, h0 int64, res *LoadResult) error {
	latest, err := waitHeight(ctx, rpc, h0, 10*time.Second)
	if err != nil {
		return err
	}
	for h := h0 + 1; h <= latest; h++ {
		br, err := rpc.BlockResults(ctx, &h)
		if err != nil {
			return fmt.Errorf("block results %d: %w", h, err)
		}
		if len(br.TxsResults) == 0 {
			continue
		}
		if res.FirstHeight == 0 {
			res.FirstHeight = h
		}
		res.LastHeight = h
		res.MaxBlockTxs = max(res.MaxBlockTxs, len(br.TxsResults))
		for _, r := range br.TxsResults {
			if r.Code == 0 {
				res.Committed++
			} else {
				res.Failed++
			}
		}
	}
	if res.FirstHeight == 0 {
		return nil
	}
	res.Blocks = int(res.LastHeight - res.FirstHeight + 1)
	// The block after the last one carries its decision time.
	if _, err := waitHeight(ctx, rpc, res.LastHeight+1, 10*time.Second); err != nil {
		return fmt.Errorf("wait for block %d: %w", res.LastHeight+1, err)
	}
	first, err := rpc.Header(ctx, &res.FirstHeight)
	if err != nil {
		return fmt.Errorf("header %d: %w", res.FirstHeight, err)
	}
	after := res.LastHeight + 1
	last, err := rpc.Header(ctx, &after)
	if err != nil {
		return fmt.Errorf("header %d: %w", after, err)
	}
	span := last.Header.Time.Sub(first.Header.Time)
	res.HeaderSeconds = seconds(span)
	if span > 0 {
		res.TxPerSec = float64(res.Committed) / span.Seconds()
	}
	return nil
}
