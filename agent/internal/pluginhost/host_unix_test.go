//go:build unix

package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/plugins/sdk"
)

var testPluginBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "pluginhost-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	testPluginBin = filepath.Join(dir, "testplugin")
	cmd := exec.Command("go", "build", "-o", testPluginBin, "github.com/vigil-rmm/vigil/plugins/sdk/internal/testplugin")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build testplugin:", err)
		return 1
	}
	return m.Run()
}

// newHost copies the test plugin into a fresh dir as "testplugin", writes
// a manifest with its checksum and returns a Host over it.
func newHost(t *testing.T, timeout time.Duration) *Host {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(testPluginBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "testplugin"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	h := mustHost(t, dir, map[string]string{"testplugin": hex.EncodeToString(sum[:])}, timeout)
	return h
}

func mustHost(t *testing.T, dir string, manifest map[string]string, timeout time.Duration) *Host {
	t.Helper()
	mb, err := json.Marshal(manifest)
	if err != nil {
		t.Fatal(err)
	}
	mpath := filepath.Join(t.TempDir(), "manifest.json")
	if err := os.WriteFile(mpath, mb, 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{
		Dir:         dir,
		Manifest:    mpath,
		Logger:      slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		CallTimeout: timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// gone reports whether pid no longer runs (absent or a zombie).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && len(s) > i+2 {
		return s[i+2] == 'Z'
	}
	return false
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !gone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestChecksumMismatchNotStarted(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "started")
	script := "#!/bin/sh\ntouch " + marker + "\n"
	if err := os.WriteFile(filepath.Join(dir, "bad"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	h := mustHost(t, dir, map[string]string{"bad": strings.Repeat("00", 32)}, time.Minute)
	_, err := h.Client(t.Context(), "bad")
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("Client err = %v, want ErrChecksum", err)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the binary ran (marker: %v)", err)
	}
	if _, err := h.Client(t.Context(), "nope"); !errors.Is(err, ErrUnknownPlugin) {
		t.Fatalf("unknown plugin err = %v", err)
	}
}

func TestInfoInspectRun(t *testing.T) {
	h := newHost(t, time.Minute)
	ctx := t.Context()
	infos, err := h.Discover(ctx)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if len(infos) != 1 || infos[0].Name != "testplugin" || infos[0].Info.GetVersion() != "0.0.1" {
		t.Fatalf("Discover = %v", infos)
	}
	if got := strings.Join(infos[0].Info.GetCapabilities(), ","); got != "inspect,run" {
		t.Fatalf("capabilities = %s", got)
	}
	c, err := h.Client(ctx, "testplugin")
	if err != nil {
		t.Fatal(err)
	}
	ir, err := c.Inspect(ctx, map[string]string{"echo": "hi"})
	if err != nil || ir.GetSummary() != "echo hi" {
		t.Fatalf("Inspect = %v, %v", ir, err)
	}
	var events []*sdk.RunEvent
	err = c.Run(ctx, &sdk.RunRequest{TaskId: "t1", Parameters: map[string]string{"mode": "ok", "n": "4"}},
		func(ev *sdk.RunEvent) error { events = append(events, ev); return nil })
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(events) != 5 {
		t.Fatalf("got %d events, want 4 progress + result: %v", len(events), events)
	}
	for i, ev := range events[:4] {
		if p := ev.GetProgress(); p.GetPercent() != int32((i+1)*25) {
			t.Fatalf("event %d = %v", i, ev)
		}
	}
	if r := events[4].GetResult(); !r.GetOk() || r.GetSummary() != "done t1" {
		t.Fatalf("result = %v", events[4])
	}
}

func TestHungRunKilledWithChildren(t *testing.T) {
	h := newHost(t, time.Minute)
	c, err := h.Client(t.Context(), "testplugin")
	if err != nil {
		t.Fatal(err)
	}
	pluginPid := h.procs["testplugin"].pid
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	childPid := 0
	err = c.Run(ctx, &sdk.RunRequest{Parameters: map[string]string{"mode": "child"}}, func(ev *sdk.RunEvent) error {
		if l := ev.GetLog().GetLine(); strings.HasPrefix(l, "child-pid=") {
			childPid, _ = strconv.Atoi(strings.TrimPrefix(l, "child-pid="))
		}
		return nil
	})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Run err = %v, want ErrTimeout", err)
	}
	if childPid == 0 {
		t.Fatal("no child pid reported")
	}
	waitGone(t, childPid)
	waitGone(t, pluginPid)

	// The next call starts a fresh process.
	if _, err := c.Info(t.Context()); err != nil {
		t.Fatalf("Info after kill: %v", err)
	}
}

func TestCallTimeoutKillsHungRun(t *testing.T) {
	h := newHost(t, time.Second)
	c, err := h.Client(t.Context(), "testplugin")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = c.Run(t.Context(), &sdk.RunRequest{Parameters: map[string]string{"mode": "hang"}}, func(*sdk.RunEvent) error { return nil })
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Run err = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Run took %v", d)
	}
}

func TestCrashThenRestart(t *testing.T) {
	h := newHost(t, time.Minute)
	c, err := h.Client(t.Context(), "testplugin")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = c.Run(t.Context(), &sdk.RunRequest{Parameters: map[string]string{"mode": "crash"}}, func(*sdk.RunEvent) error { n++; return nil })
	if !errors.Is(err, ErrCrashed) {
		t.Fatalf("Run err = %v, want ErrCrashed", err)
	}
	if !strings.Contains(err.Error(), "testplugin") {
		t.Fatalf("error does not name the plugin: %v", err)
	}
	if n != 1 {
		t.Fatalf("got %d events before the crash, want 1", n)
	}
	err = c.Run(t.Context(), &sdk.RunRequest{Parameters: map[string]string{"mode": "ok"}}, func(*sdk.RunEvent) error { return nil })
	if err != nil {
		t.Fatalf("Run after crash: %v", err)
	}
}

func TestCloseKillsPlugins(t *testing.T) {
	h := newHost(t, time.Minute)
	if _, err := h.Client(t.Context(), "testplugin"); err != nil {
		t.Fatal(err)
	}
	pid := h.procs["testplugin"].pid
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
	if _, err := h.Client(t.Context(), "testplugin"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Client after Close = %v, want ErrClosed", err)
	}
}

// TestOnlyAllowedStart: with Config.Only, another plugin fails with
// ErrNotAllowed and its binary never runs; Names and Check start nothing.
func TestOnlyAllowedStart(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "started")
	script := []byte("#!/bin/sh\ntouch " + marker + "\n")
	if err := os.WriteFile(filepath.Join(dir, "action"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(script)
	mb, _ := json.Marshal(map[string]string{"action": hex.EncodeToString(sum[:]), "gone": strings.Repeat("00", 32)})
	mpath := filepath.Join(t.TempDir(), "manifest.json")
	if err := os.WriteFile(mpath, mb, 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Dir: dir, Manifest: mpath, Only: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := h.Client(t.Context(), "action"); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("Client = %v, want ErrNotAllowed", err)
	}
	if got := strings.Join(h.Names(), ","); got != "action,gone" {
		t.Fatalf("Names = %s", got)
	}
	if err := h.Check("action"); err != nil {
		t.Fatalf("Check(action) = %v", err)
	}
	if err := h.Check("gone"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Check(gone) = %v", err)
	}
	if err := h.Check("nope"); !errors.Is(err, ErrUnknownPlugin) {
		t.Fatalf("Check(nope) = %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the binary ran (marker: %v)", err)
	}
}

// TestRunDeadlineOutlivesCallTimeout: a Run whose ctx has a deadline is
// bounded by it, not by the (shorter) CallTimeout.
func TestRunDeadlineOutlivesCallTimeout(t *testing.T) {
	h := newHost(t, 300*time.Millisecond)
	c, err := h.Client(t.Context(), "testplugin")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err = c.Run(ctx, &sdk.RunRequest{Parameters: map[string]string{"mode": "lines", "n": "3", "sleep_ms": "300"}},
		func(*sdk.RunEvent) error { return nil })
	if err != nil {
		t.Fatalf("Run past CallTimeout within its own deadline: %v", err)
	}
}
