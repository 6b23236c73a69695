package scoring

// Observed is what a validator saw of one query: whether an answer came,
// which model it declares, and how long it took.
type Observed struct {
	// Kind is the task kind (KindInference, KindReference).
	Kind string
	// NoAnswer is why no answer came ("timeout", "unreachable",
	// "status_503", "bad_signature", "malformed", ...); "" when one did.
	NoAnswer string
	// Latency is the time to the whole answer as a fraction of the
	// deadline, in [0, 1].
	Latency float64
}

// Checks are the results of the checks a validator ran on one answer.
type Checks struct {
	// Declared is whether the answer names the model the subnet pays for
	// (the one the validator verifies).
	Declared bool
	// Sample is the sampling verification: exact replay of the built-in
	// engine (CheckReplay) or the statistical checks (CheckSampled).
	Sample SampleVerdict
	// Copy is whether the answer is a near-duplicate of an earlier answer
	// of its round (the statistical path's copy check; the exact path
	// needs none: a copy does not replay under the copier's seed).
	Copy bool
	// Useful is p(useful) of the answer, in [0, 1].
	Useful float64
}

// Verdict is the judgement of one answer.
type Verdict struct {
	// Score is in [0, 1].
	Score float64
	// Hard is whether a hard check failed: the miner loses its whole
	// score for the window (Scores.Fail), not just this answer's.
	Hard bool
	// Reason is a stable code: "scored" when it passed, else why not.
	Reason string
	// Train, when not nil, is what p(useful) may learn from this answer: a
	// usefulness outcome the validator established itself (reference
	// tasks: the declared model's verified greedy answer, right or
	// wrong). Passing sampling verification says the answer is the
	// declared model's, not that it is useful: it never trains.
	Train *Example
}

// Example is one usefulness outcome for p(useful).
type Example struct {
	Useful   bool
	Evidence Evidence
}

// Reasons of a Verdict besides the sampling verdict's.
const (
	ReasonScored     = "scored"
	ReasonUndeclared = "undeclared_model" // a model the subnet does not pay for
	ReasonCopy       = "copy"             // a near-duplicate of an earlier answer in its round
)

// Judge turns what was observed of one answer and the checks run on it
// into a score. Missing answers score 0 without penalty beyond that (the
// miner did no work, and is paid for none). Everything that can only be
// a miner's lie is a hard failure: a model other than the declared one,
// tokens the declared model's sampler would not draw with the miner's
// seed, an end the model did not choose, a copy. An answer that passes
// every check scores Quality(useful, latency).
func (p Policy) Judge(o Observed, c Checks) Verdict {
	switch {
	case o.NoAnswer != "":
		return Verdict{Reason: o.NoAnswer}
	case !c.Declared:
		return Verdict{Hard: true, Reason: ReasonUndeclared}
	case !c.Sample.OK:
		v := Verdict{Hard: true, Reason: "sample_" + c.Sample.Reason}
		if o.Kind == KindReference && c.Sample.Judged() {
			// The declared model's greedy answer was not this one: a
			// wrong answer to a task with a known answer.
			v.Train = &Example{Useful: false, Evidence: EvidenceReference}
		}
		return v
	case c.Copy:
		return Verdict{Hard: true, Reason: ReasonCopy}
	}
	v := Verdict{Score: p.Quality(c.Useful, o.Latency), Reason: ReasonScored}
	if o.Kind == KindReference {
		v.Train = &Example{Useful: true, Evidence: EvidenceReference}
	}
	return v
}
