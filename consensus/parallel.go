package consensus

import (
	"runtime"
	"sync"
)

// An epoch on a large subnet runs its passes on several goroutines. A pass
// over rows gives each goroutine a contiguous span of rows, so each row is
// written by one goroutine, and the per-column values a pass accumulates
// (sums, maxima) are kept per span and combined at the end. This gives the
// same bits as one goroutine: maxima do not depend on order, and every
// column sum is of non-negative values small enough that satAdd never
// saturates (at most MaxUIDs values below 2^48: raw u16 bonds, in fix), so
// the sum is plain integer addition, which does not depend on order either.

// minParallelEntries is the number of stored weights and bonds below which
// an epoch runs on one goroutine: a smaller one takes less time than
// starting goroutines costs.
const minParallelEntries = 1 << 15

// spans divides rows into contiguous spans: span k is [s[k], s[k+1]).
type spans []int

// oneSpan is all n rows on one goroutine.
func oneSpan(n int) spans { return spans{0, n} }

// epochParts is how many goroutines an epoch over in uses when its caller
// leaves Input.Workers at 0.
func epochParts(in *Input) int {
	if storedEntries(in) < minParallelEntries {
		return 1
	}
	return min(runtime.GOMAXPROCS(0), 8)
}

func storedEntries(in *Input) int {
	total := 0
	for _, rows := range [][][]Entry{in.Weights, in.Bonds} {
		for _, row := range rows {
			total += len(row)
		}
	}
	return total
}

// rowSpans splits in's n rows into at most parts spans holding about as many
// stored weights and bonds each (the weights of a subnet are in its few
// validators' rows, so equal numbers of rows would not share the work).
func rowSpans(in *Input, parts int) spans {
	total := storedEntries(in)
	if parts <= 1 || total == 0 {
		return oneSpan(in.N)
	}
	s := spans{0}
	seen := 0
	for i := 0; i < in.N; i++ {
		if i < len(in.Weights) {
			seen += len(in.Weights[i])
		}
		if i < len(in.Bonds) {
			seen += len(in.Bonds[i])
		}
		if len(s) < parts && seen*parts >= total*len(s) && i+1 < in.N {
			s = append(s, i+1)
		}
	}
	return append(s, in.N)
}

// colSpans splits n columns into parts spans of equal width.
func colSpans(n, parts int) spans {
	parts = max(1, min(parts, n))
	s := make(spans, parts+1)
	for k := range s {
		s[k] = k * n / parts
	}
	return s
}

// run calls f on every span, concurrently when there is more than one, and
// returns when all are done.
func (s spans) run(f func(k, lo, hi int)) {
	if len(s) == 2 {
		f(0, s[0], s[1])
		return
	}
	var wg sync.WaitGroup
	for k := 0; k+1 < len(s); k++ {
		wg.Go(func() { f(k, s[k], s[k+1]) })
	}
	wg.Wait()
}

// cols runs f on every span, each with its own zeroed vector of n columns
// to accumulate into, and returns the vectors combined with merge.
func (s spans) cols(n int, merge func(a, b fix) fix, f func(acc []fix, lo, hi int)) []fix {
	acc := make([][]fix, len(s)-1)
	s.run(func(k, lo, hi int) {
		acc[k] = make([]fix, n)
		f(acc[k], lo, hi)
	})
	out := acc[0]
	for _, a := range acc[1:] {
		for j, v := range a {
			out[j] = merge(out[j], v)
		}
	}
	return out
}

// add is cols' merge for sums: plain addition, exact since no column sum
// saturates (see above).
func add(a, b fix) fix { return a + b }
