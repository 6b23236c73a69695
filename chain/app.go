package chain

import (
	"context"
	"fmt"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	cmttypes "github.com/cometbft/cometbft/types"
	"go.uber.org/zap"
)

// App is Agora's ABCI++ application. CometBFT calls it through a local
// client that holds one mutex across all connections, so its methods never
// run concurrently and it keeps no locks of its own. PreCheckTx is the one
// exception: it touches no state and may run at any time.
//
// A bad transaction is a non-zero result code with a log that says what
// was wrong, never an error return: an error from FinalizeBlock halts the
// node. The same State.apply decides in CheckTx, PrepareProposal and
// FinalizeBlock.
type App struct {
	abci.BaseApplication

	log     *zap.Logger
	store   *store
	state   *State
	hash    *hasher
	height  int64
	appHash []byte
	// checkNonce and checkSpent are each sender's account as the mempool
	// sees it: checkNonce is the committed nonce plus the transactions
	// CheckTx accepted since, checkSpent what those transactions take from
	// the sender's committed balance. Commit clears both; the mempool's
	// recheck rebuilds them.
	checkNonce map[AccountID]uint64
	checkSpent map[AccountID]uint64
	// recheckNonce is checkNonce as it was before the last Commit, kept
	// until the mempool's recheck has rebuilt checkNonce: between Commit
	// and the end of the recheck, a query of the next nonce (NextNonce)
	// would otherwise see the committed nonce while the sender's
	// transactions are still in the mempool. A sender's entry goes when
	// one of its transactions fails the recheck, since that one and every
	// later one leave the mempool.
	recheckNonce map[AccountID]uint64
	sigs         *sigCache
	// snaps takes and serves state sync snapshots (snapshot.go); nil
	// when they are off. restore is the snapshot being applied.
	snaps   *snapshots
	restore *restoring
}

// MaxPendingTxs is how many transactions one sender may have in the
// mempool ahead of its committed nonce.
const MaxPendingTxs = 1000

var _ abci.Application = (*App)(nil)

// NewApp opens the application on db, loading the last committed state.
func NewApp(db dbm.DB, log *zap.Logger) (*App, error) {
	st := &store{db: db, pending: map[string][]byte{}}
	s, h, height, appHash, err := st.load()
	if err != nil {
		return nil, err
	}
	return &App{log: log, store: st, state: s, hash: h, height: height, appHash: appHash,
		checkNonce: map[AccountID]uint64{}, checkSpent: map[AccountID]uint64{}, recheckNonce: map[AccountID]uint64{},
		sigs: newSigCache()}, nil
}

// State returns the live state, for queries and tests. Callers must not
// use it concurrently with the app's ABCI methods.
func (a *App) State() *State { return a.state }

// Info reports the last committed height and app hash, from which
// CometBFT replays any blocks the app has not committed.
func (a *App) Info(context.Context, *abci.RequestInfo) (*abci.ResponseInfo, error) {
	return &abci.ResponseInfo{
		Data:             "agora",
		Version:          "1",
		AppVersion:       1,
		LastBlockHeight:  a.height,
		LastBlockAppHash: a.appHash,
	}, nil
}

// InitChain sets up the genesis state. It is persisted with block 1, so a
// crash before then runs InitChain again.
func (a *App) InitChain(_ context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	gs, err := ParseGenesisState(req.AppStateBytes)
	if err != nil {
		return nil, err // a bad genesis must stop the node
	}
	if len(req.ChainId) == 0 || len(req.ChainId) > maxChainID {
		return nil, fmt.Errorf("chain: chain id %q: want 1 to %d bytes", req.ChainId, maxChainID)
	}
	a.state.initGenesis(req.ChainId, gs)
	a.appHash = a.stage()
	return &abci.ResponseInitChain{AppHash: a.appHash}, nil
}

// CheckTx admits a transaction to the mempool if it would apply now, given
// the sender's transactions already admitted (by nonce). If ctx comes from
// PreCheckTx on the same bytes, it skips decoding them and verifying the
// signature, and answers the same.
func (a *App) CheckTx(ctx context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	tx, terr := a.decodeChecked(ctx, req.Tx)
	if terr == nil {
		terr = a.check(tx, !isDryRun(ctx))
		if terr != nil && req.Type == abci.CheckTxType_Recheck {
			delete(a.recheckNonce, tx.Signer)
		}
	}
	if terr != nil {
		return &abci.ResponseCheckTx{Code: uint32(terr.Code), Log: terr.Msg, Codespace: "agora"}, nil
	}
	return &abci.ResponseCheckTx{Code: 0}, nil
}

// check runs tx on the live state as if the sender's account were the
// mempool's (the pending nonce, and the committed balance less what the
// sender's admitted transactions spend), then undoes everything but, when
// it admits tx, the sender's mempool nonce and spending.
func (a *App) check(tx *Tx, admit bool) *TxError {
	s := a.state
	m := s.mark()
	s.quiet = true
	defer func() { s.revert(m); s.quiet = false }()
	if err := s.checkChain(tx); err != nil {
		return err
	}
	acct := s.accounts[tx.Signer]
	// Not NextNonce: the recheck rebuilds the view from the committed
	// nonce, so recheckNonce has no say here.
	next := max(acct.Nonce, a.checkNonce[tx.Signer])
	if tx.Nonce != next {
		return reject(CodeBadNonce, "nonce %d, want %d for %s", tx.Nonce, next, tx.Signer)
	}
	if next >= acct.Nonce && next-acct.Nonce >= MaxPendingTxs {
		return reject(CodeTooManyPending, "%s already has %d transactions in the mempool, the most a sender may have; wait for a block to include them",
			tx.Signer, next-acct.Nonce)
	}
	spent, committed := a.checkSpent[tx.Signer], acct.Balance
	acct.Nonce = tx.Nonce
	acct.Balance -= min(acct.Balance, spent)
	s.setAccount(tx.Signer, acct)
	if _, err := s.apply(tx, Block{Height: uint64(a.height) + 1}); err != nil {
		if err.Code == CodeInsufficientBalance && spent > 0 {
			err = reject(err.Code, "%s: %d of the committed balance %d is taken by this sender's transactions already in the mempool", err.Msg, spent, committed)
		}
		return err
	}
	// Only what the sender pays counts; what it receives (an unstake, a
	// transfer to itself) is not spendable until it is committed.
	if after := s.accounts[tx.Signer].Balance; after < acct.Balance {
		spent += acct.Balance - after
	}
	if admit {
		a.checkNonce[tx.Signer] = tx.Nonce + 1
		a.checkSpent[tx.Signer] = spent
	}
	return nil
}

// NextNonce is the nonce of id's next transaction as the mempool sees it:
// the last block's nonce plus the transactions of id that CheckTx admitted
// since (and, until the recheck after a block is done, that are still in
// the mempool). It reads CheckTx's view, never what FinalizeBlock uses.
func (a *App) NextNonce(id AccountID) uint64 {
	return max(a.state.accounts[id].Nonce, a.checkNonce[id], a.recheckNonce[id])
}

// PrepareProposal keeps, in order, the transactions that apply, up to the
// block's size limit.
func (a *App) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	s := a.state
	m := s.mark()
	s.quiet = true
	defer func() { s.revert(m); s.quiet = false }()
	blk := Block{Height: uint64(req.Height), Time: req.Time.UnixNano()}
	s.beginBlock(blk)
	var txs [][]byte
	var size int64
	parsed := parseBlock(req.Txs, a.sigs)
	for i, raw := range req.Txs {
		// CometBFT checks the proposal's size as protobuf, with each
		// transaction's framing, and panics if it is over the limit.
		n := cmttypes.ComputeProtoSizeForTxs([]cmttypes.Tx{raw})
		if size+n > req.MaxTxBytes {
			break
		}
		p := &parsed[i]
		if p.checkSig(a.sigs) != nil {
			continue
		}
		if _, err := s.apply(p.tx, blk); err != nil {
			continue
		}
		txs = append(txs, raw)
		size += n
	}
	return &abci.ResponsePrepareProposal{Txs: txs}, nil
}

// ProcessProposal accepts every proposal: a transaction that fails gets a
// result code in FinalizeBlock, so there is nothing a proposal can carry
// that would make accepting it unsafe.
func (a *App) ProcessProposal(context.Context, *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
}

// FinalizeBlock applies the block's transactions, then runs the epoch of
// every subnet whose tempo has elapsed (epoch.go), and returns each result,
// the epoch events and the new app hash. Nothing is persisted until Commit.
func (a *App) FinalizeBlock(_ context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	s := a.state
	blk := Block{Height: uint64(req.Height), Time: req.Time.UnixNano()}
	s.beginBlock(blk)
	results := make([]*abci.ExecTxResult, len(req.Txs))
	parsed := parseBlock(req.Txs, a.sigs)
	for i := range parsed {
		p := &parsed[i]
		err := p.checkSig(a.sigs)
		var events []abci.Event
		if err == nil {
			before := s.accounts[p.tx.Signer].Balance
			if events, err = s.apply(p.tx, blk); err == nil {
				a.settle(p.tx.Signer, before)
			}
		}
		if err != nil {
			results[i] = &abci.ExecTxResult{Code: uint32(err.Code), Log: err.Msg, Codespace: "agora"}
			continue
		}
		results[i] = &abci.ExecTxResult{Code: 0, Events: events}
	}
	blockEvents := s.endBlock(blk)
	s.forget()
	a.height = req.Height
	a.appHash = a.stage()
	return &abci.ResponseFinalizeBlock{TxResults: results, Events: blockEvents, AppHash: a.appHash}, nil
}

// settle takes what an included transaction spent (the signer's balance
// before it less after) off the signer's mempool spending. CometBFT may
// call CheckTx between FinalizeBlock and Commit, on a state that already
// holds the block: without this, the block's transactions would be counted
// against the sender twice, and a transaction the sender can afford
// refused.
func (a *App) settle(signer AccountID, before uint64) {
	if after := a.state.accounts[signer].Balance; after < before {
		a.checkSpent[signer] -= min(a.checkSpent[signer], before-after)
	}
}

// stage encodes every changed record, queues it for the next commit, and
// returns the new app hash.
func (a *App) stage() []byte {
	for key := range a.state.dirty {
		v := a.state.encodeRecord(key)
		a.store.pending[key] = v
		a.hash.set(key, v)
	}
	clear(a.state.dirty)
	return a.hash.root()
}

// Commit persists the block's state, height and app hash in one synced
// batch, and starts a snapshot if the height is on the snapshot interval.
// A failure to persist is fatal: the node must not go on with state it
// could not save.
func (a *App) Commit(context.Context, *abci.RequestCommit) (*abci.ResponseCommit, error) {
	if err := a.store.commit(a.height, a.appHash); err != nil {
		return nil, err
	}
	// The recheck rebuilds checkNonce from the committed state and the
	// transactions still in the mempool; recheckNonce keeps the old view
	// for queries until it is done.
	a.checkNonce, a.recheckNonce = a.recheckNonce, a.checkNonce
	clear(a.checkNonce)
	clear(a.checkSpent)
	a.maybeSnapshot()
	return &abci.ResponseCommit{}, nil
}
