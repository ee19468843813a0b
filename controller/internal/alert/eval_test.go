package alert_test

import (
	"errors"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/alert"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

func TestThresholdDuration(t *testing.T) {
	tests := []struct {
		name  string
		rule  alert.Rule
		steps string
		want  []string
	}{
		{"15m then two evaluations", cpuRule(15*time.Minute, 2), repeatStr("x", 20),
			[]string{"16m firing #1 []"}},
		{"15m, one evaluation", cpuRule(15*time.Minute, 1), repeatStr("x", 20),
			[]string{"15m firing #1 []"}},
		{"not long enough", cpuRule(15*time.Minute, 2), repeatStr("x", 16),
			nil},
		{"a dip restarts the duration", cpuRule(15*time.Minute, 2), repeatStr("x", 8) + "." + repeatStr("x", 17),
			[]string{"25m firing #1 []"}},
		{"a gap of 3 intervals breaks continuity", cpuRule(15*time.Minute, 2), repeatStr("x", 10) + "  " + repeatStr("x", 17),
			[]string{"28m firing #1 []"}},
		{"a gap of 2 intervals does not", cpuRule(15*time.Minute, 2), repeatStr("x", 10) + " " + repeatStr("x", 7),
			[]string{"16m firing #1 []"}},
		{"no duration", cpuRule(0, 2), "xxx",
			[]string{"1m firing #1 []"}},
		{"recovery needs no duration", cpuRule(15*time.Minute, 2), repeatStr("x", 17) + "..",
			[]string{"16m firing #1 []", "18m resolved #1 []"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			equal(t, runSteps(t, tt.rule, tt.steps), tt.want)
		})
	}
}

func TestConsecutiveDetections(t *testing.T) {
	tests := []struct {
		name  string
		n     int
		steps string
		want  []string
	}{
		{"default 2, failure and recovery", 0, "x.x.xx.x..xx",
			[]string{"5m firing #1 [ops]", "9m resolved #1 [ops]", "11m firing #2 [ops]"}},
		{"one breach is not enough", 2, "x.x.x.x.", nil},
		{"one clear is not a recovery", 2, "xx.x.x.x",
			[]string{"1m firing #1 [ops]"}},
		{"three", 3, "xx.xxx..x...",
			[]string{"5m firing #1 [ops]", "11m resolved #1 [ops]"}},
		{"one", 1, "x.",
			[]string{"0m firing #1 [ops]", "1m resolved #1 [ops]"}},
		{"ticks do not count as evaluations", 2, "x  x  .  .",
			[]string{"3m firing #1 [ops]", "9m resolved #1 [ops]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			equal(t, runSteps(t, verifyRule(func(r *alert.Rule) { r.Consecutive = tt.n }), tt.steps), tt.want)
		})
	}
}

func TestRepeats(t *testing.T) {
	tests := []struct {
		name   string
		repeat alert.Repeat
		steps  string
		want   []string
	}{
		{"three times", alert.Repeat{Interval: 10 * time.Minute, Count: 3}, "xx" + repeatStr(" ", 60),
			[]string{"1m firing #1 [ops]", "11m repeat #1.1 [ops]", "21m repeat #1.2 [ops]", "31m repeat #1.3 [ops]"}},
		{"permanently", alert.Repeat{Interval: 20 * time.Minute}, "xx" + repeatStr("x", 100),
			[]string{"1m firing #1 [ops]", "21m repeat #1.1 [ops]", "41m repeat #1.2 [ops]", "61m repeat #1.3 [ops]",
				"81m repeat #1.4 [ops]", "101m repeat #1.5 [ops]"}},
		{"none", alert.Repeat{}, "xx" + repeatStr(" ", 60),
			[]string{"1m firing #1 [ops]"}},
		{"recovery stops them", alert.Repeat{Interval: 10 * time.Minute}, "xx" + repeatStr(" ", 12) + ".." + repeatStr(" ", 30),
			[]string{"1m firing #1 [ops]", "11m repeat #1.1 [ops]", "15m resolved #1 [ops]"}},
		{"a new incident counts again", alert.Repeat{Interval: 5 * time.Minute, Count: 1}, "xx" + repeatStr(" ", 8) + "..xx" + repeatStr(" ", 10),
			[]string{"1m firing #1 [ops]", "6m repeat #1.1 [ops]", "11m resolved #1 [ops]", "13m firing #2 [ops]", "18m repeat #2.1 [ops]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			equal(t, runSteps(t, verifyRule(func(r *alert.Rule) { r.Repeat = tt.repeat }), tt.steps), tt.want)
		})
	}
}

func TestAckAndEscalation(t *testing.T) {
	withEsc := func(r *alert.Rule) {
		r.Repeat = alert.Repeat{Interval: 10 * time.Minute, Count: 5}
		r.Escalation = &alert.Escalation{Contact: "boss", After: 25 * time.Minute}
	}
	steps := "xx" + repeatStr(" ", 40) + ".." + repeatStr(" ", 5)
	tests := []struct {
		name  string
		ackAt int // minute of the ack; 0 for none
		want  []string
	}{
		{"escalation after 25m unacknowledged; repeats and recovery reach both", 0,
			[]string{"1m firing #1 [ops]", "11m repeat #1.1 [ops]", "21m repeat #1.2 [ops]",
				"26m escalation #1 [boss]", "31m repeat #1.3 [ops,boss]", "41m repeat #1.4 [ops,boss]",
				"43m resolved #1 [ops,boss]"}},
		{"ack stops repeats and escalation, recovery is notified", 15,
			[]string{"1m firing #1 [ops]", "11m repeat #1.1 [ops]", "43m resolved #1 [ops]"}},
		{"ack after escalation stops repeats", 30,
			[]string{"1m firing #1 [ops]", "11m repeat #1.1 [ops]", "21m repeat #1.2 [ops]",
				"26m escalation #1 [boss]", "43m resolved #1 [ops,boss]"}},
		{"ack on the escalation minute wins", 26,
			[]string{"1m firing #1 [ops]", "11m repeat #1.1 [ops]", "21m repeat #1.2 [ops]", "43m resolved #1 [ops]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{}
			e := newEval(t, verifyRule(withEsc), c)
			var st alert.State
			hook := func(m int) {
				if m == tt.ackAt && m > 0 {
					if err := e.Ack(&st, 1, "alice"); err != nil {
						t.Fatal(err)
					}
				}
			}
			equal(t, brief(script(t, e, &st, c, t0, steps, hook), t0), tt.want)
		})
	}
}

func TestAckErrors(t *testing.T) {
	c := &clock{}
	e := newEval(t, verifyRule(nil), c)
	var st alert.State
	if err := e.Ack(&st, 1, "alice"); !errors.Is(err, alert.ErrNoAlert) {
		t.Errorf("ack before firing: %v, want ErrNoAlert", err)
	}
	script(t, e, &st, c, t0, "xx", nil)
	if err := e.Ack(&st, 2, "alice"); !errors.Is(err, alert.ErrNoAlert) {
		t.Errorf("ack of another incident: %v, want ErrNoAlert", err)
	}
	if err := e.Ack(&st, 1, "alice"); err != nil {
		t.Fatal(err)
	}
	ackedAt := st.AckedAt
	c.now = c.now.Add(time.Minute)
	if err := e.Ack(&st, 1, "bob"); err != nil {
		t.Errorf("second ack: %v", err)
	}
	if st.AckedBy != "alice" || !st.AckedAt.Equal(ackedAt) {
		t.Errorf("second ack changed the record: %s at %s", st.AckedBy, st.AckedAt)
	}
	script(t, e, &st, c, c.now.Add(time.Minute), "..", nil)
	if err := e.Ack(&st, 1, "alice"); !errors.Is(err, alert.ErrNoAlert) {
		t.Errorf("ack after recovery: %v, want ErrNoAlert", err)
	}
}

func TestDisabledRule(t *testing.T) {
	c := &clock{}
	e := newEval(t, verifyRule(func(r *alert.Rule) { r.Enabled = false }), c)
	var st alert.State
	if got := script(t, e, &st, c, t0, "xxxxx", nil); len(got) != 0 {
		t.Errorf("disabled rule notified: %v", brief(got, t0))
	}
	if st.Firing || !st.LastAt.IsZero() {
		t.Errorf("disabled rule changed its state: %+v", st)
	}
}

func TestIdempotentNotices(t *testing.T) {
	c := &clock{}
	rule := verifyRule(func(r *alert.Rule) { r.Repeat = alert.Repeat{Interval: 5 * time.Minute, Count: 2} })
	e := newEval(t, rule, c)

	// The same observation twice, and a tick at the same time: one notice.
	var st alert.State
	script(t, e, &st, c, t0, "x", nil)
	at := t0.Add(time.Minute)
	c.now = at
	first := step(e, &st, at, 'x')
	again := append(step(e, &st, at, 'x'), e.Tick(&st)...)
	if len(first) != 1 || len(again) != 0 {
		t.Fatalf("first %v, again %v: want one notice, then none", brief(first, t0), brief(again, t0))
	}
	// An older observation is a replay too.
	if got := step(e, &st, t0, '.'); len(got) != 0 || !st.Firing {
		t.Fatalf("replayed older observation: %v", brief(got, t0))
	}

	// Re-running the same history from the same state gives the same ids:
	// a crash between computing and storing notices is harmless.
	steps := "xx" + repeatStr(" ", 12) + "..xx" + repeatStr(" ", 6)
	run := func() []alert.Notice {
		var st alert.State
		return script(t, e, &st, c, t0, steps, nil)
	}
	a, b := run(), run()
	if len(a) != 6 {
		t.Fatalf("want 6 notices, got %v", brief(a, t0))
	}
	seen := map[string]bool{}
	for i := range a {
		if a[i].ID != b[i].ID || a[i].AlertID != b[i].AlertID {
			t.Errorf("notice %d: ids %s/%s then %s/%s", i, a[i].ID, a[i].AlertID, b[i].ID, b[i].AlertID)
		}
		if seen[a[i].ID] {
			t.Errorf("notice %d: id %s used twice", i, a[i].ID)
		}
		seen[a[i].ID] = true
	}
	if a[0].AlertID != a[3].AlertID || a[0].AlertID == a[4].AlertID {
		t.Errorf("alert ids: an incident shares one, the next has another: %s %s %s", a[0].AlertID, a[3].AlertID, a[4].AlertID)
	}

	// State lost (incident numbering restarts): the new incident starts at
	// another time, so its ids differ from the first incident's.
	var fresh alert.State
	later := script(t, e, &fresh, c, t0.Add(time.Hour), "xx", nil)
	if len(later) != 1 || later[0].Incident != 1 || later[0].ID == a[0].ID {
		t.Errorf("after state loss: %v id %s, first incident id %s", brief(later, t0), later[0].ID, a[0].ID)
	}

	// Another target, same history: other ids.
	var other alert.State
	oe := e.Observe(&other, alert.Observation{At: t0, Target: alert.Target{Agent: "ag-2"}, Breach: true})
	oe = append(oe, e.Observe(&other, alert.Observation{At: t0.Add(time.Minute), Target: alert.Target{Agent: "ag-2"}, Breach: true})...)
	if len(oe) != 1 || oe[0].ID == a[0].ID {
		t.Errorf("other target: %v id %s", brief(oe, t0), oe[0].ID)
	}
}

func TestSummaries(t *testing.T) {
	c := &clock{}
	cpu := cpuRule(15*time.Minute, 2)
	cpu.Repeat = alert.Repeat{Interval: 5 * time.Minute, Count: 3}
	cpu.Escalation = &alert.Escalation{Contact: "boss", After: 10 * time.Minute}
	e := newEval(t, cpu, c)
	var st alert.State
	ns := script(t, e, &st, c, t0, repeatStr("x", 27)+"..", nil)
	var got []string
	for _, n := range ns {
		got = append(got, n.Summary)
	}
	equal(t, got, []string{
		"cpu 97.2% > 95% for 15m on web-01",
		"repeat 1/3: cpu 97.2% > 95% for 15m on web-01",
		"repeat 2/3: cpu 97.2% > 95% for 15m on web-01",
		"not acknowledged after 10m: cpu 97.2% > 95% for 15m on web-01",
		"resolved: cpu 40.0% on web-01 (rule cpu > 95% for 15m)",
	})

	v := newEval(t, verifyRule(nil), c)
	var vs alert.State
	ns = script(t, v, &vs, c, t0, "xx..", nil)
	got = nil
	for _, n := range ns {
		got = append(got, n.Summary)
	}
	equal(t, got, []string{
		"post-maintenance verification failed: nginx down on web-01",
		"resolved: post-maintenance verification passed on web-01 (rule post-maintenance verification failed)",
	})
}

// TestAckWhileHeld: an alert acknowledged before its held firing notice
// went out is never notified, nor is its recovery.
func TestAckWhileHeld(t *testing.T) {
	c := &clock{}
	e := newEval(t, verifyRule(func(r *alert.Rule) {
		r.Activation = officeHours(t)
		r.Escalation = &alert.Escalation{Contact: "boss", After: 10 * time.Minute}
	}), c)
	var st alert.State
	sat := utc("2026-03-28 10:00")
	got := script(t, e, &st, c, sat, "xx", nil)
	if err := e.Ack(&st, 1, "alice"); err != nil {
		t.Fatal(err)
	}
	c.now = utc("2026-03-30 06:00") // Monday 08:00 CEST
	got = append(got, e.Tick(&st)...)
	got = append(got, script(t, e, &st, c, c.now.Add(time.Minute), "xx..", nil)...)
	equal(t, briefAt(got), nil)
}

func TestDiskSummary(t *testing.T) {
	c := &clock{}
	e := newEval(t, alert.DefaultRules("acme")[1], c)
	states := map[string]*alert.State{}
	var got []string
	for m := range 2 {
		c.now = t0.Add(time.Duration(m) * time.Minute)
		for _, o := range e.Metrics(web01, c.now, &agentv1.Metrics{Volumes: []*agentv1.Volume{
			{Mount: "C:", Total: 1000, Free: 79}, {Mount: "D:", Total: 1000, Free: 500}}}) {
			st := states[o.Target.Key()]
			if st == nil {
				st = &alert.State{}
				states[o.Target.Key()] = st
			}
			for _, n := range e.Observe(st, o) {
				got = append(got, n.Target.Key()+" "+n.Summary)
			}
		}
	}
	equal(t, got, []string{"ag-web01|C: disk free C: 7.9% < 10% on web-01"})
	if len(states) != 2 {
		t.Errorf("want a state per volume, got %d", len(states))
	}
}
