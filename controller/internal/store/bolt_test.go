package store_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestBoltConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openBolt(t, filepath.Join(t.TempDir(), "store.db"))
	})
}

func openBolt(t *testing.T, path string) *store.Bolt {
	t.Helper()
	s, err := store.OpenBolt(path, store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOpenBoltFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s := openBolt(t, path)
	defer s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("file mode = %v, want 0600", mode)
	}
}

func TestOpenBoltReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s := openBolt(t, path)
	err := s.Update(t.Context(), func(tx store.Tx) error { return tx.Put("agents/a1", []byte("record")) })
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openBolt(t, path)
	defer s.Close()
	var got []byte
	err = s.View(t.Context(), func(tx store.Tx) error {
		got, err = tx.Get("agents/a1")
		return err
	})
	if err != nil || string(got) != "record" {
		t.Fatalf("after reopen Get = %q, %v; want record", got, err)
	}
}

func TestOpenBoltLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s := openBolt(t, path)
	defer s.Close()

	start := time.Now()
	_, err := store.OpenBolt(path, store.BoltOptions{Timeout: 100 * time.Millisecond})
	waited := time.Since(start)
	if !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second open error = %v, want ErrLocked", err)
	}
	if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "in use by another process") {
		t.Errorf("error %q should name %s and say it is in use by another process", msg, path)
	}
	if waited < 40*time.Millisecond || waited > 5*time.Second { // bbolt may stop one 50ms retry early
		t.Errorf("second open gave up after %s, want about the 100ms timeout", waited)
	}
}

func TestOpenBoltCorrupt(t *testing.T) {
	tests := []struct {
		name    string
		content []byte
	}{
		{"short text", []byte("this is not a database\n")},
		{"page of text", []byte(strings.Repeat("not a database ", 1000))},
		{"zeros", make([]byte, 64<<10)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "store.db")
			if err := os.WriteFile(path, tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := store.OpenBolt(path, store.BoltOptions{})
			if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), path) {
				t.Fatalf("open error = %v, want ErrCorrupt naming %s", err, path)
			}
		})
	}
}

func TestOpenBoltDamagedMetaPages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s := openBolt(t, path)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Overwrite both meta pages' checksummed fields, keeping the magic.
	pageSize := int64(os.Getpagesize())
	for _, off := range []int64{16 + 16, pageSize + 16 + 16} {
		if _, err := f.WriteAt([]byte("garbage!garbage!"), off); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = store.OpenBolt(path, store.BoltOptions{})
	if !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("open error = %v, want ErrCorrupt", err)
	}
}

func TestOpenBoltMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no-such-dir", "store.db")
	_, err := store.OpenBolt(path, store.BoltOptions{})
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("open error = %v, want ErrNotExist naming %s", err, path)
	}
}
