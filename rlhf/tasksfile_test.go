package rlhf

import (
	"strings"
	"testing"
	"time"
)

// A tasks file round-trips a task with its trap fields, which the task's
// own JSON form leaves out.
func TestTasksFileRoundTrip(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	in := Task{ID: "t1", Prompt: "p", CompletionA: "a", CompletionB: "b", Validator: strings.Repeat("ab", 32), Deadline: at, CreatedAt: at, Trap: true, TrapAnswer: ChoiceB}
	line, err := TaskLine(in)
	if err != nil || !strings.HasSuffix(string(line), "\n") || !strings.Contains(string(line), `"trap_answer":"b"`) {
		t.Fatalf("TaskLine: %q, %v", line, err)
	}
	plain := in
	plain.ID, plain.Trap, plain.TrapAnswer = "t2", false, ""
	line2, _ := TaskLine(plain)
	if strings.Contains(string(line2), "trap") {
		t.Fatalf("a plain task's line mentions traps: %s", line2)
	}
	got, err := ReadTasks(append(append(line, '\n'), line2...))
	if err != nil || len(got) != 2 || got["t1"] != in || got["t2"] != plain {
		t.Fatalf("ReadTasks: %+v, %v", got, err)
	}
	if _, err := ReadTasks(append(line, line...)); err == nil || !strings.Contains(err.Error(), `line 2: task id "t1" is also on line 1`) {
		t.Fatalf("duplicate id: %v", err)
	}
}

// TaskLine refuses what ReadTasks would: one bad line would make the
// whole tasks file unreadable.
func TestTaskLineRefusesInvalidTasks(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	trap := Task{ID: "t1", Prompt: "p", CompletionA: "a", CompletionB: "b", Validator: strings.Repeat("ab", 32), Deadline: at, CreatedAt: at, Trap: true}
	if line, err := TaskLine(trap); err == nil || !strings.Contains(err.Error(), `task "t1": trap answer`) {
		t.Fatalf("a trap without its answer: %q, %v", line, err)
	}
}
