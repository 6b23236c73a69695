package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/rlhf"
)

// labelsFixture is a label store and its tasks file in a temporary
// directory: three models compared pairwise, m-good mostly beating m-mid
// and m-mid mostly beating m-bad, plus a trap task and a task without
// model names.
type labelsFixture struct {
	dir, store, tasks string
	labels            int
}

const testValidator = "abababababababababababababababababababababababababababababababab"

func newLabelsFixture(t *testing.T) *labelsFixture {
	t.Helper()
	dir := t.TempDir()
	f := &labelsFixture{dir: dir, store: filepath.Join(dir, "labels.log"), tasks: filepath.Join(dir, "tasks.jsonl")}
	created := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var lines []string
	var labels []rlhf.Label
	pairs := [][2]string{{"m-good", "m-mid"}, {"m-good", "m-bad"}, {"m-mid", "m-bad"}}
	for i := range 12 {
		p := pairs[i%3]
		a, b := p[0], p[1]
		if i%2 == 1 { // the better model on either side
			a, b = b, a
		}
		id := fmt.Sprintf("task-%02d", i)
		tl := rlhf.TaskRecord{Task: rlhf.Task{ID: id, Prompt: fmt.Sprintf("Question %d?", i), CompletionA: "answer from " + a,
			CompletionB: "answer from " + b, ModelA: a, ModelB: b, Validator: testValidator, CreatedAt: created}}
		line, err := json.Marshal(tl)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(line))
		for j, labeler := range []string{"ann", "bob", "cyd"} {
			better := rlhf.ChoiceA
			if a != p[0] {
				better = rlhf.ChoiceB
			}
			choice := better
			switch {
			case i == 4 && j == 0:
				choice = rlhf.ChoiceTie
			case i == 7 && j == 1:
				choice = rlhf.ChoiceBothBad
			case i == 9 && j == 2: // an upset
				choice = map[rlhf.Choice]rlhf.Choice{rlhf.ChoiceA: rlhf.ChoiceB, rlhf.ChoiceB: rlhf.ChoiceA}[better]
			}
			labels = append(labels, rlhf.Label{TaskID: id, LabelerID: labeler, Choice: choice, TimeOnTaskMs: int64(1000 + 100*i + j),
				Miner: "miner-1", ReceivedAt: created.Add(time.Duration(i*3+j) * time.Minute)})
		}
	}
	// A trap (its fields spelled out, as the help shows them) and a task
	// that names no models: both exported, neither a battle.
	lines = append(lines,
		`{"id":"trap-1","prompt":"2+2?","completion_a":"4","completion_b":"5","model_a":"m-good","model_b":"m-bad","validator":"`+testValidator+`","created_at":"2025-03-01T12:00:00Z","trap":true,"trap_answer":"a"}`,
		"",
		`{"id":"plain","prompt":"Say hi.","completion_a":"hi","completion_b":"hello","validator":"`+testValidator+`"}`)
	labels = append(labels,
		rlhf.Label{TaskID: "trap-1", LabelerID: "ann", Choice: rlhf.ChoiceA, Miner: "miner-1", ReceivedAt: created},
		rlhf.Label{TaskID: "plain", LabelerID: "ann", Choice: rlhf.ChoiceB, Miner: "miner-1", ReceivedAt: created})
	if err := os.WriteFile(f.tasks, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := rlhf.OpenStore(f.store, rlhf.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range labels {
		if err := st.Append(context.Background(), l); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	f.labels = len(labels)
	return f
}

// export runs agora labels export into a new directory and returns it with
// the summary printed.
func (f *labelsFixture) export(t *testing.T, home string, chunk int) (string, datasetSummary) {
	t.Helper()
	out := filepath.Join(t.TempDir(), fmt.Sprintf("export-%d", chunk))
	r := walletRun(t, home, nil, "", nil, "labels", "export", "--store", f.store, "--tasks", f.tasks, "--out", out,
		"--chunk-records", fmt.Sprint(chunk), "--output", "json")
	if r.code != 0 {
		t.Fatalf("labels export: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	return out, decodeJSON[datasetSummary](t, r)
}

// TestLabelsOffline exports, verifies, tampers and rates without a node.
func TestLabelsOffline(t *testing.T) {
	home := t.TempDir()
	run := func(args ...string) result { return walletRun(t, home, nil, "", nil, args...) }
	f := newLabelsFixture(t)

	out, sum := f.export(t, home, 4)
	m, err := rlhf.Verify(out)
	if err != nil {
		t.Fatal(err)
	}
	// 36 labels of the 12 compared tasks: one tie and one both_bad; the
	// trap is left out; the plain task's label is a record.
	want := datasetSummary{Dir: out, Format: rlhf.ExportFormat, MerkleRoot: m.MerkleRoot, Records: 35, Chunks: 9, Labels: 38, Ties: 1, BothBad: 1, Traps: 1}
	if sum != want {
		t.Errorf("summary %+v\nwant %+v", sum, want)
	}
	// The same labels give the same root; another chunk size another.
	if _, again := f.export(t, home, 4); again.MerkleRoot != sum.MerkleRoot {
		t.Errorf("export is not deterministic: %s then %s", sum.MerkleRoot, again.MerkleRoot)
	}
	if _, other := f.export(t, home, 10); other.MerkleRoot == sum.MerkleRoot || other.Chunks != 4 {
		t.Errorf("--chunk-records 10: %+v", other)
	}
	// Text output.
	out2 := filepath.Join(t.TempDir(), "text")
	r := run("labels", "export", "--store", f.store, "--tasks", f.tasks, "--out", out2, "--include-traps")
	for _, w := range []string{"exported 36 records in 1 chunks to " + out2, "merkle_root:", "labels:", "left out: 1 ties, 1 both_bad, 0 traps",
		"agora tx dataset commit --wallet WALLET --hotkey HOTKEY --netuid NETUID --dir " + out2} {
		if r.code != 0 || !strings.Contains(r.stdout, w) {
			t.Errorf("labels export (text): exit %d, no %q in\n%s%s", r.code, w, r.stdout, r.stderr)
		}
	}
	// The export refuses a directory that is not empty.
	r = run("labels", "export", "--store", f.store, "--tasks", f.tasks, "--out", out)
	if r.code != 1 || !strings.Contains(r.stderr, "directory is not empty") {
		t.Errorf("export into a full directory: exit %d %s", r.code, r.stderr)
	}

	// verify: intact.
	r = run("labels", "verify", out)
	if r.code != 0 || !strings.Contains(r.stdout, "verified "+out+": 35 records in 9 chunks") || !strings.Contains(r.stdout, sum.MerkleRoot) {
		t.Errorf("labels verify: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	v := decodeJSON[verifyOutput](t, run("labels", "verify", out, "--output", "json"))
	if !v.Verified || v.MerkleRoot != sum.MerkleRoot || v.Chain != nil || v.Records != 35 {
		t.Errorf("labels verify --output json: %+v", v)
	}

	// Tampering with a chunk: verify fails and says which.
	chunk := filepath.Join(out, m.Chunks[2].Name)
	data, err := os.ReadFile(chunk)
	if err != nil {
		t.Fatal(err)
	}
	tampered := strings.Replace(string(data), `"choice":"a"`, `"choice":"b"`, 1)
	if tampered == string(data) {
		tampered = strings.Replace(string(data), `"choice":"b"`, `"choice":"a"`, 1)
	}
	if err := os.WriteFile(chunk, []byte(tampered), 0o644); err != nil {
		t.Fatal(err)
	}
	r = run("labels", "verify", out)
	if r.code != 1 || !strings.Contains(r.stderr, "chunk 2 ("+m.Chunks[2].Name+")") || !strings.Contains(r.stderr, "the chunk was altered") ||
		!strings.Contains(r.stdout, "NOT verified "+out) || strings.Contains(r.stdout, "altered") {
		t.Errorf("verify of a tampered export: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	v = decodeJSON[verifyOutput](t, run("labels", "verify", out, "--output", "json"))
	if v.Verified || !strings.Contains(v.Error, "the chunk was altered") {
		t.Errorf("verify --output json of a tampered export: %+v", v)
	}
	if err := os.Remove(chunk); err != nil {
		t.Fatal(err)
	}
	if r := run("labels", "verify", out); r.code != 1 || !strings.Contains(r.stderr, "no such file") {
		t.Errorf("verify with a chunk missing: exit %d %s", r.code, r.stderr)
	}

	// leaderboard: m-good over m-mid over m-bad; the trap and the plain
	// task are no battles.
	lb := decodeJSON[leaderboardOutput](t, run("labels", "leaderboard", "--store", f.store, "--tasks", f.tasks, "--rounds", "30", "--seed", "7", "--output", "json"))
	if lb.Battles != 36 || lb.Labels != 38 || lb.Skipped.Traps != 1 || lb.Skipped.NoModels != 1 || lb.Skipped.NoTask != 0 || lb.Rounds != 30 {
		t.Errorf("leaderboard counts: %+v", lb)
	}
	if len(lb.Models) != 3 || lb.Models[0].Model != "m-good" || lb.Models[1].Model != "m-mid" || lb.Models[2].Model != "m-bad" ||
		lb.Models[0].Rank != 1 || !(lb.Models[0].Rating > lb.Models[1].Rating && lb.Models[1].Rating > lb.Models[2].Rating) ||
		lb.Models[0].Wins+lb.Models[0].Losses+lb.Models[0].Ties != lb.Models[0].Battles || lb.Models[0].Lower > lb.Models[0].Rating {
		t.Errorf("leaderboard: %+v", lb.Models)
	}
	again := decodeJSON[leaderboardOutput](t, run("labels", "leaderboard", "--store", f.store, "--tasks", f.tasks, "--rounds", "30", "--seed", "7", "--output", "json"))
	if fmt.Sprint(again) != fmt.Sprint(lb) {
		t.Errorf("the same seed gave another leaderboard")
	}
	r = run("labels", "leaderboard", "--store", f.store, "--tasks", f.tasks, "--rounds", "0")
	lines := strings.Split(r.stdout, "\n")
	if r.code != 0 || len(lines) < 6 || !strings.HasPrefix(lines[0], "36 battles from 38 labels (left out: 0 without a task, 1 without two models, 1 traps)") ||
		!strings.HasPrefix(lines[2], "RANK") || !strings.HasPrefix(lines[3], "1 ") || !strings.Contains(lines[3], "m-good") || !strings.Contains(lines[5], "m-bad") {
		t.Errorf("leaderboard (text): exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestLabelsErrors: bad command lines are usage errors (exit 2); bad files
// and stores are errors that name the file and line (exit 1).
func TestLabelsErrors(t *testing.T) {
	home := t.TempDir()
	f := newLabelsFixture(t)
	out := filepath.Join(t.TempDir(), "out")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"labels", "export", "--tasks", f.tasks, "--out", out}, exitUsage, "--store is required"},
		{[]string{"labels", "export", "--store", f.store, "--out", out}, exitUsage, "--tasks is required"},
		{[]string{"labels", "export", "--store", f.store, "--tasks", f.tasks}, exitUsage, "--out is required"},
		{[]string{"labels", "export", "--store", f.store, "--tasks", f.tasks, "--out", out, "--chunk-records", "0"}, exitUsage, "--chunk-records 0: want at least 1"},
		{[]string{"labels", "export", "--store", f.store, "--tasks", f.tasks, "--out", out, "--chunk-records", "x"}, exitUsage, `invalid value "x" for flag --chunk-records`},
		{[]string{"labels", "export", "--store", f.store, "--tasks", f.tasks, "--out", out, "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"labels", "export", "--store", f.store + ".missing", "--tasks", f.tasks, "--out", out}, exitError, "labels export: --store: stat " + f.store + ".missing: no such file"},
		{[]string{"labels", "export", "--store", f.tasks, "--tasks", f.tasks, "--out", out}, exitError, "labels export: --store: rlhf: open store"},
		{[]string{"labels", "export", "--store", f.store, "--tasks", f.tasks + ".missing", "--out", out}, exitError, "labels export: --tasks: open"},
		{[]string{"labels", "export", "--store", f.store, "--tasks", writeTemp(t, `{"id":"t"}`), "--out", out}, exitError, `line 1: task "t": empty prompt`},
		{[]string{"labels", "export", "--store", f.store, "--tasks", writeTemp(t, "\n{\"idd\":\"t\"}"), "--out", out}, exitError, `line 2: json: unknown field "idd"`},
		{[]string{"labels", "export", "--store", f.store, "--tasks", writeTemp(t, "{} {}"), "--out", out}, exitError, "line 1: more than one JSON value"},
		{[]string{"labels", "export", "--store", f.store, "--tasks", writeTemp(t, `{"id":"t","prompt":"p","completion_a":"a","completion_b":"b","validator":"`+testValidator+`","trap_answer":"a"}`), "--out", out},
			exitError, `line 1: task "t": trap answer "a" on a task that is not a trap`},
		{[]string{"labels", "export", "--store", f.store, "--tasks", writeTemp(t, `{"id":"t","prompt":"p","completion_a":"a","completion_b":"b","validator":"`+testValidator+`"}`), "--out", out},
			exitError, `no such task`},
		{[]string{"labels", "verify"}, exitUsage, "want the export's directory"},
		{[]string{"labels", "verify", "a", "b"}, exitUsage, `unexpected argument "b"`},
		{[]string{"labels", "verify", out, "--node", "tcp://127.0.0.1:1"}, exitUsage, "--node needs --netuid"},
		{[]string{"labels", "verify", out, "--netuid", "1", "--node", "udp://x:1"}, exitUsage, `--node: `},
		{[]string{"labels", "verify", out, "--netuid", "x"}, exitUsage, `invalid value "x" for flag --netuid`},
		{[]string{"labels", "verify", filepath.Join(out, "nothing")}, exitError, "manifest.json: no such file"},
		{[]string{"labels", "leaderboard", "--tasks", f.tasks}, exitUsage, "--store is required"},
		{[]string{"labels", "leaderboard", "--store", f.store}, exitUsage, "--tasks is required"},
		{[]string{"labels", "leaderboard", "--store", f.store, "--tasks", f.tasks, "--rounds", "-1"}, exitUsage, "--rounds -1: want 0 or more"},
		{[]string{"labels", "leaderboard", "--store", f.store, "--tasks", f.tasks, "--output", "yaml"}, exitUsage, `"yaml" is not one of text, json`},
		{[]string{"labels", "leaderboard", "--store", f.store, "--tasks", writeTemp(t, "")}, exitError, "no battles: none of the 38 labels"},
		{[]string{"tx", "dataset", "commit", "--wallet", "a", "--hotkey", "h", "--netuid", "1"}, exitUsage, "--dir is required"},
		{[]string{"tx", "dataset", "commit", "--wallet", "a", "--netuid", "1", "--dir", out}, exitUsage, "--hotkey is required"},
		{[]string{"tx", "dataset", "commit", "--wallet", "a", "--hotkey", "h", "--dir", out}, exitUsage, "--netuid is required"},
		{[]string{"tx", "dataset", "commit", "--wallet", "a", "--hotkey", "h", "--netuid", "1", "--dir", out}, exitError, "tx dataset commit: not sent: rlhf: verify"},
		{[]string{"query", "datasets"}, exitUsage, "want 1 argument(s), got 0"},
		{[]string{"query", "datasets", "70000"}, exitUsage, `netuid "70000"`},
	} {
		r := walletRun(t, home, nil, "", nil, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("agora %s: exit %d, stderr %q; want exit %d with %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.code, tc.want)
		}
	}
	// An empty export: nothing to commit, and commit says so before it
	// touches a wallet or a node.
	empty := filepath.Join(t.TempDir(), "empty")
	if _, err := rlhf.Export(nil, nil, empty, rlhf.ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	r := walletRun(t, home, nil, "", nil, "tx", "dataset", "commit", "--wallet", "a", "--hotkey", "h", "--netuid", "1", "--dir", empty)
	if r.code != exitError || !strings.Contains(r.stderr, "the export has no records: there is nothing to commit") {
		t.Errorf("commit of an empty export: exit %d %s", r.code, r.stderr)
	}
}

// TestLabelsOnChain exports a store, commits its root from a validator's
// hotkey, and checks copies against the chain: the committed one passes,
// an uncommitted one and a tampered one fail.
func TestLabelsOnChain(t *testing.T) {
	e, _, _, miner := newTxEnv(t)
	f := newLabelsFixture(t)
	e.ok("wallet", "new-hotkey", "--name", "alice", "--hotkey", "miner2")

	// One validator slot: miner1, with stake, gets the permit; miner2 not.
	e.ok("tx", "subnet", "create", "--wallet", "alice", "--params",
		writeTemp(t, `{"tempo": 3, "min_burn": 1000000000, "max_uids": 4, "max_validators": 1, "weights_rate_limit": 1}`))
	e.ok("tx", "register", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1")
	e.ok("tx", "register", "--wallet", "alice", "--hotkey", "miner2", "--netuid", "1")
	e.ok("tx", "stake", "add", "--wallet", "alice", "--hotkey", "miner1", "--amount", "10")
	v := e.waitEpoch("1", 1)
	v = e.waitEpoch("1", v.Epoch+1) // an epoch with the stake: a permit
	if len(v.Neurons) != 2 || !v.Neurons[0].ValidatorPermit || v.Neurons[1].ValidatorPermit {
		t.Fatalf("epoch view %+v", v)
	}

	out, sum := f.export(t, e.home, 4)
	out2, sum2 := f.export(t, e.home, 10)
	out3, sum3 := f.export(t, e.home, 1)

	// Nothing committed yet.
	if r := e.ok("query", "datasets", "1"); !strings.Contains(r.stdout, "subnet 1: 0 dataset roots (the chain keeps the latest 64)") {
		t.Errorf("query datasets 1:\n%s", r.stdout)
	}
	r := e.run("labels", "verify", out, "--netuid", "1", "--node", e.node)
	if r.code != 1 || !strings.Contains(r.stderr, "is not among the 0 dataset roots committed on subnet 1") {
		t.Errorf("verify before the commit: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// A hotkey without a permit is refused by the chain.
	e.fails(exitError, []string{"code 22 (no_validator_permit)", "no validator permit on subnet 1"},
		"tx", "dataset", "commit", "--wallet", "alice", "--hotkey", "miner2", "--netuid", "1", "--dir", out)
	e.fails(exitError, []string{"code 7 (unknown_subnet)", "no subnet 5"},
		"tx", "dataset", "commit", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "5", "--dir", out)

	// The validator commits.
	j := decodeJSON[txJSON](t, e.ok("tx", "dataset", "commit", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1", "--dir", out, "--output", "json"))
	if j.Status != "included" || j.Code != 0 || j.attr("root") != sum.MerkleRoot || j.attr("records") != "35" || j.attr("chunks") != "9" ||
		j.Extra["merkle_root"] != sum.MerkleRoot || len(j.Events) != 2 || j.Events[1].Type != chain.DatasetRootEvent {
		t.Fatalf("tx dataset commit: %+v", j)
	}
	committedAt := j.Height
	// A second export, in text: the root is shown as the hex it is.
	r = e.ok("tx", "dataset", "commit", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1", "--dir", out2)
	for _, w := range []string{"commit_dataset_root: included in block", "signer: " + miner, "event:  dataset_root netuid=1 root=" + sum2.MerkleRoot + " records=35 chunks=4 hotkey=" + miner} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("tx dataset commit (text): no %q in\n%s", w, r.stdout)
		}
	}

	// The query lists both, newest last.
	q := decodeJSON[struct {
		chain.DatasetsView
		Height int64 `json:"height"`
	}](t, e.ok("query", "datasets", "1", "--output", "json"))
	if q.Netuid != 1 || q.Max != chain.MaxDatasetRoots || len(q.Roots) != 2 || q.Height < committedAt ||
		q.Roots[0] != (chain.DatasetRootView{Root: sum.MerkleRoot, Records: 35, Chunks: 9, Hotkey: miner, Block: uint64(committedAt)}) ||
		q.Roots[1].Root != sum2.MerkleRoot {
		t.Errorf("query datasets --output json: %+v", q)
	}
	r = e.ok("query", "datasets", "1")
	if !strings.Contains(r.stdout, "subnet 1: 2 dataset roots") || !strings.Contains(r.stdout, sum.MerkleRoot) || !strings.Contains(r.stdout, miner) {
		t.Errorf("query datasets 1:\n%s", r.stdout)
	}

	// Copies are checked against the chain.
	r = e.ok("labels", "verify", out, "--netuid", "1", "--node", e.node)
	if !strings.Contains(r.stdout, fmt.Sprintf("on chain:     committed on subnet 1 by %s at block %d (35 records, 9 chunks)", miner, committedAt)) {
		t.Errorf("labels verify --netuid 1:\n%s", r.stdout)
	}
	vo := decodeJSON[verifyOutput](t, e.ok("labels", "verify", out2, "--netuid", "1", "--node", e.node, "--output", "json"))
	if !vo.Verified || vo.Chain == nil || !vo.Chain.Committed || len(vo.Chain.Commits) != 1 || vo.Chain.Commits[0].Hotkey != miner || vo.Chain.Roots != 2 {
		t.Errorf("labels verify --output json: %+v %+v", vo, vo.Chain)
	}
	// An intact export that nobody committed: exit 1, saying so.
	r = e.run("labels", "verify", out3, "--netuid", "1", "--node", e.node)
	if r.code != 1 || !strings.Contains(r.stdout, "verified "+out3) || !strings.Contains(r.stdout, "NOT committed on subnet 1") || strings.Contains(r.stdout, "is not among") ||
		!strings.Contains(r.stderr, "labels verify: the export's merkle root "+sum3.MerkleRoot+" is not among the 2 dataset roots committed on subnet 1") {
		t.Errorf("verify of an uncommitted export: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	vo = decodeJSON[verifyOutput](t, e.run("labels", "verify", out3, "--netuid", "1", "--node", e.node, "--output", "json"))
	if !vo.Verified || vo.Chain == nil || vo.Chain.Committed || !strings.Contains(vo.Error, "is not among") {
		t.Errorf("verify --output json of an uncommitted export: %+v", vo)
	}
	// Another subnet has none of them; an unknown one is an error.
	e.fails(exitError, []string{"labels verify: query /datasets/9: no subnet 9"}, "labels", "verify", out, "--netuid", "9", "--node", e.node)

	// A tampered copy of the committed export fails before the chain is
	// asked, and cannot be committed either.
	m, err := rlhf.Verify(out)
	if err != nil {
		t.Fatal(err)
	}
	chunk := filepath.Join(out, m.Chunks[0].Name)
	data, _ := os.ReadFile(chunk)
	if err := os.WriteFile(chunk, append(data, []byte(`{"prompt":"injected"}`+"\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	r = e.run("labels", "verify", out, "--netuid", "1", "--node", e.node)
	if r.code != 1 || !strings.Contains(r.stderr, "the chunk was altered") || strings.Contains(r.stdout, "on chain") {
		t.Errorf("verify of a tampered export: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	e.fails(exitError, []string{"tx dataset commit: not sent:", "the chunk was altered"},
		"tx", "dataset", "commit", "--wallet", "alice", "--hotkey", "miner1", "--netuid", "1", "--dir", out)
}
