package server

import (
	"errors"
	"fmt"
	"github.com/vigil-rmm/vigil/internal/duration"
	"github.com/vigil-rmm/vigil/internal/jsonfile"
	"net"
	"strings"
	"time"
)

// Config is vigil-controller's configuration. A JSON file may set any
// field; flags override the file.
type Config struct {
	// DataDir holds the stores and the CA. It is created at init with mode 0700.
	DataDir string `json:"data_dir"`
	// AgentListen is the address agents dial (mTLS).
	AgentListen string `json:"agent_listen"`
	// APIListen is the address vigilctl and the console dial (TLS + token).
	APIListen string `json:"api_listen"`
	// DebugListen, if set, serves pprof and /debug/vars (unauthenticated:
	// keep it on loopback).
	DebugListen string `json:"debug_listen"`
	// Retention is how long metric samples are kept; whole days are dropped.
	Retention duration.Duration `json:"retention"`
	// LastSeenFlush is how often in-memory last-seen times are persisted.
	LastSeenFlush duration.Duration `json:"last_seen_flush"`
	// ShutdownTimeout bounds graceful stop before streams are cut.
	ShutdownTimeout duration.Duration `json:"shutdown_timeout"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `json:"log_level"`
	// LogFormat is text or json.
	LogFormat string `json:"log_format"`

	// Notify configures notification delivery: the SMTP relay, the SMS
	// provider, retries (wire_notify.go).
	Notify NotifyConfig `json:"notify"`
	// Checks configures the network checker (wire_checks.go).
	Checks ChecksConfig `json:"checks"`
	// Alerts configures alert evaluation (wire_alerts.go).
	Alerts AlertsConfig `json:"alerts"`
}

// Default returns the defaults.
func Default() Config {
	return Config{
		DataDir:         "./var/ctl",
		AgentListen:     "127.0.0.1:7443",
		APIListen:       "127.0.0.1:7444",
		Retention:       duration.Duration(10 * 24 * time.Hour),
		LastSeenFlush:   duration.Duration(30 * time.Second),
		ShutdownTimeout: duration.Duration(5 * time.Second),
		LogLevel:        "info",
		LogFormat:       "text",
	}
}

// LoadFile overlays a JSON config file on c. Unknown fields are errors.
func (c *Config) LoadFile(path string) error { return jsonfile.Decode(path, c) }

// outside reports whether v is set (zero means the default) and not within
// lo to hi: the range check of every optional number in the config.
func outside[T int | time.Duration](v, lo, hi T) bool {
	return v != 0 && (v < lo || v > hi)
}

// Validate checks every field and names the first bad one.
func (c Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir: required"))
	}
	for name, addr := range map[string]string{"agent_listen": c.AgentListen, "api_listen": c.APIListen} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not host:port", name, addr))
		}
	}
	if c.DebugListen != "" {
		if host, _, err := net.SplitHostPort(c.DebugListen); err != nil {
			errs = append(errs, fmt.Errorf("debug_listen: %q is not host:port", c.DebugListen))
		} else if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			errs = append(errs, fmt.Errorf("debug_listen: %q is not a loopback address; the debug endpoint has no authentication", c.DebugListen))
		}
	}
	if c.AgentListen == c.APIListen && !strings.HasSuffix(c.AgentListen, ":0") {
		errs = append(errs, errors.New("agent_listen and api_listen: must differ"))
	}
	if time.Duration(c.Retention) < 24*time.Hour {
		errs = append(errs, fmt.Errorf("retention: %s is less than one day", time.Duration(c.Retention)))
	}
	errs = append(errs, c.Notify.validate()...)
	errs = append(errs, c.Checks.validate()...)
	errs = append(errs, c.Alerts.validate()...)
	if time.Duration(c.LastSeenFlush) < time.Second {
		errs = append(errs, fmt.Errorf("last_seen_flush: %s is less than 1s", time.Duration(c.LastSeenFlush)))
	}
	if time.Duration(c.ShutdownTimeout) <= 0 {
		errs = append(errs, errors.New("shutdown_timeout: must be > 0"))
	}
	return errors.Join(errs...)
}
