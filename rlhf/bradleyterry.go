package rlhf

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Battle is one pairwise comparison of two models (or miners) on the same prompt, as Chatbot
// Arena records it.
type Battle struct {
	// ModelA and ModelB name the two sides; they must differ and be non-empty.
	ModelA, ModelB string
	// Winner is "a" (ModelA better), "b" (ModelB better), "tie" or "both_bad". A tie counts
	// as half a win for each side, as Chatbot Arena does; "both_bad" says nothing about which
	// is better and is counted as a tie too.
	Winner string
}

// LeaderboardOptions tunes Leaderboard. Start from DefaultLeaderboardOptions.
type LeaderboardOptions struct {
	// Scale is the rating difference at which the stronger side is 10 times as likely to
	// win: P(A beats B) = 1/(1 + 10^((R_B − R_A)/Scale)). Default 400, as Elo and Arena.
	Scale float64
	// Mean is the mean rating of all models when Anchor is empty. Default 1000.
	Mean float64
	// Anchor, if not empty, names a model whose rating is fixed at AnchorRating instead
	// (Arena anchors mixtral-8x7b-instruct-v0.1 at 1114). Its interval is then a point.
	Anchor       string
	AnchorRating float64
	// Rounds is the number of bootstrap rounds for the confidence intervals; 0 gives no
	// intervals (Lower = Upper = Median = Rating). Default 100, as Arena.
	Rounds int
	// Seed seeds the bootstrap (math/rand/v2 PCG); the same battles, options and seed
	// always give the same leaderboard.
	Seed uint64
	// CILevel is the coverage of the interval: Lower and Upper are the (1 ∓ CILevel)/2
	// quantiles of the bootstrap ratings. Default 0.95 (2.5% and 97.5%).
	CILevel float64
	// VirtualTies gives every model this many virtual ties against a virtual opponent of
	// average strength: a weak prior that keeps ratings finite when a model has won (or lost)
	// every battle and when a bootstrap resample leaves a model out. 0 is the plain MLE,
	// which exists only when every split of the models into two groups has a win or tie
	// across it in both directions; without it Leaderboard fails with ErrNoMLE. Default 1,
	// negligible against a few dozen real battles per model.
	VirtualTies float64
	// AllowDisconnected rates models even when the comparison graph (models joined by at
	// least one battle) falls apart into several components. Ratings in different components
	// are then not comparable: each component is held near the virtual average by
	// VirtualTies, which must be positive. Default false: Leaderboard fails with
	// ErrDisconnected.
	AllowDisconnected bool
	// Models, if not empty, lists models that must be on the leaderboard; one that is in no
	// battle is an error (ErrNoComparisons). Models only in battles are rated too.
	Models []string
}

// DefaultLeaderboardOptions returns the defaults documented on LeaderboardOptions.
func DefaultLeaderboardOptions() LeaderboardOptions {
	return LeaderboardOptions{Scale: 400, Mean: 1000, Rounds: 100, CILevel: 0.95, VirtualTies: 1}
}

// Rating is one row of the leaderboard.
type Rating struct {
	// Model names the model.
	Model string
	// Rank is 1 plus the number of models whose Lower bound is above this model's Upper
	// bound (Arena's "rank (UB)"): models that are not told apart share a rank. Without
	// bootstrap it is 1 plus the number of models rated strictly higher.
	Rank int
	// Rating is the Bradley–Terry estimate on the Elo-like scale of LeaderboardOptions.
	Rating float64
	// Median, Lower and Upper are the median and the CILevel interval of the bootstrap
	// ratings.
	Median, Lower, Upper float64
	// Battles counts the model's battles; Wins, Losses and Ties split them (Ties includes
	// both_bad).
	Battles, Wins, Losses, Ties int
}

var (
	// ErrNoBattles is returned when there are no battles to rate.
	ErrNoBattles = errors.New("rlhf: leaderboard: no battles")
	// ErrNoComparisons is returned when a model listed in LeaderboardOptions.Models has no
	// battle.
	ErrNoComparisons = errors.New("rlhf: leaderboard: model has no comparisons")
	// ErrDisconnected is returned when the comparison graph is not connected and
	// LeaderboardOptions.AllowDisconnected is false (or VirtualTies is 0).
	ErrDisconnected = errors.New("rlhf: leaderboard: comparison graph is disconnected")
	// ErrNoMLE is returned when VirtualTies is 0 and the maximum-likelihood ratings do not
	// exist (some group of models never lost, or never won, against the rest).
	ErrNoMLE = errors.New("rlhf: leaderboard: no finite maximum-likelihood ratings")
)

// Leaderboard fits a Bradley–Terry model to the battles by maximum likelihood and returns one
// Rating per model, ordered by Rating (highest first), then by Model name.
//
// The model is P(i beats j) = σ(θ_i − θ_j) with σ the logistic function; a win scores 1, a
// tie (or both_bad) 0.5 for each side, and θ maximises Σ score·log σ(θ_i − θ_j) over battles
// (the weighted logistic loss Chatbot Arena minimises), plus the VirtualTies prior. It is
// solved by Newton's method with a backtracking line search, so it is exact to about 1e-9 in θ.
// Ratings are θ·Scale/ln 10, shifted so that their mean is Mean (or Anchor's rating is
// AnchorRating). Confidence intervals come from Rounds bootstrap resamples of the battles
// (drawn with replacement, each refitted and re-anchored); with VirtualTies 0 a resample
// with no finite MLE is drawn again, up to 10·Rounds draws in all.
//
// Errors: ErrNoBattles, ErrNoComparisons, ErrDisconnected and ErrNoMLE (wrapped), and errors
// for a battle with an empty or repeated model name or an unknown winner, an Anchor that is
// in no battle, and bad options. battles is not modified. Leaderboard is safe to call
// concurrently; the cost is one K×K Cholesky factorisation per Newton step for K models, per
// bootstrap round.
func Leaderboard(battles []Battle, opts LeaderboardOptions) ([]Rating, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if len(battles) == 0 {
		return nil, ErrNoBattles
	}
	// Models, indexed in name order so the result does not depend on battle order.
	var names []string
	for i, b := range battles {
		if b.ModelA == "" || b.ModelB == "" {
			return nil, fmt.Errorf("rlhf: leaderboard: battle %d: empty model name", i)
		}
		if b.ModelA == b.ModelB {
			return nil, fmt.Errorf("rlhf: leaderboard: battle %d: model %q against itself", i, b.ModelA)
		}
		if _, err := btScore(b.Winner); err != nil {
			return nil, fmt.Errorf("rlhf: leaderboard: battle %d: %w", i, err)
		}
		names = append(names, b.ModelA, b.ModelB)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	index := make(map[string]int, len(names))
	for i, n := range names {
		index[n] = i
	}
	for _, m := range opts.Models {
		if _, ok := index[m]; !ok {
			return nil, fmt.Errorf("%w: %q", ErrNoComparisons, m)
		}
	}
	anchor := -1
	if opts.Anchor != "" {
		a, ok := index[opts.Anchor]
		if !ok {
			return nil, fmt.Errorf("rlhf: leaderboard: anchor model %q is in no battle", opts.Anchor)
		}
		anchor = a
	}
	k := len(names)

	// Pairs (i < j) that met, in index order; each battle refers to its pair and i's score.
	pairOf := make(map[[2]int]int)
	var pairs [][2]int
	bp := make([]int32, len(battles))
	bs := make([]float64, len(battles))
	rows := make([]Rating, k)
	for i, n := range names {
		rows[i].Model = n
	}
	for x, b := range battles {
		i, j := index[b.ModelA], index[b.ModelB]
		s, _ := btScore(b.Winner)
		for _, r := range []struct {
			m int
			s float64
		}{{i, s}, {j, 1 - s}} {
			row := &rows[r.m]
			row.Battles++
			switch r.s {
			case 1:
				row.Wins++
			case 0:
				row.Losses++
			default:
				row.Ties++
			}
		}
		if i > j {
			i, j, s = j, i, 1-s
		}
		key := [2]int{i, j}
		p, ok := pairOf[key]
		if !ok {
			p = len(pairs)
			pairOf[key] = p
			pairs = append(pairs, key)
		}
		bp[x], bs[x] = int32(p), s
	}
	// Renumber pairs in (i, j) order for a deterministic summation order.
	order := make([]int, len(pairs))
	for p := range order {
		order[p] = p
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(pairs[a][0], pairs[b][0]), cmp.Compare(pairs[a][1], pairs[b][1]))
	})
	rank := make([]int32, len(pairs))
	sorted := make([][2]int, len(pairs))
	for r, p := range order {
		rank[p] = int32(r)
		sorted[r] = pairs[p]
	}
	for x := range bp {
		bp[x] = rank[bp[x]]
	}
	f := &btFit{k: k, pairs: sorted, n: make([]float64, len(sorted)), w: make([]float64, len(sorted)), v: opts.VirtualTies}
	for x := range battles {
		f.n[bp[x]]++
		f.w[bp[x]] += bs[x]
	}

	if !btConnected(f) {
		if !opts.AllowDisconnected || opts.VirtualTies == 0 {
			return nil, ErrDisconnected
		}
	}
	if opts.VirtualTies == 0 && !btStronglyConnected(f) {
		return nil, ErrNoMLE
	}
	theta := make([]float64, k)
	if err := f.solve(theta); err != nil {
		return nil, err
	}
	scale := opts.Scale / math.Ln10
	toRatings := func(theta, out []float64) {
		shift := opts.Mean
		if anchor >= 0 {
			shift = opts.AnchorRating - scale*theta[anchor]
		} else {
			mean := 0.0
			for _, t := range theta {
				mean += t
			}
			shift -= scale * mean / float64(k)
		}
		for i, t := range theta {
			out[i] = shift + scale*t
		}
	}
	point := make([]float64, k)
	toRatings(theta, point)
	for i := range rows {
		rows[i].Rating = point[i]
		rows[i].Median, rows[i].Lower, rows[i].Upper = point[i], point[i], point[i]
	}

	if opts.Rounds > 0 {
		boot := make([][]float64, k) // boot[model][round]
		for i := range boot {
			boot[i] = make([]float64, 0, opts.Rounds)
		}
		rng := rand.New(rand.NewPCG(opts.Seed, 0x6274_626f_6f74)) // "btboot"
		bt := make([]float64, k)
		r := make([]float64, k)
		done := 0
		for tries := 0; done < opts.Rounds; tries++ {
			if tries >= 10*opts.Rounds {
				return nil, fmt.Errorf("rlhf: leaderboard: bootstrap: %w in %d of %d resamples", ErrNoMLE, tries-done, tries)
			}
			clear(f.n)
			clear(f.w)
			for range battles {
				x := rng.IntN(len(battles))
				f.n[bp[x]]++
				f.w[bp[x]] += bs[x]
			}
			if opts.VirtualTies == 0 && (!btConnected(f) || !btStronglyConnected(f)) {
				continue
			}
			copy(bt, theta)
			if err := f.solve(bt); err != nil {
				return nil, fmt.Errorf("rlhf: leaderboard: bootstrap: %w", err)
			}
			toRatings(bt, r)
			for i := range boot {
				boot[i] = append(boot[i], r[i])
			}
			done++
		}
		lo, hi := (1-opts.CILevel)/2, (1+opts.CILevel)/2
		for i := range rows {
			slices.Sort(boot[i])
			rows[i].Median = btQuantile(boot[i], 0.5)
			rows[i].Lower = btQuantile(boot[i], lo)
			rows[i].Upper = btQuantile(boot[i], hi)
		}
	}

	slices.SortStableFunc(rows, func(a, b Rating) int {
		return cmp.Or(cmp.Compare(b.Rating, a.Rating), cmp.Compare(a.Model, b.Model))
	})
	for i := range rows {
		rows[i].Rank = 1
		for j := range rows {
			if rows[j].Lower > rows[i].Upper {
				rows[i].Rank++
			}
		}
	}
	return rows, nil
}

func (o LeaderboardOptions) validate() error {
	switch {
	case !(o.Scale > 0) || math.IsInf(o.Scale, 0):
		return fmt.Errorf("rlhf: leaderboard: bad Scale %v", o.Scale)
	case math.IsNaN(o.Mean) || math.IsInf(o.Mean, 0) || math.IsNaN(o.AnchorRating) || math.IsInf(o.AnchorRating, 0):
		return fmt.Errorf("rlhf: leaderboard: bad Mean %v or AnchorRating %v", o.Mean, o.AnchorRating)
	case o.Rounds < 0:
		return fmt.Errorf("rlhf: leaderboard: bad Rounds %d", o.Rounds)
	case o.Rounds > 0 && !(o.CILevel > 0 && o.CILevel < 1):
		return fmt.Errorf("rlhf: leaderboard: bad CILevel %v", o.CILevel)
	case !(o.VirtualTies >= 0) || math.IsInf(o.VirtualTies, 0):
		return fmt.Errorf("rlhf: leaderboard: bad VirtualTies %v", o.VirtualTies)
	}
	return nil
}

// btScore returns ModelA's score for a winner string.
func btScore(winner string) (float64, error) {
	switch winner {
	case "a":
		return 1, nil
	case "b":
		return 0, nil
	case "tie", "both_bad":
		return 0.5, nil
	}
	return 0, fmt.Errorf("unknown winner %q (want a, b, tie or both_bad)", winner)
}

// btFit is the data of one fit: per pair (i < j) the number of battles n and i's score w.
type btFit struct {
	k     int
	pairs [][2]int
	n, w  []float64
	v     float64 // virtual ties per model
}

// total is the number of battles (the sum of n).
func (f *btFit) total() float64 {
	t := 0.0
	for _, n := range f.n {
		t += n
	}
	return t
}

// loss is the negative log-likelihood (plus the virtual-tie prior) at theta.
func (f *btFit) loss(theta []float64) float64 {
	l := 0.0
	for p, ij := range f.pairs {
		if f.n[p] == 0 {
			continue
		}
		d := theta[ij[0]] - theta[ij[1]]
		l += f.w[p]*btSoftplus(-d) + (f.n[p]-f.w[p])*btSoftplus(d)
	}
	if f.v > 0 {
		for _, t := range theta {
			l += f.v * 0.5 * (btSoftplus(-t) + btSoftplus(t))
		}
	}
	return l
}

// solve runs damped Newton from theta (updated in place) to the optimum.
func (f *btFit) solve(theta []float64) error {
	k := f.k
	g := make([]float64, k)
	h := make([]float64, k*k)
	step := make([]float64, k)
	next := make([]float64, k)
	cur := f.loss(theta)
	tol := 1e-10 * max(1, f.total())
	for iter := 0; ; iter++ {
		clear(g)
		clear(h)
		for p, ij := range f.pairs {
			if f.n[p] == 0 {
				continue
			}
			i, j := ij[0], ij[1]
			s := btSigmoid(theta[i] - theta[j])
			gi := f.n[p]*s - f.w[p]
			g[i] += gi
			g[j] -= gi
			c := f.n[p] * s * (1 - s)
			h[i*k+i] += c
			h[j*k+j] += c
			h[i*k+j] -= c
			h[j*k+i] -= c
		}
		if f.v > 0 {
			for i, t := range theta {
				s := btSigmoid(t)
				g[i] += f.v * (s - 0.5)
				h[i*k+i] += f.v * s * (1 - s)
			}
		} else {
			// The likelihood only sees differences; adding c·11ᵀ makes the Hessian
			// invertible and keeps the step orthogonal to 1 (the gradient sums to 0).
			tr := 0.0
			for i := range k {
				tr += h[i*k+i]
			}
			c := tr / float64(k*k)
			for x := range h {
				h[x] += c
			}
		}
		gmax := 0.0
		for _, x := range g {
			gmax = max(gmax, math.Abs(x))
		}
		if gmax < tol {
			return nil
		}
		if iter >= 200 {
			return fmt.Errorf("rlhf: leaderboard: Newton did not converge (gradient %g)", gmax)
		}
		for i := range g {
			step[i] = -g[i]
		}
		if !btCholeskySolve(h, step, k) {
			return fmt.Errorf("rlhf: leaderboard: %w (singular Hessian)", ErrNoMLE)
		}
		slope, smax := 0.0, 0.0
		for i := range g {
			slope += g[i] * step[i]
			smax = max(smax, math.Abs(step[i]))
		}
		// Near the optimum (Newton decrement −slope small) the quadratic model is accurate and
		// the loss cannot resolve the decrease any more, so the full step is taken unchecked.
		t := 1.0
		if -slope > 1e-4 {
			for {
				for i := range theta {
					next[i] = theta[i] + t*step[i]
				}
				nl := f.loss(next)
				if nl <= cur+1e-4*t*slope {
					cur = nl
					break
				}
				if t /= 2; t < 1e-10 {
					return fmt.Errorf("rlhf: leaderboard: line search failed (gradient %g)", gmax)
				}
			}
		} else {
			for i := range theta {
				next[i] = theta[i] + step[i]
			}
			cur = f.loss(next)
		}
		copy(theta, next)
		if t*smax < 1e-12 {
			return nil
		}
	}
}

// btCholeskySolve solves A·x = b for symmetric positive definite A (k×k, row-major),
// overwriting A with its Cholesky factor and b with x. It reports false if A is not positive
// definite.
func btCholeskySolve(a, b []float64, k int) bool {
	for j := range k {
		d := a[j*k+j]
		for p := range j {
			d -= a[j*k+p] * a[j*k+p]
		}
		if !(d > 0) {
			return false
		}
		d = math.Sqrt(d)
		a[j*k+j] = d
		for i := j + 1; i < k; i++ {
			s := a[i*k+j]
			for p := range j {
				s -= a[i*k+p] * a[j*k+p]
			}
			a[i*k+j] = s / d
		}
	}
	for i := range k { // L·y = b
		s := b[i]
		for p := range i {
			s -= a[i*k+p] * b[p]
		}
		b[i] = s / a[i*k+i]
	}
	for i := k - 1; i >= 0; i-- { // Lᵀ·x = y
		s := b[i]
		for p := i + 1; p < k; p++ {
			s -= a[p*k+i] * b[p]
		}
		b[i] = s / a[i*k+i]
	}
	return true
}

// btConnected reports whether the comparison graph (models joined by pairs with battles) is
// connected.
func btConnected(f *btFit) bool {
	adj := make([][]int, f.k)
	for p, ij := range f.pairs {
		if f.n[p] > 0 {
			adj[ij[0]] = append(adj[ij[0]], ij[1])
			adj[ij[1]] = append(adj[ij[1]], ij[0])
		}
	}
	return btReachesAll(adj)
}

// btStronglyConnected reports whether the graph with an edge i→j whenever i won or tied
// against j is strongly connected: the condition (Ford 1957) for finite maximum-likelihood
// ratings. It checks that model 0 reaches every model along the edges and against them.
func btStronglyConnected(f *btFit) bool {
	fwd := make([][]int, f.k)
	back := make([][]int, f.k)
	for p, ij := range f.pairs {
		i, j := ij[0], ij[1]
		if f.w[p] > 0 { // i scored against j
			fwd[i] = append(fwd[i], j)
			back[j] = append(back[j], i)
		}
		if f.n[p]-f.w[p] > 0 { // j scored against i
			fwd[j] = append(fwd[j], i)
			back[i] = append(back[i], j)
		}
	}
	return btReachesAll(fwd) && btReachesAll(back)
}

// btReachesAll reports whether node 0 reaches every node of the adjacency lists.
func btReachesAll(adj [][]int) bool {
	seen := make([]bool, len(adj))
	stack := []int{0}
	seen[0] = true
	count := 1
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, y := range adj[x] {
			if !seen[y] {
				seen[y] = true
				count++
				stack = append(stack, y)
			}
		}
	}
	return count == len(adj)
}

// btQuantile returns the q-quantile of sorted xs with linear interpolation between order
// statistics (NumPy's and pandas' default).
func btQuantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(xs)-1)
	lo := int(math.Floor(pos))
	if lo >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	frac := pos - float64(lo)
	return xs[lo] + frac*(xs[lo+1]-xs[lo])
}

// btSigmoid is the logistic function 1/(1 + e^−x).
func btSigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// btSoftplus is log(1 + e^x) = −log σ(−x), computed without overflow.
func btSoftplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}
