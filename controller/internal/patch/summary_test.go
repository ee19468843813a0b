package patch_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/patch"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

const (
	security = agentv1.Classification_CLASSIFICATION_SECURITY
	critical = agentv1.Classification_CLASSIFICATION_CRITICAL
	ordinary = agentv1.Classification_CLASSIFICATION_UPDATE
	rollup   = agentv1.Classification_CLASSIFICATION_UPDATE_ROLLUP
	sevNone  = agentv1.Severity_SEVERITY_UNSPECIFIED
	sevLow   = agentv1.Severity_SEVERITY_LOW
	sevCrit  = agentv1.Severity_SEVERITY_CRITICAL
)

func tu(id string, c agentv1.Classification, s agentv1.Severity, first int64) *storev1.TrackedUpdate {
	return &storev1.TrackedUpdate{Update: upd(id, c, s), FirstSeenUnix: first}
}

func countStrings(cs []*managev1.Count) string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s=%d", c.GetLabel(), c.GetCount()))
	}
	return strings.Join(out, ",")
}

func TestSummary(t *testing.T) {
	rec := &storev1.PatchRecord{AgentId: agent, Status: agentv1.ScanStatus_SCAN_STATUS_OK, ScanUnixMs: 9000, LastOkUnixMs: 9000,
		Pending: []*storev1.TrackedUpdate{
			tu("A", security, sevCrit, 300), tu("B", ordinary, sevNone, 100), tu("C", rollup, sevLow, 200), tu("D", security, sevNone, 400),
		},
		InstalledAwaitingReboot: []*storev1.TrackedUpdate{tu("E", security, sevCrit, 50)},
		RebootRequired:          true,
	}
	pendingReboot := &storev1.RebootRecord{State: &agentv1.RebootState{Pending: true, PendingSinceUnix: 77}}
	cases := []struct {
		name        string
		rec         *storev1.PatchRecord
		reboot      *storev1.RebootRecord
		filter      patch.Filter
		pending     uint32
		byClass     string
		bySeverity  string
		oldest      int64
		awaiting    uint32
		rebootSince int64
		rebootOn    bool
	}{
		{"no filter", rec, pendingReboot, patch.Filter{}, 4, "security=2,update=1,update_rollup=1", "critical=1,low=1,unspecified=2", 100, 1, 77, true},
		{"security only", rec, pendingReboot, patch.Filter{Classifications: []agentv1.Classification{security}}, 2,
			"security=2", "critical=1,unspecified=1", 300, 1, 77, true},
		{"security and unrated", rec, nil, patch.Filter{Classifications: []agentv1.Classification{security},
			Severities: []agentv1.Severity{sevNone}}, 1, "security=1", "unspecified=1", 400, 1, 0, true},
		{"no match", rec, &storev1.RebootRecord{State: &agentv1.RebootState{PendingSinceUnix: 5}},
			patch.Filter{Classifications: []agentv1.Classification{critical}}, 0, "", "", 0, 1, 0, false},
		{"nothing reported", nil, nil, patch.Filter{}, 0, "", "", 0, 0, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := patch.Summary(tc.rec, tc.reboot, tc.filter)
			if s.GetPending() != tc.pending || countStrings(s.GetByClassification()) != tc.byClass ||
				countStrings(s.GetBySeverity()) != tc.bySeverity || s.GetOldestPendingUnix() != tc.oldest ||
				s.GetAwaitingReboot() != tc.awaiting || s.GetRebootPending() != tc.rebootOn ||
				s.GetRebootPendingSinceUnix() != tc.rebootSince || s.GetLastScan() == nil ||
				s.GetLastScan().GetTimeUnixMs() != tc.rec.GetScanUnixMs() {
				t.Errorf("got %v", s)
			}
		})
	}
}

func TestSortPending(t *testing.T) {
	list := []*storev1.TrackedUpdate{
		tu("x", ordinary, sevNone, 0), tu("y", ordinary, sevCrit, 0), tu("b", ordinary, sevLow, 0), tu("a", ordinary, sevLow, 0),
	}
	list[2].Update.Title, list[3].Update.Title = "same", "same"
	patch.SortPending(list)
	var ids []string
	for _, u := range list {
		ids = append(ids, u.GetUpdate().GetId())
	}
	if want := []string{"y", "a", "b", "x"}; !slices.Equal(ids, want) {
		t.Errorf("order %v, want %v", ids, want)
	}
}

func TestCompliance(t *testing.T) {
	now := time.Unix(100*86400, 0)
	day := int64(86400)
	ago := func(days int64) int64 { return now.Unix() - days*day }
	agentRec := func(id, tenant string, enrolledDaysAgo int64) *storev1.Agent {
		return &storev1.Agent{Id: id, Tenant: tenant, Hostname: "host-" + id, EnrolledUnix: ago(enrolledDaysAgo)}
	}
	okRec := func(lastOKDaysAgo int64, pending ...*storev1.TrackedUpdate) *storev1.PatchRecord {
		ms := ago(lastOKDaysAgo) * 1000
		return &storev1.PatchRecord{Status: agentv1.ScanStatus_SCAN_STATUS_OK, ScanUnixMs: ms, LastOkUnixMs: ms, Pending: pending}
	}
	reboot := func(sinceDaysAgo int64) *storev1.RebootRecord {
		return &storev1.RebootRecord{State: &agentv1.RebootState{Pending: true, PendingSinceUnix: ago(sinceDaysAgo),
			Signals: []*agentv1.RebootSignal{{Name: "newer_kernel", Present: true, Counts: true}, {Name: "pfro", Present: true, Weak: true}}}}
	}
	cases := []struct {
		name string
		a    patch.AgentRecords
		th   patch.Thresholds
		// want lists "reason since detail" per finding.
		want []string
	}{
		{"clean", patch.AgentRecords{Agent: agentRec("a", "t", 30), Patches: okRec(0, tu("A", ordinary, sevLow, ago(60)))}, patch.Thresholds{}, nil},
		{"security update overdue", patch.AgentRecords{Agent: agentRec("a", "t", 30), Patches: okRec(0,
			tu("A", security, sevNone, ago(15)), tu("B", critical, sevNone, ago(20)), tu("C", ordinary, sevCrit, ago(16)),
			tu("D", security, sevNone, ago(13)), tu("E", ordinary, sevLow, ago(90)))}, patch.Thresholds{},
			[]string{fmt.Sprintf("updates_overdue %d 3 updates, oldest title B", ago(20))}},
		{"custom update threshold", patch.AgentRecords{Agent: agentRec("a", "t", 30), Patches: okRec(0,
			tu("D", security, sevNone, ago(13)))}, patch.Thresholds{UpdateAge: 7 * 24 * time.Hour},
			[]string{fmt.Sprintf("updates_overdue %d 1 update, oldest title D", ago(13))}},
		{"reboot overdue", patch.AgentRecords{Agent: agentRec("a", "t", 30), Patches: okRec(0), Reboot: reboot(4)}, patch.Thresholds{},
			[]string{fmt.Sprintf("reboot_overdue %d reboot pending: newer_kernel", ago(4))}},
		{"reboot pending, not yet overdue", patch.AgentRecords{Agent: agentRec("a", "t", 30), Patches: okRec(0), Reboot: reboot(2)},
			patch.Thresholds{}, nil},
		{"scan failing", patch.AgentRecords{Agent: agentRec("a", "t", 30), Patches: &storev1.PatchRecord{
			Status: agentv1.ScanStatus_SCAN_STATUS_TIMEOUT, ScanUnixMs: ago(0) * 1000, LastOkUnixMs: ago(1) * 1000,
			ConsecutiveFailures: 3, FirstFailureUnixMs: ago(1) * 1000}}, patch.Thresholds{},
			[]string{fmt.Sprintf("scan_failing %d 3 failed scans, last timeout", ago(1))}},
		{"scan failing and stale", patch.AgentRecords{Agent: agentRec("a", "t", 30), Patches: &storev1.PatchRecord{
			Status: agentv1.ScanStatus_SCAN_STATUS_FAILED, ErrorCode: "apt_exit_100", ErrorMessage: "E: broken\nsources",
			ScanUnixMs: ago(0) * 1000, LastOkUnixMs: ago(5) * 1000, ConsecutiveFailures: 1, FirstFailureUnixMs: ago(0) * 1000}},
			patch.Thresholds{}, []string{
				fmt.Sprintf("scan_failing %d last scan failed: apt_exit_100: E: broken sources", ago(0)),
				fmt.Sprintf("scan_stale %d last successful scan %s", ago(5), time.Unix(ago(5), 0).UTC().Format(time.RFC3339)),
			}},
		{"scan stale", patch.AgentRecords{Agent: agentRec("a", "t", 30), Patches: okRec(3)}, patch.Thresholds{},
			[]string{fmt.Sprintf("scan_stale %d last successful scan %s", ago(3), time.Unix(ago(3), 0).UTC().Format(time.RFC3339))}},
		{"stale threshold raised", patch.AgentRecords{Agent: agentRec("a", "t", 30), Patches: okRec(3)},
			patch.Thresholds{StaleScan: 4 * 24 * time.Hour}, nil},
		{"never scanned", patch.AgentRecords{Agent: agentRec("a", "t", 2)}, patch.Thresholds{},
			[]string{fmt.Sprintf("never_scanned %d no patch scan received since enrollment", ago(2))}},
		{"just enrolled", patch.AgentRecords{Agent: &storev1.Agent{Id: "a", Tenant: "t", EnrolledUnix: now.Unix() - 3600}},
			patch.Thresholds{}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := patch.Compliance([]string{"t"}, []patch.AgentRecords{tc.a}, tc.th, now)
			var fs []string
			for _, f := range got[0].GetFindings() {
				fs = append(fs, fmt.Sprintf("%s %d %s", f.GetReason(), f.GetSinceUnix(), f.GetDetail()))
			}
			wantCompliant := uint32(0)
			if len(tc.want) == 0 {
				wantCompliant = 1
			}
			if len(got) != 1 || got[0].GetAgents() != 1 || got[0].GetCompliant() != wantCompliant || !slices.Equal(fs, tc.want) {
				t.Errorf("got %v\nfindings %q\nwant %q", got, fs, tc.want)
			}
		})
	}
}

func TestComplianceTenants(t *testing.T) {
	now := time.Unix(100*86400, 0)
	fresh := &storev1.PatchRecord{Status: agentv1.ScanStatus_SCAN_STATUS_OK, ScanUnixMs: now.UnixMilli(), LastOkUnixMs: now.UnixMilli()}
	agents := []patch.AgentRecords{
		{Agent: &storev1.Agent{Id: "1", Tenant: "beta", Hostname: "zeta", EnrolledUnix: 0}},
		{Agent: &storev1.Agent{Id: "2", Tenant: "beta", Hostname: "alpha", EnrolledUnix: 0}},
		{Agent: &storev1.Agent{Id: "3", Tenant: "beta", Hostname: "ok"}, Patches: fresh},
		{Agent: &storev1.Agent{Id: "4", Tenant: "acme", Hostname: "gone", Revoked: true}},
		{Agent: &storev1.Agent{Id: "5", Tenant: "acme", Hostname: "fine"}, Patches: fresh},
	}
	got := patch.Compliance([]string{"empty", "beta"}, agents, patch.Thresholds{}, now)
	var summary []string
	for _, tc := range got {
		var hosts []string
		for _, f := range tc.GetFindings() {
			hosts = append(hosts, f.GetHostname())
		}
		summary = append(summary, fmt.Sprintf("%s %d/%d %v", tc.GetTenant(), tc.GetCompliant(), tc.GetAgents(), hosts))
	}
	want := []string{"acme 1/1 []", "beta 1/3 [alpha zeta]", "empty 0/0 []"}
	if !slices.Equal(summary, want) {
		t.Errorf("got %q, want %q", summary, want)
	}
}
