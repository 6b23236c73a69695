package node

import (
	"encoding/hex"
	"fmt"
	"strings"
	"sync/atomic"

	cmtlog "github.com/cometbft/cometbft/libs/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// NewCometLogger returns a CometBFT logger that writes through z, with the
// field component=cometbft. CometBFT's key-value pairs become zap fields
// (byte slices in upper-case hex, as CometBFT prints hashes); its "module"
// key stays a field. z's level applies; Debug is dropped cheaply when z is
// above debug. Safe for concurrent use, as z is.
func NewCometLogger(z *zap.Logger) cmtlog.Logger {
	return newCometLogger(z, nil)
}

// newCometLogger is NewCometLogger that logs CometBFT's errors at debug
// level once *stopping is true: a node that is shutting down logs its
// closed listeners and peers as errors, which read as failures.
func newCometLogger(z *zap.Logger, stopping *atomic.Bool) *cometLogger {
	return &cometLogger{z: z.WithOptions(zap.AddCallerSkip(1)).With(zap.String("component", "cometbft")), stopping: stopping}
}

type cometLogger struct {
	z        *zap.Logger
	stopping *atomic.Bool // nil: never
}

var _ cmtlog.Logger = (*cometLogger)(nil)

func (l *cometLogger) Debug(msg string, keyvals ...any) { l.log(zapcore.DebugLevel, msg, keyvals) }
func (l *cometLogger) Info(msg string, keyvals ...any)  { l.log(zapcore.InfoLevel, msg, keyvals) }
func (l *cometLogger) Error(msg string, keyvals ...any) {
	level := zapcore.ErrorLevel
	if l.stopping != nil && l.stopping.Load() {
		level = zapcore.DebugLevel
	}
	l.log(level, msg, keyvals)
}

func (l *cometLogger) With(keyvals ...any) cmtlog.Logger {
	return &cometLogger{z: l.z.With(fields(keyvals)...), stopping: l.stopping}
}

func (l *cometLogger) log(level zapcore.Level, msg string, keyvals []any) {
	if ce := l.z.Check(level, msg); ce != nil {
		ce.Write(fields(keyvals)...)
	}
}

// fields turns CometBFT's alternating keys and values into zap fields. A
// trailing key without a value gets the value "(MISSING)", as go-kit does.
func fields(keyvals []any) []zap.Field {
	fs := make([]zap.Field, 0, (len(keyvals)+1)/2)
	for i := 0; i < len(keyvals); i += 2 {
		key, ok := keyvals[i].(string)
		if !ok {
			key = fmt.Sprint(keyvals[i])
		}
		if i+1 == len(keyvals) {
			fs = append(fs, zap.String(key, "(MISSING)"))
			break
		}
		fs = append(fs, field(key, keyvals[i+1]))
	}
	return fs
}

func field(key string, v any) zap.Field {
	switch v := v.(type) {
	case []byte:
		return zap.String(key, strings.ToUpper(hex.EncodeToString(v)))
	case error:
		return zap.String(key, errorText(v))
	case fmt.Stringer:
		return zap.Stringer(key, v)
	}
	return zap.Any(key, v)
}

// errorText is err.Error(), or "<nil>" for a nil pointer that panics.
func errorText(err error) (s string) {
	defer func() {
		if recover() != nil {
			s = "<nil>"
		}
	}()
	return err.Error()
}
