package boltfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.db")
	h := Hints{Locked: "stop the other one", Corrupt: "move it aside"}
	db, err := Open("thing", path, &bolt.Options{Timeout: 50 * time.Millisecond}, h)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
	_, err = Open("thing", path, &bolt.Options{Timeout: 50 * time.Millisecond}, h)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "stop the other one") || !strings.Contains(err.Error(), path) {
		t.Fatalf("locked: %v", err)
	}
	db.Close()
	bad := filepath.Join(dir, "bad.db")
	if err := os.WriteFile(bad, make([]byte, 8192), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open("thing", bad, &bolt.Options{Timeout: 50 * time.Millisecond}, h)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "move it aside") {
		t.Fatalf("corrupt: %v", err)
	}
}
