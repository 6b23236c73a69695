package scoring

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dgraph-io/ristretto/v2"
)

// CopyEntry is one indexed answer: whose it is and when it arrived.
type CopyEntry struct {
	SimHash     uint64 // SimHash of the answer text
	Miner       string // the miner's hotkey (or another stable identity)
	TimestampMs int64  // when the validator received the answer, Unix ms: the earliest keeps the credit
	ResponseID  string // the response's id (e.g. its Epistula uuid)
}

// CopyResult is the outcome of a [CopyIndex.Check].
type CopyResult struct {
	// Copy is true when an earlier signed answer by a different miner is
	// within MaxDistance bits of this one and is the earliest of all the
	// matching answers: this answer is the copy and Holder keeps the credit.
	Copy bool
	// Holder is the earliest matching answer, which holds the credit. It
	// is the checked answer itself when it is the earliest (or no match).
	Holder CopyEntry
	// Distance is the Hamming distance from the checked answer to Holder.
	Distance int
	// NearestOther and NearestOwn are the smallest Hamming distances to a
	// matching answer by another miner and by the same miner (an earlier
	// answer of its own, e.g. one it repeats across prompts), or -1 when
	// there is none within MaxDistance.
	NearestOther, NearestOwn int
}

// Similarities converts NearestOther and NearestOwn to the similarities
// [UsefulInput] expects: 1 - distance/64 in [0,1], or 0 when there was no
// match.
func (r CopyResult) Similarities() (others, own float64) {
	conv := func(d int) float64 {
		if d < 0 {
			return 0
		}
		return 1 - float64(d)/64
	}
	return conv(r.NearestOther), conv(r.NearestOwn)
}

// CopyConfig configures a [CopyIndex].
type CopyConfig struct {
	// MaxEntries bounds how many distinct SimHashes are kept (ristretto
	// evicts the least valuable beyond it); >= 1.
	MaxEntries int64
	// MaxDistance is the largest Hamming distance that counts as the same
	// answer, in 0..3 (4 bands of 16 bits find every pair within 3 bits).
	MaxDistance int
	// TTL forgets answers this long after they were indexed (wall clock);
	// 0 keeps them until evicted by size.
	TTL time.Duration
}

// DefaultCopyConfig keeps about a million answers, counts answers within 3
// bits as copies (Manku et al. 2007) and never expires entries by age.
func DefaultCopyConfig() CopyConfig {
	return CopyConfig{MaxEntries: 1 << 20, MaxDistance: 3}
}

// Validate reports a clear error for an unusable configuration.
func (c CopyConfig) Validate() error {
	switch {
	case c.MaxEntries < 1:
		return fmt.Errorf("scoring: copy index: MaxEntries = %d, want >= 1", c.MaxEntries)
	case c.MaxDistance < 0 || c.MaxDistance > copyBands-1:
		return fmt.Errorf("scoring: copy index: MaxDistance = %d, want 0..%d", c.MaxDistance, copyBands-1)
	case c.TTL < 0:
		return fmt.Errorf("scoring: copy index: TTL = %v, want >= 0", c.TTL)
	}
	return nil
}

const (
	copyBands      = 4  // bands per SimHash
	copyBandBits   = 16 // bits per band
	copyBuckets    = 1 << copyBandBits
	copyStripeBits = 8 // lock stripes per band
)

// copyRecord is an immutable snapshot of the credit holder of one SimHash.
type copyRecord struct {
	miner uint32 // interned miner id
	ts    int64
	id    string
}

// copyGroup is everything indexed under one exact SimHash: the earliest
// answer seen with it (the record is swapped atomically when an earlier
// signed answer arrives).
type copyGroup struct {
	sim uint64
	rec atomic.Pointer[copyRecord]
}

type copyRef struct {
	sim uint64
	g   *copyGroup
}

// CopyIndex finds near-duplicate answers across miners and over time and
// decides who holds the credit: the earliest signed response keeps it, a
// later answer by a different miner within MaxDistance bits is a copy, and
// the same miner repeating itself is never a copy.
//
// Each distinct SimHash is one entry of a ristretto cache, which bounds the
// memory (MaxEntries, TTL) and chooses what to forget; a band index (4
// bands of 16 bits, by the pigeonhole principle every hash within 3 bits
// shares a band) finds candidates without scanning. The band index follows
// the cache through its eviction and rejection callbacks.
//
// Ristretto may drop or reject a Set (its buffers are lossy and its
// admission policy may refuse a new key when the cache is full), and it
// applies Sets asynchronously. An answer it dropped or evicted is simply
// absent: a later copy of it is missed (scored as original), and its
// credit may go to the next answer in line — the index never invents an
// earlier answer, so it never accuses a miner falsely. Concurrent Checks
// can only race in the same direction (a missed copy). Call Wait to see
// every earlier Check reflected.
//
// What it catches: verbatim copies and copies changed only in case, spacing
// or punctuation (distance 0), and many light edits of long answers; not
// paraphrases. Index only open-ended answers long enough to be distinctive
// (a dozen words or more): short factual answers ("Paris") coincide
// legitimately, as do answers of two miners serving the same model at
// temperature 0 — use sampled prompts for the copy check.
// It is safe for concurrent use. Call Close when done.
type CopyIndex struct {
	cfg   CopyConfig
	cache *ristretto.Cache[uint64, *copyGroup]

	bands [copyBands][]copyBucket
	locks [copyBands][1 << copyStripeBits]sync.RWMutex

	// Serialises the creation of the group for one exact SimHash.
	ins [1 << copyStripeBits]sync.Mutex

	minersMu sync.RWMutex
	minerIDs map[string]uint32
	miners   []string

	groups atomic.Int64
}

type copyBucket []copyRef

// NewCopyIndex returns an empty index.
func NewCopyIndex(cfg CopyConfig) (*CopyIndex, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	x := &CopyIndex{cfg: cfg, minerIDs: make(map[string]uint32)}
	for b := range x.bands {
		x.bands[b] = make([]copyBucket, copyBuckets)
	}
	counters := cfg.MaxEntries * 10
	if counters < 1024 {
		counters = 1024
	}
	cache, err := ristretto.NewCache(&ristretto.Config[uint64, *copyGroup]{
		NumCounters:        counters,
		MaxCost:            cfg.MaxEntries,
		BufferItems:        64,
		IgnoreInternalCost: true, // cost 1 per entry: MaxCost counts entries
		OnEvict:            func(it *ristretto.Item[*copyGroup]) { x.unlink(it.Value) },
		OnReject:           func(it *ristretto.Item[*copyGroup]) { x.unlink(it.Value) },
	})
	if err != nil {
		return nil, fmt.Errorf("scoring: copy index: %w", err)
	}
	x.cache = cache
	return x, nil
}

// Close releases the cache's goroutines. The index must not be used after.
func (x *CopyIndex) Close() { x.cache.Close() }

// Wait blocks until every Check that returned before it is applied to the
// cache (ristretto buffers Sets); tests and batch loaders call it.
func (x *CopyIndex) Wait() { x.cache.Wait() }

// Len returns the number of distinct SimHashes currently indexed.
func (x *CopyIndex) Len() int { return int(x.groups.Load()) }

func copyBand(sim uint64, b int) uint16 { return uint16(sim >> (copyBandBits * b)) }

func (x *CopyIndex) lock(b int, key uint16) *sync.RWMutex {
	return &x.locks[b][key&(1<<copyStripeBits-1)]
}

// link adds g to the band index.
func (x *CopyIndex) link(g *copyGroup) {
	for b := 0; b < copyBands; b++ {
		k := copyBand(g.sim, b)
		l := x.lock(b, k)
		l.Lock()
		x.bands[b][k] = append(x.bands[b][k], copyRef{sim: g.sim, g: g})
		l.Unlock()
	}
	x.groups.Add(1)
}

// unlink removes g (by identity) from the band index, if present.
func (x *CopyIndex) unlink(g *copyGroup) {
	if g == nil {
		return
	}
	found := false
	for b := 0; b < copyBands; b++ {
		k := copyBand(g.sim, b)
		l := x.lock(b, k)
		l.Lock()
		bk := x.bands[b][k]
		for i := range bk {
			if bk[i].g == g {
				last := len(bk) - 1
				bk[i] = bk[last]
				bk[last] = copyRef{}
				if last == 0 {
					x.bands[b][k] = nil
				} else {
					x.bands[b][k] = bk[:last]
				}
				found = true
				break
			}
		}
		l.Unlock()
	}
	if found {
		x.groups.Add(-1)
	}
}

func (x *CopyIndex) minerID(m string) uint32 {
	x.minersMu.RLock()
	id, ok := x.minerIDs[m]
	x.minersMu.RUnlock()
	if ok {
		return id
	}
	x.minersMu.Lock()
	defer x.minersMu.Unlock()
	if id, ok := x.minerIDs[m]; ok {
		return id
	}
	id = uint32(len(x.miners))
	x.miners = append(x.miners, m)
	x.minerIDs[m] = id
	return id
}

func (x *CopyIndex) minerName(id uint32) string {
	x.minersMu.RLock()
	defer x.minersMu.RUnlock()
	return x.miners[id]
}

// Lookup is Check without recording the answer.
func (x *CopyIndex) Lookup(e CopyEntry) CopyResult {
	res, _ := x.lookup(e, x.minerID(e.Miner))
	return res
}

// Check decides whether e copies an earlier answer by a different miner and
// records e in the index (so later copies of it are caught, and if e is
// earlier than the answer currently credited for its exact SimHash, e takes
// the credit over). A miner's answer is a copy only when the earliest
// matching answer, strictly earlier than e, is another miner's.
func (x *CopyIndex) Check(e CopyEntry) CopyResult {
	me := x.minerID(e.Miner)
	res, exact := x.lookup(e, me)
	rec := &copyRecord{miner: me, ts: e.TimestampMs, id: e.ResponseID}
	if exact != nil {
		x.takeEarlier(exact, rec)
		x.cache.Get(e.SimHash) // counts as a use for ristretto's admission policy
		return res
	}
	il := &x.ins[uint8(e.SimHash)]
	il.Lock()
	defer il.Unlock()
	if g := x.findExact(e.SimHash); g != nil { // created meanwhile
		x.takeEarlier(g, rec)
		return res
	}
	g := &copyGroup{sim: e.SimHash}
	g.rec.Store(rec)
	x.link(g)
	if !x.cache.SetWithTTL(e.SimHash, g, 1, x.cfg.TTL) {
		x.unlink(g) // dropped by ristretto: forget it (a possible missed copy later)
	}
	return res
}

// takeEarlier makes rec the credit holder of g if it was signed earlier.
func (x *CopyIndex) takeEarlier(g *copyGroup, rec *copyRecord) {
	for {
		cur := g.rec.Load()
		if cur != nil && cur.ts <= rec.ts {
			return
		}
		if g.rec.CompareAndSwap(cur, rec) {
			return
		}
	}
}

func (x *CopyIndex) findExact(sim uint64) *copyGroup {
	k := copyBand(sim, 0)
	l := x.lock(0, k)
	l.RLock()
	defer l.RUnlock()
	for _, r := range x.bands[0][k] {
		if r.sim == sim {
			return r.g
		}
	}
	return nil
}

// lookup finds the matches of e and the group of its exact SimHash.
func (x *CopyIndex) lookup(e CopyEntry, me uint32) (CopyResult, *copyGroup) {
	res := CopyResult{Holder: e, NearestOther: -1, NearestOwn: -1}
	var (
		exact   *copyGroup
		best    *copyRecord
		bestSim uint64
		bestD   int
	)
	k := x.cfg.MaxDistance
	for b := 0; b < copyBands; b++ {
		key := copyBand(e.SimHash, b)
		l := x.lock(b, key)
		l.RLock()
		for _, r := range x.bands[b][key] {
			d := HammingDistance(r.sim, e.SimHash)
			if d > k {
				continue
			}
			if d == 0 {
				exact = r.g
			}
			rec := r.g.rec.Load()
			if rec == nil {
				continue
			}
			if rec.miner == me {
				if res.NearestOwn < 0 || d < res.NearestOwn {
					res.NearestOwn = d
				}
			} else if res.NearestOther < 0 || d < res.NearestOther {
				res.NearestOther = d
			}
			if best == nil || rec.ts < best.ts || (rec.ts == best.ts && rec.miner == me) {
				best, bestSim, bestD = rec, r.sim, d
			}
		}
		l.RUnlock()
	}
	if best != nil && best.ts < e.TimestampMs {
		res.Holder = CopyEntry{SimHash: bestSim, Miner: x.minerName(best.miner), TimestampMs: best.ts, ResponseID: best.id}
		res.Distance = bestD
		res.Copy = best.miner != me
	}
	return res, exact
}

// OutlierOptions says how [Outliers] compares answers.
type OutlierOptions struct {
	// Exact compares normalised text (case, spacing and trailing
	// punctuation ignored): for tasks with one right answer.
	Exact bool
	// MaxDistance is the SimHash Hamming distance within which an answer
	// belongs to the medoid's cluster when Exact is false; 0 means 12.
	MaxDistance int
}

// Outliers flags the answers, to one prompt sent to several miners, that
// lie outside the majority: with Exact, those whose normalised text differs
// from the strict-majority text; otherwise those farther than MaxDistance
// bits of SimHash from the medoid (the answer with the least total distance
// to the others), provided the medoid's cluster is a strict majority. When
// there is no strict majority it flags nothing (it cannot tell who is
// wrong). The result has one entry per answer.
func Outliers(answers []string, opt OutlierOptions) []bool {
	out := make([]bool, len(answers))
	n := len(answers)
	if n < 3 {
		return out
	}
	if opt.Exact {
		norm := make([]string, n)
		counts := make(map[string]int, n)
		for i, a := range answers {
			norm[i] = ufNormalizeAnswer(a)
			counts[norm[i]]++
		}
		maj, best := "", 0
		for i := range norm { // first-seen order: deterministic
			if c := counts[norm[i]]; c > best {
				maj, best = norm[i], c
			}
		}
		if 2*best <= n {
			return out
		}
		for i := range norm {
			out[i] = norm[i] != maj
		}
		return out
	}
	radius := opt.MaxDistance
	if radius <= 0 {
		radius = 12
	}
	sims := make([]uint64, n)
	for i, a := range answers {
		sims[i] = SimHash(a)
	}
	medoid, bestSum := 0, -1
	for i := range sims {
		sum := 0
		for j := range sims {
			sum += HammingDistance(sims[i], sims[j])
		}
		if bestSum < 0 || sum < bestSum {
			medoid, bestSum = i, sum
		}
	}
	in := 0
	for i := range sims {
		if HammingDistance(sims[i], sims[medoid]) <= radius {
			in++
		}
	}
	if 2*in <= n {
		return out
	}
	for i := range sims {
		out[i] = HammingDistance(sims[i], sims[medoid]) > radius
	}
	return out
}

// ufNormalizeAnswer lowercases a, collapses spaces and drops surrounding
// spaces and trailing sentence punctuation.
func ufNormalizeAnswer(a string) string {
	var sb strings.Builder
	sb.Grow(len(a))
	space := false
	for _, r := range a {
		if unicode.IsSpace(r) {
			space = sb.Len() > 0
			continue
		}
		if space {
			sb.WriteByte(' ')
			space = false
		}
		if r == utf8.RuneError {
			sb.WriteRune(r)
			continue
		}
		sb.WriteRune(unicode.ToLower(r))
	}
	return strings.TrimRight(sb.String(), ".!?;,")
}
