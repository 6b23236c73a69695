package main

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/rlhf"
)

// labelsCmd is "agora labels": the human preference dataset of DESIGN.md
// section 9, from a label store and the tasks its labels answer.
func labelsCmd() *Command {
	return &Command{
		Name:  "labels",
		Short: "Export, verify and rate the human preference dataset",
		Long: `export turns a label store (the durable log a miner writes its labelers'
labels to) and the tasks they answer into a preference dataset: JSON Lines in
Hugging Face TRL's format (prompt, chosen, rejected, plus metadata), in
content-addressed chunks, with a manifest.json holding the Merkle root over
them. A validator commits that root on chain with "agora tx dataset commit";
"agora labels verify" checks a copy of an export against its manifest and,
with --netuid, against the roots committed on chain. "agora labels
leaderboard" rates the models the tasks compare, Bradley-Terry style.

` + tasksFileHelp,
		Subcommands: []*Command{labelsExportCmd(), labelsVerifyCmd(), labelsLeaderboardCmd()},
	}
}

// tasksFileHelp documents the --tasks file format.
const tasksFileHelp = `The tasks file (--tasks FILE) is JSON Lines: one task per line, a JSON object
with the fields of a preference task as validators send it to miners (id,
prompt, completion_a, completion_b, model_a, model_b, validator, deadline,
created_at; times in RFC 3339) plus two that only a validator has, which the
task's own JSON form leaves out: "trap" (true for a gold question) and
"trap_answer" (its known answer: a, b, tie or both_bad). Empty lines are
skipped; unknown fields are errors. One line (wrapped here), for example:

  {"id":"t1","prompt":"2+2?","completion_a":"4","completion_b":"5",
   "model_a":"m1","model_b":"m2","validator":"<its 64 hex digits>",
   "created_at":"2025-01-01T00:00:00Z","trap":true,"trap_answer":"a"}

The label store (--store FILE) must exist, and no running miner may have it
open: a store is opened by one process at a time.`

// readTasks reads a tasks file (see tasksFileHelp) into tasks by id.
func readTasks(rt *Runtime, file string) (map[string]rlhf.Task, error) {
	data, err := rt.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--tasks: %w", err)
	}
	tasks, err := rlhf.ReadTasks(data)
	if err != nil {
		return nil, fmt.Errorf("--tasks %s %w", file, err)
	}
	return tasks, nil
}

// readTasksAndLabels reads the --tasks file and the --store label store,
// as export and leaderboard both need.
func readTasksAndLabels(rt *Runtime, tasksFile, store string) (map[string]rlhf.Task, []rlhf.Label, error) {
	tasks, err := readTasks(rt, tasksFile)
	if err != nil {
		return nil, nil, err
	}
	labels, err := readLabels(store)
	if err != nil {
		return nil, nil, err
	}
	return tasks, labels, nil
}

// readLabels returns every label of the store at path. A missing file is an
// error: rlhf.OpenStore would create an empty store there.
func readLabels(path string) ([]rlhf.Label, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("--store: %w", err)
	}
	st, err := rlhf.OpenStore(path, rlhf.StoreOptions{})
	if err != nil {
		return nil, fmt.Errorf("--store: %w", err)
	}
	labels := st.Labels()
	if err := st.Close(); err != nil {
		return nil, fmt.Errorf("--store: close %s: %w", path, err)
	}
	return labels, nil
}

// datasetSummary is an export as the labels commands show it.
type datasetSummary struct {
	Dir        string `json:"dir"`
	Format     string `json:"format"`
	MerkleRoot string `json:"merkle_root"`
	Records    int    `json:"records"`
	Chunks     int    `json:"chunks"`
	Labels     int    `json:"labels"`
	Ties       int    `json:"ties"`
	BothBad    int    `json:"both_bad"`
	Traps      int    `json:"traps"`
}

func summarize(dir string, m *rlhf.Manifest) datasetSummary {
	return datasetSummary{Dir: dir, Format: m.Format, MerkleRoot: m.MerkleRoot, Records: m.Records, Chunks: len(m.Chunks),
		Labels: m.Labels, Ties: m.Ties, BothBad: m.BothBad, Traps: m.Traps}
}

// datasetCommitBody is the commit_dataset_root of a verified manifest.
func datasetCommitBody(netuid uint16, m *rlhf.Manifest) (*chain.CommitDatasetRoot, error) {
	b := &chain.CommitDatasetRoot{Netuid: netuid}
	root, err := hex.DecodeString(m.MerkleRoot)
	if err != nil || len(root) != len(b.Root) {
		return nil, fmt.Errorf("manifest merkle_root %q is not 64 hex digits", m.MerkleRoot)
	}
	copy(b.Root[:], root)
	switch {
	case m.Records == 0:
		return nil, errors.New("the export has no records: there is nothing to commit")
	case len(m.Chunks) > math.MaxUint32:
		return nil, fmt.Errorf("the export has %d chunks, more than a commit can name", len(m.Chunks))
	}
	b.Records, b.Chunks = uint64(m.Records), uint32(len(m.Chunks))
	return b, nil
}

// writeTable writes text through a tabwriter.
func writeTable(w io.Writer, text func(w io.Writer)) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	text(tw)
	return tw.Flush()
}

func labelsExportCmd() *Command {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	store := fs.String("store", "", "the label store `FILE` to export (required)")
	tasksFile := fs.String("tasks", "", "the tasks JSONL `FILE` the labels answer (required; see agora labels --help)")
	out := fs.String("out", "", "the `DIR` to write the export to; it must not exist or be empty (required)")
	chunk := fs.Int("chunk-records", rlhf.DefaultChunkRecords, "the most records per chunk `N`; the same labels give the same root only with the same N")
	traps := fs.Bool("include-traps", false, "export labels of trap tasks too (left out by default: a published trap could be recognised)")
	output := outputFlag(fs, "text", "text", "json")
	return &Command{
		Name:  "export",
		Short: "Write the labels of a store as a TRL preference dataset with a Merkle root",
		Long: `Reads every label of --store and the tasks of --tasks (every label's task must
be there), and writes the labels that prefer one completion (a or b) to --out
as JSON Lines in TRL's explicit-prompt preference format, in chunks of at most
--chunk-records records named by their SHA-256, with a manifest.json. Ties,
both_bad labels and (unless --include-traps) labels of trap tasks are only
counted. The same labels, tasks and --chunk-records always give the same bytes
and Merkle root. It prints the manifest's summary: records, chunks and root.

` + tasksFileHelp,
		Flags: fs,
		Run: func(_ context.Context, rt *Runtime, args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			switch {
			case *store == "":
				return usageErrorf("--store is required")
			case *tasksFile == "":
				return usageErrorf("--tasks is required")
			case *out == "":
				return usageErrorf("--out is required")
			case *chunk < 1:
				return usageErrorf("--chunk-records %d: want at least 1", *chunk)
			}
			const op = "labels export"
			tasks, labels, err := readTasksAndLabels(rt, *tasksFile, *store)
			if err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			m, err := rlhf.Export(labels, tasks, *out, rlhf.ExportOptions{ChunkRecords: *chunk, IncludeTraps: *traps})
			if err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			sum := summarize(*out, m)
			if *output == "json" {
				return walletWriteJSON(rt.Stdout, sum)
			}
			return writeTable(rt.Stdout, func(w io.Writer) {
				fmt.Fprintf(w, "exported %d records in %d chunks to %s\n", sum.Records, sum.Chunks, sum.Dir)
				fmt.Fprintf(w, "merkle_root:\t%s\n", sum.MerkleRoot)
				fmt.Fprintf(w, "labels:\t%d (%d records; left out: %d ties, %d both_bad, %d traps)\n", sum.Labels, sum.Records, sum.Ties, sum.BothBad, sum.Traps)
				if sum.Records > 0 {
					fmt.Fprintf(w, "commit it:\tagora tx dataset commit --wallet WALLET --hotkey HOTKEY --netuid NETUID --dir %s\n", sum.Dir)
				}
			})
		},
	}
}

// trackedString is a string flag that knows whether it was set.
type trackedString struct {
	v   string
	set bool
}

func (s *trackedString) String() string {
	if s == nil {
		return ""
	}
	return s.v
}

func (s *trackedString) Set(v string) error { s.v, s.set = v, true; return nil }

// verifyOutput is what agora labels verify reports.
type verifyOutput struct {
	datasetSummary
	Verified bool   `json:"verified"`
	Error    string `json:"error,omitempty"`
	// Chain is the check against the committed roots, with --netuid.
	Chain *verifyChain `json:"chain,omitempty"`
}

// verifyChain is the on-chain part of agora labels verify.
type verifyChain struct {
	Node   string `json:"node"`
	Netuid uint16 `json:"netuid"`
	Height int64  `json:"height"`
	// Committed is whether the subnet's committed roots include the
	// export's root with its records and chunks.
	Committed bool `json:"committed"`
	// Commits are the subnet's commits of this root (hotkeys as addresses).
	Commits []chain.DatasetRootView `json:"commits"`
	// Roots is how many roots the subnet keeps now (at most Max).
	Roots int `json:"roots"`
	Max   int `json:"max"`
}

func labelsVerifyCmd() *Command {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	netuid := &netuidValue{}
	fs.Var(netuid, "netuid", "also check the export's root against the dataset roots committed on subnet `NETUID`")
	timeout := fs.Duration("timeout", 10*time.Second, "give up on the node after this long")
	output := outputFlag(fs, "text", "text", "json")
	return &Command{
		Name:  "verify",
		Args:  "<dir>",
		Short: "Check an export against its manifest and, with --netuid, against the chain",
		Long: `Checks that every chunk of the export in <dir> exists, hashes to the SHA-256
the manifest gives it and holds its number of records, that the counts add up,
and that the Merkle root over the chunks is the manifest's. With --netuid N it
then asks the node (found as by agora query: --node, AGORA_NODE, ...) for the dataset roots committed on subnet N
(agora query datasets N) and checks that the root is among them, with the
export's records and chunks. It exits 1 if any check fails, saying which.`,
		Flags: fs,
		Run: func(ctx context.Context, rt *Runtime, args []string) error {
			switch {
			case len(args) == 0:
				return usageErrorf("want the export's directory")
			case len(args) > 1:
				return usageErrorf("unexpected argument %q", args[1])
			case rt.Origins["node"] == "flag --node" && !netuid.set:
				return usageErrorf("--node needs --netuid: the subnet whose committed roots to check")
			case *timeout <= 0:
				return usageErrorf("--timeout must be positive")
			}
			var client *chainclient.Client
			var node nodeAddr
			if netuid.set {
				node = rt.node("")
				c, err := node.client()
				if err != nil {
					return err
				}
				defer c.Close()
				client = c
			}
			const op = "labels verify"
			dir := args[0]
			out := verifyOutput{datasetSummary: datasetSummary{Dir: dir}}
			report := func(err error) error {
				if err != nil {
					out.Error = err.Error()
				}
				var werr error
				if *output == "json" {
					werr = walletWriteJSON(rt.Stdout, out)
				} else {
					werr = writeTable(rt.Stdout, func(w io.Writer) { printVerify(w, &out) })
				}
				if err != nil {
					return fmt.Errorf("%s: %w", op, err)
				}
				return werr
			}
			m, err := rlhf.Verify(dir)
			if err != nil {
				return report(err)
			}
			out.datasetSummary, out.Verified = summarize(dir, m), true
			if client == nil {
				return report(nil)
			}
			ctx, cancel := context.WithTimeout(ctx, *timeout)
			defer cancel()
			var v chain.DatasetsView
			h, err := client.Query(ctx, fmt.Sprintf("%s%d", chain.QueryDatasets, netuid.v), &v)
			if err != nil {
				// Not a verdict on the export: no report, just the error.
				return fmt.Errorf("%s: %w", op, node.explain(err))
			}
			vc := &verifyChain{Node: node.Addr, Netuid: netuid.v, Height: h, Commits: []chain.DatasetRootView{}, Roots: len(v.Roots), Max: v.Max}
			out.Chain = vc
			var mismatch *chain.DatasetRootView
			for _, r := range v.Roots {
				if r.Root != m.MerkleRoot {
					continue
				}
				r.Hotkey = address(r.Hotkey)
				vc.Commits = append(vc.Commits, r)
				if r.Records == uint64(m.Records) && r.Chunks == uint32(len(m.Chunks)) {
					vc.Committed = true
				} else {
					mismatch = &r
				}
			}
			switch {
			case vc.Committed:
				return report(nil)
			case mismatch != nil:
				return report(fmt.Errorf("root %s is committed on subnet %d by %s at block %d with %d records in %d chunks, but the export has %d records in %d chunks",
					m.MerkleRoot, netuid.v, mismatch.Hotkey, mismatch.Block, mismatch.Records, mismatch.Chunks, m.Records, len(m.Chunks)))
			default:
				return report(fmt.Errorf("the export's merkle root %s is not among the %d dataset roots committed on subnet %d (the chain keeps the latest %d)",
					m.MerkleRoot, len(v.Roots), netuid.v, v.Max))
			}
		},
	}
}

// printVerify writes the text report. A failure's reason is left to the
// command's error, on stderr, so it is printed once.
func printVerify(w io.Writer, out *verifyOutput) {
	if !out.Verified {
		fmt.Fprintf(w, "NOT verified %s\n", out.Dir)
		return
	}
	fmt.Fprintf(w, "verified %s: %d records in %d chunks; every chunk's hash and the merkle root match the manifest\n", out.Dir, out.Records, out.Chunks)
	fmt.Fprintf(w, "merkle_root:\t%s\n", out.MerkleRoot)
	c := out.Chain
	if c == nil {
		return
	}
	for _, r := range c.Commits {
		fmt.Fprintf(w, "on chain:\tcommitted on subnet %d by %s at block %d (%d records, %d chunks)\n", c.Netuid, r.Hotkey, r.Block, r.Records, r.Chunks)
	}
	if !c.Committed {
		fmt.Fprintf(w, "on chain:\tNOT committed on subnet %d\n", c.Netuid)
	}
}

// ratingJSON is one row of the leaderboard in --output json.
type ratingJSON struct {
	Rank    int     `json:"rank"`
	Model   string  `json:"model"`
	Rating  float64 `json:"rating"`
	Median  float64 `json:"median"`
	Lower   float64 `json:"lower"`
	Upper   float64 `json:"upper"`
	Battles int     `json:"battles"`
	Wins    int     `json:"wins"`
	Losses  int     `json:"losses"`
	Ties    int     `json:"ties"`
}

// leaderboardOutput is what agora labels leaderboard reports.
type leaderboardOutput struct {
	Labels  int `json:"labels"`
	Battles int `json:"battles"`
	// Skipped counts the labels that are not battles, by why.
	Skipped struct {
		NoTask   int `json:"no_task"`
		NoModels int `json:"no_models"`
		Traps    int `json:"traps"`
	} `json:"skipped"`
	Rounds  int          `json:"rounds"`
	Seed    uint64       `json:"seed"`
	CILevel float64      `json:"ci_level"`
	Models  []ratingJSON `json:"models"`
}

// labelBattles turns labels into battles between their tasks' models: a
// label's choice (a, b, tie, both_bad) decides the battle between ModelA
// and ModelB. Labels of unknown tasks, of tasks without two different
// model names and of trap tasks are counted in out.Skipped. Battles are in
// (task, labeler) order, so the store's order does not matter.
func labelBattles(labels []rlhf.Label, tasks map[string]rlhf.Task, out *leaderboardOutput) []rlhf.Battle {
	sorted := slices.Clone(labels)
	slices.SortFunc(sorted, func(a, b rlhf.Label) int {
		return cmp.Or(cmp.Compare(a.TaskID, b.TaskID), cmp.Compare(a.LabelerID, b.LabelerID))
	})
	var battles []rlhf.Battle
	for _, l := range sorted {
		t, ok := tasks[l.TaskID]
		switch {
		case !ok:
			out.Skipped.NoTask++
		case t.Trap:
			out.Skipped.Traps++
		case t.ModelA == "" || t.ModelB == "" || t.ModelA == t.ModelB:
			out.Skipped.NoModels++
		default:
			battles = append(battles, rlhf.Battle{ModelA: t.ModelA, ModelB: t.ModelB, Winner: string(l.Choice)})
		}
	}
	return battles
}

func labelsLeaderboardCmd() *Command {
	fs := flag.NewFlagSet("leaderboard", flag.ContinueOnError)
	store := fs.String("store", "", "the label store `FILE` (required)")
	tasksFile := fs.String("tasks", "", "the tasks JSONL `FILE` the labels answer (required; see agora labels --help)")
	def := rlhf.DefaultLeaderboardOptions()
	rounds := fs.Int("rounds", def.Rounds, "bootstrap `ROUNDS` for the confidence intervals (0: none)")
	seed := fs.Uint64("seed", 0, "the bootstrap's random `SEED`: the same labels and seed give the same leaderboard")
	output := outputFlag(fs, "text", "text", "json")
	return &Command{
		Name:  "leaderboard",
		Short: "Rate the models the labelled tasks compare (Bradley-Terry, as Chatbot Arena)",
		Long: `Every label of --store whose task (in --tasks) names two different models
(model_a, model_b) is a battle between them: choice a is a win for model_a, b
for model_b, tie and both_bad a tie. Labels of trap tasks are left out. It
fits a Bradley-Terry model to the battles and prints each model's rating (on
an Elo-like scale with mean 1000), its 95% bootstrap interval over --rounds
resamples, its rank (models whose intervals overlap share one) and its wins,
losses and ties.

` + tasksFileHelp,
		Flags: fs,
		Run: func(_ context.Context, rt *Runtime, args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			switch {
			case *store == "":
				return usageErrorf("--store is required")
			case *tasksFile == "":
				return usageErrorf("--tasks is required")
			case *rounds < 0:
				return usageErrorf("--rounds %d: want 0 or more", *rounds)
			}
			const op = "labels leaderboard"
			tasks, labels, err := readTasksAndLabels(rt, *tasksFile, *store)
			if err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			out := leaderboardOutput{Labels: len(labels), Rounds: *rounds, Seed: *seed, CILevel: def.CILevel, Models: []ratingJSON{}}
			battles := labelBattles(labels, tasks, &out)
			out.Battles = len(battles)
			if len(battles) == 0 {
				return fmt.Errorf("%s: no battles: none of the %d labels is on a task (not a trap) that names two different models, model_a and model_b", op, len(labels))
			}
			opts := def
			opts.Rounds, opts.Seed = *rounds, *seed
			ratings, err := rlhf.Leaderboard(battles, opts)
			if err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			for _, r := range ratings {
				out.Models = append(out.Models, ratingJSON{Rank: r.Rank, Model: r.Model, Rating: r.Rating, Median: r.Median,
					Lower: r.Lower, Upper: r.Upper, Battles: r.Battles, Wins: r.Wins, Losses: r.Losses, Ties: r.Ties})
			}
			if *output == "json" {
				return walletWriteJSON(rt.Stdout, out)
			}
			return writeTable(rt.Stdout, func(w io.Writer) {
				fmt.Fprintf(w, "%d battles from %d labels (left out: %d without a task, %d without two models, %d traps)\n\n",
					out.Battles, out.Labels, out.Skipped.NoTask, out.Skipped.NoModels, out.Skipped.Traps)
				ci := fmt.Sprintf("%g%% CI", 100*out.CILevel)
				if *rounds == 0 {
					ci = "CI (--rounds 0: none)"
				}
				fmt.Fprintf(w, "RANK\tMODEL\tRATING\t%s\tBATTLES\tWINS\tLOSSES\tTIES\n", ci)
				for _, r := range out.Models {
					fmt.Fprintf(w, "%d\t%s\t%.1f\t%.1f to %.1f\t%d\t%d\t%d\t%d\n", r.Rank, r.Model, r.Rating, r.Lower, r.Upper, r.Battles, r.Wins, r.Losses, r.Ties)
				}
			})
		},
	}
}
