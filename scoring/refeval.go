package scoring

import (
	"errors"
	"fmt"
)

// Reference evaluations (DESIGN.md section 7): tasks generated on the fly
// from a seed, each with a known canonical answer, checked by strict then
// flexible answer extraction as lm-evaluation-harness does for GSM8K.
//
// Generation is a pure function of (seed, kind): the same pair gives the
// same task on every run and platform. The random stream is PCG-DXSM from
// math/rand/v2, drawn through this package's own integer sampling, so a
// change in the standard library's helpers cannot change a task. The seed
// should come from a validator-secret stream and never repeat; the
// generators cover enough surface variety (templates, numbers, names) that
// a miner cannot memorise answers.

// RefKind is a family of reference tasks.
type RefKind string

// The reference task kinds.
const (
	RefArithmetic  RefKind = "arithmetic"   // +, -, *, exact integer division, two- and three-term expressions
	RefWordProblem RefKind = "word_problem" // GSM8K-like multi-step problems with integer answers
	RefUnit        RefKind = "unit"         // unit conversions, exact or rounded to a stated number of decimals
	RefDate        RefKind = "date"         // add days, day of week, days between (proleptic Gregorian, UTC)
	RefString      RefKind = "string"       // reverse, count a letter, nth character, uppercase, length
	RefList        RefKind = "list"         // sort, max, min, sum, length, dedup of small integer lists
	RefFact        RefKind = "fact"         // capitals, chemical elements, planets (facts.go)
	RefFormat      RefKind = "format"       // a simple question plus a format constraint (JSON key, one word, uppercase)
)

// RefKinds returns every task kind, in a fixed order. The caller owns the
// returned slice.
func RefKinds() []RefKind {
	return []RefKind{RefArithmetic, RefWordProblem, RefUnit, RefDate, RefString, RefList, RefFact, RefFormat}
}

// Valid reports whether k is one of the kinds RefKinds lists.
func (k RefKind) Valid() bool {
	switch k {
	case RefArithmetic, RefWordProblem, RefUnit, RefDate, RefString, RefList, RefFact, RefFormat:
		return true
	}
	return false
}

// RefMatch says how a response is compared with a task's answer.
type RefMatch string

// The answer forms. Each one has a strict reading (a declared final answer,
// or the whole response, in exactly the expected form) and, except
// RefMatchOneWord, a flexible one (see RefTask.Check).
const (
	RefMatchNumber  RefMatch = "number"   // a decimal number; "1,234" = "1234", "12.0" = "12"
	RefMatchDate    RefMatch = "date"     // a date written YYYY-MM-DD
	RefMatchList    RefMatch = "list"     // an ordered list of integers, "[3, 1, 2]"
	RefMatchText    RefMatch = "text"     // words, compared case- and accent-insensitively
	RefMatchCase    RefMatch = "case"     // words, compared case-sensitively (symbols, uppercase replies)
	RefMatchOneWord RefMatch = "one_word" // exactly one word, case-insensitive; no flexible reading
	RefMatchJSON    RefMatch = "json"     // a JSON object whose member Key holds Value
)

// The extraction methods a RefResult reports.
const (
	RefMethodStrict   = "strict"   // a declared final answer or the whole response, in the expected form
	RefMethodFlexible = "flexible" // the last number, date or list, or the one candidate word mentioned
	RefMethodNone     = "none"     // nothing usable was found, or the response hedged
)

// The reasons a RefResult reports.
const (
	RefReasonOK       = "ok"        // the answer is right
	RefReasonWrong    = "wrong"     // an answer was extracted and it is wrong
	RefReasonNoAnswer = "no_answer" // no answer in the expected form was found
	RefReasonHedged   = "hedged"    // several different candidate answers were given
	RefReasonTooMany  = "too_many"  // more numbers, dates, lists or declarations than an answer needs (a dump)
	RefReasonTooLong  = "too_long"  // the response exceeds RefMaxResponseBytes
	RefReasonFormat   = "format"    // the answer is not in the form the task demanded
)

// Scores and limits of RefTask.Check.
const (
	// RefScoreStrict is the score of a right answer found strictly.
	RefScoreStrict = 1.0
	// RefScoreFlexible is the score of a right answer found only by
	// flexible extraction: slightly less, so following the requested
	// answer format pays.
	RefScoreFlexible = 0.9
	// RefMaxResponseBytes is the longest response Check reads; longer
	// ones score 0.
	RefMaxResponseBytes = 32 << 10
	// RefMaxNumbers is the most numbers (or dates) a text may hold for
	// flexible extraction to read it; a response with more scores 0, so
	// dumping many numbers never pays.
	RefMaxNumbers = 50
	// RefMaxCandidates is the most bracketed lists or JSON objects a text
	// may hold for flexible extraction to read it.
	RefMaxCandidates = 8
	// RefMaxDeclared is the most declared final answers ("Answer:",
	// "####", \boxed) a response may hold; one with more scores 0.
	RefMaxDeclared = 16
)

// ErrRefKind is returned for a RefKind that RefKinds does not list.
var ErrRefKind = errors.New("scoring: unknown reference task kind")

// RefTask is one generated reference task. Only Prompt is meant for the
// miner; the rest is for the validator (checking, logs, audits). A RefTask
// is a value: it shares nothing mutable, and Check may be called
// concurrently.
type RefTask struct {
	// ID names the task: kind, a dash, and the seed as 16 hex digits. It
	// reveals the seed; send it to miners only if seeds are not secret.
	ID   string
	Seed uint64
	Kind RefKind
	// Op is the generator variant, such as "add_days" or "json:capital";
	// with Args it determines the answer, so a task can be re-checked
	// independently of its prompt wording.
	Op string
	// Args are the inputs of Op in a fixed order per Op, as text: for
	// "arithmetic" the expression in Go syntax, for dates YYYY-MM-DD and
	// day counts, for lists the elements, for facts the looked-up key.
	Args []string
	// Prompt is the question, ending with the answer format expected.
	Prompt string
	// Answer is the canonical answer. "Answer: "+Answer is always Correct
	// under Check, and so is Answer alone.
	Answer string
	// Match is how responses are compared with Answer.
	Match RefMatch
	// Choices are the competing candidates that flexible matching of
	// RefMatchText and RefMatchCase looks for (Answer among them): a
	// response that mentions more than one of them hedges and scores 0.
	Choices []string
	// Key and Value are the JSON member name and its expected value
	// (decimal number or text) for RefMatchJSON; empty otherwise.
	Key, Value string
}

// RefResult is the outcome of checking one response.
type RefResult struct {
	// Correct is true when the extracted answer is right (Score > 0).
	Correct bool
	// Extracted is the normalised answer read from the response, "" if none.
	Extracted string
	// Method is RefMethodStrict, RefMethodFlexible or RefMethodNone.
	Method string
	// Score is RefScoreStrict, RefScoreFlexible or 0.
	Score float64
	// Reason is one of the RefReason constants, for logs and metrics.
	Reason string
}

// NewRefTask generates the task of the given kind for seed. It is
// deterministic: the same (seed, kind) gives the same task everywhere. It
// returns ErrRefKind for an unknown kind.
func NewRefTask(seed uint64, kind RefKind) (RefTask, error) {
	if !kind.Valid() {
		return RefTask{}, fmt.Errorf("%w: %q", ErrRefKind, kind)
	}
	r := newRefRNG(seed, string(kind))
	var q refQuestion
	switch kind {
	case RefArithmetic:
		q = refGenArithmetic(r)
	case RefWordProblem:
		q = refGenWordProblem(r)
	case RefUnit:
		q = refGenUnit(r)
	case RefDate:
		q = refGenDate(r)
	case RefString:
		q = refGenString(r)
	case RefList:
		q = refGenList(r)
	case RefFact:
		q = refGenFact(r)
	case RefFormat:
		q = refGenFormat(r)
	}
	return q.task(seed, kind, r), nil
}

// RandomRefTask generates a task whose kind is drawn from seed, uniformly
// among kinds (all of RefKinds when none are given; repeat a kind to weight
// it). It is deterministic in (seed, kinds) and returns ErrRefKind if any
// kind is unknown.
func RandomRefTask(seed uint64, kinds ...RefKind) (RefTask, error) {
	if len(kinds) == 0 {
		kinds = RefKinds()
	}
	for _, k := range kinds {
		if !k.Valid() {
			return RefTask{}, fmt.Errorf("%w: %q", ErrRefKind, k)
		}
	}
	r := newRefRNG(seed, "mix")
	return NewRefTask(seed, kinds[r.intn(len(kinds))])
}

// Check scores a response to the task. It never panics, reads at most
// RefMaxResponseBytes, and scores 0 a response with more than
// RefMaxDeclared declared answers.
//
// Strict: if the response declares final answers ("Answer: X", GSM8K's
// "#### X", or \boxed{X}), they decide. Declarations that read as different
// answers are a hedge and score 0; one declared answer in the expected form
// scores RefScoreStrict if right and 0 if wrong; declarations in no
// recognisable form are searched flexibly, and nothing outside them is.
// Without declarations, the whole response in the expected form (after
// trimming spaces, quotes, markdown and a final period) is strict.
//
// Flexible (RefScoreFlexible): the last number, date or bracketed list; for
// words, the single candidate among Choices mentioned as a whole word. A text
// with more than RefMaxNumbers numbers or RefMaxCandidates lists scores 0, as
// does a last number joined to the one before by "or", "/" or a comma
// ("3 or 4 or 5"), or a mention of two different Choices.
func (t RefTask) Check(response string) RefResult {
	if len(response) > RefMaxResponseBytes {
		return RefResult{Method: RefMethodNone, Reason: RefReasonTooLong}
	}
	want := t.want()
	if segs := ExtractDeclared(response); len(segs) > RefMaxDeclared {
		return RefResult{Method: RefMethodNone, Reason: RefReasonTooMany}
	} else if len(segs) > 0 {
		var got []string
		for _, s := range segs {
			if v, ok := t.strictValue(s, false); ok && !refContains(got, v) {
				got = append(got, v)
			}
		}
		switch len(got) {
		case 0:
			return t.flexible(refJoinLines(segs), want)
		case 1:
			return t.judge(got[0], want, RefMethodStrict)
		default:
			return RefResult{Extracted: got[len(got)-1], Method: RefMethodNone, Reason: RefReasonHedged}
		}
	}
	if v, ok := t.strictValue(response, true); ok {
		return t.judge(v, want, RefMethodStrict)
	}
	return t.flexible(response, want)
}

// judge compares an extracted value with the wanted one.
func (t RefTask) judge(got, want, method string) RefResult {
	if got == want {
		score := RefScoreStrict
		if method == RefMethodFlexible {
			score = RefScoreFlexible
		}
		return RefResult{Correct: true, Extracted: got, Method: method, Score: score, Reason: RefReasonOK}
	}
	reason := RefReasonWrong
	if t.Match == RefMatchOneWord && refHasSpace(got) {
		reason = RefReasonFormat
	}
	return RefResult{Extracted: got, Method: method, Reason: reason}
}

// refContains reports whether xs holds x.
func refContains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// refJoinLines joins segments with newlines.
func refJoinLines(segs []string) string {
	n := 0
	for _, s := range segs {
		n += len(s) + 1
	}
	b := make([]byte, 0, n)
	for i, s := range segs {
		if i > 0 {
			b = append(b, '\n')
		}
		b = append(b, s...)
	}
	return string(b)
}
