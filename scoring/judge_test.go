package scoring

import (
	"math"
	"strings"
	"testing"
)

func TestDefaultPolicyIsValid(t *testing.T) {
	if err := DefaultPolicy().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestPolicyValidateSaysWhatIsWrong(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Policy)
		want string
	}{
		{"greedy inference", func(p *Policy) { p.Temperature = 0 }, "temperature 0 is not in (0, 2]"},
		{"quality sums", func(p *Policy) { p.QualityBase = 0.9 }, "add up to 1.2, not 1"},
		{"no kinds", func(p *Policy) { p.KindWeights = map[string]float64{} }, "no task kind has a weight"},
		{"negative kind", func(p *Policy) { p.KindWeights = map[string]float64{KindInference: -1} }, `kind weight of "inference" is -1`},
		{"sharpen", func(p *Policy) { p.Sharpen = 0.5 }, "sharpen 0.5 is not in [1, 16]"},
		{"near tie", func(p *Policy) { p.Replay.NearTie = 0.7 }, "near-tie 0.7"},
		{"copy threshold", func(p *Policy) { p.CopyThreshold = 0 }, "copy threshold 0"},
		{"max tokens", func(p *Policy) { p.MaxTokens = 0 }, "max_tokens 0 is below 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultPolicy()
			tc.edit(&p)
			err := p.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// The sharpening curve is the one the README shows: (score/best)^4.
func TestWeightsSharpen(t *testing.T) {
	p := DefaultPolicy()
	got := p.Weights([]float64{0.8, 0.72, 0.6, 0.4, 0, math.NaN()})
	want := []float64{1, 0.6561, 0.31640625, 0.0625, 0, 0}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("weights %v, want %v", got, want)
		}
	}
	if w := p.Weights([]float64{0, 0}); w[0] != 0 || w[1] != 0 {
		t.Fatalf("nothing scores, weights %v", w)
	}
	p.Sharpen = 1
	if w := p.Weights([]float64{0.5, 0.25}); w[0] != 1 || w[1] != 0.5 {
		t.Fatalf("linear weights %v", w)
	}
}

func TestJudge(t *testing.T) {
	p := DefaultPolicy()
	ok := SampleVerdict{OK: true, Checked: 64}
	for _, tc := range []struct {
		name   string
		obs    Observed
		checks Checks
		score  float64
		hard   bool
		reason string
		train  *Example
	}{
		{"timeout is no work, no penalty", Observed{Kind: KindInference, NoAnswer: "timeout"}, Checks{}, 0, false, "timeout", nil},
		{"another model", Observed{Kind: KindInference}, Checks{Declared: false, Sample: ok}, 0, true, ReasonUndeclared, nil},
		{"not sampled", Observed{Kind: KindInference}, Checks{Declared: true, Sample: SampleVerdict{Reason: SampleNotSampled, Checked: 3}}, 0, true, "sample_not_sampled", nil},
		{"copy", Observed{Kind: KindInference}, Checks{Declared: true, Sample: ok, Copy: true}, 0, true, ReasonCopy, nil},
		{"honest, instant, useful", Observed{Kind: KindInference}, Checks{Declared: true, Sample: ok, Useful: 1}, 1, false, ReasonScored, nil},
		{"honest, at the deadline, useless", Observed{Kind: KindInference, Latency: 1}, Checks{Declared: true, Sample: ok, Useful: 0}, 0.7, false, ReasonScored, nil},
		{"reference right trains useful", Observed{Kind: KindReference, Latency: 0.5}, Checks{Declared: true, Sample: ok, Useful: 0.5}, 0.85, false, ReasonScored, &Example{true, EvidenceReference}},
		{"reference wrong trains not useful", Observed{Kind: KindReference}, Checks{Declared: true, Sample: SampleVerdict{Reason: SampleNotArgmax, Checked: 5}}, 0, true, "sample_not_argmax", &Example{false, EvidenceReference}},
		{"reference without tokens trains nothing", Observed{Kind: KindReference}, Checks{Declared: true, Sample: SampleVerdict{Reason: SampleNoTokens}}, 0, true, "sample_no_tokens", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := p.Judge(tc.obs, tc.checks)
			if math.Abs(v.Score-tc.score) > 1e-12 || v.Hard != tc.hard || v.Reason != tc.reason {
				t.Fatalf("verdict %+v, want score %v hard %v reason %q", v, tc.score, tc.hard, tc.reason)
			}
			switch {
			case (v.Train == nil) != (tc.train == nil):
				t.Fatalf("trains %+v, want %+v", v.Train, tc.train)
			case v.Train != nil && *v.Train != *tc.train:
				t.Fatalf("trains %+v, want %+v", *v.Train, *tc.train)
			}
		})
	}
}

// A hard failure zeroes every average and the combined score for the rest
// of the window; the next window the uid earns again from zero.
func TestScoresFailCostsTheWindow(t *testing.T) {
	s := NewScores(0.5)
	s.Realign([]string{"a", "b"})
	weights := map[string]float64{KindInference: 1, KindReference: 1}
	for range 4 {
		for uid := range 2 {
			_ = s.Update(KindInference, uid, 1)
			_ = s.Update(KindReference, uid, 1)
		}
	}
	s.SetWindow(3)
	if err := s.Fail(1); err != nil {
		t.Fatal(err)
	}
	_ = s.Update(KindInference, 1, 1) // honest work later in the same window
	if c := s.Combined(weights); c[0] < 0.9 || c[1] != 0 {
		t.Fatalf("combined %v: uid 1 failed this window and must score 0", c)
	}
	if s.Kinds[KindReference][1] != 0 || s.Kinds[KindInference][1] != 0.5 {
		t.Fatalf("averages after the failure: %v", s.Kinds)
	}
	s.SetWindow(2) // windows never go back
	if !s.FailedNow(1) {
		t.Fatal("the window moved back")
	}
	s.SetWindow(4)
	if c := s.Combined(weights); c[1] != 0.25 {
		t.Fatalf("next window: combined %v, want uid 1 at 0.25 (rebuilt from zero)", c)
	}
	if err := s.Fail(7); err == nil {
		t.Fatal("failing an unknown uid is no error")
	}
	// A new hotkey on the uid starts clean.
	s.SetWindow(5)
	_ = s.Fail(0)
	s.Realign([]string{"c", "b"})
	if s.FailedNow(0) {
		t.Fatal("a new hotkey inherited the old one's failure")
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestRoundCopies(t *testing.T) {
	honest := "The little dog ran to the park with his best friend and they played with a red ball under the big green tree."
	other := "Lily saw a bird in the sky. She wanted to fly too, so she jumped and laughed with her mom all day."
	swapped := "The little dog ran to the park with his best friend and they played with a blue ball under the big green tree."
	rc := NewRoundCopies(DefaultPolicy().CopyThreshold)
	for i, tc := range []struct {
		text string
		copy int
	}{
		{honest, -1},
		{other, -1},
		{"The little dog ran to the park", 0}, // cut short
		{swapped, 0},                          // a word swapped
		{"The little", 0},                     // shorter than one run: begins the first
		{"Lily saw", 1},
		{"Tom", -1},
		{"", -1},
	} {
		if j, sim := rc.Add(tc.text); j != tc.copy {
			t.Errorf("answer %d %q: copies %d (%.2f), want %d", i, tc.text, j, sim, tc.copy)
		}
	}
}

func TestAnswerMemory(t *testing.T) {
	m := NewAnswerMemory(2)
	a, b, c := "The dog ran to the park.", "Lily saw a bird in the sky.", "Tom had a red ball."
	for i, tc := range []struct {
		text string
		seen bool
	}{
		{a, false}, {"the DOG ran, to the park", true}, {b, false}, {c, false}, // a is forgotten: only two remembered
		{a, false}, {c, true}, {"Yes.", false}, {"Yes.", false},
	} {
		if got := m.Seen(tc.text); got != tc.seen {
			t.Errorf("%d %q: seen %v, want %v", i, tc.text, got, tc.seen)
		}
	}
}
