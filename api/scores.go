package api

import "time"

// ValidatorScores is what a validator answers at GET PathScores: its latest
// score of each uid it has scored. The validator serves it; the dashboard
// shows it.
//
//	{"hotkey": "…", "uid": 3, "updated": "2026-01-02T15:04:05Z",
//	 "scores": [{"uid": 0, "hotkey": "…", "score": 0.82,
//	             "by_kind": {"reference": 0.9, "preference": 0.7},
//	             "last_reason": "ok", "reasons": {"ok": 40, "copy": 3}}]}
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
	// Score is the moving average the weights come from, in [0, 1].
	Score float64 `json:"score"`
	// ByKind is the moving average of each kind of task (such as
	// "reference", "verification", "preference"), each in [0, 1].
	ByKind map[string]float64 `json:"by_kind,omitempty"`
	// LastReason is why the latest response scored as it did (such as
	// "ok", "wrong", "copy", "timeout").
	LastReason string `json:"last_reason,omitempty"`
	// Reasons counts the responses by reason.
	Reasons map[string]uint64 `json:"reasons,omitempty"`
}
