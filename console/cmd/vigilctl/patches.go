package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/vigil-rmm/vigil/console/client"
	"github.com/vigil-rmm/vigil/internal/cli"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// errFindings is returned by `patches compliance --fail-on-findings` when
// the report has findings; run maps it to exit code 3.
var errFindings = errors.New("compliance findings")

// exitFindings is the exit code of errFindings.
const exitFindings = 3

func patchesList(e *env, args []string) error {
	fs := flag.NewFlagSet("patches list", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "only this tenant")
	sev := fs.String("severity", "", "only count updates of these severities, comma-separated: critical, important, moderate, low, unspecified")
	class := fs.String("classification", "", "only count updates of these classifications, comma-separated: security, critical, update, definition, ...")
	_, o, err := parse(fs, args, []string{"table", "json", "csv"})
	if err != nil {
		return err
	}
	req := &managev1.ListPatchSummariesRequest{Tenant: *tenant}
	sevs, err := parseEnumList("severity", *sev, agentv1.Severity_value, "SEVERITY_")
	if err != nil {
		return cli.Usagef("patches list: %v", err)
	}
	for _, v := range sevs {
		req.Severities = append(req.Severities, agentv1.Severity(v))
	}
	classes, err := parseEnumList("classification", *class, agentv1.Classification_value, "CLASSIFICATION_")
	if err != nil {
		return cli.Usagef("patches list: %v", err)
	}
	for _, v := range classes {
		req.Classifications = append(req.Classifications, agentv1.Classification(v))
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.ListPatchSummaries(ctx, req)
		if err != nil {
			return err
		}
		views := []patchSummaryView{}
		for _, s := range r.GetSummaries() {
			views = append(views, patchSummaryOf(s))
		}
		switch o {
		case "json":
			return writeJSON(e.stdout, views)
		case "csv":
			return csvSummaries(e.stdout, views)
		}
		var rows [][]string
		for _, v := range views {
			rows = append(rows, []string{v.Hostname, v.Tenant, u32(v.Pending), u32(v.ByClassification["security"]),
				u32(v.BySeverity["critical"]), age(v.OldestPending), rebootCell(v), scanCell(v.LastScan), v.AgentID})
		}
		return table(e.stdout, []string{"AGENT", "TENANT", "PENDING", "SECURITY", "CRITICAL", "OLDEST", "REBOOT", "LAST SCAN", "ID"}, rows)
	})
}

func u32(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

// rebootCell is "yes since 3d", "yes" or "no".
func rebootCell(v patchSummaryView) string {
	switch {
	case !v.RebootPending:
		return "no"
	case v.RebootPendingSince == nil:
		return "yes"
	}
	return "yes since " + age(v.RebootPendingSince)
}

// scanCell is "2h ok", "5m failed: WU_E_...", or "never".
func scanCell(s *scanView) string {
	if s == nil {
		return "never"
	}
	c := age(s.Time) + " " + dash(s.Status)
	if s.ErrorCode != "" {
		c += ": " + s.ErrorCode
	}
	return c
}

func timeCSV(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(time.RFC3339)
}

// csvSummaries writes one row per agent; counts are the security
// classification and the critical severity, as in the table.
func csvSummaries(w io.Writer, views []patchSummaryView) error {
	cw := newCSV(w)
	_ = cw.Write([]string{"agent_id", "hostname", "tenant", "pending", "security", "critical", "oldest_pending", "awaiting_reboot",
		"reboot_pending", "reboot_pending_since", "last_scan_time", "last_scan_status", "last_scan_error_code", "last_ok"})
	for _, v := range views {
		s := v.LastScan
		if s == nil {
			s = &scanView{}
		}
		_ = cw.Write([]string{v.AgentID, v.Hostname, v.Tenant, u32(v.Pending), u32(v.ByClassification["security"]),
			u32(v.BySeverity["critical"]), timeCSV(v.OldestPending), u32(v.AwaitingReboot), strconv.FormatBool(v.RebootPending),
			timeCSV(v.RebootPendingSince), timeCSV(s.Time), s.Status, s.ErrorCode, timeCSV(s.LastOK)})
	}
	cw.Flush()
	return cw.Error()
}

func patchesShow(e *env, args []string) error {
	fs := flag.NewFlagSet("patches show", flag.ContinueOnError)
	pos, o, err := parse(fs, args, []string{"table", "json"}, "AGENT")
	if err != nil {
		return err
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		st, err := c.GetPatchState(ctx, &managev1.GetPatchStateRequest{AgentId: pos[0]})
		if err != nil {
			return err
		}
		v := patchStateView{Summary: patchSummaryOf(st.GetSummary()), Pending: updatesOf(st.GetPending()),
			InstalledAwaitingReboot: updatesOf(st.GetInstalledAwaitingReboot())}
		if o == "json" {
			return writeJSON(e.stdout, v)
		}
		return printPatchState(e.stdout, v)
	})
}

func printPatchState(w io.Writer, v patchStateView) error {
	s := v.Summary
	rows := [][]string{
		{"agent", s.AgentID}, {"hostname", s.Hostname}, {"tenant", s.Tenant},
		{"pending", fmt.Sprintf("%d (%d security, %d critical severity)", s.Pending, s.ByClassification["security"], s.BySeverity["critical"])},
		{"oldest pending", ageSince(s.OldestPending)},
		{"awaiting reboot", u32(s.AwaitingReboot)},
		{"reboot", rebootCell(s)},
	}
	rows = append(rows, scanRows(s.LastScan)...)
	if err := table(w, []string{"FIELD", "VALUE"}, rows); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nPENDING (%d)\n", len(v.Pending))
	if err := updatesTable(w, v.Pending); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nINSTALLED, AWAITING REBOOT (%d)\n", len(v.InstalledAwaitingReboot))
	return updatesTable(w, v.InstalledAwaitingReboot)
}

// ageSince is "2026-11-10T08:00:00Z (12d ago)", or "-".
func ageSince(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339) + " (" + age(t) + " ago)"
}

// scanRows describes a scan as FIELD VALUE rows.
func scanRows(s *scanView) [][]string {
	if s == nil {
		return [][]string{{"last scan", "never (no scan has arrived from this agent)"}}
	}
	rows := [][]string{{"last scan", ageSince(s.Time)}, {"scan status", dash(s.Status)}, {"scanner", dash(s.Source)},
		{"scan took", (time.Duration(s.DurationMs) * time.Millisecond).String()}}
	if s.ErrorCode != "" || s.ErrorMessage != "" {
		rows = append(rows, []string{"scan error", s.ErrorCode + ": " + s.ErrorMessage})
	}
	if s.Status != "ok" {
		rows = append(rows, []string{"last ok scan", ageSince(s.LastOK)}, []string{"consecutive failures", u32(s.ConsecutiveFailures)})
	}
	if s.RequestID != "" {
		rows = append(rows, []string{"request", s.RequestID})
	}
	return rows
}

func updatesTable(w io.Writer, us []updateView) error {
	if len(us) == 0 {
		fmt.Fprintln(w, "none")
		return nil
	}
	var rows [][]string
	for _, u := range us {
		name := u.KB
		if name == "" {
			name = u.Package
		}
		size := "-"
		if u.SizeBytes > 0 {
			size = bytesHuman(u.SizeBytes)
		}
		rows = append(rows, []string{u.ID, dash(name), clip(u.Title, 60), u.Classification, u.Severity, size, u.RebootBehavior,
			dateCell(u.ReleasedAt), age(u.FirstSeen)})
	}
	return table(w, []string{"ID", "KB/PACKAGE", "TITLE", "CLASSIFICATION", "SEVERITY", "SIZE", "REBOOT", "RELEASED", "FIRST SEEN"}, rows)
}

func patchesHistory(e *env, args []string) error {
	agent, o, from, err := agentSince("patches history", args)
	if err != nil {
		return err
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.ListPatchHistory(ctx, &managev1.ListPatchHistoryRequest{AgentId: agent, SinceUnix: from})
		if err != nil {
			return err
		}
		views := []patchEventView{}
		for _, ev := range r.GetEvents() {
			views = append(views, patchEventOf(ev))
		}
		switch o {
		case "json":
			return writeJSON(e.stdout, views)
		case "csv":
			rows := [][]string{{"time", "kind", "update_id", "kb", "package", "title", "classification", "severity", "pending_seconds"}}
			for _, v := range views {
				rows = append(rows, []string{v.Time.Format(time.RFC3339), v.Kind, v.UpdateID, v.KB, v.Package, v.Title, v.Classification,
					v.Severity, strconv.FormatInt(v.PendingSeconds, 10)})
			}
			return newCSV(e.stdout).WriteAll(rows)
		}
		var rows [][]string
		for _, v := range views {
			name := v.KB
			if name == "" {
				name = v.Package
			}
			pending := "-"
			if v.PendingSeconds > 0 {
				pending = short(time.Duration(v.PendingSeconds) * time.Second)
			}
			rows = append(rows, []string{v.Time.Format(time.RFC3339), v.Kind, dash(name), clip(v.Title, 60), v.Classification, v.Severity, pending})
		}
		return table(e.stdout, []string{"TIME", "EVENT", "KB/PACKAGE", "TITLE", "CLASSIFICATION", "SEVERITY", "WAS PENDING"}, rows)
	})
}

// unixOrZero is t in Unix seconds, zero for the zero time.
func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func patchesCompliance(e *env, args []string) error {
	fs := flag.NewFlagSet("patches compliance", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "only this tenant")
	updateDays := fs.Uint("update-days", 14, "days a critical or security update may stay pending")
	rebootDays := fs.Uint("reboot-days", 3, "days a reboot may stay pending")
	staleDays := fs.Uint("stale-days", 2, "days since the last successful scan before it counts as stale")
	failOn := fs.Bool("fail-on-findings", false, "exit 3 when there is any finding (for scripts)")
	_, o, err := parse(fs, args, []string{"table", "json"})
	if err != nil {
		return err
	}
	for _, d := range []struct {
		name string
		v    uint
	}{{"update-days", *updateDays}, {"reboot-days", *rebootDays}, {"stale-days", *staleDays}} {
		if d.v < 1 || d.v > 3650 {
			return cli.Usagef("patches compliance: --%s %d: want a whole number of days from 1 to 3650", d.name, d.v)
		}
	}
	req := &managev1.GetPatchComplianceRequest{Tenant: *tenant, UpdateDays: uint32(*updateDays), RebootDays: uint32(*rebootDays),
		StaleScanDays: uint32(*staleDays)}
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.GetPatchCompliance(ctx, req)
		if err != nil {
			return err
		}
		v := complianceOf(r)
		if o == "json" {
			err = writeJSON(e.stdout, v)
		} else {
			err = printCompliance(e.stdout, v)
		}
		if err != nil {
			return err
		}
		n := 0
		for _, t := range v.Tenants {
			n += len(t.Findings)
		}
		if *failOn && n > 0 {
			return fmt.Errorf("%d finding(s) (--fail-on-findings): %w", n, errFindings)
		}
		return nil
	})
}

func printCompliance(w io.Writer, v complianceView) error {
	fmt.Fprintf(w, "thresholds: critical/security updates %dd, reboots %dd, scans %dd\n", v.UpdateDays, v.RebootDays, v.StaleScanDays)
	if len(v.Tenants) == 0 {
		fmt.Fprintln(w, "\nno tenants")
		return nil
	}
	var agents, compliant uint32
	findings, failing := 0, 0
	for _, t := range v.Tenants {
		agents, compliant = agents+t.Agents, compliant+t.Compliant
		fmt.Fprintf(w, "\ntenant %s: %d of %d agent(s) compliant", t.Tenant, t.Compliant, t.Agents)
		if len(t.Findings) == 0 {
			fmt.Fprintln(w)
			continue
		}
		findings, failing = findings+len(t.Findings), failing+1
		fmt.Fprintf(w, ", %d finding(s)\n", len(t.Findings))
		var rows [][]string
		for _, f := range t.Findings {
			rows = append(rows, []string{f.Hostname, f.Reason, age(f.Since), f.Detail, f.AgentID})
		}
		if err := table(w, []string{"AGENT", "REASON", "FOR", "DETAIL", "ID"}, rows); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\ntotal: %d of %d agent(s) compliant, %d finding(s) in %d of %d tenant(s)\n", compliant, agents, findings, failing, len(v.Tenants))
	return nil
}

// agentSince parses the flags of a per-agent history command: AGENT,
// --since (default 30 days) and -o table|json|csv. since is Unix seconds.
func agentSince(name string, args []string) (agent, o string, since int64, err error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	s := fs.String("since", "30d", "start: duration ago (30d, 12h) or RFC 3339 time")
	pos, o, err := parse(fs, args, []string{"table", "json", "csv"}, "AGENT")
	if err != nil {
		return "", "", 0, err
	}
	from, err := parseTime("since", *s, now())
	if err != nil {
		return "", "", 0, err
	}
	return pos[0], o, unixOrZero(from), nil
}
