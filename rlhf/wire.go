package rlhf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
)

// The websocket protocol between a labelling page and a Hub.
//
// Every message is one JSON object in one text frame, with "v" (the
// protocol version, WireVersion) and "type". A client may give any message
// an "id" (at most MaxMessageIDBytes); the server's answer to that message
// (ack, error, pong) carries it back as "ref".
//
// Client to server:
//
//	{"v":1,"type":"auth","id":"m1","token":"agl_..."}          first message: sign in
//	{"v":1,"type":"label","id":"m2","task_id":"t1","choice":"left",
//	 "rationale":"...","time_on_task_ms":5300}                  answer the task on screen
//	{"v":1,"type":"resume","id":"m3"}                           send me my task (again)
//	{"v":1,"type":"ping","id":"m4"}                             answered by pong
//
// choice is what the labeler saw: "left" (the left completion is better),
// "right", "tie" or "both_bad". The hub maps left and right to a and b
// with the order it showed; the page never learns which is which.
//
// Server to client:
//
//	{"v":1,"type":"hello","labeler":"alice","stats":{...}}     signed in
//	{"v":1,"type":"task","task":{"id","prompt","left","right","deadline"}}
//	{"v":1,"type":"wait"}                                       no task now; one will come
//	{"v":1,"type":"ack","ref":"m2","task_id":"t1","stored":true,"stats":{...}}
//	{"v":1,"type":"error","ref":"m2","code":"bad_choice","message":"..."}
//	{"v":1,"type":"stats","stats":{"labeled":12,"traps_resolved":4,"traps_correct":3,"trap_accuracy":0.75}}
//	{"v":1,"type":"pong","ref":"m4"}
//
// An ack is sent only after the label is fsynced in the Store. A task
// carries no model names, validator or trap flag: only what the labeler
// needs to judge it.

// WireVersion is the protocol version, the "v" of every message.
const WireVersion = 1

// Limits of client messages.
const (
	// MaxMessageIDBytes bounds a client message's "id".
	MaxMessageIDBytes = 64
	// MaxTokenBytes bounds an auth message's token.
	MaxTokenBytes = 256
	// MaxTimeOnTaskMs bounds a label's time on task: 24 hours.
	MaxTimeOnTaskMs = 24 * 60 * 60 * 1000
)

// Client message types.
const (
	// MsgAuth signs in with a labeler token.
	MsgAuth = "auth"
	// MsgLabel answers a task.
	MsgLabel = "label"
	// MsgResume asks for the labeler's task: the one on screen again, or
	// a new one. The hub sends tasks only after the first resume.
	MsgResume = "resume"
	// MsgPing asks for a pong, to check the connection.
	MsgPing = "ping"
)

// Server message types.
const (
	// MsgHello answers a good auth, with the labeler's name and stats.
	MsgHello = "hello"
	// MsgTask carries the task to answer.
	MsgTask = "task"
	// MsgWait says there is no task now; a task message follows when
	// one arrives.
	MsgWait = "wait"
	// MsgAck says a label is stored (fsynced), with updated stats.
	MsgAck = "ack"
	// MsgError answers a message the hub could not accept.
	MsgError = "error"
	// MsgStats carries the labeler's stats when they change otherwise.
	MsgStats = "stats"
	// MsgPong answers a ping.
	MsgPong = "pong"
)

// Verdict is a labeler's answer as the page sends it, in terms of the
// screen: which side was better.
type Verdict string

// The four verdicts of the page.
const (
	VerdictLeft    Verdict = "left"
	VerdictRight   Verdict = "right"
	VerdictTie     Verdict = "tie"
	VerdictBothBad Verdict = "both_bad"
)

// Choice maps v to a Choice in the task's terms, given whether
// CompletionA was shown on the left.
func (v Verdict) Choice(aLeft bool) (Choice, error) {
	switch v {
	case VerdictLeft, VerdictRight:
		if (v == VerdictLeft) == aLeft {
			return ChoiceA, nil
		}
		return ChoiceB, nil
	case VerdictTie:
		return ChoiceTie, nil
	case VerdictBothBad:
		return ChoiceBothBad, nil
	}
	return "", fmt.Errorf("choice %q is not one of left, right, tie, both_bad", string(v))
}

// ErrorCode names what was wrong with a client message, in an error
// message. The page acts on some of them; Message is for people.
type ErrorCode string

// The error codes of the protocol.
const (
	// CodeBadJSON: not one JSON object of known fields with the right
	// types, or not a text frame.
	CodeBadJSON ErrorCode = "bad_json"
	// CodeBadVersion: "v" is missing or not WireVersion.
	CodeBadVersion ErrorCode = "bad_version"
	// CodeUnknownType: "type" is missing or not a client message type.
	CodeUnknownType ErrorCode = "unknown_type"
	// CodeBadMessage: a field is missing, too long, out of range, or does
	// not belong to the message's type.
	CodeBadMessage ErrorCode = "bad_message"
	// CodeBadChoice: a label's choice is not left, right, tie or both_bad.
	CodeBadChoice ErrorCode = "bad_choice"
	// CodeRationaleTooLong: a label's rationale is over MaxRationaleBytes.
	CodeRationaleTooLong ErrorCode = "rationale_too_long"
	// CodeNotAuthenticated: a label or resume before a successful auth.
	CodeNotAuthenticated ErrorCode = "not_authenticated"
	// CodeAuthFailed: the token is unknown or revoked. The server closes
	// the connection after it, with close code CloseAuthFailed.
	CodeAuthFailed ErrorCode = "auth_failed"
	// CodeAlreadyAuthenticated: a second auth on one connection.
	CodeAlreadyAuthenticated ErrorCode = "already_authenticated"
	// CodeTooManyConnections: the token is signed in on as many
	// connections as the hub allows (HubConfig.MaxConnsPerToken). The
	// server closes the connection after it, with close code
	// CloseTooManyConnections.
	CodeTooManyConnections ErrorCode = "too_many_connections"
	// CodeUnknownTask: the miner does not hold the task (never sent,
	// finished by others, or dropped).
	CodeUnknownTask ErrorCode = "unknown_task"
	// CodeNotAssigned: the task was never handed to this labeler.
	CodeNotAssigned ErrorCode = "not_assigned"
	// CodeTaskExpired: the task's deadline has passed.
	CodeTaskExpired ErrorCode = "task_expired"
	// CodeDuplicate: the labeler already answered the task differently
	// (an identical re-send is acknowledged instead).
	CodeDuplicate ErrorCode = "duplicate"
	// CodeInternal: the miner could not store the label; send it again.
	CodeInternal ErrorCode = "internal"
)

// Websocket close codes the hub uses besides the standard ones.
const (
	// CloseAuthFailed closes a connection whose token was refused or
	// revoked. A page should ask for a token rather than reconnect.
	CloseAuthFailed = 4001
	// CloseAuthTimeout closes a connection that sent no auth in time.
	CloseAuthTimeout = 4008
	// CloseTooSlow closes a connection that does not read its messages.
	CloseTooSlow = 4009
	// CloseTooManyConnections closes a connection whose token is signed
	// in on too many others. A page should say so rather than reconnect.
	CloseTooManyConnections = 4029
)

// ClientMessage is a decoded message from a labelling page. Which fields
// are set depends on Type; DecodeClientMessage checks that.
type ClientMessage struct {
	// V is the protocol version, WireVersion.
	V int `json:"v"`
	// Type is one of MsgAuth, MsgLabel, MsgResume, MsgPing.
	Type string `json:"type"`
	// ID is the client's name for the message (optional), echoed as Ref.
	ID string `json:"id,omitempty"`
	// Token is the labeler token (auth only).
	Token string `json:"token,omitempty"`
	// TaskID is the task answered (label only).
	TaskID string `json:"task_id,omitempty"`
	// Choice is the verdict in screen terms (label only).
	Choice Verdict `json:"choice,omitempty"`
	// Rationale is the labeler's optional reason (label only).
	Rationale string `json:"rationale,omitempty"`
	// TimeOnTaskMs is the active time spent on the task, in milliseconds
	// (label only).
	TimeOnTaskMs int64 `json:"time_on_task_ms,omitempty"`
}

// WireError is a protocol error: what the server sends back in an error
// message.
type WireError struct {
	// Code says what was wrong.
	Code ErrorCode
	// Message says it for people.
	Message string
	// Ref is the offending message's id, if it had a readable one.
	Ref string
}

// Error returns the code and message.
func (e *WireError) Error() string { return string(e.Code) + ": " + e.Message }

// DecodeClientMessage decodes and checks one client message. It accepts
// exactly one JSON object with known fields of the right types and
// nothing after it, and returns a *WireError (with the message's id as
// Ref when it can be read) for anything else, or for a message that fails
// Validate. It never panics; a message it accepts passes Validate.
func DecodeClientMessage(b []byte) (ClientMessage, error) {
	var m ClientMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err := dec.Decode(&m)
	if err == nil {
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			err = errors.New("data after the JSON object")
		}
	}
	if err != nil {
		return ClientMessage{}, &WireError{Code: CodeBadJSON, Message: "not a valid message: " + err.Error(), Ref: readableID(b)}
	}
	if err := m.Validate(); err != nil {
		return ClientMessage{}, err
	}
	return m, nil
}

// readableID digs the "id" out of a message that failed to decode, if it
// is a string within MaxMessageIDBytes.
func readableID(b []byte) string {
	var probe struct {
		ID json.RawMessage `json:"id"`
	}
	if json.NewDecoder(bytes.NewReader(b)).Decode(&probe) != nil {
		return ""
	}
	var id string
	if json.Unmarshal(probe.ID, &id) != nil || len(id) > MaxMessageIDBytes || !utf8.ValidString(id) {
		return ""
	}
	return id
}

// Validate checks m as the server requires it, returning a *WireError:
// version, known type, an id within MaxMessageIDBytes, the fields of its
// type and no others (auth: a token of 1..MaxTokenBytes; label: a task id
// of 1..MaxIDBytes, a verdict, a rationale within MaxRationaleBytes, a
// time on task in 0..MaxTimeOnTaskMs; resume and ping: nothing), and
// valid UTF-8 throughout.
func (m *ClientMessage) Validate() error {
	ref := m.ID
	if len(ref) > MaxMessageIDBytes || !utf8.ValidString(ref) {
		ref = ""
	}
	bad := func(code ErrorCode, format string, args ...any) error {
		return &WireError{Code: code, Message: fmt.Sprintf(format, args...), Ref: ref}
	}
	if m.V != WireVersion {
		return bad(CodeBadVersion, "protocol version %d, want %d (reload the page)", m.V, WireVersion)
	}
	if len(m.ID) > MaxMessageIDBytes {
		return bad(CodeBadMessage, "id is %d bytes, more than %d", len(m.ID), MaxMessageIDBytes)
	}
	for _, s := range []string{m.Type, m.ID, m.Token, m.TaskID, string(m.Choice), m.Rationale} {
		if !utf8.ValidString(s) {
			return bad(CodeBadMessage, "text is not UTF-8")
		}
	}
	labelFields := m.TaskID != "" || m.Choice != "" || m.Rationale != "" || m.TimeOnTaskMs != 0
	switch m.Type {
	case MsgAuth:
		switch {
		case m.Token == "":
			return bad(CodeBadMessage, "auth without a token")
		case len(m.Token) > MaxTokenBytes:
			return bad(CodeBadMessage, "token is %d bytes, more than %d", len(m.Token), MaxTokenBytes)
		case labelFields:
			return bad(CodeBadMessage, "auth carries label fields")
		}
	case MsgLabel:
		switch {
		case m.Token != "":
			return bad(CodeBadMessage, "label carries a token")
		case m.TaskID == "":
			return bad(CodeBadMessage, "label without a task_id")
		case len(m.TaskID) > MaxIDBytes:
			return bad(CodeBadMessage, "task_id is %d bytes, more than %d", len(m.TaskID), MaxIDBytes)
		case len(m.Rationale) > MaxRationaleBytes:
			return bad(CodeRationaleTooLong, "rationale is %d bytes, more than %d", len(m.Rationale), MaxRationaleBytes)
		case m.TimeOnTaskMs < 0 || m.TimeOnTaskMs > MaxTimeOnTaskMs:
			return bad(CodeBadMessage, "time_on_task_ms %d is outside 0..%d", m.TimeOnTaskMs, MaxTimeOnTaskMs)
		}
		if _, err := m.Choice.Choice(true); err != nil {
			return bad(CodeBadChoice, "%v", err)
		}
	case MsgResume, MsgPing:
		if m.Token != "" || labelFields {
			return bad(CodeBadMessage, "%s carries fields it does not have", m.Type)
		}
	default:
		t := m.Type
		if len(t) > 32 {
			t = t[:32] + "..."
		}
		return bad(CodeUnknownType, "unknown message type %q", t)
	}
	return nil
}

// ServerMessage is a message from a Hub to a labelling page. Type says
// which fields are set (see the protocol at the top of wire.go).
type ServerMessage struct {
	// V is the protocol version, WireVersion.
	V int `json:"v"`
	// Type is one of MsgHello, MsgTask, MsgWait, MsgAck, MsgError,
	// MsgStats, MsgPong.
	Type string `json:"type"`
	// Ref is the ID of the client message answered (ack, error, pong,
	// hello).
	Ref string `json:"ref,omitempty"`
	// Labeler is the signed-in labeler's name (hello).
	Labeler string `json:"labeler,omitempty"`
	// Task is the task to answer (task).
	Task *WireTask `json:"task,omitempty"`
	// TaskID is the task whose label is acknowledged (ack).
	TaskID string `json:"task_id,omitempty"`
	// Stored is true in an ack: the label is fsynced.
	Stored bool `json:"stored,omitempty"`
	// Resent marks the ack of a label that was already stored, re-sent
	// identically (after a lost ack).
	Resent bool `json:"resent,omitempty"`
	// Code and Message say what was wrong (error).
	Code    ErrorCode `json:"code,omitempty"`
	Message string    `json:"message,omitempty"`
	// Stats is the labeler's record (hello, ack, stats).
	Stats *LabelerStats `json:"stats,omitempty"`
}

// WireTask is a Task as one labeler sees it: the two completions in the
// order shown. It has nothing else of the task.
type WireTask struct {
	// ID is the Task.ID, to send back in the label.
	ID string `json:"id"`
	// Prompt is the Task.Prompt.
	Prompt string `json:"prompt"`
	// Left and Right are the two completions in the order shown.
	Left  string `json:"left"`
	Right string `json:"right"`
	// Deadline is the Task.Deadline, in UTC.
	Deadline time.Time `json:"deadline"`
}

// LabelerStats is what a labeler's page shows of its own record.
type LabelerStats struct {
	// Labeled is how many labels of the labeler the Store holds.
	Labeled int `json:"labeled"`
	// TrapsResolved is how many of its labels on traps a validator has
	// scored, and TrapsCorrect how many of those were right.
	TrapsResolved int `json:"traps_resolved"`
	TrapsCorrect  int `json:"traps_correct"`
	// TrapAccuracy is TrapsCorrect/TrapsResolved, absent (nil) when no
	// trap is resolved.
	TrapAccuracy *float64 `json:"trap_accuracy,omitempty"`
}
