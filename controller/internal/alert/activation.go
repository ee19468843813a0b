package alert

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Activation says when a rule may notify: on Days, during Hours, as read
// on a wall clock in TimeZone. An empty Activation (no days, no hours)
// means always. No days with hours means those hours every day; days
// without hours means those whole days.
//
// Times are wall-clock times, so a daylight-saving change moves the
// window in UTC, never on the wall: 08:00-18:00 in Europe/Paris is
// 07:00-17:00 UTC in winter and 06:00-16:00 UTC in summer. On the night
// of a change a window covering the skipped hour (02:00-03:00 on the last
// Sunday of March) is that much shorter, and one covering the repeated
// hour (02:00-03:00 on the last Sunday of October) that much longer.
type Activation struct {
	// TimeZone is the IANA zone the days and hours are read in; the
	// manage API fills it with the tenant's zone. Required when Days or
	// Hours are set.
	TimeZone string
	// Days are the weekdays the rule may notify on.
	Days []time.Weekday
	// Hours are the times of day the rule may notify in.
	Hours []HourRange
}

// HourRange is [Start, End) in minutes after local midnight; End may be
// 1440 (24:00). A range never wraps past midnight: a night watch is
// 00:00-06:00 plus 22:00-24:00.
type HourRange struct {
	Start int
	End   int
}

// String returns "08:00-18:00".
func (h HourRange) String() string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", h.Start/60, h.Start%60, h.End/60, h.End%60)
}

// ParseHours parses "08:00-18:00" (End may be "24:00").
func ParseHours(s string) (HourRange, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return HourRange{}, fmt.Errorf("hours %q: want HH:MM-HH:MM", s)
	}
	start, err := parseClock(from)
	if err != nil {
		return HourRange{}, fmt.Errorf("hours %q: %w", s, err)
	}
	end, err := parseClock(to)
	if err != nil {
		return HourRange{}, fmt.Errorf("hours %q: %w", s, err)
	}
	return HourRange{Start: start, End: end}, nil
}

func parseClock(s string) (int, error) {
	hs, ms, ok := strings.Cut(strings.TrimSpace(s), ":")
	h, herr := strconv.Atoi(hs)
	m, merr := strconv.Atoi(ms)
	if !ok || herr != nil || merr != nil || len(ms) != 2 {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	if h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("%q is not a time of day", s)
	}
	return h*60 + m, nil
}

// Always reports whether a is empty: the rule may always notify.
func (a Activation) Always() bool { return len(a.Days) == 0 && len(a.Hours) == 0 }

// window is a validated Activation.
type window struct {
	always bool
	loc    *time.Location
	days   [7]bool
	hours  []HourRange
}

// compile validates a and returns it ready for active; its errors name
// fields under "activation".
func (a Activation) compile() (window, []error) {
	if a.Always() {
		return window{always: true}, nil
	}
	var errs []error
	w := window{hours: a.Hours}
	if a.TimeZone == "" {
		errs = append(errs, &FieldError{"activation.time_zone", "required with days or hours: an IANA zone such as Europe/Paris"})
	} else if loc, err := time.LoadLocation(a.TimeZone); err != nil || a.TimeZone == "Local" {
		errs = append(errs, &FieldError{"activation.time_zone", fmt.Sprintf("%q is not an IANA time zone (for example Europe/Paris)", a.TimeZone)})
	} else {
		w.loc = loc
	}
	if len(a.Days) == 0 {
		w.days = [7]bool{true, true, true, true, true, true, true}
	}
	for i, d := range a.Days {
		switch {
		case d < time.Sunday || d > time.Saturday:
			errs = append(errs, &FieldError{fmt.Sprintf("activation.days[%d]", i), fmt.Sprintf("%d is not a weekday (0 Sunday to 6 Saturday)", d)})
		case w.days[d]:
			errs = append(errs, &FieldError{fmt.Sprintf("activation.days[%d]", i), d.String() + " is listed twice"})
		default:
			w.days[d] = true
		}
	}
	for i, h := range a.Hours {
		if h.Start < 0 || h.End > 24*60 || h.Start >= h.End {
			errs = append(errs, &FieldError{fmt.Sprintf("activation.hours[%d]", i),
				fmt.Sprintf("%s: want a start before the end, within 00:00-24:00 (split a range that crosses midnight in two)", h)})
		}
	}
	return w, errs
}

// active reports whether t falls in the window.
func (w window) active(t time.Time) bool {
	if w.always {
		return true
	}
	lt := t.In(w.loc)
	if !w.days[lt.Weekday()] {
		return false
	}
	if len(w.hours) == 0 {
		return true
	}
	m := lt.Hour()*60 + lt.Minute()
	for _, h := range w.hours {
		if m >= h.Start && m < h.End {
			return true
		}
	}
	return false
}
