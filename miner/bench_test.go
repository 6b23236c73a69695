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
// The validator's own work, signing each request and checking each signed
// answer, runs on the validator's machine, not the miner's; here everything
// shares two cores, so requests are signed before the timed run and the
// answers' signatures checked after it. Both paths are timed alike: their
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
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go m.Serve(ctx, ln)
			minerURL := "http://" + ln.Addr().String() + "/v1/completions"
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
			signer := &protocol.Signer{Key: vk}
			body := []byte(`{"prompt":"the cat sat on the mat","max_tokens":16,"temperature":0}`)

			const perCaller = 20
			reqs := make([]*http.Request, callers*perCaller)
			resps := make([]*http.Response, len(reqs))
			bodies := make([][]byte, len(reqs))
			// call makes the i-th request of a run, the same way on both
			// paths: the request is built beforehand, the whole answer read.
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
			var dLat, mLat []time.Duration
			var dTime, mTime, dCPU, mCPU time.Duration
			for b.Loop() {
				b.StopTimer()
				for i := range reqs {
					if reqs[i], err = http.NewRequestWithContext(ctx, http.MethodPost, backend.URL+"/v1/completions", bytes.NewReader(body)); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				lat, took, cpu := load(b, callers, perCaller, call)
				dLat, dTime, dCPU = append(dLat, lat...), dTime+took, dCPU+cpu
				b.StopTimer()
				for i := range reqs {
					if reqs[i], err = signer.NewRequest(ctx, http.MethodPost, minerURL, body, mk.PublicKey()); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				lat, took, cpu = load(b, callers, perCaller, call)
				mLat, mTime, mCPU = append(mLat, lat...), mTime+took, mCPU+cpu
				b.StopTimer()
				for i := range resps {
					if _, err := protocol.VerifyResponse(resps[i], bodies[i], mk.PublicKey()); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
			}
			d50, m50 := p50(dLat), p50(mLat)
			b.ReportMetric(float64(d50.Microseconds()), "direct-p50-µs")
			b.ReportMetric(float64(m50.Microseconds()), "miner-p50-µs")
			b.ReportMetric(float64((m50 - d50).Microseconds()), "overhead-p50-µs")
			b.ReportMetric(dTime.Seconds()/mTime.Seconds(), "throughput-ratio")
			b.ReportMetric(float64(len(mLat))/mTime.Seconds(), "miner-req/s")
			b.ReportMetric(float64(len(dLat))/dTime.Seconds(), "direct-req/s")
			b.ReportMetric(float64(pct(mLat, 99).Microseconds()), "miner-p99-µs")
			if dCPU > 0 {
				b.ReportMetric(float64(dCPU.Microseconds())/float64(len(dLat)), "direct-cpu-µs/req")
				b.ReportMetric(float64(mCPU.Microseconds())/float64(len(mLat)), "miner-cpu-µs/req")
			}
		})
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
