package pluginhost

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteManifestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, binaryName("alpha")), []byte("binary a"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "manifest.json")
	if err := WriteManifest(path, dir, "alpha"); err != nil {
		t.Fatal(err)
	}
	m, err := LoadManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256([]byte("binary a"))
	if len(m) != 1 || string(m["alpha"]) != string(want[:]) {
		t.Fatalf("manifest %x, want alpha -> %x", m, want)
	}
	if err := WriteManifest(path, dir, "../alpha"); err == nil {
		t.Error("a name with a path was written to the manifest")
	}
	if err := WriteManifest(path, dir, "missing"); err == nil {
		t.Error("a missing binary was written to the manifest")
	}
}
