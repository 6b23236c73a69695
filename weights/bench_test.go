package weights

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkPrepare prepares a full weight vector on a subnet of n neurons,
// uids in random order, with and without the max weight limit.
func BenchmarkPrepare(b *testing.B) {
	for _, n := range []int{4096} {
		r := rand.New(rand.NewPCG(uint64(n), 7))
		req := Request{UID: 0, UIDs: make([]uint16, n), Values: make([]uint16, n)}
		for i, uid := range r.Perm(n) {
			req.UIDs[i] = uint16(uid)
			req.Values[i] = uint16(r.IntN(65536))
		}
		for _, limit := range []uint16{65535, 1000} {
			rules := Rules{N: uint16(n), MinAllowedWeights: 1024, MaxWeightLimit: limit}
			b.Run(fmt.Sprintf("n=%d/limit=%d", n, limit), func(b *testing.B) {
				if _, err := Prepare(req, rules); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := Prepare(req, rules); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
