package rlhf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrapBook: verdicts are counted once per (task, labeler), the first
// one wins, and the counts survive reopening; a torn tail from a crash is
// dropped; a damaged record with good ones after it is refused, naming the
// file; a bad verdict is refused and nothing of its batch counted.
func TestTrapBook(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traps.log")
	b, err := OpenTrapBook(path)
	if err != nil {
		t.Fatal(err)
	}
	added, changed, err := b.Record([]TrapVerdict{
		{TaskID: "v:t1", LabelerID: "ann", Correct: true},
		{TaskID: "v:t1", LabelerID: "ann", Correct: false}, // the same label again
		{TaskID: "v:t2", LabelerID: "ann", Correct: false},
		{TaskID: "v:t1", LabelerID: "bob", Correct: true},
	})
	if err != nil || added != 3 || strings.Join(changed, ",") != "ann,bob" {
		t.Fatalf("Record = %d, %v, %v; want 3, [ann bob], nil", added, changed, err)
	}
	if added, changed, err := b.Record([]TrapVerdict{{TaskID: "v:t2", LabelerID: "ann", Correct: true}}); err != nil || added != 0 || changed != nil {
		t.Fatalf("a verdict counted before: Record = %d, %v, %v", added, changed, err)
	}
	if _, _, err := b.Record([]TrapVerdict{{TaskID: "v:t3", LabelerID: "cy"}, {TaskID: "", LabelerID: "cy"}}); err == nil || !strings.Contains(err.Error(), "task_id") {
		t.Fatalf("an empty task id: %v", err)
	}
	check := func(b *TrapBook, when string) {
		t.Helper()
		for _, w := range []struct {
			labeler           string
			resolved, correct int
		}{{"ann", 2, 1}, {"bob", 1, 1}, {"cy", 0, 0}} {
			if r, c := b.Stats(w.labeler); r != w.resolved || c != w.correct {
				t.Errorf("%s: %s has %d resolved, %d correct; want %d, %d", when, w.labeler, r, c, w.resolved, w.correct)
			}
		}
	}
	check(b, "after recording")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Record([]TrapVerdict{{TaskID: "v:t4", LabelerID: "ann"}}); err == nil {
		t.Fatal("Record after Close succeeded")
	}

	// Reopened, and with a torn record at the end, as a crash mid-write
	// leaves: the same counts, and the tail is gone.
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	torn := append(append([]byte{}, good...), 40, 0, 0, 0, 1, 2)
	if err := os.WriteFile(path, torn, 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err = OpenTrapBook(path); err != nil {
		t.Fatal(err)
	}
	check(b, "after reopening a torn file")
	if _, _, err := b.Record([]TrapVerdict{{TaskID: "v:t5", LabelerID: "cy", Correct: true}}); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if b, err = OpenTrapBook(path); err != nil {
		t.Fatal(err)
	}
	if r, c := b.Stats("cy"); r != 1 || c != 1 {
		t.Errorf("a verdict written after the torn tail was cut: cy has %d, %d", r, c)
	}
	b.Close()

	// A damaged record followed by good ones is not a torn tail.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(trapMagic)+10] ^= 0xff
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	var ce *CorruptError
	if _, err := OpenTrapBook(path); !errors.As(err, &ce) || ce.Path != path {
		t.Fatalf("damaged trap book: %v, want a *CorruptError naming it", err)
	}
	// Nor is another file.
	other := filepath.Join(t.TempDir(), "labels.log")
	if err := os.WriteFile(other, []byte(magic), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenTrapBook(other); err == nil || !strings.Contains(err.Error(), "not a trap book") {
		t.Fatalf("a label store opened as a trap book: %v", err)
	}
}
