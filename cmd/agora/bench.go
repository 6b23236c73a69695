package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/seed0ffb8d46/agora/bench"
)

// benchCmd is "agora bench": performance measurements.
func benchCmd() *Command {
	return &Command{
		Name:        "bench",
		Short:       "Measure performance",
		Subcommands: []*Command{benchChainCmd()},
	}
}

// benchChainOutput is the JSON of "agora bench chain".
type benchChainOutput struct {
	Throughput *bench.ChainResult `json:"throughput"`
	Finalize   *bench.ScaleResult `json:"finalize,omitempty"`
	Note       string             `json:"note"`
}

const benchNote = "kvstore verifies no signatures and keeps no accounts: the ratio mostly measures " +
	"Agora's ed25519 verification and state work per transaction. Finalize times are with the " +
	"subnet's metagraph and every validator's weights in state; the epoch block's time includes " +
	"the epoch (Yuma consensus, payouts, re-hashing the changed records)."

// benchChainCmd is "agora bench chain".
func benchChainCmd() *Command {
	fs := flag.NewFlagSet("chain", flag.ContinueOnError)
	txs := fs.Int("txs", bench.DefaultTxs, "transactions sent to each app")
	senders := fs.Int("senders", bench.DefaultSenders, "accounts signing them, consecutive nonces each")
	workers := fs.Int("workers", bench.DefaultWorkers, "concurrent broadcast_tx_sync callers")
	duration := fs.Duration("duration", bench.DefaultDuration, "bound on each app's run; when it runs out, measure what committed")
	blockTime := fs.Duration("block-time", bench.DefaultTimeoutCommit, "consensus.timeout_commit of both apps")
	neurons := fs.Int("neurons", bench.DefaultNeurons, "neurons of the subnet for the FinalizeBlock+Commit timing (0 skips it)")
	validators := fs.Int("validators", bench.DefaultValidators, "validators (staked hotkeys) of that subnet")
	blockTxs := fs.Int("block-txs", bench.DefaultBlockTxs, "transfers in each timed block")
	rounds := fs.Int("rounds", bench.DefaultRounds, "timed blocks")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the Agora run (load and drain) to `FILE`")
	output := outputFlag(fs, "text", "text", "json")
	return &Command{
		Name:  "chain",
		Short: "Committed tx/s of a single-node chain against CometBFT's kvstore, and block time at scale",
		Long: `Starts a single-validator Agora node in this process on a temporary home,
sends it --txs signed transfers from --senders accounts with --workers
concurrent broadcast_tx_sync calls over loopback RPC, and counts the
transactions committed with code 0. Then does the same with CometBFT's
kvstore example app, with transactions of the same size and the same
CometBFT settings (timeout_commit --block-time, large mempool, recheck on,
null indexer, errors-only logs), and prints both rates and their ratio.
Rates are committed transactions over the header-time span of the blocks
holding the load; wall-clock rates (first broadcast to empty mempool) are
printed too, and the CPU time the whole process (node and load generator)
used per committed transaction, which other programs on the machine barely
change, and its ratio. kvstore verifies no signatures, so the ratio mostly
measures Agora's signature verification and state work. It also times one
transfer's signature check alone and prints the CPU ratio an app would have
that did the kvstore's work plus that check: a bound on the CPU ratio of any
app that verifies a signature per transaction.

Then builds, through the app's ABCI methods with no CometBFT, a state with a
subnet of --neurons registered neurons and --validators staked hotkeys, each
validator having set weights over every miner with a signed set_weights
(setup runs two untimed epochs: the first gives the validators their
permits, the second their bonds). The subnet's tempo is chosen so that no
epoch fires in the timed transfer blocks. Times FinalizeBlock+Commit of
blocks of --block-txs transfers on it (median of --rounds): cold, the
transactions never seen by the app so every signature is verified in
FinalizeBlock, and warm, each through CheckTx first; and the cold figure on
a state without the subnet. Then times the epoch block: a block of as many
cold transfers at which the tempo elapses, so FinalizeBlock also runs the
epoch and pays its emission; and consensus.Epoch alone on the same input,
for the ratio of the epoch's cost in the block to the math alone.`,
		Flags: fs,
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			for name, v := range map[string]int{"txs": *txs, "senders": *senders, "workers": *workers, "block-txs": *blockTxs, "rounds": *rounds} {
				if v < 1 {
					return usageErrorf("--%s %d: want at least 1", name, v)
				}
			}
			if *neurons < 0 || *validators < 1 || *duration <= 0 || *blockTime < 0 {
				return usageErrorf("--neurons, --validators, --duration and --block-time must not be negative (--validators and --duration positive)")
			}
			progress := func(msg string) { rt.Log.Info("bench: " + msg) }
			var prof bytes.Buffer
			opts := bench.ChainOptions{
				Txs: *txs, Senders: *senders, Workers: *workers, Duration: *duration,
				TimeoutCommit: *blockTime, Log: rt.Log, Progress: progress,
			}
			if *cpuProfile != "" {
				opts.Profile = &prof
			}
			out := benchChainOutput{Note: benchNote}
			var err error
			if out.Throughput, err = bench.Chain(ctx, opts); err != nil {
				return err
			}
			if *cpuProfile != "" {
				if err := rt.WriteFile(*cpuProfile, prof.Bytes()); err != nil {
					return fmt.Errorf("bench: write cpu profile: %w", err)
				}
			}
			if *neurons > 0 {
				progress(fmt.Sprintf("finalize: building a subnet of %d neurons, %d validators and their weights", *neurons, *validators))
				out.Finalize, err = bench.FinalizeAtScale(ctx, bench.ScaleOptions{
					Neurons: *neurons, Validators: *validators, BlockTxs: *blockTxs, Rounds: *rounds,
				})
				if err != nil {
					return err
				}
			}
			if *output == "json" {
				enc := json.NewEncoder(rt.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			printBenchChain(rt.Stdout, &out)
			return nil
		},
	}
}

func printBenchChain(w io.Writer, out *benchChainOutput) {
	t := out.Throughput
	s := t.Settings
	fmt.Fprintf(w, "Throughput: %d transactions of %d bytes per app, %d senders, %d workers (broadcast_tx_sync)\n",
		t.Txs, t.TxBytes, t.Senders, t.Workers)
	fmt.Fprintf(w, "CometBFT: timeout_commit %v, mempool size %d, recheck %v, indexer %s, log_level %s\n\n",
		s.TimeoutCommit, s.MempoolSize, s.Recheck, s.Indexer, s.LogLevel)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "app\ttx/s\twall tx/s\tcommitted\tfailed\trejected\tblocks\tmax block\tspan s\twall s\tcpu s\tcpu us/tx\t\n")
	for _, r := range []*bench.LoadResult{t.Agora, t.KVStore} {
		timedOut := ""
		if r.TimedOut {
			timedOut = " (timed out)"
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%d\t%d\t%d\t%d\t%d\t%.2f\t%.2f%s\t%.2f\t%.0f\t\n", r.App, r.TxPerSec, r.WallTxPerSec,
			r.Committed, r.Failed, r.Rejected, r.Blocks, r.MaxBlockTxs, r.HeaderSeconds, r.WallSeconds, timedOut, r.CPUSeconds, r.CPUMicrosPerTx)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nratio agora/kvstore: %.2fx (header time), %.2fx (wall clock), %.2fx (CPU time per transaction, kvstore/agora)\n",
		t.Ratio, t.WallRatio, t.CPURatio)
	fmt.Fprintf(w, "one signature check per transfer: %.1f us; kvstore's CPU per transaction plus that alone would be a CPU ratio of %.2fx\n",
		t.VerifyMicros, t.VerifyBoundRatio)
	for _, r := range []*bench.LoadResult{t.Agora, t.KVStore} {
		if r.FirstRejection != "" {
			fmt.Fprintf(w, "%s: first rejection: %s\n", r.App, r.FirstRejection)
		}
	}
	if f := out.Finalize; f != nil {
		fmt.Fprintf(w, "\nFinalizeBlock+Commit of %d transfers, subnet of %d neurons and %d validators weighting %d uids each\n",
			f.BlockTxs, f.Neurons, f.Validators, f.WeightsPerValidator)
		fmt.Fprintf(w, "(tempo %d, median of %d blocks each; setup %d blocks with 2 epochs, %.1fs):\n",
			f.Tempo, f.Rounds, f.SetupBlocks, f.SetupSeconds)
		fmt.Fprintf(w, "  no epoch, cold (FinalizeBlock verifies every signature): %.1f ms (FinalizeBlock %.1f ms + Commit %.1f ms; fastest %.1f ms)\n",
			f.TotalMS, f.FinalizeMS, f.CommitMS, f.MinTotalMS)
		fmt.Fprintf(w, "  no epoch, warm (transactions went through CheckTx first): %.1f ms\n", f.WarmTotalMS)
		fmt.Fprintf(w, "  no epoch, cold, on a state without the subnet: %.1f ms\n", f.BaselineTotalMS)
		fmt.Fprintf(w, "  epoch block, cold (the tempo elapses: the transfers, then the epoch): %.1f ms (FinalizeBlock %.1f ms + Commit %.1f ms; fastest %.1f ms)\n",
			f.EpochTotalMS, f.EpochFinalizeMS, f.EpochCommitMS, f.EpochMinTotalMS)
		fmt.Fprintf(w, "  the epoch's share of that block: %.1f ms; consensus.Epoch alone on the same input: %.1f ms (ratio %.2fx)\n",
			f.EpochExtraMS, f.ConsensusEpochMS, f.EpochRatio)
	}
	fmt.Fprintf(w, "\nNote: %s\n", out.Note)
}
