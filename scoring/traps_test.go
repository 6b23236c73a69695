package scoring

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestTrapPair: the good side is picked only when the model rates it
// TrapMargin above the worse one, and the coin decides which side is
// longer: over many traps, "pick the longer side" is right half the time.
func TestTrapPair(t *testing.T) {
	p := DefaultPolicy()
	r := rand.New(rand.NewPCG(1, 2))
	goods := []TrapSide{
		{Text: strings.Repeat("a", 40), MeanLogprob: -0.5},
		{Text: strings.Repeat("b", 60), MeanLogprob: -0.6},
		{Text: strings.Repeat("c", 50), MeanLogprob: -1.0}, // too close to the worse side
		{Text: strings.Repeat("d", 70), MeanLogprob: -0.4},
	}
	worse := TrapSide{Text: strings.Repeat("z", 55), MeanLogprob: -1.1}
	longerRight, n := 0, 0
	for i := range 400 {
		wl := i%2 == 0
		j := p.TrapPair(goods, worse, wl, r)
		if j < 0 {
			t.Fatalf("no good side for worseLonger=%v", wl)
		}
		if j == 2 {
			t.Fatalf("picked a good side within the margin")
		}
		if (len(worse.Text) > len(goods[j].Text)) != wl {
			t.Fatalf("worseLonger=%v but picked %d (len %d vs %d)", wl, j, len(goods[j].Text), len(worse.Text))
		}
		n++
		if len(goods[j].Text) > len(worse.Text) {
			longerRight++
		}
	}
	if longerRight != n/2 {
		t.Errorf("the longer side was the good one %d of %d times, want half", longerRight, n)
	}
	if j := p.TrapPair(goods[:1], worse, false, r); j != -1 {
		t.Errorf("worse shorter asked, only a shorter good side: got %d, want -1", j)
	}
	if j := p.TrapPair([]TrapSide{{Text: "x", MeanLogprob: -1.05}}, worse, true, r); j != -1 {
		t.Errorf("good side within the margin: got %d, want -1", j)
	}
}

// TestServerTimes: claims are cut to the validator's own clock, a
// labeler's labels are laid end to end, and a receipt time outside the
// window is the miner's false word.
func TestServerTimes(t *testing.T) {
	busy := map[string]int64{}
	ts := []LabelTiming{
		// Four tasks sent at 0 and collected at 5 s, each claimed 6 s:
		// they share the 5 s.
		{Labeler: "fast", SentMs: 0, GotMs: 5000, ClaimedMs: 6000, ReceivedMs: 1000},
		{Labeler: "fast", SentMs: 0, GotMs: 5000, ClaimedMs: 6000, ReceivedMs: 1100},
		{Labeler: "fast", SentMs: 0, GotMs: 5000, ClaimedMs: 6000, ReceivedMs: 1200},
		{Labeler: "fast", SentMs: 0, GotMs: 5000, ClaimedMs: 6000, ReceivedMs: 1300},
		// A careful labeler whose claims fit.
		{Labeler: "careful", SentMs: 0, GotMs: 20000, ClaimedMs: 6000, ReceivedMs: 6000},
		{Labeler: "careful", SentMs: 0, GotMs: 20000, ClaimedMs: 6000, ReceivedMs: 12000},
		// A receipt time before the task was sent.
		{Labeler: "liar", SentMs: 60000, GotMs: 90000, ClaimedMs: 6000, ReceivedMs: 1000},
	}
	got := ServerTimes(ts, busy)
	want := []int64{1250, 1250, 1250, 1250, 6000, 6000, 0}
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
	bad := DefaultPolicy()
	bad.KindMechanism = map[string]uint8{KindPreference: 9}
	bad.TrapTemperature = 0.5
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "mechanism 9") || !strings.Contains(err.Error(), "trap temperature") {
		t.Errorf("Validate = %v", err)
	}
}
