package api

import "time"

// MaxPreferenceTasks bounds the tasks in one PreferenceTasks body; a
// PreferenceLabelsRequest or PreferenceResults may name at most four times
// as many.
const MaxPreferenceTasks = 256

// TaskPrefix is how a validator's task ids must start: its hotkey in hex
// and a colon. A miner serves a task's labels only to the validator whose
// prefix it bears, so validators cannot read each other's labels.
func TaskPrefix(validatorHex string) string { return validatorHex + ":" }

// PreferenceTask is one pairwise preference question as a miner receives
// it: which of two completions of a prompt is better. It carries nothing a
// validator keeps secret (whether it is a trap, and the trap's answer): a
// miner and its labelers see every task alike.
type PreferenceTask struct {
	// ID names the task among its validator's tasks; it starts with the
	// validator's TaskPrefix.
	ID string `json:"id"`
	// Prompt is the user turn both completions answer.
	Prompt string `json:"prompt"`
	// CompletionA and CompletionB are the two answers being compared.
	CompletionA string `json:"completion_a"`
	CompletionB string `json:"completion_b"`
	// ModelA and ModelB name the models that wrote them; a validator
	// sends them empty (blind), or a trap would show.
	ModelA string `json:"model_a,omitempty"`
	ModelB string `json:"model_b,omitempty"`
	// Validator is the issuing validator's hotkey (64 hex digits); the
	// miner replaces it with the request's signer.
	Validator string `json:"validator"`
	// Deadline is when the validator stops accepting labels for the task.
	Deadline time.Time `json:"deadline"`
	// CreatedAt is when the validator made the task.
	CreatedAt time.Time `json:"created_at"`
}

// PreferenceTasks is the body of POST PathPreferenceTasks.
type PreferenceTasks struct {
	Tasks []PreferenceTask `json:"tasks"`
}

// PreferenceLabelsRequest is the body of POST PathPreferenceLabels: the
// ids of tasks the caller sent whose labels it wants.
type PreferenceLabelsRequest struct {
	TaskIDs []string `json:"task_ids"`
}

// PreferenceLabel is one labeler's verdict on one task.
type PreferenceLabel struct {
	// TaskID is the PreferenceTask.ID answered.
	TaskID string `json:"task_id"`
	// LabelerID is the miner's name for the labeler.
	LabelerID string `json:"labeler_id"`
	// Choice is "a" (CompletionA is better, whichever side it was shown
	// on), "b", "tie" or "both_bad".
	Choice string `json:"choice"`
	// Rationale is the labeler's optional explanation.
	Rationale string `json:"rationale,omitempty"`
	// TimeOnTaskMs is how long the task was on screen, in milliseconds.
	TimeOnTaskMs int64 `json:"time_on_task_ms"`
	// ShownALeft is whether CompletionA was shown on the left, so that
	// position bias can be measured.
	ShownALeft bool `json:"shown_a_left"`
	// Miner is the hotkey of the miner whose page took the label.
	Miner string `json:"miner"`
	// ReceivedAt is when the miner received the label.
	ReceivedAt time.Time `json:"received_at"`
}

// PreferenceLabels is the answer of PathPreferenceLabels: every stored
// label of the tasks asked for.
type PreferenceLabels struct {
	Labels []PreferenceLabel `json:"labels"`
}

// TrapResult is a validator's verdict on one label of one of its traps.
type TrapResult struct {
	TaskID    string `json:"task_id"`
	LabelerID string `json:"labeler_id"`
	Correct   bool   `json:"correct"`
}

// PreferenceResults is the body of POST PathPreferenceResults: the
// outcomes of the caller's traps, which the labelers see as their own
// accuracy.
type PreferenceResults struct {
	Results []TrapResult `json:"results"`
}
