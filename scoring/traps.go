package scoring

import "math/rand/v2"

// Preference tasks: every one is two verified answers of the declared
// model to one prompt, of the same number of tokens, shown in random
// order. A trap is a pair whose order the validator knows: the model
// itself rates one side at least TrapMargin nats per token more likely
// than the other (both are its own samples at the tasks' temperature and
// top_p, so no token of either falls outside the nucleus, and both are
// miners' answers, which come back in other tasks alike). Which side of a
// trap is longer is a coin flip. A real comparison is a pair the model
// rates within the margin: its answer is the crowd's.
//
// research/integrity.md section 4: a trap must look like every other task,
// its worse side a real but worse answer.

// PairSide is one candidate side of a preference task: its text and the
// declared model's mean log-probability per token of it (temperature 1).
type PairSide struct {
	Text        string
	MeanLogprob float64
}

// PrefPair picks two answers to one prompt for a preference task: for a
// trap, a pair the model rates at least TrapMargin apart, the worse side
// longer in characters exactly when worseLonger (the caller's coin flip)
// unless the two are as long,
// returned as (better, worse); for a real comparison, a pair rated within
// the margin, in random order. Pairs are drawn at random among those that
// fit, never two equal texts; ok is false when none fits.
func (p Policy) PrefPair(sides []PairSide, trap, worseLonger bool, r *rand.Rand) (a, b int, ok bool) {
	type pair struct{ a, b int }
	var fit []pair
	for i := range sides {
		for j := range sides {
			si, sj := sides[i], sides[j]
			if i == j || si.Text == sj.Text {
				continue
			}
			gap := si.MeanLogprob - sj.MeanLogprob
			switch {
			case trap && gap >= p.TrapMargin && (len(sj.Text) == len(si.Text) || (len(sj.Text) > len(si.Text)) == worseLonger):
				fit = append(fit, pair{i, j})
			case !trap && i < j && gap < p.TrapMargin && -gap < p.TrapMargin:
				fit = append(fit, pair{i, j})
			}
		}
	}
	if len(fit) == 0 {
		return 0, 0, false
	}
	f := fit[r.IntN(len(fit))]
	if !trap && r.IntN(2) == 0 {
		f.a, f.b = f.b, f.a
	}
	return f.a, f.b, true
}
