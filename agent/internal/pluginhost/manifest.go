package pluginhost

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// maxManifestSize bounds the manifest file read.
const maxManifestSize = 1 << 20

// validName is what a plugin name may look like: it becomes a file name.
var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Manifest maps a plugin name to the SHA-256 (hex) of its binary. On disk it
// is a JSON object: {"windowsupdate": "9f86d0…"}.
type Manifest map[string][]byte

// LoadManifest reads and validates the manifest at path.
func LoadManifest(path string) (Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	return ParseManifest(b)
}

// ParseManifest parses and validates a manifest.
func ParseManifest(b []byte) (Manifest, error) {
	if len(b) > maxManifestSize {
		return nil, fmt.Errorf("parse manifest: larger than %d bytes", maxManifestSize)
	}
	var raw map[string]string
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parse manifest: %w", err)
	}
	m := make(Manifest, len(raw))
	for name, sum := range raw {
		if !validName.MatchString(name) || name == "." || name == ".." {
			return nil, fmt.Errorf("parse manifest: bad plugin name %q", name)
		}
		d, err := hex.DecodeString(sum)
		if err != nil || len(d) != 32 {
			return nil, fmt.Errorf("parse manifest: plugin %s: bad sha256 %q", name, sum)
		}
		m[name] = d
	}
	return m, nil
}

// WriteManifest writes to path (mode 0600) a manifest of the named plugin
// binaries in dir, with the SHA-256 of each as it is now. Whoever installs
// the plugins writes it (scripts/build-plugins.sh does the same with
// sha256sum); the agent itself only reads it.
func WriteManifest(path, dir string, names ...string) error {
	m := make(map[string]string, len(names))
	for _, name := range names {
		if !validName.MatchString(name) {
			return fmt.Errorf("write manifest: bad plugin name %q", name)
		}
		b, err := os.ReadFile(filepath.Join(dir, binaryName(name)))
		if err != nil {
			return fmt.Errorf("write manifest: %w", err)
		}
		sum := sha256.Sum256(b)
		m[name] = hex.EncodeToString(sum[:])
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}
