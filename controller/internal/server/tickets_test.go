package server

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestTicketKeysPersistAndRotate(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	k1, err := loadTicketKeys(dir, now)
	if err != nil || len(k1) != 1 {
		t.Fatalf("%v %d", err, len(k1))
	}
	k2, _ := loadTicketKeys(dir, now.Add(time.Hour))
	if len(k2) != 1 || k2[0] != k1[0] {
		t.Fatal("key not reused across restarts")
	}
	fi, _ := os.Stat(filepath.Join(dir, TicketKeyFile))
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
	// Past the rotation period a new key goes in front; the old one stays.
	k3, _ := loadTicketKeys(dir, now.Add(TicketRotation+time.Hour))
	if len(k3) != 2 || k3[1] != k1[0] || bytes.Equal(k3[0][:], k1[0][:]) {
		t.Fatalf("rotation: %d keys", len(k3))
	}
	later := now.Add(3 * TicketRotation)
	if err := os.Chtimes(filepath.Join(dir, TicketKeyFile), now.Add(-3*TicketRotation), now.Add(-3*TicketRotation)); err != nil {
		t.Fatal(err)
	}
	k4, _ := loadTicketKeys(dir, later)
	if len(k4) != 2 || k4[1] != k3[0] {
		t.Fatal("only the newest previous key is kept")
	}
}
