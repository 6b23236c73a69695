//go:build !unix

package miner_test

import "time"

// cpuTime is 0 where the process's CPU time is not read: the benchmarks
// then leave out their CPU figures.
func cpuTime() time.Duration { return 0 }
