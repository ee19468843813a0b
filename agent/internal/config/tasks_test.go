package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testRoot = "sha256:" + "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12"

func TestTierAndTrustRoot(t *testing.T) {
	for _, c := range []struct {
		name string
		mod  func(*Config)
		want string // "" means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"monitor-only", func(c *Config) { c.Tier = TierMonitorOnly }, ""},
		{"bad tier", func(c *Config) { c.Tier = "reactive" }, `tier: "reactive": want proactive or monitor-only`},
		{"empty tier", func(c *Config) { c.Tier = "" }, `tier: ""`},
		{"trust root", func(c *Config) { c.TrustRoot = testRoot }, ""},
		{"bad trust root", func(c *Config) { c.TrustRoot = "sha256:zz" }, "trust_root: pin"},
		{"trust root without prefix", func(c *Config) { c.TrustRoot = strings.TrimPrefix(testRoot, "sha256:") }, "trust_root"},
		{"plugin env", func(c *Config) { c.Plugins.Env = []string{"VIGIL_REBOOT_COMMAND=/bin/true", "EMPTY="} }, ""},
		{"plugin env without =", func(c *Config) { c.Plugins.Env = []string{"VIGIL_REBOOT_COMMAND"} }, "plugins.env"},
		{"plugin env bad key", func(c *Config) { c.Plugins.Env = []string{"A-B=1"} }, "plugins.env"},
	} {
		cfg := Default()
		cfg.StateDir = t.TempDir()
		c.mod(&cfg)
		err := cfg.Validate()
		if got := errString(err); (c.want == "") != (err == nil) || !strings.Contains(got, c.want) {
			t.Errorf("%s: Validate() = %v, want %q", c.name, err, c.want)
		}
	}
	cfg := Default()
	if cfg.Tier != TierProactive || cfg.RootPin() != nil {
		t.Fatalf("defaults: tier %q, pin %x", cfg.Tier, cfg.RootPin())
	}
	cfg.TrustRoot = testRoot
	if p := cfg.RootPin(); len(p) != 32 || p[0] != 0xab {
		t.Fatalf("RootPin = %x", p)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestSetTrustRoot: enroll --trust-root creates config.json, or updates it
// keeping every other setting.
func TestSetTrustRoot(t *testing.T) {
	dir := t.TempDir()
	if err := SetTrustRoot(dir, "sha256:nothex"); err == nil {
		t.Fatal("a bad fingerprint was written")
	}
	if err := SetTrustRoot(dir, testRoot); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, ConfigFile)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config.json: %v, %v", fi, err)
	}
	c := Default()
	c.StateDir = dir
	if err := c.LoadFile(); err != nil || c.TrustRoot != testRoot {
		t.Fatalf("created: %v, trust_root %q", err, c.TrustRoot)
	}

	if err := os.WriteFile(path, []byte(`{"tier": "monitor-only", "metrics_interval": "30s", "trust_root": "sha256:old"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	other := "sha256:" + strings.Repeat("cd", 32)
	if err := SetTrustRoot(dir, other); err != nil {
		t.Fatal(err)
	}
	c = Default()
	c.StateDir = dir
	if err := c.LoadFile(); err != nil || c.TrustRoot != other || c.Tier != TierMonitorOnly || c.MetricsInterval.String() != "30s" {
		t.Fatalf("updated: %v, %+v", err, c)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode after update = %v", fi.Mode().Perm())
	}

	if err := os.WriteFile(path, []byte(`{broken`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := SetTrustRoot(dir, other); err == nil || !strings.Contains(err.Error(), ConfigFile) {
		t.Fatalf("broken config.json: %v", err)
	}
	b, _ := os.ReadFile(path)
	if !bytes.Equal(b, []byte(`{broken`)) {
		t.Fatalf("a broken file was replaced: %s", b)
	}
}
