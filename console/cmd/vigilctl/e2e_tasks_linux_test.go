package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// jsonField reads one string field of a vigilctl -o json object.
func (w *world) jsonField(field string, args ...string) string {
	w.t.Helper()
	var m map[string]any
	w.ctlJSON(&m, args...)
	s, _ := m[field].(string)
	if s == "" {
		w.t.Fatalf("vigilctl %v: no %q in %v", args, field, m)
	}
	return s
}

// setupSigning creates the MSP root key, records it on the controller and
// certifies the admin's signing key, as docs/cli.md "Setting up signing"
// says; it returns the root fingerprint to pin on agents.
func (w *world) setupSigning() string {
	w.t.Helper()
	w.run(0, "vigilctl", "trust", "init", "--key", w.path("root.key"), "--set")
	root := w.jsonField("fingerprint", "trust", "show")
	w.run(0, "vigilctl", "keys", "generate")
	pub := w.jsonField("public_key", "keys", "show")
	w.run(0, "vigilctl", "trust", "certify", "--root", w.path("root.key"), "--principal", "admin", "--role", "admin",
		"--public-key", pub, "--register", "--out", w.path("admin.cert"))
	w.run(0, "vigilctl", "keys", "set-cert", w.path("admin.cert"))
	return root
}

// agentConfig writes the agent's config.json in its state directory.
func (w *world) agentConfig(state string, cfg map[string]any) {
	w.t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(w.path(state+"/config.json"), b, 0o600); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) waitOnline(id string) {
	w.t.Helper()
	w.waitFor("agent "+id+" online", 20*time.Second, func() bool {
		var agents []agentJSON
		w.ctlJSON(&agents, "agents", "list")
		for _, a := range agents {
			if a.ID == id && a.Online {
				return true
			}
		}
		return false
	})
}

// TestTasksEndToEnd: with the built binaries and real plugins, a signed
// script task streams its output to `task run --follow`; a monitor-only
// agent gets no task and never starts an action plugin.
func TestTasksEndToEnd(t *testing.T) {
	w := newWorld(t)
	w.startController()
	w.run(0, "vigilctl", "tenant", "create", "acme")
	root := w.setupSigning()

	id := w.enrollAgent("pro", "acme")
	w.agentConfig("pro", map[string]any{"trust_root": root, "tier": "proactive"})
	w.startAgent("pro")
	w.waitOnline(id)

	out := w.run(0, "vigilctl", "task", "run", id, "--plugin", "script",
		"--param", "script=echo hello from the script; echo to stderr >&2; for i in 1 2 3; do echo line $i; done", "--follow")
	for _, want := range []string{"hello from the script", "line 3", "to stderr", "accepted by agent", "succeeded"} {
		if !strings.Contains(out, want) {
			t.Errorf("task run --follow output lacks %q:\n%s", want, out)
		}
	}
	var tasks []struct {
		ID     string `json:"id"`
		State  string `json:"state"`
		Plugin string `json:"plugin"`
	}
	w.ctlJSON(&tasks, "task", "list", "--agent", id)
	if len(tasks) != 1 || tasks[0].State != "succeeded" || tasks[0].Plugin != "script" {
		t.Fatalf("task list: %+v", tasks)
	}
	// A failing script fails the task, and --follow says so with exit 1.
	out = w.run(1, "vigilctl", "task", "run", id, "--plugin", "script", "--param", "script=exit 7", "--follow")
	if !strings.Contains(out, "exit") {
		t.Errorf("failed task output: %s", out)
	}

	// Monitor-only: its own copy of the plugins, so its processes can be
	// told apart in the process list.
	moPlugins := w.path("mo-plugins")
	copyDir(t, filepath.Join(w.bin, "plugins"), moPlugins)
	mo := w.enrollAgent("mo", "acme")
	w.agentConfig("mo", map[string]any{"trust_root": root, "tier": "monitor-only", "plugins": map[string]any{"dir": moPlugins}})
	w.startAgent("mo")
	w.waitOnline(mo)
	refused := w.run(1, "vigilctl", "task", "run", mo, "--plugin", "script", "--param", "script=id")
	if !strings.Contains(refused, "monitor-only") {
		t.Fatalf("task for a monitor-only agent: %s", refused)
	}
	var plugins struct {
		Tier    string `json:"tier"`
		Plugins []struct {
			Name  string `json:"name"`
			Error string `json:"error"`
		} `json:"plugins"`
	}
	w.waitFor("the monitor-only agent's plugin list", 20*time.Second, func() bool {
		w.ctlJSON(&plugins, "plugins", "list", mo)
		return len(plugins.Plugins) > 0
	})
	if plugins.Tier != "monitor-only" {
		t.Errorf("plugins list tier %q", plugins.Tier)
	}
	for _, p := range plugins.Plugins {
		if p.Name != "pkgupdate" && !strings.Contains(p.Error, "monitor-only") {
			t.Errorf("plugin %s of a monitor-only agent: error %q, want not started", p.Name, p.Error)
		}
	}
	// The check can see plugin processes: the proactive agent's script
	// plugin, which ran the tasks above, is in the list.
	if pids := processesOf(t, filepath.Join(w.bin, "plugins", "script")); len(pids) == 0 {
		t.Fatal("no process of the proactive agent's script plugin found: the process check sees nothing")
	}
	for _, name := range []string{"script", "reboot", "service"} {
		if pids := processesOf(t, filepath.Join(moPlugins, name)); len(pids) > 0 {
			t.Errorf("action plugin %s runs for the monitor-only agent: pids %v", name, pids)
		}
	}
}

// processesOf lists the pids whose executable is exe.
func processesOf(t *testing.T, exe string) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && strings.TrimSuffix(target, " (deleted)") == exe {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}
