package windowsupdate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/plugins/windowsupdate/wua"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// loadUpdates reads wua/testdata/updates.json (its README says where the
// shapes come from).
func loadUpdates(t *testing.T) []wua.Update {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("wua", "testdata", "updates.json"))
	if err != nil {
		t.Fatal(err)
	}
	var us []wua.Update
	if err := json.Unmarshal(b, &us); err != nil {
		t.Fatal(err)
	}
	return us
}

func unix(y int, m time.Month, d int) int64 { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() }

func TestPendingUpdateFixture(t *testing.T) {
	const (
		sec      = agentv1.Classification_CLASSIFICATION_SECURITY
		def      = agentv1.Classification_CLASSIFICATION_DEFINITION
		drv      = agentv1.Classification_CLASSIFICATION_DRIVER
		upg      = agentv1.Classification_CLASSIFICATION_UPGRADE
		rollup   = agentv1.Classification_CLASSIFICATION_UPDATE_ROLLUP
		none     = agentv1.Severity_SEVERITY_UNSPECIFIED
		never    = agentv1.RebootBehavior_REBOOT_BEHAVIOR_NEVER
		always   = agentv1.RebootBehavior_REBOOT_BEHAVIOR_ALWAYS
		canAsk   = agentv1.RebootBehavior_REBOOT_BEHAVIOR_CAN_REQUEST
		critical = agentv1.Severity_SEVERITY_CRITICAL
	)
	want := []*agentv1.PendingUpdate{
		{Id: "5b2c4d3e-0f1a-4b6c-9d8e-7f6a5b4c3d2e.1", Kb: "KB5066835", Title: "2026-10 Cumulative Update for Windows 11 Version 24H2 for x64-based Systems (KB5066835)",
			Classification: sec, Severity: critical, SizeBytes: 4123456789, RebootBehavior: canAsk, ReleaseUnix: unix(2026, 10, 14),
			Advisories: []string{"CVE-2026-20001", "CVE-2026-20002"}},
		{Id: "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d.200", Kb: "KB2267602", Title: "Security Intelligence-Update für Microsoft Defender Antivirus - KB2267602 (Version 1.441.120.0)",
			Classification: def, Severity: none, SizeBytes: 86000000, RebootBehavior: never, ReleaseUnix: unix(2026, 11, 20)},
		{Id: "0d1e2f3a-4b5c-4d6e-8f70-81a2b3c4d5e6.1", Title: "Intel Corporation - Display - 32.0.101.6314",
			Classification: drv, Severity: none, SizeBytes: 712000000, RebootBehavior: canAsk, ReleaseUnix: unix(2026, 9, 2)},
		{Id: "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a.3", Kb: "KB5054156", Title: "Windows 11, version 25H2",
			Classification: upg, Severity: none, SizeBytes: 5400000000, RebootBehavior: always, ReleaseUnix: unix(2026, 9, 30)},
		{Id: "11223344-5566-4778-899a-abbccddeeff0.1", Kb: "KB5066128", Title: "2026-10 Cumulative Update for .NET Framework 3.5 and 4.8.1 for Windows 11, version 24H2 for x64 (KB5066128)",
			Classification: sec, Severity: agentv1.Severity_SEVERITY_IMPORTANT, SizeBytes: 98000000, RebootBehavior: canAsk, ReleaseUnix: unix(2026, 10, 14),
			Advisories: []string{"CVE-2026-21111"}},
		{Id: "aabbccdd-1122-4334-8556-77889900aabb.200", Kb: "KB890830", Title: "Windows Malicious Software Removal Tool x64 - v5.133 (KB890830)",
			Classification: rollup, Severity: none, SizeBytes: 80000000, RebootBehavior: never, ReleaseUnix: unix(2026, 10, 14)},
	}
	us := loadUpdates(t)
	if len(us) != len(want) {
		t.Fatalf("%d fixture updates, want %d", len(us), len(want))
	}
	for i, u := range us {
		if got := PendingUpdate(u); !proto.Equal(got, want[i]) {
			t.Errorf("PendingUpdate(%q)\n got %v\nwant %v", u.Title, got, want[i])
		}
	}
}

func TestPendingUpdateEdgeCases(t *testing.T) {
	tests := []struct {
		name string
		in   wua.Update
		want *agentv1.PendingUpdate
	}{
		{"zero is NeverReboots", wua.Update{}, &agentv1.PendingUpdate{Id: ".0", RebootBehavior: agentv1.RebootBehavior_REBOOT_BEHAVIOR_NEVER}},
		{
			"braced upper-case GUID, KB prefix, duplicate CVEs, unknown enums, negative size",
			wua.Update{
				Title:                " t ",
				Identity:             wua.Identity{UpdateID: "{AABBCCDD-1122-4334-8556-77889900AABB}", RevisionNumber: 7},
				KBArticleIDs:         []string{"", "kb123"},
				MsrcSeverity:         "Unspecified",
				InstallationBehavior: wua.InstallationBehavior{RebootBehavior: 9},
				MaxDownloadSize:      -1,
				CveIDs:               []string{"CVE-2", "CVE-1", "CVE-2", " "},
			},
			&agentv1.PendingUpdate{Id: "aabbccdd-1122-4334-8556-77889900aabb.7", Kb: "KB123", Title: "t", Advisories: []string{"CVE-1", "CVE-2"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PendingUpdate(tt.in); !proto.Equal(got, tt.want) {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestPendingUpdatesOrder(t *testing.T) {
	got := PendingUpdates(loadUpdates(t))
	var kbs []string
	for _, p := range got {
		kbs = append(kbs, p.GetKb())
	}
	// Security (critical before important), definition, rollup, upgrade,
	// driver: wua's classification precedence, then severity.
	want := []string{"KB5066835", "KB5066128", "KB2267602", "KB890830", "KB5054156", ""}
	if !slices.Equal(kbs, want) {
		t.Errorf("order %q, want %q", kbs, want)
	}
}

func TestSortUpdatesTieBreaks(t *testing.T) {
	mk := func(id, title string) *agentv1.PendingUpdate {
		return &agentv1.PendingUpdate{Id: id, Title: title, Classification: agentv1.Classification_CLASSIFICATION_UPDATE}
	}
	ps := []*agentv1.PendingUpdate{mk("b.1", "B"), mk("a.2", "A"), mk("a.1", "A")}
	SortUpdates(ps)
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.GetId())
	}
	if want := []string{"a.1", "a.2", "b.1"}; !slices.Equal(ids, want) {
		t.Errorf("ids %q, want %q", ids, want)
	}
}

func TestClassificationMapComplete(t *testing.T) {
	for c := wua.ClassUnknown; c <= wua.ClassSecurity; c++ {
		w, ok := classifications[c]
		if !ok {
			t.Errorf("wua %v has no wire classification", c)
		}
		if c != wua.ClassUnknown && w == agentv1.Classification_CLASSIFICATION_UNSPECIFIED {
			t.Errorf("wua %v maps to UNSPECIFIED", c)
		}
	}
	if len(classRank) != len(agentv1.Classification_name) {
		t.Errorf("classRank covers %d of %d wire classifications", len(classRank), len(agentv1.Classification_name))
	}
}
