package rlhf

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func btByModel(rs []Rating) map[string]Rating {
	m := make(map[string]Rating, len(rs))
	for _, r := range rs {
		m[r.Model] = r
	}
	return m
}

func btRepeat(n int, b Battle) []Battle {
	out := make([]Battle, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// TestBradleyTerryTwoModels: with A beating B 3 times to 1, the MLE odds are 3, so the
// ratings differ by 400·log10(3) and sit symmetrically around the mean 1000.
func TestBradleyTerryTwoModels(t *testing.T) {
	battles := append(btRepeat(3, Battle{"A", "B", "a"}), Battle{"B", "A", "a"})
	opts := DefaultLeaderboardOptions()
	opts.VirtualTies, opts.Rounds = 0, 0
	rs, err := Leaderboard(battles, opts)
	if err != nil {
		t.Fatal(err)
	}
	d := 400 * math.Log10(3)
	if rs[0].Model != "A" || math.Abs(rs[0].Rating-(1000+d/2)) > 1e-6 || math.Abs(rs[1].Rating-(1000-d/2)) > 1e-6 {
		t.Errorf("got %+v, want A at %.4f and B at %.4f", rs, 1000+d/2, 1000-d/2)
	}
	if a := rs[0]; a.Battles != 4 || a.Wins != 3 || a.Losses != 1 || a.Ties != 0 || a.Rank != 1 || rs[1].Rank != 2 {
		t.Errorf("A row %+v, B rank %d", a, rs[1].Rank)
	}
}

// TestBradleyTerryTiesCountHalf: a tie and a both_bad are each half a win for both sides, so
// 1 win, 1 tie and 1 both_bad for A make A's score 2 of 3 (odds 2); ties alone give equal
// ratings.
func TestBradleyTerryTiesCountHalf(t *testing.T) {
	opts := DefaultLeaderboardOptions()
	opts.VirtualTies, opts.Rounds = 0, 0
	rs, err := Leaderboard([]Battle{{"A", "B", "a"}, {"A", "B", "tie"}, {"B", "A", "both_bad"}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if d := rs[0].Rating - rs[1].Rating; rs[0].Model != "A" || math.Abs(d-400*math.Log10(2)) > 1e-6 {
		t.Errorf("got %+v, want A ahead by %.4f", rs, 400*math.Log10(2))
	}
	if rs[0].Ties != 2 || rs[1].Ties != 2 || rs[1].Losses != 1 {
		t.Errorf("counts %+v", rs)
	}
	rs, err = Leaderboard([]Battle{{"A", "B", "tie"}, {"B", "A", "both_bad"}, {"C", "A", "tie"}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if math.Abs(r.Rating-1000) > 1e-6 || r.Rank != 1 {
			t.Errorf("all ties: %+v", r)
		}
	}
	// Sorted by name when ratings are equal.
	if !slices.Equal([]string{rs[0].Model, rs[1].Model, rs[2].Model}, []string{"A", "B", "C"}) {
		t.Errorf("order %v", rs)
	}
}

// TestBradleyTerryMatchesMM checks the Newton fit against Hunter's (2004) minorise-maximise
// iteration p_i ← W_i / Σ_j n_ij/(p_i + p_j), run to convergence, on random data.
func TestBradleyTerryMatchesMM(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	winners := []string{"a", "b", "tie", "both_bad"}
	for trial := range 30 {
		k := 2 + r.IntN(7)
		var battles []Battle
		// A cycle of wins in both directions guarantees a finite MLE; then random extras.
		for i := range k {
			j := (i + 1) % k
			battles = append(battles, Battle{fmt.Sprint("m", i), fmt.Sprint("m", j), "a"}, Battle{fmt.Sprint("m", i), fmt.Sprint("m", j), "b"})
		}
		for range r.IntN(60) {
			i, j := r.IntN(k), r.IntN(k)
			if i == j {
				continue
			}
			battles = append(battles, Battle{fmt.Sprint("m", i), fmt.Sprint("m", j), winners[r.IntN(4)]})
		}
		opts := DefaultLeaderboardOptions()
		opts.VirtualTies, opts.Rounds = 0, 0
		rs, err := Leaderboard(battles, opts)
		if err != nil {
			t.Fatal(err)
		}
		want := btMM(battles, k)
		for _, row := range rs {
			var i int
			fmt.Sscanf(row.Model, "m%d", &i)
			if math.Abs(row.Rating-want[i]) > 1e-4 {
				t.Fatalf("trial %d: %s rating %.6f, MM %.6f", trial, row.Model, row.Rating, want[i])
			}
		}
	}
}

// btMM fits Bradley–Terry by Hunter's MM iteration for models m0…m(k−1) and returns ratings
// on the 400-point scale with mean 1000.
func btMM(battles []Battle, k int) []float64 {
	n := make([][]float64, k)
	for i := range n {
		n[i] = make([]float64, k)
	}
	w := make([]float64, k)
	for _, b := range battles {
		var i, j int
		fmt.Sscanf(b.ModelA, "m%d", &i)
		fmt.Sscanf(b.ModelB, "m%d", &j)
		n[i][j]++
		n[j][i]++
		switch b.Winner {
		case "a":
			w[i]++
		case "b":
			w[j]++
		default:
			w[i] += 0.5
			w[j] += 0.5
		}
	}
	p := make([]float64, k)
	for i := range p {
		p[i] = 1
	}
	for range 100000 {
		next := make([]float64, k)
		for i := range k {
			den := 0.0
			for j := range k {
				if n[i][j] > 0 {
					den += n[i][j] / (p[i] + p[j])
				}
			}
			next[i] = w[i] / den
		}
		lg := 0.0
		for _, x := range next {
			lg += math.Log(x)
		}
		g := math.Exp(lg / float64(k))
		delta := 0.0
		for i := range next {
			next[i] /= g
			delta = max(delta, math.Abs(math.Log(next[i])-math.Log(p[i])))
		}
		p = next
		if delta < 1e-13 {
			break
		}
	}
	out := make([]float64, k)
	for i := range p {
		out[i] = 1000 + 400*math.Log10(p[i]) // the logs have mean 0
	}
	return out
}

// btSimulate draws n battles between uniformly chosen pairs of models with the given true
// ratings (400-point scale), outcomes by the Bradley–Terry model, no ties.
func btSimulate(r *rand.Rand, truth []float64, n int) []Battle {
	battles := make([]Battle, 0, n)
	for len(battles) < n {
		i, j := r.IntN(len(truth)), r.IntN(len(truth))
		if i == j {
			continue
		}
		pa := 1 / (1 + math.Pow(10, (truth[j]-truth[i])/400))
		w := "b"
		if r.Float64() < pa {
			w = "a"
		}
		battles = append(battles, Battle{fmt.Sprint("model-", i), fmt.Sprint("model-", j), w})
	}
	return battles
}

// TestLeaderboardRecoversStrengths: on simulated battles the ranking comes out right and the
// 95% bootstrap intervals cover the true (mean-centred) ratings about 95% of the time.
func TestLeaderboardRecoversStrengths(t *testing.T) {
	truth := []float64{1210, 1150, 1090, 1030, 970, 910, 850, 790} // mean 1000
	const seeds = 20
	covered, total, wrongOrder := 0, 0, 0
	maxErr := 0.0
	for seed := range uint64(seeds) {
		battles := btSimulate(rand.New(rand.NewPCG(seed, 1)), truth, 6000)
		opts := DefaultLeaderboardOptions()
		opts.Seed = seed
		rs, err := Leaderboard(battles, opts)
		if err != nil {
			t.Fatal(err)
		}
		for pos, row := range rs {
			var i int
			fmt.Sscanf(row.Model, "model-%d", &i)
			if i != pos {
				wrongOrder++
				break
			}
		}
		for _, row := range rs {
			var i int
			fmt.Sscanf(row.Model, "model-%d", &i)
			total++
			if row.Lower <= truth[i] && truth[i] <= row.Upper {
				covered++
			}
			maxErr = max(maxErr, math.Abs(row.Rating-truth[i]))
			if !(row.Lower <= row.Median && row.Median <= row.Upper) || row.Upper-row.Lower > 100 {
				t.Errorf("seed %d %s: interval [%.1f, %.1f] median %.1f", seed, row.Model, row.Lower, row.Upper, row.Median)
			}
		}
	}
	t.Logf("coverage %d/%d, wrong order in %d/%d seeds, largest error %.1f", covered, total, wrongOrder, seeds, maxErr)
	if float64(covered) < 0.85*float64(total) {
		t.Errorf("intervals covered the truth %d/%d times, want ≥ 85%%", covered, total)
	}
	if wrongOrder > seeds/10 {
		t.Errorf("rank order wrong in %d of %d seeds", wrongOrder, seeds)
	}
	if maxErr > 40 {
		t.Errorf("largest rating error %.1f", maxErr)
	}
}

// TestLeaderboardDisconnected: two groups that never met cannot be put on one scale; by
// default that is ErrDisconnected, with AllowDisconnected each group is rated around the
// virtual average.
func TestLeaderboardDisconnected(t *testing.T) {
	battles := []Battle{
		{"A", "B", "a"}, {"A", "B", "a"}, {"A", "B", "b"},
		{"C", "D", "b"}, {"C", "D", "b"}, {"C", "D", "a"},
	}
	if _, err := Leaderboard(battles, DefaultLeaderboardOptions()); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("err = %v, want ErrDisconnected", err)
	}
	opts := DefaultLeaderboardOptions()
	opts.AllowDisconnected = true
	rs, err := Leaderboard(battles, opts)
	if err != nil {
		t.Fatal(err)
	}
	m := btByModel(rs)
	if !(m["A"].Rating > m["B"].Rating && m["D"].Rating > m["C"].Rating) {
		t.Errorf("ratings %+v", rs)
	}
	// Symmetric data: A and D alike, B and C alike.
	if math.Abs(m["A"].Rating-m["D"].Rating) > 1e-6 || math.Abs(m["B"].Rating-m["C"].Rating) > 1e-6 {
		t.Errorf("ratings %+v", rs)
	}
	opts.VirtualTies = 0
	if _, err := Leaderboard(battles, opts); !errors.Is(err, ErrDisconnected) {
		t.Errorf("no virtual ties: err = %v, want ErrDisconnected", err)
	}
}

// TestLeaderboardUndefeated: a model that never lost has no finite MLE; the virtual ties keep
// it finite and on top.
func TestLeaderboardUndefeated(t *testing.T) {
	battles := append(btRepeat(5, Battle{"champ", "x", "a"}), btRepeat(3, Battle{"x", "y", "a"})...)
	battles = append(battles, Battle{"y", "x", "a"}, Battle{"y", "champ", "b"})
	opts := DefaultLeaderboardOptions()
	opts.VirtualTies = 0
	if _, err := Leaderboard(battles, opts); !errors.Is(err, ErrNoMLE) {
		t.Errorf("err = %v, want ErrNoMLE", err)
	}
	rs, err := Leaderboard(battles, DefaultLeaderboardOptions())
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Model != "champ" || math.IsInf(rs[0].Rating, 0) || rs[0].Rating > 2000 || rs[0].Upper > 3000 {
		t.Errorf("got %+v", rs)
	}
}

func TestLeaderboardDeterministic(t *testing.T) {
	battles := btSimulate(rand.New(rand.NewPCG(5, 5)), []float64{1100, 1000, 900, 1050}, 500)
	opts := DefaultLeaderboardOptions()
	opts.Seed = 42
	a, err := Leaderboard(battles, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Leaderboard(slices.Clone(battles), opts)
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different results:\n%+v\n%+v", a, b)
	}
	opts.Seed = 43
	c, _ := Leaderboard(battles, opts)
	if slices.Equal(a, c) {
		t.Error("different seeds gave identical intervals")
	}
	for i := range a {
		if a[i].Model != c[i].Model || a[i].Rating != c[i].Rating {
			t.Errorf("the point estimate depends on the seed: %+v vs %+v", a[i], c[i])
		}
	}
	// The point estimate does not depend on the order of the battles (up to rounding).
	rev := slices.Clone(battles)
	slices.Reverse(rev)
	opts.Rounds = 0
	d, _ := Leaderboard(rev, opts)
	for i := range a {
		if a[i].Model != d[i].Model || math.Abs(a[i].Rating-d[i].Rating) > 1e-9 {
			t.Errorf("reversed input: %+v vs %+v", a[i], d[i])
		}
	}
}

func TestLeaderboardAnchor(t *testing.T) {
	battles := btSimulate(rand.New(rand.NewPCG(8, 8)), []float64{1100, 1000, 900}, 600)
	opts := DefaultLeaderboardOptions()
	base, err := Leaderboard(battles, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Anchor, opts.AnchorRating = "model-1", 1114
	rs, err := Leaderboard(battles, opts)
	if err != nil {
		t.Fatal(err)
	}
	m, b := btByModel(rs), btByModel(base)
	if a := m["model-1"]; a.Rating != 1114 || a.Lower != 1114 || a.Upper != 1114 {
		t.Errorf("anchor row %+v", a)
	}
	shift := 1114 - b["model-1"].Rating
	for name, r := range m {
		if math.Abs(r.Rating-(b[name].Rating+shift)) > 1e-9 {
			t.Errorf("%s: anchored %.4f, mean-centred %.4f, shift %.4f", name, r.Rating, b[name].Rating, shift)
		}
	}
}

func TestLeaderboardErrors(t *testing.T) {
	ok := []Battle{{"A", "B", "a"}, {"B", "A", "a"}}
	mod := func(f func(*LeaderboardOptions)) LeaderboardOptions {
		o := DefaultLeaderboardOptions()
		f(&o)
		return o
	}
	for name, tc := range map[string]struct {
		battles []Battle
		opts    LeaderboardOptions
		is      error
	}{
		"empty":           {nil, DefaultLeaderboardOptions(), ErrNoBattles},
		"self":            {[]Battle{{"A", "A", "a"}}, DefaultLeaderboardOptions(), nil},
		"empty name":      {[]Battle{{"", "A", "a"}}, DefaultLeaderboardOptions(), nil},
		"bad winner":      {[]Battle{{"A", "B", "left"}}, DefaultLeaderboardOptions(), nil},
		"no comparisons":  {ok, mod(func(o *LeaderboardOptions) { o.Models = []string{"A", "C"} }), ErrNoComparisons},
		"unknown anchor":  {ok, mod(func(o *LeaderboardOptions) { o.Anchor = "Z" }), nil},
		"zero options":    {ok, LeaderboardOptions{}, nil},
		"negative rounds": {ok, mod(func(o *LeaderboardOptions) { o.Rounds = -1 }), nil},
		"bad level":       {ok, mod(func(o *LeaderboardOptions) { o.CILevel = 1 }), nil},
		"negative prior":  {ok, mod(func(o *LeaderboardOptions) { o.VirtualTies = -1 }), nil},
	} {
		_, err := Leaderboard(tc.battles, tc.opts)
		if err == nil {
			t.Errorf("%s: no error", name)
		} else if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.is)
		}
	}
	if rs, err := Leaderboard(ok, mod(func(o *LeaderboardOptions) { o.Models = []string{"B"} })); err != nil || len(rs) != 2 {
		t.Errorf("Models subset: %v, %v", rs, err)
	}
}

// TestLeaderboardBootstrapWithoutPrior: with VirtualTies 0, resamples without a finite MLE are
// redrawn, and intervals still come out.
func TestLeaderboardBootstrapWithoutPrior(t *testing.T) {
	battles := btSimulate(rand.New(rand.NewPCG(9, 9)), []float64{1100, 1000, 900}, 300)
	opts := DefaultLeaderboardOptions()
	opts.VirtualTies = 0
	rs, err := Leaderboard(battles, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if !(r.Lower < r.Rating && r.Rating < r.Upper) {
			t.Errorf("%+v", r)
		}
	}
	// Barely connected data: most resamples lose a needed battle, and Leaderboard gives up.
	thin := []Battle{{"A", "B", "a"}, {"B", "A", "a"}, {"B", "C", "a"}, {"C", "B", "a"}}
	if _, err := Leaderboard(thin, opts); !errors.Is(err, ErrNoMLE) {
		t.Errorf("thin data: err = %v, want ErrNoMLE", err)
	}
}
