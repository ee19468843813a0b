package limits

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

func TestCleanString(t *testing.T) {
	cases := []struct{ in, want string }{
		{"/var/lib", "/var/lib"},
		{"/mnt/with\ttab", "/mnt/with?tab"},
		{"bad\xffutf8", "bad?utf8"},
		{strings.Repeat("é", 200), strings.Repeat("é", 128)},
	}
	for _, c := range cases {
		got := CleanString(c.in, MaxString)
		if got != c.want || !utf8.ValidString(got) || len(got) > MaxString {
			t.Errorf("CleanString(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzCleanString(f *testing.F) {
	f.Add("a\x00b\xc3")
	f.Fuzz(func(t *testing.T, s string) {
		got := CleanString(s, 16)
		if len(got) > 16 || !utf8.ValidString(got) || strings.ContainsFunc(got, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("CleanString(%q) = %q", s, got)
		}
	})
}

func TestCleanMetricsKeepsLargest(t *testing.T) {
	m := &agentv1.Metrics{}
	for i := 0; i < MaxVolumes+20; i++ {
		m.Volumes = append(m.Volumes, &agentv1.Volume{Mount: fmt.Sprintf("/pool/ds%d", i), Total: uint64(i)})
	}
	if dropped := CleanMetrics(m); dropped != 20 || len(m.Volumes) != MaxVolumes {
		t.Fatalf("dropped %d, kept %d", dropped, len(m.Volumes))
	}
	for _, v := range m.Volumes {
		if v.Total < 20 {
			t.Fatalf("kept a small volume %s", v.Mount)
		}
	}
}
