package scoring

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/seed0ffb8d46/agora/llm"
)

// Statistical sampling verification, for answers from backends whose
// sampler the validator cannot replay (vLLM, llama.cpp server): the
// validator's own copy of the declared model scores the answer's tokens
// (prompt log-probabilities with the top k at every position) and
// CheckSampled asks whether a sampler at the requested temperature and
// top_p could have drawn them. It cannot tell one honest sample from
// another (another seed's sample passes too; copies are caught
// elsewhere), but it rejects what no sampler at these settings draws:
// canned or edited text, tokens outside the nucleus, greedy output passed
// off as sampled, answers that stop where the model goes on or go on where
// it must stop, and lengths that do not add up.

// TopK is the validator's model's distribution at one position of an
// answer: the token the answer has there and the k most likely tokens.
type TopK struct {
	// Sent is the answer's token id at this position; -1 for the position
	// after the answer.
	Sent int
	// SentLogprob is log p(Sent) (natural log, temperature 1); NaN when
	// Sent is -1.
	SentLogprob float64
	// Top are the k most likely tokens with their log-probabilities at
	// temperature 1, most likely first.
	Top []llm.TokenLogprob
}

// StatPolicy is every threshold of CheckSampled. Start from
// DefaultStatPolicy; Validate says whether a policy is usable.
type StatPolicy struct {
	// K is how many most likely tokens the validator asks its model for
	// at each position (TokenModel.TopK's k). vLLM allows 20 unless it is
	// started with a higher --max-logprobs.
	K int
	// Noise is the largest difference between two honest backends'
	// log-probability of one token (the miner's GPU and the validator's:
	// other kernels, batch sizes, precisions). Every check gives it away:
	// the argmax at temperature 0 holds within 2·Noise, and a nucleus
	// check counts only tokens more than 2·Noise likelier than the sent
	// one, with the rest's mass grown by exp(2·Noise/T) against theirs.
	Noise float64
	// MinTailMass is the smallest upper bound on the probability of
	// drawing a token at most as likely as the sent one that passes: the
	// p-value of one position. An honest sampler without top_p falls
	// below it at a position with probability at most MinTailMass.
	MinTailMass float64
	// MinAgreement is the fraction of the checked positions that must pass
	// when sampling was asked (temperature > 0); MinAgreementGreedy when
	// it was not (temperature 0).
	MinAgreement, MinAgreementGreedy float64
	// GreedyZ is the z-score above which an answer asked at temperature >
	// 0 has too many argmax tokens: (argmax count - Σ p_T(argmax)) /
	// sqrt(Σ p(1-p)) over all positions, with p_T(argmax) bounded above,
	// so that an honest sample is not flagged. The normal approximation
	// is poor where most positions are near certain, so the answer is
	// flagged only when the exact probability of so many argmax tokens
	// (the Poisson binomial's tail) is also below GreedyMaxP: at most the
	// rate of honest answers flagged. GreedyMinPositions is the fewest
	// positions for the test to be made.
	GreedyZ            float64
	GreedyMaxP         float64
	GreedyMinPositions int
	// RareMass and RareMaxP catch text no sampler writes although each
	// of its tokens alone might be drawn (at temperature 1 without top_p,
	// every token can be): a token is rare when the probability of
	// drawing one at most as likely is at most RareMass (bounded from
	// above, so an honest sampler draws a rare token with probability at
	// most RareMass at each position), and an answer with so many rare
	// tokens that a binomial(len, RareMass) reaches the count with
	// probability below RareMaxP is "not_sampled".
	RareMass, RareMaxP float64
	// MaxVocab bounds the vocabulary's size from above: with only the top
	// K known, a temperature above 1 spreads the tail's mass over at most
	// MaxVocab-K tokens, which bounds its share from above.
	MaxVocab int
}

// DefaultStatPolicy is the statistical check a validator runs unless told
// otherwise; see StatPolicy's fields for what each does and
// stat_test.go's property tests for what they give on the demo model.
func DefaultStatPolicy() StatPolicy {
	return StatPolicy{
		K:                  20,
		Noise:              0.05,
		MinTailMass:        1e-4,
		MinAgreement:       0.95,
		MinAgreementGreedy: 1,
		GreedyZ:            3,
		GreedyMaxP:         1e-4,
		GreedyMinPositions: 16,
		RareMass:           0.02,
		RareMaxP:           1e-4,
		MaxVocab:           1 << 18,
	}
}

// Validate says what is wrong with pol, or nil.
func (pol StatPolicy) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if pol.K < 1 {
		bad("K %d: want at least 1", pol.K)
	}
	if !(pol.Noise >= 0 && pol.Noise < 1) {
		bad("Noise %v: want 0 or more, below 1", pol.Noise)
	}
	if !(pol.MinTailMass >= 0 && pol.MinTailMass < 0.5) {
		bad("MinTailMass %v: want in [0, 0.5)", pol.MinTailMass)
	}
	if !(pol.MinAgreement > 0 && pol.MinAgreement <= 1) {
		bad("MinAgreement %v: want in (0, 1]", pol.MinAgreement)
	}
	if !(pol.MinAgreementGreedy > 0 && pol.MinAgreementGreedy <= 1) {
		bad("MinAgreementGreedy %v: want in (0, 1]", pol.MinAgreementGreedy)
	}
	if !(pol.GreedyZ > 0) || math.IsInf(pol.GreedyZ, 0) {
		bad("GreedyZ %v: want above 0", pol.GreedyZ)
	}
	if !(pol.GreedyMaxP > 0 && pol.GreedyMaxP <= 1) {
		bad("GreedyMaxP %v: want in (0, 1]", pol.GreedyMaxP)
	}
	if pol.GreedyMinPositions < 1 {
		bad("GreedyMinPositions %d: want at least 1", pol.GreedyMinPositions)
	}
	if !(pol.RareMass > 0 && pol.RareMass < 1) {
		bad("RareMass %v: want in (0, 1)", pol.RareMass)
	}
	if !(pol.RareMaxP > 0 && pol.RareMaxP <= 1) {
		bad("RareMaxP %v: want in (0, 1]", pol.RareMaxP)
	}
	if pol.MaxVocab < max(pol.K, 1) {
		bad("MaxVocab %d: want at least K (%d)", pol.MaxVocab, pol.K)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("scoring: stat policy: %w", err)
	}
	return nil
}

// expFloor is the exponent below which a token's weight in a tempered
// distribution, relative to the argmax's, is taken as 0 (at most
// StatPolicy.K·exp(-25), 2e-10, is added to the bound from above
// instead): the top tokens are in order, so the first one below it ends
// the exponentials.
const expFloor = -25

// lazyShare is the share of the argmax's weight below which temper stops
// when the top tokens still to come (each no heavier than the last) cannot
// add more: it needs only a lower bound of Σ w; bound computes the rest.
const lazyShare = 1e-3

// tempered is one position's top tokens at temperature T, relative to the
// argmax: w[j] = (p_j / p_1)^(1/T).
type tempered struct {
	w []float64
	// n is how many w are computed (the rest are 0 for now).
	n int
	// sum is Σ w; lo bounds the whole vocabulary's Σ w from below (the top
	// tokens and the sent one, when it is not among them), hi (from
	// bound) from above: the tail's share bounded as StatPolicy.MaxVocab
	// says.
	sum, lo, hi float64
}

// temper fills t for top at inverse temperature invT, the sent token
// having log-probability sent (ignored when it is among top), as far as
// t.lo needs: the light end of the top is left for bound.
func (t *tempered) temper(top []llm.TokenLogprob, sentIn bool, sent, invT float64) {
	l1 := top[0].Logprob
	t.w = slices.Grow(t.w[:0], len(top))[:len(top)]
	clear(t.w)
	t.n, t.sum = 0, 0
	t.more(top, invT, true)
	t.lo = t.sum
	if !sentIn {
		if e := (sent - l1) * invT; e >= expFloor {
			t.lo += math.Exp(e)
		}
	}
}

// more computes w from t.n on, until expFloor or, when lazy, until the
// rest cannot weigh lazyShare of the sum.
func (t *tempered) more(top []llm.TokenLogprob, invT float64, lazy bool) {
	l1 := top[0].Logprob
	for t.n < len(top) {
		e := (top[t.n].Logprob - l1) * invT
		if e < expFloor {
			return
		}
		w := math.Exp(e)
		t.w[t.n] = w
		t.sum += w
		t.n++
		if lazy && float64(len(top)-t.n)*w <= lazyShare*t.sum {
			return
		}
	}
}

// bound completes t for top and sets t.hi.
func (t *tempered) bound(top []llm.TokenLogprob, invT float64, maxVocab int) {
	before := t.sum
	t.more(top, invT, false)
	t.lo += t.sum - before
	l1 := top[0].Logprob
	var mass float64
	for _, tk := range top[:t.n] {
		mass += math.Exp(tk.Logprob)
	}
	rest := 1 - mass // the tail's mass at temperature 1, the floored tokens' too
	var tail float64
	switch {
	case rest <= 0:
	case invT >= 1:
		// Each tail token is at most p_K likely, and p^(1/T) is convex:
		// the tail's Σ p^(1/T) is at most rest·p_K^(1/T-1).
		tail = rest * math.Exp(top[len(top)-1].Logprob*(invT-1)-l1*invT)
	default:
		// Concave: at most when spread evenly over the other tokens.
		n := float64(max(maxVocab-len(top), 1))
		tail = math.Exp((1-invT)*math.Log(n) + invT*math.Log(rest) - l1*invT)
	}
	t.hi = t.sum + tail + float64(len(top)-t.n)*math.Exp(expFloor)
}

// above is Σ w over the top tokens with a log-probability above lp.
func (t *tempered) above(top []llm.TokenLogprob, lp float64) float64 {
	var s float64
	for j, tk := range top {
		if tk.Logprob <= lp {
			break
		}
		s += t.w[j]
	}
	return s
}

// share bounds from below the share of the whole distribution that top
// tokens of weight w (a part of t.sum) have, when everything else may weigh
// grow times more than the validator's model says: the sampler's noise.
func (t *tempered) share(w, grow float64) float64 {
	if w <= 0 {
		return 0
	}
	return w / (w + grow*(t.hi-w))
}

// bestStop is the index in top of the likeliest stop token, or -1.
func bestStop(top []llm.TokenLogprob, eos []int) int {
	for j, tk := range top {
		if slices.Contains(eos, tk.ID) {
			return j
		}
	}
	return -1
}

// inTop is the index of id in top, or -1.
func inTop(top []llm.TokenLogprob, id int) int {
	for j, tk := range top {
		if tk.ID == id {
			return j
		}
	}
	return -1
}

// CheckSampled judges whether a sampler at p's temperature and top_p could
// have drawn an answer's tokens, from the validator's model's distribution
// at each position (steps[i] for the answer's token i, its stop tokens
// eos, and after, the distribution after the answer, which matters only
// when finish is "stop"). steps must not hold a final stop token: an
// answer is its text's tokens.
//
// Every check leans towards the honest miner: with only the top k known,
// the rest of the vocabulary's share of the tempered distribution is
// bounded from above (never guessed), and pol.Noise is given away at every
// comparison. The checks:
//
//   - length: see CheckLength; finish "length" needs p.MaxTokens tokens
//     ("short"), so p.MaxTokens must be the effective limit (smaller than
//     max_tokens when the context ends first);
//   - at the positions listed (nil: all of them; the caller picks them
//     from a seed the miner cannot know), the token must be the argmax
//     within 2·Noise at temperature 0 ("not_argmax"), else inside the
//     top_p nucleus ("outside_nucleus") and not in a tail the sampler
//     reaches with probability below MinTailMass ("not_sampled"); the
//     fraction that passes must reach MinAgreement (MinAgreementGreedy at
//     temperature 0);
//   - at every position, a stop token that fills the nucleus alone (at
//     temperature 0: the argmax) means the answer must end there
//     ("skipped_stop"); an answer that finished "stop" must have a stop
//     token inside the nucleus after it ("early_stop");
//   - at temperature > 0, over all positions, rare tokens (see RareMass)
//     must not be more than a sampler writes now and then
//     ("not_sampled"), and the number of argmax tokens must not exceed
//     its expectation by more than GreedyZ standard deviations, with an
//     exact tail below GreedyMaxP ("greedy").
//
// A stop skipped or claimed wrongly fails the answer at once; tokens
// outside the nucleus fail it only beyond the agreement allowance, which
// absorbs an honest GPU's rare near-boundary token.
//
// Steps without a Top or with a NaN SentLogprob give "no_logprobs", a
// negative Sent "bad_token". pol must be valid (see Validate).
func CheckSampled(steps []TopK, after TopK, eos []int, p SamplingParams, finish string, positions []int, pol StatPolicy) SampleVerdict {
	if v, ok := checkStatLength(len(steps), p, finish); !ok {
		return v
	}
	var sum float64
	for i, s := range steps {
		switch {
		case s.Sent < 0:
			return failSample(SampleBadToken, "token %d is id %d", i, s.Sent)
		case len(s.Top) == 0 || math.IsNaN(s.SentLogprob):
			return failSample(SampleNoLogprobs, "no log-probabilities at token %d", i)
		case !sortedDesc(s.Top):
			return failSample(SampleNoLogprobs, "the top log-probabilities at token %d are not in order", i)
		}
		sum += s.SentLogprob
	}
	mean := sum / float64(len(steps))
	if finish == llm.FinishStop && (len(after.Top) == 0 || !sortedDesc(after.Top)) {
		return failSample(SampleNoLogprobs, "no log-probabilities after the answer")
	}
	var v SampleVerdict
	if p.Temperature <= 0 {
		v = checkArgmax(steps, after, eos, finish, positions, pol)
	} else {
		v = checkNucleus(steps, after, eos, p, finish, positions, pol)
	}
	v.MeanLogprob = mean
	return v
}

// checkStatLength is CheckLength, and an answer that finished "length"
// must have p.MaxTokens tokens.
func checkStatLength(n int, p SamplingParams, finish string) (SampleVerdict, bool) {
	if v, ok := CheckLength(n, p, finish); !ok {
		return v, false
	}
	if finish == llm.FinishLength && p.MaxTokens > 0 && n < p.MaxTokens {
		return failSample(SampleShort, "finish %q after %d tokens of %d", finish, n, p.MaxTokens), false
	}
	return SampleVerdict{}, true
}

func sortedDesc(top []llm.TokenLogprob) bool {
	for j := 1; j < len(top); j++ {
		if !(top[j].Logprob <= top[j-1].Logprob) {
			return false
		}
	}
	return true
}

// checked calls fn for each position to check: positions (in range, each
// once) or, when nil, all n.
func checked(n int, positions []int, fn func(i int)) {
	if positions == nil {
		for i := range n {
			fn(i)
		}
		return
	}
	seen := make([]bool, n)
	for _, i := range positions {
		if i >= 0 && i < n && !seen[i] {
			seen[i] = true
			fn(i)
		}
	}
}

// agreement turns the failures among checked positions into a verdict.
func agreement(v SampleVerdict, fails map[string]int, firstFail map[string]int, minAgree float64) SampleVerdict {
	nFail := 0
	reason := ""
	for _, r := range []string{SampleNotArgmax, SampleOutsideNucleus, SampleNotSampled} {
		nFail += fails[r]
		if fails[r] > fails[reason] {
			reason = r
		}
	}
	if v.Checked == 0 || float64(v.Checked-nFail) >= minAgree*float64(v.Checked) {
		v.OK = true
		return v
	}
	v.Reason = reason
	v.Detail = fmt.Sprintf("%d of %d checked tokens fail (%d %s, the first at token %d); at least %.3g must pass",
		nFail, v.Checked, fails[reason], reason, firstFail[reason], minAgree)
	return v
}

// checkArgmax is CheckSampled at temperature 0.
func checkArgmax(steps []TopK, after TopK, eos []int, finish string, positions []int, pol StatPolicy) SampleVerdict {
	tol := 2 * pol.Noise
	for i, s := range steps {
		if slices.Contains(eos, s.Sent) {
			continue
		}
		if j := bestStop(s.Top, eos); j == 0 && s.SentLogprob < s.Top[0].Logprob-tol {
			return failSample(SampleSkippedStop, "token %d: stop token %d is the argmax there (log-probability %.3g, the token's %.3g)",
				i, s.Top[0].ID, s.Top[0].Logprob, s.SentLogprob)
		}
	}
	if finish == llm.FinishStop {
		j := bestStop(after.Top, eos)
		if j < 0 || after.Top[j].Logprob < after.Top[0].Logprob-tol {
			return failSample(SampleEarlyStop, "after %d tokens the argmax is token %d (log-probability %.3g), not a stop",
				len(steps), after.Top[0].ID, after.Top[0].Logprob)
		}
	}
	var v SampleVerdict
	fails, first := map[string]int{}, map[string]int{}
	checked(len(steps), positions, func(i int) {
		s := &steps[i]
		v.Checked++
		gap := s.Top[0].Logprob - s.SentLogprob
		switch {
		case gap > tol:
			if fails[SampleNotArgmax] == 0 {
				first[SampleNotArgmax] = i
			}
			fails[SampleNotArgmax]++
		case gap > 0 && s.Sent != s.Top[0].ID:
			v.NearTies++
		}
	})
	return agreement(v, fails, first, pol.MinAgreementGreedy)
}

// checkNucleus is CheckSampled at temperature > 0.
func checkNucleus(steps []TopK, after TopK, eos []int, p SamplingParams, finish string, positions []int, pol StatPolicy) SampleVerdict {
	invT := 1 / p.Temperature
	topP := p.TopP
	if topP <= 0 || topP >= 1 {
		topP = 1
	}
	// A token is rejected when the mass above it exceeds limit: top_p's
	// bound, or the tail's p-value when that is tighter.
	limit := min(topP, 1-pol.MinTailMass)
	tailReason := SampleOutsideNucleus
	if topP > 1-pol.MinTailMass {
		tailReason = SampleNotSampled
	}
	tol := 2 * pol.Noise
	grow := math.Exp(tol * invT)

	var t tempered
	t.w = make([]float64, 0, pol.K)
	want := make([]bool, len(steps))
	checked(len(steps), positions, func(i int) { want[i] = true })

	var v SampleVerdict
	fails, first := map[string]int{}, map[string]int{}
	var nArg, mu, variance float64
	rare := 0
	pis := make([]float64, 0, len(steps))
	for i := range steps {
		s := &steps[i]
		xi := inTop(s.Top, s.Sent)
		// Stop tokens lead the distribution: the nucleus may be theirs alone.
		stops := 0
		for stops < len(s.Top) && slices.Contains(eos, s.Top[stops].ID) {
			stops++
		}
		skipStop := stops > 0 && !slices.Contains(eos, s.Sent)
		t.temper(s.Top, xi >= 0, s.SentLogprob, invT)
		lp := s.SentLogprob
		// Only a token below the argmax, or a stop ahead of it, needs the
		// bound from above: the argmax passes every check.
		if skipStop || t.above(s.Top, lp) > 0 {
			t.bound(s.Top, invT, pol.MaxVocab)
		} else {
			t.hi = t.lo
		}

		if skipStop {
			var w float64
			for _, x := range t.w[:stops] {
				w += x
			}
			if q := t.share(w, grow); q > limit {
				return failSample(SampleSkippedStop, "token %d: stop token %d has at least %.3g of the mass there (top_p %.3g), the answer goes on",
					i, s.Top[0].ID, q, topP)
			}
		}
		a := t.share(t.above(s.Top, lp+tol), grow)
		if 1-a <= pol.RareMass {
			rare++
		}
		if want[i] {
			v.Checked++
			if a > limit {
				if fails[tailReason] == 0 {
					first[tailReason] = i
				}
				fails[tailReason]++
			} else if t.share(t.above(s.Top, lp), 1) > limit {
				v.NearTies++
			}
		}

		// The greedy test: is the token the argmax (within tolerance), and
		// how likely is that for a sampler, bounded from above: the
		// argmax's class over the tokens surely inside the nucleus.
		l1 := s.Top[0].Logprob
		if s.SentLogprob >= l1-tol {
			nArg++
		}
		var class, in float64
		for j, tk := range s.Top {
			if tk.Logprob < l1-tol {
				break
			}
			class += t.w[j]
		}
		for j, w := range t.w {
			if j > 0 && in/t.lo >= topP {
				break
			}
			in += w
		}
		pi := min(1, class/in)
		pis = append(pis, pi)
		mu += pi
		variance += pi * (1 - pi)
	}
	if finish == llm.FinishStop {
		t.temper(after.Top, true, 0, invT)
		t.bound(after.Top, invT, pol.MaxVocab)
		var a float64
		if j := bestStop(after.Top, eos); j >= 0 {
			a = t.share(t.above(after.Top, after.Top[j].Logprob+tol), grow)
		} else {
			a = t.share(t.above(after.Top, after.Top[len(after.Top)-1].Logprob+tol), grow)
		}
		if a > limit {
			return failSample(SampleEarlyStop, "after %d tokens at least %.3g of the mass is above every stop token (top_p %.3g): the model goes on",
				len(steps), a, topP)
		}
	}
	v = agreement(v, fails, first, pol.MinAgreement)
	if !v.OK {
		return v
	}
	if n := len(steps); rare > 0 && float64(rare) > pol.RareMass*float64(n) {
		if tail := binomialAtLeast(n, rare, pol.RareMass); tail < pol.RareMaxP {
			return SampleVerdict{Reason: SampleNotSampled, Checked: v.Checked, NearTies: v.NearTies,
				Detail: fmt.Sprintf("%d of %d tokens are in the tail a sampler reaches with probability at most %.3g (p = %.2g < %.2g)",
					rare, n, pol.RareMass, tail, pol.RareMaxP)}
		}
	}
	if n := len(steps); n >= pol.GreedyMinPositions && variance > 0 {
		if z := (nArg - mu) / math.Sqrt(variance); z > pol.GreedyZ {
			if tail := atMostMisses(pis, n-int(nArg)); tail < pol.GreedyMaxP {
				return SampleVerdict{Reason: SampleGreedy, Checked: v.Checked, NearTies: v.NearTies,
					Detail: fmt.Sprintf("%d of %d tokens are the argmax, at most %.1f expected at temperature %.3g (z = %.1f > %.3g, p = %.2g < %.2g)",
						int(nArg), n, mu, p.Temperature, z, pol.GreedyZ, tail, pol.GreedyMaxP)}
			}
		}
	}
	return v
}

// binomialAtLeast is the probability of at least c successes in n trials
// of probability a each.
func binomialAtLeast(n, c int, a float64) float64 {
	if c <= 0 {
		return 1
	}
	if a <= 0 || c > n {
		return 0
	}
	lg := func(x int) float64 { v, _ := math.Lgamma(float64(x) + 1); return v }
	// pmf(c), then pmf(k+1) = pmf(k)·(n-k)/(k+1)·a/(1-a).
	pmf := math.Exp(lg(n) - lg(c) - lg(n-c) + float64(c)*math.Log(a) + float64(n-c)*math.Log1p(-a))
	var sum float64
	for k := c; k <= n && pmf > 0; k++ {
		sum += pmf
		pmf *= float64(n-k) / float64(k+1) * a / (1 - a)
	}
	return min(sum, 1)
}

// atMostMisses is the probability that independent events of
// probabilities pis fail at most m times (the Poisson binomial's tail): for
// a sampler whose argmax at position i has probability pis[i], that of
// drawing the argmax at least len(pis)-m times. O(len(pis)·(m+1)).
func atMostMisses(pis []float64, m int) float64 {
	if m < 0 {
		return 0
	}
	f := make([]float64, m+1) // f[k]: probability of k misses so far
	f[0] = 1
	for _, pi := range pis {
		for k := m; k > 0; k-- {
			f[k] = f[k]*pi + f[k-1]*(1-pi)
		}
		f[0] *= pi
	}
	var sum float64
	for _, x := range f {
		sum += x
	}
	return min(sum, 1)
}
