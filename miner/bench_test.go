package miner_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/internal/cputime"
	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/miner"
	"github.com/seed0ffb8d46/agora/miner/minertest"
	"github.com/seed0ffb8d46/agora/protocol"
)

// BenchmarkOverhead measures what the miner adds to a model server: the
// same requests sent straight to an in-process OpenAI-compatible server
// (direct) and through a miner in front of it (signed requests, the
// permission check, the queue, signed responses, one more HTTP hop), at 1
// and 64 concurrent callers. The backend takes 1 ms per token, 16 tokens a
// request, as a fast GPU server would. Reported: p50 latency of each path,
// the p50 overhead, and throughput through the miner over direct.
//
// Two reference paths run in the same iterations, to show what part of
// the overhead any miner must pay: proxy, a bare net/http forwarder (read
// the body, post it to the backend, copy the answer back: the second hop
// and nothing else), and signed-proxy, the same plus the request's
// signature check (protocol.Verifier) and the response's signature, the
// least a miner meeting the protocol does. Their throughput over direct
// is proxy-ratio and signed-proxy-ratio, their p50 overhead
// proxy-overhead-p50-µs and signed-proxy-overhead-p50-µs.
//
// The validator's own work, signing each request and checking each signed
// answer, runs on the validator's machine, not the miner's; here everything
// shares two cores, so requests are signed before the timed run and the
// answers' signatures checked after it. All paths are timed alike: their
// requests are built before the run and every answer is read whole.
// Reported too where the OS tells: the process's CPU time per request on
// each path (load generator, miner and backend together).
func BenchmarkOverhead(b *testing.B) {
	for _, callers := range []int{1, 64} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			model := &minertest.Model{TokenDelay: time.Millisecond}
			backend := minertest.Serve(model)
			defer backend.Close()
			mk, vk := key(b, 1), key(b, 2)
			meta := &metagraph{loaded: true, byKey: map[chain.AccountID]chain.NeuronView{}}
			meta.add(mk, 0, 0, false)
			meta.add(vk, 1, 1, true)
			be, err := miner.NewServer(llm.OpenAIConfig{BaseURL: backend.URL + "/v1", Model: "test-model"})
			if err != nil {
				b.Fatal(err)
			}
			m, err := miner.New(miner.Config{Key: mk, Backend: be, Metagraph: meta, MaxQueue: 1024})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			serve := func(h func(context.Context, net.Listener) error) string {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				go func() { _ = h(ctx, ln) }()
				return "http://" + ln.Addr().String() + "/v1/completions"
			}
			minerURL := serve(m.Serve)
			hop := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
			proxyURL := serve(referenceProxy(b, backend.URL, hop, nil, nil))
			verifier, err := protocol.NewVerifier(protocol.Config{Receiver: mk.PublicKey(), Allowed: func(keys.PublicKey) error { return nil }})
			if err != nil {
				b.Fatal(err)
			}
			signedProxyURL := serve(referenceProxy(b, backend.URL, hop, verifier, mk))
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
			signer := &protocol.Signer{Key: vk}
			body := []byte(`{"prompt":"the cat sat on the mat","max_tokens":16,"temperature":0}`)

			const perCaller = 20
			reqs := make([]*http.Request, callers*perCaller)
			resps := make([]*http.Response, len(reqs))
			bodies := make([][]byte, len(reqs))
			// call makes the i-th request of a run, the same way on every
			// path: the request is built beforehand, the whole answer read.
			call := func(i int) error {
				resp, err := client.Do(reqs[i])
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				got, err := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 {
					return fmt.Errorf("%s: %s %s", reqs[i].URL, resp.Status, got)
				}
				resps[i], bodies[i] = resp, got
				return err
			}
			type path struct {
				url    string
				signed bool
				lat    []time.Duration
				took   time.Duration
				cpu    time.Duration
			}
			direct := &path{url: backend.URL + "/v1/completions"}
			proxy := &path{url: proxyURL}
			signedProxy := &path{url: signedProxyURL, signed: true}
			viaMiner := &path{url: minerURL, signed: true}
			for b.Loop() {
				for _, p := range []*path{direct, proxy, signedProxy, viaMiner} {
					b.StopTimer()
					for i := range reqs {
						if p.signed {
							reqs[i], err = signer.NewRequest(ctx, http.MethodPost, p.url, body, mk.PublicKey())
						} else {
							reqs[i], err = http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
						}
						if err != nil {
							b.Fatal(err)
						}
					}
					b.StartTimer()
					lat, took, cpu := load(b, callers, perCaller, call)
					p.lat, p.took, p.cpu = append(p.lat, lat...), p.took+took, p.cpu+cpu
					b.StopTimer()
					for i := range resps {
						if _, err := protocol.VerifyResponse(resps[i], bodies[i], mk.PublicKey()); p.signed && err != nil {
							b.Fatal(err)
						}
					}
					b.StartTimer()
				}
			}
			d50, m50 := p50(direct.lat), p50(viaMiner.lat)
			b.ReportMetric(float64(d50.Microseconds()), "direct-p50-µs")
			b.ReportMetric(float64(m50.Microseconds()), "miner-p50-µs")
			b.ReportMetric(float64((m50 - d50).Microseconds()), "overhead-p50-µs")
			b.ReportMetric(float64((p50(proxy.lat) - d50).Microseconds()), "proxy-overhead-p50-µs")
			b.ReportMetric(float64((p50(signedProxy.lat) - d50).Microseconds()), "signed-proxy-overhead-p50-µs")
			b.ReportMetric(direct.took.Seconds()/viaMiner.took.Seconds(), "throughput-ratio")
			b.ReportMetric(direct.took.Seconds()/proxy.took.Seconds(), "proxy-ratio")
			b.ReportMetric(direct.took.Seconds()/signedProxy.took.Seconds(), "signed-proxy-ratio")
			b.ReportMetric(float64(len(viaMiner.lat))/viaMiner.took.Seconds(), "miner-req/s")
			b.ReportMetric(float64(len(direct.lat))/direct.took.Seconds(), "direct-req/s")
			b.ReportMetric(float64(pct(viaMiner.lat, 99).Microseconds()), "miner-p99-µs")
			if direct.cpu > 0 {
				perReq := func(p *path) float64 { return float64(p.cpu.Microseconds()) / float64(len(p.lat)) }
				b.ReportMetric(perReq(direct), "direct-cpu-µs/req")
				b.ReportMetric(perReq(proxy), "proxy-cpu-µs/req")
				b.ReportMetric(perReq(signedProxy), "signed-proxy-cpu-µs/req")
				b.ReportMetric(perReq(viaMiner), "miner-cpu-µs/req")
			}
		})
	}
}

// referenceProxy serves a minimal forwarder to backend on the listener it
// is given, until ctx ends: read the body, post it to the backend's same
// path, copy the answer back. With a verifier and key it also checks the
// request's signature first and signs the answer, as a miner must.
func referenceProxy(b *testing.B, backend string, hc *http.Client, v *protocol.Verifier, key *keys.PrivateKey) func(context.Context, net.Listener) error {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		var vr *protocol.Verified
		var err error
		if v != nil {
			if vr, err = v.Verify(r); err != nil {
				protocol.WriteError(w, err)
				return
			}
			body = vr.Body
		} else if body, err = io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, backend+r.URL.Path, bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if vr != nil {
			if err := protocol.SignResponse(w, out, key, vr.SignedBy, vr.UUID, time.Now()); err != nil {
				b.Error(err)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(out)
	})
	return func(ctx context.Context, ln net.Listener) error {
		srv := &http.Server{Handler: h}
		go func() { <-ctx.Done(); _ = srv.Close() }()
		return srv.Serve(ln)
	}
}

// load runs callers goroutines each making n calls of f and returns every
// call's latency, the wall time and the CPU time the process spent (0 where
// cpuTime is not known).
func load(b *testing.B, callers, n int, f func(i int) error) ([]time.Duration, time.Duration, time.Duration) {
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	cpu0 := cputime.Process()
	start := time.Now()
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, n)
			for j := range n {
				t0 := time.Now()
				if err := f(c*n + j); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return lat, time.Since(start), cputime.Process() - cpu0
}

func p50(d []time.Duration) time.Duration { return pct(d, 50) }

// pct is the p-th percentile of d.
func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}
