package golden

import (
	"os"
	"path/filepath"
	"testing"
)

type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }

func TestJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.golden.json")
	if err := os.WriteFile(path, []byte("{\n  \"A\": 1\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	JSON(t, path, struct{ A int }{1})
	r := &recorder{TB: t}
	JSON(r, path, struct{ A int }{2})
	if !r.failed {
		t.Fatal("a different result was accepted")
	}
}
