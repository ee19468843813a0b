package alert

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind is what a rule watches.
type Kind string

// Rule kinds.
const (
	// KindMetric: a health figure crosses a threshold for a duration.
	KindMetric Kind = "metric"
	// KindOffline: the agent has not been seen for a while.
	KindOffline Kind = "offline"
	// KindUpdatesPending: a critical or security update has been pending
	// too long.
	KindUpdatesPending Kind = "updates_pending"
	// KindRebootPending: a reboot has been pending too long.
	KindRebootPending Kind = "reboot_pending"
	// KindScanFailing: the patch scan keeps failing.
	KindScanFailing Kind = "scan_failing"
	// KindCheckStatus: a check is in a bad state.
	KindCheckStatus Kind = "check_status"
	// KindTaskFailed: the agent's latest finished task failed.
	KindTaskFailed Kind = "task_failed"
	// KindVerifyFailed: the latest post-maintenance verification failed.
	KindVerifyFailed Kind = "verify_failed"
)

// Kinds lists every kind, in the order the console shows them.
var Kinds = []Kind{KindMetric, KindOffline, KindUpdatesPending, KindRebootPending,
	KindScanFailing, KindCheckStatus, KindTaskFailed, KindVerifyFailed}

// Metric names a figure of agentv1.Metrics.
type Metric string

// Metrics a rule may watch. All but load1 are percentages (0-100).
const (
	// MetricCPU is cpu_percent.
	MetricCPU Metric = "cpu"
	// MetricMemory is mem_used / mem_total.
	MetricMemory Metric = "memory"
	// MetricSwap is swap_used / swap_total; a host without swap has no
	// sample.
	MetricSwap Metric = "swap"
	// MetricLoad1 is the one-minute load average (not a percentage).
	MetricLoad1 Metric = "load1"
	// MetricDiskFree is a volume's free / total, one target per volume.
	MetricDiskFree Metric = "disk_free_percent"
)

// Operator compares a sample with the threshold; the condition holds
// when "sample <op> threshold" is true.
type Operator string

// Operators.
const (
	OpAbove   Operator = ">"
	OpAtLeast Operator = ">="
	OpBelow   Operator = "<"
	OpAtMost  Operator = "<="
)

// Holds reports whether "v op threshold" is true.
func (op Operator) Holds(v, threshold float64) bool {
	switch op {
	case OpAbove:
		return v > threshold
	case OpAtLeast:
		return v >= threshold
	case OpBelow:
		return v < threshold
	case OpAtMost:
		return v <= threshold
	}
	return false
}

// Defaults.
const (
	// DefaultConsecutive is how many consecutive evaluations must agree
	// before a change of state is notified, when Rule.Consecutive is 0.
	DefaultConsecutive = 2
	// MaxConsecutive bounds Rule.Consecutive.
	MaxConsecutive = 60
	// MaxRepeatCount bounds Repeat.Count.
	MaxRepeatCount = 10
	// MaxContacts bounds Rule.Contacts.
	MaxContacts = 20
)

// Rule is one alert rule of one tenant. A later
// proto/vigil/store/v1 AlertRule mirrors it field for field: the
// per-kind parameter pointers become a oneof, durations become seconds.
type Rule struct {
	// ID identifies the rule within its tenant.
	ID string
	// Tenant owns the rule.
	Tenant string
	// Name is an optional display name.
	Name string
	// Kind says what the rule watches and which parameter field is set.
	Kind Kind
	// Enabled is false for a rule that is kept but never evaluated.
	Enabled bool

	// Exactly the parameters of Kind may be set (a oneof):
	//
	//	metric           Metric (required)
	//	offline          Offline (required)
	//	updates_pending  Updates (required)
	//	reboot_pending   Reboot (required)
	//	scan_failing     Scan (nil: one failed scan is enough)
	//	check_status     Check (nil: any check, critical)
	//	task_failed      Task (nil: any plugin)
	//	verify_failed    none
	Metric  *MetricParams
	Offline *OfflineParams
	Updates *AgeParams
	Reboot  *AgeParams
	Scan    *ScanParams
	Check   *CheckParams
	Task    *TaskParams

	// Consecutive is how many consecutive evaluations must agree before
	// the alert changes state, for failure and recovery alike; 0 means
	// DefaultConsecutive.
	Consecutive int
	// Repeat re-notifies a firing, unacknowledged alert.
	Repeat Repeat
	// Activation limits when the rule may notify; empty means always.
	Activation Activation
	// Escalation, if set, notifies a second contact when a firing alert is
	// not acknowledged in time.
	Escalation *Escalation
	// Contacts are contact ids (resolved to addresses by notify); empty
	// means the tenant's default contacts.
	Contacts []string
}

// MetricParams are a metric rule's condition: "Metric Op Threshold for
// For", for example cpu > 95 for 15m.
type MetricParams struct {
	// Metric is the figure watched.
	Metric Metric
	// Volume selects the volumes of a disk_free_percent rule: empty means
	// every volume, otherwise a path.Match pattern compared without regard
	// to case ("C:", "/var", "/srv/*"). Only for disk_free_percent.
	Volume string
	// Op compares a sample with Threshold.
	Op Operator
	// Threshold is a percentage (0-100) or, for load1, a load.
	Threshold float64
	// For is how long the condition must hold without interruption
	// before an evaluation counts as breaching; 0 means one sample.
	For time.Duration
}

// OfflineParams are an offline rule's condition.
type OfflineParams struct {
	// After is how long the agent must be unseen.
	After time.Duration
}

// AgeParams are the condition of updates_pending and reboot_pending
// rules: the oldest critical or security update, or the reboot, has been
// pending longer than After.
type AgeParams struct {
	// After is the age limit.
	After time.Duration
}

// ScanParams are a scan_failing rule's condition.
type ScanParams struct {
	// Failures is how many consecutive failed scans make the condition
	// hold; 0 means 1.
	Failures int
}

// CheckLevel is a check's status, in increasing severity.
type CheckLevel int

// Check levels.
const (
	CheckOK CheckLevel = iota
	CheckWarning
	CheckCritical
)

// String returns "ok", "warning" or "critical".
func (l CheckLevel) String() string {
	switch l {
	case CheckOK:
		return "ok"
	case CheckWarning:
		return "warning"
	case CheckCritical:
		return "critical"
	}
	return "level(" + strconv.Itoa(int(l)) + ")"
}

// CheckParams are a check_status rule's condition.
type CheckParams struct {
	// Check selects checks by name (a path.Match pattern); empty means
	// every check, one target per check.
	Check string
	// Level is the least severe status that makes the condition hold:
	// CheckWarning or CheckCritical; 0 means CheckCritical.
	Level CheckLevel
	// Unknown makes an unknown status (the check could not run) hold too.
	Unknown bool
}

// TaskParams are a task_failed rule's condition.
type TaskParams struct {
	// Plugin limits the rule to tasks of one plugin ("reboot"); empty
	// means every task.
	Plugin string
}

// Repeat re-notifies a firing alert until it is acknowledged or recovers.
type Repeat struct {
	// Interval is the time between notices; 0 means no repeats.
	Interval time.Duration
	// Count is how many repeats follow the first notice: 1 to
	// MaxRepeatCount, or 0 for permanently (while Interval is set).
	Count int
}

// Escalation notifies a second contact about an alert that is not
// acknowledged within After of its first notice.
type Escalation struct {
	// Contact is the second contact's id.
	Contact string
	// After is how long the first notice may go unacknowledged.
	After time.Duration
}

// consecutive returns Consecutive with its default.
func (r *Rule) consecutive() int {
	if r.Consecutive <= 0 {
		return DefaultConsecutive
	}
	return r.Consecutive
}

// Condition describes the rule's condition in words, as notices quote it:
// "cpu > 95% for 15m", "offline > 10m".
func (r *Rule) Condition() string {
	switch r.Kind {
	case KindMetric:
		m := r.Metric
		if m == nil {
			break
		}
		s := metricLabel(m.Metric, m.Volume) + " " + string(m.Op) + " " + formatValue(m.Metric, m.Threshold, false)
		if m.For > 0 {
			s += " for " + FormatDuration(m.For)
		}
		return s
	case KindOffline:
		if r.Offline != nil {
			return "offline > " + FormatDuration(r.Offline.After)
		}
	case KindUpdatesPending:
		if r.Updates != nil {
			return "critical/security updates pending > " + FormatDuration(r.Updates.After)
		}
	case KindRebootPending:
		if r.Reboot != nil {
			return "reboot pending > " + FormatDuration(r.Reboot.After)
		}
	case KindScanFailing:
		if n := r.scanFailures(); n > 1 {
			return fmt.Sprintf("patch scan failing %d times in a row", n)
		}
		return "patch scan failing"
	case KindCheckStatus:
		c := r.checkParams()
		what := "any check"
		if c.Check != "" {
			what = "check " + c.Check
		}
		s := what + " " + c.Level.String()
		if c.Level == CheckWarning {
			s += " or worse"
		}
		return s
	case KindTaskFailed:
		if r.Task != nil && r.Task.Plugin != "" {
			return r.Task.Plugin + " task failed"
		}
		return "task failed"
	case KindVerifyFailed:
		return "post-maintenance verification failed"
	}
	return string(r.Kind)
}

func (r *Rule) scanFailures() int {
	if r.Scan == nil || r.Scan.Failures <= 0 {
		return 1
	}
	return r.Scan.Failures
}

func (r *Rule) checkParams() CheckParams {
	c := CheckParams{Level: CheckCritical}
	if r.Check != nil {
		c = *r.Check
		if c.Level == CheckOK {
			c.Level = CheckCritical
		}
	}
	return c
}

// Default rule ids.
const (
	DefaultOffline  = "default-offline"
	DefaultDiskFree = "default-disk-free"
	DefaultCPU      = "default-cpu"
	DefaultMemory   = "default-memory"
	DefaultUpdates  = "default-updates-critical"
	DefaultReboot   = "default-reboot"
)

// DefaultRules returns the rules a new tenant starts with: offline 10m,
// disk free < 10% (every volume), cpu > 95% for 15m, memory > 95% for
// 15m, critical/security updates pending > 14d, reboot pending > 3d. All
// enabled, two consecutive evaluations, no repeats, no escalation, always
// active, the tenant's default contacts. Each is an ordinary rule
// afterwards: it may be disabled, edited or deleted.
func DefaultRules(tenant string) []Rule {
	base := func(id, name string, k Kind) Rule {
		return Rule{ID: id, Tenant: tenant, Name: name, Kind: k, Enabled: true, Consecutive: DefaultConsecutive}
	}
	offline := base(DefaultOffline, "Agent offline", KindOffline)
	offline.Offline = &OfflineParams{After: 10 * time.Minute}
	disk := base(DefaultDiskFree, "Disk space low", KindMetric)
	disk.Metric = &MetricParams{Metric: MetricDiskFree, Op: OpBelow, Threshold: 10}
	cpu := base(DefaultCPU, "CPU high", KindMetric)
	cpu.Metric = &MetricParams{Metric: MetricCPU, Op: OpAbove, Threshold: 95, For: 15 * time.Minute}
	mem := base(DefaultMemory, "Memory high", KindMetric)
	mem.Metric = &MetricParams{Metric: MetricMemory, Op: OpAbove, Threshold: 95, For: 15 * time.Minute}
	upd := base(DefaultUpdates, "Critical updates pending", KindUpdatesPending)
	upd.Updates = &AgeParams{After: 14 * 24 * time.Hour}
	reboot := base(DefaultReboot, "Reboot pending", KindRebootPending)
	reboot.Reboot = &AgeParams{After: 3 * 24 * time.Hour}
	return []Rule{offline, disk, cpu, mem, upd, reboot}
}

// FormatDuration writes d the way rules are read: "15m", "1h30m", "14d",
// "36h". Seconds appear only when d is not whole minutes.
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return "0m"
	}
	if d%time.Minute != 0 {
		return d.String()
	}
	if d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	var b strings.Builder
	if h := d / time.Hour; h > 0 {
		b.WriteString(strconv.FormatInt(int64(h), 10) + "h")
	}
	if m := (d % time.Hour) / time.Minute; m > 0 {
		b.WriteString(strconv.FormatInt(int64(m), 10) + "m")
	}
	return b.String()
}

// metricLabel names a metric in a notice: "cpu", "disk free", "disk free
// C:".
func metricLabel(m Metric, volume string) string {
	switch m {
	case MetricDiskFree:
		if volume != "" {
			return "disk free " + volume
		}
		return "disk free"
	case MetricLoad1:
		return "load"
	}
	return string(m)
}

// formatValue writes a sample or a threshold: percentages with a "%",
// samples with one decimal ("97.2%"), thresholds as short as they can be
// ("95%").
func formatValue(m Metric, v float64, sample bool) string {
	prec := -1
	if sample {
		prec = 1
		if m == MetricLoad1 {
			prec = 2
		}
	}
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if m != MetricLoad1 {
		s += "%"
	}
	return s
}
