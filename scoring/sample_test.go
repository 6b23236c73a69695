package scoring

import (
	"testing"

	"github.com/seed0ffb8d46/agora/llm"
)

// CheckReplay's decisions on replays built by hand; the real engine's
// replays of honest and forged answers are in the validator's tests.
func TestCheckReplay(t *testing.T) {
	ids := []int{10, 11, 12, 13}
	honest := func() *llm.Replay {
		r := &llm.Replay{}
		for _, id := range ids {
			r.Steps = append(r.Steps, llm.ReplayStep{Drawn: id, Logprob: -1})
		}
		return r
	}
	stopped := func(r *llm.Replay, drawn int, dist float32) *llm.Replay {
		r.Stopped = &llm.ReplayStep{Drawn: drawn, Dist: dist}
		return r
	}
	drawn := func(r *llm.Replay, i, id int, dist float32) *llm.Replay {
		r.Steps[i].Drawn, r.Steps[i].Dist = id, dist
		return r
	}
	full := SamplingParams{Temperature: 0.8, TopP: 0.9, MaxTokens: 4}
	room := SamplingParams{Temperature: 0.8, TopP: 0.9, MaxTokens: 8}
	pol := DefaultPolicy().Replay
	for _, tc := range []struct {
		name   string
		r      *llm.Replay
		ids    []int
		p      SamplingParams
		finish string
		reason string
		ties   int
	}{
		{"honest, full length", honest(), ids, full, llm.FinishLength, "", 0},
		{"honest, stopped by the model", stopped(honest(), llm.EOSID, 0), ids, room, llm.FinishStop, "", 0},
		{"honest, stopped on BOS", stopped(honest(), llm.BOSID, 0), ids, room, llm.FinishStop, "", 0},
		{"a near-tie on another CPU", drawn(honest(), 2, 77, 5e-5), ids, full, llm.FinishLength, "", 1},
		{"too many near-ties", drawn(drawn(drawn(honest(), 0, 70, 1e-5), 1, 71, 1e-5), 2, 72, 1e-5), ids, full, llm.FinishLength, SampleNotSampled, 3},
		{"a token the sampler does not draw", drawn(honest(), 1, 77, 0.2), ids, full, llm.FinishLength, SampleNotSampled, 0},
		{"goes on where the model stops", drawn(honest(), 3, llm.EOSID, 0.3), ids, full, llm.FinishLength, SampleSkippedStop, 0},
		{"truncated, claims a stop", stopped(honest(), 40, 0.4), ids, room, llm.FinishStop, SampleEarlyStop, 0},
		{"truncated, claims the length", stopped(honest(), 40, 0.4), ids, room, llm.FinishLength, SampleShort, 0},
		{"claims a stop at the context's end", honest(), ids, room, llm.FinishStop, SampleEarlyStop, 0},
		{"stop within a near-tie", stopped(honest(), 40, 1e-5), ids, room, llm.FinishStop, "", 1},
		{"more than asked", honest(), ids, SamplingParams{MaxTokens: 3}, llm.FinishLength, SampleTooLong, 0},
		{"no tokens", &llm.Replay{}, nil, full, llm.FinishLength, SampleNoTokens, 0},
		{"no finish reason", honest(), ids, full, "", SampleBadFinish, 0},
		{"replay of another length", &llm.Replay{Steps: honest().Steps[:2]}, ids, full, llm.FinishLength, SampleNoTokens, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := CheckReplay(tc.r, tc.ids, tc.p, tc.finish, pol)
			if v.OK != (tc.reason == "") || v.Reason != tc.reason || v.NearTies != tc.ties {
				t.Fatalf("verdict %+v, want reason %q with %d near-ties", v, tc.reason, tc.ties)
			}
			if !v.OK && v.Detail == "" {
				t.Fatal("a failure without a detail")
			}
			if v.OK && (v.MeanLogprob != -1 || v.Checked != len(tc.ids)) {
				t.Fatalf("mean log-probability %v over %d checked, want -1 over %d", v.MeanLogprob, v.Checked, len(tc.ids))
			}
		})
	}
}
