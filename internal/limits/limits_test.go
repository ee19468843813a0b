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

func TestCleanStateNormalizes(t *testing.T) {
	s := &agentv1.PatchScan{Status: agentv1.ScanStatus(99), Pending: []*agentv1.PendingUpdate{
		{Id: "a\x00b", Classification: agentv1.Classification(42), Severity: agentv1.Severity_SEVERITY_CRITICAL},
	}}
	// An unknown field, as a newer plugin might send: field 99, varint 1.
	s.Pending[0].ProtoReflect().SetUnknown([]byte{0x98, 0x06, 0x01})
	CleanPatchScan(s)
	if s.GetStatus() != 0 || s.GetPending()[0].GetClassification() != 0 {
		t.Errorf("undefined enums kept: status %v, classification %v", s.GetStatus(), s.GetPending()[0].GetClassification())
	}
	if s.GetPending()[0].GetSeverity() != agentv1.Severity_SEVERITY_CRITICAL {
		t.Errorf("defined enum changed: %v", s.GetPending()[0].GetSeverity())
	}
	if len(s.GetPending()[0].ProtoReflect().GetUnknown()) != 0 {
		t.Error("unknown field kept")
	}
	if s.GetPending()[0].GetId() != "a?b" {
		t.Errorf("id = %q, want the control character replaced", s.GetPending()[0].GetId())
	}

	inv := &agentv1.Inventory{}
	for range MaxItems + 5 {
		inv.Errors = append(inv.Errors, "e")
	}
	for range MaxSoftware + 1 {
		inv.Software = append(inv.Software, &agentv1.Software{Name: "x"})
	}
	if dropped := CleanInventory(inv); dropped != 6 || len(inv.Errors) != MaxItems || len(inv.Software) != MaxSoftware {
		t.Errorf("dropped %d, kept %d errors and %d software; want 6 dropped and both lists at their limit",
			dropped, len(inv.Errors), len(inv.Software))
	}
}
