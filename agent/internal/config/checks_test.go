package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestChecksSection(t *testing.T) {
	dir := t.TempDir()
	c := Default()
	c.StateDir = dir
	if !c.Checks.Vantage || c.Checks.MaxConcurrent != 4 || len(c.Checks.Allow) != 0 {
		t.Fatalf("defaults = %+v; want vantage on, 4 at once, any target", c.Checks)
	}
	doc := `{"checks": {"vantage": false, "allow": ["10.0.0.0/8", "*.corp.lan"], "deny": ["10.0.0.1"], "max_concurrent": 2}}`
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.LoadFile(); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	p := c.Checks.Policy()
	if p.Vantage || len(p.Allow) != 2 || len(p.Deny) != 1 || p.MaxConcurrent != 2 {
		t.Fatalf("policy = %+v", p)
	}
}

func TestChecksValidateNamesFields(t *testing.T) {
	c := Default()
	c.StateDir = t.TempDir()
	c.Checks.Allow = []string{"10.0.0.0/40"}
	c.Checks.Deny = []string{"bad host"}
	c.Checks.MaxConcurrent = 0
	err := c.Validate()
	for _, want := range []string{"checks.allow", "10.0.0.0/40", "checks.deny", "bad host", "checks.max_concurrent"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v; want it to name %q", err, want)
		}
	}
}
