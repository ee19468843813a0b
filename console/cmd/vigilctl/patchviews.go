package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// The patch, reboot and inventory views follow the rules of views.go:
// stable snake_case names, times RFC 3339 UTC or null, sizes in bytes,
// lists [] when empty. Enum values are the proto names in lower case
// without their prefix ("security", "can_request").

// now is the clock for ages in tables; tests fix it.
var now = time.Now

// enumLabel turns CLASSIFICATION_UPDATE_ROLLUP into "update_rollup".
func enumLabel(name, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(name, prefix))
}

func classificationLabel(c agentv1.Classification) string {
	return enumLabel(c.String(), "CLASSIFICATION_")
}

func severityLabel(s agentv1.Severity) string { return enumLabel(s.String(), "SEVERITY_") }

func rebootBehaviorLabel(r agentv1.RebootBehavior) string {
	return enumLabel(r.String(), "REBOOT_BEHAVIOR_")
}

// scanStatusLabel is "ok", "failed", "timeout", "crashed", "unavailable",
// or "" when no scan arrived.
func scanStatusLabel(s agentv1.ScanStatus) string {
	if s == agentv1.ScanStatus_SCAN_STATUS_UNSPECIFIED {
		return ""
	}
	return enumLabel(s.String(), "SCAN_STATUS_")
}

func stateKindLabel(k agentv1.StateKind) string { return enumLabel(k.String(), "STATE_KIND_") }

// enumValues maps the labels of an enum (from its generated _value map)
// to the values, skipping prefix+skip, and lists the labels in value order.
func enumValues(values map[string]int32, prefix string, skip ...string) (map[string]int32, []string) {
	m := map[string]int32{}
	for name, v := range values {
		l := enumLabel(name, prefix)
		if !slices.Contains(skip, l) {
			m[l] = v
		}
	}
	labels := make([]string, 0, len(m))
	for l := range m {
		labels = append(labels, l)
	}
	slices.SortFunc(labels, func(a, b string) int { return int(m[a] - m[b]) })
	return m, labels
}

// parseEnumList parses a comma-separated list of labels ("critical,
// important"); dashes may stand for underscores. An empty string is an
// empty list.
func parseEnumList(flagName, s string, values map[string]int32, prefix string, skip ...string) ([]int32, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	m, labels := enumValues(values, prefix, skip...)
	var out []int32
	for _, part := range strings.Split(s, ",") {
		l := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(part)), "-", "_")
		v, ok := m[l]
		if !ok {
			return nil, fmt.Errorf("--%s %q: unknown value %q; want a comma-separated list of %s", flagName, s, strings.TrimSpace(part), strings.Join(labels, ", "))
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

func unixMs(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func unixMsPtr(ms int64) *time.Time {
	if ms == 0 {
		return nil
	}
	t := unixMs(ms)
	return &t
}

// scanView is the outcome of an agent's last patch scan.
type scanView struct {
	Time                *time.Time `json:"time"`
	Status              string     `json:"status"`
	Source              string     `json:"source"`
	ErrorCode           string     `json:"error_code"`
	ErrorMessage        string     `json:"error_message"`
	DurationMs          uint32     `json:"duration_ms"`
	LastOK              *time.Time `json:"last_ok"`
	ConsecutiveFailures uint32     `json:"consecutive_failures"`
	RequestID           string     `json:"request_id"`
}

// scanOf returns nil when no scan ever arrived.
func scanOf(s *managev1.ScanResult) *scanView {
	if s.GetTimeUnixMs() == 0 && s.GetStatus() == agentv1.ScanStatus_SCAN_STATUS_UNSPECIFIED {
		return nil
	}
	return &scanView{Time: unixMsPtr(s.GetTimeUnixMs()), Status: scanStatusLabel(s.GetStatus()), Source: s.GetSource(),
		ErrorCode: s.GetErrorCode(), ErrorMessage: s.GetErrorMessage(), DurationMs: s.GetDurationMs(),
		LastOK: unixMsPtr(s.GetLastOkUnixMs()), ConsecutiveFailures: s.GetConsecutiveFailures(), RequestID: s.GetRequestId()}
}

// patchSummaryView is one agent's patch state in brief.
type patchSummaryView struct {
	AgentID            string            `json:"agent_id"`
	Tenant             string            `json:"tenant"`
	Hostname           string            `json:"hostname"`
	Pending            uint32            `json:"pending"`
	ByClassification   map[string]uint32 `json:"by_classification"`
	BySeverity         map[string]uint32 `json:"by_severity"`
	OldestPending      *time.Time        `json:"oldest_pending"`
	AwaitingReboot     uint32            `json:"awaiting_reboot"`
	RebootPending      bool              `json:"reboot_pending"`
	RebootPendingSince *time.Time        `json:"reboot_pending_since"`
	LastScan           *scanView         `json:"last_scan"`
}

func counts(cs []*managev1.Count) map[string]uint32 {
	m := map[string]uint32{}
	for _, c := range cs {
		m[c.GetLabel()] += c.GetCount()
	}
	return m
}

func patchSummaryOf(s *managev1.PatchSummary) patchSummaryView {
	return patchSummaryView{AgentID: s.GetAgentId(), Tenant: s.GetTenant(), Hostname: s.GetHostname(), Pending: s.GetPending(),
		ByClassification: counts(s.GetByClassification()), BySeverity: counts(s.GetBySeverity()),
		OldestPending: unixPtr(s.GetOldestPendingUnix()), AwaitingReboot: s.GetAwaitingReboot(), RebootPending: s.GetRebootPending(),
		RebootPendingSince: unixPtr(s.GetRebootPendingSinceUnix()), LastScan: scanOf(s.GetLastScan())}
}

// updateView is one pending or installed update.
type updateView struct {
	ID               string     `json:"id"`
	KB               string     `json:"kb"`
	Package          string     `json:"package"`
	Title            string     `json:"title"`
	Classification   string     `json:"classification"`
	Severity         string     `json:"severity"`
	SizeBytes        uint64     `json:"size_bytes"`
	RebootBehavior   string     `json:"reboot_behavior"`
	ReleasedAt       *time.Time `json:"released_at"`
	FirstSeen        *time.Time `json:"first_seen"`
	CurrentVersion   string     `json:"current_version"`
	AvailableVersion string     `json:"available_version"`
	Origin           string     `json:"origin"`
	Advisories       []string   `json:"advisories"`
}

func updateOf(t *managev1.TrackedUpdate) updateView {
	u := t.GetUpdate()
	return updateView{ID: u.GetId(), KB: u.GetKb(), Package: u.GetPackage(), Title: u.GetTitle(),
		Classification: classificationLabel(u.GetClassification()), Severity: severityLabel(u.GetSeverity()),
		SizeBytes: u.GetSizeBytes(), RebootBehavior: rebootBehaviorLabel(u.GetRebootBehavior()), ReleasedAt: unixPtr(u.GetReleaseUnix()),
		FirstSeen: unixPtr(t.GetFirstSeenUnix()), CurrentVersion: u.GetCurrentVersion(), AvailableVersion: u.GetAvailableVersion(),
		Origin: u.GetOrigin(), Advisories: append([]string{}, u.GetAdvisories()...)}
}

func updatesOf(ts []*managev1.TrackedUpdate) []updateView {
	out := []updateView{}
	for _, t := range ts {
		out = append(out, updateOf(t))
	}
	return out
}

// patchStateView is one agent's full patch state.
type patchStateView struct {
	Summary                 patchSummaryView `json:"summary"`
	Pending                 []updateView     `json:"pending"`
	InstalledAwaitingReboot []updateView     `json:"installed_awaiting_reboot"`
}

// patchEventView is one change of an agent's pending list.
type patchEventView struct {
	Time           time.Time `json:"time"`
	Kind           string    `json:"kind"`
	UpdateID       string    `json:"update_id"`
	KB             string    `json:"kb"`
	Package        string    `json:"package"`
	Title          string    `json:"title"`
	Classification string    `json:"classification"`
	Severity       string    `json:"severity"`
	PendingSeconds int64     `json:"pending_seconds"`
}

func patchEventOf(e *managev1.PatchEvent) patchEventView {
	return patchEventView{Time: unix(e.GetTimeUnix()), Kind: enumLabel(e.GetKind().String(), "KIND_"), UpdateID: e.GetUpdateId(),
		KB: e.GetKb(), Package: e.GetPackage(), Title: e.GetTitle(), Classification: classificationLabel(e.GetClassification()),
		Severity: severityLabel(e.GetSeverity()), PendingSeconds: e.GetPendingSeconds()}
}

// findingView is one agent out of compliance for one reason.
type findingView struct {
	AgentID  string     `json:"agent_id"`
	Hostname string     `json:"hostname"`
	Reason   string     `json:"reason"`
	Since    *time.Time `json:"since"`
	Detail   string     `json:"detail"`
}

// tenantComplianceView is one tenant's compliance.
type tenantComplianceView struct {
	Tenant    string        `json:"tenant"`
	Agents    uint32        `json:"agents"`
	Compliant uint32        `json:"compliant"`
	Findings  []findingView `json:"findings"`
}

// complianceView is the whole report with the thresholds used.
type complianceView struct {
	UpdateDays    uint32                 `json:"update_days"`
	RebootDays    uint32                 `json:"reboot_days"`
	StaleScanDays uint32                 `json:"stale_scan_days"`
	Tenants       []tenantComplianceView `json:"tenants"`
}

func complianceOf(r *managev1.GetPatchComplianceResponse) complianceView {
	v := complianceView{UpdateDays: r.GetUpdateDays(), RebootDays: r.GetRebootDays(), StaleScanDays: r.GetStaleScanDays(),
		Tenants: []tenantComplianceView{}}
	for _, t := range r.GetTenants() {
		tv := tenantComplianceView{Tenant: t.GetTenant(), Agents: t.GetAgents(), Compliant: t.GetCompliant(), Findings: []findingView{}}
		for _, f := range t.GetFindings() {
			tv.Findings = append(tv.Findings, findingView{AgentID: f.GetAgentId(), Hostname: f.GetHostname(), Reason: f.GetReason(),
				Since: unixPtr(f.GetSinceUnix()), Detail: f.GetDetail()})
		}
		v.Tenants = append(v.Tenants, tv)
	}
	return v
}

// age is a compact age for tables: 45s, 12m, 5h, 12d.
func age(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return short(now().Sub(*t))
}

func short(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// dateCell formats a date for tables, "-" when unknown.
func dateCell(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format("2006-01-02")
}

// clip shortens s to n runes for a table cell.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
