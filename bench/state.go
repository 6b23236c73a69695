package bench

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/chain"
)

// Defaults of ScaleOptions: the subnet of 4096 neurons with 256
// validators, and blocks of 1000 transfers.
const (
	DefaultNeurons    = 4096
	DefaultValidators = 256
	DefaultBlockTxs   = 1000
	DefaultRounds     = 5
)

// ScaleOptions says what state FinalizeAtScale builds and what it times.
// Zero fields take the defaults.
type ScaleOptions struct {
	// Neurons is the subnet's max_uids and the number of hotkeys
	// registered on it; Validators is its max_validators and the number
	// of hotkeys given stake.
	Neurons, Validators int
	// BlockTxs is the size of the timed blocks of transfers (each from
	// its own sender), and of the setup blocks.
	BlockTxs int
	// Rounds is the number of timed blocks.
	Rounds int
}

func (o *ScaleOptions) fill() error {
	if o.Neurons == 0 {
		o.Neurons = DefaultNeurons
	}
	if o.Validators == 0 {
		o.Validators = DefaultValidators
	}
	if o.BlockTxs == 0 {
		o.BlockTxs = DefaultBlockTxs
	}
	if o.Rounds == 0 {
		o.Rounds = DefaultRounds
	}
	switch {
	case o.Neurons < 1 || o.Neurons > 4096:
		return fmt.Errorf("bench: %d neurons: want 1 to 4096", o.Neurons)
	case o.Validators < 1 || o.Validators > o.Neurons:
		return fmt.Errorf("bench: %d validators: want 1 to the number of neurons (%d)", o.Validators, o.Neurons)
	case o.BlockTxs < 1 || o.Rounds < 1:
		return errors.New("bench: block size and rounds must be at least 1")
	}
	return nil
}

// ScaleResult is FinalizeAtScale's measurement. Times are the median over
// the rounds, in milliseconds; MinTotalMS is the fastest round.
type ScaleResult struct {
	Neurons    int `json:"neurons"`
	Validators int `json:"validators"`
	BlockTxs   int `json:"block_txs"`
	Rounds     int `json:"rounds"`
	// SetupSeconds is how long building the state took (InitChain and
	// the setup blocks through FinalizeBlock and Commit).
	SetupSeconds float64 `json:"setup_seconds"`
	// With the subnet: FinalizeBlock, Commit and both.
	FinalizeMS float64 `json:"finalize_ms"`
	CommitMS   float64 `json:"commit_ms"`
	TotalMS    float64 `json:"total_ms"`
	MinTotalMS float64 `json:"min_total_ms"`
	// WarmTotalMS is FinalizeBlock+Commit of blocks whose transactions
	// went through CheckTx first (not timed), as on a node whose mempool
	// saw them: the app's signature cache may skip re-verifying them.
	// The fields above are cold: every signature is verified in
	// FinalizeBlock, as for a block of transactions the node never saw.
	WarmTotalMS float64 `json:"warm_total_ms"`
	// BaselineTotalMS is the cold figure on a state with only the
	// senders' accounts, no subnet.
	BaselineTotalMS float64 `json:"baseline_total_ms"`
	// EpochMath is false: weights cannot be set yet, so no epoch runs.
	EpochMath bool `json:"epoch_math"`
}

// FinalizeAtScale builds, through the app's ABCI methods on a goleveldb
// database (no CometBFT), a state with a subnet of opts.Neurons
// registered neurons of which opts.Validators hotkeys hold stake, then
// times FinalizeBlock and Commit of blocks of opts.BlockTxs signed
// transfers on top: cold (the app never saw the transactions, so
// FinalizeBlock verifies every signature) and warm (each went through
// CheckTx first, untimed). It times the cold blocks on a state without
// the subnet for comparison. Signing is not timed. There are no weights:
// set_weights is not a transaction yet, so the figure is with the
// metagraph but without epoch math.
func FinalizeAtScale(ctx context.Context, opts ScaleOptions) (*ScaleResult, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	res := &ScaleResult{Neurons: opts.Neurons, Validators: opts.Validators, BlockTxs: opts.BlockTxs, Rounds: opts.Rounds}
	owner := key("owner", 0)
	senders := make([]ed25519.PrivateKey, opts.BlockTxs)
	balances := []chain.GenesisBalance{{Account: pub(owner).String(), Amount: 10_000_000 * chain.Unit}}
	for i := range senders {
		senders[i] = key("finalize", i)
		balances = append(balances, chain.GenesisBalance{Account: pub(senders[i]).String(), Amount: 1_000 * chain.Unit})
	}
	to := pub(key("recipient", 0))
	transfers := func(round int) ([][]byte, error) {
		txs := make([][]byte, len(senders))
		for i, s := range senders {
			tx, err := chain.SignTx(s, ChainID, uint64(round), &chain.Transfer{To: to, Amount: 1})
			if err != nil {
				return nil, err
			}
			txs[i] = tx
		}
		return txs, nil
	}
	blocks := make([][][]byte, 2*opts.Rounds) // cold, then warm
	for r := range blocks {
		var err error
		if blocks[r], err = transfers(r); err != nil {
			return nil, fmt.Errorf("bench: sign: %w", err)
		}
	}

	// The subnet, its neurons and its validators' stake, as transactions.
	p := chain.DefaultHyperparams()
	p.MaxUIDs, p.MaxValidators = uint16(opts.Neurons), uint16(opts.Validators)
	var setup [][]byte
	nonce := uint64(0)
	sign := func(body chain.Body) error {
		tx, err := chain.SignTx(owner, ChainID, nonce, body)
		nonce++
		setup = append(setup, tx)
		return err
	}
	if err := sign(&chain.CreateSubnet{Params: p}); err != nil {
		return nil, fmt.Errorf("bench: sign: %w", err)
	}
	hotkeys := make([]chain.AccountID, opts.Neurons)
	for i := range hotkeys {
		hotkeys[i] = pub(key("hotkey", i))
		if err := sign(&chain.Register{Netuid: 1, Hotkey: hotkeys[i], MaxBurn: p.MaxBurn}); err != nil {
			return nil, fmt.Errorf("bench: sign: %w", err)
		}
	}
	for i := range opts.Validators {
		if err := sign(&chain.AddStake{Hotkey: hotkeys[i], Amount: uint64(1000+i) * chain.Unit}); err != nil {
			return nil, fmt.Errorf("bench: sign: %w", err)
		}
	}

	var setupBlocks [][][]byte
	for len(setup) > 0 {
		n := min(len(setup), opts.BlockTxs)
		setupBlocks, setup = append(setupBlocks, setup[:n]), setup[n:]
	}
	start := time.Now()
	big, err := newScaleApp(ctx, balances, setupBlocks)
	if err != nil {
		return nil, err
	}
	defer big.close()
	res.SetupSeconds = seconds(time.Since(start))
	if sn, ok := big.app.State().Subnet(1); !ok || int(sn.N) != opts.Neurons {
		return nil, fmt.Errorf("bench: setup registered %d neurons, want %d", sn.N, opts.Neurons)
	}
	var fin, com, tot, warm []time.Duration
	for _, txs := range blocks[:opts.Rounds] {
		f, c, err := big.timeBlock(ctx, txs)
		if err != nil {
			return nil, err
		}
		fin, com, tot = append(fin, f), append(com, c), append(tot, f+c)
	}
	res.FinalizeMS, res.CommitMS, res.TotalMS = ms(median(fin)), ms(median(com)), ms(median(tot))
	res.MinTotalMS = ms(slices.Min(tot))
	for _, txs := range blocks[opts.Rounds:] {
		for i, tx := range txs {
			r, err := big.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx, Type: abci.CheckTxType_New})
			if err != nil || r.Code != 0 {
				return nil, fmt.Errorf("bench: check transaction %d: %v %v", i, r, err)
			}
		}
		f, c, err := big.timeBlock(ctx, txs)
		if err != nil {
			return nil, err
		}
		warm = append(warm, f+c)
	}
	res.WarmTotalMS = ms(median(warm))

	small, err := newScaleApp(ctx, balances, nil)
	if err != nil {
		return nil, err
	}
	defer small.close()
	var base []time.Duration
	for _, txs := range blocks[:opts.Rounds] {
		f, c, err := small.timeBlock(ctx, txs)
		if err != nil {
			return nil, err
		}
		base = append(base, f+c)
	}
	res.BaselineTotalMS = ms(median(base))
	return res, nil
}

func pub(priv ed25519.PrivateKey) chain.AccountID {
	var id chain.AccountID
	copy(id[:], priv.Public().(ed25519.PublicKey))
	return id
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// scaleApp is a chain.App on a temporary goleveldb database, driven
// directly through its ABCI methods.
type scaleApp struct {
	app    *chain.App
	db     dbm.DB
	dir    string
	height int64
	time   time.Time
}

// newScaleApp starts an app from genesis and runs the blocks on it; every
// transaction must succeed.
func newScaleApp(ctx context.Context, balances []chain.GenesisBalance, blocks [][][]byte) (_ *scaleApp, err error) {
	dir, err := os.MkdirTemp("", "agora-bench-state-")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	a := &scaleApp{dir: dir, time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	if a.db, err = dbm.NewGoLevelDB("app", dir); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if a.app, err = chain.NewApp(a.db, zap.NewNop()); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	gs, err := json.Marshal(chain.GenesisState{Fees: chain.DefaultFees(), Balances: balances})
	if err != nil {
		return nil, err
	}
	if _, err := a.app.InitChain(ctx, &abci.RequestInitChain{ChainId: ChainID, InitialHeight: 1, AppStateBytes: gs, Time: a.time}); err != nil {
		return nil, fmt.Errorf("bench: init chain: %w", err)
	}
	for _, txs := range blocks {
		if _, _, err := a.timeBlock(ctx, txs); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// timeBlock runs one block and returns how long FinalizeBlock and Commit
// took. Every transaction must succeed.
func (a *scaleApp) timeBlock(ctx context.Context, txs [][]byte) (finalize, commit time.Duration, err error) {
	a.height++
	a.time = a.time.Add(time.Second)
	start := time.Now()
	resp, err := a.app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: a.height, Time: a.time, Txs: txs})
	if err != nil {
		return 0, 0, fmt.Errorf("bench: finalize block %d: %w", a.height, err)
	}
	mid := time.Now()
	if _, err := a.app.Commit(ctx, &abci.RequestCommit{}); err != nil {
		return 0, 0, fmt.Errorf("bench: commit block %d: %w", a.height, err)
	}
	end := time.Now()
	for i, r := range resp.TxResults {
		if r.Code != 0 {
			return 0, 0, fmt.Errorf("bench: block %d: transaction %d failed: code %d: %s", a.height, i, r.Code, r.Log)
		}
	}
	return mid.Sub(start), end.Sub(mid), nil
}

func (a *scaleApp) close() {
	if a.db != nil {
		_ = a.db.Close()
	}
	_ = os.RemoveAll(a.dir)
}
