package rlhf

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// readBounds are the least and most time a careful reader takes over t.
func readBounds(t WireTask) (time.Duration, time.Duration) {
	least := time.Duration(len(t.Prompt)+len(t.Left)+len(t.Right)) * 20 * time.Millisecond
	return least, least + 2*time.Second
}

func checkReadingTime(t *testing.T, name string, task WireTask, took time.Duration) {
	t.Helper()
	if least, most := readBounds(task); took < least || took >= most {
		t.Errorf("%s: took %v, want a reading time in [%v, %v)", name, took, least, most)
	}
}

// TestQualityPolicy: the side the quality function rates higher wins whatever the lengths
// (here the better answer is the shorter one), a tie within QualityEpsilon, at a careful
// reading pace.
func TestQualityPolicy(t *testing.T) {
	good, bad := "Paris is the capital of France.", "The capital of France is, as many people will tell you, Lyon or maybe Marseille."
	quality := map[string]float64{good: -1.2, bad: -3.4, "same": -2, "almost same": -2 + QualityEpsilon/2}
	calls := 0
	p := QualityPolicy(func(prompt, completion string) float64 {
		calls++
		if prompt != "What is the capital of France?" {
			t.Errorf("quality asked about prompt %q", prompt)
		}
		return quality[completion]
	})
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		left, right string
		want        Verdict
	}{
		{good, bad, VerdictLeft},
		{bad, good, VerdictRight},
		{"same", "almost same", VerdictTie},
		{"almost same", "same", VerdictTie},
	} {
		task := WireTask{ID: "t", Prompt: "What is the capital of France?", Left: tc.left, Right: tc.right}
		v, took := p(task, r)
		if v != tc.want {
			t.Errorf("%q vs %q: %s, want %s", tc.left, tc.right, v, tc.want)
		}
		checkReadingTime(t, "quality", task, took)
	}
	if calls != 8 {
		t.Errorf("quality called %d times, want twice per task", calls)
	}
}

// TestRandomPolicy: all four buttons, each about a quarter of the time, each in under 0.6 s.
func TestRandomPolicy(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	counts := map[Verdict]int{}
	for range 4000 {
		v, took := RandomPolicy(WireTask{Prompt: strings.Repeat("x", 1000)}, r)
		counts[v]++
		if took < 200*time.Millisecond || took >= 600*time.Millisecond {
			t.Fatalf("took %v", took)
		}
	}
	for _, v := range []Verdict{VerdictLeft, VerdictRight, VerdictTie, VerdictBothBad} {
		if counts[v] < 850 || counts[v] > 1150 {
			t.Errorf("%s %d times of 4000", v, counts[v])
		}
	}
}

// TestAlwaysLeftAndLongerPolicies: always the left side; always the longer side (a tie when
// equal); both at a careful reader's pace, so that only their biases give them away.
func TestAlwaysLeftAndLongerPolicies(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		left, right      string
		wantLeft, wantLn Verdict
	}{
		{"short", "a longer one", VerdictLeft, VerdictRight},
		{"a longer one", "short", VerdictLeft, VerdictLeft},
		{"same", "emas", VerdictLeft, VerdictTie},
	} {
		task := WireTask{Prompt: "p", Left: tc.left, Right: tc.right}
		v, took := AlwaysLeftPolicy(task, r)
		if v != tc.wantLeft {
			t.Errorf("always left on %q/%q: %s", tc.left, tc.right, v)
		}
		checkReadingTime(t, "always left", task, took)
		v, took = LongerPolicy(task, r)
		if v != tc.wantLn {
			t.Errorf("longer on %q/%q: %s, want %s", tc.left, tc.right, v, tc.wantLn)
		}
		checkReadingTime(t, "longer", task, took)
	}
}

// TestTrapSpotterPolicy: on a task spot recognises, its answer at a reading pace; on any other
// task, RandomPolicy's clicks (all four buttons, fast).
func TestTrapSpotterPolicy(t *testing.T) {
	p := TrapSpotterPolicy(func(t WireTask) (Verdict, bool) {
		if strings.HasPrefix(t.ID, "trap-") {
			return Verdict(strings.TrimPrefix(t.ID, "trap-")), true
		}
		return "", false
	})
	r := rand.New(rand.NewPCG(7, 8))
	for _, want := range []Verdict{VerdictLeft, VerdictRight} {
		task := WireTask{ID: "trap-" + string(want), Prompt: "p", Left: "l", Right: "r"}
		v, took := p(task, r)
		if v != want {
			t.Errorf("trap answered %s, want %s", v, want)
		}
		checkReadingTime(t, "trap", task, took)
	}
	seen := map[Verdict]bool{}
	for range 200 {
		v, took := p(WireTask{ID: "real", Prompt: strings.Repeat("x", 1000)}, r)
		seen[v] = true
		if took >= 600*time.Millisecond {
			t.Fatalf("real task took %v, want RandomPolicy's pace", took)
		}
	}
	if len(seen) != 4 {
		t.Errorf("on real tasks it chose only %v", seen)
	}
}

// TestHumanPolicy: a clear difference is judged right nearly always, an
// even one is a coin, and the choice follows Bradley–Terry in between.
func TestHumanPolicy(t *testing.T) {
	quality := map[string]float64{"good": -0.3, "bad": -0.6, "a": -0.45, "b": -0.45, "slightly better": -0.40}
	p := HumanPolicy(func(_, completion string) float64 { return quality[completion] }, 0.05)
	r := rand.New(rand.NewPCG(3, 4))
	left := func(l, rt string) float64 {
		n := 0
		for range 4000 {
			task := WireTask{ID: "t", Prompt: "p", Left: l, Right: rt}
			v, took := p(task, r)
			checkReadingTime(t, "human", task, took)
			if v == VerdictLeft {
				n++
			}
		}
		return float64(n) / 4000
	}
	for _, c := range []struct {
		l, r     string
		lo, hi   float64
		describe string
	}{
		{"good", "bad", 0.99, 1, "a clear difference, better on the left"},
		{"bad", "good", 0, 0.01, "a clear difference, better on the right"},
		{"a", "b", 0.46, 0.54, "no difference"},
		{"slightly better", "a", 0.69, 0.77, "σ(1) = 0.73"},
	} {
		if f := left(c.l, c.r); f < c.lo || f > c.hi {
			t.Errorf("%s: left %.3f of the time, want [%v, %v]", c.describe, f, c.lo, c.hi)
		}
	}
}
