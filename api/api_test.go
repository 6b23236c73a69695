package api

import (
	"encoding/json"
	"testing"
	"time"
)

// The JSON of each message is the protocol between daemons of different
// versions: these tests pin it, field names and omissions included.

func marshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestValidatorScoresJSON pins the shape validators serve.
func TestValidatorScoresJSON(t *testing.T) {
	v := ValidatorScores{Hotkey: "ab", UID: 3, Updated: time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC),
		Scores: []UIDScore{{UID: 0, Hotkey: "cd", Score: 0.5, Scored: 4, ByKind: map[string]float64{"reference": 1},
			LastReason: "copy", Reasons: map[string]uint64{"copy": 3, "ok": 1}}}}
	const want = `{"hotkey":"ab","uid":3,"scores":[{"uid":0,"hotkey":"cd","score":0.5,"scored":4,"by_kind":{"reference":1},` +
		`"last_reason":"copy","reasons":{"copy":3,"ok":1}}],"updated":"2026-01-02T15:04:05Z"}`
	if got := marshal(t, v); got != want {
		t.Errorf("ValidatorScores JSON:\n%s\nwant\n%s", got, want)
	}
}

// TestCompletionRequestJSON: every sampling field is sent even when zero
// (temperature 0 is greedy, not OpenAI's default 1), top_p only when set.
func TestCompletionRequestJSON(t *testing.T) {
	for _, c := range []struct {
		req  CompletionRequest
		want string
	}{
		{CompletionRequest{Prompt: "Tom had", MaxTokens: 64, TokenIDs: true},
			`{"prompt":"Tom had","max_tokens":64,"temperature":0,"seed":0,"logprobs":0,"return_tokens_as_token_ids":true}`},
		{CompletionRequest{Prompt: "x", MaxTokens: 8, Temperature: 0.8, TopP: 0.9, Seed: 1<<63 - 1, Logprobs: 5},
			`{"prompt":"x","max_tokens":8,"temperature":0.8,"top_p":0.9,"seed":9223372036854775807,"logprobs":5,"return_tokens_as_token_ids":false}`},
	} {
		if got := marshal(t, c.req); got != c.want {
			t.Errorf("%+v:\n%s\nwant\n%s", c.req, got, c.want)
		}
	}
}

// TestCompletionResponseDecodes reads an answer in the form vLLM (and a
// miner) sends, with fields the validator does not read, a null finish
// reason and no log-probabilities.
func TestCompletionResponseDecodes(t *testing.T) {
	const body = `{"id":"cmpl-1","object":"text_completion","created":1,"model":"babyllama105",
		"choices":[{"index":0,"text":"ab","finish_reason":"length",
			"logprobs":{"tokens":["token_id:7","token_id:9"],"token_logprobs":[-0.5,-1.25],
				"top_logprobs":[{"token_id:7":-0.5},{"token_id:9":-1.25,"token_id:3":-2}],"text_offset":[0,1]}},
			{"index":1,"text":"c","finish_reason":null,"logprobs":null}],
		"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`
	var r CompletionResponse
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	if r.Model != "babyllama105" || len(r.Choices) != 2 {
		t.Fatalf("decoded %+v", r)
	}
	c := r.Choices[0]
	lp := c.Logprobs
	if c.Text != "ab" || c.FinishReason != "length" || lp == nil ||
		len(lp.Tokens) != 2 || lp.Tokens[1] != "token_id:9" || lp.TokenLogprobs[1] != -1.25 ||
		len(lp.TopLogprobs) != 2 || lp.TopLogprobs[1]["token_id:3"] != -2 {
		t.Errorf("first choice %+v, logprobs %+v", c, lp)
	}
	if c := r.Choices[1]; c.FinishReason != "" || c.Logprobs != nil {
		t.Errorf("second choice %+v: want no finish reason, no logprobs", c)
	}
}

// TestPreferenceJSON pins the preference messages: a task carries no
// trap fields, and blind model names are left out.
func TestPreferenceJSON(t *testing.T) {
	at := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		v    any
		want string
	}{
		{PreferenceTasks{Tasks: []PreferenceTask{{ID: TaskPrefix("ab") + "1", Prompt: "p", CompletionA: "x", CompletionB: "y",
			Validator: "ab", Deadline: at.Add(time.Minute), CreatedAt: at}}},
			`{"tasks":[{"id":"ab:1","prompt":"p","completion_a":"x","completion_b":"y","validator":"ab",` +
				`"deadline":"2026-01-02T15:05:05Z","created_at":"2026-01-02T15:04:05Z"}]}`},
		{PreferenceTask{ID: "ab:2", ModelA: "m", ModelB: "n", Deadline: at, CreatedAt: at},
			`{"id":"ab:2","prompt":"","completion_a":"","completion_b":"","model_a":"m","model_b":"n","validator":"",` +
				`"deadline":"2026-01-02T15:04:05Z","created_at":"2026-01-02T15:04:05Z"}`},
		{PreferenceLabelsRequest{TaskIDs: []string{"ab:1"}}, `{"task_ids":["ab:1"]}`},
		{PreferenceLabels{Labels: []PreferenceLabel{{TaskID: "ab:1", LabelerID: "ann", Choice: "a", TimeOnTaskMs: 4000,
			ShownALeft: true, Miner: "cd", ReceivedAt: at}}},
			`{"labels":[{"task_id":"ab:1","labeler_id":"ann","choice":"a","time_on_task_ms":4000,"shown_a_left":true,` +
				`"miner":"cd","received_at":"2026-01-02T15:04:05Z"}]}`},
		{PreferenceLabel{TaskID: "ab:1", LabelerID: "bo", Choice: "both_bad", Rationale: "dull", Miner: "cd", ReceivedAt: at},
			`{"task_id":"ab:1","labeler_id":"bo","choice":"both_bad","rationale":"dull","time_on_task_ms":0,"shown_a_left":false,` +
				`"miner":"cd","received_at":"2026-01-02T15:04:05Z"}`},
		{PreferenceResults{Results: []TrapResult{{TaskID: "ab:1", LabelerID: "ann", Correct: true}}},
			`{"results":[{"task_id":"ab:1","labeler_id":"ann","correct":true}]}`},
	} {
		if got := marshal(t, c.v); got != c.want {
			t.Errorf("%T:\n%s\nwant\n%s", c.v, got, c.want)
		}
	}
}

// TestTaskPrefix: a validator's tasks start with its hotkey and a colon.
func TestTaskPrefix(t *testing.T) {
	if got := TaskPrefix("ab01"); got != "ab01:" {
		t.Errorf("TaskPrefix(ab01) = %q", got)
	}
}
