package scoring

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestSimHashNearDuplicates(t *testing.T) {
	base := ruleStoryLily
	same := []string{
		strings.ToUpper(base),
		strings.ReplaceAll(base, " ", "   "),
		strings.NewReplacer(",", "", ".", "", "\"", "", "?", "!").Replace(base),
	}
	for _, s := range same {
		if d := HammingDistance(SimHash(base), SimHash(s)); d != 0 {
			t.Errorf("case/spacing/punctuation change moved SimHash by %d bits", d)
		}
	}
	if SimHash("") != 0 || SimHash("  ...  ") != 0 {
		t.Error("SimHash of a text without words is not 0")
	}
	if SimHash("Paris") == SimHash("London") || SimHash("red ball") == SimHash("ball red") {
		t.Error("short texts collide")
	}

	// One word changed in a story-length answer stays within a few bits;
	// unrelated answers are far apart.
	r := rand.New(rand.NewPCG(1, 2))
	var edits, far []int
	corpus := ufCorpus(11, 2000)
	var long []string
	for _, c := range corpus {
		if c.useful && len(strings.Fields(c.response)) >= 60 {
			long = append(long, c.response)
		}
	}
	for i, s := range long {
		w := strings.Fields(s)
		w[r.IntN(len(w))] = "zebra"
		edits = append(edits, HammingDistance(SimHash(s), SimHash(strings.Join(w, " "))))
		if i > 0 {
			far = append(far, HammingDistance(SimHash(s), SimHash(long[i-1])))
		}
	}
	within, minFar := 0, 64
	for _, d := range edits {
		if d <= 3 {
			within++
		}
	}
	for _, d := range far {
		minFar = min(minFar, d)
	}
	slices.Sort(edits)
	median := edits[len(edits)/2]
	t.Logf("one-word edit of %d answers of 60+ words: %d within 3 bits, median %d bits; unrelated answers: min distance %d",
		len(edits), within, median, minFar)
	// Word 3-shingles favour never confusing different answers over
	// catching edited ones: an edit moves the hash a few bits, far less
	// than the ~32 bits between unrelated answers, but often more than 3.
	if len(edits) < 50 || median > 10 {
		t.Errorf("one-word edits move SimHash by a median of %d bits", median)
	}
	if minFar <= 6 {
		t.Errorf("unrelated answers within %d bits", minFar)
	}
}

func ufNewIndex(t testing.TB, cfg CopyConfig) *CopyIndex {
	t.Helper()
	x, err := NewCopyIndex(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(x.Close)
	return x
}

func TestCopyIndexCredit(t *testing.T) {
	x := ufNewIndex(t, DefaultCopyConfig())
	ans := SimHash(ruleStoryTom)
	check := func(miner string, sim uint64, ts int64, id string) CopyResult {
		t.Helper()
		res := x.Check(CopyEntry{SimHash: sim, Miner: miner, TimestampMs: ts, ResponseID: id})
		x.Wait()
		return res
	}
	if res := check("A", ans, 100, "a1"); res.Copy || res.Holder.ResponseID != "a1" || res.NearestOther != -1 {
		t.Fatalf("first answer: %+v", res)
	}
	res := check("B", ans, 200, "b1")
	if !res.Copy || res.Holder.Miner != "A" || res.Holder.ResponseID != "a1" || res.Holder.TimestampMs != 100 || res.Distance != 0 {
		t.Errorf("later identical answer by another miner: %+v, want copy of A", res)
	}
	res = check("A", ans, 300, "a2")
	if res.Copy || res.Holder.ResponseID != "a1" || res.NearestOwn != 0 {
		t.Errorf("same miner repeating itself: %+v, want not a copy", res)
	}
	if o, w := res.Similarities(); o != 0 || w != 1 {
		t.Errorf("Similarities = %v, %v, want 0, 1", o, w)
	}
	// A near duplicate (2 bits apart) is a copy; 4 bits apart is not.
	if res := check("C", ans^0b101, 400, "c1"); !res.Copy || res.Holder.Miner != "A" || res.Distance != 2 {
		t.Errorf("near duplicate: %+v, want copy of A at distance 2", res)
	}
	if res := check("D", ans^0xf000_0000_0000_0000, 500, "d1"); res.Copy {
		t.Errorf("4 bits apart: %+v, want not a copy", res)
	}
	// An earlier signed response that arrives late takes the credit.
	if res := check("E", ans, 50, "e1"); res.Copy || res.Holder.ResponseID != "e1" {
		t.Errorf("earliest signed answer arriving late: %+v, want it to hold the credit", res)
	}
	if res := check("A", ans, 600, "a3"); !res.Copy || res.Holder.Miner != "E" {
		t.Errorf("after E's earlier answer, A's repeat: %+v, want copy of E", res)
	}
	// Same timestamp, different miners: nobody is accused.
	other := SimHash(ruleStoryBen)
	check("F", other, 1000, "f1")
	if res := check("G", other, 1000, "g1"); res.Copy {
		t.Errorf("tie on timestamp: %+v, want not a copy", res)
	}
	// Lookup does not record.
	third := SimHash(ruleStoryLily)
	if res := x.Lookup(CopyEntry{SimHash: third, Miner: "H", TimestampMs: 1}); res.Copy {
		t.Errorf("lookup of a new answer: %+v", res)
	}
	x.Wait()
	if res := check("I", third, 2, "i1"); res.Copy {
		t.Errorf("Lookup recorded an answer: %+v", res)
	}
	if x.Len() != 5 { // ans, ans^0b101, ans^0xf..., other, third
		t.Errorf("Len = %d, want 5", x.Len())
	}
}

// ufNaiveCopy is the reference: scan every record.
type ufNaiveRec struct {
	sim   uint64
	miner string
	ts    int64
}

func ufNaiveCheck(recs []ufNaiveRec, miner string, sim uint64, ts int64, k int) (copied bool, holder string) {
	var best *ufNaiveRec
	for i := range recs {
		r := &recs[i]
		if HammingDistance(r.sim, sim) > k {
			continue
		}
		if best == nil || r.ts < best.ts || (r.ts == best.ts && r.miner == miner) {
			best = r
		}
	}
	if best != nil && best.ts < ts && best.miner != miner {
		return true, best.miner
	}
	return false, ""
}

func TestCopyIndexMatchesNaiveScan(t *testing.T) {
	x := ufNewIndex(t, DefaultCopyConfig())
	r := rand.New(rand.NewPCG(3, 4))
	var recs []ufNaiveRec
	seen := map[uint64]bool{}
	for i := 0; i < 3000; i++ {
		var sim uint64
		if i > 0 && r.IntN(3) == 0 { // plant a near duplicate of an earlier answer
			sim = recs[r.IntN(len(recs))].sim
			for f := r.IntN(4); f > 0; f-- {
				sim ^= 1 << r.IntN(64)
			}
		} else {
			sim = r.Uint64()
		}
		if seen[sim] {
			continue // one record per exact hash, as the index keeps
		}
		seen[sim] = true
		rec := ufNaiveRec{sim: sim, miner: fmt.Sprint("m", r.IntN(20)), ts: int64(r.IntN(1_000_000))}
		recs = append(recs, rec)
		x.Check(CopyEntry{SimHash: rec.sim, Miner: rec.miner, TimestampMs: rec.ts, ResponseID: fmt.Sprint(i)})
	}
	x.Wait()
	if x.Len() != len(recs) {
		t.Fatalf("index holds %d of %d answers", x.Len(), len(recs))
	}
	copies := 0
	for i := 0; i < 5000; i++ {
		sim := recs[r.IntN(len(recs))].sim
		for f := r.IntN(6); f > 0; f-- {
			sim ^= 1 << r.IntN(64)
		}
		miner := fmt.Sprint("m", r.IntN(20))
		ts := int64(r.IntN(1_000_000))
		got := x.Lookup(CopyEntry{SimHash: sim, Miner: miner, TimestampMs: ts})
		want, holder := ufNaiveCheck(recs, miner, sim, ts, 3)
		if got.Copy != want || (want && got.Holder.Miner != holder) {
			t.Fatalf("query %x by %s at %d: index %+v, naive copy=%v holder=%s", sim, miner, ts, got, want, holder)
		}
		if want {
			copies++
		}
	}
	t.Logf("5000 queries, %d copies, all equal to a full scan", copies)
}

func TestCopyIndexEvictionNeverAccuses(t *testing.T) {
	cfg := DefaultCopyConfig()
	cfg.MaxEntries = 200
	x := ufNewIndex(t, cfg)
	r := rand.New(rand.NewPCG(5, 6))
	var recs []ufNaiveRec
	for i := 0; i < 5000; i++ {
		rec := ufNaiveRec{sim: r.Uint64(), miner: fmt.Sprint("m", r.IntN(10)), ts: int64(i)}
		recs = append(recs, rec)
		x.Check(CopyEntry{SimHash: rec.sim, Miner: rec.miner, TimestampMs: rec.ts})
		if i%100 == 0 {
			x.Wait()
		}
	}
	x.Wait()
	if n := x.Len(); n > int(cfg.MaxEntries) {
		t.Errorf("band index holds %d entries, cache bounded to %d", n, cfg.MaxEntries)
	}
	type key struct {
		sim   uint64
		miner string
		ts    int64
	}
	real := map[key]bool{}
	for _, rc := range recs {
		real[key{rc.sim, rc.miner, rc.ts}] = true
	}
	flagged := 0
	for i := 0; i < 3000; i++ {
		orig := recs[r.IntN(len(recs))]
		q := CopyEntry{SimHash: orig.sim ^ (1 << r.IntN(64)), Miner: fmt.Sprint("m", r.IntN(10)), TimestampMs: 10_000 + int64(i)}
		res := x.Check(q)
		real[key{q.SimHash, q.Miner, q.TimestampMs}] = true
		if res.Copy {
			flagged++
			h := res.Holder
			if !real[key{h.SimHash, h.Miner, h.TimestampMs}] || h.Miner == q.Miner || h.TimestampMs >= q.TimestampMs || HammingDistance(h.SimHash, q.SimHash) > 3 {
				t.Fatalf("copy credited to an answer that is not an earlier near duplicate by another miner: %+v", res)
			}
		}
	}
	x.Wait()
	t.Logf("cache of %d entries after 8000 answers: %d indexed, %d of 3000 near copies flagged (the rest were evicted: missed, not misattributed)", cfg.MaxEntries, x.Len(), flagged)
}

func TestCopyIndexConcurrent(t *testing.T) {
	x := ufNewIndex(t, DefaultCopyConfig())
	sims := make([]uint64, 64)
	r := rand.New(rand.NewPCG(7, 8))
	for i := range sims {
		sims[i] = r.Uint64()
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				res := x.Check(CopyEntry{SimHash: sims[(i*7+g)%len(sims)], Miner: fmt.Sprint("g", g), TimestampMs: int64(g*10_000 + i)})
				if res.Copy && res.Holder.Miner == fmt.Sprint("g", g) {
					t.Errorf("copy of itself: %+v", res)
					return
				}
			}
		}()
	}
	wg.Wait()
	x.Wait()
	if x.Len() != len(sims) {
		t.Errorf("Len = %d after concurrent checks of %d distinct answers", x.Len(), len(sims))
	}
	// Every answer's credit went to its earliest signed response.
	for _, s := range sims {
		res := x.Lookup(CopyEntry{SimHash: s, Miner: "late", TimestampMs: 1 << 40})
		if !res.Copy || res.Holder.TimestampMs >= 10_000 {
			t.Errorf("credit for %x: %+v, want goroutine 0's early answer", s, res)
		}
	}
}

func TestCopyConfigValidate(t *testing.T) {
	for _, c := range []CopyConfig{{MaxEntries: 0, MaxDistance: 3}, {MaxEntries: 10, MaxDistance: 4}, {MaxEntries: 10, MaxDistance: -1}, {MaxEntries: 10, TTL: -1}} {
		if _, err := NewCopyIndex(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestOutliers(t *testing.T) {
	for _, tc := range []struct {
		answers []string
		exact   bool
		want    []bool
	}{
		{[]string{"42", "42.", " 42 ", "41", "forty"}, true, []bool{false, false, false, true, true}},
		{[]string{"Paris", "paris", "PARIS!", "Lyon"}, true, []bool{false, false, false, true}},
		{[]string{"a", "b", "c"}, true, []bool{false, false, false}},             // no majority
		{[]string{"a", "a", "b", "b"}, true, []bool{false, false, false, false}}, // a tie is no majority
		{[]string{"a", "b"}, true, []bool{false, false}},                         // too few to judge
		{[]string{ruleStoryTom, strings.ToLower(ruleStoryTom), ruleStoryTom + " The end.", ruleStoryBen}, false, []bool{false, false, false, true}},
		{[]string{ruleStoryTom, ruleStoryBen, ruleStoryLily}, false, []bool{false, false, false}},
	} {
		got := Outliers(tc.answers, OutlierOptions{Exact: tc.exact})
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("Outliers(%.60q, exact=%v) = %v, want %v", tc.answers, tc.exact, got, tc.want)
		}
	}
}
