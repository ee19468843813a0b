package alert_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/alert"
)

var paris = mustLoad("Europe/Paris")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func hours(t *testing.T, s ...string) []alert.HourRange {
	t.Helper()
	var out []alert.HourRange
	for _, h := range s {
		r, err := alert.ParseHours(h)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

var weekdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}

// officeHours is 08:00-18:00 on weekdays in Paris.
func officeHours(t *testing.T) alert.Activation {
	return alert.Activation{TimeZone: "Europe/Paris", Days: weekdays, Hours: hours(t, "08:00-18:00")}
}

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

// In 2026 Paris moves to summer time on Sunday 29 March (02:00 CET ->
// 03:00 CEST) and back on Sunday 25 October (03:00 CEST -> 02:00 CET).
func TestActivationAcrossDST(t *testing.T) {
	everyDay := alert.Activation{TimeZone: "Europe/Paris", Hours: hours(t, "08:00-18:00")}
	tests := []struct {
		name string
		act  alert.Activation
		at   string // UTC
		want bool
	}{
		{"Fri before spring change, 07:59 CET", officeHours(t), "2026-03-27 06:59", false},
		{"Fri before spring change, 08:00 CET", officeHours(t), "2026-03-27 07:00", true},
		{"Fri before spring change, 17:59 CET", officeHours(t), "2026-03-27 16:59", true},
		{"Fri before spring change, 18:00 CET", officeHours(t), "2026-03-27 17:00", false},
		{"spring DST Sunday, 01:59 CET", officeHours(t), "2026-03-29 00:59", false},
		{"spring DST Sunday, 03:00 CEST", officeHours(t), "2026-03-29 01:00", false},
		{"spring DST Sunday, 12:00 CEST", officeHours(t), "2026-03-29 10:00", false},
		{"Mon after spring change, 07:59 CEST", officeHours(t), "2026-03-30 05:59", false},
		{"Mon after spring change, 08:00 CEST", officeHours(t), "2026-03-30 06:00", true},
		{"Mon after spring change, 17:59 CEST", officeHours(t), "2026-03-30 15:59", true},
		{"Mon after spring change, 18:00 CEST", officeHours(t), "2026-03-30 16:00", false},
		{"Fri before autumn change, 08:00 CEST", officeHours(t), "2026-10-23 06:00", true},
		{"Fri before autumn change, 18:00 CEST", officeHours(t), "2026-10-23 16:00", false},
		{"autumn DST Sunday, first 02:30 CEST", officeHours(t), "2026-10-25 00:30", false},
		{"autumn DST Sunday, second 02:30 CET", officeHours(t), "2026-10-25 01:30", false},
		{"autumn DST Sunday, 10:00 CET", officeHours(t), "2026-10-25 09:00", false},
		{"Mon after autumn change, 07:59 CET", officeHours(t), "2026-10-26 06:59", false},
		{"Mon after autumn change, 08:00 CET", officeHours(t), "2026-10-26 07:00", true},
		{"Mon after autumn change, 17:59 CET", officeHours(t), "2026-10-26 16:59", true},
		{"Mon after autumn change, 18:00 CET", officeHours(t), "2026-10-26 17:00", false},
		{"every day: spring DST Sunday, 07:59 CEST", everyDay, "2026-03-29 05:59", false},
		{"every day: spring DST Sunday, 08:00 CEST", everyDay, "2026-03-29 06:00", true},
		{"every day: autumn DST Sunday, 07:59 CET", everyDay, "2026-10-25 06:59", false},
		{"every day: autumn DST Sunday, 08:00 CET", everyDay, "2026-10-25 07:00", true},
		{"always", alert.Activation{}, "2026-03-29 01:30", true},
		{"whole days: Sunday", alert.Activation{TimeZone: "Europe/Paris", Days: []time.Weekday{time.Sunday}}, "2026-03-29 22:30", false},
		{"whole days: Sunday, 23:59 CEST", alert.Activation{TimeZone: "Europe/Paris", Days: []time.Weekday{time.Sunday}}, "2026-03-29 21:59", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEval(t, verifyRule(func(r *alert.Rule) { r.Activation = tt.act }), &clock{})
			if got := e.Active(utc(tt.at)); got != tt.want {
				t.Errorf("Active(%s UTC = %s) = %v, want %v", tt.at, utc(tt.at).In(paris).Format("Mon 15:04 MST"), got, tt.want)
			}
		})
	}
}

// TestActiveMinutesOnDSTDays counts the minutes a window is open during
// a local day: a wall-clock window loses or gains the hour the clocks skip
// or repeat.
func TestActiveMinutesOnDSTDays(t *testing.T) {
	nightly := alert.Activation{TimeZone: "Europe/Paris", Hours: hours(t, "02:00-03:00")}
	tests := []struct {
		name string
		act  alert.Activation
		day  string // local date
		want int
	}{
		{"office hours, Friday before spring", officeHours(t), "2026-03-27", 600},
		{"office hours, spring DST Sunday", officeHours(t), "2026-03-29", 0},
		{"office hours, Monday after spring", officeHours(t), "2026-03-30", 600},
		{"office hours, autumn DST Sunday", officeHours(t), "2026-10-25", 0},
		{"office hours, Monday after autumn", officeHours(t), "2026-10-26", 600},
		{"02:00-03:00, ordinary day", nightly, "2026-03-28", 60},
		{"02:00-03:00, skipped hour", nightly, "2026-03-29", 0},
		{"02:00-03:00, repeated hour", nightly, "2026-10-25", 120},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEval(t, verifyRule(func(r *alert.Rule) { r.Activation = tt.act }), &clock{})
			d, err := time.ParseInLocation("2006-01-02", tt.day, paris)
			if err != nil {
				t.Fatal(err)
			}
			next := d.AddDate(0, 0, 1)
			n := 0
			for m := d; m.Before(next); m = m.Add(time.Minute) {
				n += bool2int(e.Active(m))
			}
			if n != tt.want {
				t.Errorf("%d minutes active, want %d (day of %s)", n, tt.want, next.Sub(d))
			}
		})
	}
}

func bool2int(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestHeldNoticesAcrossDST drives an office-hours rule minute by minute
// across the DST weekends: notices that fall outside the window wait for
// it to open, at 08:00 local whatever the offset.
func TestHeldNoticesAcrossDST(t *testing.T) {
	tests := []struct {
		name                   string
		start, end             string // UTC, observed every minute
		breachFrom, breachTill string // UTC
		want                   []string
	}{
		{"fails on the spring DST Sunday, told Monday 08:00 CEST",
			"2026-03-28 12:00", "2026-03-30 07:30", "2026-03-29 08:00", "2026-03-31 00:00",
			[]string{"Mon 30 06:00Z firing #1 [ops]", "Mon 30 06:30Z escalation #1 [boss]", "Mon 30 07:00Z repeat #1.1 [ops,boss]"}},
		{"fails in the repeated hour of the autumn DST Sunday, told Monday 08:00 CET",
			"2026-10-24 12:00", "2026-10-26 08:30", "2026-10-25 01:30", "2026-10-27 00:00",
			[]string{"Mon 26 07:00Z firing #1 [ops]", "Mon 26 07:30Z escalation #1 [boss]", "Mon 26 08:00Z repeat #1.1 [ops,boss]"}},
		{"recovers Friday night, recovery told Monday 08:00 CET; the repeat due after hours is not",
			"2026-10-23 14:00", "2026-10-26 08:00", "2026-10-23 15:00", "2026-10-23 17:00",
			[]string{"Fri 23 15:01Z firing #1 [ops]", "Fri 23 15:31Z escalation #1 [boss]", "Mon 26 07:00Z resolved #1 [ops,boss]"}},
		{"a weekend incident over before Monday is not told",
			"2026-03-28 08:00", "2026-03-30 08:00", "2026-03-28 10:00", "2026-03-29 10:00",
			nil},
		{"a repeat due overnight goes out once when the window opens",
			"2026-03-30 15:00", "2026-03-31 06:30", "2026-03-30 15:00", "2026-04-01 00:00",
			[]string{"Mon 30 15:01Z firing #1 [ops]", "Mon 30 15:31Z escalation #1 [boss]", "Tue 31 06:00Z repeat #1.1 [ops,boss]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{}
			e := newEval(t, verifyRule(func(r *alert.Rule) {
				r.Activation = officeHours(t)
				r.Repeat = alert.Repeat{Interval: time.Hour}
				r.Escalation = &alert.Escalation{Contact: "boss", After: 30 * time.Minute}
			}), c)
			var (
				st  alert.State
				got []alert.Notice
			)
			from, till := utc(tt.breachFrom), utc(tt.breachTill)
			for m := utc(tt.start); !m.After(utc(tt.end)); m = m.Add(time.Minute) {
				c.now = m
				got = append(got, step(e, &st, m, breachChar(!m.Before(from) && m.Before(till)))...)
			}
			equal(t, briefAt(got), tt.want)
		})
	}
}

func breachChar(b bool) rune {
	if b {
		return 'x'
	}
	return '.'
}

// briefAt is brief with UTC times.
func briefAt(ns []alert.Notice) []string {
	var out []string
	for i, s := range brief(ns, time.Time{}) {
		_, rest, _ := cutWord(s)
		out = append(out, fmt.Sprintf("%s %s", ns[i].At.UTC().Format("Mon 02 15:04Z"), rest))
	}
	return out
}

func cutWord(s string) (string, string, bool) {
	for i := range s {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
