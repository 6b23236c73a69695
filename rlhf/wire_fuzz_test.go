package rlhf

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// wireSeeds are seed inputs of FuzzDecodeClientMessage besides the files
// in testdata/fuzz/FuzzDecodeClientMessage: every message type, valid and
// broken in the ways the hub tests name.
func wireSeeds() []string {
	return []string{
		`{"v":1,"type":"auth","id":"m1","token":"agl_abc"}`,
		`{"v":1,"type":"label","id":"m2","task_id":"t1","choice":"left","rationale":"shorter","time_on_task_ms":5300}`,
		`{"v":1,"type":"label","task_id":"t1","choice":"both_bad"}`,
		`{"v":1,"type":"resume"}`,
		`{"v":1,"type":"ping","id":"p"}`,
		`{"v":1,"type":"label","task_id":"t1","choice":"a"}`,
		`{"v":1,"type":"label","task_id":"t1","choice":"left","time_on_task_ms":-1}`,
		`{"v":1,"type":"label","task_id":"t1","choice":"left","time_on_task_ms":1e3}`,
		`{"v":1,"type":"label","task_id":"t1","choice":"left","rationale":"\ud800"}`,
		`{"v":1,"type":"ping","id":"p"} {}`,
		`{"v":1,"type":"ping","x":1}`,
		`{"V":1,"TYPE":"ping"}`,
		`{"v":2,"type":"ping"}`,
		`{"v":1,"type":"auth","token":""}`,
		`{"v":1,"type":"dance"}`,
		`[]`, `null`, `"x"`, ``, `{`, "{\"v\":1,\"type\":\"ping\",\"id\":\"\xff\"}",
	}
}

// FuzzDecodeClientMessage feeds arbitrary bytes to the decoder of client
// messages. It must never panic; an accepted message must pass Validate,
// stay within every limit, and survive an encode/decode round trip
// unchanged; a refused one must come back as a *WireError with a code and
// a message, and a Ref within MaxMessageIDBytes.
func FuzzDecodeClientMessage(f *testing.F) {
	for _, s := range wireSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeClientMessage(b)
		if err != nil {
			var we *WireError
			if !errors.As(err, &we) || we.Code == "" || we.Message == "" || len(we.Ref) > MaxMessageIDBytes || !utf8.ValidString(we.Ref) {
				t.Fatalf("refusal %#v is not a proper *WireError", err)
			}
			if !reflect.DeepEqual(m, ClientMessage{}) {
				t.Fatalf("refused message came back non-zero: %+v", m)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("accepted message fails Validate: %v (%+v)", err, m)
		}
		switch {
		case m.V != WireVersion,
			len(m.ID) > MaxMessageIDBytes,
			len(m.Token) > MaxTokenBytes,
			len(m.TaskID) > MaxIDBytes,
			len(m.Rationale) > MaxRationaleBytes,
			m.TimeOnTaskMs < 0 || m.TimeOnTaskMs > MaxTimeOnTaskMs:
			t.Fatalf("accepted message out of bounds: %+v", m)
		}
		switch m.Type {
		case MsgLabel:
			if m.TaskID == "" {
				t.Fatalf("accepted label without a task: %+v", m)
			}
			for _, aLeft := range []bool{true, false} {
				c, err := m.Choice.Choice(aLeft)
				if err != nil || c.Validate() != nil {
					t.Fatalf("accepted label's choice %q does not map: %v", m.Choice, err)
				}
			}
		case MsgAuth:
			if m.Token == "" {
				t.Fatalf("accepted auth without a token: %+v", m)
			}
		case MsgResume, MsgPing:
		default:
			t.Fatalf("accepted type %q", m.Type)
		}
		enc, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeClientMessage(enc)
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("round trip of %s: %+v, %v; want %+v", enc, again, err, m)
		}
	})
}

// TestWireSeedsDecode pins what the seeds decode to, so the fuzz seeds
// stay meaningful.
func TestWireSeedsDecode(t *testing.T) {
	accepted := 0
	for _, s := range wireSeeds() {
		if _, err := DecodeClientMessage([]byte(s)); err == nil {
			accepted++
		} else if !strings.Contains(err.Error(), ": ") {
			t.Errorf("%q: error %q", s, err)
		}
	}
	// The first five seeds are valid messages. Three more are too:
	// encoding/json matches field names case-insensitively, and decodes a
	// lone surrogate escape or an invalid UTF-8 byte as U+FFFD, so what
	// it returns is always valid UTF-8.
	if accepted != 8 {
		t.Errorf("%d seeds accepted, want 8", accepted)
	}
}
