package rlhf

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// crashChildEnv, when set to a store path, makes the test binary append
// labels to that store instead of running the tests: TestCrashKillNine
// starts it as a separate process so that SIGKILL can end it at any
// instant, in the middle of a write or an fsync included.
const crashChildEnv = "AGORA_TEST_RLHF_CRASH_STORE"

// crashRoundEnv is the round number of a crash child, which makes its task
// ids distinct from earlier rounds'.
const crashRoundEnv = "AGORA_TEST_RLHF_CRASH_ROUND"

// crashWriters is the number of goroutines a crash child appends from.
const crashWriters = 64

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		if err := crashChild(path, os.Getenv(crashRoundEnv)); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashChild appends labels from crashWriters goroutines until it is
// killed, printing "ack <task> <labeler>" on stdout after each Append that
// returned nil. Every tenth append re-sends a label of the previous round,
// as a page does after a reconnect.
func crashChild(path, roundS string) error {
	round, err := strconv.Atoi(roundS)
	if err != nil {
		return err
	}
	s, err := OpenStore(path, StoreOptions{})
	if err != nil {
		return err
	}
	var out sync.Mutex
	errc := make(chan error, crashWriters)
	for g := range crashWriters {
		go func() {
			for i := 0; ; i++ {
				task := fmt.Sprintf("r%d-t%d", round, i)
				if i%10 == 9 && round > 0 {
					task = fmt.Sprintf("r%d-t%d", round-1, i)
				}
				l := testLabel(task, fmt.Sprintf("l%d", g))
				if err := s.Append(context.Background(), l); err != nil {
					errc <- err
					return
				}
				out.Lock()
				_, err := os.Stdout.WriteString("ack " + l.TaskID + " " + l.LabelerID + "\n")
				out.Unlock()
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	return <-errc
}

// TestCrashKillNine kills a process that appends labels from many
// goroutines with SIGKILL at random moments, reopens its store each time,
// and checks that every label the process saw acknowledged is there, once.
func TestCrashKillNine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "labels.log")
	rounds := 5
	if testing.Short() {
		rounds = 2
	}
	r := rand.New(rand.NewPCG(7, 8))
	acked := map[key]bool{}
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+path, crashRoundEnv+"="+strconv.Itoa(round))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAt := 200 + r.IntN(2000)
		timer := time.AfterFunc(time.Minute, func() { _ = cmd.Process.Kill() })
		sc := bufio.NewScanner(stdout)
		n := 0
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 3 || f[0] != "ack" {
				continue
			}
			acked[key{f[1], f[2]}] = true
			if n++; n == killAt {
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
			}
		}
		timer.Stop()
		_ = cmd.Wait() // reading to EOF above kept every ack that was written before the kill
		if n < killAt {
			t.Fatalf("round %d: the child stopped after %d acks, before the kill at %d: %s", round, n, killAt, stderr.String())
		}

		s, err := OpenStore(path, StoreOptions{})
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		rec := s.Recovery()
		if rec.Duplicates != 0 {
			t.Errorf("round %d: %d labels are in the file twice", round, rec.Duplicates)
		}
		seen := map[key]int{}
		for l := range s.Iterate() {
			seen[l.key()]++
		}
		missing := 0
		for k := range acked {
			if seen[k] != 1 {
				missing++
				if missing < 5 {
					t.Errorf("round %d: acknowledged label %v is stored %d times", round, k, seen[k])
				}
			}
		}
		if missing > 0 {
			t.Fatalf("round %d: %d of %d acknowledged labels lost", round, missing, len(acked))
		}
		t.Logf("round %d: killed after %d acks; %d labels stored, %d acknowledged in all, torn tail %d bytes",
			round, n, s.Len(), len(acked), rec.TornBytes)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// testLabel returns a valid label; its fields derive from task and labeler.
func testLabel(task, labeler string) Label {
	choices := []Choice{ChoiceA, ChoiceB, ChoiceTie, ChoiceBothBad}
	h := len(task) + len(labeler) + int(task[len(task)-1]) + int(labeler[len(labeler)-1])
	return Label{
		TaskID:       task,
		LabelerID:    labeler,
		Choice:       choices[h%4],
		Rationale:    "the first one cites its source <b>& is shorter</b>",
		TimeOnTaskMs: int64(1000 + h),
		ShownALeft:   h%2 == 0,
		Miner:        "agora1qqqsyqcyq5rqwzqfpg9scrgwpugpzysnzs23v9ccrydpk8qarc0s6cnrt6",
		ReceivedAt:   time.Date(2026, 3, 1, 12, 0, 0, h*1000+7, time.FixedZone("CET", 3600)),
	}
}

func openT(t *testing.T, path string) *Store {
	t.Helper()
	s, err := OpenStore(path, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func appendT(t *testing.T, s *Store, ls ...Label) {
	t.Helper()
	for _, l := range ls {
		if err := s.Append(context.Background(), l); err != nil {
			t.Fatal(err)
		}
	}
}

// recordOffsets returns the start of every record in a store file and the
// file's end.
func recordOffsets(t *testing.T, data []byte) []int {
	t.Helper()
	offs := []int{}
	off := len(magic)
	for off < len(data) {
		offs = append(offs, off)
		off += headerBytes + int(binary.LittleEndian.Uint32(data[off:]))
	}
	if off != len(data) {
		t.Fatalf("records end at %d, file at %d", off, len(data))
	}
	return append(offs, off)
}

func TestStoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "labels.log")
	s := openT(t, path)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("store file mode: %v %v, want 0600", fi.Mode(), err)
	}
	var want []Label
	for i := range 20 {
		l := testLabel(fmt.Sprintf("t%d", i), "alice")
		appendT(t, s, l)
		l.ReceivedAt = l.ReceivedAt.UTC()
		want = append(want, l)
	}
	if got := s.Labels(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Labels() before reopen:\n%+v\nwant\n%+v", got, want)
	}
	if g, ok := s.Get("t3", "alice"); !ok || g != want[3] {
		t.Fatalf("Get(t3, alice) = %+v, %v", g, ok)
	}
	if _, ok := s.Get("t3", "bob"); ok {
		t.Fatal("Get(t3, bob) found a label that was never appended")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, path)
	defer s.Close()
	if got := s.Labels(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Labels() after reopen:\n%+v\nwant\n%+v", got, want)
	}
	var it []Label
	for l := range s.Iterate() {
		it = append(it, l)
		if len(it) == 5 {
			break
		}
	}
	if !reflect.DeepEqual(it, want[:5]) {
		t.Fatalf("Iterate with break: %+v", it)
	}
	if r := s.Recovery(); r != (Recovery{Records: 20}) {
		t.Fatalf("Recovery() = %+v", r)
	}
}

// TestStoreConcurrent appends from 200 goroutines, each label twice and a
// shared label from all of them at once: every Append succeeds, every label
// is stored once, and a reopen reads back exactly what Labels returned.
func TestStoreConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "labels.log")
	s := openT(t, path)
	const writers, each = 200, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each*3)
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				l := testLabel(fmt.Sprintf("t%d", i), fmt.Sprintf("l%d", g))
				errs <- s.Append(context.Background(), l)
				errs <- s.Append(context.Background(), l)
			}
			shared := testLabel("shared", "everyone")
			shared.TimeOnTaskMs = int64(g) // differs: the first stored wins
			errs <- s.Append(context.Background(), shared)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Len(); n != writers*each+1 {
		t.Fatalf("Len() = %d, want %d", n, writers*each+1)
	}
	before := s.Labels()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, path)
	defer s.Close()
	if after := s.Labels(); !reflect.DeepEqual(before, after) {
		t.Fatal("labels read back after reopen differ from Labels() before close")
	}
	if r := s.Recovery(); r.Duplicates != 0 || r.Records != writers*each+1 {
		t.Fatalf("Recovery() = %+v", r)
	}
}

// TestStoreIdempotentAcrossReopen re-sends a label with another choice
// after a reopen: Append says nil and the first label stays.
func TestStoreIdempotentAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "labels.log")
	s := openT(t, path)
	first := testLabel("t1", "alice")
	first.Choice = ChoiceA
	appendT(t, s, first)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, path)
	defer s.Close()
	again := first
	again.Choice = ChoiceB
	appendT(t, s, again)
	if g, _ := s.Get("t1", "alice"); g.Choice != ChoiceA || s.Len() != 1 {
		t.Fatalf("after a re-send: %d labels, stored choice %q; want 1 and a", s.Len(), g.Choice)
	}
	fi, _ := os.Stat(path)
	data, _ := os.ReadFile(path)
	if len(recordOffsets(t, data)) != 2 {
		t.Fatalf("the re-send was written: file of %d bytes", fi.Size())
	}
}

func TestStoreErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "labels.log")
	s := openT(t, path)
	bad := testLabel("t1", "alice")
	bad.Choice = "x"
	if err := s.Append(context.Background(), bad); err == nil || !strings.Contains(err.Error(), `label: choice "x" is not one of a, b, tie, both_bad`) {
		t.Errorf("invalid choice: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Append(ctx, testLabel("t1", "alice")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	if s.Len() != 0 {
		t.Errorf("rejected labels were stored")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(context.Background(), testLabel("t1", "alice")); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestStoreWriteErrorIsSticky makes the file fail under the writer: the
// Append fails, so do all later ones, and Close reports it.
func TestStoreWriteErrorIsSticky(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "labels.log"))
	appendT(t, s, testLabel("t1", "alice"))
	_ = s.f.Close()
	if err := s.Append(context.Background(), testLabel("t2", "alice")); err == nil {
		t.Fatal("Append to a closed file succeeded")
	}
	if err := s.Append(context.Background(), testLabel("t3", "alice")); err == nil || !strings.Contains(err.Error(), "refuses writes") {
		t.Fatalf("Append after a write error: %v", err)
	}
	if err := s.Close(); err == nil {
		t.Fatal("Close after a write error returned nil")
	}
	if s.Len() != 1 {
		t.Fatalf("Len() = %d, want 1", s.Len())
	}
}

// writeStore writes n labels one by one into a new store at path and
// returns the file's bytes.
func writeStore(t *testing.T, path string, n int) []byte {
	t.Helper()
	s := openT(t, path)
	for i := range n {
		appendT(t, s, testLabel(fmt.Sprintf("t%d", i), "alice"))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestStoreTornTail cuts the file at every byte of its last record, and
// replaces the record by garbage or zeros: the reopened store keeps every
// earlier label, truncates the file to them, and appends after them.
func TestStoreTornTail(t *testing.T) {
	dir := t.TempDir()
	orig := writeStore(t, filepath.Join(dir, "orig.log"), 5)
	offs := recordOffsets(t, orig)
	last := offs[4]
	zeros := append(append([]byte(nil), orig[:last]...), make([]byte, 4096)...)
	garbled := bytes.Clone(orig)
	garbled[len(garbled)-3] ^= 0xff
	cases := map[string][]byte{"zeros": zeros, "crc": garbled}
	for cut := last + 1; cut < len(orig); cut++ {
		cases[fmt.Sprintf("cut=%d", cut)] = orig[:cut]
	}
	i := 0
	for name, data := range cases {
		i++
		path := filepath.Join(dir, fmt.Sprintf("torn%d.log", i))
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := OpenStore(path, StoreOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if s.Len() != 4 {
			t.Errorf("%s: %d labels, want 4", name, s.Len())
		}
		if r := s.Recovery(); r.TornAt != int64(last) || r.TornBytes != int64(len(data)-last) {
			t.Errorf("%s: Recovery() = %+v, want torn at %d", name, r, last)
		}
		if fi, _ := os.Stat(path); fi.Size() != int64(last) {
			t.Errorf("%s: file is %d bytes after open, want %d", name, fi.Size(), last)
		}
		if i%16 == 0 || name == "zeros" {
			appendT(t, s, testLabel("t4", "alice"))
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if i%16 == 0 || name == "zeros" {
			if got, _ := os.ReadFile(path); !bytes.Equal(got, orig) {
				t.Errorf("%s: after appending the lost label again, the file differs from the original", name)
			}
		}
	}
}

// TestStoreCorruptMiddle damages a record with valid records after it:
// OpenStore fails with the record's offset and leaves the file alone.
func TestStoreCorruptMiddle(t *testing.T) {
	dir := t.TempDir()
	orig := writeStore(t, filepath.Join(dir, "orig.log"), 5)
	offs := recordOffsets(t, orig)
	flip := func(at int, v byte) []byte { b := bytes.Clone(orig); b[at] ^= v; return b }
	for _, c := range []struct {
		name   string
		data   []byte
		reason string
	}{
		{"payload byte", flip(offs[2]+headerBytes+10, 0x01), "CRC-32C mismatch"},
		{"crc", flip(offs[2]+5, 0x80), "CRC-32C mismatch"},
		{"length too big", flip(offs[2]+3, 0x40), "out of range"},
		{"length past eof", flip(offs[2]+1, 0x10), "runs past the end"},
		{"first record", flip(offs[0]+headerBytes, 0x20), "CRC-32C mismatch"},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".log")
		if err := os.WriteFile(path, c.data, 0o600); err != nil {
			t.Fatal(err)
		}
		idx := 2
		if c.name == "first record" {
			idx = 0
		}
		_, err := OpenStore(path, StoreOptions{})
		var ce *CorruptError
		if !errors.As(err, &ce) {
			t.Fatalf("%s: OpenStore error %v, want a *CorruptError", c.name, err)
		}
		if ce.Offset != int64(offs[idx]) || ce.Next != int64(offs[idx+1]) || !strings.Contains(ce.Reason, c.reason) {
			t.Errorf("%s: %+v, want offset %d, next %d, reason %q", c.name, ce, offs[idx], offs[idx+1], c.reason)
		}
		if want := fmt.Sprintf("offset %d", offs[idx]); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %q does not name %s and %q", c.name, err, path, want)
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, c.data) {
			t.Errorf("%s: OpenStore changed a corrupt file", c.name)
		}
	}
}

func TestOpenStoreFileKinds(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(other, []byte("hello, world\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStore(other, StoreOptions{}); err == nil || !strings.Contains(err.Error(), "not a label store") {
		t.Errorf("opening a text file: %v", err)
	}
	if got, _ := os.ReadFile(other); string(got) != "hello, world\n" {
		t.Errorf("OpenStore changed a file that is not a store")
	}
	// A crash while the file was being created leaves part of the magic.
	half := filepath.Join(dir, "half.log")
	if err := os.WriteFile(half, []byte(magic[:3]), 0o600); err != nil {
		t.Fatal(err)
	}
	s := openT(t, half)
	appendT(t, s, testLabel("t1", "alice"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, half)
	defer s.Close()
	if s.Len() != 1 {
		t.Errorf("half-created store: %d labels after one append and reopen", s.Len())
	}
	if _, err := OpenStore(filepath.Join(dir, "no", "such", "dir", "x.log"), StoreOptions{}); err == nil || !strings.Contains(err.Error(), "rlhf: open store") {
		t.Errorf("missing directory: %v", err)
	}
}

func TestLabelValidate(t *testing.T) {
	ok := testLabel("t1", "alice")
	for _, c := range []struct {
		name string
		edit func(*Label)
		want string // "" for valid
	}{
		{"ok", func(*Label) {}, ""},
		{"every choice", func(l *Label) { l.Choice = ChoiceBothBad }, ""},
		{"bad choice", func(l *Label) { l.Choice = "x" }, `label: choice "x" is not one of a, b, tie, both_bad`},
		{"upper-case choice", func(l *Label) { l.Choice = "A" }, `choice "A" is not one of`},
		{"empty task", func(l *Label) { l.TaskID = "" }, "label: empty task id"},
		{"empty labeler", func(l *Label) { l.LabelerID = "" }, "label: empty labeler id"},
		{"empty miner", func(l *Label) { l.Miner = "" }, "label: empty miner"},
		{"long task", func(l *Label) { l.TaskID = strings.Repeat("t", MaxIDBytes+1) }, "task id is 257 bytes, more than 256"},
		{"rationale at limit", func(l *Label) { l.Rationale = strings.Repeat("r", MaxRationaleBytes) }, ""},
		{"long rationale", func(l *Label) { l.Rationale = strings.Repeat("r", MaxRationaleBytes+1) }, "rationale is 4097 bytes, more than 4096"},
		{"rationale not utf-8", func(l *Label) { l.Rationale = "\xff" }, "rationale is not UTF-8"},
		{"negative time", func(l *Label) { l.TimeOnTaskMs = -1 }, "time on task -1 ms is negative"},
		{"zero received", func(l *Label) { l.ReceivedAt = time.Time{} }, "zero received_at"},
		{"year 10000", func(l *Label) { l.ReceivedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "outside 1..9999"},
	} {
		l := ok
		c.edit(&l)
		err := l.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: Validate() = %v, want %q", c.name, err, c.want)
		}
	}
}

// TestMaxRecordBytes checks that the largest valid label, every character
// escaped by JSON, fits in a record.
func TestMaxRecordBytes(t *testing.T) {
	l := testLabel("t", "l")
	l.TaskID = strings.Repeat("\x01", MaxIDBytes)
	l.LabelerID, l.Miner = l.TaskID, l.TaskID
	l.Rationale = strings.Repeat("\x01", MaxRationaleBytes)
	l.TimeOnTaskMs = 1<<63 - 1
	l.ReceivedAt = l.ReceivedAt.UTC()
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	rec, err := encodeRecord(&l)
	if err != nil {
		t.Fatal(err)
	}
	if got, n, reason := decodeRecord(rec); reason != "" || n != len(rec) || got != l {
		t.Fatalf("decode of the largest record: %q, %d of %d bytes", reason, n, len(rec))
	}
	t.Logf("largest record: %d bytes of %d", len(rec), maxRecordBytes)
}

func TestTaskValidate(t *testing.T) {
	ok := Task{ID: "t1", Prompt: "p", CompletionA: "a", CompletionB: "b", Validator: strings.Repeat("ab", 32)}
	for _, c := range []struct {
		name string
		edit func(*Task)
		want string
	}{
		{"ok", func(*Task) {}, ""},
		{"address", func(t *Task) { t.Validator = "agora1qqqsyqcyq5rqwzqfpg9scrgwpugpzysnzs23v9ccrydpk8qarc0s6cnrt6" }, ""},
		{"trap", func(t *Task) { t.Trap, t.TrapAnswer = true, ChoiceB }, ""},
		{"trap without answer", func(t *Task) { t.Trap = true }, "trap answer"},
		{"answer without trap", func(t *Task) { t.TrapAnswer = ChoiceA }, "not a trap"},
		{"no id", func(t *Task) { t.ID = "" }, "empty id"},
		{"no prompt", func(t *Task) { t.Prompt = "" }, "empty prompt"},
		{"no completion", func(t *Task) { t.CompletionB = "" }, "empty completion"},
		{"bad validator", func(t *Task) { t.Validator = "alice" }, "neither 64 hex digits nor an agora1 address"},
	} {
		task := ok
		c.edit(&task)
		err := task.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: Validate() = %v, want %q", c.name, err, c.want)
		}
	}
}

// TestStoreOptions runs appends with a linger and with batches capped at
// one record: each record then gets its own write and fsync.
func TestStoreOptions(t *testing.T) {
	for _, opts := range []StoreOptions{{Linger: time.Millisecond}, {MaxBatchBytes: 1}} {
		s, err := OpenStore(filepath.Join(t.TempDir(), "labels.log"), opts)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for g := range 50 {
			wg.Go(func() {
				if err := s.Append(context.Background(), testLabel("t", fmt.Sprintf("l%d", g))); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if s.Len() != 50 {
			t.Errorf("%+v: %d labels, want 50", opts, s.Len())
		}
		if s.mu.Lock(); opts.MaxBatchBytes == 1 && s.batches != 50 {
			t.Errorf("%+v: %d batches, want one per label", opts, s.batches)
		}
		s.mu.Unlock()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
