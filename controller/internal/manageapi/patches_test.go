package manageapi_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/controller/internal/apierr"
	"github.com/vigil-rmm/vigil/controller/internal/auth"
	"github.com/vigil-rmm/vigil/controller/internal/manageapi"
	"github.com/vigil-rmm/vigil/controller/internal/patch"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	"github.com/vigil-rmm/vigil/internal/logging"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// patchRig is a manage server on a real bolt store, seeded through the
// patch package as the ingest writer would.
type patchRig struct {
	srv    *manageapi.Server
	now    time.Time
	admin  context.Context
	viewer context.Context // client-viewer of acme
}

const day = int64(24 * 3600)

func upd(id string, c agentv1.Classification, sev agentv1.Severity) *agentv1.PendingUpdate {
	return &agentv1.PendingUpdate{Id: id, Kb: "KB" + id, Title: "update " + id, Classification: c, Severity: sev}
}

var (
	updA = upd("A", agentv1.Classification_CLASSIFICATION_SECURITY, agentv1.Severity_SEVERITY_CRITICAL)
	updB = upd("B", agentv1.Classification_CLASSIFICATION_UPDATE, agentv1.Severity_SEVERITY_LOW)
	updC = upd("C", agentv1.Classification_CLASSIFICATION_UPDATE, agentv1.Severity_SEVERITY_UNSPECIFIED)
	updD = upd("D", agentv1.Classification_CLASSIFICATION_SECURITY, agentv1.Severity_SEVERITY_UNSPECIFIED)
)

func newPatchRig(t *testing.T) *patchRig {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "control.db"), store.BoltOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := schema.Open(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000*day, 0)
	ago := func(days int64) int64 { return (now.Unix() - days*day) * 1000 }
	opts := patch.Options{Now: func() time.Time { return now }}
	ok := func(hash string, pending []*agentv1.PendingUpdate, awaiting ...*agentv1.PendingUpdate) *agentv1.PatchScan {
		return &agentv1.PatchScan{Source: "windowsupdate", Status: agentv1.ScanStatus_SCAN_STATUS_OK, Hash: []byte(hash),
			Pending: pending, InstalledAwaitingReboot: awaiting}
	}
	err = st.Update(t.Context(), func(tx store.Tx) error {
		for _, tn := range []string{"acme", "beta", "empty"} {
			if err := schema.PutTenant(tx, &storev1.Tenant{Id: tn}); err != nil {
				return err
			}
		}
		agents := []*storev1.Agent{
			{Id: "ag-1", Tenant: "acme", Hostname: "web2", EnrolledUnix: ago(100) / 1000, Facts: &agentv1.Facts{BootTimeUnix: 4242}},
			{Id: "ag-2", Tenant: "acme", Hostname: "web1", EnrolledUnix: ago(100) / 1000},
			{Id: "ag-3", Tenant: "beta", Hostname: "db", EnrolledUnix: ago(100) / 1000},
			{Id: "ag-4", Tenant: "acme", Hostname: "old", EnrolledUnix: ago(100) / 1000, Revoked: true},
			{Id: "ag-5", Tenant: "acme", Hostname: "fresh", EnrolledUnix: now.Unix() - 60, Facts: &agentv1.Facts{BootTimeUnix: 99}},
		}
		for _, a := range agents {
			if err := schema.PutAgent(tx, a); err != nil {
				return err
			}
		}
		steps := []func() (patch.Outcome, error){
			func() (patch.Outcome, error) {
				return patch.ApplyPatchScan(tx, "ag-1", ago(20), 1, ok("h1", []*agentv1.PendingUpdate{updB, updA}), opts)
			},
			func() (patch.Outcome, error) {
				return patch.ApplyPatchScan(tx, "ag-1", ago(1), 2, ok("h2", []*agentv1.PendingUpdate{updC, updA}, updB), opts)
			},
			func() (patch.Outcome, error) {
				return patch.ApplyReboot(tx, "ag-1", ago(1), &agentv1.RebootState{Pending: true, PendingSinceUnix: ago(5) / 1000,
					Signals: []*agentv1.RebootSignal{{Name: "wu_reboot_required", Present: true, Counts: true}}}, opts)
			},
			func() (patch.Outcome, error) {
				return patch.ApplyInventory(tx, "ag-1", ago(10), &agentv1.Inventory{Hardware: &agentv1.Hardware{Model: "R740"},
					Software: []*agentv1.Software{{Name: "7-Zip", Version: "23.01"}}}, opts)
			},
			func() (patch.Outcome, error) {
				return patch.ApplyInventory(tx, "ag-1", ago(2), &agentv1.Inventory{Hardware: &agentv1.Hardware{Model: "R740"},
					Software: []*agentv1.Software{{Name: "7-Zip", Version: "24.08"}, {Name: "Git", Version: "2.47.1"}}}, opts)
			},
			func() (patch.Outcome, error) {
				return patch.ApplyPatchScan(tx, "ag-2", ago(0), 1, ok("h3", []*agentv1.PendingUpdate{updD}), opts)
			},
			func() (patch.Outcome, error) {
				return patch.ApplyPatchScan(tx, "ag-3", ago(0), 1, &agentv1.PatchScan{Source: "apt",
					Status: agentv1.ScanStatus_SCAN_STATUS_FAILED, ErrorCode: "apt_exit_100"}, opts)
			},
			func() (patch.Outcome, error) {
				return patch.ApplyPatchScan(tx, "ag-4", ago(0), 1, ok("h4", []*agentv1.PendingUpdate{updA}), opts)
			},
		}
		for _, step := range steps {
			if _, err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := manageapi.New(manageapi.Config{Store: st, Logger: logging.Discard(), Now: func() time.Time { return now }})
	return &patchRig{
		srv:    srv,
		now:    now,
		admin:  auth.WithPrincipal(t.Context(), &storev1.Principal{Id: "pr-admin", Name: "admin", Role: string(auth.RoleAdmin)}),
		viewer: auth.WithPrincipal(t.Context(), &storev1.Principal{Id: "pr-v", Name: "v", Role: string(auth.RoleClientViewer), Tenant: "acme"}),
	}
}

func code(err error) codes.Code { return status.Code(apierr.Status(err)) }

func TestListPatchSummaries(t *testing.T) {
	r := newPatchRig(t)
	sec := agentv1.Classification_CLASSIFICATION_SECURITY
	cases := []struct {
		name string
		ctx  context.Context
		req  *managev1.ListPatchSummariesRequest
		want []string // "tenant/hostname pending awaiting reboot status"
		code codes.Code
	}{
		{"everything visible, revoked left out", r.admin, &managev1.ListPatchSummariesRequest{}, []string{
			"acme/fresh 0 0 false SCAN_STATUS_UNSPECIFIED",
			"acme/web1 1 0 false SCAN_STATUS_OK",
			"acme/web2 2 1 true SCAN_STATUS_OK",
			"beta/db 0 0 false SCAN_STATUS_FAILED",
		}, codes.OK},
		{"client sees its tenant", r.viewer, &managev1.ListPatchSummariesRequest{}, []string{
			"acme/fresh 0 0 false SCAN_STATUS_UNSPECIFIED",
			"acme/web1 1 0 false SCAN_STATUS_OK",
			"acme/web2 2 1 true SCAN_STATUS_OK",
		}, codes.OK},
		{"one tenant", r.admin, &managev1.ListPatchSummariesRequest{Tenant: "beta"}, []string{"beta/db 0 0 false SCAN_STATUS_FAILED"}, codes.OK},
		{"security only", r.admin, &managev1.ListPatchSummariesRequest{Classifications: []agentv1.Classification{sec}},
			[]string{"acme/web1 1 0 false SCAN_STATUS_OK", "acme/web2 1 1 true SCAN_STATUS_OK"}, codes.OK},
		{"critical severity only", r.admin, &managev1.ListPatchSummariesRequest{Severities: []agentv1.Severity{agentv1.Severity_SEVERITY_CRITICAL}},
			[]string{"acme/web2 1 1 true SCAN_STATUS_OK"}, codes.OK},
		{"unknown tenant", r.admin, &managev1.ListPatchSummariesRequest{Tenant: "nope"}, nil, codes.NotFound},
		{"unknown severity", r.admin, &managev1.ListPatchSummariesRequest{Severities: []agentv1.Severity{99}}, nil, codes.InvalidArgument},
		{"unknown classification", r.admin, &managev1.ListPatchSummariesRequest{Classifications: []agentv1.Classification{-1}}, nil, codes.InvalidArgument},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := r.srv.ListPatchSummaries(tc.ctx, tc.req)
			var got []string
			for _, s := range resp.GetSummaries() {
				got = append(got, fmt.Sprintf("%s/%s %d %d %v %s", s.GetTenant(), s.GetHostname(), s.GetPending(),
					s.GetAwaitingReboot(), s.GetRebootPending(), s.GetLastScan().GetStatus()))
			}
			if code(err) != tc.code || !slices.Equal(got, tc.want) {
				t.Errorf("got %q, %v; want %q, %v", got, err, tc.want, tc.code)
			}
		})
	}
}

func TestGetPatchState(t *testing.T) {
	r := newPatchRig(t)
	ps, err := r.srv.GetPatchState(r.admin, &managev1.GetPatchStateRequest{AgentId: "ag-1"})
	if err != nil {
		t.Fatal(err)
	}
	var pending, awaiting []string
	for _, u := range ps.GetPending() {
		pending = append(pending, fmt.Sprintf("%s@%d", u.GetUpdate().GetId(), u.GetFirstSeenUnix()))
	}
	for _, u := range ps.GetInstalledAwaitingReboot() {
		awaiting = append(awaiting, fmt.Sprintf("%s@%d", u.GetUpdate().GetId(), u.GetFirstSeenUnix()))
	}
	first, second := r.now.Unix()-20*day, r.now.Unix()-day
	wantPending := []string{fmt.Sprintf("A@%d", first), fmt.Sprintf("C@%d", second)}
	if !slices.Equal(pending, wantPending) || !slices.Equal(awaiting, []string{fmt.Sprintf("B@%d", second)}) {
		t.Errorf("pending %v awaiting %v; want %v [B@%d]", pending, awaiting, wantPending, second)
	}
	sum := ps.GetSummary()
	if sum.GetHostname() != "web2" || sum.GetOldestPendingUnix() != first || sum.GetRebootPendingSinceUnix() != r.now.Unix()-5*day {
		t.Errorf("summary %v", sum)
	}

	empty, err := r.srv.GetPatchState(r.admin, &managev1.GetPatchStateRequest{AgentId: "ag-5"})
	if err != nil || len(empty.GetPending()) != 0 || empty.GetSummary().GetHostname() != "fresh" || empty.GetSummary().GetLastScan().GetTimeUnixMs() != 0 {
		t.Errorf("agent without a scan: %v, %v", empty, err)
	}
	if _, err := r.srv.GetPatchState(r.admin, &managev1.GetPatchStateRequest{AgentId: "ag-none"}); code(err) != codes.NotFound {
		t.Errorf("unknown agent: %v", err)
	}
}

func TestListPatchHistory(t *testing.T) {
	r := newPatchRig(t)
	first, second := r.now.Unix()-20*day, r.now.Unix()-day
	cases := []struct {
		name  string
		agent string
		since int64
		want  []string
		code  codes.Code
	}{
		{"all", "ag-1", 0, []string{
			fmt.Sprintf("%d KIND_APPEARED B", first), fmt.Sprintf("%d KIND_APPEARED A", first),
			fmt.Sprintf("%d KIND_AWAITING_REBOOT B", second), fmt.Sprintf("%d KIND_APPEARED C", second),
		}, codes.OK},
		{"since", "ag-1", second, []string{fmt.Sprintf("%d KIND_AWAITING_REBOOT B", second), fmt.Sprintf("%d KIND_APPEARED C", second)}, codes.OK},
		{"now", "ag-1", r.now.Unix(), nil, codes.OK},
		{"no history yet", "ag-5", 0, nil, codes.OK},
		{"future", "ag-1", r.now.Unix() + 1, nil, codes.InvalidArgument},
		{"negative", "ag-1", -1, nil, codes.InvalidArgument},
		{"unknown agent", "ag-none", 0, nil, codes.NotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := r.srv.ListPatchHistory(r.admin, &managev1.ListPatchHistoryRequest{AgentId: tc.agent, SinceUnix: tc.since})
			var got []string
			for _, e := range resp.GetEvents() {
				got = append(got, fmt.Sprintf("%d %s %s", e.GetTimeUnix(), e.GetKind(), e.GetUpdateId()))
			}
			if code(err) != tc.code || !slices.Equal(got, tc.want) {
				t.Errorf("got %q, %v; want %q, %v", got, err, tc.want, tc.code)
			}
		})
	}
}

func TestGetPatchCompliance(t *testing.T) {
	r := newPatchRig(t)
	cases := []struct {
		name       string
		ctx        context.Context
		req        *managev1.GetPatchComplianceRequest
		want       []string // "tenant compliant/agents [hostname:reason ...]"
		thresholds [3]uint32
		code       codes.Code
	}{
		{"defaults", r.admin, &managev1.GetPatchComplianceRequest{}, []string{
			"acme 2/3 [web2:reboot_overdue web2:updates_overdue]", "beta 0/1 [db:scan_failing]", "empty 0/0 []",
		}, [3]uint32{14, 3, 2}, codes.OK},
		{"client sees its tenant", r.viewer, &managev1.GetPatchComplianceRequest{RebootDays: 10, UpdateDays: 30},
			[]string{"acme 3/3 []"}, [3]uint32{30, 10, 2}, codes.OK},
		{"one tenant", r.admin, &managev1.GetPatchComplianceRequest{Tenant: "beta", StaleScanDays: 7},
			[]string{"beta 0/1 [db:scan_failing]"}, [3]uint32{14, 3, 7}, codes.OK},
		{"threshold too large", r.admin, &managev1.GetPatchComplianceRequest{UpdateDays: 3651}, nil, [3]uint32{}, codes.InvalidArgument},
		{"unknown tenant", r.admin, &managev1.GetPatchComplianceRequest{Tenant: "nope"}, nil, [3]uint32{}, codes.NotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := r.srv.GetPatchCompliance(tc.ctx, tc.req)
			var got []string
			for _, tn := range resp.GetTenants() {
				var fs []string
				for _, f := range tn.GetFindings() {
					fs = append(fs, f.GetHostname()+":"+f.GetReason())
				}
				got = append(got, fmt.Sprintf("%s %d/%d %v", tn.GetTenant(), tn.GetCompliant(), tn.GetAgents(), fs))
			}
			th := [3]uint32{resp.GetUpdateDays(), resp.GetRebootDays(), resp.GetStaleScanDays()}
			if code(err) != tc.code || !slices.Equal(got, tc.want) || th != tc.thresholds {
				t.Errorf("got %q %v, %v; want %q %v, %v", got, th, err, tc.want, tc.thresholds, tc.code)
			}
		})
	}
}

func TestRebootAndInventoryViews(t *testing.T) {
	r := newPatchRig(t)
	rb, err := r.srv.GetRebootState(r.admin, &managev1.GetRebootStateRequest{AgentId: "ag-1"})
	if err != nil || !rb.GetState().GetPending() || rb.GetBootTimeUnix() != 4242 || rb.GetReportedUnixMs() != (r.now.Unix()-day)*1000 {
		t.Errorf("reboot state: %v, %v", rb, err)
	}
	rb, err = r.srv.GetRebootState(r.admin, &managev1.GetRebootStateRequest{AgentId: "ag-5"})
	if err != nil || rb.GetState().GetPending() || rb.GetBootTimeUnix() != 99 || rb.GetAgentId() != "ag-5" {
		t.Errorf("reboot state of a silent agent: %v, %v", rb, err)
	}
	inv, err := r.srv.GetInventory(r.admin, &managev1.GetInventoryRequest{AgentId: "ag-1"})
	if err != nil || len(inv.GetInventory().GetSoftware()) != 2 || inv.GetReportedUnixMs() != (r.now.Unix()-2*day)*1000 {
		t.Errorf("inventory: %v, %v", inv, err)
	}
	inv, err = r.srv.GetInventory(r.admin, &managev1.GetInventoryRequest{AgentId: "ag-5"})
	if err != nil || inv.GetInventory() != nil || inv.GetAgentId() != "ag-5" {
		t.Errorf("inventory of a silent agent: %v, %v", inv, err)
	}
	chs, err := r.srv.ListInventoryChanges(r.admin, &managev1.ListInventoryChangesRequest{AgentId: "ag-1"})
	var got []string
	for _, c := range chs.GetChanges() {
		got = append(got, fmt.Sprintf("%s %s %s->%s", c.GetKind(), c.GetName(), c.GetOldVersion(), c.GetNewVersion()))
	}
	if want := []string{"KIND_UPGRADED 7-Zip 23.01->24.08", "KIND_INSTALLED Git ->2.47.1"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("changes %q, %v; want %q", got, err, want)
	}
	errs := []error{
		func() error {
			_, err := r.srv.GetRebootState(r.admin, &managev1.GetRebootStateRequest{AgentId: "x"})
			return err
		}(),
		func() error {
			_, err := r.srv.GetInventory(r.admin, &managev1.GetInventoryRequest{AgentId: "x"})
			return err
		}(),
		func() error {
			_, err := r.srv.ListInventoryChanges(r.admin, &managev1.ListInventoryChangesRequest{AgentId: "x"})
			return err
		}(),
	}
	for i, err := range errs {
		if code(err) != codes.NotFound {
			t.Errorf("unknown agent, call %d: %v", i, err)
		}
	}
	if _, err := r.srv.ListInventoryChanges(r.admin, &managev1.ListInventoryChangesRequest{AgentId: "ag-1", SinceUnix: r.now.Unix() + 60}); code(err) != codes.InvalidArgument {
		t.Errorf("since in the future: %v", err)
	}
}
