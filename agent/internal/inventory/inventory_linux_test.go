package inventory

import (
	"cmp"
	"os/exec"
	"slices"
	"testing"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// TestCollectLive reads this machine, which is expected to be Debian or
// another dpkg system; on an rpm system it checks rpm instead.
func TestCollectLive(t *testing.T) {
	inv, err := Collect(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("errors: %q", inv.GetErrors())
	hw := inv.GetHardware()
	t.Logf("hardware: %v", hw)
	if len(hw.GetProcessors()) == 0 || hw.GetProcessors()[0].GetThreads() == 0 || hw.GetMemoryTotalBytes() == 0 || hw.GetOsName() == "" {
		t.Errorf("hardware = %v", hw)
	}
	if !slices.IsSortedFunc(inv.GetSoftware(), func(a, b *agentv1.Software) int {
		if a.GetName() != b.GetName() {
			return cmp.Compare(a.GetName(), b.GetName())
		}
		return cmp.Compare(a.GetArch(), b.GetArch())
	}) {
		t.Error("software not sorted")
	}
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		if inv.GetSoftwareSource() != "rpm" || len(inv.GetSoftware()) == 0 {
			t.Errorf("no dpkg-query: source %q with %d packages", inv.GetSoftwareSource(), len(inv.GetSoftware()))
		}
		return
	}
	hasDpkg := slices.ContainsFunc(inv.GetSoftware(), func(s *agentv1.Software) bool { return s.GetName() == "dpkg" && s.GetVersion() != "" })
	if inv.GetSoftwareSource() != "dpkg" || len(inv.GetSoftware()) <= 50 || !hasDpkg {
		t.Errorf("source %q, %d packages, dpkg listed %v; want dpkg, > 50, true", inv.GetSoftwareSource(), len(inv.GetSoftware()), hasDpkg)
	}
}
