package alert_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Paris on any machine

	"go.uber.org/goleak"

	"github.com/vigil-rmm/vigil/controller/internal/alert"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// t0 is a Monday morning in November, inside 08:00-18:00 in Paris.
var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// clock is a fake clock.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

var web01 = alert.Target{Agent: "ag-web01", Host: "web-01"}

func newEval(t *testing.T, r alert.Rule, c *clock) *alert.Evaluator {
	t.Helper()
	e, err := alert.New(r, alert.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// verifyRule is a boolean rule with no parameters of its own: the tests
// of the shared machinery use it.
func verifyRule(mod func(*alert.Rule)) alert.Rule {
	r := alert.Rule{ID: "r1", Tenant: "acme", Kind: alert.KindVerifyFailed, Enabled: true, Contacts: []string{"ops"}}
	if mod != nil {
		mod(&r)
	}
	return r
}

func cpuRule(forDur time.Duration, n int) alert.Rule {
	return alert.Rule{ID: "cpu", Tenant: "acme", Kind: alert.KindMetric, Enabled: true, Consecutive: n,
		Metric: &alert.MetricParams{Metric: alert.MetricCPU, Op: alert.OpAbove, Threshold: 95, For: forDur}}
}

// script drives an evaluator minute by minute from start: for each
// character, 'x' observes a breach, '.' a clear, ' ' observes nothing and
// only ticks. Metric rules see 97.2 for a breach and 40 for a clear.
// hook, if set, runs before each minute's evaluation.
func script(t *testing.T, e *alert.Evaluator, st *alert.State, c *clock, start time.Time, steps string,
	hook func(minute int)) []alert.Notice {
	t.Helper()
	var out []alert.Notice
	for i, ch := range steps {
		c.now = start.Add(time.Duration(i) * time.Minute)
		if hook != nil {
			hook(i)
		}
		out = append(out, step(e, st, c.now, ch)...)
	}
	return out
}

// runSteps scripts a new evaluator of r from a new state at t0 and
// renders its notices with brief.
func runSteps(t *testing.T, r alert.Rule, steps string) []string {
	t.Helper()
	c := &clock{}
	e := newEval(t, r, c)
	var st alert.State
	return brief(script(t, e, &st, c, t0, steps, nil), t0)
}

func step(e *alert.Evaluator, st *alert.State, at time.Time, ch rune) []alert.Notice {
	o := alert.Observation{At: at, Target: web01, Breach: ch == 'x', Value: 40,
		Detail: "post-maintenance verification passed"}
	if ch == 'x' {
		o.Value, o.Detail = 97.2, "post-maintenance verification failed: nginx down"
	}
	if ch == ' ' {
		return e.Tick(st)
	}
	return e.Observe(st, o)
}

// brief renders notices as "<minutes after start> <kind> #<incident>",
// with ".<n>" for a repeat and the contacts in brackets.
func brief(ns []alert.Notice, start time.Time) []string {
	var out []string
	for _, n := range ns {
		s := fmt.Sprintf("%s %s #%d", clockOffset(n.At.Sub(start)), n.Kind, n.Incident)
		if n.Kind == alert.NoticeRepeat {
			s += fmt.Sprintf(".%d", n.Repeat)
		}
		out = append(out, s+" ["+strings.Join(n.Contacts, ",")+"]")
	}
	return out
}

func clockOffset(d time.Duration) string { return fmt.Sprintf("%dm", int(d/time.Minute)) }

func equal(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// repeatStr returns s n times.
func repeatStr(s string, n int) string { return strings.Repeat(s, n) }
