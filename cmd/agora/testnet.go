package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/seed0ffb8d46/agora/testnet"
)

// testnetCmd is "agora testnet": the network across hosts, as Linux
// network namespaces on this machine.
func testnetCmd() *Command {
	return &Command{
		Name:        "testnet",
		Short:       "Run Agora across hosts (network namespaces) with faults, and check it",
		Subcommands: []*Command{testnetRunCmd()},
	}
}

func testnetRunCmd() *Command {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	bin := fs.String("bin", "", "the agora `BINARY` every host runs (default: this one)")
	model := fs.String("model", "", "the built-in model's `PATH` (a llama2.c checkpoint or its folder) miners serve and validators verify (default "+defaultModel+")")
	dir := fs.String("dir", "", "`DIR` for the run's homes, logs (HOST.log) and commands.sh (default: a new folder under the system's temporary folder)")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this long")
	output := outputFlag(fs, "text", "text", "json")
	return &Command{
		Name:  "run",
		Args:  "MANIFEST",
		Short: "Run the testnet a manifest describes, apply its perturbations, check the invariants",
		Long: `Reads MANIFEST (YAML: the hosts with their roles and addresses, and the
perturbations, see testnet/testdata/four-validators.yaml), makes each host a
Linux network namespace with its own address on a bridge of its own (root
and iproute2 needed; nothing touches this machine's network), and runs
bin/agora on them as an operator would on separate machines: "node testnet"
for the chain validators' homes, "node join" for full nodes (with state sync
if the manifest says so), the subnet's transactions, "miner run" on the
built-in model with a program labeler on each miner's page, and "validator
run". Once every miner is paid it applies each perturbation (kill -9 and
restart, partitions, a late node joining) and checks after each: every node
holds the same block and app hash at every height, supply = genesis + minted
- burned, every acknowledged label is stored, a restarted validator kept its
scores and sets weights again, and every miner is scored and paid. It prints
the blocks each perturbation cost and how long each late node took to join.
However it ends, it stops every process and removes every namespace.
commands.sh in --dir lists every command it ran, host by host.`,
		Flags: fs,
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			if len(args) != 1 {
				return usageErrorf("want one MANIFEST, got %d argument(s)", len(args))
			}
			b, err := rt.ReadFile(args[0])
			if err != nil {
				return usageErrorf("manifest: %v", err)
			}
			m, err := testnet.Parse(b)
			if err != nil {
				return usageErrorf("manifest %s: %v", args[0], err)
			}
			if *bin == "" {
				if *bin, err = os.Executable(); err != nil {
					return err
				}
			}
			if *model == "" {
				*model = defaultModel
			}
			if *dir == "" {
				if *dir, err = os.MkdirTemp("", "agora-testnet-"); err != nil {
					return err
				}
			}
			if *timeout <= 0 {
				return usageErrorf("--timeout must be positive")
			}
			ctx, cancel := context.WithTimeout(ctx, *timeout)
			defer cancel()
			progress := rt.Stderr
			if *output == "text" {
				progress = rt.Stdout
			}
			parent := ctx
			rep, err := testnet.Run(ctx, testnet.Options{Manifest: m, Bin: *bin, Model: *model, Dir: *dir, Out: progress})
			if err != nil && parent.Err() != nil {
				// Not a pass, and no check failed: say which.
				why := "interrupted"
				if errors.Is(parent.Err(), context.DeadlineExceeded) {
					why = fmt.Sprintf("not finished within --timeout %v", *timeout)
				}
				return fmt.Errorf("testnet run: %s; every process it started is stopped and every namespace removed; its logs are in %s", why, *dir)
			}
			if err != nil {
				return err
			}
			if *output == "json" {
				return json.NewEncoder(rt.Stdout).Encode(rep)
			}
			printTestnetReport(rt, rep, *dir)
			return nil
		},
	}
}

func printTestnetReport(rt *Runtime, rep *testnet.Report, dir string) {
	fmt.Fprintf(rt.Stdout, "\ntestnet passed in %.1fs (set up %.1fs, every miner paid at %.1fs; a block every %v; %d blocks)\n\n",
		rep.Total.Seconds(), rep.Setup.Seconds(), rep.FirstPaid.Seconds(), rep.BlockInterval.Round(time.Millisecond), rep.Height)
	tw := tabwriter.NewWriter(rt.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PERTURBATION\tRECOVERED IN\tBLOCKS MADE\tEXPECTED\tLOST")
	for _, s := range rep.Steps {
		fmt.Fprintf(tw, "%s\t%.1fs\t%d\t%d\t%d\n", s.Perturbation, s.Took.Seconds(), s.Produced, s.Expected, s.Lost)
	}
	tw.Flush()
	if len(rep.Joins) > 0 {
		fmt.Fprintln(rt.Stdout)
		var sync, replay time.Duration
		for _, j := range rep.Joins {
			how := "replay from genesis"
			if j.StateSync {
				how = fmt.Sprintf("state sync (first block %d)", j.Base)
				sync = j.Took
			} else {
				replay = j.Took
			}
			fmt.Fprintf(rt.Stdout, "%s joined at height %d by %s in %.1fs\n", j.Host, j.Height, how, j.Took.Seconds())
		}
		if sync > 0 && replay > 0 {
			fmt.Fprintf(rt.Stdout, "state sync / replay: %.2f\n", sync.Seconds()/replay.Seconds())
		}
	}
	fmt.Fprintf(rt.Stdout, "\nlogs and the commands each host ran (commands.sh): %s\n", dir)
}
