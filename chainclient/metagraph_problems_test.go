package chainclient

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/seed0ffb8d46/agora/chain"
)

// flaky is a problemSource whose error the test sets.
type flaky struct {
	mu  sync.Mutex
	err error
}

func (f *flaky) set(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *flaky) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *flaky) Snapshot() (*chain.MetagraphView, int64, bool) { return nil, 0, false }

// TestLogProblems: a metagraph that cannot be loaded is logged once when
// it starts failing and then once an interval, however often the cache
// retries; its recovery once; a healthy cache logs nothing.
func TestLogProblems(t *testing.T) {
	src := &flaky{}
	core, logs := observer.New(zapcore.InfoLevel)
	var mu sync.Mutex
	clock := time.Unix(1000, 0)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		logProblems(ctx, src, zap.New(core), 30*time.Second, time.Millisecond, now)
	}()
	defer func() { cancel(); <-done }()
	// advance moves the clock by d in steps of a second, letting the
	// watcher look at each.
	advance := func(d time.Duration) {
		for range int(d / time.Second) {
			mu.Lock()
			clock = clock.Add(time.Second)
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}
	messages := func() []string {
		var out []string
		for _, e := range logs.TakeAll() {
			out = append(out, e.Level.String()+" "+e.Message+" "+fmt.Sprint(e.ContextMap()["error"]))
		}
		return out
	}
	waitFor := func(n int) []string {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for logs.Len() < n && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		return messages()
	}

	advance(3 * time.Second)
	if got := messages(); len(got) != 0 {
		t.Fatalf("healthy: logged %v", got)
	}
	src.set(errors.New("node 127.0.0.1:1 is unreachable (is it running?)"))
	if got := waitFor(1); len(got) != 1 || !strings.HasPrefix(got[0], "warn cannot load") || !strings.Contains(got[0], "unreachable") {
		t.Fatalf("failing: logged %v, want one warning with the error", got)
	}
	advance(29 * time.Second) // hundreds of polls, as a retrying cache would fail
	if got := messages(); len(got) != 0 {
		t.Fatalf("still failing, within the interval: logged %v", got)
	}
	advance(time.Second)
	if got := waitFor(1); len(got) != 1 || !strings.HasPrefix(got[0], "warn still cannot load") {
		t.Fatalf("still failing after the interval: logged %v", got)
	}
	advance(10 * time.Second)
	src.set(nil)
	if got := waitFor(1); len(got) != 1 || !strings.HasPrefix(got[0], "info the subnet's metagraph loads again") {
		t.Fatalf("recovered: logged %v, want one info line", got)
	}
	advance(60 * time.Second)
	if got := messages(); len(got) != 0 {
		t.Fatalf("healthy again: logged %v", got)
	}
}

// TestLogProblemsUnreachableNode: against a node that is not there, the
// cache's own error (which names the node and says it is unreachable) is
// what is logged, once, though the cache retries many times meanwhile.
func TestLogProblemsUnreachableNode(t *testing.T) {
	c, err := New("tcp://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := NewMetagraphCache(c, 1, MetagraphOptions{BackoffMin: time.Millisecond, BackoffMax: 10 * time.Millisecond})
	runCache(t, m)
	core, logs := observer.New(zapcore.InfoLevel)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		logProblems(ctx, m, zap.New(core), time.Hour, 10*time.Millisecond, time.Now)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for logs.Len() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // many retries
	cancel()
	<-done
	all := logs.All()
	if len(all) != 1 || all[0].Level != zapcore.WarnLevel || !strings.Contains(fmt.Sprint(all[0].ContextMap()["error"]), "127.0.0.1:1") {
		t.Fatalf("logged %v, want one warning naming the node", all)
	}
}
