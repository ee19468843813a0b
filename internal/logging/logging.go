// Package logging builds the slog.Logger each binary injects into its
// components. There is no global logger: components receive one and add
// their own "component" attribute.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Options selects the output.
type Options struct {
	// Level is debug, info, warn or error.
	Level string
	// Format is text or json.
	Format string
}

// ParseLevel turns a level name into a slog.Level.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
}

// New returns a logger writing to w.
func New(w io.Writer, o Options) (*slog.Logger, error) {
	lvl, err := ParseLevel(o.Level)
	if err != nil {
		return nil, err
	}
	ho := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(o.Format) {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, ho)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", o.Format)
}

// Discard returns a logger that drops everything, for tests and libraries.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
