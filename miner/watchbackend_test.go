package miner

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/seed0ffb8d46/agora/llm"
)

// probed is a backend whose Ready answers from a script, then signals it
// has run out.
type probed struct {
	Backend
	mu      sync.Mutex
	answers []error
	done    chan struct{}
}

func (p *probed) Model() string { return "m" }

func (p *probed) Ready(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.answers) == 0 {
		select {
		case <-p.done:
		default:
			close(p.done)
		}
		return nil
	}
	err := p.answers[0]
	p.answers = p.answers[1:]
	return err
}

// TestWatchBackendLogsChanges: after a healthy start, the miner logs once
// each time its model server goes away, comes back with another model,
// and serves the model again; not at every probe.
func TestWatchBackendLogsChanges(t *testing.T) {
	down := errors.New("connection refused")
	wrong := &llm.ModelNotServedError{BaseURL: "http://x/v1", Model: "m", Served: []string{"other"}}
	b := &probed{answers: []error{nil, down, down, wrong, wrong, nil, nil}, done: make(chan struct{})}
	core, logs := observer.New(zap.InfoLevel)
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	go func() { defer close(finished); watchBackend(ctx, b, zap.New(core), time.Millisecond, nil) }()
	<-b.done // every scripted answer was probed
	cancel()
	<-finished
	var got []string
	for _, e := range logs.All() {
		got = append(got, e.Message)
	}
	want := []string{
		"the backend does not answer; /readyz says 503 until it does",
		"the backend answers but does not serve the miner's model; /readyz says 503 until it does",
		"the backend answers and serves the model",
	}
	if len(got) != len(want) {
		t.Fatalf("logged %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("log %d: %q, want %q", i, got[i], want[i])
		}
	}
}
