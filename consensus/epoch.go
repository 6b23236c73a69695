// Package consensus is Yuma consensus: a port of subtensor's sparse epoch
// (epoch_mechanism), classic Yuma and Yuma3 with liquid alpha, that gives the
// same numbers bit for bit. It computes in I32F32 integer fixed point with
// subtensor's rounding rules, uses no floats, does no I/O and keeps no state:
// Epoch is a pure function of its Input.
//
// Work and memory are O(nnz + n log n) per epoch, where nnz counts the stored
// weight and bond entries; nothing is densified to n×n. On a large subnet the
// passes over the matrices run on up to GOMAXPROCS goroutines; the output
// is the same bits on any number of them.
package consensus

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// MaxUIDs is the largest subnet size Epoch accepts. It keeps every sum of
// raw u16 weights in a row inside I32F32's range (4096·65535 < 2^31), and it
// is subtensor's historical MaxAllowedUids.
const MaxUIDs = 4096

// MaxUIDs must stay below 2^15: the parallel passes sum each column per
// span of rows and add the spans' sums, and that equals the one-goroutine
// sum only while no column sum can saturate (see parallel.go), which the
// bound guarantees. Above it the sums would depend on how rows are split,
// so nodes with different core counts would compute different epochs and
// fork. The constant below is negative, and fails to compile, if MaxUIDs
// reaches 2^15.
const _ uint = 1<<15 - 1 - MaxUIDs

// MaxWorkers bounds Input.Workers.
const MaxWorkers = 64

// Entry is one stored sparse weight or bond: the target uid and a u16 value.
type Entry struct {
	UID   uint16
	Value uint16
}

// Params are a subnet's hyperparameters that the epoch reads. The zero value
// is not useful: start from DefaultParams.
type Params struct {
	// Kappa is the consensus majority as a proportion of 65535.
	Kappa uint16 `json:"kappa"`
	// BondsPenalty is β as a proportion of 65535: how far bonds follow the
	// clipped weights (65535) rather than the raw ones (0).
	BondsPenalty uint16 `json:"bonds_penalty"`
	// BondsMovingAverage is the bonds EMA's retention in millionths; the EMA's
	// alpha is 1 − BondsMovingAverage/1e6. At most 1_000_000.
	BondsMovingAverage uint64 `json:"bonds_moving_average"`
	// MaxAllowedValidators is how many uids get a validator permit.
	MaxAllowedValidators uint16 `json:"max_allowed_validators"`
	// ActivityCutoff is how many blocks after its last update a uid stays
	// active.
	ActivityCutoff uint64 `json:"activity_cutoff"`
	// Tempo is the number of blocks between epochs.
	Tempo uint64 `json:"tempo"`
	// Yuma3 selects Yuma3 bonds (proportions, relative dividends).
	Yuma3 bool `json:"yuma3"`
	// LiquidAlpha gives each bond its own EMA alpha (Yuma3 only).
	LiquidAlpha bool `json:"liquid_alpha"`
	// AlphaLow and AlphaHigh bound liquid alpha, as proportions of 65535.
	AlphaLow  uint16 `json:"alpha_low"`
	AlphaHigh uint16 `json:"alpha_high"`
	// AlphaSigmoidSteepness is the liquid-alpha sigmoid's steepness ×100.
	AlphaSigmoidSteepness int16 `json:"alpha_sigmoid_steepness"`
	// StakeThreshold is the raw stake below which a uid (other than the
	// owner's) counts as having none.
	StakeThreshold uint64 `json:"stake_threshold"`
}

// DefaultParams returns subtensor's defaults (research/yuma.md section 3),
// with the classic 5000-block activity cutoff.
func DefaultParams() Params {
	return Params{
		Kappa:                 32767,
		BondsPenalty:          math.MaxUint16,
		BondsMovingAverage:    900_000,
		MaxAllowedValidators:  128,
		ActivityCutoff:        5000,
		Tempo:                 360,
		AlphaLow:              45875,
		AlphaHigh:             58982,
		AlphaSigmoidSteepness: 1000,
	}
}

// Input is everything one epoch of one subnet reads. Every per-uid slice has
// length N; Weights and Bonds may be nil (no rows).
type Input struct {
	N                   int     // number of uids, at most MaxUIDs
	Block               uint64  // the current block
	LastEpochBlock      uint64  // the block of the previous epoch, 0 if none
	Emission            uint64  // base units to distribute this epoch
	OwnerUID            *uint16 // the subnet owner's uid, if it has one
	Stake               []uint64
	Permits             []bool   // validator permits stored by the previous epoch
	LastUpdate          []uint64 // block of each uid's last weights update
	BlockAtRegistration []uint64
	Weights             [][]Entry // raw u16 weights per row (stored max-upscaled)
	Bonds               [][]Entry // stored u16 bonds per row
	// CommitBlocks, when commit-reveal is on, holds each uid's earliest
	// unexpired weight commit block (math.MaxUint64 for none): weights on a
	// uid registered after a validator's pending commit are masked. Nil when
	// commit-reveal is off.
	CommitBlocks []uint64
	Params       Params
	// Workers is how many goroutines the epoch may run its passes on; 0
	// lets it choose (one on a small subnet, up to GOMAXPROCS capped at 8
	// on a large one). The output is the same bits for any value. It is
	// not part of the JSON form.
	Workers int
}

// Output is what an epoch computes for each uid. Proportions are u16 =
// floor(x·65535); emissions are base units.
type Output struct {
	Consensus         []uint16 `json:"consensus"`
	Incentive         []uint16 `json:"incentive"`
	Dividends         []uint16 `json:"dividends"`
	ValidatorTrust    []uint16 `json:"validator_trust"`
	StakeWeight       []uint16 `json:"stake_weight"` // normalised stake
	Active            []bool   `json:"active"`
	ServerEmission    []uint64 `json:"server_emission"`
	ValidatorEmission []uint64 `json:"validator_emission"`
	Emission          []uint64 `json:"emission"` // combined, as subtensor stores it
	// ValidatorPermits are the permits for the next epoch.
	ValidatorPermits []bool `json:"validator_permits"`
	// Bonds are the bond rows to store: recomputed for uids with a new
	// permit, emptied for uids that lost one, and the input rows otherwise.
	Bonds [][]Entry `json:"bonds"`
}

// Validate reports the first thing wrong with in, naming the field.
func (in *Input) Validate() error {
	if in.N < 0 || in.N > MaxUIDs {
		return fmt.Errorf("n: %d is out of range [0, %d]", in.N, MaxUIDs)
	}
	if in.Workers < 0 || in.Workers > MaxWorkers {
		return fmt.Errorf("workers: %d is out of range [0, %d]", in.Workers, MaxWorkers)
	}
	lengths := []struct {
		name string
		got  int
		opt  bool
	}{
		{"stake", len(in.Stake), false},
		{"permits", len(in.Permits), false},
		{"last_update", len(in.LastUpdate), false},
		{"block_at_registration", len(in.BlockAtRegistration), false},
		{"weights", len(in.Weights), in.Weights == nil},
		{"bonds", len(in.Bonds), in.Bonds == nil},
		{"commit_blocks", len(in.CommitBlocks), in.CommitBlocks == nil},
	}
	for _, l := range lengths {
		if !l.opt && l.got != in.N {
			return fmt.Errorf("%s: has %d entries, want n = %d", l.name, l.got, in.N)
		}
	}
	if in.OwnerUID != nil && int(*in.OwnerUID) >= in.N {
		return fmt.Errorf("owner_uid: %d is not a uid (n = %d)", *in.OwnerUID, in.N)
	}
	var total uint64
	for i, s := range in.Stake {
		if total+s < total || total+s > math.MaxInt64 {
			return fmt.Errorf("stake[%d]: total stake exceeds %d", i, uint64(math.MaxInt64))
		}
		total += s
	}
	seen := make([]uint32, in.N) // seen[uid] == stamp: uid is in the row being checked
	stamp := uint32(0)
	for _, m := range []struct {
		name string
		rows [][]Entry
	}{{"weights", in.Weights}, {"bonds", in.Bonds}} {
		for i, row := range m.rows {
			stamp++
			if err := checkRow(row, in.N, seen, stamp); err != nil {
				return fmt.Errorf("%s[%d]: %w", m.name, i, err)
			}
		}
	}
	return in.Params.Validate()
}

// checkRow reports a uid out of range or repeated in a sparse row. seen has
// n entries, none of them yet equal to stamp; checkRow sets those of the
// row's uids to it.
func checkRow(row []Entry, n int, seen []uint32, stamp uint32) error {
	for _, e := range row {
		if int(e.UID) >= n {
			return fmt.Errorf("uid %d is out of range (n = %d)", e.UID, n)
		}
		if seen[e.UID] == stamp {
			return fmt.Errorf("uid %d appears twice", e.UID)
		}
		seen[e.UID] = stamp
	}
	return nil
}

// Validate reports a hyperparameter outside the range the epoch supports.
func (p Params) Validate() error {
	if p.BondsMovingAverage > 1_000_000 {
		return fmt.Errorf("params.bonds_moving_average: %d exceeds 1000000", p.BondsMovingAverage)
	}
	if p.AlphaLow > p.AlphaHigh {
		return fmt.Errorf("params.alpha_low: %d exceeds alpha_high %d", p.AlphaLow, p.AlphaHigh)
	}
	return nil
}

// Epoch runs one Yuma epoch. It returns an error only for invalid input
// (see Input.Validate); for valid input it never fails.
func Epoch(in *Input) (*Output, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return epoch(in), nil
}

func epoch(in *Input) *Output {
	if in.Workers > 0 {
		return epochOn(in, in.Workers)
	}
	return epochOn(in, epochParts(in))
}

// epochOn is epoch on parts goroutines; the output does not depend on parts.
func epochOn(in *Input, parts int) *Output {
	n, p := in.N, in.Params
	s := newUIDState(in, parts)

	// Weights: permitted rows, no self-weight but the owner's, no weight
	// older than its target's registration (or than a pending commit), each
	// row normalised.
	sp := s.rows
	w := loadWeights(in, s.permits, s.owner, sp)

	// Consensus, clipping, validator trust, incentive.
	kappa := safeDiv(fromInt(int64(p.Kappa)), u16Max)
	consensus := medianCols(s.activeStake, w, n, kappa, s.parts)
	beta := safeDiv(fromInt(int64(p.BondsPenalty)), u16Max)
	clipped := w // bonds follow the clipped weights alone: clip in place
	if beta != one {
		clipped = rowsLike(w, nil)
	}
	trust, ranks := clipRanks(clipped, w, consensus, s.activeStake, sp)
	wfb := interpolate(w, clipped, beta) // w and clipped are not used below
	var deltaSums []fix                  // original Yuma's column sums of W̃ ◦ S
	if !p.Yuma3 {
		if beta == one {
			// W̃ is the clipped weights, so Σ_i S_i·W̃_ij is the ranks.
			deltaSums = slices.Clone(ranks)
		} else {
			deltaSums = scaledColSums(wfb, s.activeStake, sp)
		}
	}
	incentive := ranks
	normalize(incentive)

	// Bonds and dividends.
	var dividends, colMax []fix
	var bonds matrix
	if p.Yuma3 {
		b := loadBonds(in, true, s.lastTempo, sp)
		var sums []fix
		if p.LiquidAlpha && slices.ContainsFunc(consensus, func(c fix) bool { return c != 0 }) {
			bonds = liquidEMA(wfb, b, consensus, p, sp)
			sums = colSums(bonds, n, sp)
		} else {
			bonds, sums = emaNormalized(emaSide{m: wfb}, emaSide{m: b}, bondsAlpha(p.BondsMovingAverage), n, sp)
		}
		dividends, _ = colNormDot(bonds, sums, incentive, false, sp)
		for i, d := range dividends {
			dividends[i], _ = mulChecked(d, s.activeStake[i])
		}
	} else {
		// ΔB = col_normalize(W̃ ◦ S) and B = col_normalize(old bonds) are
		// applied entry by entry inside the EMA; the stored bonds are the
		// EMA column-normalised, then divided by each column's maximum.
		b := loadBonds(in, false, s.lastTempo, sp)
		delta := emaSide{m: wfb, rowScale: s.activeStake, colSums: deltaSums}
		old := emaSide{m: b, colSums: colSums(b, n, sp)}
		var sums []fix
		bonds, sums = emaNormalized(delta, old, bondsAlpha(p.BondsMovingAverage), n, sp)
		dividends, colMax = colNormDot(bonds, sums, incentive, true, sp)
	}
	normalize(dividends)

	return s.finish(in, consensus, trust, incentive, dividends, bonds, colMax)
}

// uidState is what an epoch derives per uid before it reads any weight.
type uidState struct {
	owner       int    // the owner's uid, -1 if none
	active      []bool // updated within the activity cutoff
	stake       []fix  // thresholded, normalised stake
	permits     []bool // this epoch's validator permits (the stored ones)
	newPermits  []bool // the next epoch's
	activeStake []fix  // stake of active permitted uids, normalised
	lastTempo   uint64 // bonds on uids registered at or after it are dropped
	parts       int    // goroutines for the passes
	rows        spans  // the rows of each goroutine
}

func newUIDState(in *Input, parts int) *uidState {
	n, p := in.N, in.Params
	s := &uidState{parts: parts, rows: rowSpans(in, parts)}
	s.owner = -1
	if in.OwnerUID != nil {
		s.owner = int(*in.OwnerUID)
	}

	// Activity.
	s.active = make([]bool, n)
	for i, u := range in.LastUpdate {
		s.active[i] = !(satAddU64(u, p.ActivityCutoff) < in.Block)
	}

	// Stake: threshold, then normalise in I64F64 and truncate to I32F32,
	// which is floor(s·2^32 / Σs).
	filtered := make([]uint64, n)
	var total uint64
	for i, v := range in.Stake {
		if i == s.owner || v >= p.StakeThreshold {
			filtered[i] = v
			total += v
		}
	}
	s.stake = make([]fix, n)
	if total > 0 {
		for i, v := range filtered {
			s.stake[i] = normStake(v, total)
		}
	}

	// Validator permits: the stored ones for this epoch, top-k for the next.
	s.permits = slices.Clone(in.Permits)
	s.newPermits = topKNonzero(s.stake, int(p.MaxAllowedValidators))
	if s.owner >= 0 {
		s.permits[s.owner] = true
		s.newPermits[s.owner] = true
	}

	// Active stake: stake of active, permitted uids, renormalised.
	s.activeStake = slices.Clone(s.stake)
	for i := range s.activeStake {
		if !s.active[i] || !s.permits[i] {
			s.activeStake[i] = 0
		}
	}
	normalize(s.activeStake)

	// The bonds mask: uids registered since the last epoch.
	s.lastTempo = in.LastEpochBlock + 1
	if in.LastEpochBlock == 0 {
		s.lastTempo = satSubU64(in.Block, p.Tempo)
	}
	return s
}

// finish computes the emission and the output from the epoch's vectors and
// bonds. colMax, when set, are the columns' largest bonds, by which the
// stored bonds are divided (original Yuma).
func (s *uidState) finish(in *Input, consensus, trust, incentive, dividends []fix, bonds matrix, colMax []fix) *Output {
	n := in.N
	// Emission: incentive to servers, dividends to validators, each as a
	// share of their sum; stake when nobody earned anything.
	combined := make([]fix, n)
	for i := range combined {
		combined[i] = satAdd(incentive[i], dividends[i])
	}
	emissionSum := sum(combined)
	nse, nve, nce := slices.Clone(incentive), slices.Clone(dividends), slices.Clone(combined)
	normalizeUsing(nse, emissionSum)
	normalizeUsing(nve, emissionSum)
	normalize(nce)
	if emissionSum == 0 {
		fallback := s.activeStake
		if sum(s.activeStake) == 0 {
			fallback = s.stake
		}
		nve, nce = slices.Clone(fallback), slices.Clone(fallback)
	}

	out := &Output{
		Consensus:         toU16s(consensus),
		Incentive:         toU16s(incentive),
		Dividends:         toU16s(dividends),
		ValidatorTrust:    toU16s(trust),
		StakeWeight:       toU16s(s.stake),
		Active:            s.active,
		ServerEmission:    scaleAll(nse, in.Emission),
		ValidatorEmission: scaleAll(nve, in.Emission),
		Emission:          scaleAll(nce, in.Emission),
		ValidatorPermits:  s.newPermits,
		Bonds:             make([][]Entry, n),
	}
	off := make([]int, n+1)
	for i := range n {
		off[i+1] = off[i]
		if s.newPermits[i] {
			off[i+1] += len(bonds[i])
		}
	}
	backing := make([]Entry, off[n])
	s.rows.run(func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			switch {
			case s.newPermits[i]:
				row := backing[off[i]:off[i+1]:off[i+1]]
				for k, c := range bonds[i] {
					v := c.val
					if colMax != nil && colMax[c.col] != 0 {
						v = frac(v, colMax[c.col]) // inplace_col_max_upscale_sparse
					}
					row[k] = Entry{uint16(c.col), proportionToU16(v)}
				}
				out.Bonds[i] = row
			case s.permits[i]:
				out.Bonds[i] = []Entry{}
			case in.Bonds != nil && in.Bonds[i] != nil:
				out.Bonds[i] = slices.Clone(in.Bonds[i])
			default:
				out.Bonds[i] = []Entry{}
			}
		}
	})
	return out
}

// normStake is floor(s·2^32 / total) for s <= total, total > 0: subtensor's
// I64F64 normalisation truncated to I32F32.
func normStake(s, total uint64) fix {
	hi, lo := s>>(64-fracBits), s<<fracBits
	q, _ := bits.Div64(hi, lo, total)
	return fix(q)
}

// bondsAlpha is the bonds EMA's alpha, 1 − bma/1e6, computed as subtensor
// does: bma/1e6 in I64F64, truncated to I32F32, then subtracted from 1.
func bondsAlpha(bma uint64) fix {
	hi, lo := bma>>(64-fracBits), bma<<fracBits
	q, _ := bits.Div64(hi, lo, 1_000_000)
	return satSub(one, fix(q))
}

// liquidEMA is Yuma3's bond EMA with a per-entry alpha
// (compute_liquid_alpha_values_sparse then mat_ema_alpha_sparse). Subtensor
// builds a dense n×n alpha matrix, but reads it only where a weight is
// stored, so the alpha is computed only there. As in subtensor, a bond whose
// column has no weight in the row is dropped, not decayed.
func liquidEMA(w, b matrix, consensus []fix, p Params, sp spans) matrix {
	low := safeDiv(fromInt(int64(p.AlphaLow)), u16Max)
	high := safeDiv(fromInt(int64(p.AlphaHigh)), u16Max)
	slope := satDiv(fromInt(int64(p.AlphaSigmoidSteepness)), fromInt(-100))
	out := rowsLike(w, nil)
	sp.run(func(_, lo, hi int) {
		var memo expMemo
		for i := lo; i < hi; i++ {
			r, old := out[i], b[i]
			k := 0
			for _, c := range w[i] {
				for k < len(old) && old[k].col < c.col {
					k++
				}
				var bond fix
				if k < len(old) && old[k].col == c.col {
					bond = old[k].val
				}
				a := alphaSigmoid(consensus[c.col], c.val, bond, low, high, slope, &memo)
				decayed := mul(satSub(one, a), bond)
				inc := max(mul(a, c.val), 0)
				if v := min(satAdd(decayed, inc), one); v > 0 {
					r = append(r, cell{c.col, v})
				}
			}
			out[i] = r
		}
	})
	return out
}

// alphaSigmoid is subtensor's alpha_sigmoid ("Liquid Alpha 2.0"): a bond
// moves fast when the weight leads consensus (buy) or drops below the bond
// (sell). slope is steepness / −100.
func alphaSigmoid(consensus, weight, bond, low, high, slope fix, memo *expMemo) fix {
	buy := clamp(satSub(weight, consensus), 0, one)
	sell := clamp(satSub(bond, weight), 0, one)
	d := sell
	if weight >= bond {
		d = buy
	}
	sig := satDiv(one, satAdd(one, memo.expSafe(mul(slope, satSub(d, half)))))
	return clamp(satAdd(low, mul(sig, satSub(high, low))), low, high)
}

// expMemo remembers recent expSafe results. Liquid alpha evaluates the same
// argument for most entries (every weight that agrees with consensus), and
// the 30-term series is the epoch's most expensive step.
type expMemo struct {
	arg, val [64]fix
	ok       [64]bool
}

func (m *expMemo) expSafe(x fix) fix {
	k := uint64(x) * 0x9E3779B97F4A7C15 >> 58
	if m.ok[k] && m.arg[k] == x {
		return m.val[k]
	}
	v := expSafe(x)
	m.arg[k], m.val[k], m.ok[k] = x, v, true
	return v
}

// topKNonzero marks the k largest positive values (is_topk_nonzero): ties go
// to the higher index, as subtensor's stable ascending sort leaves them.
func topKNonzero(v []fix, k int) []bool {
	out := make([]bool, len(v))
	for i, x := range v {
		out[i] = x != 0
	}
	if len(v) < k {
		return out
	}
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(v[a], v[b]) })
	for _, i := range idx[:len(v)-k] {
		out[i] = false
	}
	return out
}

// loadWeights returns the stored weights, each row sorted by column and
// normalised to sum to one (inplace_row_normalize_sparse), with subtensor's
// masks applied in its order before: rows of
// uids without a permit, self-weights (but the owner's), weights set before
// their target registered (last_update_i <= reg_j), and, with
// commit-reveal, weights on uids that registered after the setter's pending
// commit (commit_i < reg_j). Both registration masks keep an entry exactly
// when reg_j < min(last_update_i, commit_i + 1).
func loadWeights(in *Input, permits []bool, owner int, sp spans) matrix {
	return load(in.Weights, in.N, rowNormalized, in.BlockAtRegistration, owner, weightBound(in, permits), sp)
}

// weightBound is loadWeights' registration bound for each row.
func weightBound(in *Input, permits []bool) func(i int) uint64 {
	return func(i int) uint64 {
		if !permits[i] {
			return 0 // keeps nothing
		}
		bound := in.LastUpdate[i]
		if in.CommitBlocks != nil {
			bound = min(bound, satAddU64(in.CommitBlocks[i], 1))
		}
		return bound
	}
}

// loadBonds returns the stored bonds, as raw integers (classic) or as
// proportions of 65535 (Yuma3), without bonds on uids registered since the
// last epoch (last_tempo <= registration).
func loadBonds(in *Input, proportion bool, lastTempo uint64, sp spans) matrix {
	mode := raw
	if proportion {
		mode = proportions
	}
	return load(in.Bonds, in.N, mode, in.BlockAtRegistration, allDiagonal, func(int) uint64 { return lastTempo }, sp)
}

// loadMode is how load converts stored u16 values to fix.
type loadMode int

const (
	raw           loadMode = iota // the integer itself
	proportions                   // v/65535 (u16_proportion_to_fixed)
	rowNormalized                 // the integer, then each row divided by its sum
)

// allDiagonal tells load to keep self-entries.
const allDiagonal = -2

// load converts stored u16 rows to a column-sorted fixed-point matrix with
// n rows, carved from one allocation, a span of rows per goroutine. Row i keeps the entries whose target
// registered before bound(i) (reg[col] < bound(i)); unless keepDiag is
// allDiagonal, it also drops its self-entry, except on row keepDiag.
func load(rows [][]Entry, n int, mode loadMode, reg []uint64, keepDiag int, bound func(i int) uint64, sp spans) matrix {
	off := make([]int, n+1)
	for i := range n {
		off[i+1] = off[i]
		if i < len(rows) {
			off[i+1] += len(rows[i])
		}
	}
	backing := make([]cell, off[n])
	m := make(matrix, n)
	var newest uint64
	for _, b := range reg[:n] {
		newest = max(newest, b)
	}
	sp.run(func(_, lo, hi int) {
		for i := lo; i < hi && i < len(rows); i++ {
			m[i] = loadRow(backing[off[i]:off[i]:off[i+1]], rows[i], i, mode, reg, newest, keepDiag, bound(i))
		}
	})
	return m
}

// loadRow is load for row i, appending to r, which has room for the row.
// newest is the largest registration block: when it is below the row's
// bound, as in a subnet whose uids all registered before the row's last
// update, no entry needs its target's registration looked up.
func loadRow(r []cell, row []Entry, i int, mode loadMode, reg []uint64, newest uint64, keepDiag int, limit uint64) []cell {
	dropSelf := keepDiag != allDiagonal && i != keepDiag
	masked := newest >= limit
	sorted := true
	for _, e := range row {
		col := e.UID
		if (masked && reg[col] >= limit) || (dropSelf && int(col) == i) {
			continue
		}
		v := fromInt(int64(e.Value))
		if mode == proportions {
			v = safeDiv(v, u16Max)
		}
		if len(r) > 0 && uint32(col) < r[len(r)-1].col {
			sorted = false
		}
		r = append(r, cell{uint32(col), v})
	}
	if !sorted {
		slices.SortFunc(r, byCol)
	}
	if mode == rowNormalized {
		// While the row is in cache. The sum of at most MaxUIDs u16
		// integers cannot overflow.
		var s fix
		for _, c := range r {
			s += c.val
		}
		if s > 0 {
			for k := range r {
				r[k].val = frac(r[k].val, s)
			}
		}
	}
	return r
}

func byCol(a, b cell) int { return cmp.Compare(a.col, b.col) }

func toU16s(x []fix) []uint16 {
	out := make([]uint16, len(x))
	for i, v := range x {
		out[i] = proportionToU16(v)
	}
	return out
}

func scaleAll(x []fix, amount uint64) []uint64 {
	out := make([]uint64, len(x))
	for i, v := range x {
		out[i] = scaleU64(v, amount)
	}
	return out
}

func satAddU64(a, b uint64) uint64 {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxUint64
}

func satSubU64(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}
