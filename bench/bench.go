// Package bench measures the chain: committed transactions per second of
// a single-node Agora chain against CometBFT's own kvstore example app
// under the same load and configuration (Chain), and the time the app
// takes to finalize and commit a block on a state with a large subnet
// (FinalizeAtScale). `agora bench chain` runs both and prints the results.
//
// Throughput: both apps run in this process on a fresh temporary home
// written by node.Init with one configuration (CometBFT's defaults plus
// Settings). A pool of workers sends pre-built transactions over the RPC
// server on loopback with broadcast_tx_sync; each sender's transactions go
// through one worker in nonce order. Committed tx/s counts the
// transactions with code 0 in the blocks from the first to the last that
// holds load, divided by the header-time span of those blocks (see
// LoadResult). The kvstore app verifies no signature and keeps no
// accounts, so the ratio mostly measures Agora's ed25519 verification and
// state work per transaction.
package bench

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
)

// Settings are the CometBFT settings both apps run with, on top of
// CometBFT's defaults and node.Init's (PEX off, loopback listeners).
type Settings struct {
	// TimeoutCommit is consensus.timeout_commit: the pause after each
	// block, during which the mempool fills.
	TimeoutCommit time.Duration `json:"timeout_commit"`
	// MempoolSize is mempool.size and mempool.cache_size: large enough
	// that a full run never hits "mempool is full".
	MempoolSize int `json:"mempool_size"`
	// Recheck is mempool.recheck (CometBFT's default, on): after each
	// block every transaction left in the mempool goes through CheckTx
	// again.
	Recheck bool `json:"recheck"`
	// Indexer is tx_index.indexer: "null", as a validator would run; the
	// bench reads block results, not the index.
	Indexer string `json:"indexer"`
	// LogLevel is CometBFT's log_level: errors only.
	LogLevel string `json:"log_level"`
}

// settingsFor returns the settings of a run of txs transactions.
func settingsFor(txs int, timeoutCommit time.Duration) Settings {
	return Settings{
		TimeoutCommit: timeoutCommit,
		MempoolSize:   max(txs+1000, 10_000),
		Recheck:       true,
		Indexer:       "null",
		LogLevel:      "*:error",
	}
}

// apply writes s into a CometBFT configuration.
func (s Settings) apply(c *cmtcfg.Config) {
	c.LogLevel = s.LogLevel
	c.Consensus.TimeoutCommit = s.TimeoutCommit
	c.Consensus.SkipTimeoutCommit = false
	c.Consensus.CreateEmptyBlocks = true
	c.Mempool.Size = s.MempoolSize
	c.Mempool.CacheSize = s.MempoolSize
	c.Mempool.Recheck = s.Recheck
	c.TxIndex.Indexer = s.Indexer
	c.Instrumentation.Prometheus = false
	// Nothing is gossiped on a single node, but keep P2P flushing prompt.
	c.P2P.FlushThrottleTimeout = 10 * time.Millisecond
}

// key returns a deterministic ed25519 key for a label, so that runs are
// repeatable and nothing random is needed.
func key(label string, i int) ed25519.PrivateKey {
	seed := sha256.Sum256(fmt.Appendf(nil, "agora/bench/%s/%d", label, i))
	return ed25519.NewKeyFromSeed(seed[:])
}

// seconds is d in seconds, for JSON.
func seconds(d time.Duration) float64 { return d.Seconds() }

// ms is d in milliseconds, for JSON.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
