package rlhf

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
)

// TrapVerdict is a validator's verdict on one labeler's label of one of
// its trap tasks.
type TrapVerdict struct {
	TaskID    string `json:"task_id"`
	LabelerID string `json:"labeler_id"`
	Correct   bool   `json:"correct"`
}

// Validate reports an empty or over-long id.
func (v *TrapVerdict) Validate() error {
	for _, f := range []struct{ name, v string }{{"task_id", v.TaskID}, {"labeler_id", v.LabelerID}} {
		if f.v == "" || len(f.v) > MaxIDBytes {
			return fmt.Errorf("trap verdict: %s is %d bytes, want 1 to %d", f.name, len(f.v), MaxIDBytes)
		}
	}
	return nil
}

// TrapBook counts, per labeler, the trap labels validators have judged and
// how many of them were right, each (task, labeler) once: what a miner
// shows each labeler as its own trap accuracy. It keeps the verdicts in a
// log framed like the label store's (its own magic, "AGTRPv1\n"), so a
// restarted miner shows the same counts. Safe for concurrent use.
type TrapBook struct {
	mu       sync.Mutex
	f        *os.File
	path     string
	seen     map[key]bool
	resolved map[string]int
	correct  map[string]int
	err      error // a failed write or fsync: the book refuses further ones
}

const (
	trapMagic          = "AGTRPv1\n"
	maxTrapRecordBytes = 4 << 10 // two ids of at most MaxIDBytes, escaped
)

// OpenTrapBook opens the trap book at path, creating it (mode 0600) if it
// does not exist, and reads it back; a torn tail left by a crash is
// truncated away. Close it when done.
func OpenTrapBook(path string) (*TrapBook, error) {
	f, created, err := openOrCreate(path)
	if err != nil {
		return nil, fmt.Errorf("rlhf: open trap book %s: %w", path, err)
	}
	verdicts, _, _, err := readLog(f, path, trapMagic, "trap book", created, decodeTrapRecord)
	if err != nil {
		_ = f.Close()
		var ce *CorruptError
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, fmt.Errorf("rlhf: open trap book %s: %w", path, err)
	}
	b := &TrapBook{f: f, path: path, seen: map[key]bool{}, resolved: map[string]int{}, correct: map[string]int{}}
	for _, v := range verdicts {
		b.count(v)
	}
	return b, nil
}

func decodeTrapRecord(b []byte) (TrapVerdict, int, string) {
	return decodeJSONFrame[TrapVerdict](b, maxTrapRecordBytes)
}

// count adds v unless its (task, labeler) was counted before, and says
// whether it did. The caller holds b.mu (or has b to itself).
func (b *TrapBook) count(v TrapVerdict) bool {
	k := key{v.TaskID, v.LabelerID}
	if b.seen[k] {
		return false
	}
	b.seen[k] = true
	b.resolved[v.LabelerID]++
	if v.Correct {
		b.correct[v.LabelerID]++
	}
	return true
}

// Record adds the verdicts whose (task, labeler) it has not counted
// before, first the first of each, and returns how many it added and the
// labelers whose counts changed. They are written and fsynced before it
// returns; on an error none of them is counted, and the book refuses
// further writes (reopen it to recover).
func (b *TrapBook) Record(verdicts []TrapVerdict) (added int, changed []string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, nil, b.err
	}
	var buf []byte
	var fresh []TrapVerdict
	batch := map[key]bool{}
	for _, v := range verdicts {
		if err := v.Validate(); err != nil {
			return 0, nil, err
		}
		k := key{v.TaskID, v.LabelerID}
		if b.seen[k] || batch[k] {
			continue
		}
		batch[k] = true
		payload, err := json.Marshal(v)
		if err != nil {
			return 0, nil, err
		}
		rec, err := frameRecord(payload, maxTrapRecordBytes)
		if err != nil {
			return 0, nil, err
		}
		buf = append(buf, rec...)
		fresh = append(fresh, v)
	}
	if len(fresh) == 0 {
		return 0, nil, nil
	}
	if _, err := b.f.Write(buf); err != nil {
		b.err = fmt.Errorf("rlhf: trap book %s: write: %w", b.path, err)
		return 0, nil, b.err
	}
	if err := b.f.Sync(); err != nil {
		b.err = fmt.Errorf("rlhf: trap book %s: fsync: %w", b.path, err)
		return 0, nil, b.err
	}
	seen := map[string]bool{}
	for _, v := range fresh {
		b.count(v)
		if !seen[v.LabelerID] {
			seen[v.LabelerID] = true
			changed = append(changed, v.LabelerID)
		}
	}
	return len(fresh), changed, nil
}

// Stats returns how many of a labeler's trap labels validators have
// judged, and how many were right.
func (b *TrapBook) Stats(labeler string) (resolved, correct int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.resolved[labeler], b.correct[labeler]
}

// Close closes the book's file.
func (b *TrapBook) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil {
		b.err = errors.New("rlhf: trap book closed")
	}
	return b.f.Close()
}
