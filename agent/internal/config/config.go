// Package config is vigil-agent's configuration and on-disk state layout.
//
// The state directory (mode 0700) holds:
//
//	identity.json   agent id, tenant, controller address, CA pin (written by enroll)
//	agent-key.pem   the agent's private key, generated on this host (0600)
//	agent.pem       the client certificate the controller signed
//	ca.pem          the controller CA, matched against the pin at enrollment
//	config.json     optional operator settings (see Config); flags override it
//	outbox.db       reports not yet acknowledged by the controller
//	facts.sha256    hash of the last facts report, so facts are sent only on change
//	status.json     what `vigil-agent status` shows, rewritten by the running agent
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vigil-rmm/vigil/internal/duration"
	"github.com/vigil-rmm/vigil/internal/jsonfile"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-rmm/vigil/agent/internal/collector"
)

// File names in the state directory.
const (
	IdentityFile = "identity.json"
	KeyFile      = "agent-key.pem"
	CertFile     = "agent.pem"
	CAFile       = "ca.pem"
	ConfigFile   = "config.json"
	OutboxFile   = "outbox.db"
	FactsFile    = "facts.sha256"
	StatusFile   = "status.json"
)

// Config is the agent's run-time configuration.
type Config struct {
	// StateDir is where identity, keys and the outbox live.
	StateDir string `json:"-"`
	// MetricsInterval is the time between samples.
	MetricsInterval duration.Duration `json:"metrics_interval"`
	// OutboxMaxReports bounds the outbox; the oldest samples go first.
	OutboxMaxReports int `json:"outbox_max_reports"`
	// BackoffBase and BackoffMax shape reconnect delays (full jitter).
	BackoffBase duration.Duration `json:"backoff_base"`
	BackoffMax  duration.Duration `json:"backoff_max"`
	// LogLevel is debug, info, warn or error; LogFormat text or json.
	LogLevel  string `json:"log_level"`
	LogFormat string `json:"log_format"`
	// Collectors configures each collector.
	Collectors collector.Config `json:"collectors"`
}

// Default returns the defaults.
func Default() Config {
	return Config{
		MetricsInterval:  duration.Duration(60 * time.Second),
		OutboxMaxReports: 20000,
		BackoffBase:      duration.Duration(time.Second),
		BackoffMax:       duration.Duration(5 * time.Minute),
		LogLevel:         "info",
		LogFormat:        "text",
		Collectors:       collector.Default(),
	}
}

// LoadFile overlays StateDir/config.json if it exists. Unknown fields are
// errors.
func (c *Config) LoadFile() error {
	err := jsonfile.Decode(filepath.Join(c.StateDir, ConfigFile), c)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Validate names every bad field.
func (c Config) Validate() error {
	var errs []error
	if c.StateDir == "" {
		errs = append(errs, errors.New("state: required"))
	}
	if time.Duration(c.MetricsInterval) < time.Second {
		errs = append(errs, fmt.Errorf("metrics_interval: %s is less than 1s", time.Duration(c.MetricsInterval)))
	}
	if c.OutboxMaxReports < 10 {
		errs = append(errs, fmt.Errorf("outbox_max_reports: %d is less than 10", c.OutboxMaxReports))
	}
	if c.BackoffBase <= 0 || c.BackoffMax < c.BackoffBase {
		errs = append(errs, fmt.Errorf("backoff_base, backoff_max: want 0 < base <= max, have %s, %s",
			time.Duration(c.BackoffBase), time.Duration(c.BackoffMax)))
	}
	if err := c.Collectors.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Identity is what enrollment produced.
type Identity struct {
	AgentID    string    `json:"agent_id"`
	Tenant     string    `json:"tenant"`
	Controller string    `json:"controller"`
	CAPin      string    `json:"ca_pin"`
	EnrolledAt time.Time `json:"enrolled_at"`
}

// ErrNotEnrolled means the state directory has no identity.
var ErrNotEnrolled = errors.New("not enrolled: run `vigil-agent enroll` first")

// LoadIdentity reads the identity from dir.
func LoadIdentity(dir string) (*Identity, error) {
	path := filepath.Join(dir, IdentityFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", dir, ErrNotEnrolled)
	}
	if err != nil {
		return nil, fmt.Errorf("state dir %s unreadable: %w", dir, err)
	}
	var id Identity
	if err := json.Unmarshal(b, &id); err != nil {
		return nil, fmt.Errorf("%s is corrupt (%v); re-enroll with --force", path, err)
	}
	if id.AgentID == "" || id.Controller == "" {
		return nil, fmt.Errorf("%s is incomplete; re-enroll with --force", path)
	}
	return &id, nil
}

// WriteFileAtomic writes data to path via a temporary file and rename, so a
// crash never leaves a half-written file.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
