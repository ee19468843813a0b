package main

// End-to-end tests of vigilctl report against a real in-process
// controller (controllertest): real stores, real TLS on loopback, the
// real report service.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/controllertest"
	"github.com/vigil-rmm/vigil/internal/clientconfig"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// reportFixture is a controller with tenants acme and beta (UTC), an
// agent enrolled in acme through the agent API, and a client viewer of
// beta. The control store and metrics database are the controller's
// own: this package may not reach into them, so the figures of a report
// are checked in controller/internal/report and manageapi, and here what
// vigilctl makes of a real controller's answer.
type reportFixture struct {
	c                 *controllertest.Controller
	agent             *controllertest.Agent
	enrolled          time.Time
	adminCfg, betaCfg string
}

func newReportFixture(t *testing.T) *reportFixture {
	t.Helper()
	c := controllertest.Start(t)
	for _, tn := range []string{"acme", "beta"} {
		if _, err := c.Admin(t).CreateTenant(t.Context(), &managev1.CreateTenantRequest{Id: tn, Timezone: "UTC"}); err != nil {
			t.Fatal(err)
		}
	}
	f := &reportFixture{c: c, enrolled: time.Now()}
	f.agent = c.EnrollAgent(t, "acme", "web1")
	f.adminCfg = f.config(t, "admin.json", c.AdminToken)
	f.betaCfg = f.config(t, "beta.json", c.Principal(t, "beta-viewer", managev1.Role_ROLE_CLIENT_VIEWER, "beta"))
	return f
}

func (f *reportFixture) config(t *testing.T, name, token string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := (&clientconfig.Config{Controller: f.c.APIAddr, CAPEM: string(f.c.CAPEM), Token: token}).Save(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// vigilctl runs the command in-process with a config and checks its exit
// code.
func (f *reportFixture) vigilctl(t *testing.T, cfg string, wantCode int, args ...string) (stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(append([]string{"--config", cfg}, args...), &out, &errb); code != wantCode {
		t.Fatalf("vigilctl %v: exit %d, want %d\nstdout: %s\nstderr: %s", args, code, wantCode, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

func readReportCSV(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

func reportJoinRows(rows [][]string) string {
	var lines []string
	for _, r := range rows {
		lines = append(lines, strings.Join(r, "|"))
	}
	return strings.Join(lines, "\n")
}

func TestReportAgainstController(t *testing.T) {
	f := newReportFixture(t)
	// The period ends before the agent enrolled: it is in the compliance
	// section (now) but has no availability in the period.
	until := f.enrolled.UTC().Truncate(time.Minute).Add(-time.Minute)
	period := []string{"report", "--tenant", "acme", "--since", "2h", "--until", until.Format(time.RFC3339)}

	dir := filepath.Join(t.TempDir(), "out")
	_, stderr := f.vigilctl(t, f.adminCfg, 0, append(period, "--format", "csv", "--out", dir)...)
	if !strings.Contains(stderr, "written to "+dir) {
		t.Errorf("stderr: %q", stderr)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"alerts.csv", "availability-agents.csv", "availability-checks.csv", "compliance.csv", "metrics.csv"}; !slices.Equal(names, want) {
		t.Fatalf("files %v, want %v", names, want)
	}
	want := map[string][][]string{
		"availability-agents.csv": {{"agent_id", "hostname", "day", "expected_minutes", "online_minutes", "availability_percent", "first_seen", "last_seen"}},
		"availability-checks.csv": {{"check_id", "name", "target", "vantage", "day", "ok", "ng", "wr", "err", "uptime_percent", "outages", "down_seconds"}},
		"metrics.csv": {{"agent_id", "hostname", "day", "samples", "cpu_avg_percent", "cpu_p95_percent", "cpu_max_percent", "memory_avg_percent",
			"memory_max_percent", "swap_max_percent", "load1_max", "volume_mount", "volume_min_free_percent"}},
		"alerts.csv": {{"id", "rule", "kind", "agent_id", "host", "item", "summary", "start", "end", "duration_seconds",
			"acknowledged_by", "acknowledged_at", "notified"}},
		"compliance.csv": {
			{"agent_id", "hostname", "pending", "critical", "security", "awaiting_reboot", "reboot_pending", "finding", "finding_since", "finding_detail"},
			{f.agent.ID, "web1", "0", "0", "0", "0", "false", "", "", ""},
		},
	}
	for name, rows := range want {
		if got := readReportCSV(t, filepath.Join(dir, name)); reportJoinRows(got) != reportJoinRows(rows) {
			t.Errorf("%s:\ngot:\n%s\nwant:\n%s", name, reportJoinRows(got), reportJoinRows(rows))
		}
	}
	// One section to stdout is the same as its file.
	out, _ := f.vigilctl(t, f.adminCfg, 0, append(period, "--format", "csv", "--section", "compliance")...)
	if b, _ := os.ReadFile(filepath.Join(dir, "compliance.csv")); out != string(b) {
		t.Errorf("--section compliance:\n%s\nfile:\n%s", out, b)
	}

	// JSON: one document with the documented sections. The controller
	// counted the 2h back from --until.
	path := filepath.Join(t.TempDir(), "acme.json")
	f.vigilctl(t, f.adminCfg, 0, append(period, "--format", "json", "--out", path)...)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	keys := slices.Sorted(maps.Keys(doc))
	if want := []string{"alerts", "alerts_truncated", "availability_agents", "availability_checks", "compliance", "generated", "metrics",
		"since", "tenant", "timezone", "until"}; !slices.Equal(keys, want) {
		t.Errorf("sections %v, want %v", keys, want)
	}
	if string(doc["availability_agents"]) != "[]" || string(doc["alerts"]) != "[]" {
		t.Errorf("empty sections must be [], got %s and %s", doc["availability_agents"], doc["alerts"])
	}
	var v reportView
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if v.Tenant != "acme" || v.Timezone != "UTC" || !v.Until.Equal(until) || !v.Since.Equal(until.Add(-2*time.Hour)) ||
		v.Compliance.Agents != 1 || v.Compliance.Compliant != 1 || len(v.Compliance.Patches) != 1 || v.Compliance.Patches[0].AgentID != f.agent.ID {
		t.Errorf("report: %+v", v)
	}

	// Without --format, a table; a client viewer of beta gets beta's.
	out, _ = f.vigilctl(t, f.adminCfg, 0, period...)
	if !strings.Contains(out, "report for acme") || !strings.Contains(out, "1 of 1 agent(s) compliant") {
		t.Errorf("table:\n%s", out)
	}
	out, _ = f.vigilctl(t, f.betaCfg, 0, "report", "--tenant", "beta", "--format", "json")
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Tenant != "beta" || v.Compliance.Agents != 0 {
		t.Errorf("beta report %+v, %v", v, err)
	}
}

// reportSample is a report with every section filled, as the controller
// would send it.
func reportSample() *managev1.Report {
	ms := func(s string) int64 {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t.UnixMilli()
	}
	up := 66.67
	return &managev1.Report{Tenant: "acme", Timezone: "Europe/Paris", SinceUnix: ms("2026-03-27T23:00:00Z") / 1000,
		UntilUnix: ms("2026-03-29T22:00:00Z") / 1000, GeneratedUnix: ms("2026-03-31T08:00:00Z") / 1000,
		Agents: []*managev1.ReportAgentAvailability{{AgentId: "ag-1", Hostname: "web1",
			Total: &managev1.ReportAvailability{ExpectedMinutes: 2820, OnlineMinutes: 2760, Percent: 97.87,
				FirstSeenUnixMs: ms("2026-03-27T23:00:30Z"), LastSeenUnixMs: ms("2026-03-29T21:59:30Z")},
			Days: []*managev1.ReportAvailability{
				{Day: "2026-03-28", ExpectedMinutes: 1440, OnlineMinutes: 1380, Percent: 95.83,
					FirstSeenUnixMs: ms("2026-03-27T23:00:30Z"), LastSeenUnixMs: ms("2026-03-28T22:59:30Z")},
				{Day: "2026-03-29", ExpectedMinutes: 1380, OnlineMinutes: 1380, Percent: 100,
					FirstSeenUnixMs: ms("2026-03-28T23:00:30Z"), LastSeenUnixMs: ms("2026-03-29T21:59:30Z")},
			}}},
		Checks: []*managev1.ReportCheckAvailability{{CheckId: "ck-1", Name: "site", Target: "acme.example", Vantage: "controller",
			Total: &managev1.ReportCheckDay{Ok: 2, Wr: 1, Err: 4, UptimePercent: &up, Outages: 1, DownSeconds: 120},
			Days: []*managev1.ReportCheckDay{{Day: "2026-03-28", Ok: 2, Wr: 1, UptimePercent: &up, Outages: 1, DownSeconds: 120},
				{Day: "2026-03-29", Err: 4}}}},
		Metrics: []*managev1.ReportAgentMetrics{{AgentId: "ag-1", Hostname: "web1", Days: []*managev1.ReportMetricsDay{
			{Day: "2026-03-28", Samples: 1380, CpuAvg: 14.71, CpuP95: 90, CpuMax: 100, MemoryAvgPercent: 50.08, MemoryMaxPercent: 80,
				SwapMaxPercent: 25, Load1Max: 3.25, Volumes: []*managev1.ReportVolume{{Mount: "/", MinFreePercent: 12.3}, {Mount: "-x", MinFreePercent: 50}}},
			{Day: "2026-03-29", Samples: 1380, CpuAvg: 1, CpuP95: 1, CpuMax: 1},
		}}},
		Alerts: []*managev1.ReportAlert{{Id: "al-1", Rule: "r-disk", Kind: "metric", AgentId: "ag-1", Host: "web1", Item: "/var",
			Summary: "=HYPERLINK(\"http://x\")", StartUnixMs: ms("2026-03-28T01:00:00Z"), DurationSeconds: 162000, AckedBy: "tom",
			AckedUnixMs: ms("2026-03-28T01:10:00Z")}},
		Compliance: &managev1.ReportCompliance{UpdateDays: 14, RebootDays: 3, StaleScanDays: 2,
			Tenant: &managev1.TenantCompliance{Tenant: "acme", Agents: 2, Compliant: 1, Findings: []*managev1.ComplianceFinding{
				{AgentId: "ag-1", Hostname: "web1", Reason: "reboot_overdue", SinceUnix: ms("2026-03-20T00:00:00Z") / 1000, Detail: "reboot pending"},
				{AgentId: "ag-1", Hostname: "web1", Reason: "updates_overdue", SinceUnix: ms("2026-03-01T00:00:00Z") / 1000, Detail: "1 update, oldest KB1"}}},
			Agents: []*managev1.ReportAgentPatches{
				{AgentId: "ag-1", Hostname: "web1", Pending: 3, Critical: 1, Security: 2, AwaitingReboot: 1, RebootPending: true},
				{AgentId: "ag-2", Hostname: "db1"}}},
	}
}

func TestReportCSVSections(t *testing.T) {
	v := reportOf(reportSample())
	want := map[string]string{
		"availability-agents": `agent_id,hostname,day,expected_minutes,online_minutes,availability_percent,first_seen,last_seen
ag-1,web1,2026-03-28,1440,1380,95.83,2026-03-27T23:00:30Z,2026-03-28T22:59:30Z
ag-1,web1,2026-03-29,1380,1380,100.00,2026-03-28T23:00:30Z,2026-03-29T21:59:30Z
ag-1,web1,total,2820,2760,97.87,2026-03-27T23:00:30Z,2026-03-29T21:59:30Z
`,
		"availability-checks": `check_id,name,target,vantage,day,ok,ng,wr,err,uptime_percent,outages,down_seconds
ck-1,site,acme.example,controller,2026-03-28,2,0,1,0,66.67,1,120
ck-1,site,acme.example,controller,2026-03-29,0,0,0,4,,0,0
ck-1,site,acme.example,controller,total,2,0,1,4,66.67,1,120
`,
		// A mount point is agent text: "-x" is neutralized like a formula.
		"metrics": `agent_id,hostname,day,samples,cpu_avg_percent,cpu_p95_percent,cpu_max_percent,memory_avg_percent,memory_max_percent,swap_max_percent,load1_max,volume_mount,volume_min_free_percent
ag-1,web1,2026-03-28,1380,14.71,90.00,100.00,50.08,80.00,25.00,3.25,/,12.30
ag-1,web1,2026-03-28,1380,14.71,90.00,100.00,50.08,80.00,25.00,3.25,'-x,50.00
ag-1,web1,2026-03-29,1380,1.00,1.00,1.00,0.00,0.00,0.00,0.00,,
`,
		"alerts": `id,rule,kind,agent_id,host,item,summary,start,end,duration_seconds,acknowledged_by,acknowledged_at,notified
al-1,r-disk,metric,ag-1,web1,/var,"'=HYPERLINK(""http://x"")",2026-03-28T01:00:00Z,,162000,tom,2026-03-28T01:10:00Z,false
`,
		"compliance": `agent_id,hostname,pending,critical,security,awaiting_reboot,reboot_pending,finding,finding_since,finding_detail
ag-1,web1,3,1,2,1,true,reboot_overdue,2026-03-20T00:00:00Z,reboot pending
ag-1,web1,3,1,2,1,true,updates_overdue,2026-03-01T00:00:00Z,"1 update, oldest KB1"
ag-2,db1,0,0,0,0,false,,,
`,
	}
	for _, name := range reportSections {
		var b bytes.Buffer
		if err := reportCSV[name](&b, v); err != nil {
			t.Fatal(err)
		}
		if b.String() != want[name] {
			t.Errorf("%s:\ngot:\n%s\nwant:\n%s", name, b.String(), want[name])
		}
	}

	// The JSON form: null for "never", [] for empty lists.
	var b bytes.Buffer
	if err := writeJSON(&b, v); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"since": "2026-03-27T23:00:00Z"`, `"availability_percent": 97.87`, `"uptime_percent": null`,
		`"end": null`, `"acknowledged_at": "2026-03-28T01:10:00Z"`, `"volumes": []`, `"min_free_percent": 12.3`, `"down_seconds": 120`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b.String())
		}
	}
}

func TestReportRefusals(t *testing.T) {
	f := newReportFixture(t)
	cases := []struct {
		name string
		cfg  string
		args []string
		code int
		text string
	}{
		{"no tenant", f.adminCfg, []string{"report"}, 2, "--tenant is required"},
		{"csv without a destination", f.adminCfg, []string{"report", "--tenant", "acme", "--format", "csv"}, 2, "--out DIR"},
		{"unknown section", f.adminCfg, []string{"report", "--tenant", "acme", "--format", "csv", "--section", "disks"}, 2, "--section"},
		{"section without csv", f.adminCfg, []string{"report", "--tenant", "acme", "--section", "alerts"}, 2, "--format csv"},
		{"unknown format", f.adminCfg, []string{"report", "--tenant", "acme", "--format", "xml"}, 2, "--format"},
		{"bad since", f.adminCfg, []string{"report", "--tenant", "acme", "--since", "yesterday"}, 2, "--since"},
		{"before retention", f.adminCfg, []string{"report", "--tenant", "acme", "--since", "30d"}, 1, "InvalidArgument"},
		{"another tenant", f.betaCfg, []string{"report", "--tenant", "acme"}, 1, "NotFound"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut := f.vigilctl(t, c.cfg, c.code, c.args...)
			if !strings.Contains(errOut, c.text) || out != "" {
				t.Errorf("stdout %q stderr %q, want %q", out, errOut, c.text)
			}
		})
	}
}
