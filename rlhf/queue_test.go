package rlhf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// qNow is the fixed clock of queue tests.
var qNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// queueTask returns a valid task due an hour after qNow.
func queueTask(id string) Task {
	return Task{
		ID:          id,
		Prompt:      "What is 2+2? (" + id + ")",
		CompletionA: "4, because 2+2=4. [" + id + "]",
		CompletionB: "5 [" + id + "]",
		ModelA:      "babyllama105",
		ModelB:      "gpt-x",
		Validator:   strings.Repeat("ab", 32),
		Deadline:    qNow.Add(time.Hour),
		CreatedAt:   qNow.Add(-time.Minute),
	}
}

type queueEnv struct {
	dir   string
	store *Store
	queue *Queue
	opts  QueueOptions
}

func newQueueEnv(t *testing.T, opts QueueOptions) *queueEnv {
	t.Helper()
	e := &queueEnv{dir: t.TempDir(), opts: opts}
	e.store = openT(t, filepath.Join(e.dir, "labels.log"))
	e.reopen(t)
	t.Cleanup(func() {
		_ = e.queue.Close()
		_ = e.store.Close()
	})
	return e
}

// reopen closes the queue (if open) and opens it again on the same file.
func (e *queueEnv) reopen(t *testing.T) {
	t.Helper()
	if e.queue != nil {
		if err := e.queue.Close(); err != nil {
			t.Fatal(err)
		}
	}
	opts := e.opts
	opts.Store = e.store
	if opts.Now == nil {
		opts.Now = func() time.Time { return qNow }
	}
	q, err := OpenQueue(filepath.Join(e.dir, "tasks.log"), opts)
	if err != nil {
		t.Fatal(err)
	}
	e.queue = q
}

// label stores labeler's label for task and tells the queue.
func (e *queueEnv) label(t *testing.T, task, labeler string) {
	t.Helper()
	l := testLabel(task, labeler)
	appendT(t, e.store, l)
	if !e.queue.Complete(task, labeler) {
		t.Fatalf("Complete(%s, %s) = false", task, labeler)
	}
}

func addT(t *testing.T, q *Queue, tasks ...Task) {
	t.Helper()
	if err := q.Add(context.Background(), tasks...); err != nil {
		t.Fatal(err)
	}
}

func nextID(t *testing.T, q *Queue, labeler string, now time.Time) string {
	t.Helper()
	task, ok := q.Next(labeler, now)
	if !ok {
		return ""
	}
	return task.ID
}

func TestQueueAddIsDurableAndIdempotent(t *testing.T) {
	e := newQueueEnv(t, QueueOptions{})
	addT(t, e.queue, queueTask("t1"), queueTask("t2"))
	addT(t, e.queue, queueTask("t1"), queueTask("t3"), queueTask("t3")) // re-send and a duplicate in one call
	if n := e.queue.Len(); n != 3 {
		t.Fatalf("Len = %d, want 3", n)
	}
	e.reopen(t)
	if n := e.queue.Len(); n != 3 {
		t.Fatalf("after reopen Len = %d, want 3", n)
	}
	for i, want := range []string{"t1", "t2", "t3"} {
		task, ok := e.queue.Next(fmt.Sprintf("l%d", i), qNow)
		if !ok || task.ID != want {
			t.Fatalf("Next = %q %v, want %q (arrival order)", task.ID, ok, want)
		}
		if task.ModelA != "babyllama105" || task.CompletionA == "" {
			t.Errorf("task %s lost fields over the log: %+v", want, task)
		}
	}
	// Re-adding a finished task does nothing.
	e.label(t, "t1", "l0")
	addT(t, e.queue, queueTask("t1"))
	if n := e.queue.Len(); n != 2 {
		t.Fatalf("Len after finishing t1 and re-adding it = %d, want 2", n)
	}
}

// TestQueueValidatorQuota: one validator cannot take more than its share
// of the queue; another still gets in, and a finished task frees a place.
func TestQueueValidatorQuota(t *testing.T) {
	e := newQueueEnv(t, QueueOptions{MaxTasks: 10, MaxTasksPerValidator: 2})
	addT(t, e.queue, queueTask("a1"), queueTask("a2"))
	err := e.queue.Add(context.Background(), queueTask("a3"))
	if !errors.Is(err, ErrValidatorQuota) || !strings.Contains(err.Error(), "holds 2 tasks, adding 1 would pass its limit of 2") {
		t.Fatalf("third task of one validator: %v", err)
	}
	other := queueTask("b1")
	other.Validator = strings.Repeat("cd", 32)
	addT(t, e.queue, other)
	e.reopen(t) // the count is rebuilt from the log
	if err := e.queue.Add(context.Background(), queueTask("a3")); !errors.Is(err, ErrValidatorQuota) {
		t.Fatalf("after reopen: %v", err)
	}
	task, ok := e.queue.Next("l0", qNow)
	if !ok || task.ID != "a1" {
		t.Fatalf("Next = %q %v", task.ID, ok)
	}
	e.label(t, "a1", "l0")
	addT(t, e.queue, queueTask("a3"))
}

// TestQueueDropsFarDeadlinesOnOpen: tasks queued before the deadline
// horizon existed, due years away, do not survive a reopen to crowd the
// queue.
func TestQueueDropsFarDeadlinesOnOpen(t *testing.T) {
	e := newQueueEnv(t, QueueOptions{MaxTasks: 4, MaxTasksPerValidator: 4, MaxDeadline: 10 * 365 * 24 * time.Hour})
	for i := range 4 {
		task := queueTask(fmt.Sprintf("far%d", i))
		task.Deadline = qNow.Add(5 * 365 * 24 * time.Hour)
		addT(t, e.queue, task)
	}
	e.opts.MaxDeadline = 0 // the default: 24 hours
	e.reopen(t)
	if n := e.queue.Len(); n != 0 {
		t.Fatalf("after reopen with a 24h horizon the queue holds %d far tasks", n)
	}
	addT(t, e.queue, queueTask("near"))
}

func TestQueueAddRefuses(t *testing.T) {
	e := newQueueEnv(t, QueueOptions{MaxTasks: 2, MaxTasksPerValidator: 2})
	trap := queueTask("trap")
	trap.Trap, trap.TrapAnswer = true, ChoiceA
	expired := queueTask("old")
	expired.Deadline = qNow
	far := queueTask("far")
	far.Deadline = qNow.Add(24*time.Hour + time.Second)
	bad := queueTask("")
	for _, c := range []struct {
		name  string
		tasks []Task
		want  string
		is    error
	}{
		{"invalid", []Task{queueTask("ok"), bad}, "empty id", nil},
		{"trap", []Task{trap}, "traps stay on the validator", nil},
		{"expired", []Task{expired}, "deadline", ErrTaskExpired},
		{"too far", []Task{far}, "more than 24h0m0s ahead", ErrDeadlineTooFar},
		{"full", []Task{queueTask("a"), queueTask("b"), queueTask("c")}, "full", ErrQueueFull},
	} {
		err := e.queue.Add(context.Background(), c.tasks...)
		if err == nil || !strings.Contains(err.Error(), c.want) || (c.is != nil && !errors.Is(err, c.is)) {
			t.Errorf("%s: Add error %v, want one containing %q", c.name, err, c.want)
		}
		if !strings.HasPrefix(fmt.Sprint(err), "rlhf: queue add: ") {
			t.Errorf("%s: error %q does not name the operation", c.name, err)
		}
	}
	if n := e.queue.Len(); n != 0 {
		t.Fatalf("refused Adds queued %d tasks", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.queue.Add(ctx, queueTask("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Add with a cancelled context: %v", err)
	}
	if err := e.queue.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.queue.Add(context.Background(), queueTask("y")); !errors.Is(err, ErrQueueClosed) {
		t.Errorf("Add after Close: %v", err)
	}
}

func TestQueueDistinctLabelers(t *testing.T) {
	e := newQueueEnv(t, QueueOptions{LabelsPerTask: 2})
	addT(t, e.queue, queueTask("t1"), queueTask("t2"))
	// alice and bob both get t1 (two labels per task), carol gets t2.
	if id := nextID(t, e.queue, "alice", qNow); id != "t1" {
		t.Fatalf("alice got %q", id)
	}
	if id := nextID(t, e.queue, "bob", qNow); id != "t1" {
		t.Fatalf("bob got %q", id)
	}
	if id := nextID(t, e.queue, "carol", qNow); id != "t2" {
		t.Fatalf("carol got %q", id)
	}
	// alice never gets t1 again, even after labelling it.
	e.label(t, "t1", "alice")
	if id := nextID(t, e.queue, "alice", qNow); id != "t2" {
		t.Fatalf("alice's second task is %q, want t2", id)
	}
	if id := nextID(t, e.queue, "alice", qNow); id != "" {
		t.Fatalf("alice got a third task %q", id)
	}
	e.label(t, "t1", "bob")
	if e.queue.Len() != 1 {
		t.Fatalf("t1 has two labels but the queue holds %d tasks", e.queue.Len())
	}
	if _, err := e.queue.Assigned("t1", "alice", qNow); !errors.Is(err, ErrUnknownTask) {
		t.Errorf("Assigned on a finished task: %v", err)
	}
	if _, err := e.queue.Assigned("t2", "bob", qNow); !errors.Is(err, ErrNotAssigned) {
		t.Errorf("Assigned on someone else's task: %v", err)
	}
	if _, err := e.queue.Assigned("nope", "bob", qNow); !errors.Is(err, ErrUnknownTask) {
		t.Errorf("Assigned on an unknown task: %v", err)
	}
}

func TestQueueLeases(t *testing.T) {
	lease := 5 * time.Minute
	e := newQueueEnv(t, QueueOptions{Lease: lease})
	addT(t, e.queue, queueTask("t1"), queueTask("t2"))
	if id := nextID(t, e.queue, "alice", qNow); id != "t1" {
		t.Fatalf("alice got %q", id)
	}
	// Within the lease t1 is alice's: re-sent to her, not given to bob.
	later := qNow.Add(lease - time.Second)
	if p := e.queue.Pending("alice", later); len(p) != 1 || p[0].ID != "t1" {
		t.Fatalf("Pending(alice) = %v", p)
	}
	if id := nextID(t, e.queue, "bob", later); id != "t2" {
		t.Fatalf("bob got %q during alice's lease, want t2", id)
	}
	// After it, t1 goes to carol; alice no longer has it pending but may
	// still answer it.
	after := qNow.Add(lease)
	if p := e.queue.Pending("alice", after); len(p) != 0 {
		t.Fatalf("Pending(alice) after the lease = %v", p)
	}
	if id := nextID(t, e.queue, "carol", after); id != "t1" {
		t.Fatalf("carol got %q after alice's lease ran out, want t1", id)
	}
	if id := nextID(t, e.queue, "alice", after); id != "" {
		t.Fatalf("alice got %q: she was given t1 before and t2 is bob's", id)
	}
	if _, err := e.queue.Assigned("t1", "alice", after); err != nil {
		t.Errorf("a late answer from alice is refused: %v", err)
	}
	// Complete needs the label in the store.
	if e.queue.Complete("t1", "alice") {
		t.Error("Complete without a stored label returned true")
	}
	e.label(t, "t1", "alice")
	if p := e.queue.Pending("carol", after); len(p) != 0 {
		t.Errorf("t1 is done, yet carol still has it pending: %v", p)
	}
}

func TestQueueDeadlines(t *testing.T) {
	e := newQueueEnv(t, QueueOptions{})
	soon := queueTask("soon")
	soon.Deadline = qNow.Add(time.Minute)
	addT(t, e.queue, soon, queueTask("later"))
	if id := nextID(t, e.queue, "alice", qNow.Add(time.Minute)); id != "later" {
		t.Fatalf("Next at the first task's deadline gave %q", id)
	}
	if n := e.queue.Len(); n != 1 {
		t.Fatalf("Len = %d after the expired task was met", n)
	}
	if n := e.queue.Expire(qNow.Add(2 * time.Hour)); n != 1 {
		t.Fatalf("Expire dropped %d, want 1", n)
	}
	if _, err := e.queue.Assigned("later", "alice", qNow.Add(2*time.Hour)); !errors.Is(err, ErrUnknownTask) {
		t.Errorf("Assigned after expiry: %v", err)
	}
	// A reopen drops tasks past their deadline.
	e2 := newQueueEnv(t, QueueOptions{})
	addT(t, e2.queue, soon, queueTask("later"))
	e2.opts.Now = func() time.Time { return qNow.Add(time.Minute) }
	e2.reopen(t)
	if n := e2.queue.Len(); n != 1 {
		t.Fatalf("after a reopen past a deadline Len = %d, want 1", n)
	}
}

func TestQueueReopenDropsLabelledAndCompacts(t *testing.T) {
	e := newQueueEnv(t, QueueOptions{})
	var tasks []Task
	for i := range 200 {
		tasks = append(tasks, queueTask(fmt.Sprintf("t%03d", i)))
	}
	addT(t, e.queue, tasks...)
	for i := range 150 {
		id := nextID(t, e.queue, "alice", qNow)
		if id != fmt.Sprintf("t%03d", i) {
			t.Fatalf("Next = %q", id)
		}
		// The store has the label, but the queue is not told (a crash
		// between Append and Complete): the reopen must see it anyway.
		appendT(t, e.store, testLabel(id, "alice"))
	}
	before, err := os.Stat(e.queue.Path())
	if err != nil {
		t.Fatal(err)
	}
	e.reopen(t)
	if n := e.queue.Len(); n != 50 {
		t.Fatalf("after reopen Len = %d, want 50", n)
	}
	after, err := os.Stat(e.queue.Path())
	if err != nil {
		t.Fatal(err)
	}
	if after.Size() >= before.Size()/2 {
		t.Errorf("log not compacted: %d bytes before, %d after", before.Size(), after.Size())
	}
	if after.Mode().Perm() != 0o600 {
		t.Errorf("compacted log has mode %v", after.Mode().Perm())
	}
	if id := nextID(t, e.queue, "bob", qNow); id != "t150" {
		t.Fatalf("first task after reopen is %q, want t150", id)
	}
	e.reopen(t) // the compacted log reads back
	if n := e.queue.Len(); n != 50 {
		t.Fatalf("after a second reopen Len = %d, want 50", n)
	}
}

func TestQueueTornTailAndCorruption(t *testing.T) {
	e := newQueueEnv(t, QueueOptions{})
	addT(t, e.queue, queueTask("t1"), queueTask("t2"), queueTask("t3"))
	if err := e.queue.Close(); err != nil {
		t.Fatal(err)
	}
	path := e.queue.Path()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A torn last record is cut off.
	if err := os.WriteFile(path, data[:len(data)-5], 0o600); err != nil {
		t.Fatal(err)
	}
	e.queue = nil
	e.reopen(t)
	if n := e.queue.Len(); n != 2 {
		t.Fatalf("after a torn tail Len = %d, want 2", n)
	}
	// A damaged record with a good one after it is refused.
	if err := e.queue.Close(); err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), data...)
	bad[len(queueMagic)+20] ^= 0xff
	if err := os.WriteFile(path, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = OpenQueue(path, QueueOptions{Store: e.store, Now: func() time.Time { return qNow }})
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Offset != int64(len(queueMagic)) || !strings.Contains(err.Error(), "open queue") {
		t.Fatalf("OpenQueue on a damaged log: %v", err)
	}
	// Not a queue at all.
	other := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(other, []byte("hello world"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenQueue(other, QueueOptions{Store: e.store}); err == nil || !strings.Contains(err.Error(), "not a task queue") {
		t.Fatalf("OpenQueue on another file: %v", err)
	}
	if _, err := OpenQueue(other, QueueOptions{}); err == nil || !strings.Contains(err.Error(), "Store is required") {
		t.Fatalf("OpenQueue without a store: %v", err)
	}
	e.queue = nil
	e.opts = QueueOptions{}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	e.reopen(t)
}

func TestQueueConcurrent(t *testing.T) {
	e := newQueueEnv(t, QueueOptions{})
	const adders, per = 16, 50
	var wg sync.WaitGroup
	for a := range adders {
		wg.Go(func() {
			for i := range per {
				if err := e.queue.Add(context.Background(), queueTask(fmt.Sprintf("a%d-%d", a, i))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	changed := e.queue.Changed()
	wg.Wait()
	select {
	case <-changed:
	default:
		t.Error("Changed did not fire on Add")
	}
	// Labelers take tasks concurrently: every task is handed out once.
	got := make(chan string, adders*per)
	for l := range 20 {
		wg.Go(func() {
			for {
				task, ok := e.queue.Next(fmt.Sprintf("l%d", l), qNow)
				if !ok {
					return
				}
				got <- task.ID
			}
		})
	}
	wg.Wait()
	close(got)
	seen := map[string]bool{}
	for id := range got {
		if seen[id] {
			t.Fatalf("task %s handed out twice", id)
		}
		seen[id] = true
	}
	if len(seen) != adders*per {
		t.Fatalf("%d tasks handed out, want %d", len(seen), adders*per)
	}
	e.reopen(t)
	if n := e.queue.Len(); n != adders*per {
		t.Fatalf("after reopen Len = %d, want %d", n, adders*per)
	}
}

func TestQueueNextChecksStore(t *testing.T) {
	e := newQueueEnv(t, QueueOptions{LabelsPerTask: 2})
	addT(t, e.queue, queueTask("t1"))
	// alice's label is in the store, but the queue was never told (as
	// after a crash between Append and Complete): she must not get t1.
	appendT(t, e.store, testLabel("t1", "alice"))
	if id := nextID(t, e.queue, "alice", qNow); id != "" {
		t.Fatalf("alice got %q, which she labelled", id)
	}
	appendT(t, e.store, testLabel("t1", "bob"))
	if id := nextID(t, e.queue, "bob", qNow); id != "" {
		t.Fatalf("bob got %q, which he labelled", id)
	}
	if n := e.queue.Len(); n != 0 {
		t.Fatalf("t1 has its two labels, yet Len = %d", n)
	}
	addT(t, e.queue, queueTask("t1")) // a re-send is a no-op
	if n := e.queue.Len(); n != 0 {
		t.Fatalf("re-sent finished task queued again: Len = %d", n)
	}
}
