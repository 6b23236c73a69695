package scoring

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ufBenchInputs returns inputs whose responses are about 500 bytes of
// sensible English (and a few junk ones), with their prompts.
func ufBenchInputs(n int) []UsefulInput { return ufBenchInputsOf(n, 500) }

// ufBenchInputsOf returns n inputs whose responses are size bytes of
// sensible English, with their prompts, similarities and a mean
// log-probability.
func ufBenchInputsOf(n, size int) []UsefulInput {
	corpus := ufCorpus(21, 8*n*max(1, size/100))
	out := make([]UsefulInput, 0, n)
	var sb strings.Builder
	for _, c := range corpus {
		if !c.useful {
			continue
		}
		if len(out) == n {
			break
		}
		sb.WriteString(c.response)
		sb.WriteByte(' ')
		if sb.Len() >= size {
			out = append(out, UsefulInput{Prompt: c.prompt, Response: sb.String()[:size], SimOthers: 0.5, SimOwn: 0.4, MeanLogprob: -1.3, HasLogprob: true})
			sb.Reset()
		}
	}
	return out
}

// ufCPUTime is the CPU time (user and system) the process has used.
func ufCPUTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ufBenchPredict measures Predict, feature extraction included, on
// responses of size bytes, and reports classifications per second of wall
// time and per second of CPU time (what one core does, whatever else the
// machine runs).
func ufBenchPredict(b *testing.B, size int) {
	u := ufTrainedModel(b)
	in := ufBenchInputsOf(256, size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	n := 0
	cpu := ufCPUTime(b)
	for b.Loop() {
		u.Predict(in[n%len(in)])
		n++
	}
	cpu = ufCPUTime(b) - cpu
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "classifications/s")
	b.ReportMetric(float64(n)/cpu.Seconds(), "classifications/cpu-s")
}

// BenchmarkUsefulPredict64Tokens is p(useful) of a 64-token answer of a
// production model (about 4 bytes a token: 256 bytes).
func BenchmarkUsefulPredict64Tokens(b *testing.B) { ufBenchPredict(b, 256) }

// BenchmarkUsefulPredictDemo64 is p(useful) of a 64-token answer of the
// demo model (a character a token: 64 bytes).
func BenchmarkUsefulPredictDemo64(b *testing.B) { ufBenchPredict(b, 64) }

func ufTrainedModel(b *testing.B) *Useful {
	u, err := NewUseful(DefaultUsefulConfig(), nil)
	if err != nil {
		b.Fatal(err)
	}
	for i, c := range ufCorpus(22, 2000) {
		if i%200 == 0 {
			u.SetWindow(uint64(i))
		}
		_ = u.Train(ufInput(c), c.useful, fmt.Sprint(i%20), EvidenceTrap)
	}
	return u
}

// BenchmarkUsefulPredict is p(useful) of a 500-byte answer.
func BenchmarkUsefulPredict(b *testing.B) { ufBenchPredict(b, 500) }

func BenchmarkUsefulPredictParallel(b *testing.B) {
	u := ufTrainedModel(b)
	in := ufBenchInputs(256)
	b.SetBytes(500)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			u.Predict(in[i%len(in)])
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "classifications/s")
}

func BenchmarkUsefulFeatures(b *testing.B) {
	fx := NewFeatureExtractor(nil)
	in := ufBenchInputs(256)
	var f Features
	b.SetBytes(500)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		fx.Extract(in[n%len(in)], &f)
		n++
	}
	b.ReportMetric(float64(len(f.Idx)), "features/op")
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "extractions/s")
}

func BenchmarkUsefulTrain(b *testing.B) {
	cfg := DefaultUsefulConfig()
	cfg.MaxPerMinerPerWindow = 1 << 30
	u, err := NewUseful(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	corpus := ufCorpus(23, 1024)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		c := corpus[n%len(corpus)]
		_ = u.Train(ufInput(c), c.useful, "m", EvidenceTrap)
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "examples/s")
}

func BenchmarkRuleCheck(b *testing.B) {
	c, err := NewRuleChecker(DefaultRules())
	if err != nil {
		b.Fatal(err)
	}
	in := ufBenchInputs(256)
	b.SetBytes(500)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		x := in[n%len(in)]
		if v := c.Check(x.Prompt, x.Response); !v.OK() {
			b.Fatalf("%q: %v", x.Response, v)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "checks/s")
}
