package rlhf

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAppend measures the store as a miner's websocket hub uses it:
// appenders goroutines (labelers), each appending one label and waiting
// for it to be fsynced before the next, on a real file in b.TempDir(). It
// reports throughput (labels/s), the 99th percentile time from Append to
// its return (p99-ms), and how many labels shared each write and fsync
// (labels/fsync). The goal is 5,000 labels/s with a p99 under 50 ms at 200
// appenders.
//
// Without a rate the appenders append as fast as they can (a closed loop),
// so the latency is that of a saturated store. With rate=R they append R
// labels per second in all (label j is due at j/R seconds, and its latency
// counts from then, so a store that falls behind is charged for it): the
// latency a labeler sees at that load.
func BenchmarkAppend(b *testing.B) {
	for _, c := range []struct{ appenders, rate int }{{1, 0}, {200, 0}, {200, 5000}} {
		name := fmt.Sprintf("appenders=%d", c.appenders)
		if c.rate > 0 {
			name += fmt.Sprintf("/rate=%d", c.rate)
		}
		b.Run(name, func(b *testing.B) { benchAppend(b, c.appenders, c.rate) })
	}
}

func benchAppend(b *testing.B, appenders, rate int) {
	s, err := OpenStore(filepath.Join(b.TempDir(), "labels.log"), StoreOptions{})
	if err != nil {
		b.Fatal(err)
	}
	base := testLabel("t0", "l0")
	lat := make([][]time.Duration, appenders)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for g := range appenders {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				l := base
				l.TaskID, l.LabelerID = "task-"+strconv.FormatInt(i, 10), "labeler-"+strconv.Itoa(g)
				t0 := time.Now()
				if rate > 0 {
					t0 = start.Add(time.Duration(i) * time.Second / time.Duration(rate))
					time.Sleep(time.Until(t0))
				}
				if err := s.Append(context.Background(), l); err != nil {
					b.Error(err)
					return
				}
				lat[g] = append(lat[g], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) != b.N {
		b.Fatalf("%d appends of %d", len(all), b.N)
	}
	s.mu.Lock()
	batches := s.batches
	s.mu.Unlock()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "labels/s")
	b.ReportMetric(float64(all[(len(all)-1)*99/100])/float64(time.Millisecond), "p99-ms")
	b.ReportMetric(float64(b.N)/float64(max(batches, 1)), "labels/fsync")
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
}
