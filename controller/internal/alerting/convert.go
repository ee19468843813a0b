package alerting

import (
	"fmt"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/alert"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// RuleToStore converts a rule to its stored form. Durations become whole
// seconds (Validate accepts only whole seconds), the kind's parameters
// flatten into their fields.
func RuleToStore(r alert.Rule) *storev1.AlertRule {
	s := &storev1.AlertRule{
		Id: r.ID, Tenant: r.Tenant, Name: r.Name, Kind: string(r.Kind), Enabled: r.Enabled,
		Consecutive:           int32(r.Consecutive),
		RepeatIntervalSeconds: seconds(r.Repeat.Interval),
		RepeatCount:           int32(r.Repeat.Count),
		ActivationTimezone:    r.Activation.TimeZone,
		Contacts:              append([]string(nil), r.Contacts...),
	}
	if m := r.Metric; m != nil {
		s.Metric, s.Volume, s.Op, s.Threshold, s.ForSeconds = string(m.Metric), m.Volume, string(m.Op), m.Threshold, seconds(m.For)
	}
	switch {
	case r.Offline != nil:
		s.AfterSeconds = seconds(r.Offline.After)
	case r.Updates != nil:
		s.AfterSeconds = seconds(r.Updates.After)
	case r.Reboot != nil:
		s.AfterSeconds = seconds(r.Reboot.After)
	}
	if r.Scan != nil {
		s.ScanFailures = int32(r.Scan.Failures)
	}
	if c := r.Check; c != nil {
		s.Check, s.CheckUnknown = c.Check, c.Unknown
		if c.Level != alert.CheckOK {
			s.CheckLevel = c.Level.String()
		}
	}
	if r.Task != nil {
		s.TaskPlugin = r.Task.Plugin
	}
	for _, d := range r.Activation.Days {
		s.ActivationDays = append(s.ActivationDays, int32(d))
	}
	for _, h := range r.Activation.Hours {
		s.ActivationHours = append(s.ActivationHours, h.String())
	}
	if e := r.Escalation; e != nil {
		s.EscalationContact, s.EscalationAfterSeconds = e.Contact, seconds(e.After)
	}
	return s
}

// MaxDurationSeconds bounds every duration of a stored rule (ten years).
// Seconds are range-checked before they become a time.Duration: a larger
// count of seconds would wrap around int64 nanoseconds and come back as a
// small, valid-looking duration (18446744674 s as about ten minutes).
const MaxDurationSeconds = 10 * 365 * 24 * 60 * 60

// DurationFields are the fields of a stored rule that hold seconds, by
// their names in the API's rule spec.
var DurationFields = []string{"for_seconds", "after_seconds", "repeat_interval_seconds", "escalation_after_seconds"}

// durationValues returns the values of DurationFields in s, in order.
func durationValues(s *storev1.AlertRule) []int64 {
	return []int64{s.GetForSeconds(), s.GetAfterSeconds(), s.GetRepeatIntervalSeconds(), s.GetEscalationAfterSeconds()}
}

// CheckDurations returns an error naming the first field of s whose
// seconds are outside -MaxDurationSeconds..MaxDurationSeconds, and the
// field's name; nil and "" when every one is in range.
func CheckDurations(s *storev1.AlertRule) (string, error) {
	for i, v := range durationValues(s) {
		if v > MaxDurationSeconds || v < -MaxDurationSeconds {
			return DurationFields[i], fmt.Errorf("%d seconds is out of range: at most %d (ten years)", v, MaxDurationSeconds)
		}
	}
	return "", nil
}

// RuleFromStore converts a stored rule back. The optional parameter
// structs come back only when they say something: a scan_failing rule
// with 0 failures, a check_status rule with no pattern, level or unknown,
// a task_failed rule with no plugin all come back with nil parameters,
// which alert reads the same way. It fails only on malformed stored
// values (an hour range or a check level it cannot parse, a duration
// beyond MaxDurationSeconds); the result is not validated.
func RuleFromStore(s *storev1.AlertRule) (alert.Rule, error) {
	if field, err := CheckDurations(s); err != nil {
		return alert.Rule{}, fmt.Errorf("rule %s/%s: %s: %w", s.GetTenant(), s.GetId(), field, err)
	}
	r := alert.Rule{
		ID: s.GetId(), Tenant: s.GetTenant(), Name: s.GetName(), Kind: alert.Kind(s.GetKind()), Enabled: s.GetEnabled(),
		Consecutive: int(s.GetConsecutive()),
		Repeat:      alert.Repeat{Interval: dur(s.GetRepeatIntervalSeconds()), Count: int(s.GetRepeatCount())},
		Activation:  alert.Activation{TimeZone: s.GetActivationTimezone()},
	}
	if len(s.GetContacts()) > 0 {
		r.Contacts = append([]string(nil), s.GetContacts()...)
	}
	after := dur(s.GetAfterSeconds())
	switch r.Kind {
	case alert.KindMetric:
		r.Metric = &alert.MetricParams{Metric: alert.Metric(s.GetMetric()), Volume: s.GetVolume(), Op: alert.Operator(s.GetOp()),
			Threshold: s.GetThreshold(), For: dur(s.GetForSeconds())}
	case alert.KindOffline:
		r.Offline = &alert.OfflineParams{After: after}
	case alert.KindUpdatesPending:
		r.Updates = &alert.AgeParams{After: after}
	case alert.KindRebootPending:
		r.Reboot = &alert.AgeParams{After: after}
	case alert.KindScanFailing:
		if s.GetScanFailures() != 0 {
			r.Scan = &alert.ScanParams{Failures: int(s.GetScanFailures())}
		}
	case alert.KindCheckStatus:
		lvl, err := ParseCheckLevel(s.GetCheckLevel())
		if err != nil {
			return r, fmt.Errorf("rule %s/%s: %w", s.GetTenant(), s.GetId(), err)
		}
		if s.GetCheck() != "" || lvl != alert.CheckOK || s.GetCheckUnknown() {
			r.Check = &alert.CheckParams{Check: s.GetCheck(), Level: lvl, Unknown: s.GetCheckUnknown()}
		}
	case alert.KindTaskFailed:
		if s.GetTaskPlugin() != "" {
			r.Task = &alert.TaskParams{Plugin: s.GetTaskPlugin()}
		}
	}
	for _, d := range s.GetActivationDays() {
		r.Activation.Days = append(r.Activation.Days, time.Weekday(d))
	}
	for _, h := range s.GetActivationHours() {
		hr, err := alert.ParseHours(h)
		if err != nil {
			return r, fmt.Errorf("rule %s/%s: %w", s.GetTenant(), s.GetId(), err)
		}
		r.Activation.Hours = append(r.Activation.Hours, hr)
	}
	if s.GetEscalationContact() != "" || s.GetEscalationAfterSeconds() != 0 {
		r.Escalation = &alert.Escalation{Contact: s.GetEscalationContact(), After: dur(s.GetEscalationAfterSeconds())}
	}
	return r, nil
}

// ParseCheckLevel reads "warning" or "critical"; "" is the default level
// (alert.CheckOK, read as critical).
func ParseCheckLevel(s string) (alert.CheckLevel, error) {
	switch s {
	case "":
		return alert.CheckOK, nil
	case "warning":
		return alert.CheckWarning, nil
	case "critical":
		return alert.CheckCritical, nil
	}
	return alert.CheckOK, fmt.Errorf("check level %q: want warning or critical", s)
}

// StateToStore converts a state to its stored form (times in unix
// milliseconds, 0 for none).
func StateToStore(st *alert.State) *storev1.AlertState {
	s := &storev1.AlertState{
		Agent: st.Target.Agent, Host: st.Target.Host, Item: st.Target.Item, ItemLabel: st.Target.Label,
		LastUnixMs: ms(st.LastAt), Firing: st.Firing, Streak: int32(st.Streak), BreachSinceUnixMs: ms(st.BreachSince),
		LastSampleUnixMs: ms(st.LastSample), Value: st.Value, Detail: st.Detail,
		Incident: st.Incident, SinceUnixMs: ms(st.Since), NotifiedUnixMs: ms(st.Notified), LastSentUnixMs: ms(st.LastSent),
		Repeats: int32(st.Repeats), Escalated: st.Escalated, AckedUnixMs: ms(st.AckedAt), AckedBy: st.AckedBy,
	}
	if h := st.Held; h != nil {
		s.Held, s.HeldIncident, s.HeldSinceUnixMs, s.HeldAtUnixMs = true, h.Incident, ms(h.Since), ms(h.At)
		s.HeldEscalated, s.HeldValue, s.HeldDetail = h.Escalated, h.Value, h.Detail
	}
	return s
}

// StateFromStore converts a stored state back.
func StateFromStore(s *storev1.AlertState) *alert.State {
	st := &alert.State{
		Target: alert.Target{Agent: s.GetAgent(), Host: s.GetHost(), Item: s.GetItem(), Label: s.GetItemLabel()},
		LastAt: at(s.GetLastUnixMs()), Firing: s.GetFiring(), Streak: int(s.GetStreak()), BreachSince: at(s.GetBreachSinceUnixMs()),
		LastSample: at(s.GetLastSampleUnixMs()), Value: s.GetValue(), Detail: s.GetDetail(),
		Incident: s.GetIncident(), Since: at(s.GetSinceUnixMs()), Notified: at(s.GetNotifiedUnixMs()), LastSent: at(s.GetLastSentUnixMs()),
		Repeats: int(s.GetRepeats()), Escalated: s.GetEscalated(), AckedAt: at(s.GetAckedUnixMs()), AckedBy: s.GetAckedBy(),
	}
	if s.GetHeld() {
		st.Held = &alert.HeldResolve{Incident: s.GetHeldIncident(), Since: at(s.GetHeldSinceUnixMs()), At: at(s.GetHeldAtUnixMs()),
			Escalated: s.GetHeldEscalated(), Value: s.GetHeldValue(), Detail: s.GetHeldDetail()}
	}
	return st
}

func seconds(d time.Duration) int64 { return int64(d / time.Second) }

// dur converts seconds RuleFromStore range-checked (CheckDurations).
func dur(s int64) time.Duration { return time.Duration(s) * time.Second }

// ms is t in unix milliseconds, 0 for the zero time.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// at is the inverse of ms.
func at(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
