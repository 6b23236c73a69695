package scoring

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestPrefPair: a trap is a pair the model rates TrapMargin apart, with
// the coin deciding which side is longer, so over many traps "pick the
// longer side" is right half the time; a real comparison is a pair rated
// within the margin; equal texts never pair.
func TestPrefPair(t *testing.T) {
	p := DefaultPolicy()
	r := rand.New(rand.NewPCG(1, 2))
	sides := []PairSide{
		{Text: strings.Repeat("a", 40), MeanLogprob: -0.5},
		{Text: strings.Repeat("b", 60), MeanLogprob: -0.45},
		{Text: strings.Repeat("c", 50), MeanLogprob: -0.95},
		{Text: strings.Repeat("d", 70), MeanLogprob: -0.9},
		{Text: strings.Repeat("a", 40), MeanLogprob: -1.5}, // the same text as 0
	}
	longerBetter := 0
	for i := range 400 {
		wl := i%2 == 0
		a, b, ok := p.PrefPair(sides, true, wl, r)
		if !ok {
			t.Fatalf("no trap for worseLonger=%v", wl)
		}
		if sides[a].MeanLogprob-sides[b].MeanLogprob < p.TrapMargin || sides[a].Text == sides[b].Text {
			t.Fatalf("trap %d over %d: not %v apart, or equal texts", a, b, p.TrapMargin)
		}
		if (len(sides[b].Text) > len(sides[a].Text)) != wl {
			t.Fatalf("worseLonger=%v but got lengths %d (better) and %d", wl, len(sides[a].Text), len(sides[b].Text))
		}
		if len(sides[a].Text) > len(sides[b].Text) {
			longerBetter++
		}
	}
	if longerBetter != 200 {
		t.Errorf("the longer side was the better one in %d of 400 traps, want half", longerBetter)
	}
	firstA := 0
	for range 400 {
		a, b, ok := p.PrefPair(sides, false, false, r)
		if !ok {
			t.Fatal("no real pair")
		}
		if d := sides[a].MeanLogprob - sides[b].MeanLogprob; d >= p.TrapMargin || -d >= p.TrapMargin {
			t.Fatalf("real pair %d, %d is %v apart", a, b, d)
		}
		if a < b {
			firstA++
		}
	}
	if firstA < 150 || firstA > 250 {
		t.Errorf("real pairs in index order %d of 400 times: the order is not random", firstA)
	}
	if _, _, ok := p.PrefPair(sides[:2], true, true, r); ok {
		t.Error("a trap from two answers within the margin")
	}
	if _, _, ok := p.PrefPair([]PairSide{sides[0], sides[4]}, false, false, r); ok {
		t.Error("a pair of equal texts")
	}
}

// TestServerTimes: claims are cut to the validator's own clock, and a
// labeler's labels are laid end to end.
func TestServerTimes(t *testing.T) {
	busy := map[string]int64{}
	ts := []LabelTiming{
		// Four tasks sent at 0 and collected at 5 s, each claimed 6 s:
		// they share the 5 s.
		{Labeler: "fast", SentMs: 0, GotMs: 5000, ClaimedMs: 6000},
		{Labeler: "fast", SentMs: 0, GotMs: 5000, ClaimedMs: 6000},
		{Labeler: "fast", SentMs: 0, GotMs: 5000, ClaimedMs: 6000},
		{Labeler: "fast", SentMs: 0, GotMs: 5000, ClaimedMs: 6000},
		// A careful labeler whose claims fit.
		{Labeler: "careful", SentMs: 0, GotMs: 20000, ClaimedMs: 6000},
		{Labeler: "careful", SentMs: 0, GotMs: 20000, ClaimedMs: 6000},
		// Collected a second after it was sent: a claim of 6 s is cut to 1.
		{Labeler: "quick", SentMs: 60000, GotMs: 61000, ClaimedMs: 6000},
	}
	got := ServerTimes(ts, busy)
	want := []int64{1250, 1250, 1250, 1250, 6000, 6000, 1000}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("label %d (%s): %d ms, want %d", i, ts[i].Labeler, got[i], want[i])
		}
	}
	if busy["careful"] != 12000 || busy["fast"] != 5000 {
		t.Errorf("busy = %v", busy)
	}
	// The next collection starts where the last one ended.
	next := ServerTimes([]LabelTiming{{Labeler: "fast", SentMs: 4000, GotMs: 7000, ClaimedMs: 6000}}, busy)
	if next[0] != 2000 {
		t.Errorf("carried over: %d ms, want 2000", next[0])
	}
	// Claims that fit are kept as they are.
	if got := ServerTimes([]LabelTiming{{Labeler: "x", SentMs: 0, GotMs: 9000, ClaimedMs: 3000}, {Labeler: "x", SentMs: 0, GotMs: 9000, ClaimedMs: 4000}}, nil); got[0] != 3000 || got[1] != 4000 {
		t.Errorf("claims that fit: %v", got)
	}
}

// TestMechanismKinds: labels pay through mechanism 1 on a subnet with two
// mechanisms, through the one vector on a subnet with one.
func TestMechanismKinds(t *testing.T) {
	p := DefaultPolicy()
	one := p.MechanismKinds(0, 1)
	if len(one) != 3 || one[KindPreference] == 0 {
		t.Errorf("one mechanism: %v", one)
	}
	m0, m1 := p.MechanismKinds(0, 2), p.MechanismKinds(1, 2)
	if _, ok := m0[KindPreference]; ok || m0[KindInference] == 0 || m0[KindReference] == 0 {
		t.Errorf("mechanism 0 of 2: %v", m0)
	}
	if len(m1) != 1 || m1[KindPreference] == 0 {
		t.Errorf("mechanism 1 of 2: %v", m1)
	}
	if m2 := p.MechanismKinds(2, 3); len(m2) != 0 {
		t.Errorf("mechanism 2 of 3: %v", m2)
	}
	scores := []float64{0.4, 0.2, 0}
	if w := p.MechanismWeights(1, 2, scores); w[1] != 0.25 || w[0] != 1 || w[2] != 0 {
		t.Errorf("labels' weights of %v: %v, want squared", scores, w)
	}
	if w := p.MechanismWeights(1, 1, scores); w[1] != 1.0/16 {
		t.Errorf("one mechanism's weights of %v: %v, want the policy's ^4", scores, w)
	}
	if w := p.MechanismWeights(0, 2, scores); w[1] != 1.0/16 {
		t.Errorf("inference's weights of %v: %v, want ^4", scores, w)
	}
	bad := DefaultPolicy()
	bad.KindMechanism = map[string]uint8{KindPreference: 9}
	bad.TrapMargin = 0
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "mechanism 9") || !strings.Contains(err.Error(), "trap margin") {
		t.Errorf("Validate = %v", err)
	}
}
