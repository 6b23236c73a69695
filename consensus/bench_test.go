package consensus

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// benchGraph is a subnet at steady state: v validators with stake weight
// every other uid (the dense worst case a real subnet reaches), with the
// bonds of two earlier epochs in place.
func benchGraph(n, v int, yuma3 bool) *Input {
	r := rand.New(rand.NewPCG(uint64(n), uint64(v)))
	in := &Input{
		N:                   n,
		Block:               10_000,
		LastEpochBlock:      9_640,
		Emission:            1_000_000_000,
		Stake:               make([]uint64, n),
		Permits:             make([]bool, n),
		LastUpdate:          make([]uint64, n),
		BlockAtRegistration: make([]uint64, n),
		Weights:             make([][]Entry, n),
		Bonds:               make([][]Entry, n),
		Params:              DefaultParams(),
	}
	in.Params.MaxAllowedValidators = uint16(v)
	in.Params.Yuma3 = yuma3
	in.Params.LiquidAlpha = yuma3
	for i := range v {
		in.Stake[i] = 1_000_000_000 + r.Uint64N(1_000_000_000_000)
		in.Permits[i] = true
		row := make([]Entry, 0, n-1)
		for j := range n {
			if j != i {
				row = append(row, Entry{uint16(j), uint16(r.UintN(65536))})
			}
		}
		in.Weights[i] = row
	}
	for i := range n {
		in.LastUpdate[i] = 9_900
		in.BlockAtRegistration[i] = uint64(r.UintN(9_000))
	}
	for range 2 {
		out := epoch(in)
		in.Bonds, in.Permits = out.Bonds, out.ValidatorPermits
	}
	return in
}

// floorPass is the memory-bound floor: one plain pass that sums every
// weight entry of the graph.
func floorPass(in *Input) uint64 {
	var s uint64
	for _, row := range in.Weights {
		for _, e := range row {
			s += uint64(e.Value)
		}
	}
	return s
}

// divisionsPass is the division work the original Yuma epoch cannot avoid:
// subtensor's formulas floor a quotient five times per weight entry (row
// normalisation; column normalisation of ΔB, of the old bonds and of the
// EMA; the column max upscale of the stored bonds), each a different
// floor(a·2^32/d) that needs a 128-by-64-bit division or an equally costly
// reciprocal multiply with correction. It does those five per entry and
// nothing else: the floor for a bit-exact epoch.
func divisionsPass(in *Input) uint64 {
	var s fix
	for _, row := range in.Weights {
		d := fromInt(65535) * fix(len(row)+1)
		for _, e := range row {
			a := fromInt(int64(e.Value))
			s += frac(a, d) + frac(a, d+1) + frac(a, d+2) + frac(a, d+3) + frac(a, d+4)
		}
	}
	return uint64(s)
}

// floorNs times floorPass, taking the best of many rounds: the floor is
// short, so one preempted round would otherwise swing the ratio.
func floorNs(in *Input) float64 { return bestNs(in, floorPass) }

// bestNs times pass over in, taking the best of up to 50 rounds of 20
// passes, as many as fit in half a second.
func bestNs(in *Input, pass func(*Input) uint64) float64 {
	best := time.Duration(1 << 62)
	var sink uint64
	deadline := time.Now().Add(500 * time.Millisecond)
	for round := 0; round < 50 && (round < 3 || time.Now().Before(deadline)); round++ {
		const reps = 20
		start := time.Now()
		for range reps {
			sink += pass(in)
		}
		if d := time.Since(start) / reps; d < best {
			best = d
		}
	}
	_ = sink
	return float64(best.Nanoseconds())
}

// BenchmarkEpoch reports each epoch's time and its ratio to the floor
// (x_floor), on as many goroutines as the epoch takes (cpus=auto) and on
// one (cpus=1). The goal for classic Yuma is x_floor <= 20. x_divisions is
// the ratio to divisionsPass, the exact divisions alone.
func BenchmarkEpoch(b *testing.B) {
	for _, size := range []struct{ n, v int }{{256, 64}, {1024, 256}, {4096, 256}} {
		for _, yuma3 := range []bool{false, true} {
			name := "classic"
			if yuma3 {
				name = "yuma3"
			}
			in := benchGraph(size.n, size.v, yuma3)
			nnz := 0
			for _, row := range in.Weights {
				nnz += len(row)
			}
			for _, cpus := range []string{"auto", "1"} {
				parts := epochParts(in)
				if cpus == "1" {
					parts = 1
				}
				b.Run(fmt.Sprintf("n=%d/v=%d/%s/cpus=%s", size.n, size.v, name, cpus), func(b *testing.B) {
					floor, divisions := floorNs(in), bestNs(in, divisionsPass)
					b.ReportAllocs()
					b.ResetTimer()
					for b.Loop() {
						if err := in.Validate(); err != nil { // as Epoch does
							b.Fatal(err)
						}
						epochOn(in, parts)
					}
					perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
					b.ReportMetric(float64(nnz), "nnz")
					b.ReportMetric(float64(parts), "goroutines")
					b.ReportMetric(floor, "floor-ns")
					b.ReportMetric(perOp/floor, "x_floor")
					b.ReportMetric(divisions/floor, "divisions_x_floor")
					b.ReportMetric(perOp/divisions, "x_divisions")
				})
			}
		}
	}
}
