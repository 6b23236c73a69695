package scoring

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// kaPaperUnits is the reliability data matrix of Krippendorff (2011), "Computing
// Krippendorff's Alpha-Reliability", section C: four observers, twelve units, values 1–5,
// missing values left out. Unit 12 has one value and is not pairable.
//
//	A: 1 2 3 3 2 1 4 1 2 . . .
//	B: 1 2 3 3 2 2 4 1 2 5 . 3
//	C: . 3 3 3 2 3 4 2 2 5 1 .
//	D: 1 2 3 3 2 4 4 1 2 5 1 .
var kaPaperUnits = [][]int{
	{1, 1, 1},
	{2, 2, 3, 2},
	{3, 3, 3, 3},
	{3, 3, 3, 3},
	{2, 2, 2, 2},
	{1, 2, 3, 4},
	{4, 4, 4, 4},
	{1, 1, 2, 1},
	{2, 2, 2, 2},
	{5, 5, 5},
	{1, 1},
	{3},
}

// TestKrippendorffPaperExample reproduces the α values the paper reports for its example:
// nominal 0.743, ordinal 0.815, interval 0.849 (to three decimals).
func TestKrippendorffPaperExample(t *testing.T) {
	for _, tc := range []struct {
		metric AlphaMetric
		want   float64
	}{
		{AlphaNominal, 0.743},
		{AlphaOrdinal, 0.815},
		{AlphaInterval, 0.849},
	} {
		got, err := KrippendorffAlpha(kaPaperUnits, tc.metric)
		if err != nil {
			t.Fatalf("%v: %v", tc.metric, err)
		}
		if math.Abs(got-tc.want) > 0.0005 {
			t.Errorf("%v alpha = %.5f, want %.3f", tc.metric, got, tc.want)
		}
		naive := kaNaive(kaPaperUnits, tc.metric)
		if math.Abs(got-naive) > 1e-12 {
			t.Errorf("%v alpha = %v, naive pairwise definition gives %v", tc.metric, got, naive)
		}
	}
}

// TestKrippendorffNominalByHand checks a case small enough to do on paper. Units {0,0},
// {1,1}, {0,1}: the coincidence matrix is o00 = 2, o11 = 2, o01 = o10 = 1; n0 = n1 = 3, n = 6;
// α = 1 − (n−1)·(o01+o10)/(2·n0·n1) = 1 − 5·2/18 = 4/9.
func TestKrippendorffNominalByHand(t *testing.T) {
	got, err := KrippendorffAlpha([][]int{{0, 0}, {1, 1}, {0, 1}}, AlphaNominal)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-4.0/9) > 1e-12 {
		t.Errorf("alpha = %v, want 4/9", got)
	}
}

func TestKrippendorffPerfectAgreement(t *testing.T) {
	units := [][]int{{0, 0, 0}, {2, 2}, {1, 1, 1, 1}, {2, 2, 2}, {0, 0}, {7}}
	for _, m := range []AlphaMetric{AlphaNominal, AlphaOrdinal, AlphaInterval} {
		got, err := KrippendorffAlpha(units, m)
		if err != nil {
			t.Fatal(err)
		}
		if got != 1 {
			t.Errorf("%v: perfect agreement alpha = %v, want 1", m, got)
		}
	}
}

// TestKrippendorffSystematicDisagreement: two coders who always pick opposite ends.
func TestKrippendorffSystematicDisagreement(t *testing.T) {
	units := [][]int{{0, 2}, {2, 0}, {0, 2}, {2, 0}, {0, 2}}
	for _, m := range []AlphaMetric{AlphaNominal, AlphaOrdinal, AlphaInterval} {
		got, err := KrippendorffAlpha(units, m)
		if err != nil {
			t.Fatal(err)
		}
		if !(got < 0) {
			t.Errorf("%v: systematic disagreement alpha = %v, want < 0", m, got)
		}
	}
}

// TestKrippendorffOrdinalCostsTieLess: disagreeing by a tie must hurt ordinal α less than
// disagreeing by a flip, while nominal α cannot tell the two apart.
func TestKrippendorffOrdinalCostsTieLess(t *testing.T) {
	base := [][]int{{0, 0}, {2, 2}, {0, 0}, {2, 2}, {1, 1}}
	withTie := append(append([][]int{}, base...), []int{0, 1}, []int{2, 1})
	withFlip := append(append([][]int{}, base...), []int{0, 2}, []int{2, 0})
	aTie, _ := KrippendorffAlpha(withTie, AlphaOrdinal)
	aFlip, _ := KrippendorffAlpha(withFlip, AlphaOrdinal)
	if !(aTie > aFlip) {
		t.Errorf("ordinal alpha: tie disagreement %v, flip %v; want tie > flip", aTie, aFlip)
	}
}

func TestKrippendorffUndefined(t *testing.T) {
	for name, units := range map[string][][]int{
		"empty":        nil,
		"singletons":   {{1}, {2}, {3}},
		"no variation": {{1, 1}, {1, 1, 1}, {4}},
	} {
		_, err := KrippendorffAlpha(units, AlphaOrdinal)
		if !errors.Is(err, ErrAlphaUndefined) {
			t.Errorf("%s: err = %v, want ErrAlphaUndefined", name, err)
		}
	}
	if _, err := KrippendorffAlpha([][]int{{0, 1}}, AlphaMetric(9)); err == nil {
		t.Error("unknown metric: no error")
	}
}

// TestKrippendorffMatchesNaive compares the coincidence-matrix implementation with the
// pairwise-disagreement definition on random data with missing values.
func TestKrippendorffMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		nUnits := 1 + r.IntN(30)
		nVals := 2 + r.IntN(6)
		units := make([][]int, nUnits)
		for u := range units {
			m := r.IntN(6)
			for range m {
				units[u] = append(units[u], r.IntN(nVals)*3-4) // gaps and negatives
			}
		}
		for _, m := range []AlphaMetric{AlphaNominal, AlphaOrdinal, AlphaInterval} {
			got, err := KrippendorffAlpha(units, m)
			want := kaNaive(units, m)
			if err != nil {
				if !math.IsNaN(want) {
					t.Fatalf("trial %d %v: err %v, naive %v", trial, m, err, want)
				}
				continue
			}
			if math.Abs(got-want) > 1e-9 {
				t.Fatalf("trial %d %v: alpha %v, naive %v; units %v", trial, m, got, want, units)
			}
		}
	}
}

// kaNaive computes α = 1 − D_o/D_e straight from the definitions: D_o averages δ² over the
// ordered pairs of values within each unit, each unit's pairs weighted 1/(m_u − 1); D_e
// averages δ² over all ordered pairs of distinct pairable values. It returns NaN when α is
// undefined.
func kaNaive(units [][]int, metric AlphaMetric) float64 {
	var all []int
	for _, u := range units {
		if len(u) >= 2 {
			all = append(all, u...)
		}
	}
	n := float64(len(all))
	count := func(g int) float64 {
		c := 0.0
		for _, v := range all {
			if v == g {
				c++
			}
		}
		return c
	}
	delta := func(a, b int) float64 {
		switch metric {
		case AlphaNominal:
			if a != b {
				return 1
			}
			return 0
		case AlphaInterval:
			return float64((a - b) * (a - b))
		}
		if a > b {
			a, b = b, a
		}
		if a == b {
			return 0
		}
		seen := map[int]bool{}
		s := 0.0
		for _, v := range all {
			if v >= a && v <= b && !seen[v] {
				seen[v] = true
				s += count(v)
			}
		}
		s -= (count(a) + count(b)) / 2
		return s * s
	}
	do := 0.0
	for _, u := range units {
		if len(u) < 2 {
			continue
		}
		for i := range u {
			for j := range u {
				if i != j {
					do += delta(u[i], u[j]) / float64(len(u)-1)
				}
			}
		}
	}
	do /= n
	de := 0.0
	for i := range all {
		for j := range all {
			if i != j {
				de += delta(all[i], all[j])
			}
		}
	}
	if n < 2 || de == 0 {
		return math.NaN()
	}
	de /= n * (n - 1)
	return 1 - do/de
}
