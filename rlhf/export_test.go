package rlhf

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var updateGolden = flag.Bool("rlhf.update", false, "rewrite testdata/export.golden.json and the fuzz seed corpus in testdata/fuzz")

const testValidator = "5fd3c1a1a7f8f5b6ff4c43a0e8d1b7f0b2e6c9d8a7b6c5d4e3f2a1b0c9d8e7f6"

// exportFixture returns tasks and labels covering every case of Export:
// choices a and b, ties, both bad, a trap, a labeler with and one without
// a quality score, and text that JSON could escape.
func exportFixture() (map[string]Task, []Label, ExportOptions) {
	created := time.Date(2026, 2, 27, 9, 30, 0, 123456789, time.UTC)
	tasks := map[string]Task{}
	for i := range 6 {
		id := fmt.Sprintf("task-%02d", i)
		tasks[id] = Task{
			ID:          id,
			Prompt:      fmt.Sprintf("Question %d: is 2 < 3 & why?", i),
			CompletionA: fmt.Sprintf("A%d: yes, <because> 2 is smaller.", i),
			CompletionB: fmt.Sprintf("B%d: no.\n\"quoted\" ünïcode", i),
			ModelA:      "llama-3-8b",
			ModelB:      "qwen2-7b",
			Validator:   testValidator,
			Deadline:    created.Add(time.Hour),
			CreatedAt:   created.Add(time.Duration(i) * time.Minute),
		}
	}
	trap := tasks["task-05"]
	trap.Trap, trap.TrapAnswer = true, ChoiceA
	tasks["task-05"] = trap

	var labels []Label
	add := func(task, labeler string, c Choice) {
		l := testLabel(task, labeler)
		l.Choice = c
		l.ReceivedAt = l.ReceivedAt.UTC()
		labels = append(labels, l)
	}
	add("task-00", "alice", ChoiceA)
	add("task-00", "bob", ChoiceB)
	add("task-01", "alice", ChoiceTie)
	add("task-01", "bob", ChoiceA)
	add("task-02", "alice", ChoiceBothBad)
	add("task-02", "carol", ChoiceB)
	add("task-03", "bob", ChoiceA)
	add("task-04", "alice", ChoiceB)
	add("task-05", "alice", ChoiceA) // trap
	add("task-05", "bob", ChoiceTie) // trap
	return tasks, labels, ExportOptions{ChunkRecords: 2, LabelerQuality: map[string]float64{"alice": 0.875, "bob": 0.5}}
}

// readRecords reads every record of an export, chunk by chunk.
func readRecords(t *testing.T, dir string, m *Manifest) []Record {
	t.Helper()
	var out []Record
	for _, c := range m.Chunks {
		f, err := os.Open(filepath.Join(dir, c.Name))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			dec := json.NewDecoder(strings.NewReader(sc.Text()))
			dec.DisallowUnknownFields()
			var r Record
			if err := dec.Decode(&r); err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			out = append(out, r)
		}
		f.Close()
	}
	return out
}

func TestExportRoundTrip(t *testing.T) {
	tasks, labels, opts := exportFixture()
	dir := filepath.Join(t.TempDir(), "export")
	m, err := Export(labels, tasks, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if m.Labels != 10 || m.Records != 6 || m.Ties != 1 || m.BothBad != 1 || m.Traps != 2 || len(m.Chunks) != 3 {
		t.Fatalf("manifest counts: %+v", m)
	}
	recs := readRecords(t, dir, m)
	if len(recs) != 6 {
		t.Fatalf("%d records read back, want 6", len(recs))
	}
	want := []struct {
		task, labeler string
		choice        Choice
	}{
		{"task-00", "alice", ChoiceA}, {"task-00", "bob", ChoiceB}, {"task-01", "bob", ChoiceA},
		{"task-02", "carol", ChoiceB}, {"task-03", "bob", ChoiceA}, {"task-04", "alice", ChoiceB},
	}
	for i, r := range recs {
		w := want[i]
		task := tasks[w.task]
		chosen, rejected, mc, mr := task.CompletionA, task.CompletionB, task.ModelA, task.ModelB
		if w.choice == ChoiceB {
			chosen, rejected, mc, mr = rejected, chosen, mr, mc
		}
		l := testLabel(w.task, w.labeler)
		if r.TaskID != w.task || r.Labeler != w.labeler || r.Choice != w.choice || r.Prompt != task.Prompt ||
			r.Chosen != chosen || r.Rejected != rejected || r.ModelChosen != mc || r.ModelRejected != mr ||
			r.Miner != l.Miner || r.Validator != testValidator || r.TimeOnTaskMs != l.TimeOnTaskMs ||
			r.ID != recordID(w.task, w.labeler) || len(r.ID) != 32 {
			t.Errorf("record %d: %+v", i, r)
		}
		if ca, err := time.Parse(time.RFC3339Nano, r.CreatedAt); err != nil || !ca.Equal(task.CreatedAt) {
			t.Errorf("record %d: created_at %q, want %v", i, r.CreatedAt, task.CreatedAt)
		}
		if ra, err := time.Parse(time.RFC3339Nano, r.ReceivedAt); err != nil || !ra.Equal(l.ReceivedAt) || !strings.HasSuffix(r.ReceivedAt, "Z") {
			t.Errorf("record %d: received_at %q, want %v in UTC", i, r.ReceivedAt, l.ReceivedAt)
		}
		q, ok := opts.LabelerQuality[w.labeler]
		if ok != (r.LabelerQuality != nil) || ok && *r.LabelerQuality != q {
			t.Errorf("record %d: labeler_quality %v, want %v (%v)", i, r.LabelerQuality, q, ok)
		}
	}
	// TRL reads the three columns as plain strings; HTML is not escaped.
	data, _ := os.ReadFile(filepath.Join(dir, m.Chunks[0].Name))
	if !bytes.Contains(data, []byte(`"prompt":"Question 0: is 2 < 3 & why?","chosen":"A0: yes, <because> 2 is smaller."`)) {
		t.Errorf("first line does not start with prompt, chosen as plain JSON strings:\n%s", data)
	}
	if bytes.Contains(data, []byte("trap")) {
		t.Errorf("an export mentions traps:\n%s", data)
	}
	got, err := Verify(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(m) {
		t.Errorf("Verify returned %+v, Export %+v", got, m)
	}
	tree, err := m.Tree()
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range m.Chunks {
		p, _ := tree.Proof(i)
		data, _ := os.ReadFile(filepath.Join(dir, c.Name))
		digest := sha256Sum(data)
		if err := VerifyProof(digest, i, len(m.Chunks), p, mustRoot(t, m)); err != nil {
			t.Errorf("chunk %d: inclusion proof: %v", i, err)
		}
	}
	for _, name := range append([]string{ManifestName}, m.Chunks[0].Name) {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, %v; want 0644", name, fi.Mode(), err)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != len(m.Chunks)+1 {
		t.Errorf("export directory holds %d files, want %d chunks and the manifest", len(ents), len(m.Chunks))
	}
}

func TestExportIncludeTraps(t *testing.T) {
	tasks, labels, opts := exportFixture()
	opts.IncludeTraps = true
	m, err := Export(labels, tasks, t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if m.Records != 7 || m.Ties != 2 || m.Traps != 0 {
		t.Fatalf("with traps: %+v", m)
	}
}

// TestExportDeterministic exports the fixture in shuffled orders: the
// bytes of every file are the same, and match the golden manifest.
func TestExportDeterministic(t *testing.T) {
	tasks, labels, opts := exportFixture()
	base := t.TempDir()
	first := filepath.Join(base, "0")
	m0, err := Export(labels, tasks, first, opts)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 1; i <= 5; i++ {
		r.Shuffle(len(labels), func(a, b int) { labels[a], labels[b] = labels[b], labels[a] })
		dir := filepath.Join(base, fmt.Sprint(i))
		m, err := Export(labels, tasks, dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		if m.MerkleRoot != m0.MerkleRoot {
			t.Fatalf("shuffle %d: root %s, first export %s", i, m.MerkleRoot, m0.MerkleRoot)
		}
		for _, name := range append([]string{ManifestName}, chunkNames(m)...) {
			a, _ := os.ReadFile(filepath.Join(first, name))
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil || !bytes.Equal(a, b) {
				t.Fatalf("shuffle %d: %s differs (%v)", i, name, err)
			}
		}
	}
	got, _ := os.ReadFile(filepath.Join(first, ManifestName))
	golden := filepath.Join("testdata", "export.golden.json")
	if *updateGolden {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestExportDeterministic -rlhf.update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("manifest differs from %s (run with -rlhf.update if the format changed on purpose):\n%s", golden, got)
	}
}

func chunkNames(m *Manifest) []string {
	var names []string
	for _, c := range m.Chunks {
		names = append(names, c.Name)
	}
	return names
}

func TestExportEmpty(t *testing.T) {
	tasks, labels, opts := exportFixture()
	dir := t.TempDir()
	m, err := Export(labels[4:5], tasks, dir, opts) // one both_bad label
	if err != nil {
		t.Fatal(err)
	}
	if m.Records != 0 || len(m.Chunks) != 0 || m.MerkleRoot != ctRoots[0] {
		t.Fatalf("no pairs: %+v", m)
	}
	if _, err := Verify(dir); err != nil {
		t.Fatal(err)
	}
}

func TestExportErrors(t *testing.T) {
	tasks, labels, opts := exportFixture()
	nonEmpty := t.TempDir()
	if err := os.WriteFile(filepath.Join(nonEmpty, "old.jsonl"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	badLabel := slices.Clone(labels)
	badLabel[3].Choice = "maybe"
	noTask := append(slices.Clone(labels), testLabel("task-99", "alice"))
	dup := append(slices.Clone(labels), labels[2])
	nan := opts
	nan.LabelerQuality = map[string]float64{"alice": math.NaN()}
	for _, c := range []struct {
		name   string
		labels []Label
		dir    string
		opts   ExportOptions
		want   string
	}{
		{"non-empty dir", labels, nonEmpty, opts, "directory is not empty (it holds old.jsonl)"},
		{"invalid label", badLabel, "", opts, `choice "maybe" is not one of`},
		{"missing task", noTask, "", opts, `task "task-99", labeler "alice": no such task`},
		{"duplicate", dup, "", opts, `task "task-01", labeler "alice": two labels`},
		{"nan quality", labels, "", nan, "is not finite"},
		{"negative chunk", labels, "", ExportOptions{ChunkRecords: -1}, "negative"},
	} {
		dir := c.dir
		if dir == "" {
			dir = filepath.Join(t.TempDir(), "x")
		}
		_, err := Export(c.labels, tasks, dir, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "rlhf: export to "+dir) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// TestVerifyTampered changes an export in every way that matters: Verify
// fails each time, naming the chunk when one is at fault.
func TestVerifyTampered(t *testing.T) {
	tasks, labels, opts := exportFixture()
	src := filepath.Join(t.TempDir(), "src")
	m, err := Export(labels, tasks, src, opts)
	if err != nil {
		t.Fatal(err)
	}
	c1 := m.Chunks[1].Name
	editManifest := func(edit func(*Manifest)) func(dir string) {
		return func(dir string) {
			mm := *m
			mm.Chunks = slices.Clone(m.Chunks)
			edit(&mm)
			b, _ := json.Marshal(&mm)
			writeT(t, filepath.Join(dir, ManifestName), b)
		}
	}
	for _, c := range []struct {
		name   string
		tamper func(dir string)
		want   string
	}{
		{"flip a byte", func(dir string) {
			p := filepath.Join(dir, c1)
			b, _ := os.ReadFile(p)
			b[40] ^= 0x01
			writeT(t, p, b)
		}, "chunk 1 (" + c1 + "): its bytes hash to"},
		{"drop a line", func(dir string) {
			p := filepath.Join(dir, c1)
			b, _ := os.ReadFile(p)
			writeT(t, p, b[:bytes.IndexByte(b, '\n')+1])
		}, "chunk 1 (" + c1 + ")"},
		{"missing chunk", func(dir string) { os.Remove(filepath.Join(dir, c1)) }, "chunk 1 (" + c1 + "): open"},
		{"root", editManifest(func(mm *Manifest) { mm.MerkleRoot = ctRoots[0] }), "the Merkle root of the chunks is " + m.MerkleRoot},
		{"swap chunks", editManifest(func(mm *Manifest) { mm.Chunks[0], mm.Chunks[1] = mm.Chunks[1], mm.Chunks[0] }), "Merkle root"},
		{"records", editManifest(func(mm *Manifest) { mm.Chunks[2].Records++ }), "chunk 2"},
		{"counts", editManifest(func(mm *Manifest) { mm.Ties++ }), "counts do not add up"},
		{"path escape", editManifest(func(mm *Manifest) { mm.Chunks[0].Name = "../" + mm.Chunks[0].Name }), "chunk 0: name"},
		{"format", editManifest(func(mm *Manifest) { mm.Format = "v0" }), `format "v0"`},
		{"unknown field", func(dir string) {
			p := filepath.Join(dir, ManifestName)
			b, _ := os.ReadFile(p)
			writeT(t, p, bytes.Replace(b, []byte(`"format"`), []byte(`"extra": 1, "format"`), 1))
		}, "unknown field"},
	} {
		dir := filepath.Join(t.TempDir(), "copy")
		copyDir(t, src, dir)
		if _, err := Verify(dir); err != nil {
			t.Fatalf("%s: the untouched copy fails: %v", c.name, err)
		}
		c.tamper(dir)
		_, err := Verify(dir)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Verify = %v, want %q", c.name, err, c.want)
		}
	}
}

func writeT(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}

func sha256Sum(b []byte) []byte {
	d := sha256.Sum256(b)
	return d[:]
}

func mustRoot(t *testing.T, m *Manifest) [32]byte {
	t.Helper()
	var r [32]byte
	b, err := hex.DecodeString(m.MerkleRoot)
	if err != nil || len(b) != 32 {
		t.Fatalf("root %q: %v", m.MerkleRoot, err)
	}
	copy(r[:], b)
	return r
}
