package node

import (
	"context"

	abcicli "github.com/cometbft/cometbft/abci/client"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtsync "github.com/cometbft/cometbft/libs/sync"
	"github.com/cometbft/cometbft/proxy"

	"github.com/seed0ffb8d46/agora/chain"
)

// preCheckClients is proxy.NewLocalClientCreator(app): every ABCI
// connection calls the app under one shared mutex, so the app's methods
// never run concurrently. The one difference: CheckTx of a new
// transaction first runs chain.App.PreCheckTx (decoding and signature
// verification, which touch no state) outside that mutex, on the caller's
// goroutine. CometBFT's RPC handlers and peers' receive routines call the
// mempool concurrently, so signatures verify in parallel, also while
// FinalizeBlock holds the mutex, and FinalizeBlock and Commit no longer
// queue behind them. Rechecks, which the mempool runs serially on
// transactions it has verified before, go straight to the app.
//
// Results and callbacks are the local client's: PreCheckTx only moves
// work, CheckTx answers the same.
type preCheckClients struct {
	mtx cmtsync.Mutex
	app *gatedApp
}

var _ proxy.ClientCreator = (*preCheckClients)(nil)

// NewABCIClient returns a client for one ABCI connection.
func (c *preCheckClients) NewABCIClient() (abcicli.Client, error) {
	return &preCheckClient{Client: abcicli.NewLocalClient(&c.mtx, c.app), app: c.app}, nil
}

// preCheckClient is a local client that pre-checks new transactions.
type preCheckClient struct {
	abcicli.Client
	app *gatedApp
}

// CheckTx is the synchronous CheckTx, which CometBFT v0.38 calls only for
// the /check_tx RPC: a question about a transaction that does not enter
// the mempool (the mempool admits through CheckTxAsync), so the app
// answers it as a dry run.
func (c *preCheckClient) CheckTx(ctx context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	return c.Client.CheckTx(c.preCheck(chain.DryRun(ctx), req), req)
}

func (c *preCheckClient) CheckTxAsync(ctx context.Context, req *abci.RequestCheckTx) (*abcicli.ReqRes, error) {
	return c.Client.CheckTxAsync(c.preCheck(ctx, req), req)
}

func (c *preCheckClient) preCheck(ctx context.Context, req *abci.RequestCheckTx) context.Context {
	if req.Type != abci.CheckTxType_New {
		return ctx
	}
	return c.app.PreCheckTx(ctx, req.Tx)
}
