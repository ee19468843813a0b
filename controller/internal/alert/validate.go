package alert

import (
	"errors"
	"fmt"
	"math"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Limits checked by Validate.
const (
	maxIDLen       = 64
	maxNameLen     = 200
	maxFor         = 24 * time.Hour
	maxOfflineAge  = 30 * 24 * time.Hour
	maxPendingAge  = 365 * 24 * time.Hour
	maxScanFailure = 100
	maxEscalation  = 7 * 24 * time.Hour
	maxInterval    = 7 * 24 * time.Hour
)

// Validate checks r and returns every problem found, each a *FieldError
// wrapping ErrInvalid (joined with errors.Join), or nil.
func (r *Rule) Validate() error {
	_, errs := r.compile()
	return errors.Join(errs...)
}

// compile validates r and returns its activation window.
func (r *Rule) compile() (window, []error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{field, fmt.Sprintf(format, args...)})
	}
	checkID(bad, "id", r.ID)
	checkID(bad, "tenant", r.Tenant)
	if len(r.Name) > maxNameLen {
		bad("name", "longer than %d bytes", maxNameLen)
	}
	if !slices.Contains(Kinds, r.Kind) {
		bad("kind", "%q is not a rule kind (one of %s)", r.Kind, kindList())
	}
	r.validateParams(bad)
	if r.Consecutive < 0 || r.Consecutive > MaxConsecutive {
		bad("consecutive", "%d: want 1 to %d, or 0 for the default %d", r.Consecutive, MaxConsecutive, DefaultConsecutive)
	}
	switch rp := r.Repeat; {
	case rp.Interval < 0 || rp.Interval > maxInterval || (rp.Interval > 0 && rp.Interval < time.Minute):
		bad("repeat.interval", "%s: want 1m to %s, or 0 for no repeats", rp.Interval, FormatDuration(maxInterval))
	case rp.Count < 0 || rp.Count > MaxRepeatCount:
		bad("repeat.count", "%d: want 1 to %d, or 0 to repeat until acknowledged or recovered", rp.Count, MaxRepeatCount)
	case rp.Interval == 0 && rp.Count != 0:
		bad("repeat.interval", "required with repeat.count")
	}
	if e := r.Escalation; e != nil {
		if e.Contact == "" {
			bad("escalation.contact", "required: the id of the contact to escalate to")
		} else {
			checkID(bad, "escalation.contact", e.Contact)
		}
		if e.After < time.Minute || e.After > maxEscalation {
			bad("escalation.after", "%s: want 1m to %s", e.After, FormatDuration(maxEscalation))
		}
	}
	if len(r.Contacts) > MaxContacts {
		bad("contacts", "%d contacts: at most %d", len(r.Contacts), MaxContacts)
	}
	for i, c := range r.Contacts {
		checkID(bad, fmt.Sprintf("contacts[%d]", i), c)
		if slices.Index(r.Contacts, c) < i {
			bad(fmt.Sprintf("contacts[%d]", i), "%q is listed twice", c)
		}
	}
	w, werrs := r.Activation.compile()
	return w, append(errs, werrs...)
}

// validateParams checks that exactly the parameters of r.Kind are set, and
// checks them.
func (r *Rule) validateParams(bad func(field, format string, args ...any)) {
	set := map[string]bool{
		"metric": r.Metric != nil, "offline": r.Offline != nil, "updates": r.Updates != nil,
		"reboot": r.Reboot != nil, "scan": r.Scan != nil, "check": r.Check != nil, "task": r.Task != nil,
	}
	for _, f := range []string{"metric", "offline", "updates", "reboot", "scan", "check", "task"} {
		if set[f] && kindParams[r.Kind] != f {
			bad(f, "set for a rule of kind %q; only %s may be set", r.Kind, paramsOf(r.Kind))
		}
	}
	switch r.Kind {
	case KindMetric:
		if r.Metric == nil {
			bad("metric", "required for a metric rule")
			return
		}
		checkMetric(bad, r.Metric)
	case KindOffline:
		if r.Offline == nil {
			bad("offline", "required for an offline rule")
			return
		}
		checkAge(bad, "offline.after", r.Offline.After, time.Minute, maxOfflineAge)
	case KindUpdatesPending:
		if r.Updates == nil {
			bad("updates", "required for an updates_pending rule")
			return
		}
		checkAge(bad, "updates.after", r.Updates.After, time.Hour, maxPendingAge)
	case KindRebootPending:
		if r.Reboot == nil {
			bad("reboot", "required for a reboot_pending rule")
			return
		}
		checkAge(bad, "reboot.after", r.Reboot.After, time.Hour, maxPendingAge)
	case KindScanFailing:
		if r.Scan != nil && (r.Scan.Failures < 0 || r.Scan.Failures > maxScanFailure) {
			bad("scan.failures", "%d: want 1 to %d, or 0 for 1", r.Scan.Failures, maxScanFailure)
		}
	case KindCheckStatus:
		if c := r.Check; c != nil {
			checkPattern(bad, "check.check", c.Check)
			if c.Level != CheckOK && c.Level != CheckWarning && c.Level != CheckCritical {
				bad("check.level", "%d: want warning or critical", c.Level)
			}
		}
	case KindTaskFailed:
		if r.Task != nil && r.Task.Plugin != "" {
			checkID(bad, "task.plugin", r.Task.Plugin)
		}
	}
}

func checkMetric(bad func(field, format string, args ...any), m *MetricParams) {
	switch m.Metric {
	case MetricCPU, MetricMemory, MetricSwap, MetricDiskFree:
		if math.IsNaN(m.Threshold) || m.Threshold < 0 || m.Threshold > 100 {
			bad("metric.threshold", "%v: a %s threshold is a percentage, 0 to 100", m.Threshold, m.Metric)
		}
	case MetricLoad1:
		if math.IsNaN(m.Threshold) || m.Threshold < 0 || math.IsInf(m.Threshold, 0) {
			bad("metric.threshold", "%v: a load threshold is 0 or more", m.Threshold)
		}
	default:
		bad("metric.metric", "%q: want cpu, memory, swap, load1 or disk_free_percent", m.Metric)
	}
	switch m.Op {
	case OpAbove, OpAtLeast, OpBelow, OpAtMost:
	default:
		bad("metric.op", "%q: want >, >=, < or <=", m.Op)
	}
	if m.For < 0 || m.For > maxFor || m.For%time.Second != 0 {
		bad("metric.for", "%s: want whole seconds, 0 to %s", m.For, FormatDuration(maxFor))
	}
	if m.Volume != "" {
		if m.Metric != MetricDiskFree {
			bad("metric.volume", "only for disk_free_percent")
		}
		checkPattern(bad, "metric.volume", m.Volume)
	}
}

func checkAge(bad func(field, format string, args ...any), field string, d, lo, hi time.Duration) {
	if d < lo || d > hi {
		bad(field, "%s: want %s to %s", FormatDuration(d), FormatDuration(lo), FormatDuration(hi))
	}
}

func checkPattern(bad func(field, format string, args ...any), field, p string) {
	if p == "" {
		return
	}
	if len(p) > maxNameLen || strings.ContainsFunc(p, unicode.IsControl) {
		bad(field, "at most %d printable bytes", maxNameLen)
		return
	}
	if _, err := path.Match(p, ""); err != nil {
		bad(field, "%q is not a valid pattern (path.Match syntax: *, ?, [a-z])", p)
	}
}

// checkID accepts 1 to 64 bytes of letters, digits and ".-_:@".
func checkID(bad func(field, format string, args ...any), field, s string) {
	if s == "" {
		bad(field, "required")
		return
	}
	if len(s) > maxIDLen {
		bad(field, "longer than %d bytes", maxIDLen)
		return
	}
	for _, c := range s {
		if !(c < unicode.MaxASCII && (unicode.IsLetter(c) || unicode.IsDigit(c) || strings.ContainsRune(".-_:@", c))) {
			bad(field, "%q: use letters, digits and . - _ : @", s)
			return
		}
	}
}

func kindList() string {
	var s []string
	for _, k := range Kinds {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

// kindParams names the parameter field each kind owns; verify_failed
// has none.
var kindParams = map[Kind]string{KindMetric: "metric", KindOffline: "offline", KindUpdatesPending: "updates",
	KindRebootPending: "reboot", KindScanFailing: "scan", KindCheckStatus: "check", KindTaskFailed: "task"}

func paramsOf(k Kind) string {
	if f, ok := kindParams[k]; ok {
		return f
	}
	return "no parameters"
}
