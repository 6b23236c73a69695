package chain

import (
	"crypto/rand"
	"runtime"
	"sync"

	voied "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// A block's signatures that CheckTx has not verified (a block from another
// proposer with transactions this node never saw) are verified together
// before the block is applied: in batches, which cost about half as much
// per signature as one at a time (BenchmarkVerifySigBatch), and on every
// core. This only moves work: each transaction's result is still the one
// decodeTx gives, in the same order.

// maxSigBatch is the most signatures verified in one batch. Past a few
// dozen the saving per signature is small, and one bad signature makes
// the whole batch be verified again one at a time.
const maxSigBatch = 64

// blockWorkerTxs is how many transactions of a block justify one more
// goroutine parsing and verifying them.
const blockWorkerTxs = 64

// parseBlock returns parseTx of each of txs, having verified ahead the
// signatures that need it: those of well-formed transactions from usable
// keys that the cache has not seen verify. A transaction whose signature
// verified is marked so. checkSig on each result then answers exactly as
// decodeTx would on its bytes, and caches those that pass.
func parseBlock(txs [][]byte, cache *sigCache) []parsedTx {
	out := make([]parsedTx, len(txs))
	workers := min(runtime.GOMAXPROCS(0), (len(txs)+blockWorkerTxs-1)/blockWorkerTxs)
	if workers <= 1 {
		parseAndVerify(out, txs, cache)
		return out
	}
	per := (len(txs) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(txs); lo += per {
		hi := min(lo+per, len(txs))
		wg.Go(func() { parseAndVerify(out[lo:hi], txs[lo:hi], cache) })
	}
	wg.Wait()
	return out
}

// parseAndVerify is parseBlock for one goroutine's share.
func parseAndVerify(out []parsedTx, txs [][]byte, cache *sigCache) {
	batch := make([]*parsedTx, 0, min(len(txs), maxSigBatch))
	for i, raw := range txs {
		p := &out[i]
		*p = parseTx(raw)
		if p.err != nil || cache.has(p.tx.Hash) || p.verifiable(cache) != nil {
			continue // checkSig decides without verifying
		}
		if batch = append(batch, p); len(batch) == maxSigBatch {
			verifyBatch(batch)
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		verifyBatch(batch)
	}
}

// verifyBatch marks the transactions of ps whose signature verifies;
// checkSig finishes their checks and adds them to the cache. A batch that
// fails verification is verified again one signature at a time to find the
// bad ones; a batch of one is verified alone, which is cheaper.
func verifyBatch(ps []*parsedTx) {
	if len(ps) > 1 && batchValid(ps) {
		for _, p := range ps {
			p.verified = true
		}
		return
	}
	for _, p := range ps {
		p.verified = voied.VerifyExpandedWithOptions(p.key, signedMessage(p.unsigned), p.sig, zip215)
	}
}

// batchValid reports whether every signature of ps is valid, by batch
// verification under the same rules as one at a time (zip215, the signers'
// expanded keys set by verifiable). False says only that at least one is
// not.
//
// It agrees with one-at-a-time verification on each signature but for a
// chance of 2^-128 per batch: ZIP-215 verification checks the cofactored
// equation, and the batch equation is a random linear combination of
// those equations (the coefficients come from crypto/rand). CometBFT
// verifies commit signatures the same way.
func batchValid(ps []*parsedTx) bool {
	bv := voied.NewBatchVerifierWithCapacity(len(ps))
	for _, p := range ps {
		bv.AddExpandedWithOptions(p.key, signedMessage(p.unsigned), p.sig, zip215)
	}
	return bv.VerifyBatchOnly(rand.Reader)
}
