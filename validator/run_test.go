package validator

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestRunNodeDown: a validator pointed at a node that is not running says
// so: /readyz gives the error, and the log warns (once, not per retry).
func TestRunNodeDown(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	addr := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, RunConfig{
			Config: Config{Key: testKey(t, 2), Netuid: 1, StatePath: filepath.Join(t.TempDir(), "s.json"), Logger: zap.New(core), Exact: demoModel(t), VerifyModel: "babyllama105"},
			Node:   "tcp://127.0.0.1:1", Listen: "127.0.0.1:0",
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
	var body map[string]any
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("readyz: %d %s", resp.StatusCode, raw)
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("readyz: %s: %v", raw, err)
		}
		if body["error"] != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if e, _ := body["error"].(string); !strings.Contains(e, "127.0.0.1:1") || !strings.Contains(e, "unreachable") {
		t.Fatalf("readyz %v: want the error, naming the node", body)
	}
	for deadline := time.Now().Add(5 * time.Second); logs.FilterLevelExact(zapcore.WarnLevel).Len() == 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // the cache retries many times meanwhile
	warns := logs.FilterLevelExact(zapcore.WarnLevel).All()
	if len(warns) != 1 || !strings.Contains(warns[0].Message, "metagraph") || !strings.Contains(warns[0].ContextMap()["error"].(string), "127.0.0.1:1") {
		t.Fatalf("warnings %v: want one, with the error", warns)
	}
}
