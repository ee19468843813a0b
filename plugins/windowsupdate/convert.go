package windowsupdate

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-rmm/vigil/plugins/windowsupdate/wua"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// classifications maps wua classifications to the wire enum.
var classifications = map[wua.Classification]agentv1.Classification{
	wua.ClassUnknown:      agentv1.Classification_CLASSIFICATION_UNSPECIFIED,
	wua.ClassUpdate:       agentv1.Classification_CLASSIFICATION_UPDATE,
	wua.ClassTool:         agentv1.Classification_CLASSIFICATION_TOOL,
	wua.ClassDriver:       agentv1.Classification_CLASSIFICATION_DRIVER,
	wua.ClassUpgrade:      agentv1.Classification_CLASSIFICATION_UPGRADE,
	wua.ClassServicePack:  agentv1.Classification_CLASSIFICATION_SERVICE_PACK,
	wua.ClassFeaturePack:  agentv1.Classification_CLASSIFICATION_FEATURE_PACK,
	wua.ClassUpdateRollup: agentv1.Classification_CLASSIFICATION_UPDATE_ROLLUP,
	wua.ClassDefinition:   agentv1.Classification_CLASSIFICATION_DEFINITION,
	wua.ClassCritical:     agentv1.Classification_CLASSIFICATION_CRITICAL,
	wua.ClassSecurity:     agentv1.Classification_CLASSIFICATION_SECURITY,
}

// classRank orders wire classifications for sorting, most urgent first.
// It is wua's precedence (security over critical over … over updates).
var classRank = func() map[agentv1.Classification]int {
	m := make(map[agentv1.Classification]int, len(classifications))
	for w, c := range classifications {
		m[c] = int(w)
	}
	return m
}()

var severities = map[wua.Severity]agentv1.Severity{
	wua.SeverityLow:       agentv1.Severity_SEVERITY_LOW,
	wua.SeverityModerate:  agentv1.Severity_SEVERITY_MODERATE,
	wua.SeverityImportant: agentv1.Severity_SEVERITY_IMPORTANT,
	wua.SeverityCritical:  agentv1.Severity_SEVERITY_CRITICAL,
}

var rebootBehaviors = map[wua.RebootBehavior]agentv1.RebootBehavior{
	wua.NeverReboots:         agentv1.RebootBehavior_REBOOT_BEHAVIOR_NEVER,
	wua.AlwaysRequiresReboot: agentv1.RebootBehavior_REBOOT_BEHAVIOR_ALWAYS,
	wua.CanRequestReboot:     agentv1.RebootBehavior_REBOOT_BEHAVIOR_CAN_REQUEST,
}

// PendingUpdate converts one update to its wire form. Unknown enum values
// (an unrecognized MsrcSeverity, a new RebootBehavior) become UNSPECIFIED;
// a negative size or a zero date becomes zero. CVE IDs are sorted and
// de-duplicated so that equal updates encode equally.
func PendingUpdate(u wua.Update) *agentv1.PendingUpdate {
	p := &agentv1.PendingUpdate{
		Id:             updateKey(u.Identity),
		Title:          strings.TrimSpace(u.Title),
		Classification: classifications[u.Classification()],
		Severity:       severities[u.Severity()],
		RebootBehavior: rebootBehaviors[u.InstallationBehavior.RebootBehavior],
	}
	if kb := firstKB(u.KBArticleIDs); kb != "" {
		p.Kb = "KB" + kb
	}
	if u.MaxDownloadSize > 0 {
		p.SizeBytes = uint64(u.MaxDownloadSize)
	}
	if !u.LastDeploymentChangeTime.IsZero() {
		p.ReleaseUnix = u.LastDeploymentChangeTime.Unix()
	}
	for _, c := range u.CveIDs {
		if c = strings.TrimSpace(c); c != "" {
			p.Advisories = append(p.Advisories, c)
		}
	}
	slices.Sort(p.Advisories)
	p.Advisories = slices.Compact(p.Advisories)
	return p
}

// updateKey is "UpdateID.RevisionNumber" with the GUID in lower case
// (the PendingUpdate.id contract).
func updateKey(id wua.Identity) string {
	g := strings.ToLower(strings.Trim(strings.TrimSpace(id.UpdateID), "{}"))
	return g + "." + strconv.Itoa(id.RevisionNumber)
}

// firstKB returns the first non-empty KB article ID without a "KB" prefix
// (WUA returns bare digits; the prefix is stripped in case one has it).
func firstKB(ids []string) string {
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if len(id) >= 2 && strings.EqualFold(id[:2], "KB") {
			id = id[2:]
		}
		if id != "" {
			return id
		}
	}
	return ""
}

// PendingUpdates converts and sorts updates (see SortUpdates).
func PendingUpdates(us []wua.Update) []*agentv1.PendingUpdate {
	out := make([]*agentv1.PendingUpdate, 0, len(us))
	for _, u := range us {
		out = append(out, PendingUpdate(u))
	}
	SortUpdates(out)
	return out
}

// SortUpdates orders updates deterministically so that equal scans encode
// and hash equally: most urgent classification first, then higher
// severity, then title, then id.
func SortUpdates(ps []*agentv1.PendingUpdate) {
	slices.SortFunc(ps, func(a, b *agentv1.PendingUpdate) int {
		return cmp.Or(
			cmp.Compare(classRank[b.GetClassification()], classRank[a.GetClassification()]),
			cmp.Compare(b.GetSeverity(), a.GetSeverity()),
			cmp.Compare(a.GetTitle(), b.GetTitle()),
			cmp.Compare(a.GetId(), b.GetId()),
		)
	})
}

// Summary is the one-line summary of a scan, e.g.
// "12 pending (3 security), reboot required".
func Summary(s *agentv1.PatchScan) string {
	switch s.GetStatus() {
	case agentv1.ScanStatus_SCAN_STATUS_OK:
	case agentv1.ScanStatus_SCAN_STATUS_UNAVAILABLE:
		return fmt.Sprintf("unavailable: %s", s.GetErrorCode())
	default:
		return fmt.Sprintf("scan failed: %s: %s", s.GetErrorCode(), s.GetErrorMessage())
	}
	security := 0
	for _, p := range s.GetPending() {
		if p.GetClassification() == agentv1.Classification_CLASSIFICATION_SECURITY {
			security++
		}
	}
	line := fmt.Sprintf("%d pending (%d security)", len(s.GetPending()), security)
	if n := len(s.GetInstalledAwaitingReboot()); n > 0 {
		line += fmt.Sprintf(", %d installed awaiting reboot", n)
	}
	if s.GetRebootRequired() {
		line += ", reboot required"
	}
	return line
}
