package miner

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/seed0ffb8d46/agora/api"
	"github.com/seed0ffb8d46/agora/rlhf"
)

// The miner keeps its labelers' side in rlhf's types: these tests hold
// them to package api's messages, which validators send and read.

// TestAPIPreferenceMatchesRLHF: the preference messages are, byte for
// byte, the JSON of rlhf's types that miners and validators exchanged
// before package api, so either side may be older; and the conversions
// lose nothing.
func TestAPIPreferenceMatchesRLHF(t *testing.T) {
	at := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	task := rlhf.Task{ID: "ab:1", Prompt: "p", CompletionA: "x", CompletionB: "y", ModelA: "m", ModelB: "n",
		Validator: "ab", Deadline: at.Add(time.Hour), CreatedAt: at}
	raw, err := json.Marshal(task)
	if err != nil {
		t.Fatal(err)
	}
	var wt api.PreferenceTask
	if err := json.Unmarshal(raw, &wt); err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(wt); string(b) != string(raw) {
		t.Errorf("task JSON %s, rlhf's %s", b, raw)
	}
	if got := taskOf(wt); !reflect.DeepEqual(got, task) {
		t.Errorf("taskOf = %+v, want %+v", got, task)
	}

	label := rlhf.Label{TaskID: "ab:1", LabelerID: "ann", Choice: rlhf.ChoiceB, Rationale: "kinder", TimeOnTaskMs: 4200,
		ShownALeft: true, Miner: "cd", ReceivedAt: at}
	want, _ := json.Marshal(label)
	if b, _ := json.Marshal(wireLabel(label)); string(b) != string(want) {
		t.Errorf("label JSON %s, rlhf's %s", b, want)
	}

	verdict := rlhf.TrapVerdict{TaskID: "ab:1", LabelerID: "ann", Correct: true}
	want, _ = json.Marshal(verdict)
	if b, _ := json.Marshal(api.TrapResult{TaskID: "ab:1", LabelerID: "ann", Correct: true}); string(b) != string(want) {
		t.Errorf("trap result JSON %s, rlhf's %s", b, want)
	}
}
