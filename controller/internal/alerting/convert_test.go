package alerting_test

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/controller/internal/alert"
	"github.com/vigil-rmm/vigil/controller/internal/alerting"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// TestRuleRoundTrip converts a rule of every kind, with every shared
// setting, to its stored form and back.
func TestRuleRoundTrip(t *testing.T) {
	shared := func(r alert.Rule) alert.Rule {
		r.Tenant, r.Name, r.Enabled, r.Consecutive = "acme", "rule "+r.ID, true, 3
		r.Repeat = alert.Repeat{Interval: 30 * time.Minute, Count: 3}
		r.Activation = alert.Activation{TimeZone: "Europe/Paris", Days: []time.Weekday{time.Monday, time.Friday},
			Hours: []alert.HourRange{{Start: 8 * 60, End: 12 * 60}, {Start: 14 * 60, End: 24 * 60}}}
		r.Escalation = &alert.Escalation{Contact: "ct-boss", After: 45 * time.Minute}
		r.Contacts = []string{"ct-a", "ct-b"}
		return r
	}
	rules := []alert.Rule{
		{ID: "m", Kind: alert.KindMetric, Metric: &alert.MetricParams{Metric: alert.MetricDiskFree, Volume: "C:", Op: alert.OpAtMost, Threshold: 7.5, For: 90 * time.Second}},
		{ID: "o", Kind: alert.KindOffline, Offline: &alert.OfflineParams{After: 10 * time.Minute}},
		{ID: "u", Kind: alert.KindUpdatesPending, Updates: &alert.AgeParams{After: 14 * 24 * time.Hour}},
		{ID: "b", Kind: alert.KindRebootPending, Reboot: &alert.AgeParams{After: 3 * 24 * time.Hour}},
		{ID: "s", Kind: alert.KindScanFailing, Scan: &alert.ScanParams{Failures: 2}},
		{ID: "s0", Kind: alert.KindScanFailing},
		{ID: "c", Kind: alert.KindCheckStatus, Check: &alert.CheckParams{Check: "shop*", Level: alert.CheckWarning, Unknown: true}},
		{ID: "c0", Kind: alert.KindCheckStatus},
		{ID: "t", Kind: alert.KindTaskFailed, Task: &alert.TaskParams{Plugin: "reboot"}},
		{ID: "t0", Kind: alert.KindTaskFailed},
		{ID: "v", Kind: alert.KindVerifyFailed},
	}
	for _, base := range rules {
		base.Tenant = "acme"
		for _, r := range []alert.Rule{base, shared(base)} {
			if err := r.Validate(); err != nil {
				t.Fatalf("%s: %v", r.ID, err)
			}
			s := alerting.RuleToStore(r)
			back, err := alerting.RuleFromStore(s)
			if err != nil {
				t.Fatalf("%s: %v", r.ID, err)
			}
			if !reflect.DeepEqual(back, r) {
				t.Errorf("%s: round trip\n got  %+v\n want %+v", r.ID, back, r)
			}
		}
	}
}

// TestStoredDefaultsAreAlertDefaults keeps the schema's copy of the
// default rules (which the migration seeds) equal to alert.DefaultRules.
func TestStoredDefaultsAreAlertDefaults(t *testing.T) {
	want := alert.DefaultRules("acme")
	got := schema.DefaultAlertRules("acme", 42)
	if len(got) != len(want) {
		t.Fatalf("%d stored defaults, %d alert defaults", len(got), len(want))
	}
	for i, r := range want {
		s := alerting.RuleToStore(r)
		s.CreatedUnix, s.UpdatedUnix = 42, 42
		if !proto.Equal(s, got[i]) {
			t.Errorf("default %s:\n schema %v\n alert  %v", r.ID, got[i], s)
		}
	}
}

func TestStateRoundTrip(t *testing.T) {
	at := func(m int) time.Time { return time.UnixMilli(t0.Add(time.Duration(m) * time.Minute).UnixMilli()) }
	st := &alert.State{Target: alert.Target{Agent: "ag-1", Host: "web-01", Item: "/var"}, LastAt: at(9), Firing: true, Streak: 1,
		BreachSince: at(1), LastSample: at(9), Value: 97.5, Detail: "d", Incident: 4, Since: at(3), Notified: at(4), LastSent: at(6),
		Repeats: 2, Escalated: true, AckedAt: at(8), AckedBy: "alice",
		Held: &alert.HeldResolve{Incident: 3, Since: at(0), At: at(2), Escalated: true, Value: 3, Detail: "x"}}
	back := alerting.StateFromStore(alerting.StateToStore(st))
	if !reflect.DeepEqual(back, st) {
		t.Fatalf("round trip\n got  %+v\n want %+v", back, st)
	}
	empty := alerting.StateFromStore(alerting.StateToStore(&alert.State{}))
	if !reflect.DeepEqual(empty, &alert.State{}) {
		t.Fatalf("empty state: %+v", empty)
	}
}

// TestRuleFromStoreRefusesHugeDurations: seconds that would wrap around
// int64 nanoseconds (18446744674 s comes back as about ten minutes) are
// refused with the field named, never converted.
func TestRuleFromStoreRefusesHugeDurations(t *testing.T) {
	cases := []struct {
		field string
		set   func(*storev1.AlertRule, int64)
	}{
		{"for_seconds", func(s *storev1.AlertRule, v int64) { s.ForSeconds = v }},
		{"after_seconds", func(s *storev1.AlertRule, v int64) { s.AfterSeconds = v }},
		{"repeat_interval_seconds", func(s *storev1.AlertRule, v int64) { s.RepeatIntervalSeconds = v }},
		{"escalation_after_seconds", func(s *storev1.AlertRule, v int64) { s.EscalationAfterSeconds = v }},
	}
	for _, tc := range cases {
		for _, v := range []int64{18446744674, math.MaxInt64, math.MinInt64, alerting.MaxDurationSeconds + 1} {
			s := alerting.RuleToStore(alert.Rule{ID: "m", Tenant: "acme", Kind: alert.KindMetric,
				Metric: &alert.MetricParams{Metric: alert.MetricCPU, Op: alert.OpAbove, Threshold: 90}})
			tc.set(s, v)
			field, err := alerting.CheckDurations(s)
			if field != tc.field || err == nil {
				t.Errorf("%s = %d: CheckDurations = %q, %v; want the field named", tc.field, v, field, err)
			}
			if _, err := alerting.RuleFromStore(s); err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("%s = %d: RuleFromStore = %v; want an error naming the field", tc.field, v, err)
			}
		}
	}
	ok := alerting.RuleToStore(alert.Rule{ID: "o", Tenant: "acme", Kind: alert.KindOffline,
		Offline: &alert.OfflineParams{After: time.Duration(alerting.MaxDurationSeconds) * time.Second}})
	if r, err := alerting.RuleFromStore(ok); err != nil || r.Offline.After != time.Duration(alerting.MaxDurationSeconds)*time.Second {
		t.Errorf("ten years: %v %v", r.Offline, err)
	}
}
