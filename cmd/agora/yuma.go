package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/seed0ffb8d46/agora/consensus"
	"github.com/seed0ffb8d46/agora/yumasim"
)

// yumaCmd is "agora yuma": Yuma consensus off chain, for subnet owners who
// want to see what an epoch pays before they set hyperparameters.
func yumaCmd() *Command {
	return &Command{
		Name:        "yuma",
		Short:       "Run and simulate Yuma consensus off chain",
		Subcommands: []*Command{yumaEpochCmd(), yumaSimulateCmd()},
	}
}

// yumaEpochCmd is "agora yuma epoch": one epoch from JSON to JSON.
func yumaEpochCmd() *Command {
	fs := flag.NewFlagSet("epoch", flag.ContinueOnError)
	input := fs.String("input", "", "read the epoch from `FILE` instead of standard input (- is standard input)")
	return &Command{
		Name:  "epoch",
		Short: "Run one Yuma epoch: JSON state in, JSON outputs out",
		Long: `Reads one epoch of one subnet as JSON on standard input (or --input FILE)
and writes the epoch's outputs as JSON. The input has n, block,
last_epoch_block, emission, owner_uid, per-uid stake, permits, last_update,
block_at_registration, weights and bonds (rows of [uid, value] pairs), and
params (missing ones take subtensor's defaults). Unknown keys are errors.`,
		Flags:    fs,
		NoConfig: true,
		Run: func(_ context.Context, rt *Runtime, args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			data, err := readInput(rt, *input)
			if err != nil {
				return fmt.Errorf("yuma epoch: %w", err)
			}
			in, err := consensus.ParseInput(data)
			if err != nil {
				return fmt.Errorf("yuma epoch: input: %w", err)
			}
			out, err := consensus.Epoch(in)
			if err != nil {
				return fmt.Errorf("yuma epoch: %w", err)
			}
			enc := json.NewEncoder(rt.Stdout)
			return enc.Encode(out)
		},
	}
}

// readInput reads the named file, or standard input when name is empty or
// "-".
func readInput(rt *Runtime, name string) ([]byte, error) {
	if name == "" || name == "-" {
		data, err := io.ReadAll(rt.Stdin)
		if err != nil {
			return nil, fmt.Errorf("read standard input: %w", err)
		}
		return data, nil
	}
	data, err := rt.ReadFile(name)
	if err != nil {
		return nil, err // an *fs.PathError: it names the operation and the file
	}
	return data, nil
}

// yumaSimulateCmd is "agora yuma simulate": many epochs from a scenario.
func yumaSimulateCmd() *Command {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	output := outputFlag(fs, "text", "text", "json")
	plot := fs.String("plot", "", "also draw dividends and incentive per uid over epochs to `FILE` (.svg or .png)")
	return &Command{
		Name:  "simulate",
		Args:  "<scenario.json>",
		Short: "Run a multi-epoch Yuma scenario and print each epoch",
		Long: `Runs a scenario: stakes, weights and hyperparameters that change at given
epochs, with bonds and validator permits carried from one epoch to the next.
Prints a table per epoch (or --output json) and, with --plot, draws dividends
and incentive per uid over the epochs. The tables' flags column has P for a
validator permit this epoch, A for active (last_update within
activity_cutoff blocks) and C for a validator copying weights, - for none; a legend
follows the first table. Scenario files for the classic attacks
ship in yumasim/testdata/. The format is documented in yumasim/doc.go.`,
		Flags:    fs,
		NoConfig: true,
		Run: func(_ context.Context, rt *Runtime, args []string) error {
			if len(args) != 1 {
				return usageErrorf("want one scenario file, got %d arguments", len(args))
			}
			var draw func(io.Writer, *yumasim.Scenario, []yumasim.EpochResult) error
			switch ext := strings.ToLower(filepath.Ext(*plot)); {
			case *plot == "":
			case ext == ".svg":
				draw = yumasim.WriteSVG
			case ext == ".png":
				draw = yumasim.WritePNG
			default:
				return usageErrorf("--plot %s: want a .svg or .png file", *plot)
			}
			data, err := rt.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("yuma simulate: %w", err)
			}
			sc, err := yumasim.ParseScenario(data)
			if err != nil {
				return fmt.Errorf("yuma simulate: %s: %w", args[0], err)
			}
			results, err := yumasim.Run(sc)
			if err != nil {
				return fmt.Errorf("yuma simulate: %w", err)
			}
			if draw != nil {
				var buf bytes.Buffer
				if err := draw(&buf, sc, results); err != nil {
					return fmt.Errorf("yuma simulate: plot: %w", err)
				}
				if err := rt.WriteFile(*plot, buf.Bytes()); err != nil {
					return fmt.Errorf("yuma simulate: plot: %w", err)
				}
			}
			if *output == "json" {
				return yumasim.WriteJSON(rt.Stdout, sc, results)
			}
			return yumasim.WriteTable(rt.Stdout, sc, results)
		},
	}
}
