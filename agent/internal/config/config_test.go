package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultValid(t *testing.T) {
	c := Default()
	c.StateDir = t.TempDir()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	c := Default()
	c.StateDir = dir
	if err := c.LoadFile(); err != nil {
		t.Fatalf("missing file must be fine: %v", err)
	}
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"metrics_interval": "30s", "outbox_max_reports": 500, "collectors": {"disk": {"timeout": "2s"}}}`)
	if err := c.LoadFile(); err != nil {
		t.Fatal(err)
	}
	if c.MetricsInterval.Std() != 30*time.Second || c.OutboxMaxReports != 500 || c.Collectors.Disk.Timeout.Std() != 2*time.Second {
		t.Fatalf("not applied: %+v", c)
	}
	if !c.Collectors.CPU.Enabled {
		t.Fatal("defaults lost for fields the file does not set")
	}
	for name, bad := range map[string]string{
		"typo":     `{"metrics_intervall": "30s"}`,
		"number":   `{"metrics_interval": 30}`,
		"not json": `metrics_interval=30s`,
	} {
		write(bad)
		c := Default()
		c.StateDir = dir
		if err := c.LoadFile(); err == nil || !strings.Contains(err.Error(), ConfigFile) {
			t.Errorf("%s: got %v, want an error naming the file", name, err)
		}
	}
}

func TestValidateNamesFields(t *testing.T) {
	c := Default()
	c.MetricsInterval = 0
	c.OutboxMaxReports = 1
	err := c.Validate()
	for _, want := range []string{"state: required", "metrics_interval", "outbox_max_reports"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to name %q", err, want)
		}
	}
}

func TestIdentity(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadIdentity(dir); !errors.Is(err, ErrNotEnrolled) {
		t.Fatalf("empty dir: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, IdentityFile), []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadIdentity(dir); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("corrupt identity: %v", err)
	}
	if err := WriteFileAtomic(filepath.Join(dir, IdentityFile), []byte(`{"agent_id":"ag-x","controller":"h:1"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	id, err := LoadIdentity(dir)
	if err != nil || id.AgentID != "ag-x" {
		t.Fatalf("%v %+v", err, id)
	}
}
