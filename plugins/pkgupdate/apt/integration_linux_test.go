package apt_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/plugins/pkgupdate"
	"github.com/vigil-rmm/vigil/plugins/pkgupdate/apt"
	"github.com/vigil-rmm/vigil/plugins/sdk/sdktest"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

const dummyPkg = "vigil-test-dummy"

// TestScanLocalRepository installs a generated dummy package, serves a newer
// version from a flat file: repository in t.TempDir and checks that Scan,
// and the pkgupdate plugin's Inspect over gRPC with the source_list,
// lists_dir and cache_dir parameters, pointed only at that repository,
// report exactly that upgrade. It changes no package other than
// vigil-test-dummy, which it removes again. (The plugin check lives here,
// in the external test package, so that one test binary owns the dummy
// package and dpkg's lock.)
func TestScanLocalRepository(t *testing.T) {
	if os.Getenv("VIGIL_SLOW_TESTS") != "1" {
		t.Skip("set VIGIL_SLOW_TESTS=1 to run the real apt-get integration test")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: installs and removes the vigil-test-dummy package with dpkg")
	}
	for _, bin := range []string{"apt-get", "dpkg", "dpkg-deb"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("needs %s: %v", bin, err)
		}
	}
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", dummyPkg).Output(); err == nil && strings.Contains(string(out), "installed") {
		t.Skipf("%s is already installed on this machine; remove it first", dummyPkg)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	mkdir(t, repo)
	deb1 := buildDummy(t, dir, "1.0")
	deb2 := buildDummy(t, dir, "2.0")
	writePackages(t, repo, deb1, deb2)

	sources := filepath.Join(dir, "sources.list")
	writeFile(t, sources, fmt.Sprintf("deb [trusted=yes] file:%s ./\n", repo))
	lists := filepath.Join(dir, "lists")
	cache := filepath.Join(dir, "cache")
	mkdir(t, filepath.Join(lists, "partial"))
	mkdir(t, filepath.Join(cache, "archives", "partial"))
	opts := apt.Options{
		Update:     true,
		SourceList: sources,
		ListsDir:   lists,
		CacheDir:   cache,
		// The repository lives in a 0700 temp dir the _apt sandbox user
		// cannot read.
		ExtraOptions: []string{"APT::Sandbox::User=root"},
	}

	t.Cleanup(func() {
		if out, err := exec.Command("dpkg", "-r", dummyPkg).CombinedOutput(); err != nil {
			t.Errorf("dpkg -r %s: %v\n%s", dummyPkg, err, out)
		}
	})
	dpkgInstall(t, deb1)

	got, err := apt.Scan(ctx, apt.ExecRunner{}, opts)
	if err != nil {
		t.Fatalf("Scan with 1.0 installed: %v", err)
	}
	want := []apt.Update{{Name: dummyPkg, Arch: "all", Installed: "1.0", Candidate: "2.0"}}
	// The origin string of a flat file: repository depends on the apt
	// version; compare it separately.
	for i := range got {
		t.Logf("%s origins: %q", got[i].Name, got[i].Origins)
		got[i].Origins = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Scan with 1.0 installed = %+v, want %+v", got, want)
	}

	// The plugin, through its parameters. The host's own
	// /run/reboot-required is kept out with an empty root.
	plugin := pkgupdate.New(pkgupdate.Config{Root: t.TempDir(), AptOptions: opts.ExtraOptions})
	params := map[string]string{"manager": "apt", "refresh": "true", "source_list": sources, "lists_dir": lists, "cache_dir": cache}
	scan := inspectScan(ctx, t, plugin, params)
	if scan.GetSource() != "apt" || scan.GetStatus() != agentv1.ScanStatus_SCAN_STATUS_OK {
		t.Fatalf("Inspect with 1.0 installed: %v", scan)
	}
	if len(scan.GetPending()) != 1 {
		t.Fatalf("Inspect with 1.0 installed: %d pending, want 1: %v", len(scan.GetPending()), scan.GetPending())
	}
	u := scan.GetPending()[0]
	t.Logf("plugin origin: %q", u.GetOrigin())
	gotU := []string{u.GetId(), u.GetPackage(), u.GetTitle(), u.GetCurrentVersion(), u.GetAvailableVersion(), u.GetClassification().String()}
	wantU := []string{dummyPkg, dummyPkg, dummyPkg + " 1.0 -> 2.0", "1.0", "2.0", agentv1.Classification_CLASSIFICATION_UPDATE.String()}
	if !reflect.DeepEqual(gotU, wantU) || len(scan.GetInstalledAwaitingReboot()) != 0 || scan.GetRebootRequired() {
		t.Fatalf("Inspect with 1.0 installed: pending %q, scan %v; want %q", gotU, scan, wantU)
	}

	dpkgInstall(t, deb2)
	got, err = apt.Scan(ctx, apt.ExecRunner{}, opts)
	if err != nil {
		t.Fatalf("Scan with 2.0 installed: %v", err)
	}
	if len(got) != 0 {
		t.Fatalf("Scan with 2.0 installed = %+v, want nothing pending", got)
	}
	params["refresh"] = "false"
	scan = inspectScan(ctx, t, plugin, params)
	if scan.GetStatus() != agentv1.ScanStatus_SCAN_STATUS_OK || len(scan.GetPending()) != 0 {
		t.Fatalf("Inspect with 2.0 installed = %v, want OK with nothing pending", scan)
	}
}

// inspectScan calls p's Inspect over gRPC and decodes the PatchScan.
func inspectScan(ctx context.Context, t *testing.T, p *pkgupdate.Plugin, params map[string]string) *agentv1.PatchScan {
	t.Helper()
	resp, err := sdktest.Start(t, p).Inspect(ctx, params)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	var scan agentv1.PatchScan
	if err := proto.Unmarshal(resp.GetResult(), &scan); err != nil {
		t.Fatalf("decode PatchScan: %v", err)
	}
	t.Logf("Inspect summary: %s", resp.GetSummary())
	return &scan
}

// buildDummy builds vigil-test-dummy_<version>_all.deb in dir.
func buildDummy(t *testing.T, dir, version string) string {
	t.Helper()
	root := filepath.Join(dir, "build-"+version)
	mkdir(t, filepath.Join(root, "DEBIAN"))
	mkdir(t, filepath.Join(root, "usr", "share", "doc", dummyPkg))
	writeFile(t, filepath.Join(root, "DEBIAN", "control"), fmt.Sprintf(`Package: %s
Version: %s
Architecture: all
Maintainer: vigil tests <tests@vigil.invalid>
Section: misc
Priority: optional
Description: vigil pkgupdate integration test package
 Installed and removed by the plugins/pkgupdate/apt tests. Safe to remove.
`, dummyPkg, version))
	writeFile(t, filepath.Join(root, "usr", "share", "doc", dummyPkg, "README"), "vigil test "+version+"\n")
	deb := filepath.Join(dir, "repo", fmt.Sprintf("%s_%s_all.deb", dummyPkg, version))
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", root, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb --build: %v\n%s", err, out)
	}
	return deb
}

// writePackages writes the Packages index of a flat repository.
func writePackages(t *testing.T, repo string, debs ...string) {
	t.Helper()
	var b strings.Builder
	for _, deb := range debs {
		data, err := os.ReadFile(deb)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		version := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(deb), dummyPkg+"_"), "_all.deb")
		fmt.Fprintf(&b, "Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: vigil tests <tests@vigil.invalid>\n"+
			"Filename: ./%s\nSize: %d\nSHA256: %s\nDescription: vigil pkgupdate integration test package\n\n",
			dummyPkg, version, filepath.Base(deb), len(data), hex.EncodeToString(sum[:]))
	}
	writeFile(t, filepath.Join(repo, "Packages"), b.String())
}

func dpkgInstall(t *testing.T, deb string) {
	t.Helper()
	if out, err := exec.Command("dpkg", "-i", deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg -i %s: %v\n%s", deb, err, out)
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
