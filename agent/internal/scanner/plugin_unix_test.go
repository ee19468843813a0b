//go:build unix

package scanner_test

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/agent/internal/pluginhost"
	"github.com/vigil-rmm/vigil/agent/internal/scanner"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

var testPluginBin string

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "scanner-test")
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

// pluginHost installs the test plugin under the name "pkgupdate" with a
// matching manifest, as a real agent would have it.
func pluginHost(t *testing.T) *pluginhost.Host {
	t.Helper()
	h, _ := pluginHostDir(t)
	return h
}

func pluginHostDir(t *testing.T) (*pluginhost.Host, string) {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(testPluginBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pkgupdate"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(dir, "manifest.json")
	if err := pluginhost.WriteManifest(manifest, dir, "pkgupdate"); err != nil {
		t.Fatal(err)
	}
	h, err := pluginhost.New(pluginhost.Config{Dir: dir, Manifest: manifest, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h, dir
}

func TestPluginScanFailuresAreTypedAndTheNextScanWorks(t *testing.T) {
	h := pluginHost(t)
	scan := func(mode string, timeout time.Duration) (*agentv1.PatchScan, time.Duration) {
		start := time.Now()
		s := scanner.PluginPatches{Plugins: scanner.HostInspector{Host: h}, Plugin: "pkgupdate",
			Params: map[string]string{"mode": mode}, Timeout: timeout}.ScanPatches(t.Context())
		return s, time.Since(start)
	}

	// A hung scan is killed at its deadline and reported as a timeout.
	got, took := scan("hang", 2*time.Second)
	if got.GetStatus() != agentv1.ScanStatus_SCAN_STATUS_TIMEOUT || got.GetErrorCode() != "timeout" {
		t.Fatalf("hung scan = %v, want TIMEOUT", got)
	}
	if took > 10*time.Second {
		t.Errorf("hung scan returned after %s, want about its 2s deadline", took)
	}

	// A crashing scanner is reported as crashed.
	got, _ = scan("crash", time.Minute)
	if got.GetStatus() != agentv1.ScanStatus_SCAN_STATUS_CRASHED || got.GetErrorCode() != "crashed" {
		t.Fatalf("crashing scan = %v, want CRASHED", got)
	}

	// The next scan starts the plugin again and works.
	got, _ = scan("patches", time.Minute)
	if got.GetStatus() != agentv1.ScanStatus_SCAN_STATUS_OK || len(got.GetPending()) != 2 {
		t.Fatalf("scan after the crash = %v, want OK with 2 pending", got)
	}
}

func TestPluginMissingOrTampered(t *testing.T) {
	h, dir := pluginHostDir(t)
	got := scanner.PluginPatches{Plugins: scanner.HostInspector{Host: h}, Plugin: "windowsupdate"}.ScanPatches(t.Context())
	if got.GetStatus() != agentv1.ScanStatus_SCAN_STATUS_UNAVAILABLE || got.GetErrorCode() != "no_plugin" {
		t.Errorf("scan with no plugin = %v, want UNAVAILABLE no_plugin", got)
	}
	// A binary changed after the manifest was written is never started.
	f, err := os.OpenFile(filepath.Join(dir, "pkgupdate"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("tampered"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got = scanner.PluginPatches{Plugins: scanner.HostInspector{Host: h}, Plugin: "pkgupdate",
		Params: map[string]string{"mode": "patches"}}.ScanPatches(t.Context())
	if got.GetStatus() != agentv1.ScanStatus_SCAN_STATUS_UNAVAILABLE || got.GetErrorCode() != "checksum" {
		t.Errorf("scan with a tampered plugin = %v, want UNAVAILABLE checksum", got)
	}
}
