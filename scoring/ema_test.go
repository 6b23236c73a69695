package scoring

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestScoresUpdateOnlyQueried(t *testing.T) {
	s := NewScores(0.5)
	s.Realign([]string{"a", "b", "c"})
	for range 3 {
		if err := s.Update("inference", 0, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Update("inference", 1, 0.4); err != nil {
		t.Fatal(err)
	}
	got := s.Kinds["inference"]
	if got[0] != 0.875 || got[1] != 0.2 || got[2] != 0 {
		t.Fatalf("averages %v, want [0.875 0.2 0]", got)
	}
	// Querying uid 1 again leaves uid 0 alone.
	_ = s.Update("inference", 1, 0.4)
	if s.Kinds["inference"][0] != 0.875 {
		t.Fatalf("uid 0 decayed when only uid 1 was queried: %v", s.Kinds["inference"])
	}
	if err := s.Update("inference", 3, 1); !errors.Is(err, ErrUnknownUID) {
		t.Fatalf("uid out of range: %v", err)
	}
	_ = s.Update("reference", 2, math.NaN())
	_ = s.Update("reference", 2, 7)
	if v := s.Kinds["reference"][2]; v != 0.5 {
		t.Fatalf("NaN as 0 then 7 clamped to 1: %v, want 0.5", v)
	}
}

func TestScoresRealign(t *testing.T) {
	s := NewScores(1)
	s.Realign([]string{"a", "b", "c"})
	for uid := range 3 {
		_ = s.Update("k", uid, 1)
	}
	// uid 1 changes hands, uid 2 leaves, uid 3 arrives.
	s.Realign([]string{"a", "B", "x", "y"})
	if got := s.Kinds["k"]; len(got) != 4 || got[0] != 1 || got[1] != 0 || got[2] != 0 || got[3] != 0 {
		t.Fatalf("after realign %v, want [1 0 0 0]", got)
	}
	if s.Count[0] != 1 || s.Count[1] != 0 {
		t.Fatalf("counts %v", s.Count)
	}
	s.Realign([]string{"a"})
	if len(s.Kinds["k"]) != 1 || s.Kinds["k"][0] != 1 {
		t.Fatalf("shrunk: %v", s.Kinds["k"])
	}
}

func TestScoresCombinedAndValidate(t *testing.T) {
	s := NewScores(1)
	s.Realign([]string{"a", "b"})
	_ = s.Update("x", 0, 1)
	_ = s.Update("y", 1, 1)
	got := s.Combined(map[string]float64{"x": 3, "y": 1})
	if got[0] != 0.75 || got[1] != 0.25 {
		t.Fatalf("combined %v, want [0.75 0.25]", got)
	}
	if c := s.Combined(nil); c[0] != 0 || c[1] != 0 {
		t.Fatalf("no weights: %v", c)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Scores
	if err := json.Unmarshal(b, &back); err != nil || back.Validate() != nil {
		t.Fatalf("round trip: %v %v", err, back.Validate())
	}
	for _, tc := range []struct{ json, want string }{
		{`{"alpha":0,"hotkeys":[],"kinds":{},"count":[]}`, "alpha 0"},
		{`{"alpha":0.1,"hotkeys":["a"],"kinds":{"x":[2]},"count":[1]}`, `kind "x" uid 0: 2 is not in [0, 1]`},
		{`{"alpha":0.1,"hotkeys":["a"],"kinds":{"x":[]},"count":[1]}`, `kind "x" has 0 uids, want 1`},
		{`{"alpha":0.1,"hotkeys":["a"],"kinds":{},"count":[]}`, "0 counts for 1 uids"},
	} {
		var bad Scores
		if err := json.Unmarshal([]byte(tc.json), &bad); err != nil {
			t.Fatal(err)
		}
		if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.json, err, tc.want)
		}
	}
}
