package rlhf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/seed0ffb8d46/agora/internal/atomicfile"
)

// The file format of a Queue: the framing of a Store (see store.go), with
// its own magic and a Task as JSON (encoding/json of Task, which leaves
// out Trap and TrapAnswer) for payload.
//
//	file   = queueMagic record*
//	record = length crc payload        as in a store file, payload 1..maxTaskRecordBytes
//
// The log holds only the tasks that arrived, in arrival order. Whether a
// task is done is not logged: it is read from the label Store, which is
// the record of what labelers answered. Assignments to labelers are kept
// in memory only; after a restart, unfinished tasks are handed out again.
const (
	queueMagic         = "AGTSKv1\n"
	maxTaskRecordBytes = 1 << 20
)

// Queue errors that callers test for with errors.Is.
var (
	// ErrQueueClosed is returned by Add after Close.
	ErrQueueClosed = errors.New("rlhf: task queue is closed")
	// ErrQueueFull is returned by Add when the queue holds
	// QueueOptions.MaxTasks tasks.
	ErrQueueFull = errors.New("task queue is full")
	// ErrUnknownTask is returned by Queue.Assigned for a task the queue
	// does not hold (never added, done, or dropped at its deadline).
	ErrUnknownTask = errors.New("unknown task")
	// ErrNotAssigned is returned by Queue.Assigned for a task that was
	// never handed to the labeler.
	ErrNotAssigned = errors.New("task not assigned to this labeler")
	// ErrTaskExpired is returned by Queue.Assigned and Queue.Add for a task
	// whose deadline has passed.
	ErrTaskExpired = errors.New("task deadline has passed")
	// ErrValidatorQuota is returned by Add when the tasks' validator
	// already holds QueueOptions.MaxTasksPerValidator of the queue.
	ErrValidatorQuota = errors.New("validator's share of the task queue is full")
	// ErrDeadlineTooFar is returned by Add for a task whose deadline is
	// more than QueueOptions.MaxDeadline away.
	ErrDeadlineTooFar = errors.New("task deadline is too far away")
)

// QueueOptions configures a Queue.
type QueueOptions struct {
	// Store is the label store of the hub that serves the queue
	// (required). A task is done when the Store holds labels for it from
	// LabelsPerTask distinct labelers; OpenQueue reads it to drop tasks
	// finished before a restart.
	Store *Store
	// LabelsPerTask is how many distinct labelers answer each task; 0
	// means 1.
	LabelsPerTask int
	// Lease is how long a task handed to a labeler stays reserved for it
	// while it is unanswered: re-sent on every reconnect, and not handed
	// to anyone else. After that the task goes to another labeler (the
	// first one may still answer it). 0 means 10 minutes.
	Lease time.Duration
	// MaxTasks caps how many unfinished tasks the queue holds; Add beyond
	// it fails with ErrQueueFull. 0 means 100,000.
	MaxTasks int
	// MaxTasksPerValidator caps the unfinished tasks of one validator, so
	// that one cannot fill the queue for the others; Add beyond it fails
	// with ErrValidatorQuota (concurrent Adds of one validator may pass it
	// by their sizes, as they may MaxTasks). 0 means MaxTasks/16.
	MaxTasksPerValidator int
	// MaxDeadline is how far ahead a task's deadline may be when it is
	// added; Add refuses a later one with ErrDeadlineTooFar, so that no
	// task holds its place for good. 0 means 24 hours.
	MaxDeadline time.Duration
	// Now is the clock Add uses to refuse expired tasks and OpenQueue to
	// drop them; nil means time.Now. (Next, Pending and Assigned take the
	// time as an argument.)
	Now func() time.Time
}

// Queue is the durable queue of preference tasks a miner received from
// validators, waiting for its labelers.
//
// Add returns only after the task is written and fsynced, so a restart
// loses no task that a validator saw accepted. Each task is handed to
// LabelsPerTask distinct labelers before its deadline, never twice to the
// same labeler; a task handed out and not answered is leased to that
// labeler (see QueueOptions.Lease). Tasks are handed out in arrival order.
// A task leaves the queue when the Store holds enough labels for it
// (Complete tells the queue) or at its deadline.
//
// All methods are safe for concurrent use. A file must be open in one
// Queue, in one process, at a time.
type Queue struct {
	path     string
	store    *Store
	perTask  int
	lease    time.Duration
	maxTasks int
	maxPerV  int
	horizon  time.Duration
	now      func() time.Time

	// Writing: Add appends its records to the batch being gathered; the
	// first Add that finds no flush in progress writes and fsyncs batches
	// until none is waiting (group commit).
	wmu      sync.Mutex
	f        *os.File
	batch    *queueBatch
	flushing bool
	werr     error // first write or fsync error; sticky
	wclosed  bool
	flushes  sync.WaitGroup

	mu      sync.Mutex
	tasks   map[string]*queued
	perV    map[string]int       // validator → its tasks in tasks
	order   []*queued            // arrival order; entries with gone set are skipped and compacted away
	leased  map[string][]*queued // labeler → tasks leased to it, possibly stale (checked on use)
	done    map[string]time.Time // finished task id → deadline, so a re-sent Add stays a no-op
	doneIDs []string             // the keys of done, oldest first; bounds it
	changed chan struct{}
	closed  bool
}

// queued is a task in the queue and what labelers did with it.
type queued struct {
	task    Task
	assigns map[string]*assignment // labeler → its assignment
	ndone   int                    // labelers with a stored label
	gone    bool                   // finished or expired; no longer in tasks
	// fullUntil is when the task may next have a free place, if it has
	// none now: the end of the earliest lease that keeps it full. Next
	// skips the task before then without counting its leases.
	fullUntil time.Time
}

// assignment is a task handed to one labeler.
type assignment struct {
	at   time.Time // when it was handed out; the lease runs from here
	done bool      // the labeler's label is stored
}

// queueBatch is records gathered for one write and fsync.
type queueBatch struct {
	buf  []byte
	done chan struct{}
	err  error
}

// OpenQueue opens the task queue log at path, creating it (mode 0600) if
// it does not exist. An existing log is read back: a torn record at its
// end is cut off, a damaged record in the middle fails the open (with an
// error that unwraps to *CorruptError), tasks past their deadline (or due
// more than MaxDeadline ahead) or already labelled in opts.Store by enough
// labelers are dropped, and if that leaves fewer than half the records the
// log is rewritten without them (to a temporary file, fsynced and renamed
// into place).
func OpenQueue(path string, opts QueueOptions) (*Queue, error) {
	fail := func(err error) (*Queue, error) { return nil, fmt.Errorf("rlhf: open queue %s: %w", path, err) }
	if opts.Store == nil {
		return fail(errors.New("QueueOptions.Store is required"))
	}
	if opts.LabelsPerTask < 0 || opts.Lease < 0 || opts.MaxTasks < 0 || opts.MaxTasksPerValidator < 0 || opts.MaxDeadline < 0 {
		return fail(errors.New("negative LabelsPerTask, Lease, MaxTasks, MaxTasksPerValidator or MaxDeadline"))
	}
	q := &Queue{
		path:     path,
		store:    opts.Store,
		perTask:  cmpOr(opts.LabelsPerTask, 1),
		lease:    cmpOr(opts.Lease, 10*time.Minute),
		maxTasks: cmpOr(opts.MaxTasks, 100_000),
		horizon:  cmpOr(opts.MaxDeadline, 24*time.Hour),
		now:      opts.Now,
		tasks:    map[string]*queued{},
		perV:     map[string]int{},
		leased:   map[string][]*queued{},
		done:     map[string]time.Time{},
		changed:  make(chan struct{}),
	}
	q.maxPerV = cmpOr(opts.MaxTasksPerValidator, max(q.maxTasks/16, 1))
	if q.now == nil {
		q.now = time.Now
	}
	f, created, err := openOrCreate(path)
	if err != nil {
		return fail(err)
	}
	q.f = f
	if err := q.load(created); err != nil {
		_ = q.f.Close()
		var ce *CorruptError
		if errors.As(err, &ce) {
			return nil, &queueCorruptError{ce}
		}
		return fail(err)
	}
	return q, nil
}

// queueCorruptError words a *CorruptError for a queue log.
type queueCorruptError struct{ *CorruptError }

func (e *queueCorruptError) Error() string {
	return fmt.Sprintf("rlhf: open queue %s: record at offset %d is corrupt (%s) and a valid record follows at offset %d: refusing to drop accepted tasks",
		e.Path, e.Offset, e.Reason, e.Next)
}

func (e *queueCorruptError) Unwrap() error { return e.CorruptError }

func cmpOr[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// decodeTaskRecord decodes a queue record as decodeRecord does a label's.
func decodeTaskRecord(b []byte) (Task, int, string) {
	return decodeJSONFrame[Task](b, maxTaskRecordBytes)
}

// encodeTaskRecord returns the framed record of t.
func encodeTaskRecord(t *Task) ([]byte, error) {
	payload, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	return frameRecord(payload, maxTaskRecordBytes)
}

// load reads the log into q (see OpenQueue and readLog).
func (q *Queue) load(created bool) error {
	tasks, _, _, err := readLog(q.f, q.path, queueMagic, "task queue", created, decodeTaskRecord)
	if err != nil {
		return err
	}

	labelers := map[string][]string{} // task → labelers with a stored label
	for l := range q.store.Iterate() {
		labelers[l.TaskID] = append(labelers[l.TaskID], l.LabelerID)
	}
	now := q.now()
	var live []Task
	for _, t := range tasks {
		if _, dup := q.tasks[t.ID]; dup {
			continue
		}
		if _, dup := q.done[t.ID]; dup {
			continue
		}
		if !now.Before(t.Deadline) || t.Deadline.Sub(now) > q.horizon {
			continue // expired, or held a place too long (from before MaxDeadline)
		}
		e := &queued{task: t, assigns: map[string]*assignment{}}
		for _, lab := range labelers[t.ID] {
			e.assigns[lab] = &assignment{done: true}
			e.ndone++
		}
		if e.ndone >= q.perTask {
			q.markDoneLocked(t.ID, t.Deadline)
			continue
		}
		q.tasks[t.ID] = e
		q.perV[t.Validator]++
		q.order = append(q.order, e)
		live = append(live, t)
	}
	if len(tasks) > 64 && 2*len(live) < len(tasks) {
		return q.rewrite(live)
	}
	return nil
}

// rewrite replaces the log with one that holds only tasks: a temporary
// file in the same directory, fsynced, renamed over the log, and the
// directory fsynced.
func (q *Queue) rewrite(tasks []Task) error {
	buf := []byte(queueMagic)
	for i := range tasks {
		rec, err := encodeTaskRecord(&tasks[i])
		if err != nil {
			return fmt.Errorf("compact: %w", err)
		}
		buf = append(buf, rec...)
	}
	if err := atomicfile.WriteFile(q.path, buf, 0o600); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	f, err := os.OpenFile(q.path, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("compact: reopen: %w", err)
	}
	_ = q.f.Close()
	q.f = f
	return nil
}

// Add queues tasks durably: it returns nil only after every task is in the
// queue and its record is fsynced. It is idempotent by task ID: a task the
// queue holds or has finished is not added again (and that is not an
// error), so a validator may re-send. Tasks are checked first and nothing
// is added if one is invalid (Task.Validate), a trap (traps are the
// validator's secret and must never reach a miner), past its deadline
// (ErrTaskExpired), or over QueueOptions.MaxTasks (ErrQueueFull). If ctx
// ends while Add waits for the fsync, Add returns its error and the tasks
// may or may not be queued; adding them again is safe.
func (q *Queue) Add(ctx context.Context, tasks ...Task) error {
	fail := func(err error) error { return fmt.Errorf("rlhf: queue add: %w", err) }
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	now := q.now()
	var recs []byte
	var fresh []Task
	seen := map[string]bool{}
	newPerV := map[string]int{}
	q.mu.Lock()
	closed, n := q.closed, len(q.tasks)
	for i := range tasks {
		t := tasks[i]
		if err := t.Validate(); err != nil {
			q.mu.Unlock()
			return fail(err)
		}
		if t.Trap {
			q.mu.Unlock()
			return fail(fmt.Errorf("task %q is a trap: traps stay on the validator", t.ID))
		}
		if _, ok := q.tasks[t.ID]; ok || seen[t.ID] {
			continue
		}
		if _, ok := q.done[t.ID]; ok {
			continue
		}
		if !now.Before(t.Deadline) {
			q.mu.Unlock()
			return fail(fmt.Errorf("task %q: %w (deadline %s)", t.ID, ErrTaskExpired, t.Deadline.UTC().Format(time.RFC3339)))
		}
		if t.Deadline.Sub(now) > q.horizon {
			q.mu.Unlock()
			return fail(fmt.Errorf("task %q: %w: deadline %s is more than %s ahead", t.ID, ErrDeadlineTooFar, t.Deadline.UTC().Format(time.RFC3339), q.horizon))
		}
		seen[t.ID] = true
		fresh = append(fresh, t)
		newPerV[t.Validator]++
	}
	var quota error
	for v, k := range newPerV {
		if held := q.perV[v]; held+k > q.maxPerV {
			quota = fmt.Errorf("%w: validator %s holds %d tasks, adding %d would pass its limit of %d", ErrValidatorQuota, v, held, k, q.maxPerV)
		}
	}
	q.mu.Unlock()
	if closed {
		return ErrQueueClosed
	}
	if len(fresh) == 0 {
		return nil
	}
	if n+len(fresh) > q.maxTasks {
		return fail(fmt.Errorf("%w: %d tasks held, limit %d", ErrQueueFull, n, q.maxTasks))
	}
	if quota != nil {
		return fail(quota)
	}
	for i := range fresh {
		rec, err := encodeTaskRecord(&fresh[i])
		if err != nil {
			return fail(fmt.Errorf("task %q: %w", fresh[i].ID, err))
		}
		recs = append(recs, rec...)
	}
	if err := q.commit(ctx, recs); err != nil {
		return fail(err)
	}
	q.mu.Lock()
	added := false
	for _, t := range fresh {
		if _, ok := q.tasks[t.ID]; ok {
			continue // a concurrent Add of the same task got here first
		}
		if _, ok := q.done[t.ID]; ok {
			continue
		}
		e := &queued{task: t, assigns: map[string]*assignment{}}
		q.tasks[t.ID] = e
		q.perV[t.Validator]++
		q.order = append(q.order, e)
		added = true
	}
	if added {
		q.notifyLocked()
	}
	q.mu.Unlock()
	return nil
}

// commit writes recs to the log and fsyncs it, together with the records
// of every other Add waiting at that moment.
func (q *Queue) commit(ctx context.Context, recs []byte) error {
	q.wmu.Lock()
	switch {
	case q.wclosed:
		q.wmu.Unlock()
		return ErrQueueClosed
	case q.werr != nil:
		err := q.werr
		q.wmu.Unlock()
		return err
	}
	if q.batch == nil {
		q.batch = &queueBatch{done: make(chan struct{})}
	}
	b := q.batch
	b.buf = append(b.buf, recs...)
	if q.flushing {
		q.wmu.Unlock()
		select {
		case <-b.done:
			return b.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	q.flushing = true
	q.flushes.Add(1)
	defer q.flushes.Done()
	for q.batch != nil {
		cur := q.batch
		q.batch = nil
		werr := q.werr
		q.wmu.Unlock()
		if werr == nil {
			if _, werr = q.f.Write(cur.buf); werr == nil {
				werr = q.f.Sync()
			}
			if werr != nil {
				werr = fmt.Errorf("write %s: %w (the queue refuses writes until reopened)", q.path, werr)
			}
		}
		cur.err = werr
		close(cur.done)
		q.wmu.Lock()
		if werr != nil && q.werr == nil {
			q.werr = werr
		}
	}
	q.flushing = false
	q.wmu.Unlock()
	return b.err
}

// notifyLocked wakes everyone waiting on Changed. q.mu must be held.
func (q *Queue) notifyLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// Changed returns a channel that is closed the next time tasks are added.
// A hub waits on it to hand new tasks to idle labelers; call Changed again
// after it fires. (Leases that run out free tasks too, without a signal:
// poll Next now and then.)
func (q *Queue) Changed() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.changed
}

// Next hands labeler the oldest task it may take at now, and leases it to
// the labeler: a task before its deadline that the labeler was never
// given, with fewer than LabelsPerTask labelers that answered it or hold
// an unexpired lease on it. It returns false if there is none. Next does
// not look at the labeler's own leases: call Pending first to resume
// them.
func (q *Queue) Next(labeler string, now time.Time) (Task, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	dead := 0
	for _, e := range q.order {
		if e.gone {
			dead++
			continue
		}
		if !now.Before(e.task.Deadline) {
			q.dropLocked(e)
			dead++
			continue
		}
		if now.Before(e.fullUntil) {
			continue
		}
		if _, given := e.assigns[labeler]; given {
			continue
		}
		if q.busyLocked(e, now) >= q.perTask {
			e.fullUntil = q.fullUntilLocked(e, now)
			continue
		}
		if _, labelled := q.store.Get(e.task.ID, labeler); labelled {
			// Labelled before the queue knew (a restart, or a task
			// re-added after it was forgotten): count it, never re-send.
			e.assigns[labeler] = &assignment{at: now, done: true}
			if e.ndone++; e.ndone >= q.perTask {
				q.dropLocked(e)
				q.markDoneLocked(e.task.ID, e.task.Deadline)
				dead++
			}
			continue
		}
		e.assigns[labeler] = &assignment{at: now}
		if q.busyLocked(e, now) >= q.perTask {
			e.fullUntil = q.fullUntilLocked(e, now)
		}
		q.leased[labeler] = append(q.leased[labeler], e)
		q.compactLocked(dead)
		return e.task, true
	}
	q.compactLocked(dead)
	return Task{}, false
}

// busyLocked counts the labelers that answered e or hold a lease on it.
func (q *Queue) busyLocked(e *queued, now time.Time) int {
	n := e.ndone
	for _, a := range e.assigns {
		if !a.done && now.Sub(a.at) < q.lease {
			n++
		}
	}
	return n
}

// fullUntilLocked returns when the earliest unexpired, unanswered lease
// on e ends: the first moment e may have a free place again.
func (q *Queue) fullUntilLocked(e *queued, now time.Time) time.Time {
	var first time.Time
	for _, a := range e.assigns {
		if end := a.at.Add(q.lease); !a.done && now.Before(end) && (first.IsZero() || end.Before(first)) {
			first = end
		}
	}
	return first
}

// dropLocked removes e from the queue (finished or expired).
func (q *Queue) dropLocked(e *queued) {
	if e.gone {
		return
	}
	e.gone = true
	delete(q.tasks, e.task.ID)
	if q.perV[e.task.Validator]--; q.perV[e.task.Validator] <= 0 {
		delete(q.perV, e.task.Validator)
	}
}

// compactLocked drops finished entries from the front of q.order, and
// rewrites it when more than half of it is dead.
func (q *Queue) compactLocked(dead int) {
	i := 0
	for i < len(q.order) && q.order[i].gone {
		i++
	}
	q.order = q.order[i:]
	if dead-i > 64 && 2*(dead-i) > len(q.order) {
		q.order = slices.DeleteFunc(slices.Clone(q.order), func(e *queued) bool { return e.gone })
	}
}

// Pending returns the tasks leased to labeler that it has not answered,
// whose lease and deadline have not passed at now, oldest lease first. A
// hub re-sends them when the labeler reconnects.
func (q *Queue) Pending(labeler string, now time.Time) []Task {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []Task
	keep := q.leased[labeler][:0]
	for _, e := range q.leased[labeler] {
		a := e.assigns[labeler]
		if e.gone || a == nil || a.done || now.Sub(a.at) >= q.lease || !now.Before(e.task.Deadline) {
			continue
		}
		keep = append(keep, e)
		out = append(out, e.task)
	}
	if len(keep) == 0 {
		delete(q.leased, labeler)
	} else {
		clear(q.leased[labeler][len(keep):])
		q.leased[labeler] = keep
	}
	return out
}

// Assigned returns the task taskID if it was handed to labeler and may
// still be answered at now. The lease need not be current: a labeler that
// answers late is still heard. Otherwise it returns an error that wraps
// ErrUnknownTask, ErrNotAssigned or ErrTaskExpired.
func (q *Queue) Assigned(taskID, labeler string, now time.Time) (Task, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.tasks[taskID]
	switch {
	case !ok:
		if _, done := q.done[taskID]; done {
			return Task{}, fmt.Errorf("task %q: %w (it has all the labels it needs)", taskID, ErrUnknownTask)
		}
		return Task{}, fmt.Errorf("task %q: %w", taskID, ErrUnknownTask)
	case !now.Before(e.task.Deadline):
		q.dropLocked(e)
		return Task{}, fmt.Errorf("task %q: %w", taskID, ErrTaskExpired)
	}
	if _, given := e.assigns[labeler]; !given {
		return Task{}, fmt.Errorf("task %q: %w", taskID, ErrNotAssigned)
	}
	return e.task, nil
}

// Complete records that labeler answered taskID, once the Store holds the
// label (Complete checks, and returns false if it does not, or if the
// queue does not hold the task). When LabelsPerTask labelers have answered
// it, the task leaves the queue.
func (q *Queue) Complete(taskID, labeler string) bool {
	if _, ok := q.store.Get(taskID, labeler); !ok {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.tasks[taskID]
	if !ok {
		return false
	}
	a := e.assigns[labeler]
	if a == nil {
		a = &assignment{}
		e.assigns[labeler] = a
	}
	if !a.done {
		a.done = true
		e.ndone++
	}
	if e.ndone >= q.perTask {
		q.dropLocked(e)
		q.markDoneLocked(taskID, e.task.Deadline)
	}
	return true
}

// markDoneLocked remembers a finished task until its deadline (see
// Expire), so that a validator re-sending it does not queue it again. It
// remembers at most 4×MaxTasks, forgetting the oldest first; a task
// re-sent after that is queued again, and Next still never gives it to a
// labeler whose label the Store holds.
func (q *Queue) markDoneLocked(id string, deadline time.Time) {
	if _, ok := q.done[id]; ok {
		return
	}
	q.done[id] = deadline
	q.doneIDs = append(q.doneIDs, id)
	for len(q.doneIDs) > 4*q.maxTasks {
		delete(q.done, q.doneIDs[0])
		q.doneIDs = q.doneIDs[1:]
	}
}

// Expire drops every task whose deadline is not after now, and forgets
// finished tasks whose deadline has passed (oldest first, stopping at the
// first one still due). It returns how many tasks it
// dropped. Next drops expired tasks it meets too; Expire keeps Len honest
// when nobody asks.
func (q *Queue) Expire(now time.Time) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, e := range q.order {
		if !e.gone && !now.Before(e.task.Deadline) {
			q.dropLocked(e)
			n++
		}
	}
	for len(q.doneIDs) > 0 { // roughly in deadline order: stop at the first live one
		if d, ok := q.done[q.doneIDs[0]]; ok && now.Before(d) {
			break
		}
		delete(q.done, q.doneIDs[0])
		q.doneIDs = q.doneIDs[1:]
	}
	if n > 0 {
		q.order = slices.DeleteFunc(q.order, func(e *queued) bool { return e.gone })
	}
	return n
}

// Len returns the number of tasks the queue holds: added, not finished,
// and not yet dropped at their deadline.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.tasks)
}

// Path returns the queue's log file name.
func (q *Queue) Path() string { return q.path }

// Close waits for writes in flight, then closes the log. Add after Close
// returns ErrQueueClosed; other methods keep answering from memory. A
// second Close returns nil.
func (q *Queue) Close() error {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.wmu.Lock()
	if q.wclosed {
		q.wmu.Unlock()
		return nil
	}
	q.wclosed = true
	q.wmu.Unlock()
	q.flushes.Wait()
	q.wmu.Lock()
	err := q.werr
	q.wmu.Unlock()
	if cerr := q.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("rlhf: close queue %s: %w", q.path, cerr)
	}
	return err
}
