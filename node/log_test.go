package node

import (
	"errors"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

type nilStringer struct{ s *string }

func (n *nilStringer) String() string { return *n.s }

func TestCometLogger(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	l := NewCometLogger(zap.New(core)).With("module", "consensus")
	var nilErr *errorPtr
	l.Info("committed", "height", int64(7), "hash", []byte{0xab, 0x01}, "err", errors.New("boom"), "odd")
	l.Error("nil values", "stringer", (*nilStringer)(nil), "err", error(nilErr))
	l.Debug("dropped", "height", 1)

	all := logs.AllUntimed()
	if len(all) != 2 {
		t.Fatalf("got %d entries, want 2 (debug is below the zap level): %+v", len(all), all)
	}
	got := all[0].ContextMap()
	want := map[string]any{"component": "cometbft", "module": "consensus", "height": int64(7), "hash": "AB01", "err": "boom", "odd": "(MISSING)"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("field %s = %#v, want %#v", k, got[k], v)
		}
	}
	if all[0].Message != "committed" || all[0].Level != zapcore.InfoLevel || all[1].Level != zapcore.ErrorLevel {
		t.Errorf("entries: %+v", all)
	}
	if got := all[1].ContextMap(); got["stringer"] != "<nil>" || got["err"] != "<nil>" {
		t.Errorf("nil values logged as %#v", got)
	}
}

type errorPtr struct{ msg string }

func (e *errorPtr) Error() string { return e.msg }
