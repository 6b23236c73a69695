package chain

import (
	"testing"
)

// TestServingRateLimit: serve_axon is free, so serving_rate_limit bounds
// it. A block of many serve_axons from one zero-balance hotkey applies only
// the first (exempt: the first since registration); the next is refused
// until serving_rate_limit blocks have passed, then applies.
func TestServingRateLimit(t *testing.T) {
	f := newFixture(t)
	hke := f.id["hke"]
	if f.balance(hke) != 0 {
		t.Fatalf("hke has balance %d, want none", f.balance(hke))
	}
	limit := f.subnet(1).Params.ServingRateLimit
	if limit != DefaultHyperparams().ServingRateLimit || limit != 50 {
		t.Fatalf("serving_rate_limit %d, want the default 50", limit)
	}
	serveAt := func(nonce uint64, port uint16) []byte {
		return f.txAt("hke", nonce, &ServeAxon{Netuid: 1, IP: ipv4(10, 0, 0, 5), Port: port})
	}
	serve := func(port uint16) []byte { return serveAt(f.nonce(hke), port) }
	// A refused transaction takes no nonce, so after the first every
	// serve_axon in the block carries the next one.
	txs := [][]byte{serveAt(0, 1000)}
	for i := range 200 {
		txs = append(txs, serveAt(1, uint16(1001+i)))
	}
	res := f.block(txs...)
	served := uint64(f.height)
	for i, r := range res {
		want := CodeServingRateLimited
		if i == 0 {
			want = CodeOK
		}
		if Code(r.Code) != want {
			t.Fatalf("tx %d: code %s (%s), want %s", i, Code(r.Code), r.Log, want)
		}
	}
	axon := func() Axon { n, _ := f.app.State().Neuron(1, 1); return n.Axon }
	if a := axon(); a.Port != 1000 || a.Block != served {
		t.Fatalf("axon %+v, want port 1000 at block %d", a, served)
	}
	if n := f.nonce(hke); n != 1 {
		t.Errorf("nonce %d: only the applied serve_axon takes one", n)
	}

	// Too soon until the limit has passed: refused at served + limit − 1,
	// and nothing changes.
	for f.height < int64(served+limit-2) {
		f.mustBlock()
	}
	before := f.snap()
	if r := f.block(serve(2000)); Code(r[0].Code) != CodeServingRateLimited {
		t.Errorf("at block %d: code %s (%s), want serving_rate_limited", f.height, Code(r[0].Code), r[0].Log)
	}
	sameSnapshot(t, "refused serve_axon", before, f.snap())
	if f.height != int64(served+limit-1) {
		t.Fatalf("height %d", f.height)
	}
	// At served + limit it applies.
	f.mustBlock(serve(3000))
	if a := axon(); a.Port != 3000 || a.Block != served+limit {
		t.Errorf("axon %+v, want port 3000 at block %d", a, served+limit)
	}
	f.checkConsistency(true)
}
