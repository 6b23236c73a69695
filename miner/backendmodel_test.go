package miner_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/miner"
	"github.com/seed0ffb8d46/agora/miner/minertest"
)

// TestServerReadyChecksModel: a Server is ready only when its model server
// lists the model by name; otherwise the error names the model asked for
// and the ones listed, and a server that is gone is another error.
func TestServerReadyChecksModel(t *testing.T) {
	srv := minertest.Serve(&minertest.Model{Name: "Llama-3.1-8B-Instruct"})
	newServer := func(model string) *miner.Server {
		s, err := miner.NewServer(llm.OpenAIConfig{BaseURL: srv.URL + "/v1", Model: model})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ctx := t.Context()
	if err := newServer("Llama-3.1-8B-Instruct").Ready(ctx); err != nil {
		t.Fatalf("the served model: %v", err)
	}
	err := newServer("meta-llama/Llama-3.1-8B-Instruct").Ready(ctx)
	var notServed *llm.ModelNotServedError
	if !errors.As(err, &notServed) || notServed.Model != "meta-llama/Llama-3.1-8B-Instruct" || len(notServed.Served) != 1 || notServed.Served[0] != "Llama-3.1-8B-Instruct" {
		t.Fatalf("another name: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, `model "meta-llama/Llama-3.1-8B-Instruct"`) || !strings.Contains(msg, `lists "Llama-3.1-8B-Instruct"`) {
		t.Fatalf("another name: %q does not name both", msg)
	}
	srv.Close()
	err = newServer("Llama-3.1-8B-Instruct").Ready(ctx)
	if err == nil || errors.As(err, &notServed) || !strings.Contains(err.Error(), srv.URL) {
		t.Fatalf("server gone: %v", err)
	}
}

// TestReadyzModelNotServed: when the model server restarts with another
// model, /readyz turns 503 and says which model is missing and which are
// served.
func TestReadyzModelNotServed(t *testing.T) {
	f := newFixture(t, nil)
	readyz := func() (int, map[string]string) {
		r, err := f.client.Get(f.url + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		raw, _ := io.ReadAll(r.Body)
		var body struct {
			Checks map[string]string `json:"checks"`
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("readyz: %v: %s", err, raw)
		}
		return r.StatusCode, body.Checks
	}
	if code, checks := readyz(); code != 200 || checks["backend"] != "ok" {
		t.Fatalf("readyz before: %d %v", code, checks)
	}
	f.model.Rename("other-model")
	// The probe is cached for two seconds.
	code, checks := readyz()
	for deadline := time.Now().Add(10 * time.Second); code == 200 && time.Now().Before(deadline); code, checks = readyz() {
		time.Sleep(100 * time.Millisecond)
	}
	if b := checks["backend"]; code != 503 || !strings.Contains(b, `"test-model"`) || !strings.Contains(b, `"other-model"`) {
		t.Fatalf("readyz after the restart: %d %v", code, checks)
	}
	f.model.Rename("test-model")
	for deadline := time.Now().Add(10 * time.Second); code != 200 && time.Now().Before(deadline); code, checks = readyz() {
		time.Sleep(100 * time.Millisecond)
	}
	if code != 200 || checks["backend"] != "ok" {
		t.Fatalf("readyz once the model is back: %d %v", code, checks)
	}
}

// TestRunModelNotServed: a miner whose model server answers without its
// model does not start: nothing listens, and the error names both.
func TestRunModelNotServed(t *testing.T) {
	srv := minertest.Serve(&minertest.Model{Name: "other-model"})
	defer srv.Close()
	be, err := miner.NewServer(llm.OpenAIConfig{BaseURL: srv.URL + "/v1", Model: "test-model"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = miner.Run(ctx, miner.RunConfig{
		Config: miner.Config{Key: key(t, 1), Backend: be},
		Node:   "tcp://127.0.0.1:1", Netuid: 1, Listen: "127.0.0.1:0",
		OnListen: func(a net.Addr) { t.Errorf("listening on %s with the wrong model", a) },
	})
	var notServed *llm.ModelNotServedError
	if !errors.As(err, &notServed) || !strings.Contains(err.Error(), `"test-model"`) || !strings.Contains(err.Error(), `"other-model"`) {
		t.Fatalf("Run: %v", err)
	}
}
