package rlhf

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkHub measures the hub end to end over loopback websockets:
// labelers=200 fake pages, each signed in with its own token, label tasks
// as fast as they can (send a label, wait for its ack, take the next
// task), against a real Store and Queue in b.TempDir(). An ack means the
// label is fsynced. It reports acknowledged labels per second (labels/s),
// the 99th percentile time from sending a label to reading its ack
// (p99-ms), and how many labels shared each fsync (labels/fsync). The goal
// is 5,000 labels/s with a p99 under 50 ms at 200 labelers.
//
// Without a rate the pages label as fast as they can (a closed loop), so
// the latency is that of a saturated hub. With rate=R they send R labels
// per second in all (label j is due at j/R seconds and its latency counts
// from then, so a hub that falls behind is charged for it): the latency a
// labeler sees at that load.
//
// The pages run in the benchmark's own process, so they share the CPU
// with the hub: the figures are a lower bound for a hub whose labelers are
// elsewhere.
func BenchmarkHub(b *testing.B) {
	for _, c := range []struct{ labelers, rate int }{{200, 0}, {200, 5000}} {
		name := fmt.Sprintf("labelers=%d", c.labelers)
		if c.rate > 0 {
			name += fmt.Sprintf("/rate=%d", c.rate)
		}
		b.Run(name, func(b *testing.B) { benchHub(b, c.labelers, c.rate) })
	}
}

func benchHub(b *testing.B, labelers, rate int) {
	names := make([]string, labelers)
	for i := range names {
		names[i] = fmt.Sprintf("l%03d", i)
	}
	e := newHubEnv(b, hubOpts{labelers: names, maxTasks: b.N})
	// One task per label of the run, queued in batches (one fsync each).
	for i := 0; i < b.N; {
		var batch []Task
		for ; i < b.N && len(batch) < 1000; i++ {
			batch = append(batch, queueTask(fmt.Sprintf("b%07d", i)))
		}
		if err := e.queue.Add(context.Background(), batch...); err != nil {
			b.Fatal(err)
		}
	}
	// Sign everyone in and take a first task before the clock starts.
	clients := make([]*wsClient, labelers)
	first := make([]*WireTask, labelers)
	for i, name := range names {
		c, _, err := e.dial(nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.close()
		if first[i], err = c.signIn(e.token[name]); err != nil {
			b.Fatal(err)
		}
		clients[i] = c
	}
	e.store.mu.Lock()
	batches0 := e.store.batches
	e.store.mu.Unlock()

	lat := make([][]time.Duration, labelers)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i, c := range clients {
		wg.Go(func() {
			task := first[i]
			for task != nil {
				t0 := time.Now()
				if rate > 0 {
					t0 = start.Add(time.Duration(next.Add(1)-1) * time.Second / time.Duration(rate))
					time.Sleep(time.Until(t0))
				}
				if _, err := c.label(task, VerdictLeft, "", 1000); err != nil {
					b.Error(err)
					return
				}
				lat[i] = append(lat[i], time.Since(t0))
				var err error
				if task, err = c.nextTask(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	if len(all) != b.N || e.store.Len() != b.N {
		b.Fatalf("%d acks, %d labels stored; want %d", len(all), e.store.Len(), b.N)
	}
	slices.Sort(all)
	e.store.mu.Lock()
	batches := e.store.batches - batches0
	e.store.mu.Unlock()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "labels/s")
	b.ReportMetric(float64(all[(len(all)-1)*99/100])/float64(time.Millisecond), "p99-ms")
	b.ReportMetric(float64(b.N)/float64(max(batches, 1)), "labels/fsync")
}
