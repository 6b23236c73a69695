package scoring

import (
	"cmp"
	"slices"
)

// LabelTiming is what a validator knows of when one label was made: by its
// own clock, when it sent the task to the miner (SentMs) and when it first
// held the label (GotMs); by the miner's word, how long the labeler spent
// (ClaimedMs, measured by the labelling page) and when the label arrived
// (ReceivedMs, the miner's clock). Times are Unix milliseconds.
type LabelTiming struct {
	Labeler       string
	SentMs, GotMs int64
	ClaimedMs     int64
	ReceivedMs    int64
}

// ClockSkewMs is how far a miner's clock may be from the validator's
// before its receipt times count as false.
const ClockSkewMs = 5_000

// ServerTimes returns, for each label, the time on task the validator
// accepts: the page's claim, cut to what the validator's own clock allows.
// One labeler works on one task at a time, so its labels are laid end to
// end: those the validator got together (one collection) share the time
// from when the first of them was sent, or the labeler was done with its
// previous ones, to when the validator held them, in proportion to their
// claims. A labeler that clicks through tasks in a blink has little time
// per label however long its page says it took.
//
// busy carries each labeler's end of work across calls (the end of its
// last collection) and is updated; nil starts everyone idle.
func ServerTimes(ts []LabelTiming, busy map[string]int64) []int64 {
	if busy == nil {
		busy = map[string]int64{}
	}
	out := make([]int64, len(ts))
	order := make([]int, len(ts))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ta, tb := ts[a], ts[b]
		return cmp.Or(cmp.Compare(ta.Labeler, tb.Labeler), cmp.Compare(ta.GotMs, tb.GotMs))
	})
	for len(order) > 0 {
		// One collection of one labeler: the same labeler, got together.
		n := 1
		for n < len(order) && ts[order[n]].Labeler == ts[order[0]].Labeler && ts[order[n]].GotMs == ts[order[0]].GotMs {
			n++
		}
		group := order[:n]
		order = order[n:]
		first, got := ts[group[0]].SentMs, ts[group[0]].GotMs
		var claimed int64
		for _, i := range group {
			first = min(first, ts[i].SentMs)
			claimed += max(ts[i].ClaimedMs, 0)
		}
		who := ts[group[0]].Labeler
		start := max(first, busy[who])
		window := max(got-start, 0)
		var used int64
		for _, i := range group {
			c := max(ts[i].ClaimedMs, 0)
			if claimed > window {
				c = c * window / claimed // in proportion to the claims
			}
			out[i] = c
			used += c
		}
		busy[who] = start + used
	}
	return out
}
