package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/plugins/pkgupdate/apt/apttest"
)

const e2eDummy = "vigil-e2e-dummy"

// TestPatchStateRealApt runs the built agent with the real pkgupdate plugin
// against a local apt repository holding a dummy package in two versions:
// with 1.0 installed the technician sees exactly 2.0 pending, with 2.0
// installed nothing, and the history and inventory changes say when.
func TestPatchStateRealApt(t *testing.T) {
	apttest.Require(t, e2eDummy)
	repo := apttest.NewRepo(t, e2eDummy, "1.0", "2.0")
	repo.Install(t, "1.0")

	w := newWorld(t)
	w.startController()
	w.run(0, "vigilctl", "tenant", "create", "acme")
	root := w.setupSigning()
	id := w.enrollAgent("agent", "acme")
	w.agentConfig("agent", map[string]any{"trust_root": root, "tier": "proactive", "scans": map[string]any{"patch_params": repo.Params()}})
	w.startAgent("agent")
	w.waitFor("agent online", 20*time.Second, func() bool {
		var agents []agentJSON
		w.ctlJSON(&agents, "agents", "list")
		return len(agents) == 1 && agents[0].Online
	})

	type update struct {
		ID               string `json:"id"`
		Package          string `json:"package"`
		CurrentVersion   string `json:"current_version"`
		AvailableVersion string `json:"available_version"`
		Classification   string `json:"classification"`
	}
	var state struct {
		Summary struct {
			Pending  int `json:"pending"`
			LastScan *struct {
				Status string `json:"status"`
				Source string `json:"source"`
			} `json:"last_scan"`
		} `json:"summary"`
		Pending []update `json:"pending"`
	}
	rescan := func(kinds ...string) {
		t.Helper()
		args := []string{"agents", "rescan", id, "--wait", "--timeout", "90s"}
		if len(kinds) > 0 {
			args = append(args, "--kind", strings.Join(kinds, ","))
		}
		out := w.run(0, "vigilctl", args...)
		if !strings.Contains(out, "completed") {
			t.Fatalf("rescan --wait: %s", out)
		}
	}

	rescan() // every kind
	w.ctlJSON(&state, "patches", "show", id)
	if state.Summary.LastScan == nil || state.Summary.LastScan.Status != "ok" || state.Summary.LastScan.Source != "apt" {
		t.Fatalf("last scan: %+v", state.Summary.LastScan)
	}
	want := update{ID: e2eDummy, Package: e2eDummy, CurrentVersion: "1.0", AvailableVersion: "2.0", Classification: "update"}
	if len(state.Pending) != 1 || state.Pending[0] != want || state.Summary.Pending != 1 {
		t.Fatalf("pending with 1.0 installed: %+v, want exactly %+v", state.Pending, want)
	}
	var list []struct {
		AgentID string `json:"agent_id"`
		Pending int    `json:"pending"`
	}
	w.ctlJSON(&list, "patches", "list")
	if len(list) != 1 || list[0].AgentID != id || list[0].Pending != 1 {
		t.Fatalf("patches list: %+v", list)
	}

	// The technician upgrades it with a pkgupdate task; the next scan shows
	// nothing pending.
	args := []string{"task", "run", id, "--plugin", "pkgupdate", "--param", "packages=" + e2eDummy, "--follow"}
	for k, v := range repo.Params() {
		args = append(args, "--param", k+"="+v)
	}
	out := w.run(0, "vigilctl", args...)
	if !strings.Contains(out, "succeeded") {
		t.Fatalf("pkgupdate task: %s", out)
	}
	var detail struct {
		Task struct {
			Result struct {
				Detail json.RawMessage `json:"detail"`
			} `json:"result"`
		} `json:"task"`
	}
	var tasks []struct {
		ID string `json:"id"`
	}
	w.ctlJSON(&tasks, "task", "list", "--agent", id)
	w.ctlJSON(&detail, "task", "show", tasks[0].ID)
	got := strings.ReplaceAll(string(detail.Task.Result.Detail), " ", "")
	if !strings.Contains(got, `"from":"1.0"`) || !strings.Contains(got, `"to":"2.0"`) {
		t.Errorf("pkgupdate result detail %s, want %s upgraded from 1.0 to 2.0", got, e2eDummy)
	}
	rescan("patches", "inventory")
	w.ctlJSON(&state, "patches", "show", id)
	if len(state.Pending) != 0 || state.Summary.Pending != 0 {
		t.Fatalf("pending with 2.0 installed: %+v, want nothing", state.Pending)
	}

	var history []struct {
		Kind     string `json:"kind"`
		UpdateID string `json:"update_id"`
	}
	w.ctlJSON(&history, "patches", "history", id, "--since", "1h")
	var kinds []string
	for _, e := range history {
		if e.UpdateID == e2eDummy {
			kinds = append(kinds, e.Kind)
		}
	}
	if strings.Join(kinds, ",") != "appeared,disappeared" {
		t.Fatalf("history of %s: %v, want appeared,disappeared (all: %+v)", e2eDummy, kinds, history)
	}

	var changes []struct {
		Kind       string `json:"kind"`
		Name       string `json:"name"`
		OldVersion string `json:"old_version"`
		NewVersion string `json:"new_version"`
	}
	w.ctlJSON(&changes, "inventory", "changes", id, "--since", "1h")
	found := false
	for _, c := range changes {
		if c.Name == e2eDummy && c.Kind == "upgraded" && c.OldVersion == "1.0" && c.NewVersion == "2.0" {
			found = true
		}
	}
	if !found {
		t.Fatalf("inventory changes: %+v, want %s upgraded 1.0 -> 2.0", changes, e2eDummy)
	}

	var reboot struct {
		Signals []struct {
			Name string `json:"name"`
		} `json:"signals"`
	}
	w.ctlJSON(&reboot, "reboot-state", id)
	if len(reboot.Signals) == 0 {
		t.Fatalf("reboot-state lists no signals")
	}
}
