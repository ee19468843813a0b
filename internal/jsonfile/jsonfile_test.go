package jsonfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	dir := t.TempDir()
	var v struct {
		A int `json:"a"`
		B int `json:"b"`
	}
	v.B = 7
	if err := Decode(filepath.Join(dir, "missing.json"), &v); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	path := filepath.Join(dir, "c.json")
	_ = os.WriteFile(path, []byte(`{"a": 3}`), 0o600)
	if err := Decode(path, &v); err != nil || v.A != 3 || v.B != 7 {
		t.Fatalf("overlay: %v %+v", err, v)
	}
	_ = os.WriteFile(path, []byte(`{"aa": 3}`), 0o600)
	if err := Decode(path, &v); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "aa") {
		t.Fatalf("unknown key: %v", err)
	}
}
