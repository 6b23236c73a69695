package validator

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/seed0ffb8d46/agora/api"
	"github.com/seed0ffb8d46/agora/rlhf"
)

// TestPreferenceWire: a task goes out as the JSON of the rlhf task it
// was, blinded, and a label comes back as the rlhf label the miner stored,
// so that validators and miners from before package api understand it.
func TestPreferenceWire(t *testing.T) {
	at := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	task := rlhf.Task{ID: "ab:1", Prompt: "p", CompletionA: "x", CompletionB: "y", ModelA: "m@uid1", ModelB: "m@uid2",
		Validator: "ab", Deadline: at.Add(time.Hour), CreatedAt: at, Trap: true, TrapAnswer: rlhf.ChoiceA}
	old := task
	old.ModelA, old.ModelB = "", ""
	want, _ := json.Marshal(old)
	if got, _ := json.Marshal(blind(task)); string(got) != string(want) {
		t.Errorf("blind task JSON %s, want %s", got, want)
	}

	label := rlhf.Label{TaskID: "ab:1", LabelerID: "ann", Choice: rlhf.ChoiceTie, Rationale: "both fine", TimeOnTaskMs: 3100,
		ShownALeft: true, Miner: "cd", ReceivedAt: at}
	raw, _ := json.Marshal(label)
	var wl api.PreferenceLabel
	if err := json.Unmarshal(raw, &wl); err != nil {
		t.Fatal(err)
	}
	if got := labelOf(wl); !reflect.DeepEqual(got, label) {
		t.Errorf("labelOf = %+v, want %+v", got, label)
	}
}
