package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"google.golang.org/grpc"

	"github.com/vigil-rmm/vigil/console/client"
	"github.com/vigil-rmm/vigil/internal/cli"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// The CSV sections of a report, in order; each is also a file name
// (NAME.csv) in the --out directory.
var reportSections = []string{"availability-agents", "availability-checks", "metrics", "alerts", "compliance"}

const (
	// reportMaxMessage is the largest report vigilctl accepts: 500 agents
	// over 90 days fit with room to spare.
	reportMaxMessage = 256 << 20
	// reportMinTimeout is the least time a report is given: a large
	// tenant's report reads millions of samples.
	reportMinTimeout = 5 * time.Minute
)

// reportCmd is `vigilctl report`: the tenant's report as a table summary,
// one JSON document, or CSV files.
func reportCmd(e *env, args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "the tenant (required)")
	since := fs.String("since", "10d", "start: a period before --until (10d, 36h) or an RFC 3339 time")
	until := fs.String("until", "", "end: a duration ago or an RFC 3339 time (default now)")
	format := fs.String("format", "", "json or csv (default: a table summary)")
	out := fs.String("out", "", "write to this file; for csv without --section, to this directory")
	section := fs.String("section", "", "csv: the one section to write: "+strings.Join(reportSections, ", "))
	if _, err := flags(fs, args); err != nil {
		return err
	}
	req, err := reportRequestOf(*tenant, *since, *until, now())
	if err != nil {
		return err
	}
	switch *format {
	case "", "json":
		if *section != "" {
			return cli.Usagef("report: --section is for --format csv")
		}
	case "csv":
		if *section != "" && !slices.Contains(reportSections, *section) {
			return cli.Usagef("report: --section %q: want one of %s", *section, strings.Join(reportSections, ", "))
		}
		if *section == "" && *out == "" {
			return cli.Usagef("report: --format csv needs --out DIR (every section) or --section NAME (one section to stdout)")
		}
	default:
		return cli.Usagef("report: --format %q: want json or csv, or omit it for a table", *format)
	}

	var rep *managev1.Report
	e.timeout = max(e.timeout, reportMinTimeout)
	err = call(e, func(ctx context.Context, c *client.Client) error {
		var err error
		rep, err = c.GetReport(ctx, req, grpc.MaxCallRecvMsgSize(reportMaxMessage))
		return err
	})
	if err != nil {
		return err
	}
	v := reportOf(rep)
	if *format == "csv" && *section == "" {
		return writeReportDir(e, *out, v)
	}
	var buf bytes.Buffer
	switch *format {
	case "json":
		err = writeJSON(&buf, v)
	case "csv":
		err = reportCSV[*section](&buf, v)
	default:
		err = printReport(&buf, v)
	}
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = e.stdout.Write(buf.Bytes())
		return err
	}
	if err := writeReportFile(*out, buf.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "report for %s written to %s\n", v.Tenant, *out)
	return nil
}

// reportRequestOf turns the flags into a request. A --since duration is
// sent as a period for the controller to count back from --until on its
// own clock, so "10d" with a 10-day retention is never refused because
// this machine's clock runs a little behind.
func reportRequestOf(tenant, since, until string, now time.Time) (*managev1.GetReportRequest, error) {
	if tenant == "" {
		return nil, cli.Usagef("report: --tenant is required")
	}
	req := &managev1.GetReportRequest{Tenant: tenant}
	if t, err := time.Parse(time.RFC3339, since); err == nil {
		req.SinceUnix = t.Unix()
	} else {
		back, err := parseTime("since", since, now)
		if err != nil {
			return nil, err
		}
		if req.PeriodSeconds = int64(now.Sub(back) / time.Second); req.PeriodSeconds <= 0 {
			return nil, cli.Usagef("report: --since %q: want a positive period such as 10d", since)
		}
	}
	to, err := parseTime("until", until, now)
	if err != nil {
		return nil, err
	}
	if !to.IsZero() {
		req.UntilUnix = to.Unix()
	}
	return req, nil
}

// writeReportFile writes a report file readable by its owner and group
// only: reports describe a client's servers.
func writeReportFile(path string, b []byte) error {
	if err := os.WriteFile(path, b, 0o640); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// writeReportDir writes every CSV section into dir, creating it.
func writeReportDir(e *env, dir string, v reportView) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	for _, name := range reportSections {
		var buf bytes.Buffer
		if err := reportCSV[name](&buf, v); err != nil {
			return err
		}
		if err := writeReportFile(filepath.Join(dir, name+".csv"), buf.Bytes()); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stderr, "report for %s written to %s: %s\n", v.Tenant, dir, strings.Join(reportSections, ".csv, ")+".csv")
	return nil
}

// The report views follow views.go: stable snake_case names, times RFC
// 3339 UTC or null, lists [] when empty. docs/reports.md documents them.

// reportPresenceView is an agent's availability over a day or the period.
type reportPresenceView struct {
	ExpectedMinutes     uint32     `json:"expected_minutes"`
	OnlineMinutes       uint32     `json:"online_minutes"`
	AvailabilityPercent float64    `json:"availability_percent"`
	FirstSeen           *time.Time `json:"first_seen"`
	LastSeen            *time.Time `json:"last_seen"`
}

// reportAgentDayView is one day of an agent's availability.
type reportAgentDayView struct {
	Day string `json:"day"`
	reportPresenceView
}

// reportAgentView is one agent's availability: the period's figures,
// then each day's.
type reportAgentView struct {
	AgentID  string `json:"agent_id"`
	Hostname string `json:"hostname"`
	reportPresenceView
	Days []reportAgentDayView `json:"days"`
}

// reportCheckCounts are a check's results over a day or the period.
type reportCheckCounts struct {
	OK            uint32   `json:"ok"`
	NG            uint32   `json:"ng"`
	WR            uint32   `json:"wr"`
	ERR           uint32   `json:"err"`
	UptimePercent *float64 `json:"uptime_percent"`
	Outages       uint32   `json:"outages"`
	DownSeconds   int64    `json:"down_seconds"`
}

// reportCheckDayView is one day of a check's results.
type reportCheckDayView struct {
	Day string `json:"day"`
	reportCheckCounts
}

// reportCheckView is one check seen from one vantage point.
type reportCheckView struct {
	CheckID string `json:"check_id"`
	Name    string `json:"name"`
	Target  string `json:"target"`
	Vantage string `json:"vantage"`
	reportCheckCounts
	Days []reportCheckDayView `json:"days"`
}

// reportVolumeView is a volume's lowest free space in a day.
type reportVolumeView struct {
	Mount          string  `json:"mount"`
	MinFreePercent float64 `json:"min_free_percent"`
}

// reportMetricsDayView summarizes one agent's samples of one day.
type reportMetricsDayView struct {
	Day              string             `json:"day"`
	Samples          uint32             `json:"samples"`
	CPUAvgPercent    float64            `json:"cpu_avg_percent"`
	CPUP95Percent    float64            `json:"cpu_p95_percent"`
	CPUMaxPercent    float64            `json:"cpu_max_percent"`
	MemoryAvgPercent float64            `json:"memory_avg_percent"`
	MemoryMaxPercent float64            `json:"memory_max_percent"`
	SwapMaxPercent   float64            `json:"swap_max_percent"`
	Load1Max         float64            `json:"load1_max"`
	Volumes          []reportVolumeView `json:"volumes"`
}

// reportMetricsView is one agent's daily summaries.
type reportMetricsView struct {
	AgentID  string                 `json:"agent_id"`
	Hostname string                 `json:"hostname"`
	Days     []reportMetricsDayView `json:"days"`
}

// reportAlertView is one alert open during the period.
type reportAlertView struct {
	ID              string     `json:"id"`
	Rule            string     `json:"rule"`
	Kind            string     `json:"kind"`
	AgentID         string     `json:"agent_id"`
	Host            string     `json:"host"`
	Item            string     `json:"item"`
	Summary         string     `json:"summary"`
	Start           time.Time  `json:"start"`
	End             *time.Time `json:"end"`
	DurationSeconds int64      `json:"duration_seconds"`
	AcknowledgedBy  string     `json:"acknowledged_by"`
	AcknowledgedAt  *time.Time `json:"acknowledged_at"`
	Notified        bool       `json:"notified"`
}

// reportPatchesView counts one agent's pending updates.
type reportPatchesView struct {
	AgentID        string `json:"agent_id"`
	Hostname       string `json:"hostname"`
	Pending        uint32 `json:"pending"`
	Critical       uint32 `json:"critical"`
	Security       uint32 `json:"security"`
	AwaitingReboot uint32 `json:"awaiting_reboot"`
	RebootPending  bool   `json:"reboot_pending"`
}

// reportComplianceView is the patch compliance when the report was built.
type reportComplianceView struct {
	UpdateDays    uint32              `json:"update_days"`
	RebootDays    uint32              `json:"reboot_days"`
	StaleScanDays uint32              `json:"stale_scan_days"`
	Agents        uint32              `json:"agents"`
	Compliant     uint32              `json:"compliant"`
	Findings      []findingView       `json:"findings"`
	Patches       []reportPatchesView `json:"patches"`
}

// reportView is the whole report, one document.
type reportView struct {
	Tenant             string               `json:"tenant"`
	Timezone           string               `json:"timezone"`
	Since              time.Time            `json:"since"`
	Until              time.Time            `json:"until"`
	Generated          time.Time            `json:"generated"`
	AvailabilityAgents []reportAgentView    `json:"availability_agents"`
	AvailabilityChecks []reportCheckView    `json:"availability_checks"`
	Metrics            []reportMetricsView  `json:"metrics"`
	Alerts             []reportAlertView    `json:"alerts"`
	AlertsTruncated    bool                 `json:"alerts_truncated"`
	Compliance         reportComplianceView `json:"compliance"`
}

func reportPresenceOf(a *managev1.ReportAvailability) reportPresenceView {
	return reportPresenceView{ExpectedMinutes: a.GetExpectedMinutes(), OnlineMinutes: a.GetOnlineMinutes(), AvailabilityPercent: a.GetPercent(),
		FirstSeen: unixMsPtr(a.GetFirstSeenUnixMs()), LastSeen: unixMsPtr(a.GetLastSeenUnixMs())}
}

func reportCheckCountsOf(d *managev1.ReportCheckDay) reportCheckCounts {
	return reportCheckCounts{OK: d.GetOk(), NG: d.GetNg(), WR: d.GetWr(), ERR: d.GetErr(), UptimePercent: d.UptimePercent,
		Outages: d.GetOutages(), DownSeconds: d.GetDownSeconds()}
}

func reportOf(r *managev1.Report) reportView {
	v := reportView{Tenant: r.GetTenant(), Timezone: r.GetTimezone(), Since: unix(r.GetSinceUnix()), Until: unix(r.GetUntilUnix()),
		Generated: unix(r.GetGeneratedUnix()), AvailabilityAgents: []reportAgentView{}, AvailabilityChecks: []reportCheckView{},
		Metrics: []reportMetricsView{}, Alerts: []reportAlertView{}, AlertsTruncated: r.GetAlertsTruncated()}
	for _, a := range r.GetAgents() {
		av := reportAgentView{AgentID: a.GetAgentId(), Hostname: a.GetHostname(), reportPresenceView: reportPresenceOf(a.GetTotal()), Days: []reportAgentDayView{}}
		for _, d := range a.GetDays() {
			av.Days = append(av.Days, reportAgentDayView{Day: d.GetDay(), reportPresenceView: reportPresenceOf(d)})
		}
		v.AvailabilityAgents = append(v.AvailabilityAgents, av)
	}
	for _, c := range r.GetChecks() {
		cv := reportCheckView{CheckID: c.GetCheckId(), Name: c.GetName(), Target: c.GetTarget(), Vantage: c.GetVantage(),
			reportCheckCounts: reportCheckCountsOf(c.GetTotal()), Days: []reportCheckDayView{}}
		for _, d := range c.GetDays() {
			cv.Days = append(cv.Days, reportCheckDayView{Day: d.GetDay(), reportCheckCounts: reportCheckCountsOf(d)})
		}
		v.AvailabilityChecks = append(v.AvailabilityChecks, cv)
	}
	for _, m := range r.GetMetrics() {
		mv := reportMetricsView{AgentID: m.GetAgentId(), Hostname: m.GetHostname(), Days: []reportMetricsDayView{}}
		for _, d := range m.GetDays() {
			dv := reportMetricsDayView{Day: d.GetDay(), Samples: d.GetSamples(), CPUAvgPercent: d.GetCpuAvg(), CPUP95Percent: d.GetCpuP95(),
				CPUMaxPercent: d.GetCpuMax(), MemoryAvgPercent: d.GetMemoryAvgPercent(), MemoryMaxPercent: d.GetMemoryMaxPercent(),
				SwapMaxPercent: d.GetSwapMaxPercent(), Load1Max: d.GetLoad1Max(), Volumes: []reportVolumeView{}}
			for _, vol := range d.GetVolumes() {
				dv.Volumes = append(dv.Volumes, reportVolumeView{Mount: vol.GetMount(), MinFreePercent: vol.GetMinFreePercent()})
			}
			mv.Days = append(mv.Days, dv)
		}
		v.Metrics = append(v.Metrics, mv)
	}
	for _, a := range r.GetAlerts() {
		v.Alerts = append(v.Alerts, reportAlertView{ID: a.GetId(), Rule: a.GetRule(), Kind: a.GetKind(), AgentID: a.GetAgentId(), Host: a.GetHost(),
			Item: a.GetItem(), Summary: a.GetSummary(), Start: unixMs(a.GetStartUnixMs()), End: unixMsPtr(a.GetEndUnixMs()),
			DurationSeconds: a.GetDurationSeconds(), AcknowledgedBy: a.GetAckedBy(), AcknowledgedAt: unixMsPtr(a.GetAckedUnixMs()), Notified: a.GetNotified()})
	}
	c := r.GetCompliance()
	v.Compliance = reportComplianceView{UpdateDays: c.GetUpdateDays(), RebootDays: c.GetRebootDays(), StaleScanDays: c.GetStaleScanDays(),
		Agents: c.GetTenant().GetAgents(), Compliant: c.GetTenant().GetCompliant(), Findings: []findingView{}, Patches: []reportPatchesView{}}
	for _, f := range c.GetTenant().GetFindings() {
		v.Compliance.Findings = append(v.Compliance.Findings, findingView{AgentID: f.GetAgentId(), Hostname: f.GetHostname(), Reason: f.GetReason(),
			Since: unixPtr(f.GetSinceUnix()), Detail: f.GetDetail()})
	}
	for _, a := range c.GetAgents() {
		v.Compliance.Patches = append(v.Compliance.Patches, reportPatchesView{AgentID: a.GetAgentId(), Hostname: a.GetHostname(), Pending: a.GetPending(),
			Critical: a.GetCritical(), Security: a.GetSecurity(), AwaitingReboot: a.GetAwaitingReboot(), RebootPending: a.GetRebootPending()})
	}
	return v
}

// CSV cells.
func reportPct(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func reportPctPtr(v *float64) string {
	if v == nil {
		return ""
	}
	return reportPct(*v)
}

func reportI64(v int64) string { return strconv.FormatInt(v, 10) }

// reportCSV writes each section; every row of a per-day section is a day,
// and the period's row has "total" as its day.
var reportCSV = map[string]func(io.Writer, reportView) error{
	"availability-agents": func(w io.Writer, v reportView) error {
		rows := [][]string{{"agent_id", "hostname", "day", "expected_minutes", "online_minutes", "availability_percent", "first_seen", "last_seen"}}
		row := func(a reportAgentView, day string, p reportPresenceView) []string {
			return []string{a.AgentID, a.Hostname, day, u32(p.ExpectedMinutes), u32(p.OnlineMinutes), reportPct(p.AvailabilityPercent),
				timeCSV(p.FirstSeen), timeCSV(p.LastSeen)}
		}
		for _, a := range v.AvailabilityAgents {
			for _, d := range a.Days {
				rows = append(rows, row(a, d.Day, d.reportPresenceView))
			}
			rows = append(rows, row(a, "total", a.reportPresenceView))
		}
		return newCSV(w).WriteAll(rows)
	},
	"availability-checks": func(w io.Writer, v reportView) error {
		rows := [][]string{{"check_id", "name", "target", "vantage", "day", "ok", "ng", "wr", "err", "uptime_percent", "outages", "down_seconds"}}
		row := func(c reportCheckView, day string, n reportCheckCounts) []string {
			return []string{c.CheckID, c.Name, c.Target, c.Vantage, day, u32(n.OK), u32(n.NG), u32(n.WR), u32(n.ERR), reportPctPtr(n.UptimePercent),
				u32(n.Outages), reportI64(n.DownSeconds)}
		}
		for _, c := range v.AvailabilityChecks {
			for _, d := range c.Days {
				rows = append(rows, row(c, d.Day, d.reportCheckCounts))
			}
			rows = append(rows, row(c, "total", c.reportCheckCounts))
		}
		return newCSV(w).WriteAll(rows)
	},
	// metrics has one row per agent, day and volume, as metrics -o csv
	// has per sample; a day without volumes has one row with empty
	// volume cells.
	"metrics": func(w io.Writer, v reportView) error {
		rows := [][]string{{"agent_id", "hostname", "day", "samples", "cpu_avg_percent", "cpu_p95_percent", "cpu_max_percent", "memory_avg_percent",
			"memory_max_percent", "swap_max_percent", "load1_max", "volume_mount", "volume_min_free_percent"}}
		for _, m := range v.Metrics {
			for _, d := range m.Days {
				base := []string{m.AgentID, m.Hostname, d.Day, u32(d.Samples), reportPct(d.CPUAvgPercent), reportPct(d.CPUP95Percent), reportPct(d.CPUMaxPercent),
					reportPct(d.MemoryAvgPercent), reportPct(d.MemoryMaxPercent), reportPct(d.SwapMaxPercent), reportPct(d.Load1Max)}
				if len(d.Volumes) == 0 {
					rows = append(rows, append(base, "", ""))
				}
				for _, vol := range d.Volumes {
					rows = append(rows, append(slices.Clone(base), vol.Mount, reportPct(vol.MinFreePercent)))
				}
			}
		}
		return newCSV(w).WriteAll(rows)
	},
	"alerts": func(w io.Writer, v reportView) error {
		rows := [][]string{{"id", "rule", "kind", "agent_id", "host", "item", "summary", "start", "end", "duration_seconds",
			"acknowledged_by", "acknowledged_at", "notified"}}
		for _, a := range v.Alerts {
			rows = append(rows, []string{a.ID, a.Rule, a.Kind, a.AgentID, a.Host, a.Item, a.Summary, a.Start.Format(time.RFC3339), timeCSV(a.End),
				reportI64(a.DurationSeconds), a.AcknowledgedBy, timeCSV(a.AcknowledgedAt), strconv.FormatBool(a.Notified)})
		}
		return newCSV(w).WriteAll(rows)
	},
	// compliance has one row per agent and finding; an agent without
	// findings has one row with empty finding cells.
	"compliance": func(w io.Writer, v reportView) error {
		rows := [][]string{{"agent_id", "hostname", "pending", "critical", "security", "awaiting_reboot", "reboot_pending",
			"finding", "finding_since", "finding_detail"}}
		byAgent := map[string][]findingView{}
		for _, f := range v.Compliance.Findings {
			byAgent[f.AgentID] = append(byAgent[f.AgentID], f)
		}
		for _, p := range v.Compliance.Patches {
			base := []string{p.AgentID, p.Hostname, u32(p.Pending), u32(p.Critical), u32(p.Security), u32(p.AwaitingReboot), strconv.FormatBool(p.RebootPending)}
			if len(byAgent[p.AgentID]) == 0 {
				rows = append(rows, append(base, "", "", ""))
			}
			for _, f := range byAgent[p.AgentID] {
				rows = append(rows, append(slices.Clone(base), f.Reason, timeCSV(f.Since), f.Detail))
			}
		}
		return newCSV(w).WriteAll(rows)
	},
}

// printReport is the table summary: the period's figures per agent and
// check, the alerts and the compliance findings. Days are in the JSON and
// CSV forms.
func printReport(w io.Writer, v reportView) error {
	loc, err := time.LoadLocation(v.Timezone)
	if err != nil {
		loc = time.UTC
	}
	when := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04") }
	fmt.Fprintf(w, "report for %s, %s to %s (%s)\n", reportCellText(v.Tenant), when(v.Since), when(v.Until), reportCellText(v.Timezone))

	fmt.Fprintf(w, "\nagents: %d\n", len(v.AvailabilityAgents))
	var rows [][]string
	for _, a := range v.AvailabilityAgents {
		last := "never"
		if a.LastSeen != nil {
			last = when(*a.LastSeen)
		}
		rows = append(rows, []string{reportCellText(a.Hostname), reportPct(a.AvailabilityPercent) + "%",
			fmt.Sprintf("%d/%d min", a.OnlineMinutes, a.ExpectedMinutes), last, a.AgentID})
	}
	if err := table(w, []string{"AGENT", "AVAILABILITY", "ONLINE", "LAST SEEN", "ID"}, rows); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nmetrics (worst day):\n")
	rows = nil
	for _, m := range v.Metrics {
		var p95, cpuMax, memMax, swapMax, load float64
		lowest, lowestMount := 101.0, ""
		for _, d := range m.Days {
			p95, cpuMax, memMax = max(p95, d.CPUP95Percent), max(cpuMax, d.CPUMaxPercent), max(memMax, d.MemoryMaxPercent)
			swapMax, load = max(swapMax, d.SwapMaxPercent), max(load, d.Load1Max)
			for _, vol := range d.Volumes {
				if vol.MinFreePercent < lowest {
					lowest, lowestMount = vol.MinFreePercent, vol.Mount
				}
			}
		}
		free := "-"
		if lowestMount != "" {
			free = reportPct(lowest) + "% " + reportCellText(lowestMount)
		}
		rows = append(rows, []string{reportCellText(m.Hostname), reportPct(p95) + "%", reportPct(cpuMax) + "%", reportPct(memMax) + "%", reportPct(swapMax) + "%", reportPct(load), free})
	}
	if err := table(w, []string{"AGENT", "CPU P95", "CPU MAX", "MEMORY MAX", "SWAP MAX", "LOAD1 MAX", "LOWEST FREE"}, rows); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nnetwork checks: %d\n", len(v.AvailabilityChecks))
	rows = nil
	for _, c := range v.AvailabilityChecks {
		up := "-"
		if c.UptimePercent != nil {
			up = reportPct(*c.UptimePercent) + "%"
		}
		rows = append(rows, []string{reportCellText(c.Name), reportCellText(c.Target), reportCellText(c.Vantage), up, u32(c.Outages),
			(time.Duration(c.DownSeconds) * time.Second).String(), u32(c.ERR)})
	}
	if err := table(w, []string{"CHECK", "TARGET", "FROM", "UPTIME", "OUTAGES", "DOWN", "ERR"}, rows); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nalerts: %d\n", len(v.Alerts))
	rows = nil
	for _, a := range v.Alerts {
		ack := "-"
		if a.AcknowledgedBy != "" {
			ack = reportCellText(a.AcknowledgedBy)
		}
		dur := (time.Duration(a.DurationSeconds) * time.Second).String()
		if a.End == nil {
			dur += " (open)"
		}
		rows = append(rows, []string{when(a.Start), dur, reportCellText(a.Kind), reportCellText(strings.TrimSpace(a.Host + " " + a.Item)), reportCellText(a.Summary), ack})
	}
	if err := table(w, []string{"START", "DURATION", "KIND", "TARGET", "SUMMARY", "ACKED BY"}, rows); err != nil {
		return err
	}

	c := v.Compliance
	fmt.Fprintf(w, "\npatch compliance: %d of %d agent(s) compliant, %d finding(s)\n", c.Compliant, c.Agents, len(c.Findings))
	rows = nil
	for _, f := range c.Findings {
		rows = append(rows, []string{reportCellText(f.Hostname), f.Reason, reportCellText(f.Detail)})
	}
	if len(rows) > 0 {
		if err := table(w, []string{"AGENT", "REASON", "DETAIL"}, rows); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	rows = nil
	for _, p := range c.Patches {
		rows = append(rows, []string{reportCellText(p.Hostname), u32(p.Pending), u32(p.Critical), u32(p.Security), u32(p.AwaitingReboot)})
	}
	return table(w, []string{"AGENT", "PENDING", "CRITICAL", "SECURITY", "AWAITING REBOOT"}, rows)
}

// reportCellText keeps agent-supplied text from moving the terminal's cursor or
// breaking the table: control characters become '?'.
func reportCellText(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}
