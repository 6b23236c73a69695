//go:build unix

package cputime

import (
	"testing"
	"time"
)

// TestProcessAdvances: Process counts this process's CPU time: spinning
// for a while adds about as much.
func TestProcessAdvances(t *testing.T) {
	before := Process()
	if before <= 0 {
		t.Fatalf("Process() = %v before any spinning", before)
	}
	start := time.Now()
	x := 0
	for time.Since(start) < 50*time.Millisecond {
		x++
	}
	if got := Process() - before; got < 10*time.Millisecond || got > 5*time.Second {
		t.Errorf("50 ms of spinning (%d rounds) added %v of CPU time", x, got)
	}
}
