//go:build !windows

package windowsupdate

import (
	"testing"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

func TestInspectUnsupportedOS(t *testing.T) {
	resp, err := New(Options{}).Inspect(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := decodeScan(t, resp)
	if s.GetStatus() != agentv1.ScanStatus_SCAN_STATUS_UNAVAILABLE || s.GetErrorCode() != "unsupported_os" {
		t.Errorf("scan = %v", s)
	}
	if resp.GetSummary() != "unavailable: unsupported_os" {
		t.Errorf("summary %q", resp.GetSummary())
	}
}
