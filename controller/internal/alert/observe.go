package alert

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-rmm/vigil/controller/internal/patch"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// The functions below reduce what the controller knows about an agent to
// the rule's Observation at a time. Each returns ok false when the input
// is not for the Evaluator's rule (another kind, a volume or check the
// rule does not select); the caller skips it.

// Metrics returns one observation per target of a metric rule in a
// sample: one for the host, or one per selected volume (Target.Item is
// the mount). A figure the sample cannot give (swap on a host without
// swap, a volume of size 0) yields no observation.
func (e *Evaluator) Metrics(t Target, at time.Time, m *agentv1.Metrics) []Observation {
	p := e.rule.Metric
	if e.rule.Kind != KindMetric || m == nil {
		return nil
	}
	obs := func(t Target, v float64) Observation {
		return Observation{At: at, Target: t, Breach: p.Op.Holds(v, p.Threshold), Value: v}
	}
	switch p.Metric {
	case MetricCPU:
		return []Observation{obs(t, float64(m.GetCpuPercent()))}
	case MetricLoad1:
		return []Observation{obs(t, float64(m.GetLoad1()))}
	case MetricMemory:
		if m.GetMemTotal() == 0 {
			return nil
		}
		return []Observation{obs(t, percent(m.GetMemUsed(), m.GetMemTotal()))}
	case MetricSwap:
		if m.GetSwapTotal() == 0 {
			return nil
		}
		return []Observation{obs(t, percent(m.GetSwapUsed(), m.GetSwapTotal()))}
	case MetricDiskFree:
		var out []Observation
		for _, v := range m.GetVolumes() {
			if v.GetTotal() == 0 || !selects(p.Volume, v.GetMount()) {
				continue
			}
			vt := t
			vt.Item = v.GetMount()
			out = append(out, obs(vt, percent(v.GetFree(), v.GetTotal())))
		}
		return out
	}
	return nil
}

// Offline observes an agent last seen at lastSeen (now while its stream
// is open; its enrollment time if it never connected).
func (e *Evaluator) Offline(t Target, lastSeen, now time.Time) (Observation, bool) {
	if e.rule.Kind != KindOffline {
		return Observation{}, false
	}
	after := e.rule.Offline.After
	age := max(now.Sub(lastSeen), 0)
	o := Observation{At: now, Target: t, Value: age.Seconds(), Detail: "online"}
	if age > after {
		o.Breach = true
		o.Detail = fmt.Sprintf("offline for %s (limit %s)", formatAge(age), FormatDuration(after))
	}
	return o, true
}

// Updates observes the urgent (critical or security, see patch.Urgent)
// updates of an agent's last successful scan: the condition holds when
// the oldest was first seen more than the rule's age ago. A nil state
// (never scanned) does not hold.
func (e *Evaluator) Updates(t Target, p *PatchState, now time.Time) (Observation, bool) {
	if e.rule.Kind != KindUpdatesPending {
		return Observation{}, false
	}
	after := e.rule.Updates.After
	var (
		n      int
		oldest UrgentUpdate
	)
	for _, u := range p.urgent() {
		if now.Sub(time.Unix(u.FirstSeenUnix, 0)) <= after {
			break // oldest first: the rest are younger
		}
		if n == 0 {
			oldest = u
		}
		n++
	}
	o := Observation{At: now, Target: t, Detail: "no critical/security update pending > " + FormatDuration(after)}
	if n == 0 {
		return o, true
	}
	age := now.Sub(time.Unix(oldest.FirstSeenUnix, 0))
	noun := "updates"
	if n == 1 {
		noun = "update"
	}
	o.Breach, o.Value = true, age.Seconds()
	o.Detail = fmt.Sprintf("%d critical/security %s pending, oldest %s (limit %s): %s", n, noun, formatAge(age),
		FormatDuration(after), oldest.Name)
	return o, true
}

// PatchState is what the rules read of an agent's patch record: the last
// scan's outcome and its urgent pending updates. An evaluator that keeps
// every agent's state between evaluations keeps this, not the record: a
// record with a hundred pending updates is tens of kilobytes decoded, its
// PatchState a few hundred bytes.
type PatchState struct {
	ScanUnixMs          int64
	Status              agentv1.ScanStatus
	ErrorCode           string
	ErrorMessage        string
	ConsecutiveFailures uint32
	// Urgent are the urgent pending updates (patch.Urgent), oldest first.
	Urgent []UrgentUpdate
}

// UrgentUpdate is one urgent pending update: when a scan first listed it,
// and its name (KB, package or title, else its id).
type UrgentUpdate struct {
	FirstSeenUnix int64
	Name          string
}

func (p *PatchState) urgent() []UrgentUpdate {
	if p == nil {
		return nil
	}
	return p.Urgent
}

// PatchStateOf reduces a patch record to its PatchState; nil stays nil.
func PatchStateOf(rec *storev1.PatchRecord) *PatchState {
	if rec == nil {
		return nil
	}
	p := &PatchState{ScanUnixMs: rec.GetScanUnixMs(), Status: rec.GetStatus(), ErrorCode: rec.GetErrorCode(),
		ErrorMessage: rec.GetErrorMessage(), ConsecutiveFailures: rec.GetConsecutiveFailures()}
	for _, u := range rec.GetPending() {
		if patch.Urgent(u.GetUpdate()) {
			p.Urgent = append(p.Urgent, UrgentUpdate{FirstSeenUnix: u.GetFirstSeenUnix(), Name: updateName(u.GetUpdate())})
		}
	}
	slices.SortStableFunc(p.Urgent, func(a, b UrgentUpdate) int { return cmp.Compare(a.FirstSeenUnix, b.FirstSeenUnix) })
	return p
}

// SlimRebootRecord returns the part of rec that Reboot reads: whether a
// reboot is pending, since when, and the names of the signals that count.
// nil stays nil.
func SlimRebootRecord(rec *storev1.RebootRecord) *storev1.RebootRecord {
	if rec == nil {
		return nil
	}
	st := rec.GetState()
	out := &storev1.RebootRecord{ReportedUnixMs: rec.GetReportedUnixMs(),
		State: &agentv1.RebootState{Pending: st.GetPending(), PendingSinceUnix: st.GetPendingSinceUnix()}}
	for _, s := range st.GetSignals() {
		if s.GetPresent() && s.GetCounts() {
			out.State.Signals = append(out.State.Signals, &agentv1.RebootSignal{Name: s.GetName(), Present: true, Counts: true})
		}
	}
	return out
}

// Reboot observes an agent's reboot state: the condition holds when a
// reboot has been pending more than the rule's age; the detail lists the
// counting signals (the reasons). A nil record does not hold.
func (e *Evaluator) Reboot(t Target, rec *storev1.RebootRecord, now time.Time) (Observation, bool) {
	if e.rule.Kind != KindRebootPending {
		return Observation{}, false
	}
	after := e.rule.Reboot.After
	st := rec.GetState()
	o := Observation{At: now, Target: t, Detail: "no reboot pending"}
	if !st.GetPending() {
		return o, true
	}
	since := st.GetPendingSinceUnix()
	if since == 0 {
		since = rec.GetReportedUnixMs() / 1000 // not said: at least since the report
	}
	age := max(now.Sub(time.Unix(since, 0)), 0)
	o.Value = age.Seconds()
	o.Detail = fmt.Sprintf("reboot pending for %s (limit %s)", formatAge(age), FormatDuration(after))
	if age <= after {
		return o, true
	}
	o.Breach = true
	var reasons []string
	for _, s := range st.GetSignals() {
		if s.GetPresent() && s.GetCounts() {
			reasons = append(reasons, s.GetName())
		}
	}
	if len(reasons) > 0 {
		o.Detail += ": " + strings.Join(reasons, ", ")
	}
	return o, true
}

// Scan observes an agent's patch scan: the condition holds while the
// last scan failed and at least the rule's number of scans failed in a
// row.
func (e *Evaluator) Scan(t Target, p *PatchState, now time.Time) (Observation, bool) {
	if e.rule.Kind != KindScanFailing {
		return Observation{}, false
	}
	o := Observation{At: now, Target: t, Detail: "patch scan OK"}
	if p == nil || p.ScanUnixMs == 0 || p.Status == agentv1.ScanStatus_SCAN_STATUS_OK {
		return o, true
	}
	n := p.ConsecutiveFailures
	o.Value = float64(n)
	what := p.ErrorCode
	if what == "" {
		what = strings.ToLower(strings.TrimPrefix(p.Status.String(), "SCAN_STATUS_"))
	}
	o.Detail = fmt.Sprintf("patch scan failing: %d failed in a row, last %s", n, what)
	if m := p.ErrorMessage; m != "" {
		o.Detail += ": " + m
	}
	o.Breach = int(n) >= e.rule.scanFailures()
	return o, true
}

// CheckResult is a check's latest result from one vantage point.
type CheckResult struct {
	// ID is the check's id: the alert's item, so two checks of one name
	// never share an alert and a renamed check keeps its own.
	ID string
	// Check is the check's name, which rules select and notices show.
	Check string
	// Level is its status; Unknown marks a check that could not run.
	Level   CheckLevel
	Unknown bool
	// Output is the check's one-line output.
	Output string
}

// Check observes one check result: Target.Item becomes the check's id
// (its name when it has none) and Target.Label its name. A rule's
// pattern selects checks by name or id.
func (e *Evaluator) Check(t Target, res CheckResult, now time.Time) (Observation, bool) {
	if e.rule.Kind != KindCheckStatus {
		return Observation{}, false
	}
	c := e.rule.checkParams()
	if !selects(c.Check, res.Check) && (res.ID == "" || !selects(c.Check, res.ID)) {
		return Observation{}, false
	}
	t.Item, t.Label = res.ID, res.Check
	if t.Item == "" {
		t.Item, t.Label = res.Check, ""
	}
	status := res.Level.String()
	if res.Unknown {
		status = "unknown"
	}
	o := Observation{At: now, Target: t, Value: float64(res.Level),
		Breach: (res.Unknown && c.Unknown) || (!res.Unknown && res.Level >= c.Level),
		Detail: "check " + res.Check + " " + status}
	if res.Output != "" {
		o.Detail += ": " + res.Output
	}
	return o, true
}

// TaskOutcome is a finished task.
type TaskOutcome struct {
	// Task is the task id; Plugin runs it.
	Task   string
	Plugin string
	// Failed is true for FAILED (and the reboot timeout), false for
	// SUCCEEDED.
	Failed bool
	// At is when it finished.
	At time.Time
	// Detail is the failure reason.
	Detail string
}

// Task observes an agent's finished tasks: the condition holds while the
// latest one the rule selects failed, and clears when a later one
// succeeds. Cancelled, refused and expired tasks are not outcomes: leave
// them out.
func (e *Evaluator) Task(t Target, finished []TaskOutcome, now time.Time) (Observation, bool) {
	if e.rule.Kind != KindTaskFailed {
		return Observation{}, false
	}
	var last *TaskOutcome
	for i, f := range finished {
		if e.rule.Task != nil && e.rule.Task.Plugin != "" && f.Plugin != e.rule.Task.Plugin {
			continue
		}
		if last == nil || f.At.After(last.At) || (f.At.Equal(last.At) && f.Task > last.Task) {
			last = &finished[i]
		}
	}
	o := Observation{At: now, Target: t, Detail: "no failed task"}
	if last == nil {
		return o, true
	}
	o.Breach = last.Failed
	o.Detail = fmt.Sprintf("task %s (%s) succeeded", last.Task, last.Plugin)
	if last.Failed {
		o.Detail = fmt.Sprintf("task %s (%s) failed", last.Task, last.Plugin)
		if last.Detail != "" {
			o.Detail += ": " + last.Detail
		}
	}
	return o, true
}

// Verification is the outcome of a post-maintenance verification.
type Verification struct {
	// OK is true when every verification passed.
	OK bool
	// Detail says what failed.
	Detail string
}

// Verify observes an agent's latest post-maintenance verification (nil:
// none yet).
func (e *Evaluator) Verify(t Target, last *Verification, now time.Time) (Observation, bool) {
	if e.rule.Kind != KindVerifyFailed {
		return Observation{}, false
	}
	o := Observation{At: now, Target: t, Detail: "post-maintenance verification passed"}
	if last == nil || last.OK {
		return o, true
	}
	o.Breach = true
	o.Detail = "post-maintenance verification failed"
	if last.Detail != "" {
		o.Detail += ": " + last.Detail
	}
	return o, true
}

// selects matches name against a rule's pattern without regard to case;
// an empty pattern selects everything.
func selects(pattern, name string) bool {
	if pattern == "" {
		return true
	}
	ok, err := path.Match(strings.ToLower(pattern), strings.ToLower(name))
	return err == nil && ok
}

func percent(part, total uint64) float64 { return float64(part) / float64(total) * 100 }

// formatAge writes an age the way people say it: "12m", "5h", "16d".
func formatAge(d time.Duration) string {
	switch {
	case d < time.Hour:
		return FormatDuration(d.Truncate(time.Minute))
	case d < 48*time.Hour:
		return FormatDuration(d.Truncate(time.Hour))
	}
	return FormatDuration(d.Truncate(24 * time.Hour))
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

// maxSummary bounds a notice's summary; parts of it come from agents.
const maxSummary = 300

// oneLine flattens s to one line of at most maxSummary bytes, cut at a
// rune boundary.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxSummary {
		return s
	}
	cut := maxSummary
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
