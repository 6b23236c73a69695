package scoring

import "math/rand/v2"

// Traps: preference tasks whose answer the validator knows. A trap must
// look like every other task (research/integrity.md section 4): both sides
// are the declared model's samples of the same prompt, of the same number
// of tokens; the worse side is the validator's own sample at a higher
// temperature (Policy.TrapTemperature), which the model itself rates lower.
// Nothing of its form tells it apart: which side is longer is a coin flip,
// as in a real comparison, and the sides are shown in random order.

// TrapSide is one candidate side of a trap: its text and the declared
// model's mean log-probability per token of it (temperature 1).
type TrapSide struct {
	Text        string
	MeanLogprob float64
}

// TrapPair picks, among good answers to one prompt (verified samples), the
// one to set against worse, the validator's hotter sample, so that the pair
// is a trap with a known answer that its form does not give away: the good
// side is at least TrapMargin nats per token more likely under the model,
// and worse is longer in characters exactly when worseLonger (the caller's
// coin flip), the good side being chosen at random among those that fit.
// It returns -1 when none fits (the caller samples again or makes no
// trap).
func (p Policy) TrapPair(goods []TrapSide, worse TrapSide, worseLonger bool, r *rand.Rand) int {
	var fit []int
	for i, g := range goods {
		if g.MeanLogprob-worse.MeanLogprob < p.TrapMargin || len(g.Text) == len(worse.Text) || g.Text == worse.Text {
			continue
		}
		if (len(worse.Text) > len(g.Text)) == worseLonger {
			fit = append(fit, i)
		}
	}
	if len(fit) == 0 {
		return -1
	}
	return fit[r.IntN(len(fit))]
}
