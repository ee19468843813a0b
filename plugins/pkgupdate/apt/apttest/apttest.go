// Package apttest builds a local apt repository holding a dummy package in
// several versions, for tests that run the real apt-get and dpkg on a
// Debian machine. It installs nothing but its own dummy package, removes it
// at cleanup, and waits for dpkg's lock so that test binaries running in
// parallel do not fail each other.
package apttest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Require skips t unless the slow tests are enabled, the test runs as root
// and apt-get, dpkg and dpkg-deb exist, and pkg is not installed already.
func Require(t testing.TB, pkg string) {
	t.Helper()
	if os.Getenv("VIGIL_SLOW_TESTS") != "1" {
		t.Skip("set VIGIL_SLOW_TESTS=1 to run the real apt-get integration test")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: installs and removes a dummy package with dpkg")
	}
	for _, bin := range []string{"apt-get", "dpkg", "dpkg-deb", "dpkg-query"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("needs %s: %v", bin, err)
		}
	}
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", pkg).Output(); err == nil && strings.Contains(string(out), "installed") {
		t.Skipf("%s is already installed on this machine; remove it first", pkg)
	}
}

// Repo is a flat file: repository and the apt state directories that point
// at it alone.
type Repo struct {
	// Package is the dummy package's name.
	Package string
	// Dir holds everything; it is world-readable so that apt's sandbox
	// user (_apt) can read the repository.
	Dir string
	// SourceList is a sources.list naming only this repository.
	SourceList string
	// Lists and Cache replace /var/lib/apt/lists and /var/cache/apt.
	Lists, Cache string

	debs      map[string]string
	installed bool
}

// NewRepo builds pkg in each version into a new repository. The directory
// is removed, and the package uninstalled if Install was called, at
// cleanup.
func NewRepo(t testing.TB, pkg string, versions ...string) *Repo {
	t.Helper()
	dir, err := os.MkdirTemp("", "vigil-apt-repo-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := &Repo{Package: pkg, Dir: dir, SourceList: filepath.Join(dir, "sources.list"),
		Lists: filepath.Join(dir, "lists"), Cache: filepath.Join(dir, "cache"), debs: map[string]string{}}
	t.Cleanup(func() {
		if r.installed {
			if out, err := dpkg("-r", pkg); err != nil {
				t.Errorf("dpkg -r %s: %v\n%s", pkg, err, out)
			}
		}
		_ = os.RemoveAll(dir)
	})
	repo := filepath.Join(dir, "repo")
	for _, d := range []string{repo, filepath.Join(r.Lists, "partial"), filepath.Join(r.Cache, "archives", "partial")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var index strings.Builder
	for _, v := range versions {
		deb := r.build(t, v)
		data, err := os.ReadFile(deb)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(&index, "Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: vigil tests <tests@vigil.invalid>\n"+
			"Filename: ./%s\nSize: %d\nSHA256: %s\nDescription: vigil integration test package\n\n",
			pkg, v, filepath.Base(deb), len(data), hex.EncodeToString(sum[:]))
	}
	write(t, filepath.Join(repo, "Packages"), index.String())
	write(t, r.SourceList, fmt.Sprintf("deb [trusted=yes] file:%s ./\n", repo))
	return r
}

func (r *Repo) build(t testing.TB, version string) string {
	t.Helper()
	root := filepath.Join(r.Dir, "build-"+version)
	doc := filepath.Join(root, "usr", "share", "doc", r.Package)
	for _, d := range []string{filepath.Join(root, "DEBIAN"), doc} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(root, "DEBIAN", "control"), fmt.Sprintf(`Package: %s
Version: %s
Architecture: all
Maintainer: vigil tests <tests@vigil.invalid>
Section: misc
Priority: optional
Description: vigil integration test package
 Installed and removed by vigil's tests. Safe to remove.
`, r.Package, version))
	write(t, filepath.Join(doc, "README"), "vigil test "+version+"\n")
	deb := filepath.Join(r.Dir, "repo", fmt.Sprintf("%s_%s_all.deb", r.Package, version))
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", root, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb --build: %v\n%s", err, out)
	}
	r.debs[version] = deb
	return deb
}

// Deb returns the path of the package file of version.
func (r *Repo) Deb(version string) string { return r.debs[version] }

// Install installs version with dpkg -i.
func (r *Repo) Install(t testing.TB, version string) {
	t.Helper()
	deb, ok := r.debs[version]
	if !ok {
		t.Fatalf("apttest: no version %s of %s", version, r.Package)
	}
	r.installed = true
	if out, err := dpkg("-i", deb); err != nil {
		t.Fatalf("dpkg -i %s: %v\n%s", deb, err, out)
	}
}

// Params are the pkgupdate plugin parameters that point apt at this
// repository alone.
func (r *Repo) Params() map[string]string {
	return map[string]string{"manager": "apt", "refresh": "true", "source_list": r.SourceList, "lists_dir": r.Lists, "cache_dir": r.Cache}
}

// dpkg runs dpkg, retrying for up to two minutes while another process
// holds its lock (another test binary installing its own dummy package).
func dpkg(args ...string) ([]byte, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, err := exec.Command("dpkg", args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "lock") || time.Now().After(deadline) {
			return out, err
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func write(t testing.TB, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
