package protocol

import (
	"bytes"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// benchPool is a set of distinct signed requests (headers and body) for the
// benchmarks; each is accepted once per Verifier.
type benchPool struct {
	headers []http.Header
	body    []byte
}

const benchPoolSize = 1 << 13

func newBenchPool(b *testing.B, f fixture) *benchPool {
	b.Helper()
	p := &benchPool{body: bytes.Repeat([]byte(`{"role":"user","content":"Tom had a red ball"}`), 8)}
	for i := range benchPoolSize {
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
		if err := Sign(r, p.body, f.validator, f.miner.PublicKey(), t0, seqUUID(i)); err != nil {
			b.Fatal(err)
		}
		p.headers = append(p.headers, r.Header)
	}
	return p
}

// BenchmarkVerify measures one full request verification (headers, window,
// allow, replay, signature, body read of 360 bytes, hash, record) on one
// core, and reports verifications per second.
func BenchmarkVerify(b *testing.B) {
	f := newFixture(b)
	p := newBenchPool(b, f)
	v := f.verifier(b, nil)
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	br := bytes.NewReader(nil)
	r.Body = io.NopCloser(br)
	i := 0
	for b.Loop() {
		if i == benchPoolSize {
			i, v = 0, f.verifier(b, nil)
		}
		r.Header = p.headers[i]
		br.Reset(p.body)
		r.ContentLength = int64(len(p.body))
		if _, err := v.Verify(r); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verify/s")
}

// BenchmarkVerifyParallel is BenchmarkVerify on every core (GOMAXPROCS).
func BenchmarkVerifyParallel(b *testing.B) {
	f := newFixture(b)
	p := newBenchPool(b, f)
	var mu sync.Mutex
	verifiers := map[int64]*Verifier{}
	get := func(gen int64) *Verifier {
		mu.Lock()
		defer mu.Unlock()
		if verifiers[gen] == nil {
			verifiers[gen] = f.verifier(b, nil)
		}
		return verifiers[gen]
	}
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
		br := bytes.NewReader(nil)
		r.Body = io.NopCloser(br)
		for pb.Next() {
			n := next.Add(1) - 1
			v := get(n / benchPoolSize)
			r.Header = p.headers[n%benchPoolSize]
			br.Reset(p.body)
			r.ContentLength = int64(len(p.body))
			if _, err := v.Verify(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verify/s")
}

// BenchmarkEd25519Verify is the floor: one bare ed25519 verification of a
// signed message of the same size.
func BenchmarkEd25519Verify(b *testing.B) {
	f := newFixture(b)
	msg := []byte("3f2a9c0e5b7d1f4a6c8e0b2d4f6a8c0e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a.30303030-3030-4030-b030-303030303031.1767225600000." + f.miner.Address())
	sig := f.validator.Sign(msg)
	pk := f.validator.PublicKey()
	for b.Loop() {
		if !pk.Verify(msg, sig) {
			b.Fatal("bad")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verify/s")
}

// BenchmarkMiddleware compares a trivial handler called directly with the
// same handler behind Middleware, both through an httptest recorder; the
// difference in ns/op is the middleware's overhead per request.
func BenchmarkMiddleware(b *testing.B) {
	f := newFixture(b)
	p := newBenchPool(b, f)
	sum := sha256.Sum256(p.body)
	final := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if sha256.Sum256(body) != sum {
			b.Fatal("body changed")
		}
		w.WriteHeader(http.StatusNoContent)
	})
	run := func(b *testing.B, h func(v *Verifier) http.Handler) {
		v := f.verifier(b, nil)
		handler := h(v)
		i := 0
		for b.Loop() {
			if i == benchPoolSize {
				i = 0
				v = f.verifier(b, nil)
				handler = h(v)
			}
			r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(p.body))
			r.Header = p.headers[i]
			w := httptest.NewRecorder()
			handler.ServeHTTP(w, r)
			if w.Code != http.StatusNoContent {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
			i++
		}
	}
	b.Run("direct", func(b *testing.B) { run(b, func(*Verifier) http.Handler { return final }) })
	b.Run("middleware", func(b *testing.B) { run(b, func(v *Verifier) http.Handler { return Middleware(v, final) }) })
}

// BenchmarkReject measures the cost of refusing a forged request (an
// allowed signer's address with a bad signature) and a replay: what an
// attacker can make the receiver spend per request.
func BenchmarkReject(b *testing.B) {
	f := newFixture(b)
	p := newBenchPool(b, f)
	v := f.verifier(b, nil)
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.Body = io.NopCloser(bytes.NewReader(p.body))
	r.ContentLength = int64(len(p.body))
	r.Header = p.headers[0]
	if _, err := v.Verify(r); err != nil {
		b.Fatal(err)
	}
	b.Run("replay", func(b *testing.B) {
		for b.Loop() {
			if _, err := v.Verify(r); err == nil {
				b.Fatal("accepted")
			}
		}
	})
	forged := p.headers[1].Clone()
	forged.Set(HeaderSignature, "00"+forged.Get(HeaderSignature)[2:])
	b.Run("bad_signature", func(b *testing.B) {
		r.Header = forged
		for b.Loop() {
			if _, err := v.Verify(r); err == nil {
				b.Fatal("accepted")
			}
		}
	})
}
