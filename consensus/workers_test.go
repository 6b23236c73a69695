package consensus

import (
	"fmt"
	"reflect"
	"testing"
)

// TestWorkersSameOutput: the caller's choice of Workers changes how the
// epoch's passes are split over goroutines, never its output. 1, 2 and 8
// workers give the same bits as the default, on subnets large enough
// that the default runs in parallel and small enough that it does not.
func TestWorkersSameOutput(t *testing.T) {
	for _, size := range []struct{ n, v int }{{64, 16}, {1024, 64}} {
		for _, yuma3 := range []bool{false, true} {
			t.Run(fmt.Sprintf("n=%d/yuma3=%v", size.n, yuma3), func(t *testing.T) {
				in := benchGraph(size.n, size.v, yuma3)
				want, err := Epoch(in)
				if err != nil {
					t.Fatal(err)
				}
				for _, w := range []int{1, 2, 8} {
					c := *in
					c.Workers = w
					got, err := Epoch(&c)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("workers %d: output differs from the default's", w)
					}
				}
				if nnz := storedEntries(in); size.n == 1024 && nnz < minParallelEntries {
					t.Fatalf("%d entries: the default would run on one goroutine, the test would compare nothing parallel", nnz)
				}
			})
		}
	}
}

// TestWorkersValidated: a negative or oversized Workers is an input error
// naming the field.
func TestWorkersValidated(t *testing.T) {
	for _, w := range []int{-1, MaxWorkers + 1} {
		in := benchGraph(8, 2, false)
		in.Workers = w
		if _, err := Epoch(in); err == nil || err.Error() != fmt.Sprintf("workers: %d is out of range [0, %d]", w, MaxWorkers) {
			t.Errorf("workers %d: error %v", w, err)
		}
	}
}
