package validator

import "testing"

// TestLabelBar: the bar is a third of the best labeler's score, and never
// below the floor, so a crowd of careless labelers keeps nobody in.
func TestLabelBar(t *testing.T) {
	for _, c := range []struct {
		scores map[string]float64
		want   float64
	}{
		{map[string]float64{"a": 0.09, "b": 0.06, "r": 0}, 0.03},
		{map[string]float64{"r1": 0.001, "r2": 0}, labelBarFloor},
		{map[string]float64{}, labelBarFloor},
	} {
		if got := labelBar(c.scores); got != c.want {
			t.Errorf("labelBar(%v) = %v, want %v", c.scores, got, c.want)
		}
	}
}
