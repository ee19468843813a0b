package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
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
	// Retention is how long metric samples are kept; whole days are dropped.
	Retention Duration `json:"retention"`
	// LastSeenFlush is how often in-memory last-seen times are persisted.
	LastSeenFlush Duration `json:"last_seen_flush"`
	// ShutdownTimeout bounds graceful stop before streams are cut.
	ShutdownTimeout Duration `json:"shutdown_timeout"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `json:"log_level"`
	// LogFormat is text or json.
	LogFormat string `json:"log_format"`
}

// Duration is a time.Duration that reads and writes as "10m" in JSON.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string such as \"10m\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Default returns the defaults.
func Default() Config {
	return Config{
		DataDir:         "./var/ctl",
		AgentListen:     "127.0.0.1:7443",
		APIListen:       "127.0.0.1:7444",
		Retention:       Duration(10 * 24 * time.Hour),
		LastSeenFlush:   Duration(30 * time.Second),
		ShutdownTimeout: Duration(5 * time.Second),
		LogLevel:        "info",
		LogFormat:       "text",
	}
}

// LoadFile overlays a JSON config file on c. Unknown fields are errors.
func (c *Config) LoadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
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
	if c.AgentListen == c.APIListen && !strings.HasSuffix(c.AgentListen, ":0") {
		errs = append(errs, errors.New("agent_listen and api_listen: must differ"))
	}
	if time.Duration(c.Retention) < 24*time.Hour {
		errs = append(errs, fmt.Errorf("retention: %s is less than one day", time.Duration(c.Retention)))
	}
	if time.Duration(c.LastSeenFlush) < time.Second {
		errs = append(errs, fmt.Errorf("last_seen_flush: %s is less than 1s", time.Duration(c.LastSeenFlush)))
	}
	if time.Duration(c.ShutdownTimeout) <= 0 {
		errs = append(errs, errors.New("shutdown_timeout: must be > 0"))
	}
	return errors.Join(errs...)
}
