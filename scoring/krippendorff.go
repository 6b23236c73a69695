package scoring

import (
	"errors"
	"fmt"
	"slices"
)

// AlphaMetric selects the difference function δ² used by KrippendorffAlpha.
type AlphaMetric int

const (
	// AlphaNominal treats values as unordered categories: δ²(c,k) = 1 if c ≠ k, else 0.
	AlphaNominal AlphaMetric = iota
	// AlphaOrdinal treats values as ranks (only their order matters):
	// δ²(c,k) = (Σ_{g=c..k} n_g − (n_c + n_k)/2)², where n_g is the number of pairable values
	// equal to g (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability", §F). For
	// preference votes (A < tie < B) a tie-versus-win disagreement costs less than a
	// win-versus-loss flip.
	AlphaOrdinal
	// AlphaInterval uses the squared numeric difference δ²(c,k) = (c − k)².
	AlphaInterval
)

// String returns the metric's name: "nominal", "ordinal" or "interval".
func (m AlphaMetric) String() string {
	switch m {
	case AlphaNominal:
		return "nominal"
	case AlphaOrdinal:
		return "ordinal"
	case AlphaInterval:
		return "interval"
	}
	return fmt.Sprintf("AlphaMetric(%d)", int(m))
}

// ErrAlphaUndefined is returned (wrapped) by KrippendorffAlpha when α has no value: fewer than
// two pairable values, or no variation at all among them (expected disagreement D_e = 0).
var ErrAlphaUndefined = errors.New("krippendorff alpha undefined")

// KrippendorffAlpha returns Krippendorff's α = 1 − D_o/D_e for reliability data given as units:
// units[u] holds every value assigned to unit u (one per coder; missing values are simply
// absent, so any number of coders per unit is fine). Units with fewer than two values are not
// pairable and are dropped, as the definition requires.
//
// It builds the coincidence matrix o_ck = Σ_u (number of c–k pairs of values in u)/(m_u − 1),
// the marginals n_c = Σ_k o_ck and n = Σ_c n_c, and returns
//
//	α = 1 − (n − 1) · Σ_{c,k} o_ck δ²(c,k) / Σ_{c,k} n_c n_k δ²(c,k).
//
// α is 1 for perfect agreement, about 0 for chance agreement and negative for systematic
// disagreement. The result does not depend on the order of units or of values within a unit.
// The error wraps ErrAlphaUndefined when α has no value, and reports an unknown metric.
// units is not modified.
func KrippendorffAlpha(units [][]int, metric AlphaMetric) (float64, error) {
	if metric < AlphaNominal || metric > AlphaInterval {
		return 0, fmt.Errorf("scoring: krippendorff alpha: unknown metric %d", int(metric))
	}
	// The distinct pairable values, sorted, index the coincidence matrix.
	var vals []int
	maxLen := 0
	for _, u := range units {
		if len(u) < 2 {
			continue
		}
		vals = append(vals, u...)
		maxLen = max(maxLen, len(u))
	}
	if len(vals) < 2 {
		return 0, fmt.Errorf("scoring: krippendorff alpha: %w: fewer than two pairable values", ErrAlphaUndefined)
	}
	slices.Sort(vals)
	vals = slices.Compact(vals)
	k := len(vals)
	o := make([]float64, k*k)
	idx := make([]int, 0, maxLen)
	for _, u := range units {
		m := len(u)
		if m < 2 {
			continue
		}
		idx = idx[:0]
		for _, v := range u {
			i, _ := slices.BinarySearch(vals, v)
			idx = append(idx, i)
		}
		slices.Sort(idx)
		// Run-length encode the unit's category indices, then add every ordered pair of
		// values from different coders, weighted 1/(m_u − 1).
		w := 1 / float64(m-1)
		for a := 0; a < len(idx); {
			ea := a
			for ea < len(idx) && idx[ea] == idx[a] {
				ea++
			}
			ca := float64(ea - a)
			o[idx[a]*k+idx[a]] += ca * (ca - 1) * w
			for b := ea; b < len(idx); {
				eb := b
				for eb < len(idx) && idx[eb] == idx[b] {
					eb++
				}
				x := ca * float64(eb-b) * w
				o[idx[a]*k+idx[b]] += x
				o[idx[b]*k+idx[a]] += x
				b = eb
			}
			a = ea
		}
	}
	nc := make([]float64, k)
	n := 0.0
	for c := range k {
		for j := range k {
			nc[c] += o[c*k+j]
		}
		n += nc[c]
	}
	delta := kaDistances(vals, nc, metric)
	var do, de float64
	for c := range k {
		for j := range k {
			d := delta[c*k+j]
			do += o[c*k+j] * d
			de += nc[c] * nc[j] * d
		}
	}
	if de == 0 {
		return 0, fmt.Errorf("scoring: krippendorff alpha: %w: all pairable values are equal", ErrAlphaUndefined)
	}
	return 1 - (n-1)*do/de, nil
}

// kaDistances returns the k×k matrix of δ²(vals[c], vals[j]) for the metric, given the
// marginal counts nc (used by the ordinal metric).
func kaDistances(vals []int, nc []float64, metric AlphaMetric) []float64 {
	k := len(vals)
	d := make([]float64, k*k)
	switch metric {
	case AlphaNominal:
		for c := range k {
			for j := range k {
				if c != j {
					d[c*k+j] = 1
				}
			}
		}
	case AlphaOrdinal:
		// cum[i] = n_0 + … + n_{i−1}, so Σ_{g=c..j} n_g = cum[j+1] − cum[c] for c ≤ j.
		cum := make([]float64, k+1)
		for i := range k {
			cum[i+1] = cum[i] + nc[i]
		}
		for c := range k {
			for j := c + 1; j < k; j++ {
				x := cum[j+1] - cum[c] - (nc[c]+nc[j])/2
				d[c*k+j] = x * x
				d[j*k+c] = x * x
			}
		}
	case AlphaInterval:
		for c := range k {
			for j := range k {
				x := float64(vals[c] - vals[j])
				d[c*k+j] = x * x
			}
		}
	}
	return d
}
