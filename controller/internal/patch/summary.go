package patch

import (
	"cmp"
	"slices"
	"strings"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Filter selects pending updates. An empty list does not filter; with
// both lists set an update must match both.
type Filter struct {
	Severities      []agentv1.Severity
	Classifications []agentv1.Classification
}

// Active reports whether the filter selects anything less than everything.
func (f Filter) Active() bool { return len(f.Severities) > 0 || len(f.Classifications) > 0 }

// Match reports whether u passes the filter.
func (f Filter) Match(u *agentv1.PendingUpdate) bool {
	return (len(f.Severities) == 0 || slices.Contains(f.Severities, u.GetSeverity())) &&
		(len(f.Classifications) == 0 || slices.Contains(f.Classifications, u.GetClassification()))
}

// ClassificationLabel is the lower-case name of c without its prefix
// ("security", "update_rollup"); a value this build does not know is its
// number.
func ClassificationLabel(c agentv1.Classification) string {
	return strings.ToLower(strings.TrimPrefix(c.String(), "CLASSIFICATION_"))
}

// SeverityLabel is the lower-case name of s without its prefix
// ("critical", "unspecified").
func SeverityLabel(s agentv1.Severity) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "SEVERITY_"))
}

// Summary condenses an agent's patch and reboot records (either may be nil:
// nothing reported yet) into a summary. Pending counts, per-label counts
// and the oldest pending time cover only updates that pass f; the caller
// fills in the agent's id, tenant and hostname, and leaves the agent out
// when f is active and Pending is zero.
func Summary(rec *storev1.PatchRecord, reboot *storev1.RebootRecord, f Filter) *managev1.PatchSummary {
	s := &managev1.PatchSummary{
		AgentId:        rec.GetAgentId(),
		AwaitingReboot: uint32(len(rec.GetInstalledAwaitingReboot())),
		LastScan:       ScanResult(rec),
	}
	byClass, bySev := map[string]uint32{}, map[string]uint32{}
	for _, t := range rec.GetPending() {
		u := t.GetUpdate()
		if !f.Match(u) {
			continue
		}
		s.Pending++
		byClass[ClassificationLabel(u.GetClassification())]++
		bySev[SeverityLabel(u.GetSeverity())]++
		if first := t.GetFirstSeenUnix(); s.OldestPendingUnix == 0 || first < s.OldestPendingUnix {
			s.OldestPendingUnix = first
		}
	}
	s.ByClassification, s.BySeverity = counts(byClass), counts(bySev)
	if reboot != nil {
		s.RebootPending = reboot.GetState().GetPending()
		if s.RebootPending {
			s.RebootPendingSinceUnix = reboot.GetState().GetPendingSinceUnix()
		}
	} else {
		// No reboot report yet: the update agent's own verdict is all
		// there is.
		s.RebootPending = rec.GetRebootRequired()
	}
	return s
}

func counts(m map[string]uint32) []*managev1.Count {
	out := make([]*managev1.Count, 0, len(m))
	for label, n := range m {
		out = append(out, &managev1.Count{Label: label, Count: n})
	}
	slices.SortFunc(out, func(a, b *managev1.Count) int { return strings.Compare(a.Label, b.Label) })
	return out
}

// ScanResult is the last scan of rec; empty when rec is nil.
func ScanResult(rec *storev1.PatchRecord) *managev1.ScanResult {
	return &managev1.ScanResult{
		TimeUnixMs:          rec.GetScanUnixMs(),
		Status:              rec.GetStatus(),
		Source:              rec.GetSource(),
		ErrorCode:           rec.GetErrorCode(),
		ErrorMessage:        rec.GetErrorMessage(),
		DurationMs:          rec.GetDurationMs(),
		LastOkUnixMs:        rec.GetLastOkUnixMs(),
		ConsecutiveFailures: rec.GetConsecutiveFailures(),
		RequestId:           rec.GetRequestId(),
	}
}

// SortPending orders updates most severe first, then by title, then by id.
func SortPending(list []*storev1.TrackedUpdate) {
	slices.SortStableFunc(list, func(a, b *storev1.TrackedUpdate) int {
		ua, ub := a.GetUpdate(), b.GetUpdate()
		if c := cmp.Compare(ub.GetSeverity(), ua.GetSeverity()); c != 0 {
			return c
		}
		if c := strings.Compare(ua.GetTitle(), ub.GetTitle()); c != 0 {
			return c
		}
		return strings.Compare(ua.GetId(), ub.GetId())
	})
}
