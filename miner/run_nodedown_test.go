package miner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/miner"
	"github.com/seed0ffb8d46/agora/miner/minertest"
)

// TestRunNodeDown: a miner pointed at a node that is not running says so:
// /readyz gives the metagraph's error, and the log warns (once, not per
// retry).
func TestRunNodeDown(t *testing.T) {
	backendSrv := minertest.Serve(&minertest.Model{})
	defer backendSrv.Close()
	be, err := miner.NewServer(llm.OpenAIConfig{BaseURL: backendSrv.URL + "/v1", Model: "test-model", IdleTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.InfoLevel)
	addr := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- miner.Run(ctx, miner.RunConfig{
			Config: miner.Config{Key: key(t, 1), Backend: be, Logger: zap.New(core)},
			Node:   "tcp://127.0.0.1:1", Netuid: 1, Listen: "127.0.0.1:0",
			OnListen: func(a net.Addr) { addr <- a.String() },
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	url := "http://" + <-addr + "/readyz"
	var body struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err := json.Unmarshal(raw, &body); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("readyz: %d %s (%v)", resp.StatusCode, raw, err)
		}
		if body.Checks["metagraph"] != "not loaded" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if m := body.Checks["metagraph"]; !strings.HasPrefix(m, "not loaded: ") || !strings.Contains(m, "127.0.0.1:1") || !strings.Contains(m, "unreachable") {
		t.Fatalf("readyz checks %v: want the metagraph's error, naming the node", body.Checks)
	}
	for deadline := time.Now().Add(5 * time.Second); logs.FilterLevelExact(zapcore.WarnLevel).Len() == 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // the cache retries many times meanwhile
	warns := logs.FilterLevelExact(zapcore.WarnLevel).All()
	if len(warns) != 1 || !strings.Contains(warns[0].Message, "metagraph") || !strings.Contains(fmt.Sprint(warns[0].ContextMap()["error"]), "127.0.0.1:1") {
		t.Fatalf("warnings %v: want one, with the error", warns)
	}
}
