package manageapi_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/controller/controllertest"
	"github.com/vigil-rmm/vigil/controller/internal/metrics"
	"github.com/vigil-rmm/vigil/controller/internal/patch"
	"github.com/vigil-rmm/vigil/controller/internal/server"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// reportWorld is a real controller with two UTC tenants, acme and beta,
// whose last two whole UTC days hold samples, a check's results, alerts
// and patch state.
type reportWorld struct {
	c            *controllertest.Controller
	since, until time.Time
	viewerA      string // client-viewer of acme
	viewerB      string // client-viewer of beta
}

func newReportWorld(t *testing.T) *reportWorld {
	t.Helper()
	c := controllertest.Start(t)
	for _, tn := range []string{"acme", "beta"} {
		if _, err := c.Admin(t).CreateTenant(t.Context(), &managev1.CreateTenantRequest{Id: tn, Timezone: "UTC"}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC()
	until := now.Truncate(24 * time.Hour)
	w := &reportWorld{c: c, since: until.Add(-48 * time.Hour), until: until,
		viewerA: c.Principal(t, "acme-viewer", managev1.Role_ROLE_CLIENT_VIEWER, "acme"),
		viewerB: c.Principal(t, "beta-viewer", managev1.Role_ROLE_CLIENT_VIEWER, "beta")}
	enrolled := now.Add(-5 * 24 * time.Hour).Unix()
	w.update(t, func(tx store.Tx) error {
		for _, a := range []*storev1.Agent{
			{Id: "ag-web", Tenant: "acme", Hostname: "web1", EnrolledUnix: enrolled},
			{Id: "ag-db", Tenant: "acme", Hostname: "db1", EnrolledUnix: enrolled},
			{Id: "ag-beta", Tenant: "beta", Hostname: "beta1", EnrolledUnix: enrolled},
		} {
			if err := schema.PutAgent(tx, a); err != nil {
				return err
			}
		}
		if err := schema.PutCheck(tx, &storev1.Check{Id: "ck-site", Tenant: "acme", Name: "site", IntervalSeconds: 300,
			Spec: &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_TCP, Target: "acme.example", Port: 443}}); err != nil {
			return err
		}
		at := func(h, m int) int64 {
			return w.since.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute).UnixMilli()
		}
		if _, err := schema.AppendCheckResults(tx, "ck-site", []*storev1.CheckResultRecord{
			{Check: "ck-site", Vantage: "controller", Status: agentv1.CheckStatus_CHECK_STATUS_OK, StartUnixMs: at(10, 0)},
			{Check: "ck-site", Vantage: "controller", Status: agentv1.CheckStatus_CHECK_STATUS_NG, StartUnixMs: at(10, 5)},
			{Check: "ck-site", Vantage: "controller", Status: agentv1.CheckStatus_CHECK_STATUS_OK, StartUnixMs: at(10, 10)},
		}); err != nil {
			return err
		}
		for _, al := range []*storev1.AlertRecord{
			{Id: "al-acme", Tenant: "acme", Rule: "r-off", RuleKind: "offline", Agent: "ag-web", Host: "web1",
				StartUnixMs: at(6, 0), EndUnixMs: at(6, 30), Notified: true},
			{Id: "al-beta", Tenant: "beta", Rule: "r-off", RuleKind: "offline", Agent: "ag-beta", Host: "beta1", StartUnixMs: at(1, 0)},
		} {
			if err := schema.PutAlertRecord(tx, al); err != nil {
				return err
			}
		}
		// db1 has a critical security update and a minor one pending,
		// both first seen now: pending, but not overdue.
		_, err := patch.ApplyPatchScan(tx, "ag-db", now.UnixMilli(), 1, &agentv1.PatchScan{Source: "apt", Status: agentv1.ScanStatus_SCAN_STATUS_OK,
			Hash: []byte("h"), Pending: []*agentv1.PendingUpdate{
				{Id: "u1", Package: "openssl", Classification: agentv1.Classification_CLASSIFICATION_SECURITY, Severity: agentv1.Severity_SEVERITY_CRITICAL},
				{Id: "u2", Package: "tzdata", Classification: agentv1.Classification_CLASSIFICATION_UPDATE, Severity: agentv1.Severity_SEVERITY_LOW},
			}}, patch.Options{})
		return err
	})

	// Samples go into the metrics file while the controller is stopped
	// (it holds the file's lock): web1 misses 06:00-06:29 of the first
	// day, beta1 misses nothing.
	c.Stop()
	mdb, err := metrics.Open(filepath.Join(c.Dir, server.MetricsFile), metrics.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	var samples []metrics.Sample
	for ts := w.since; ts.Before(w.until); ts = ts.Add(time.Minute) {
		m := &agentv1.Metrics{CpuPercent: 5, MemTotal: 100, MemUsed: 25}
		if ts.Sub(w.since) < 6*time.Hour || ts.Sub(w.since) >= 6*time.Hour+30*time.Minute {
			samples = append(samples, metrics.Sample{AgentID: "ag-web", Seq: uint64(len(samples)), TimeMS: ts.Add(30 * time.Second).UnixMilli(), Metrics: m})
		}
		samples = append(samples, metrics.Sample{AgentID: "ag-beta", Seq: uint64(len(samples)), TimeMS: ts.Add(30 * time.Second).UnixMilli(), Metrics: m})
	}
	if n, err := mdb.Put(t.Context(), samples); err != nil || n != len(samples) {
		t.Fatalf("put samples: %d of %d, %v", n, len(samples), err)
	}
	if err := mdb.Close(); err != nil {
		t.Fatal(err)
	}
	c.Restart(t)
	return w
}

func (w *reportWorld) update(t *testing.T, f func(tx store.Tx) error) {
	t.Helper()
	if err := w.c.Server().Store().Update(t.Context(), f); err != nil {
		t.Fatal(err)
	}
}

func (w *reportWorld) client(t *testing.T, token string) managev1.ReportServiceClient {
	return managev1.NewReportServiceClient(dialAs(t, w.c, token))
}

// reportSummary condenses what a report says about agents, checks,
// alerts and compliance into comparable lines.
func reportSummary(r *managev1.Report) []string {
	out := []string{fmt.Sprintf("%s %s", r.GetTenant(), r.GetTimezone())}
	for _, a := range r.GetAgents() {
		out = append(out, fmt.Sprintf("agent %s %d/%d %.2f%% days=%d", a.GetHostname(), a.GetTotal().GetOnlineMinutes(),
			a.GetTotal().GetExpectedMinutes(), a.GetTotal().GetPercent(), len(a.GetDays())))
	}
	for _, m := range r.GetMetrics() {
		for _, d := range m.GetDays() {
			out = append(out, fmt.Sprintf("metrics %s %s n=%d cpu=%.2f mem=%.2f", m.GetHostname(), d.GetDay(), d.GetSamples(), d.GetCpuMax(), d.GetMemoryAvgPercent()))
		}
	}
	for _, c := range r.GetChecks() {
		tot := c.GetTotal()
		out = append(out, fmt.Sprintf("check %s %s ok=%d ng=%d up=%.2f%% outages=%d down=%ds", c.GetName(), c.GetVantage(), tot.GetOk(), tot.GetNg(),
			tot.GetUptimePercent(), tot.GetOutages(), tot.GetDownSeconds()))
	}
	for _, a := range r.GetAlerts() {
		out = append(out, fmt.Sprintf("alert %s %s %ds", a.GetId(), a.GetKind(), a.GetDurationSeconds()))
	}
	comp := r.GetCompliance()
	out = append(out, fmt.Sprintf("compliance %d/%d thresholds %d/%d/%d", comp.GetTenant().GetCompliant(), comp.GetTenant().GetAgents(),
		comp.GetUpdateDays(), comp.GetRebootDays(), comp.GetStaleScanDays()))
	for _, f := range comp.GetTenant().GetFindings() {
		out = append(out, "finding "+f.GetHostname()+" "+f.GetReason())
	}
	for _, a := range comp.GetAgents() {
		out = append(out, fmt.Sprintf("patches %s pending=%d critical=%d security=%d", a.GetHostname(), a.GetPending(), a.GetCritical(), a.GetSecurity()))
	}
	return out
}

func TestGetReportThroughController(t *testing.T) {
	w := newReportWorld(t)
	req := &managev1.GetReportRequest{Tenant: "acme", SinceUnix: w.since.Unix(), UntilUnix: w.until.Unix()}
	day1, day2 := w.since.Format(time.DateOnly), w.since.Add(24*time.Hour).Format(time.DateOnly)
	wantAcme := []string{
		"acme UTC",
		"agent db1 0/2880 0.00% days=2",
		"agent web1 2850/2880 98.96% days=2",
		"metrics web1 " + day1 + " n=1410 cpu=5.00 mem=25.00",
		"metrics web1 " + day2 + " n=1440 cpu=5.00 mem=25.00",
		"check site controller ok=2 ng=1 up=66.67% outages=1 down=300s",
		"alert al-acme offline 1800s",
		"compliance 1/2 thresholds 14/3/2",
		"finding web1 never_scanned",
		"patches db1 pending=2 critical=1 security=1",
		"patches web1 pending=0 critical=0 security=0",
	}
	for _, who := range []struct {
		name, token string
		req         *managev1.GetReportRequest
	}{
		{"admin", w.c.AdminToken, req},
		{"client viewer of the tenant", w.viewerA, req},
		{"client viewer naming no tenant", w.viewerA, &managev1.GetReportRequest{SinceUnix: req.SinceUnix, UntilUnix: req.UntilUnix}},
	} {
		t.Run(who.name, func(t *testing.T) {
			r, err := w.client(t, who.token).GetReport(t.Context(), who.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := reportSummary(r); strings.Join(got, "\n") != strings.Join(wantAcme, "\n") {
				t.Errorf("report:\ngot:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(wantAcme, "\n  "))
			}
		})
	}

	// beta's viewer gets beta's report, and nothing of acme's.
	r, err := w.client(t, w.viewerB).GetReport(t.Context(), &managev1.GetReportRequest{Tenant: "beta", SinceUnix: req.SinceUnix, UntilUnix: req.UntilUnix})
	if err != nil {
		t.Fatal(err)
	}
	wantBeta := []string{"beta UTC", "agent beta1 2880/2880 100.00% days=2",
		"metrics beta1 " + day1 + " n=1440 cpu=5.00 mem=25.00", "metrics beta1 " + day2 + " n=1440 cpu=5.00 mem=25.00",
		"alert al-beta offline 169200s", "compliance 0/1 thresholds 14/3/2", "finding beta1 never_scanned",
		"patches beta1 pending=0 critical=0 security=0"}
	if got := reportSummary(r); strings.Join(got, "\n") != strings.Join(wantBeta, "\n") {
		t.Errorf("beta report:\ngot:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(wantBeta, "\n  "))
	}
}

func TestGetReportRefusals(t *testing.T) {
	w := newReportWorld(t)
	now := time.Now()
	cases := []struct {
		name  string
		token string
		req   *managev1.GetReportRequest
		code  codes.Code
		text  string
	}{
		{"another tenant's report", w.viewerB, &managev1.GetReportRequest{Tenant: "acme"}, codes.NotFound, ""},
		{"unknown tenant", w.c.AdminToken, &managev1.GetReportRequest{Tenant: "ghost"}, codes.NotFound, `tenant "ghost"`},
		{"no tenant", w.c.AdminToken, &managev1.GetReportRequest{}, codes.InvalidArgument, "tenant: required"},
		{"malformed tenant", w.c.AdminToken, &managev1.GetReportRequest{Tenant: "Acme Corp"}, codes.InvalidArgument, "tenant: "},
		{"before retention", w.c.AdminToken, &managev1.GetReportRequest{Tenant: "acme", SinceUnix: now.Add(-11 * 24 * time.Hour).Unix()},
			codes.InvalidArgument, "retention horizon"},
		{"period past retention", w.c.AdminToken, &managev1.GetReportRequest{Tenant: "acme", PeriodSeconds: 30 * 24 * 3600},
			codes.InvalidArgument, "retention horizon"},
		{"negative since", w.c.AdminToken, &managev1.GetReportRequest{Tenant: "acme", SinceUnix: -1}, codes.InvalidArgument, "since_unix: "},
		{"huge until", w.c.AdminToken, &managev1.GetReportRequest{Tenant: "acme", UntilUnix: 1 << 62}, codes.InvalidArgument, "until_unix: "},
		// Seconds that wrap around int64 nanoseconds: 18446744674 s would
		// become a period of about ten minutes.
		{"period wraps to ten minutes", w.c.AdminToken, &managev1.GetReportRequest{Tenant: "acme", PeriodSeconds: 18446744674},
			codes.InvalidArgument, "period_seconds: 18446744674 is out of range"},
		{"period MaxInt64", w.c.AdminToken, &managev1.GetReportRequest{Tenant: "acme", PeriodSeconds: math.MaxInt64},
			codes.InvalidArgument, "period_seconds: "},
		{"future until", w.c.AdminToken, &managev1.GetReportRequest{Tenant: "acme", UntilUnix: now.Add(2 * time.Hour).Unix()},
			codes.InvalidArgument, "in the future"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := w.client(t, c.token).GetReport(t.Context(), c.req)
			if st := status.Convert(err); st.Code() != c.code || !strings.Contains(st.Message(), c.text) {
				t.Errorf("got %v, want %s containing %q", err, c.code, c.text)
			}
		})
	}
}

// The default period is the last 10 days, the controller's retention.
func TestGetReportDefaultPeriod(t *testing.T) {
	w := newReportWorld(t)
	before := time.Now()
	r, err := w.client(t, w.viewerA).GetReport(context.Background(), &managev1.GetReportRequest{Tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	until := time.Unix(r.GetUntilUnix(), 0)
	if until.Before(before.Add(-time.Minute)) || until.After(time.Now()) || r.GetUntilUnix()-r.GetSinceUnix() > 10*24*3600 ||
		r.GetUntilUnix()-r.GetSinceUnix() < 10*24*3600-60 {
		t.Errorf("default period %s..%s", time.Unix(r.GetSinceUnix(), 0).UTC(), until.UTC())
	}
}
