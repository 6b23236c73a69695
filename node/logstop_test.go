package node

import (
	"sync/atomic"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// Once the node is stopping, CometBFT's teardown errors are logged at
// debug level; before, they are errors.
func TestCometLoggerWhileStopping(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	stopping := &atomic.Bool{}
	l := newCometLogger(zap.New(core), stopping).With("module", "p2p")
	l.Error("Stopping peer for error", "err", "use of closed network connection")
	stopping.Store(true)
	l.Error("Stopping peer for error", "err", "use of closed network connection")
	got := logs.All()
	if len(got) != 2 || got[0].Level != zapcore.ErrorLevel || got[1].Level != zapcore.DebugLevel {
		levels := []zapcore.Level{}
		for _, e := range got {
			levels = append(levels, e.Level)
		}
		t.Errorf("levels %v, want [error debug]", levels)
	}
}
