package api

import "time"

// ValidatorScores is what a validator answers at GET PathScores: its latest
// score of each uid it has scored. The validator serves it; the dashboard
// shows it.
//
//	{"hotkey": "…", "uid": 3, "updated": "2026-01-02T15:04:05Z",
//	 "scores": [{"uid": 0, "hotkey": "…", "score": 0.82, "scored": 42,
//	             "by_kind": {"inference": 0.86, "reference": 0.34, "preference": 0.76},
//	             "last_reason": "inference: scored",
//	             "reasons": {"scored": 40, "timeout": 2}}]}
type ValidatorScores struct {
	// Hotkey is the validator's hotkey (hex, as the chain shows it).
	Hotkey string `json:"hotkey"`
	// UID is the validator's uid on the subnet, -1 if it is not
	// registered.
	UID int `json:"uid"`
	// Scores are by uid, one entry per uid scored.
	Scores []UIDScore `json:"scores"`
	// Updated is when the scores last changed.
	Updated time.Time `json:"updated"`
}

// UIDScore is a validator's score of one uid.
type UIDScore struct {
	UID    uint16 `json:"uid"`
	Hotkey string `json:"hotkey"`
	// Score is the moving average the weights come from, in [0, 1]: 0
	// while FailedEpoch, whatever ByKind shows.
	Score float64 `json:"score"`
	// Scored is how many of the uid's answers the moving averages rest
	// on, all kinds together; kept with them across restarts (Reasons
	// counts only since the validator started).
	Scored uint64 `json:"scored"`
	// FailedEpoch is whether the uid failed a hard check (a "sample_"
	// reason, "undeclared_model", "copy") in the current epoch: its score
	// is 0 until the next epoch, even after answers that pass.
	FailedEpoch bool `json:"failed_epoch,omitempty"`
	// ByKind is the moving average of each kind of task the validator
	// weighs ("inference", "reference", "preference"), each in [0, 1].
	ByKind map[string]float64 `json:"by_kind,omitempty"`
	// LastReason is the task kind and why the latest response scored as
	// it did, with where a check failed: "inference: scored",
	// "reference: sample_not_sampled (token 6 is id 8; the sampler draws
	// id 14 there with this seed)", "inference: timeout (...)".
	LastReason string `json:"last_reason,omitempty"`
	// Reasons counts the responses by reason: "scored" (passed every
	// check); "undeclared_model", "copy" or "sample_" and a
	// scoring.SampleVerdict reason (hard failures, which cost the miner the
	// epoch); or why no answer came ("timeout", "unreachable",
	// "status_503", "bad_signature", ...).
	Reasons map[string]uint64 `json:"reasons,omitempty"`
	// Labelers is how the validator last judged each of the uid's
	// labelers: the quality of their labels and what held it down.
	Labelers []LabelerScore `json:"labelers,omitempty"`
}

// LabelerScore is a validator's judgement of one labeler of a miner.
type LabelerScore struct {
	// Labeler is the labeler's name on its miner's page.
	Labeler string `json:"labeler"`
	// Labels is how many of its labels the judgement rests on.
	Labels int `json:"labels"`
	// Score is the quality of its labels in [0, 1]; the miner's label
	// score is the label-weighted mean of its labelers'.
	Score float64 `json:"score"`
	// Reasons say what held Score down, most important first, such as
	// "traps 4/12" or "position bias 0.95 left"; none for a labeler
	// judged fully careful.
	Reasons []string `json:"reasons,omitempty"`
}
