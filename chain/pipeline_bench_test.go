package chain

import (
	"context"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
)

// BenchmarkTransferPipeline is the app's share of a transfer's cost on a
// single node, the way `agora bench chain` drives it: PreCheckTx and
// CheckTx for each of a block's transactions, then PrepareProposal,
// FinalizeBlock and Commit of that block (200 senders, blocks of 1000).
// Signing is not timed. It reports microseconds per transaction; the
// ed25519 verification alone is BenchmarkVerifySigBatch's single figure.
func BenchmarkTransferPipeline(b *testing.B) {
	const senders, perBlock = 200, 1000
	privs, ids, balances := fundedKeys(senders, 20_000, 1_000_000*Unit)
	c := newTestChain(b, balances)
	ctx := context.Background()
	nonces := make([]uint64, senders)
	for b.Loop() {
		b.StopTimer()
		txs := make([][]byte, perBlock)
		for j := range txs {
			s := j % senders
			txs[j] = sign(b, privs[s], nonces[s], &Transfer{To: ids[(s+1)%senders], Amount: 1})
			nonces[s]++
		}
		b.StartTimer()
		for _, raw := range txs {
			req := &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_New}
			r, err := c.app.CheckTx(c.app.PreCheckTx(ctx, raw), req)
			if err != nil || r.Code != 0 {
				b.Fatalf("CheckTx: %v %s", err, r.Log)
			}
		}
		if got := c.prepare(1<<30, txs...); len(got) != len(txs) {
			b.Fatalf("PrepareProposal kept %d of %d", len(got), len(txs))
		}
		c.block(txs...)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*perBlock), "us/tx")
}
