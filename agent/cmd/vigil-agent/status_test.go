package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/agent/internal/config"
	"github.com/vigil-rmm/vigil/agent/internal/taskrunner"
)

// TestStatusTable: `vigil-agent status` shows the tier, the pinned trust
// root and the running task the running agent wrote to status.json.
func TestStatusTable(t *testing.T) {
	state := t.TempDir()
	id, _ := json.Marshal(config.Identity{AgentID: "ag-1", Tenant: "acme", Controller: "127.0.0.1:7443"})
	since := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	running, _ := json.Marshal(agentStatus{AgentID: "ag-1", Tenant: "acme", Controller: "127.0.0.1:7443", UpdatedAt: time.Now(),
		Tier: config.TierMonitorOnly, TrustRoot: "sha256:ab12", Task: &taskrunner.Current{TaskID: "tk-1", Plugin: "script", Since: since}})
	idle, _ := json.Marshal(agentStatus{AgentID: "ag-1", UpdatedAt: time.Now()})
	if err := os.WriteFile(filepath.Join(state, config.IdentityFile), id, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		status    []byte
		want, not []string
	}{
		{"running a task", running,
			[]string{"tier monitor-only", "trust root sha256:ab12", "running task tk-1 (script, since 2026-03-01T10:00:00Z)"}, nil},
		{"idle, no tier or root recorded", idle, []string{"running task none"}, []string{"tier ", "trust root "}},
	} {
		if err := os.WriteFile(filepath.Join(state, config.StatusFile), c.status, 0o600); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		if err := cmdStatus([]string{"--state", state}, &stdout, &stderr); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		// Each line with its columns' padding folded to one space.
		var lines []string
		for _, l := range strings.Split(stdout.String(), "\n") {
			lines = append(lines, strings.Join(strings.Fields(l), " "))
		}
		for _, w := range c.want {
			if !slices.Contains(lines, w) {
				t.Errorf("%s: no line %q:\n%s", c.name, w, stdout.String())
			}
		}
		for _, n := range c.not {
			if slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, n) }) {
				t.Errorf("%s: a line starts with %q:\n%s", c.name, n, stdout.String())
			}
		}
	}
}
