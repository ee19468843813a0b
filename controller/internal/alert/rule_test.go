package alert_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/alert"
)

func TestDefaultRules(t *testing.T) {
	var got []string
	for _, r := range alert.DefaultRules("acme") {
		if err := r.Validate(); err != nil {
			t.Errorf("%s: %v", r.ID, err)
		}
		got = append(got, fmt.Sprintf("%s %s %s: %s enabled=%v n=%d repeat=%v esc=%v always=%v contacts=%d",
			r.Tenant, r.ID, r.Kind, r.Condition(), r.Enabled, r.Consecutive, r.Repeat, r.Escalation != nil,
			r.Activation.Always(), len(r.Contacts)))
	}
	const tail = " enabled=true n=2 repeat={0s 0} esc=false always=true contacts=0"
	equal(t, got, []string{
		"acme default-offline offline: offline > 10m" + tail,
		"acme default-disk-free metric: disk free < 10%" + tail,
		"acme default-cpu metric: cpu > 95% for 15m" + tail,
		"acme default-memory metric: memory > 95% for 15m" + tail,
		"acme default-updates-critical updates_pending: critical/security updates pending > 14d" + tail,
		"acme default-reboot reboot_pending: reboot pending > 3d" + tail,
	})
}

// TestDefaultsAreIndependent: editing one tenant's defaults leaves the
// next call's alone.
func TestDefaultsAreIndependent(t *testing.T) {
	a := alert.DefaultRules("acme")
	a[2].Metric.Threshold = 80
	if b := alert.DefaultRules("acme"); b[2].Metric.Threshold != 95 {
		t.Errorf("defaults share parameters: %v", b[2].Metric.Threshold)
	}
}

// fields lists the fields named by a Validate error.
func fields(err error) []string {
	var out []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *alert.FieldError
		if errors.As(e, &fe) {
			out = append(out, fe.Field)
		}
	}
	return out
}

func TestValidate(t *testing.T) {
	valid := func() alert.Rule {
		return alert.Rule{ID: "cpu-web", Tenant: "acme", Kind: alert.KindMetric, Enabled: true,
			Metric:     &alert.MetricParams{Metric: alert.MetricCPU, Op: alert.OpAbove, Threshold: 90, For: 10 * time.Minute},
			Repeat:     alert.Repeat{Interval: 30 * time.Minute, Count: 3},
			Activation: alert.Activation{TimeZone: "Europe/Paris", Days: weekdays, Hours: []alert.HourRange{{Start: 480, End: 1080}}},
			Escalation: &alert.Escalation{Contact: "oncall", After: time.Hour},
			Contacts:   []string{"ops", "pr-alice"},
		}
	}
	tests := []struct {
		name string
		mod  func(r *alert.Rule)
		want []string
	}{
		{"missing ids", func(r *alert.Rule) { r.ID, r.Tenant = "", "" }, []string{"id", "tenant"}},
		{"id with a slash", func(r *alert.Rule) { r.ID = "a/b" }, []string{"id"}},
		{"unknown kind", func(r *alert.Rule) { r.Kind = "disk"; r.Metric = nil }, []string{"kind"}},
		{"metric missing", func(r *alert.Rule) { r.Metric = nil }, []string{"metric"}},
		{"parameters of another kind", func(r *alert.Rule) { r.Offline = &alert.OfflineParams{After: time.Hour} }, []string{"offline"}},
		{"metric parameters on an offline rule", func(r *alert.Rule) {
			r.Kind = alert.KindOffline
			r.Offline = &alert.OfflineParams{After: 30 * time.Second}
		}, []string{"metric", "offline.after"}},
		{"unknown metric", func(r *alert.Rule) { r.Metric.Metric = "load5" }, []string{"metric.metric"}},
		{"percentage over 100", func(r *alert.Rule) { r.Metric.Threshold = 150 }, []string{"metric.threshold"}},
		{"load may exceed 100", func(r *alert.Rule) { r.Metric.Metric, r.Metric.Threshold = alert.MetricLoad1, 150 }, nil},
		{"bad operator", func(r *alert.Rule) { r.Metric.Op = "=>" }, []string{"metric.op"}},
		{"negative for", func(r *alert.Rule) { r.Metric.For = -time.Minute }, []string{"metric.for"}},
		{"volume on cpu", func(r *alert.Rule) { r.Metric.Volume = "C:" }, []string{"metric.volume"}},
		{"bad volume pattern", func(r *alert.Rule) {
			r.Metric.Metric, r.Metric.Op, r.Metric.Volume = alert.MetricDiskFree, alert.OpBelow, "/srv/["
		}, []string{"metric.volume"}},
		{"consecutive too high", func(r *alert.Rule) { r.Consecutive = 61 }, []string{"consecutive"}},
		{"repeat count 11", func(r *alert.Rule) { r.Repeat.Count = 11 }, []string{"repeat.count"}},
		{"repeat count without interval", func(r *alert.Rule) { r.Repeat.Interval = 0 }, []string{"repeat.interval"}},
		{"repeat every 30s", func(r *alert.Rule) { r.Repeat.Interval = 30 * time.Second }, []string{"repeat.interval"}},
		{"permanent repeats", func(r *alert.Rule) { r.Repeat.Count = 0 }, nil},
		{"hours without a zone", func(r *alert.Rule) { r.Activation.TimeZone = "" }, []string{"activation.time_zone"}},
		{"unknown zone", func(r *alert.Rule) { r.Activation.TimeZone = "Europe/Atlantis" }, []string{"activation.time_zone"}},
		{"reversed hours", func(r *alert.Rule) { r.Activation.Hours[0] = alert.HourRange{Start: 1080, End: 480} }, []string{"activation.hours[0]"}},
		{"bad and repeated days", func(r *alert.Rule) { r.Activation.Days = []time.Weekday{7, time.Monday, time.Monday} },
			[]string{"activation.days[0]", "activation.days[2]"}},
		{"empty activation needs no zone", func(r *alert.Rule) { r.Activation = alert.Activation{} }, nil},
		{"escalation without contact or delay", func(r *alert.Rule) { r.Escalation = &alert.Escalation{} },
			[]string{"escalation.contact", "escalation.after"}},
		{"contact listed twice", func(r *alert.Rule) { r.Contacts = []string{"ops", "ops"} }, []string{"contacts[1]"}},
		{"updates age under an hour", func(r *alert.Rule) {
			r.Kind, r.Metric, r.Updates = alert.KindUpdatesPending, nil, &alert.AgeParams{After: time.Minute}
		}, []string{"updates.after"}},
		{"check level", func(r *alert.Rule) {
			r.Kind, r.Metric, r.Check = alert.KindCheckStatus, nil, &alert.CheckParams{Level: 5}
		}, []string{"check.level"}},
		{"scan failures", func(r *alert.Rule) {
			r.Kind, r.Metric, r.Scan = alert.KindScanFailing, nil, &alert.ScanParams{Failures: -1}
		}, []string{"scan.failures"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := valid()
			tt.mod(&r)
			err := r.Validate()
			got := []string{}
			if err != nil {
				got = fields(err)
			}
			want := append([]string{}, tt.want...)
			if !slices.Equal(got, want) || (err != nil) != errors.Is(err, alert.ErrInvalid) {
				t.Errorf("fields %v, want %v (error: %v)", got, want, err)
			}
			_, newErr := alert.New(r, alert.Options{})
			if (newErr == nil) != (err == nil) {
				t.Errorf("New: %v, Validate: %v", newErr, err)
			}
		})
	}
}

func TestValidateMessages(t *testing.T) {
	r := alert.Rule{ID: "x", Tenant: "acme", Kind: alert.KindMetric, Enabled: true,
		Metric: &alert.MetricParams{Metric: alert.MetricCPU, Op: alert.OpAbove, Threshold: 101},
		Repeat: alert.Repeat{Interval: time.Minute, Count: 12}}
	err := r.Validate()
	for _, want := range []string{
		"metric.threshold: 101: a cpu threshold is a percentage, 0 to 100",
		"repeat.count: 12: want 1 to 10, or 0 to repeat until acknowledged or recovered",
	} {
		if !strings.Contains(fmt.Sprint(err), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestParseHours(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"08:00-18:00", "08:00-18:00"},
		{"22:00-24:00", "22:00-24:00"},
		{"8:30 - 12:15", "08:30-12:15"},
		{"08:00", "error"},
		{"25:00-26:00", "error"},
		{"24:30-24:45", "error"},
		{"08:00x-18:00", "error"},
		{"08:0-18:00", "error"},
	}
	for _, tt := range tests {
		h, err := alert.ParseHours(tt.in)
		got := h.String()
		if err != nil {
			got = "error"
		}
		if got != tt.want {
			t.Errorf("ParseHours(%q) = %s (%v), want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		15 * time.Minute:        "15m",
		90 * time.Minute:        "1h30m",
		36 * time.Hour:          "36h",
		14 * 24 * time.Hour:     "14d",
		0:                       "0m",
		90 * time.Second:        "1m30s",
		2*time.Hour + time.Hour: "3h",
	} {
		if got := alert.FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%s) = %s, want %s", d, got, want)
		}
	}
}
