package rlhf

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on the size of a label's fields, in bytes of UTF-8. They bound a
// stored record (see maxRecordBytes) and what a labeler can make a miner
// keep.
const (
	// MaxIDBytes bounds Label.TaskID, Label.LabelerID and Label.Miner.
	MaxIDBytes = 256
	// MaxRationaleBytes bounds Label.Rationale.
	MaxRationaleBytes = 4096
)

// Choice is a labeler's verdict on a task, in the task's terms: ChoiceA
// means Task.CompletionA is better whichever side of the screen it was
// shown on (Label.ShownALeft says that).
type Choice string

// The four verdicts. Only ChoiceA and ChoiceB are preference pairs.
const (
	ChoiceA       Choice = "a"
	ChoiceB       Choice = "b"
	ChoiceTie     Choice = "tie"
	ChoiceBothBad Choice = "both_bad"
)

// Validate returns an error unless c is one of the four choices, spelled
// exactly (lower case).
func (c Choice) Validate() error {
	switch c {
	case ChoiceA, ChoiceB, ChoiceTie, ChoiceBothBad:
		return nil
	}
	return fmt.Errorf("choice %q is not one of a, b, tie, both_bad", string(c))
}

// Task is one pairwise preference question: which of two completions of a
// prompt is better. A validator makes it and sends it to a miner, whose
// labelers answer it with Labels.
//
// Trap and TrapAnswer are the validator's secret: a trap is a task whose
// answer the validator knows (a gold question) and uses to measure a
// labeler's quality. They must stay on the validator side, so both carry
// the json:"-" tag: the JSON form of a Task, which is what goes to miners,
// never contains them, and a Task decoded from JSON has Trap false. A
// validator that stores its own tasks keeps these two fields next to them
// (or uses another encoding); a miner never has them.
type Task struct {
	// ID names the task uniquely among a validator's tasks.
	ID string `json:"id"`
	// Prompt is the user turn both completions answer.
	Prompt string `json:"prompt"`
	// CompletionA and CompletionB are the two answers being compared.
	CompletionA string `json:"completion_a"`
	CompletionB string `json:"completion_b"`
	// ModelA and ModelB name the models that wrote them ("" if unknown).
	ModelA string `json:"model_a,omitempty"`
	ModelB string `json:"model_b,omitempty"`
	// Validator is the issuing validator's hotkey: 64 hex digits of its
	// ed25519 public key or its agora1... address.
	Validator string `json:"validator"`
	// Deadline is when the validator stops accepting labels for the task.
	Deadline time.Time `json:"deadline"`
	// Trap marks a gold question; validator side only (see the type's doc).
	Trap bool `json:"-"`
	// TrapAnswer is the known answer of a trap, "" otherwise; validator
	// side only (see the type's doc).
	TrapAnswer Choice `json:"-"`
	// CreatedAt is when the validator made the task.
	CreatedAt time.Time `json:"created_at"`
}

// Validate checks that t is complete: an ID, a prompt, two completions, a
// validator that looks like a hotkey (hex or agora1 address; the signature
// layer checks that it is a real key), and a trap answer exactly when t is
// a trap.
func (t *Task) Validate() error {
	switch {
	case t.ID == "":
		return errors.New("task: empty id")
	case len(t.ID) > MaxIDBytes:
		return fmt.Errorf("task %q: id is %d bytes, more than %d", t.ID[:32], len(t.ID), MaxIDBytes)
	case t.Prompt == "":
		return fmt.Errorf("task %q: empty prompt", t.ID)
	case t.CompletionA == "" || t.CompletionB == "":
		return fmt.Errorf("task %q: empty completion", t.ID)
	case !validatorLike(t.Validator):
		return fmt.Errorf("task %q: validator %q is neither 64 hex digits nor an agora1 address", t.ID, t.Validator)
	}
	if t.Trap {
		if err := t.TrapAnswer.Validate(); err != nil {
			return fmt.Errorf("task %q: trap answer: %w", t.ID, err)
		}
	} else if t.TrapAnswer != "" {
		return fmt.Errorf("task %q: trap answer %q on a task that is not a trap", t.ID, t.TrapAnswer)
	}
	return nil
}

// validatorLike reports whether s has the shape of a hotkey: 64 hex digits
// or "agora1" and 58 bech32 characters (keys.AddressLength is 64).
func validatorLike(s string) bool {
	if len(s) != 64 {
		return false
	}
	if _, err := hex.DecodeString(s); err == nil {
		return true
	}
	rest, ok := strings.CutPrefix(strings.ToLower(s), "agora1")
	if !ok {
		return false
	}
	for _, c := range rest {
		if !strings.ContainsRune("qpzry9x8gf2tvdw0s3jn54khce6mua7l", c) {
			return false
		}
	}
	return true
}

// Label is one labeler's answer to one task, as a miner receives it from
// its labelling page. (TaskID, LabelerID) identifies it: a labeler answers
// a task once, and a Store keeps the first answer.
type Label struct {
	// TaskID is the Task.ID answered.
	TaskID string `json:"task_id"`
	// LabelerID is the miner's name for the labeler (from its token).
	LabelerID string `json:"labeler_id"`
	// Choice is the verdict, in the task's terms (A is Task.CompletionA).
	Choice Choice `json:"choice"`
	// Rationale is the labeler's optional explanation, at most
	// MaxRationaleBytes bytes of UTF-8.
	Rationale string `json:"rationale,omitempty"`
	// TimeOnTaskMs is how long the task was on screen, in milliseconds.
	TimeOnTaskMs int64 `json:"time_on_task_ms"`
	// ShownALeft is true if CompletionA was shown on the left, so position
	// bias can be measured.
	ShownALeft bool `json:"shown_a_left"`
	// Miner is the hotkey of the miner whose page took the label.
	Miner string `json:"miner"`
	// ReceivedAt is when the miner received the label. A Store keeps it in
	// UTC without a monotonic reading.
	ReceivedAt time.Time `json:"received_at"`
}

// Validate returns an error naming the first field of l that is wrong:
// empty or overlong ids, a choice that is not one of the four, a rationale
// over MaxRationaleBytes, text that is not UTF-8, a negative time on task,
// or a zero (or unencodable) ReceivedAt.
func (l *Label) Validate() error {
	for _, f := range []struct{ name, v string }{{"task id", l.TaskID}, {"labeler id", l.LabelerID}, {"miner", l.Miner}} {
		switch {
		case f.v == "":
			return fmt.Errorf("label: empty %s", f.name)
		case len(f.v) > MaxIDBytes:
			return fmt.Errorf("label: %s is %d bytes, more than %d", f.name, len(f.v), MaxIDBytes)
		case !utf8.ValidString(f.v):
			return fmt.Errorf("label: %s is not UTF-8", f.name)
		}
	}
	if err := l.Choice.Validate(); err != nil {
		return fmt.Errorf("label: %w", err)
	}
	if len(l.Rationale) > MaxRationaleBytes {
		return fmt.Errorf("label: rationale is %d bytes, more than %d", len(l.Rationale), MaxRationaleBytes)
	}
	if !utf8.ValidString(l.Rationale) {
		return errors.New("label: rationale is not UTF-8")
	}
	if l.TimeOnTaskMs < 0 {
		return fmt.Errorf("label: time on task %d ms is negative", l.TimeOnTaskMs)
	}
	if l.ReceivedAt.IsZero() {
		return errors.New("label: zero received_at")
	}
	if y := l.ReceivedAt.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("label: received_at year %d is outside 1..9999", y)
	}
	return nil
}

// key is the identity of a label in a Store.
type key struct{ task, labeler string }

func (l *Label) key() key { return key{l.TaskID, l.LabelerID} }
