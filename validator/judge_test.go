package validator

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/scoring"
)

// judgeServer is an OpenAI-compatible chat server whose model answers
// "Yes" with probability 0.9, with log-probabilities, as vLLM does; it
// counts the questions it was asked.
func judgeServer(t *testing.T, asked chan<- string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &body); err != nil || r.URL.Path != "/v1/chat/completions" {
			http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
			return
		}
		asked <- body.Messages[len(body.Messages)-1].Content
		yes, no := math.Log(0.9), math.Log(0.1)
		alts := []any{map[string]any{"token": "Yes", "logprob": yes}, map[string]any{"token": "No", "logprob": no}}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "j", "object": "chat.completion", "model": "judge",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message":  map[string]any{"role": "assistant", "content": "Yes"},
				"logprobs": map[string]any{"content": []any{map[string]any{"token": "Yes", "logprob": yes, "top_logprobs": alts}}},
			}},
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestJudgeTrainsUseful: with a judge, the validator asks it about the
// answers that pass every check (all of them at judge share 1), in the
// background, and its verdicts train p(useful); without one, nothing is
// queued.
func TestJudgeTrainsUseful(t *testing.T) {
	asked := make(chan string, 8)
	judge, err := llm.NewJudge(llm.JudgeConfig{BaseURL: judgeServer(t, asked).URL + "/v1", Model: "judge"})
	if err != nil {
		t.Fatal(err)
	}
	v, _, _ := shutdownFixture(t, nil, func(c *Config) { c.Judge, c.JudgeShare = judge, 1 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); v.runJudge(ctx) }()

	m := demoModel(t)
	prompt := scoring.StoryPrompt(3)
	pol := v.cfg.Policy
	p := scoring.SamplingParams{Temperature: pol.Temperature, TopP: pol.TopP, Seed: 77, MaxTokens: pol.MaxTokens}
	g, err := m.Generate(ctx, prompt, llm.GenOptions{MaxTokens: p.MaxTokens, Temperature: float32(p.Temperature), TopP: float32(p.TopP), Seed: p.Seed})
	if err != nil {
		t.Fatal(err)
	}
	before := v.useful.Trained()
	verdict, _, err := v.judge(ctx, KindInference, prompt, p, answerOf(g), &prefixes{m: m}, nil)
	if err != nil || verdict.Reason != scoring.ReasonScored {
		t.Fatalf("the honest answer: %+v, %v", verdict, err)
	}
	select {
	case q := <-asked:
		if len(q) == 0 {
			t.Fatal("the judge was asked an empty question")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the judge was not asked within 30s")
	}
	// The verdict trains p(useful) once the worker has it: wait for it.
	for deadline := time.Now().Add(30 * time.Second); v.useful.Trained() == before; {
		if time.Now().After(deadline) {
			t.Fatal("the judge's verdict did not train p(useful)")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done

	// A forged answer is never put to the judge.
	w, _, _ := shutdownFixture(t, nil, func(c *Config) { c.Judge, c.JudgeShare = judge, 1 })
	forged := answerOf(g)
	forged.IDs[3]++
	forged.Text, _ = m.Text(prompt, forged.IDs)
	if verdict, _, _ := w.judge(context.Background(), KindInference, prompt, p, forged, &prefixes{m: m}, nil); !verdict.Hard {
		t.Fatalf("a forged answer: %+v", verdict)
	}
	if n := len(w.judgeq); n != 0 {
		t.Fatalf("%d forged answers queued for the judge", n)
	}
}
