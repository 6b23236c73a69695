package miner

import (
	"container/heap"
	"context"
	"errors"
	"sync"
	"time"
)

// errQueueFull is returned to a request refused or evicted because the
// queue was full of callers with at least its stake.
var errQueueFull = errors.New("queue full")

// errQueueTimeout is returned to a request that waited its whole timeout.
var errQueueTimeout = errors.New("queue timeout")

// queue admits at most slots requests to the backend at once and makes the
// rest wait, highest priority (the caller's stake) first and in arrival
// order within a priority. At most max wait; when the queue is full a new
// request with a higher priority than the lowest waiting one takes its
// place, and that one is refused, so a flood of requests from a low-staked
// caller cannot hold off the validators that matter. Safe for concurrent
// use.
type queue struct {
	mu      sync.Mutex
	slots   int
	running int
	max     int
	seq     uint64
	waiting waitHeap
}

// waiter is one request waiting for a slot. granted is closed when it gets
// one (err nil) or is evicted (err errQueueFull).
type waiter struct {
	prio    uint64
	seq     uint64
	index   int
	granted chan struct{}
	err     error
}

func newQueue(slots, max int) *queue {
	return &queue{slots: slots, max: max}
}

// acquire waits for a slot until ctx ends or, once it has to wait, for at
// most timeout (then errQueueTimeout). It returns a release function to
// call exactly once when the request is done. A request that finds a free
// slot takes it without a timer.
func (q *queue) acquire(ctx context.Context, prio uint64, timeout time.Duration) (func(), error) {
	q.mu.Lock()
	if q.running < q.slots && len(q.waiting) == 0 {
		q.running++
		q.mu.Unlock()
		return q.release, nil
	}
	if len(q.waiting) >= q.max {
		low := q.waiting.lowest()
		if low == nil || low.prio >= prio {
			q.mu.Unlock()
			return nil, errQueueFull
		}
		heap.Remove(&q.waiting, low.index)
		low.err = errQueueFull
		close(low.granted)
	}
	w := &waiter{prio: prio, seq: q.seq, granted: make(chan struct{})}
	q.seq++
	heap.Push(&q.waiting, w)
	q.mu.Unlock()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var err error
	select {
	case <-w.granted:
		if w.err != nil {
			return nil, w.err
		}
		return q.release, nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-timer.C:
		err = errQueueTimeout
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	select {
	case <-w.granted: // granted or evicted just now
		if w.err == nil {
			q.releaseLocked()
		} else {
			err = w.err
		}
	default:
		heap.Remove(&q.waiting, w.index)
	}
	if ctx.Err() != nil {
		err = ctx.Err() // the caller went away, whatever fired first
	}
	return nil, err
}

func (q *queue) release() {
	q.mu.Lock()
	q.releaseLocked()
	q.mu.Unlock()
}

// releaseLocked frees a slot and hands it to the best waiter.
func (q *queue) releaseLocked() {
	q.running--
	for q.running < q.slots && len(q.waiting) > 0 {
		w := heap.Pop(&q.waiting).(*waiter)
		q.running++
		close(w.granted)
	}
}

// depth returns the number waiting and running.
func (q *queue) depth() (waiting, running int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.waiting), q.running
}

// waitHeap is a max-heap by priority, then min by arrival.
type waitHeap []*waiter

func (h waitHeap) Len() int { return len(h) }
func (h waitHeap) Less(i, j int) bool {
	if h[i].prio != h[j].prio {
		return h[i].prio > h[j].prio
	}
	return h[i].seq < h[j].seq
}
func (h waitHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *waitHeap) Push(x any) {
	w := x.(*waiter)
	w.index = len(*h)
	*h = append(*h, w)
}
func (h *waitHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return w
}

// lowest is the waiter that would be served last: lowest priority, latest
// arrival. A linear scan: the queue is small (Config.MaxQueue) and this
// runs only when it is full.
func (h waitHeap) lowest() *waiter {
	var low *waiter
	for _, w := range h {
		if low == nil || w.prio < low.prio || (w.prio == low.prio && w.seq > low.seq) {
			low = w
		}
	}
	return low
}
