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
// accepts: the page's claim, capped by what the validator's own clock
// allows. One labeler works on one task at a time, so its labels, in the
// order the validator got them (then by the miner's receipt times), are
// laid end to end: label i starts when both its task was sent and the
// labeler's previous label was done, and ends by the time the validator
// held it. A claim longer than that window is cut to it; a labeler that
// clicks through tasks in a blink has little time left per label however
// long its page says it took. A label whose receipt time lies outside
// [SentMs, GotMs] (beyond ClockSkewMs) is the miner's false word: 0.
//
// busy carries each labeler's end of work across calls (the end of its
// last label) and is updated; nil starts everyone idle.
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
		return cmp.Or(cmp.Compare(ta.Labeler, tb.Labeler), cmp.Compare(ta.GotMs, tb.GotMs), cmp.Compare(ta.ReceivedMs, tb.ReceivedMs))
	})
	for _, i := range order {
		t := ts[i]
		if t.ReceivedMs != 0 && (t.ReceivedMs < t.SentMs-ClockSkewMs || t.ReceivedMs > t.GotMs+ClockSkewMs) {
			continue // out[i] = 0: the miner's receipt time is false
		}
		start := max(t.SentMs, busy[t.Labeler])
		end := min(start+max(t.ClaimedMs, 0), t.GotMs)
		if end < start {
			end = start
		}
		out[i] = end - start
		busy[t.Labeler] = end
	}
	return out
}
