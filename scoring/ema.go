package scoring

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Scores are a validator's memory of its miners: per task kind, a moving
// average of each uid's scores. Only the uids queried are updated (a
// validator that queries a few miners per step does not decay the others),
// and a uid whose hotkey changes (deregistered, then taken by a newcomer)
// starts again from zero. Scores is a plain value for JSON: Validate checks
// one read from disk. Not safe for concurrent use.
type Scores struct {
	// Alpha is the weight of a new score: avg = (1-Alpha)·avg + Alpha·score.
	Alpha float64 `json:"alpha"`
	// Hotkeys[uid] is the hotkey whose scores Kinds[k][uid] are.
	Hotkeys []string `json:"hotkeys"`
	// Kinds maps a task kind to its averages by uid.
	Kinds map[string][]float64 `json:"kinds"`
	// Count[uid] is how many scores the uid has had, all kinds together.
	Count []uint64 `json:"count"`
	// Window is the current scoring window (the validator's epoch count);
	// Failed[uid] is 1 + the last window in which uid failed a hard check,
	// 0 if it never did. A uid that failed in the current window has a
	// combined score of 0 until the window ends.
	Window uint64   `json:"window"`
	Failed []uint64 `json:"failed"`
}

// NewScores returns empty scores with the given alpha, in (0, 1].
func NewScores(alpha float64) *Scores {
	return &Scores{Alpha: alpha, Kinds: map[string][]float64{}}
}

// Validate checks scores loaded from disk: alpha in (0, 1], every average
// in [0, 1], every row as long as Hotkeys.
func (s *Scores) Validate() error {
	if !(s.Alpha > 0 && s.Alpha <= 1) {
		return fmt.Errorf("scoring: scores: alpha %v is not in (0, 1]", s.Alpha)
	}
	if len(s.Count) != len(s.Hotkeys) {
		return fmt.Errorf("scoring: scores: %d counts for %d uids", len(s.Count), len(s.Hotkeys))
	}
	if s.Failed == nil { // a state file from before hard failures were kept
		s.Failed = make([]uint64, len(s.Hotkeys))
	}
	if len(s.Failed) != len(s.Hotkeys) {
		return fmt.Errorf("scoring: scores: %d failure records for %d uids", len(s.Failed), len(s.Hotkeys))
	}
	for k, row := range s.Kinds {
		if len(row) != len(s.Hotkeys) {
			return fmt.Errorf("scoring: scores: kind %q has %d uids, want %d", k, len(row), len(s.Hotkeys))
		}
		for uid, v := range row {
			if !(v >= 0 && v <= 1) {
				return fmt.Errorf("scoring: scores: kind %q uid %d: %v is not in [0, 1]", k, uid, v)
			}
		}
	}
	return nil
}

// Realign makes the scores follow the metagraph: hotkeys[uid] is each
// uid's hotkey now. A uid whose hotkey changed loses its scores; uids
// beyond the new size are dropped.
func (s *Scores) Realign(hotkeys []string) {
	n := len(hotkeys)
	for k, row := range s.Kinds {
		s.Kinds[k] = resize(row, n)
	}
	s.Count = resize(s.Count, n)
	s.Failed = resize(s.Failed, n)
	old := s.Hotkeys
	s.Hotkeys = slices.Clone(hotkeys)
	for uid := range n {
		if uid < len(old) && old[uid] == hotkeys[uid] {
			continue
		}
		for _, row := range s.Kinds {
			row[uid] = 0
		}
		s.Count[uid] = 0
		s.Failed[uid] = 0
	}
}

func resize[T any](row []T, n int) []T {
	if len(row) >= n {
		return row[:n]
	}
	return append(row, make([]T, n-len(row))...)
}

// ErrUnknownUID is Update's error for a uid outside the metagraph.
var ErrUnknownUID = errors.New("scoring: uid not in the metagraph")

// Update folds score, clamped to [0, 1] (NaN counts as 0), into uid's
// moving average of kind.
func (s *Scores) Update(kind string, uid int, score float64) error {
	if uid < 0 || uid >= len(s.Hotkeys) {
		return fmt.Errorf("%w: uid %d of %d", ErrUnknownUID, uid, len(s.Hotkeys))
	}
	if math.IsNaN(score) {
		score = 0
	}
	score = min(max(score, 0), 1)
	row, ok := s.Kinds[kind]
	if !ok {
		row = make([]float64, len(s.Hotkeys))
		s.Kinds[kind] = row
	}
	row[uid] = (1-s.Alpha)*row[uid] + s.Alpha*score
	s.Count[uid]++
	return nil
}

// SetWindow moves the scores to window w (windows only move forward).
func (s *Scores) SetWindow(w uint64) { s.Window = max(s.Window, w) }

// Fail records that uid failed a hard check: every one of its averages
// restarts from 0, and its combined score is 0 for the rest of the
// current window. A miner that cheats on part of its work keeps nothing
// of the window it cheated in.
func (s *Scores) Fail(uid int) error {
	if uid < 0 || uid >= len(s.Hotkeys) {
		return fmt.Errorf("%w: uid %d of %d", ErrUnknownUID, uid, len(s.Hotkeys))
	}
	for _, row := range s.Kinds {
		row[uid] = 0
	}
	s.Count[uid]++
	s.Failed[uid] = s.Window + 1
	return nil
}

// FailedNow reports whether uid failed a hard check in the current window.
func (s *Scores) FailedNow(uid int) bool {
	return uid >= 0 && uid < len(s.Failed) && s.Failed[uid] == s.Window+1
}

// Combined returns each uid's score: the weighted mean over kinds of its
// averages, with weights[kind] (kinds without a weight count 0), and 0 for
// a uid that failed a hard check in the current window. All zero when no
// kind has a weight.
func (s *Scores) Combined(weights map[string]float64) []float64 {
	out := make([]float64, len(s.Hotkeys))
	var total float64
	kinds := make([]string, 0, len(s.Kinds))
	for k := range s.Kinds {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds) // a fixed float summation order
	for _, k := range kinds {
		w := weights[k]
		if w <= 0 {
			continue
		}
		total += w
		for uid, v := range s.Kinds[k] {
			out[uid] += w * v
		}
	}
	for i := range out {
		if total > 0 {
			out[i] /= total
		}
		if s.FailedNow(i) {
			out[i] = 0
		}
	}
	return out
}
