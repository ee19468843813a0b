package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestTaskFlagsValidated: a bad --trust-root or --tier is a usage error
// (exit 2) naming the flag, before anything is contacted or started.
func TestTaskFlagsValidated(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"enroll bad trust root", []string{"enroll", "--controller", "127.0.0.1:1", "--ca-pin", "sha256:" + strings.Repeat("00", 32),
			"--token", "x", "--state", t.TempDir(), "--trust-root", "sha256:12"}, "--trust-root"},
		{"run bad tier", []string{"run", "--state", t.TempDir(), "--tier", "reactive"}, "tier"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(c.args, &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 naming %s", c.name, code, stderr.String(), c.want)
		}
	}
}
