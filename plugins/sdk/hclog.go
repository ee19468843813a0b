package sdk

import (
	"context"
	"io"
	"log"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// NewHCLogger returns an hclog.Logger that writes to l: the one bridge from
// go-plugin's logging to slog. hclog's Trace maps to slog's Debug-4; the
// level filter is l's handler.
func NewHCLogger(l *slog.Logger) hclog.Logger {
	return &hcBridge{l: l}
}

type hcBridge struct {
	l    *slog.Logger
	name string
	args []any
}

var _ hclog.Logger = (*hcBridge)(nil)

func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return slog.LevelDebug - 4
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

func (b *hcBridge) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off {
		return
	}
	b.l.Log(context.Background(), slogLevel(level), msg, args...)
}

func (b *hcBridge) Trace(msg string, args ...any) { b.Log(hclog.Trace, msg, args...) }
func (b *hcBridge) Debug(msg string, args ...any) { b.Log(hclog.Debug, msg, args...) }
func (b *hcBridge) Info(msg string, args ...any)  { b.Log(hclog.Info, msg, args...) }
func (b *hcBridge) Warn(msg string, args ...any)  { b.Log(hclog.Warn, msg, args...) }
func (b *hcBridge) Error(msg string, args ...any) { b.Log(hclog.Error, msg, args...) }

func (b *hcBridge) enabled(l hclog.Level) bool {
	return b.l.Enabled(context.Background(), slogLevel(l))
}

func (b *hcBridge) IsTrace() bool { return b.enabled(hclog.Trace) }
func (b *hcBridge) IsDebug() bool { return b.enabled(hclog.Debug) }
func (b *hcBridge) IsInfo() bool  { return b.enabled(hclog.Info) }
func (b *hcBridge) IsWarn() bool  { return b.enabled(hclog.Warn) }
func (b *hcBridge) IsError() bool { return b.enabled(hclog.Error) }

func (b *hcBridge) ImpliedArgs() []any { return b.args }

func (b *hcBridge) With(args ...any) hclog.Logger {
	return &hcBridge{l: b.l.With(args...), name: b.name, args: append(append([]any(nil), b.args...), args...)}
}

func (b *hcBridge) Name() string { return b.name }

func (b *hcBridge) Named(name string) hclog.Logger {
	if b.name != "" {
		name = b.name + "." + name
	}
	return b.ResetNamed(name)
}

func (b *hcBridge) ResetNamed(name string) hclog.Logger {
	return &hcBridge{l: b.l.With("logger", name), name: name, args: b.args}
}

// SetLevel is a no-op: the slog handler owns the level.
func (b *hcBridge) SetLevel(hclog.Level) {}

func (b *hcBridge) GetLevel() hclog.Level {
	for _, l := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn} {
		if b.enabled(l) {
			return l
		}
	}
	return hclog.Error
}

func (b *hcBridge) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(b.StandardWriter(opts), "", 0)
}

func (b *hcBridge) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return slog.NewLogLogger(b.l.Handler(), slog.LevelInfo).Writer()
}
