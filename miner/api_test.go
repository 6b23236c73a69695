package miner

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/seed0ffb8d46/agora/api"
	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/rlhf"
)

// The miner decodes and encodes the whole OpenAI format with its own
// types, and keeps its labelers' side in rlhf's: these tests hold them to
// package api's messages, which validators send and read.

// TestAPICompletionRequestParses: a validator's request means to the
// miner what the validator meant, a greedy one included (temperature 0 is
// sent, not left to OpenAI's default of 1).
func TestAPICompletionRequestParses(t *testing.T) {
	for _, c := range []struct {
		req  api.CompletionRequest
		want llm.OpenAIOptions
	}{
		{api.CompletionRequest{Prompt: "Tom had", MaxTokens: 64, Temperature: 0.8, TopP: 0.9, Seed: 1<<63 - 1, Logprobs: 3, TokenIDs: true},
			llm.OpenAIOptions{GenOptions: llm.GenOptions{MaxTokens: 64, Temperature: 0.8, TopP: 0.9, Seed: 1<<63 - 1}, TopLogprobs: 3, TokenIDs: true}},
		{api.CompletionRequest{Prompt: "Tom had", MaxTokens: 8, Seed: 5, TokenIDs: true},
			llm.OpenAIOptions{GenOptions: llm.GenOptions{MaxTokens: 8, Seed: 5}, TokenIDs: true}},
	} {
		body, err := json.Marshal(c.req)
		if err != nil {
			t.Fatal(err)
		}
		r, err := parseCompletion(body)
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if r.Chat || r.Stream || r.Prompt != c.req.Prompt || !r.Logprobs || r.TokenIDs != c.req.TokenIDs || !reflect.DeepEqual(r.Options, c.want) {
			t.Errorf("%s parsed as %+v, options %+v; want prompt %q, logprobs, options %+v", body, r, r.Options, c.req.Prompt, c.want)
		}
	}
}

// TestAPICompletionResponseReads: what the miner answers is what a
// validator reads, token ids and alternatives included.
func TestAPICompletionResponseReads(t *testing.T) {
	toks := []llm.TokenLogprob{{ID: 7, Text: "T", Logprob: -0.5}, {ID: 9, Text: "om", Logprob: -1.25}}
	top := [][]llm.TokenLogprob{{toks[0]}, {toks[1], {ID: 3, Text: "im", Logprob: -2}}}
	ch := completionChoice{Text: "Tom", FinishReason: finish("length"), Logprobs: completionLogprobsOf(toks, top, true, 0)}
	b, err := json.Marshal(completionResponse{ID: "cmpl-1", Object: "text_completion", Model: "babyllama105", Choices: []completionChoice{ch}})
	if err != nil {
		t.Fatal(err)
	}
	var got api.CompletionResponse
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := api.CompletionResponse{Model: "babyllama105", Choices: []api.CompletionChoice{{Text: "Tom", FinishReason: "length",
		Logprobs: &api.CompletionLogprobs{Tokens: []string{"token_id:7", "token_id:9"}, TokenLogprobs: []float64{-0.5, -1.25},
			TopLogprobs: []map[string]float64{{"token_id:7": -0.5}, {"token_id:9": -1.25, "token_id:3": -2}}}}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s read as %+v, want %+v", b, got, want)
	}
}

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

// The labelling page's origins are the axon's, the listen address's when
// it names one, and the configured public URL's, never its path.
func TestLabelOrigins(t *testing.T) {
	ext := netip.MustParseAddrPort("203.0.113.7:8091")
	for _, c := range []struct {
		url   string
		bound string
		want  []string
	}{
		{"", "0.0.0.0:8091", []string{"http://203.0.113.7:8091"}},
		{"", "10.0.0.5:8091", []string{"http://203.0.113.7:8091", "http://10.0.0.5:8091"}},
		{"", "203.0.113.7:8091", []string{"http://203.0.113.7:8091"}},
		{"https://label.example.com/label/", "0.0.0.0:8091", []string{"http://203.0.113.7:8091", "https://label.example.com"}},
	} {
		got, err := labelOrigins(c.url, ext, netip.MustParseAddrPort(c.bound))
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("labelOrigins(%q, %s, %s) = %q, %v; want %q", c.url, ext, c.bound, got, err, c.want)
		}
	}
	for _, bad := range []string{"label.example.com", "ftp://x/", "https://user@x/", "https://"} {
		if got, err := labelOrigins(bad, ext, ext); err == nil {
			t.Errorf("labelOrigins(%q) = %q, want an error", bad, got)
		}
	}
}
