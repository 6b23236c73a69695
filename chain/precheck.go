package chain

import (
	"bytes"
	"context"
)

// PreCheckTx does the part of CheckTx that depends on the transaction's
// bytes alone: decoding them and verifying the signature, the bulk of a
// transfer's cost. It reads no state, so unlike the other methods it is
// safe to call concurrently with anything, including itself. The node
// calls it before it takes the ABCI lock, on the goroutine that hands the
// transaction to the mempool (an RPC handler, a peer's receive routine),
// so that signatures verify in parallel, and during a long FinalizeBlock,
// instead of one at a time under the lock.
//
// The returned context carries the outcome to CheckTx on the same bytes,
// which then skips that work. CheckTx answers exactly as it would without
// it: the outcome is a pure function of raw.
func (a *App) PreCheckTx(ctx context.Context, raw []byte) context.Context {
	tx, err := decodeTx(raw, a.sigs)
	return context.WithValue(ctx, preCheckedKey{}, &preChecked{raw: raw, tx: tx, err: err})
}

// preCheckedKey is the context key of PreCheckTx's outcome.
type preCheckedKey struct{}

// preChecked is decodeTx's outcome for raw.
type preChecked struct {
	raw []byte
	tx  *Tx
	err *TxError
}

// decodeChecked is decodeTx(raw, a.sigs), taken from ctx when PreCheckTx
// put its outcome for these bytes there.
func (a *App) decodeChecked(ctx context.Context, raw []byte) (*Tx, *TxError) {
	if p, ok := ctx.Value(preCheckedKey{}).(*preChecked); ok && bytes.Equal(p.raw, raw) {
		return p.tx, p.err
	}
	return decodeTx(raw, a.sigs)
}

// DryRun returns ctx marking a CheckTx as a question rather than an
// admission: CheckTx answers exactly as it would, but does not count the
// transaction as pending for its sender (the next nonce, the balance it
// spends), since it does not enter the mempool. CometBFT's /check_tx RPC
// asks this way; without it, asking about a transaction made the same
// transaction's broadcast fail with a bad nonce until the next block.
func DryRun(ctx context.Context) context.Context {
	return context.WithValue(ctx, dryRunKey{}, true)
}

type dryRunKey struct{}

func isDryRun(ctx context.Context) bool {
	v, _ := ctx.Value(dryRunKey{}).(bool)
	return v
}
