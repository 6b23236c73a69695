package rlhf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// TaskRecord is one line of a tasks file: a Task with the trap fields that
// its own JSON form leaves out (json:"-"), which only the validator that
// made it has. Its Trap and TrapAnswer shadow the embedded task's.
//
// A tasks file is JSON Lines of TaskRecords: what a validator keeps next to
// its accepted labels, and what `agora labels export` reads.
type TaskRecord struct {
	Task
	Trap       bool   `json:"trap,omitempty"`
	TrapAnswer Choice `json:"trap_answer,omitempty"`
}

// TaskLine encodes t as one line of a tasks file, newline included. It
// refuses a task that fails Validate, which ReadTasks would refuse: one
// such line would make the whole file unreadable.
func TaskLine(t Task) ([]byte, error) {
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("rlhf: %w", err)
	}
	b, err := json.Marshal(TaskRecord{Task: t, Trap: t.Trap, TrapAnswer: t.TrapAnswer})
	if err != nil {
		return nil, fmt.Errorf("rlhf: encode task %q: %w", t.ID, err)
	}
	return append(b, '\n'), nil
}

// ReadTasks parses a tasks file into tasks by id. Empty lines are skipped;
// every other line must be one TaskRecord with no unknown fields, passing
// Validate, with an id of its own. Errors name the line: "line N: ...".
func ReadTasks(data []byte) (map[string]Task, error) {
	tasks := map[string]Task{}
	lineOf := map[string]int{}
	for i, line := range bytes.Split(data, []byte("\n")) {
		n := i + 1
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var tr TaskRecord
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&tr); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, fmt.Errorf("line %d: more than one JSON value (one task per line)", n)
		}
		t := tr.Task
		t.Trap, t.TrapAnswer = tr.Trap, tr.TrapAnswer
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if first, dup := lineOf[t.ID]; dup {
			return nil, fmt.Errorf("line %d: task id %q is also on line %d", n, t.ID, first)
		}
		lineOf[t.ID] = n
		tasks[t.ID] = t
	}
	return tasks, nil
}
