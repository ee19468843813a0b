package patch

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Default compliance thresholds.
const (
	// DefaultUpdateAge is how long an urgent update may stay pending.
	DefaultUpdateAge = 14 * 24 * time.Hour
	// DefaultRebootAge is how long a reboot may stay pending.
	DefaultRebootAge = 3 * 24 * time.Hour
	// DefaultStaleScan is how old the last successful scan may be.
	DefaultStaleScan = 2 * 24 * time.Hour
	// NeverScannedGrace is how long a newly enrolled agent may go without
	// a patch scan before it is a finding.
	NeverScannedGrace = 24 * time.Hour
)

// Finding reasons.
const (
	ReasonUpdatesOverdue = "updates_overdue"
	ReasonRebootOverdue  = "reboot_overdue"
	ReasonScanFailing    = "scan_failing"
	ReasonScanStale      = "scan_stale"
	ReasonNeverScanned   = "never_scanned"
)

// Thresholds are the compliance limits; a zero field means its default.
type Thresholds struct {
	UpdateAge time.Duration
	RebootAge time.Duration
	StaleScan time.Duration
}

// WithDefaults returns t with zero fields set to the defaults.
func (t Thresholds) WithDefaults() Thresholds {
	if t.UpdateAge <= 0 {
		t.UpdateAge = DefaultUpdateAge
	}
	if t.RebootAge <= 0 {
		t.RebootAge = DefaultRebootAge
	}
	if t.StaleScan <= 0 {
		t.StaleScan = DefaultStaleScan
	}
	return t
}

// AgentRecords is one agent with its stored patch and reboot records
// (nil when the agent has not reported them).
type AgentRecords struct {
	Agent   *storev1.Agent
	Patches *storev1.PatchRecord
	Reboot  *storev1.RebootRecord
}

// Urgent reports whether an update counts against the update threshold:
// a critical or security classification, or a critical severity.
func Urgent(u *agentv1.PendingUpdate) bool {
	switch {
	case u.GetClassification() == agentv1.Classification_CLASSIFICATION_CRITICAL,
		u.GetClassification() == agentv1.Classification_CLASSIFICATION_SECURITY,
		u.GetSeverity() == agentv1.Severity_SEVERITY_CRITICAL:
		return true
	}
	return false
}

// Compliance evaluates agents at now and reports per tenant, ordered by
// tenant: every tenant in tenants (even without agents) and every tenant
// an agent belongs to. Revoked agents are not counted. An agent is out of
// compliance for each of these, each a finding:
//
//   - updates_overdue: an urgent update pending longer than UpdateAge
//   - reboot_overdue: a reboot pending longer than RebootAge
//   - scan_failing: the last patch scan failed
//   - scan_stale: the last successful scan is older than StaleScan
//   - never_scanned: enrolled more than NeverScannedGrace ago, no scan yet
//
// Findings are ordered by hostname, then reason.
func Compliance(tenants []string, agents []AgentRecords, th Thresholds, now time.Time) []*managev1.TenantCompliance {
	th = th.WithDefaults()
	byTenant := map[string]*managev1.TenantCompliance{}
	get := func(id string) *managev1.TenantCompliance {
		tc := byTenant[id]
		if tc == nil {
			tc = &managev1.TenantCompliance{Tenant: id}
			byTenant[id] = tc
		}
		return tc
	}
	for _, t := range tenants {
		get(t)
	}
	for _, a := range agents {
		if a.Agent == nil || a.Agent.GetRevoked() {
			continue
		}
		tc := get(a.Agent.GetTenant())
		tc.Agents++
		fs := findings(a, th, now)
		if len(fs) == 0 {
			tc.Compliant++
		}
		tc.Findings = append(tc.Findings, fs...)
	}
	out := make([]*managev1.TenantCompliance, 0, len(byTenant))
	for _, tc := range byTenant {
		slices.SortStableFunc(tc.Findings, func(a, b *managev1.ComplianceFinding) int {
			if c := strings.Compare(a.Hostname, b.Hostname); c != 0 {
				return c
			}
			if c := strings.Compare(a.Reason, b.Reason); c != 0 {
				return c
			}
			return strings.Compare(a.AgentId, b.AgentId)
		})
		out = append(out, tc)
	}
	slices.SortFunc(out, func(a, b *managev1.TenantCompliance) int { return strings.Compare(a.Tenant, b.Tenant) })
	return out
}

// findings evaluates one agent.
func findings(a AgentRecords, th Thresholds, now time.Time) []*managev1.ComplianceFinding {
	var out []*managev1.ComplianceFinding
	add := func(reason string, since int64, detail string) {
		out = append(out, &managev1.ComplianceFinding{AgentId: a.Agent.GetId(), Hostname: a.Agent.GetHostname(),
			Reason: reason, SinceUnix: since, Detail: detail})
	}
	rec := a.Patches
	if rec.GetScanUnixMs() == 0 {
		if enrolled := a.Agent.GetEnrolledUnix(); now.Sub(time.Unix(enrolled, 0)) > NeverScannedGrace {
			add(ReasonNeverScanned, enrolled, "no patch scan received since enrollment")
		}
	}
	if since, detail, ok := overdueUpdates(rec, now.Add(-th.UpdateAge).Unix()); ok {
		add(ReasonUpdatesOverdue, since, detail)
	}
	if since, detail, ok := overdueReboot(a.Reboot, now.Add(-th.RebootAge).Unix()); ok {
		add(ReasonRebootOverdue, since, detail)
	}
	if rec.GetScanUnixMs() != 0 && rec.GetStatus() != agentv1.ScanStatus_SCAN_STATUS_OK {
		add(ReasonScanFailing, rec.GetFirstFailureUnixMs()/1000, failureDetail(rec))
	}
	if last := rec.GetLastOkUnixMs(); last != 0 && time.UnixMilli(last).Before(now.Add(-th.StaleScan)) {
		add(ReasonScanStale, last/1000, "last successful scan "+time.UnixMilli(last).UTC().Format(time.RFC3339))
	}
	return out
}

// overdueUpdates finds urgent pending updates first seen before cutoff.
func overdueUpdates(rec *storev1.PatchRecord, cutoff int64) (since int64, detail string, ok bool) {
	var (
		n      int
		oldest *storev1.TrackedUpdate
	)
	for _, t := range rec.GetPending() {
		if !Urgent(t.GetUpdate()) || t.GetFirstSeenUnix() >= cutoff {
			continue
		}
		n++
		if oldest == nil || t.GetFirstSeenUnix() < oldest.GetFirstSeenUnix() {
			oldest = t
		}
	}
	if n == 0 {
		return 0, "", false
	}
	noun := "updates"
	if n == 1 {
		noun = "update"
	}
	return oldest.GetFirstSeenUnix(), fmt.Sprintf("%d %s, oldest %s", n, noun, oneLine(updateName(oldest.GetUpdate()))), true
}

// overdueReboot reports a reboot pending since before cutoff.
func overdueReboot(r *storev1.RebootRecord, cutoff int64) (since int64, detail string, ok bool) {
	st := r.GetState()
	if !st.GetPending() {
		return 0, "", false
	}
	since = st.GetPendingSinceUnix()
	if since == 0 {
		since = r.GetReportedUnixMs() / 1000 // not said: at least since the report
	}
	if since >= cutoff {
		return 0, "", false
	}
	var names []string
	for _, s := range st.GetSignals() {
		if s.GetPresent() && s.GetCounts() {
			names = append(names, s.GetName())
		}
	}
	detail = "reboot pending"
	if len(names) > 0 {
		detail += ": " + strings.Join(names, ", ")
	}
	return since, oneLine(detail), true
}

func failureDetail(rec *storev1.PatchRecord) string {
	what := rec.GetErrorCode()
	if what == "" {
		what = strings.ToLower(strings.TrimPrefix(rec.GetStatus().String(), "SCAN_STATUS_"))
	}
	d := fmt.Sprintf("%d failed scans, last %s", rec.GetConsecutiveFailures(), what)
	if rec.GetConsecutiveFailures() == 1 {
		d = "last scan failed: " + what
	}
	if m := rec.GetErrorMessage(); m != "" {
		d += ": " + m
	}
	return oneLine(d)
}

// updateName is the most recognisable name of an update.
func updateName(u *agentv1.PendingUpdate) string {
	for _, s := range []string{u.GetKb(), u.GetPackage(), u.GetTitle()} {
		if s != "" {
			return s
		}
	}
	return u.GetId()
}

// maxDetail bounds a finding's detail; its parts come from the agent.
const maxDetail = 200

// oneLine flattens s to one line of at most maxDetail bytes, cut at a rune
// boundary.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxDetail {
		return s
	}
	cut := maxDetail
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
