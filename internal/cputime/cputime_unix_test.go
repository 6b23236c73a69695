//go:build unix

package cputime

import (
	"testing"
	"time"
)

// TestProcessAdvances: Process counts this process's CPU time, not the
// wall clock: spinning adds to it and sleeping does not. Both hold on a
// loaded machine, where the spinning just takes longer.
func TestProcessAdvances(t *testing.T) {
	before := Process()
	if before <= 0 {
		t.Fatalf("Process() = %v before any spinning", before)
	}
	start := time.Now()
	x := 0
	for Process()-before < 20*time.Millisecond {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("20 s of spinning (%d rounds) added only %v of CPU time", x, Process()-before)
		}
		x++
	}
	before = Process()
	time.Sleep(200 * time.Millisecond)
	if got := Process() - before; got > 100*time.Millisecond {
		t.Errorf("sleeping 200 ms added %v of CPU time", got)
	}
}
