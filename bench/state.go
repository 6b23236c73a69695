package bench

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/consensus"
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
// the rounds, in milliseconds; Min fields are the fastest round.
type ScaleResult struct {
	Neurons    int `json:"neurons"`
	Validators int `json:"validators"`
	BlockTxs   int `json:"block_txs"`
	Rounds     int `json:"rounds"`
	// Tempo is the subnet's tempo, chosen so that no epoch fires in the
	// timed transfer blocks (see FinalizeAtScale).
	Tempo uint64 `json:"tempo"`
	// WeightsPerValidator is the length of each validator's weights row:
	// every miner (every neuron if there are no miners).
	WeightsPerValidator int `json:"weights_per_validator"`
	// SetupSeconds is how long building the state took (InitChain, the
	// setup blocks and their epochs through FinalizeBlock and Commit);
	// SetupBlocks is how many blocks that was.
	SetupSeconds float64 `json:"setup_seconds"`
	SetupBlocks  int     `json:"setup_blocks"`
	// With the subnet and its weights, in blocks where no epoch fires:
	// FinalizeBlock, Commit and both.
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
	// The epoch block: the block at which the subnet's tempo elapses,
	// holding BlockTxs cold transfers like the blocks above, so that its
	// FinalizeBlock runs the transfers, then the epoch and its payouts.
	EpochFinalizeMS float64 `json:"epoch_finalize_ms"`
	EpochCommitMS   float64 `json:"epoch_commit_ms"`
	EpochTotalMS    float64 `json:"epoch_total_ms"`
	EpochMinTotalMS float64 `json:"epoch_min_total_ms"`
	// EpochExtraMS is EpochTotalMS − TotalMS: what the epoch adds to a
	// block of transfers.
	EpochExtraMS float64 `json:"epoch_extra_ms"`
	// ConsensusEpochMS is consensus.Epoch alone on the epoch block's
	// input, from chain.State.EpochInput before the block (and
	// checked against what the block's epoch stored).
	ConsensusEpochMS float64 `json:"consensus_epoch_ms"`
	// EpochRatio is EpochExtraMS / ConsensusEpochMS: the chain's cost of
	// an epoch (the math, the payouts, staging and committing the changed
	// records) over the math alone.
	EpochRatio float64 `json:"epoch_ratio"`
}

// FinalizeAtScale builds, through the app's ABCI methods on a goleveldb
// database (no CometBFT), a state with a subnet of opts.Neurons
// registered neurons (each hotkey registered by its own coldkey) of which
// opts.Validators hotkeys hold stake (from their coldkey and from a
// nominator), and in which every validator has set weights over every
// miner with a signed set_weights. Then it times FinalizeBlock and Commit
// of blocks of opts.BlockTxs signed transfers on top, in which no epoch
// fires: cold (the app never saw the transactions, so FinalizeBlock
// verifies every signature) and warm (each went through CheckTx first,
// untimed); then of epoch blocks, which hold as many cold transfers and
// at which the subnet's tempo elapses, and of consensus.Epoch alone on
// each epoch's input. It times the cold blocks on a state without the
// subnet for comparison. Signing is not timed.
//
// A validator may weight other uids only once an epoch has given it a
// permit, so setup runs two epochs, untimed: one after the stakes (the
// permits) and one after the weights (the bonds, so that the timed epochs
// see a warm state as on a running chain). The tempo is the least that
// fits the setup blocks, the weights blocks and the 2·Rounds timed
// transfer blocks between consecutive epochs; empty blocks fill each
// tempo's remaining blocks (untimed).
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
	blocks := make([][][]byte, 3*opts.Rounds) // cold, warm, then epoch blocks
	for r := range blocks {
		var err error
		if blocks[r], err = transfers(r); err != nil {
			return nil, fmt.Errorf("bench: sign: %w", err)
		}
	}
	cold, warm, epochs := blocks[:opts.Rounds], blocks[opts.Rounds:2*opts.Rounds], blocks[2*opts.Rounds:]

	// The subnet, its neurons and its validators' stake, as transactions.
	p := chain.DefaultHyperparams()
	p.MaxUIDs, p.MaxValidators = uint16(opts.Neurons), uint16(opts.Validators)
	p.TargetRegistrations = uint16(opts.Neurons) // every neuron registers at once
	var setup [][]byte
	signer := func(priv ed25519.PrivateKey, nonce uint64, body chain.Body) error {
		tx, err := chain.SignTx(priv, ChainID, nonce, body)
		if err != nil {
			return fmt.Errorf("bench: sign: %w", err)
		}
		setup = append(setup, tx)
		return nil
	}
	if err := signer(owner, 0, &chain.CreateSubnet{Params: p}); err != nil {
		return nil, err
	}
	hotkeys := make([]ed25519.PrivateKey, opts.Neurons)
	coldkeys := make([]ed25519.PrivateKey, opts.Neurons)
	for i := range hotkeys {
		hotkeys[i], coldkeys[i] = key("hotkey", i), key("coldkey", i)
		amount := uint64(200 * chain.Unit) // the registration burn is at most 100 AGR
		if i < opts.Validators {
			amount = 3_000 * chain.Unit
		}
		balances = append(balances, chain.GenesisBalance{Account: pub(coldkeys[i]).String(), Amount: amount})
		reg, err := chain.NewRegister(ChainID, 1, hotkeys[i], pub(coldkeys[i]), p.MaxBurn)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		if err := signer(coldkeys[i], 0, reg); err != nil {
			return nil, err
		}
	}
	for i := range opts.Validators {
		if err := signer(coldkeys[i], 1, &chain.AddStake{Hotkey: pub(hotkeys[i]), Amount: uint64(1000+i) * chain.Unit}); err != nil {
			return nil, err
		}
		if err := signer(owner, uint64(1+i), &chain.AddStake{Hotkey: pub(hotkeys[i]), Amount: 100 * chain.Unit}); err != nil {
			return nil, err
		}
	}
	setupBlocks := chunk(setup, opts.BlockTxs)

	// Every validator's weights over every miner (uids Validators to
	// Neurons−1; every uid if there are none), random but repeatable.
	targets := make([]uint16, 0, opts.Neurons)
	for uid := opts.Validators; uid < opts.Neurons; uid++ {
		targets = append(targets, uint16(uid))
	}
	if len(targets) == 0 {
		for uid := range opts.Neurons {
			targets = append(targets, uint16(uid))
		}
	}
	res.WeightsPerValidator = len(targets)
	var weightTxs [][]byte
	for i := range opts.Validators {
		rng := rand.New(rand.NewPCG(uint64(i), 0xa60a))
		values := make([]uint16, len(targets))
		for j := range values {
			values[j] = uint16(1 + rng.IntN(65535))
		}
		tx, err := chain.SignTx(hotkeys[i], ChainID, 0, &chain.SetWeights{Netuid: 1, UIDs: targets, Values: values})
		if err != nil {
			return nil, fmt.Errorf("bench: sign: %w", err)
		}
		weightTxs = append(weightTxs, tx)
	}
	weightBlocks := chunk(weightTxs, opts.BlockTxs)

	// The subnet is created in block 1, so its epochs fire at 1 + k·tempo
	// while nothing changes the tempo: the first after the setup blocks,
	// the second after the weights blocks, the third after the timed
	// transfer blocks.
	tempo := max(len(setupBlocks), len(weightBlocks)+1, 2*opts.Rounds+1)
	p.Tempo = uint64(tempo)
	res.Tempo = p.Tempo
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("bench: %d rounds need tempo %d: %w", opts.Rounds, tempo, err)
	}
	// Re-sign the creation with the tempo now known.
	var err error
	if setupBlocks[0][0], err = chain.SignTx(owner, ChainID, 0, &chain.CreateSubnet{Params: p}); err != nil {
		return nil, fmt.Errorf("bench: sign: %w", err)
	}

	start := time.Now()
	big, err := newScaleApp(ctx, balances)
	if err != nil {
		return nil, err
	}
	defer big.close()
	for _, txs := range setupBlocks {
		if err := big.run(ctx, txs, 0); err != nil {
			return nil, err
		}
	}
	if sn, ok := big.app.State().Subnet(1); !ok || int(sn.N) != opts.Neurons {
		return nil, fmt.Errorf("bench: setup registered %d neurons, want %d", sn.N, opts.Neurons)
	}
	if err := big.untilEpoch(ctx); err != nil { // the permits
		return nil, err
	}
	for uid := range opts.Validators {
		if n, _ := big.app.State().Neuron(1, uint16(uid)); !n.Permit {
			return nil, fmt.Errorf("bench: validator uid %d has no permit after the first epoch", uid)
		}
	}
	for _, txs := range weightBlocks {
		if err := big.run(ctx, txs, 0); err != nil {
			return nil, err
		}
	}
	if err := big.untilEpoch(ctx); err != nil { // the bonds
		return nil, err
	}
	for uid := range opts.Validators {
		if n, _ := big.app.State().Neuron(1, uint16(uid)); len(n.Weights) != len(targets) || len(n.Bonds) == 0 {
			return nil, fmt.Errorf("bench: validator uid %d has %d weights and %d bonds after setup, want %d and some",
				uid, len(n.Weights), len(n.Bonds), len(targets))
		}
	}
	res.SetupSeconds = seconds(time.Since(start))
	res.SetupBlocks = int(big.height)

	var fin, com, tot, wrm []time.Duration
	for _, txs := range cold {
		f, c, err := big.timeBlock(ctx, txs, 0)
		if err != nil {
			return nil, err
		}
		fin, com, tot = append(fin, f), append(com, c), append(tot, f+c)
	}
	res.FinalizeMS, res.CommitMS, res.TotalMS = ms(median(fin)), ms(median(com)), ms(median(tot))
	res.MinTotalMS = ms(slices.Min(tot))
	for _, txs := range warm {
		for i, tx := range txs {
			r, err := big.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx, Type: abci.CheckTxType_New})
			if err != nil || r.Code != 0 {
				return nil, fmt.Errorf("bench: check transaction %d: %v %v", i, r, err)
			}
		}
		f, c, err := big.timeBlock(ctx, txs, 0)
		if err != nil {
			return nil, err
		}
		wrm = append(wrm, f+c)
	}
	res.WarmTotalMS = ms(median(wrm))

	var efin, ecom, etot, cons []time.Duration
	for _, txs := range epochs {
		sn, _ := big.app.State().Subnet(1)
		h := sn.LastEpoch + sn.Params.Tempo
		for uint64(big.height)+1 < h {
			if err := big.run(ctx, nil, 0); err != nil {
				return nil, err
			}
		}
		in, err := big.app.State().EpochInput(1, h)
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		out, err := consensus.Epoch(in)
		cons = append(cons, time.Since(t0))
		if err != nil {
			return nil, fmt.Errorf("bench: consensus.Epoch: %w", err)
		}
		f, c, err := big.timeBlock(ctx, txs, 1)
		if err != nil {
			return nil, err
		}
		efin, ecom, etot = append(efin, f), append(ecom, c), append(etot, f+c)
		if err := sameOutputs(big.app.State(), 1, out); err != nil {
			return nil, err
		}
	}
	res.EpochFinalizeMS, res.EpochCommitMS, res.EpochTotalMS = ms(median(efin)), ms(median(ecom)), ms(median(etot))
	res.EpochMinTotalMS = ms(slices.Min(etot))
	res.ConsensusEpochMS = ms(median(cons))
	res.EpochExtraMS = res.EpochTotalMS - res.TotalMS
	if res.ConsensusEpochMS > 0 {
		res.EpochRatio = res.EpochExtraMS / res.ConsensusEpochMS
	}

	small, err := newScaleApp(ctx, balances[:1+len(senders)])
	if err != nil {
		return nil, err
	}
	defer small.close()
	var base []time.Duration
	for _, txs := range cold {
		f, c, err := small.timeBlock(ctx, txs, 0)
		if err != nil {
			return nil, err
		}
		base = append(base, f+c)
	}
	res.BaselineTotalMS = ms(median(base))
	return res, nil
}

// chunk splits txs into blocks of at most n.
func chunk(txs [][]byte, n int) [][][]byte {
	var blocks [][][]byte
	for len(txs) > 0 {
		k := min(len(txs), n)
		blocks, txs = append(blocks, txs[:k]), txs[k:]
	}
	return blocks
}

// sameOutputs checks that the epoch netuid just ran stored out: that
// EpochInput gave the chain's input.
func sameOutputs(s *chain.State, netuid uint16, out *consensus.Output) error {
	for uid := range out.Emission {
		n, _ := s.Neuron(netuid, uint16(uid))
		if n.Consensus != out.Consensus[uid] || n.Incentive != out.Incentive[uid] || n.Dividends != out.Dividends[uid] ||
			n.ValidatorTrust != out.ValidatorTrust[uid] || n.Emission != out.Emission[uid] ||
			n.Permit != out.ValidatorPermits[uid] || len(n.Bonds) != len(out.Bonds[uid]) {
			return fmt.Errorf("bench: consensus.Epoch on the EpochInput disagrees with the chain's epoch at uid %d", uid)
		}
	}
	return nil
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

// newScaleApp starts an app from genesis.
func newScaleApp(ctx context.Context, balances []chain.GenesisBalance) (_ *scaleApp, err error) {
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
	return a, nil
}

// run runs one untimed block in which epochs epochs must fire.
func (a *scaleApp) run(ctx context.Context, txs [][]byte, epochs int) error {
	_, _, err := a.timeBlock(ctx, txs, epochs)
	return err
}

// untilEpoch runs empty blocks up to and including the next one at which
// an epoch fires.
func (a *scaleApp) untilEpoch(ctx context.Context) error {
	sn, _ := a.app.State().Subnet(1)
	for uint64(a.height)+1 < sn.LastEpoch+sn.Params.Tempo {
		if err := a.run(ctx, nil, 0); err != nil {
			return err
		}
	}
	return a.run(ctx, nil, 1)
}

// timeBlock runs one block and returns how long FinalizeBlock and Commit
// took. Every transaction must succeed, and exactly epochs epochs must
// fire, without error.
func (a *scaleApp) timeBlock(ctx context.Context, txs [][]byte, epochs int) (finalize, commit time.Duration, err error) {
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
	fired := 0
	for _, ev := range resp.Events {
		if ev.Type != "epoch" {
			continue
		}
		fired++
		for _, at := range ev.Attributes {
			if at.Key == "error" {
				return 0, 0, fmt.Errorf("bench: block %d: epoch failed: %s", a.height, at.Value)
			}
		}
	}
	if fired != epochs {
		return 0, 0, fmt.Errorf("bench: block %d: %d epochs fired, want %d", a.height, fired, epochs)
	}
	return mid.Sub(start), end.Sub(mid), nil
}

func (a *scaleApp) close() {
	if a.db != nil {
		_ = a.db.Close()
	}
	_ = os.RemoveAll(a.dir)
}
