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
//	journal.db      the tasks this agent accepted, and their nonces
//	facts.sha256    hash of the last facts report, so facts are sent only on change
//	scan-state.json last patch/reboot/inventory read times and hashes, and
//	                since when each reboot signal has been present
//	plugins.sha256  hash of the last plugin list report, so it is sent only on change
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
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/vigil-rmm/vigil/agent/internal/checkrunner"
	"github.com/vigil-rmm/vigil/agent/internal/collector"
	"github.com/vigil-rmm/vigil/internal/pin"
)

// File names in the state directory.
const (
	IdentityFile = "identity.json"
	KeyFile      = "agent-key.pem"
	CertFile     = "agent.pem"
	CAFile       = "ca.pem"
	ConfigFile   = "config.json"
	OutboxFile   = "outbox.db"
	JournalFile  = "journal.db"
	PluginsFile  = "plugins.sha256"
	FactsFile    = "facts.sha256"
	ScanFile     = "scan-state.json"
	StatusFile   = "status.json"
)

// Service tiers (Config.Tier).
const (
	// TierProactive lets signed tasks run.
	TierProactive = "proactive"
	// TierMonitorOnly refuses every task and starts no plugin but the
	// scanners.
	TierMonitorOnly = "monitor-only"
)

// Config is the agent's run-time configuration.
type Config struct {
	// StateDir is where identity, keys and the outbox live.
	StateDir string `json:"-"`
	// Tier is the client's service tier: "proactive" (default; signed
	// tasks may run) or "monitor-only" (every task is refused and
	// reported; only the scanner plugins start). It is set here, on the
	// client's server; the controller cannot change it.
	Tier string `json:"tier"`
	// TrustRoot is the MSP root key's fingerprint ("sha256:<hex>", from
	// `vigilctl trust init`). Tasks are verified against it; without it
	// every task is refused.
	TrustRoot string `json:"trust_root"`
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
	// Scans configures the patch, reboot and inventory reads.
	Scans Scans `json:"scans"`
	// Plugins locates the plugin binaries and their checksum manifest.
	Plugins Plugins `json:"plugins"`
	// Checks is the local policy for network checks the controller asks
	// this agent to run as a vantage point.
	Checks Checks `json:"checks"`
}

// Checks is the agent's local policy for vantage checks
// (agent/internal/checkrunner). It holds in either tier: a check only
// reads, so monitor-only allows it unless Vantage is off.
type Checks struct {
	// Vantage allows vantage checks (default true). Off, the agent does
	// not announce the "checks" capability and refuses every run.
	Vantage bool `json:"vantage"`
	// Allow, when not empty, lists the only targets a check may reach:
	// addresses, CIDR prefixes ("10.0.0.0/8", names are resolved first)
	// and host name patterns ("*.corp.lan"). Empty means any target.
	Allow []string `json:"allow"`
	// Deny lists targets no check may reach, in the same forms; it wins
	// over Allow.
	Deny []string `json:"deny"`
	// MaxConcurrent caps the checks running at once (default 4).
	MaxConcurrent int `json:"max_concurrent"`
}

// MaxCheckRules bounds checks.allow and checks.deny.
const MaxCheckRules = 256

// Validate names every bad field.
func (c Checks) Validate() error {
	var errs []error
	for _, l := range []struct {
		name string
		list []string
	}{{"checks.allow", c.Allow}, {"checks.deny", c.Deny}} {
		name, list := l.name, l.list
		if len(list) > MaxCheckRules {
			errs = append(errs, fmt.Errorf("%s: %d entries, limit %d", name, len(list), MaxCheckRules))
		}
		if _, err := checkrunner.ParseRules(list); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if c.MaxConcurrent < 1 || c.MaxConcurrent > 64 {
		errs = append(errs, fmt.Errorf("checks.max_concurrent: %d, want 1 to 64", c.MaxConcurrent))
	}
	return errors.Join(errs...)
}

// Policy returns the checkrunner policy. Call it on a validated Config.
func (c Checks) Policy() checkrunner.Policy {
	allow, _ := checkrunner.ParseRules(c.Allow)
	deny, _ := checkrunner.ParseRules(c.Deny)
	return checkrunner.Policy{Vantage: c.Vantage, Allow: allow, Deny: deny, MaxConcurrent: c.MaxConcurrent}
}

// Scans configures the slow reads (agent/internal/scanner).
type Scans struct {
	// Disable lists kinds not to read: "patches", "reboot", "inventory".
	Disable []string `json:"disable"`
	// PatchInterval is the time between patch scans (default 6h).
	PatchInterval duration.Duration `json:"patch_interval"`
	// PatchTimeout bounds one patch scan; the scanner plugin is killed
	// after it (default 30m).
	PatchTimeout duration.Duration `json:"patch_timeout"`
	// PatchPlugin names the scanner plugin; "" picks windowsupdate on
	// Windows and pkgupdate elsewhere.
	PatchPlugin string `json:"patch_plugin"`
	// PatchParams are passed to the scanner plugin's Inspect (for example
	// {"online": "false"} for windowsupdate, {"refresh": "true"} for
	// pkgupdate).
	PatchParams map[string]string `json:"patch_params"`
	// RebootInterval is the time between reboot-state reads (default 15m).
	RebootInterval duration.Duration `json:"reboot_interval"`
	// RebootIncludeWeak counts weak signals (PendingFileRenameOperations,
	// UpdateExeVolatile) towards a pending reboot.
	RebootIncludeWeak bool `json:"reboot_include_weak"`
	// RebootIgnore lists signal names that never count.
	RebootIgnore []string `json:"reboot_ignore"`
	// InventoryInterval is the time between inventory reads (default 24h).
	InventoryInterval duration.Duration `json:"inventory_interval"`
	// InventoryQueryTimeout bounds each inventory query (default 30s).
	InventoryQueryTimeout duration.Duration `json:"inventory_query_timeout"`
}

// Enabled reports whether kind ("patches", "reboot", "inventory") is read.
func (s Scans) Enabled(kind string) bool { return !slices.Contains(s.Disable, kind) }

// Plugins locates the plugins.
type Plugins struct {
	// Dir holds the plugin binaries; "" means the "plugins" directory next
	// to the vigil-agent executable. It must be writable only by the
	// agent's account.
	Dir string `json:"dir"`
	// Manifest is the checksum manifest; "" means Dir/manifest.json.
	Manifest string `json:"manifest"`
	// Env is added to the plugins' minimal environment, "KEY=value" each
	// (for example a plugin's own settings).
	Env []string `json:"env"`
}

// envKey is what an environment variable name in plugins.env may look like.
var envKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// Default returns the defaults.
func Default() Config {
	return Config{
		MetricsInterval:  duration.Duration(60 * time.Second),
		OutboxMaxReports: 20000,
		BackoffBase:      duration.Duration(time.Second),
		BackoffMax:       duration.Duration(5 * time.Minute),
		LogLevel:         "info",
		LogFormat:        "text",
		Tier:             TierProactive,
		Collectors:       collector.Default(),
		Scans: Scans{
			PatchInterval:         duration.Duration(6 * time.Hour),
			PatchTimeout:          duration.Duration(30 * time.Minute),
			RebootInterval:        duration.Duration(15 * time.Minute),
			InventoryInterval:     duration.Duration(24 * time.Hour),
			InventoryQueryTimeout: duration.Duration(30 * time.Second),
		},
		Checks: Checks{Vantage: true, MaxConcurrent: checkrunner.DefaultMaxConcurrent},
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
	if err := c.Scans.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Checks.Validate(); err != nil {
		errs = append(errs, err)
	}
	for name, p := range map[string]string{"plugins.dir": c.Plugins.Dir, "plugins.manifest": c.Plugins.Manifest} {
		if p != "" && !filepath.IsAbs(p) {
			errs = append(errs, fmt.Errorf("%s: %q is not an absolute path", name, p))
		}
	}
	for _, kv := range c.Plugins.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || !envKey.MatchString(k) {
			errs = append(errs, fmt.Errorf("plugins.env: %q: want KEY=value", kv))
		}
	}
	if len(c.Plugins.Env) > 64 {
		errs = append(errs, fmt.Errorf("plugins.env: %d entries, limit 64", len(c.Plugins.Env)))
	}
	if c.Tier != TierProactive && c.Tier != TierMonitorOnly {
		errs = append(errs, fmt.Errorf("tier: %q: want %s or %s", c.Tier, TierProactive, TierMonitorOnly))
	}
	if c.TrustRoot != "" {
		if _, err := pin.Parse(c.TrustRoot); err != nil {
			errs = append(errs, fmt.Errorf("trust_root: %w (the fingerprint printed by `vigilctl trust init`)", err))
		}
	}
	return errors.Join(errs...)
}

// RootPin returns the pinned trust root digest, or nil when none is set.
// Call it on a validated Config.
func (c Config) RootPin() []byte {
	d, _ := pin.Parse(c.TrustRoot) // nil for "" and for a bad pin
	return d
}

// SetTrustRoot writes trust_root into dir's config.json (mode 0600),
// creating the file or keeping every other setting in it.
func SetTrustRoot(dir, fingerprint string) error {
	if _, err := pin.Parse(fingerprint); err != nil {
		return fmt.Errorf("trust root: %w", err)
	}
	path := filepath.Join(dir, ConfigFile)
	doc := map[string]json.RawMessage{}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	default:
		if err := json.Unmarshal(b, &doc); err != nil {
			return fmt.Errorf("%s: %w; fix or remove it", path, err)
		}
	}
	v, err := json.Marshal(strings.TrimSpace(fingerprint))
	if err != nil {
		return err
	}
	doc["trust_root"] = v
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, append(out, '\n'), 0o600)
}

// Validate names every bad field.
func (s Scans) Validate() error {
	var errs []error
	for _, k := range s.Disable {
		if k != "patches" && k != "reboot" && k != "inventory" {
			errs = append(errs, fmt.Errorf("scans.disable: %q is not patches, reboot or inventory", k))
		}
	}
	for _, d := range []struct {
		name string
		v    duration.Duration
		min  time.Duration
	}{
		{"scans.patch_interval", s.PatchInterval, 5 * time.Minute},
		{"scans.patch_timeout", s.PatchTimeout, 10 * time.Second},
		{"scans.reboot_interval", s.RebootInterval, 10 * time.Second},
		{"scans.inventory_interval", s.InventoryInterval, 5 * time.Minute},
		{"scans.inventory_query_timeout", s.InventoryQueryTimeout, time.Second},
	} {
		if time.Duration(d.v) < d.min {
			errs = append(errs, fmt.Errorf("%s: %s is less than %s", d.name, time.Duration(d.v), d.min))
		}
	}
	if len(s.PatchParams) > 32 {
		errs = append(errs, fmt.Errorf("scans.patch_params: %d entries, limit 32", len(s.PatchParams)))
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
