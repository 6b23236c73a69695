package protocol

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Code names the check that rejected a signed message. Codes are stable:
// they appear in JSON error bodies and in metrics labels.
type Code string

// The rejection codes, each with the HTTP status that Error carries for it.
const (
	CodeUnsigned         Code = "unsigned"           // 401: no Epistula-Request-Signature at all
	CodeBadVersion       Code = "bad_version"        // 400: Epistula-Version is not "2"
	CodeMissingHeader    Code = "missing_header"     // 400: a required header is absent or empty
	CodeMalformedHeader  Code = "malformed_header"   // 400: a header is repeated or not in its form
	CodeStaleTimestamp   Code = "stale_timestamp"    // 401: signed longer ago than the past window
	CodeFutureTimestamp  Code = "future_timestamp"   // 401: signed further ahead than the future window
	CodeWrongReceiver    Code = "wrong_receiver"     // 403: Epistula-Signed-For is not this receiver
	CodeNotAllowed       Code = "not_allowed"        // 403: the signer may not call this receiver
	CodeReplayedUUID     Code = "replayed_uuid"      // 409: this signer already used this uuid
	CodeBodyTooLarge     Code = "body_too_large"     // 413: the body exceeds the limit
	CodeBodyRead         Code = "body_read"          // 400: the body could not be read
	CodeBodyHashMismatch Code = "body_hash_mismatch" // 401: the body is not the one the signed hash names
	CodeBadSignature     Code = "bad_signature"      // 401: the signature does not verify
	CodeWrongSigner      Code = "wrong_signer"       // 401: a response signed by someone else
	CodeUUIDMismatch     Code = "uuid_mismatch"      // 401: a response that echoes another request's uuid
	CodeReplayCacheFull  Code = "replay_cache_full"  // 503: too many live uuids to remember another
	CodeRateLimited      Code = "rate_limited"       // 429: the signer is over its request rate (Config.Admit)
)

// Error is a rejection: which check failed (Code), the HTTP status to answer
// with, and a message for the caller that names the check and the values
// involved. Every error that Verifier.Verify and VerifyResponse return is an
// *Error; use errors.As to get it.
type Error struct {
	Code    Code
	Status  int
	Message string
	// RetryAfter, if positive, is when the caller may try again: the
	// answer's Retry-After header, in whole seconds rounded up.
	RetryAfter time.Duration
}

// Error returns "protocol: " and the message.
func (e *Error) Error() string { return "protocol: " + e.Message }

// status is the HTTP status of each code.
var status = map[Code]int{
	CodeUnsigned:         http.StatusUnauthorized,
	CodeBadVersion:       http.StatusBadRequest,
	CodeMissingHeader:    http.StatusBadRequest,
	CodeMalformedHeader:  http.StatusBadRequest,
	CodeStaleTimestamp:   http.StatusUnauthorized,
	CodeFutureTimestamp:  http.StatusUnauthorized,
	CodeWrongReceiver:    http.StatusForbidden,
	CodeNotAllowed:       http.StatusForbidden,
	CodeReplayedUUID:     http.StatusConflict,
	CodeBodyTooLarge:     http.StatusRequestEntityTooLarge,
	CodeBodyRead:         http.StatusBadRequest,
	CodeBodyHashMismatch: http.StatusUnauthorized,
	CodeBadSignature:     http.StatusUnauthorized,
	CodeWrongSigner:      http.StatusUnauthorized,
	CodeUUIDMismatch:     http.StatusUnauthorized,
	CodeReplayCacheFull:  http.StatusServiceUnavailable,
	CodeRateLimited:      http.StatusTooManyRequests,
}

// RateLimited is the rate_limited rejection of a signer that may try again
// after wait; msg says what the limit is.
func RateLimited(msg string, wait time.Duration) *Error {
	e := reject(CodeRateLimited, msg)
	e.RetryAfter = wait
	return e
}

// reject returns the *Error of code with message msg.
func reject(code Code, msg string) *Error {
	return &Error{Code: code, Status: status[code], Message: msg}
}

// errorBody is the JSON form of a rejection.
type errorBody struct {
	Error struct {
		Code    Code   `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// WriteError answers w with err as a JSON body
// {"error":{"code":"…","message":"…"}} and err's status. An err that is not
// an *Error is answered as 500 with code "internal" and no detail.
func WriteError(w http.ResponseWriter, err error) {
	var pe *Error
	if !errors.As(err, &pe) {
		pe = &Error{Code: "internal", Status: http.StatusInternalServerError, Message: "internal error"}
	}
	var b errorBody
	b.Error.Code, b.Error.Message = pe.Code, pe.Message
	data, _ := json.Marshal(b) // two strings cannot fail to marshal
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	switch {
	case pe.RetryAfter > 0:
		h.Set("Retry-After", strconv.FormatInt(int64((pe.RetryAfter+time.Second-1)/time.Second), 10))
	case pe.Code == CodeReplayCacheFull:
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(pe.Status)
	_, _ = w.Write(append(data, '\n'))
}

// WriteRejection answers a request that Verifier.Verify refused, as
// WriteError does, and closes the connection after the answer: the body
// of a refused request may be unread, and net/http would otherwise read
// (up to 256 KiB of) it before answering, to keep the connection for the
// next request. A refused caller reconnects; an unverified one does not
// get its body read.
func WriteRejection(w http.ResponseWriter, err error) {
	w.Header().Set("Connection", "close")
	WriteError(w, err)
}
