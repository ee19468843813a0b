//go:build unix

package pluginhost_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/agent/internal/pluginhost"
	"github.com/vigil-rmm/vigil/plugins/sdk"
)

// realHost builds ./plugins/cmd/vigil-plugin-<name> into a fresh dir,
// writes its manifest and returns a Host over it with env added to the
// plugin's environment.
func realHost(t *testing.T, name string, env ...string) *pluginhost.Host {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", bin, "github.com/vigil-rmm/vigil/plugins/cmd/vigil-plugin-"+name)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, out)
	}
	manifest := filepath.Join(t.TempDir(), "manifest.json")
	if err := pluginhost.WriteManifest(manifest, dir, name); err != nil {
		t.Fatal(err)
	}
	h, err := pluginhost.New(pluginhost.Config{Dir: dir, Manifest: manifest, CallTimeout: time.Minute, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// runEvents runs the named plugin through h and collects its events.
func runEvents(t *testing.T, ctx context.Context, h *pluginhost.Host, name string, params map[string]string) ([]*sdk.RunEvent, error) {
	t.Helper()
	c, err := h.Client(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	var events []*sdk.RunEvent
	err = c.Run(ctx, &sdk.RunRequest{TaskId: "task-1", Parameters: params}, func(ev *sdk.RunEvent) error {
		events = append(events, ev)
		return nil
	})
	return events, err
}

func lastResult(t *testing.T, events []*sdk.RunEvent) (*sdk.RunEvent, map[string]any) {
	t.Helper()
	if len(events) == 0 || events[len(events)-1].GetResult() == nil {
		t.Fatalf("last event is not a result: %v", events)
	}
	last := events[len(events)-1]
	var d map[string]any
	if err := json.Unmarshal(last.GetResult().GetDetail(), &d); err != nil {
		t.Fatalf("detail: %v", err)
	}
	return last, d
}

func capabilities(t *testing.T, h *pluginhost.Host) []string {
	t.Helper()
	infos, err := h.Discover(t.Context())
	if err != nil || len(infos) != 1 {
		t.Fatalf("Discover = %v, %v", infos, err)
	}
	return infos[0].Info.GetCapabilities()
}

func TestRealScriptPlugin(t *testing.T) {
	h := realHost(t, "script")
	if got := capabilities(t, h); !slices.Equal(got, []string{sdk.CapRun}) {
		t.Errorf("capabilities %q", got)
	}
	events, err := runEvents(t, t.Context(), h, "script", map[string]string{"script": "echo hello\necho warn >&2\nexit 3\n"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range events {
		if l := ev.GetLog(); l != nil {
			out = append(out, l.GetStream().String()+" "+l.GetLine())
		}
	}
	slices.Sort(out)
	if !slices.Equal(out, []string{"STREAM_STDERR warn", "STREAM_STDOUT hello"}) {
		t.Errorf("log lines %q", out)
	}
	last, d := lastResult(t, events)
	if r := last.GetResult(); r.GetOk() || r.GetExitCode() != 3 || d["exit_code"] != 3.0 {
		t.Errorf("result %v", r)
	}
}

// TestRealScriptTimeoutKillsChildren checks that the script's own timeout
// kills what it started, with the plugin process still serving.
func TestRealScriptTimeoutKillsChildren(t *testing.T) {
	h := realHost(t, "script")
	events, err := runEvents(t, t.Context(), h, "script", map[string]string{"script": "sleep 300 &\necho $!\nwait\n", "timeout": "1s"})
	if err != nil {
		t.Fatal(err)
	}
	last, d := lastResult(t, events)
	if last.GetResult().GetOk() || d["timed_out"] != true {
		t.Errorf("result %v", last.GetResult())
	}
	waitGone(t, childPid(t, events))
}

// TestRealScriptCancelKillsScript cancels the task from the host side. The
// host asks the plugin to shut down and then kills the plugin's process
// group; the script's shell (its own process group's leader) dies by the
// plugin's own group kill or with the plugin (Pdeathsig), whichever comes
// first. A background child of the script may survive when the host's
// kill wins, so only the shell is checked.
func TestRealScriptCancelKillsScript(t *testing.T) {
	h := realHost(t, "script")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	c, err := h.Client(ctx, "script")
	if err != nil {
		t.Fatal(err)
	}
	pid := 0
	err = c.Run(ctx, &sdk.RunRequest{Parameters: map[string]string{"script": "echo $$\nsleep 300\n"}}, func(ev *sdk.RunEvent) error {
		if n, err := strconv.Atoi(ev.GetLog().GetLine()); err == nil {
			pid = n
			cancel()
		}
		return nil
	})
	if pid > 1 {
		t.Cleanup(func() { _ = syscall.Kill(-pid, syscall.SIGKILL) }) // a surviving sleep
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run err = %v, want context.Canceled", err)
	}
	waitGone(t, pid)
}

func TestRealRebootPluginWithOverride(t *testing.T) {
	dir := t.TempDir()
	record := filepath.Join(dir, "args")
	fake := filepath.Join(dir, "fake-reboot")
	script := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > " + record + "\necho scheduled\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	h := realHost(t, "reboot", "VIGIL_REBOOT_COMMAND="+fake)
	if got := capabilities(t, h); !slices.Equal(got, []string{"downtime", sdk.CapRun}) {
		t.Errorf("capabilities %q", got)
	}
	before := time.Now()
	events, err := runEvents(t, t.Context(), h, "reboot", map[string]string{"delay": "2m", "message": "patch night; back soon"})
	if err != nil {
		t.Fatal(err)
	}
	last, d := lastResult(t, events)
	if r := last.GetResult(); !r.GetOk() || d["rebooting"] != true {
		t.Fatalf("result %v", r)
	}
	at, err := time.Parse(time.RFC3339, fmt.Sprint(d["at"]))
	if err != nil || at.Before(before.Add(2*time.Minute-time.Second)) || at.After(time.Now().Add(2*time.Minute)) {
		t.Errorf("at %v (%v)", d["at"], err)
	}
	b, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"); !slices.Equal(got, []string{"-r", "--", "+2", "patch night; back soon"}) {
		t.Errorf("fake reboot got args %q", got)
	}
	if !slices.ContainsFunc(events, func(ev *sdk.RunEvent) bool { return ev.GetLog().GetLine() == "scheduled" }) {
		t.Errorf("command output not streamed: %v", events)
	}
}

func TestRealServicePluginWithOverride(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	fake := filepath.Join(dir, "fake-systemctl")
	script := `#!/bin/sh
case "$1" in
show) echo LoadState=loaded; echo "ActiveState=$(cat ` + state + ` 2>/dev/null || echo inactive)"; echo SubState=x ;;
start|restart) echo active > ` + state + ` ;;
stop) echo inactive > ` + state + ` ;;
esac
`
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	h := realHost(t, "service", "VIGIL_SERVICE_COMMAND="+fake)
	if got := capabilities(t, h); !slices.Equal(got, []string{sdk.CapRun}) {
		t.Errorf("capabilities %q", got)
	}
	events, err := runEvents(t, t.Context(), h, "service", map[string]string{"name": "demo.service", "action": "start"})
	if err != nil {
		t.Fatal(err)
	}
	last, d := lastResult(t, events)
	if !last.GetResult().GetOk() || d["state_before"] != "inactive/x" || d["state_after"] != "active/x" {
		t.Errorf("result %v", last.GetResult())
	}
}

func childPid(t *testing.T, events []*sdk.RunEvent) int {
	t.Helper()
	for _, ev := range events {
		if n, err := strconv.Atoi(ev.GetLog().GetLine()); err == nil {
			return n
		}
	}
	t.Fatalf("no pid line in %v", events)
	return 0
}

// waitGone waits until pid no longer runs (absent or a zombie).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	if pid <= 1 {
		t.Fatalf("bad pid %d", pid)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		s := string(b)
		zombie := false
		if i := strings.LastIndexByte(s, ')'); i >= 0 && len(s) > i+2 {
			zombie = s[i+2] == 'Z'
		}
		if syscall.Kill(pid, 0) != nil || zombie {
			return
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d still runs", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
