package scoring

import (
	"math"
	"strings"
	"testing"

	"github.com/seed0ffb8d46/agora/llm"
)

// Hand-built distributions: token ids 10, 11, 12, … and the stop token 2.
const (
	tA, tB, tC, tD = 10, 11, 12, 13
	tStop          = llm.EOSID
)

var testEOS = []int{llm.BOSID, llm.EOSID}

// dist is a position's top tokens: ids with probabilities, most likely
// first.
func dist(pairs ...float64) []llm.TokenLogprob {
	var top []llm.TokenLogprob
	for i := 0; i+1 < len(pairs); i += 2 {
		top = append(top, llm.TokenLogprob{ID: int(pairs[i]), Logprob: math.Log(pairs[i+1])})
	}
	return top
}

// at is a step: the token sent and the position's top tokens (sent's
// probability is p when it is not among them).
func at(sent int, p float64, top []llm.TokenLogprob) TopK {
	s := TopK{Sent: sent, SentLogprob: math.Log(p), Top: top}
	for _, t := range top {
		if t.ID == sent {
			s.SentLogprob = t.Logprob
		}
	}
	return s
}

// typical is a position where a sampler at 0.8 / 0.9 draws A or B.
var typical = dist(tA, 0.6, tB, 0.3, tC, 0.05)

// answer is n steps at typical, alternating A and B (an honest-looking
// sample), with the steps listed in change replaced.
func answer(n int, change map[int]TopK) []TopK {
	steps := make([]TopK, n)
	for i := range steps {
		sent := tA
		if i%2 == 1 {
			sent = tB
		}
		steps[i] = at(sent, 0, typical)
		if c, ok := change[i]; ok {
			steps[i] = c
		}
	}
	return steps
}

func repeat(n int, s TopK) []TopK {
	steps := make([]TopK, n)
	for i := range steps {
		steps[i] = s
	}
	return steps
}

func TestCheckSampled(t *testing.T) {
	sampled := SamplingParams{Temperature: 0.8, TopP: 0.9, MaxTokens: 40}
	whole := SamplingParams{Temperature: 1, TopP: 1, MaxTokens: 40}
	greedy := SamplingParams{Temperature: 0, MaxTokens: 40}
	stopAfter := TopK{Sent: -1, SentLogprob: math.NaN(), Top: dist(tStop, 0.7, tA, 0.2, tB, 0.05)}
	goesOn := TopK{Sent: -1, SentLogprob: math.NaN(), Top: dist(tA, 0.9, tB, 0.09, tStop, 0.001)}
	noStopInTop := TopK{Sent: -1, SentLogprob: math.NaN(), Top: dist(tA, 0.5, tB, 0.4, tC, 0.05)}
	stopNearTop := TopK{Sent: -1, SentLogprob: math.NaN(), Top: []llm.TokenLogprob{{ID: tA, Logprob: -0.70}, {ID: tStop, Logprob: -0.75}, {ID: tB, Logprob: -3}}}
	// A position where the stop token fills the nucleus alone.
	mustStop := dist(tStop, 0.95, tA, 0.03, tB, 0.01)
	// A peaked position: A almost surely, the tail tiny.
	peaked := dist(tA, 0.999, tB, 0.00099, tC, 0.0000099)
	// A position whose C is rare (a sampler draws it or rarer with
	// probability about 0.005) but not impossible.
	skewed := dist(tA, 0.97, tB, 0.025, tC, 0.004)
	nearTie := []llm.TokenLogprob{{ID: tA, Logprob: -0.60}, {ID: tB, Logprob: -0.65}, {ID: tC, Logprob: -3}}

	for _, c := range []struct {
		name      string
		steps     []TopK
		after     TopK
		p         SamplingParams
		finish    string
		positions []int
		reason    string // "" for OK
		checked   int    // when not 0
		nearTies  int
	}{
		{name: "honest sample", steps: answer(40, nil), p: sampled, finish: "length", reason: "", checked: 40},
		{name: "honest sample that stops", steps: answer(30, nil), after: stopAfter, p: sampled, finish: "stop", reason: ""},
		{name: "no tokens", steps: nil, p: sampled, finish: "stop", reason: SampleNoTokens},
		{name: "too long", steps: answer(41, nil), p: sampled, finish: "length", reason: SampleTooLong},
		{name: "unknown finish", steps: answer(40, nil), p: sampled, finish: "abort", reason: SampleBadFinish},
		{name: "length before max_tokens", steps: answer(39, nil), p: sampled, finish: "length", reason: SampleShort},
		{name: "negative id", steps: answer(40, map[int]TopK{7: at(-1, 0.1, typical)}), p: sampled, finish: "length", reason: SampleBadToken},
		{name: "no top", steps: answer(40, map[int]TopK{3: {Sent: tA, SentLogprob: -1}}), p: sampled, finish: "length", reason: SampleNoLogprobs},
		{name: "NaN logprob", steps: answer(40, map[int]TopK{3: {Sent: tD, SentLogprob: math.NaN(), Top: typical}}), p: sampled, finish: "length", reason: SampleNoLogprobs},
		{name: "top out of order", steps: answer(40, map[int]TopK{3: at(tA, 0, dist(tB, 0.3, tA, 0.6))}), p: sampled, finish: "length", reason: SampleNoLogprobs},
		{name: "nothing after a stop", steps: answer(30, nil), p: sampled, finish: "stop", reason: SampleNoLogprobs},

		// Outside the nucleus: one token in 40 is within the agreement
		// allowance (GPU noise), three are not.
		{name: "one token outside the nucleus", steps: answer(40, map[int]TopK{5: at(tC, 0, typical)}), p: sampled, finish: "length", reason: ""},
		{name: "three tokens outside the nucleus", steps: answer(40, map[int]TopK{5: at(tC, 0, typical), 9: at(tC, 0, typical), 30: at(tC, 0, typical)}),
			p: sampled, finish: "length", reason: SampleOutsideNucleus},
		{name: "outside the nucleus, not checked", steps: answer(40, map[int]TopK{5: at(tC, 0, typical), 9: at(tC, 0, typical), 30: at(tC, 0, typical)}),
			p: sampled, finish: "length", positions: []int{0, 1, 2, 3}, reason: "", checked: 4},
		{name: "outside the nucleus, checked", steps: answer(40, map[int]TopK{5: at(tC, 0, typical)}),
			p: sampled, finish: "length", positions: []int{5, 5, 6, 99, -1}, reason: SampleOutsideNucleus, checked: 2},
		// Without top_p any token may come, but not one a sampler reaches
		// once in 10^8.
		{name: "impossible token", steps: answer(40, map[int]TopK{1: at(tD, 1e-8, peaked), 2: at(tD, 1e-8, peaked), 3: at(tD, 1e-8, peaked)}),
			p: whole, finish: "length", reason: SampleNotSampled},
		{name: "a rare token now and then", steps: answer(40, map[int]TopK{4: at(tC, 0, skewed)}), p: whole, finish: "length", reason: ""},
		{name: "rare tokens throughout", steps: answer(40, map[int]TopK{0: at(tC, 0, skewed), 4: at(tC, 0, skewed), 8: at(tC, 0, skewed),
			12: at(tC, 0, skewed), 16: at(tC, 0, skewed), 20: at(tC, 0, skewed), 24: at(tC, 0, skewed)}), p: whole, finish: "length", reason: SampleNotSampled},

		// Stops.
		{name: "goes on where the model stops", steps: answer(40, map[int]TopK{20: at(tA, 0, mustStop)}), p: sampled, finish: "length", reason: SampleSkippedStop},
		{name: "goes on where the model stops, not checked", steps: answer(40, map[int]TopK{20: at(tA, 0, mustStop)}), p: sampled, finish: "length",
			positions: []int{1}, reason: SampleSkippedStop},
		{name: "goes on past a likely stop without top_p", steps: answer(40, map[int]TopK{20: at(tA, 0, mustStop)}), p: whole, finish: "length", reason: ""},
		{name: "stops where the model goes on", steps: answer(30, nil), after: goesOn, p: sampled, finish: "stop", reason: SampleEarlyStop},
		{name: "stops where no stop is in the top", steps: answer(30, nil), after: noStopInTop, p: sampled, finish: "stop", reason: SampleEarlyStop},
		{name: "stops inside the nucleus", steps: answer(30, nil), after: stopNearTop, p: sampled, finish: "stop", reason: ""},

		// Greedy output when sampling was asked.
		{name: "always the argmax", steps: repeat(40, at(tA, 0, typical)), p: sampled, finish: "length", reason: SampleGreedy},
		{name: "always the argmax, where that is likely", steps: repeat(40, at(tA, 0, peaked)), p: sampled, finish: "length", reason: ""},
		{name: "always the argmax, too few tokens", steps: repeat(15, at(tA, 0, typical)), p: SamplingParams{Temperature: 0.8, TopP: 0.9, MaxTokens: 15}, finish: "length", reason: ""},

		// Temperature 0.
		{name: "greedy answer", steps: repeat(40, at(tA, 0, typical)), p: greedy, finish: "length", reason: ""},
		{name: "greedy answer that stops", steps: repeat(30, at(tA, 0, typical)), after: stopAfter, p: greedy, finish: "stop", reason: ""},
		{name: "a sample when greedy was asked", steps: answer(40, nil), p: greedy, finish: "length", reason: SampleNotArgmax},
		{name: "a near tie", steps: repeat(40, at(tB, 0, nearTie)), p: greedy, finish: "length", reason: "", nearTies: 40},
		{name: "one token not the argmax", steps: func() []TopK { s := repeat(40, at(tA, 0, typical)); s[3] = at(tB, 0, typical); return s }(),
			p: greedy, finish: "length", reason: SampleNotArgmax},
		{name: "greedy goes on past a stop", steps: func() []TopK { s := repeat(40, at(tA, 0, typical)); s[3] = at(tA, 0, mustStop); return s }(),
			p: greedy, finish: "length", reason: SampleSkippedStop},
		{name: "greedy stops early", steps: repeat(30, at(tA, 0, typical)), after: goesOn, p: greedy, finish: "stop", reason: SampleEarlyStop},
		{name: "greedy stops at a near tie", steps: repeat(30, at(tA, 0, typical)), after: stopNearTop, p: greedy, finish: "stop", reason: ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := CheckSampled(c.steps, c.after, testEOS, c.p, c.finish, c.positions, DefaultStatPolicy())
			if v.Reason != c.reason || v.OK != (c.reason == "") {
				t.Fatalf("verdict %+v, want reason %q", v, c.reason)
			}
			if !v.OK && v.Detail == "" {
				t.Fatalf("no detail: %+v", v)
			}
			if c.checked != 0 && v.Checked != c.checked {
				t.Fatalf("checked %d, want %d", v.Checked, c.checked)
			}
			if v.NearTies != c.nearTies {
				t.Fatalf("near ties %d, want %d", v.NearTies, c.nearTies)
			}
			if v.OK {
				var sum float64
				for _, s := range c.steps {
					sum += s.SentLogprob
				}
				if want := sum / float64(len(c.steps)); math.Abs(v.MeanLogprob-want) > 1e-12 {
					t.Fatalf("mean logprob %v, want %v", v.MeanLogprob, want)
				}
			}
		})
	}
}

// The thresholds do what they say: a looser agreement lets three tokens
// outside the nucleus pass, more noise lets a token near its boundary
// pass, a lower z lets fewer argmax tokens count as greedy.
func TestStatPolicyThresholds(t *testing.T) {
	p := SamplingParams{Temperature: 0.8, TopP: 0.9, MaxTokens: 40}
	three := answer(40, map[int]TopK{5: at(tC, 0, typical), 9: at(tC, 0, typical), 30: at(tC, 0, typical)})
	pol := DefaultStatPolicy()
	pol.MinAgreement = 0.9
	if v := CheckSampled(three, TopK{}, testEOS, p, "length", nil, pol); !v.OK {
		t.Fatalf("agreement 0.9: %+v", v)
	}
	// C is just outside the nucleus at 0.8 / 0.9; with a log-probability
	// noise of 0.5 it could be inside for the miner's GPU.
	pol = DefaultStatPolicy()
	pol.Noise = 0.5
	if v := CheckSampled(three, TopK{}, testEOS, p, "length", nil, pol); !v.OK {
		t.Fatalf("noise 0.5: %+v", v)
	}
	// 30 argmax tokens in 40 where about 28 are expected.
	mostly := answer(40, map[int]TopK{1: at(tA, 0, typical), 3: at(tA, 0, typical), 5: at(tA, 0, typical), 7: at(tA, 0, typical), 9: at(tA, 0, typical),
		11: at(tA, 0, typical), 13: at(tA, 0, typical), 15: at(tA, 0, typical), 17: at(tA, 0, typical), 19: at(tA, 0, typical)})
	if v := CheckSampled(mostly, TopK{}, testEOS, p, "length", nil, DefaultStatPolicy()); !v.OK {
		t.Fatalf("30 argmax of 40: %+v", v)
	}
	pol = DefaultStatPolicy()
	pol.GreedyZ, pol.GreedyMaxP = 0.1, 0.9
	if v := CheckSampled(mostly, TopK{}, testEOS, p, "length", nil, pol); v.Reason != SampleGreedy {
		t.Fatalf("z 0.1: %+v", v)
	}
}

func TestStatPolicyValidate(t *testing.T) {
	if err := DefaultStatPolicy().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		change func(*StatPolicy)
		says   string
	}{
		{func(p *StatPolicy) { p.K = 0 }, "K 0"},
		{func(p *StatPolicy) { p.Noise = -1 }, "Noise -1"},
		{func(p *StatPolicy) { p.Noise = math.NaN() }, "Noise NaN"},
		{func(p *StatPolicy) { p.MinTailMass = 0.5 }, "MinTailMass 0.5"},
		{func(p *StatPolicy) { p.MinAgreement = 0 }, "MinAgreement 0"},
		{func(p *StatPolicy) { p.MinAgreementGreedy = 1.5 }, "MinAgreementGreedy 1.5"},
		{func(p *StatPolicy) { p.GreedyZ = 0 }, "GreedyZ 0"},
		{func(p *StatPolicy) { p.GreedyMaxP = 0 }, "GreedyMaxP 0"},
		{func(p *StatPolicy) { p.GreedyMinPositions = 0 }, "GreedyMinPositions 0"},
		{func(p *StatPolicy) { p.RareMass = 1 }, "RareMass 1"},
		{func(p *StatPolicy) { p.RareMaxP = 2 }, "RareMaxP 2"},
		{func(p *StatPolicy) { p.MaxVocab = 10 }, "MaxVocab 10"},
	} {
		p := DefaultStatPolicy()
		c.change(&p)
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("error %v, want one saying %q", err, c.says)
		}
	}
	if err := (StatPolicy{}).Validate(); err == nil {
		t.Error("the zero policy is valid")
	}
}

// The exact tails against sums done by hand.
func TestTails(t *testing.T) {
	if got, want := binomialAtLeast(3, 2, 0.5), 0.5; math.Abs(got-want) > 1e-12 {
		t.Errorf("binomial(3, 0.5) ≥ 2: %v, want %v", got, want)
	}
	if got, want := binomialAtLeast(4, 4, 0.1), 1e-4; math.Abs(got-want) > 1e-15 {
		t.Errorf("binomial(4, 0.1) ≥ 4: %v, want %v", got, want)
	}
	if binomialAtLeast(4, 0, 0.1) != 1 || binomialAtLeast(4, 5, 0.1) != 0 {
		t.Error("binomial edges")
	}
	// Two events of 0.5 and 0.8: both happen with 0.4, at most one misses
	// with 1 - 0.5·0.2.
	if got := atMostMisses([]float64{0.5, 0.8}, 0); math.Abs(got-0.4) > 1e-12 {
		t.Errorf("no misses: %v", got)
	}
	if got := atMostMisses([]float64{0.5, 0.8}, 1); math.Abs(got-0.9) > 1e-12 {
		t.Errorf("at most one miss: %v", got)
	}
}
