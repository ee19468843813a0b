package alert

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// DefaultSampleInterval is the agents' metrics interval.
const DefaultSampleInterval = time.Minute

// Options tune an Evaluator.
type Options struct {
	// Now is the clock for Tick and Ack; nil means time.Now.
	Now func() time.Time
	// SampleInterval is the expected time between metric samples; a gap
	// longer than two intervals breaks a metric's "for" duration. 0 means
	// DefaultSampleInterval.
	SampleInterval time.Duration
	// Quiet, if set, reports whether notices about a target are withheld at
	// a time (its agent is under maintenance). A quiet target is treated as
	// a time outside the activation window: its firing notice is held and
	// sent once it is no longer quiet, if still firing and not
	// acknowledged; an incident that begins and ends while quiet is never
	// notified.
	Quiet func(t Target, at time.Time) bool
}

// Observation is one evaluation of a rule's condition on one target. The
// functions of observe.go make them from what agents report.
type Observation struct {
	// At is when it was made, on the controller's clock; zero means now.
	// An observation not after the last one applied is a replay and is
	// ignored.
	At time.Time
	// Target is what it is about.
	Target Target
	// Breach is true when the condition holds (for a metric: this sample
	// crosses the threshold; the duration is the Evaluator's business).
	Breach bool
	// Value is the sample, or the age in seconds for the age kinds.
	Value float64
	// Detail is one line describing the observation for notices of
	// non-metric kinds ("offline for 12m (limit 10m)").
	Detail string
}

// State is the alert state of one rule on one target. It is plain data:
// the store persists it between evaluations (a later
// proto/vigil/store/v1 AlertState mirrors it), and an Evaluator only
// reads and updates it.
type State struct {
	// Target is the target of the last observation.
	Target Target
	// LastAt is the time of the last observation applied.
	LastAt time.Time
	// Firing is the confirmed state.
	Firing bool
	// Streak counts consecutive evaluations that disagree with Firing.
	Streak int
	// BreachSince starts the current unbroken run of breaching samples
	// (metric rules); zero when the last sample did not breach.
	BreachSince time.Time
	// LastSample is the time of the last metric sample.
	LastSample time.Time
	// Value and Detail are the last observation's.
	Value  float64
	Detail string

	// Incident numbers the current (or last) incident, from 1.
	Incident uint64
	// Since is when the current incident was confirmed.
	Since time.Time
	// Notified is when its firing notice went out; zero while held.
	Notified time.Time
	// LastSent is when its last firing or repeat notice went out.
	LastSent time.Time
	// Repeats counts the repeat notices sent.
	Repeats int
	// Escalated is set once the escalation notice went out.
	Escalated bool
	// AckedAt and AckedBy record the acknowledgement.
	AckedAt time.Time
	AckedBy string

	// Held is the recovery of a notified incident, waiting for the
	// activation window to open.
	Held *HeldResolve
}

// HeldResolve is a recovery not yet notified.
type HeldResolve struct {
	Incident  uint64
	Since     time.Time
	At        time.Time
	Escalated bool
	Value     float64
	Detail    string
}

// Evaluator runs one rule's state machine. It holds no per-target state,
// so one Evaluator serves every target of its rule; it is safe for
// concurrent use on different States.
type Evaluator struct {
	rule     Rule
	win      window
	now      func() time.Time
	interval time.Duration
	quiet    func(Target, time.Time) bool
}

// New validates r and returns its Evaluator.
func New(r Rule, opts Options) (*Evaluator, error) {
	r = r.clone()
	w, errs := r.compile()
	if len(errs) > 0 {
		return nil, fmt.Errorf("rule %q: %w", r.ID, errors.Join(errs...))
	}
	e := &Evaluator{rule: r, win: w, now: opts.Now, interval: opts.SampleInterval, quiet: opts.Quiet}
	if e.now == nil {
		e.now = time.Now
	}
	if e.interval <= 0 {
		e.interval = DefaultSampleInterval
	}
	return e, nil
}

// Rule returns a copy of the rule.
func (e *Evaluator) Rule() Rule { return e.rule.clone() }

// Active reports whether the rule may notify at t.
func (e *Evaluator) Active(t time.Time) bool { return e.win.active(t) }

// Observe applies one observation to st and returns the notices due at
// o.At, in order. A disabled rule, or an observation not after the last
// one applied, changes nothing and returns nothing.
func (e *Evaluator) Observe(st *State, o Observation) []Notice {
	if !e.rule.Enabled {
		return nil
	}
	if o.At.IsZero() {
		o.At = e.now()
	}
	if !o.At.After(st.LastAt) {
		return nil
	}
	st.LastAt = o.At
	st.Target = o.Target
	st.Value, st.Detail = o.Value, o.Detail
	if e.holds(st, o) == st.Firing {
		st.Streak = 0
	} else {
		st.Streak++
	}
	if st.Streak >= e.rule.consecutive() {
		st.Streak = 0
		if st.Firing {
			e.resolve(st, o.At)
		} else {
			e.fire(st, o.At)
		}
	}
	return e.due(st, o.At)
}

// Tick runs st's timers (repeats, escalation, notices held outside the
// activation times) at the clock's now, between observations. Calling it
// again at the same time returns nothing.
func (e *Evaluator) Tick(st *State) []Notice {
	if !e.rule.Enabled {
		return nil
	}
	return e.due(st, e.now())
}

// Ack acknowledges incident number incident of st: no more repeats and
// no escalation; the recovery is still notified. Acknowledging it again
// is not an error. ErrNoAlert means the incident is not the one firing.
func (e *Evaluator) Ack(st *State, incident uint64, by string) error {
	if !st.Firing || incident != st.Incident {
		return fmt.Errorf("rule %q incident %d on %s: %w", e.rule.ID, incident, st.Target.host(), ErrNoAlert)
	}
	if st.AckedAt.IsZero() {
		st.AckedAt, st.AckedBy = e.now(), by
	}
	return nil
}

// Summary is the line a firing notice about st's current incident carries,
// from its latest value and detail.
func (e *Evaluator) Summary(st *State) string {
	return e.summary(NoticeFiring, st.Target, st.Value, st.Detail, 0)
}

// holds evaluates the condition. For a metric rule, the condition holds
// once samples have breached without interruption for the rule's For; a
// sample that does not breach, or a gap longer than two sample
// intervals, starts the run again.
func (e *Evaluator) holds(st *State, o Observation) bool {
	if e.rule.Kind != KindMetric {
		return o.Breach
	}
	if !st.LastSample.IsZero() && o.At.Sub(st.LastSample) > 2*e.interval {
		st.BreachSince = time.Time{}
	}
	st.LastSample = o.At
	if !o.Breach {
		st.BreachSince = time.Time{}
		return false
	}
	if st.BreachSince.IsZero() {
		st.BreachSince = o.At
	}
	return o.At.Sub(st.BreachSince) >= e.rule.Metric.For
}

// fire opens a new incident; due notifies it.
func (e *Evaluator) fire(st *State, at time.Time) {
	st.Firing = true
	st.Incident++
	st.Since = at
	st.Notified, st.LastSent, st.Repeats, st.Escalated = time.Time{}, time.Time{}, 0, false
	st.AckedAt, st.AckedBy = time.Time{}, ""
}

// resolve closes the incident. A recovery of an incident nobody was told
// about (held outside the activation times, or acknowledged before it was
// told) is not notified; otherwise it is held for due.
func (e *Evaluator) resolve(st *State, at time.Time) {
	st.Firing = false
	if st.Notified.IsZero() {
		return
	}
	st.Held = &HeldResolve{Incident: st.Incident, Since: st.Since, At: at, Escalated: st.Escalated,
		Value: st.Value, Detail: st.Detail}
}

// due returns the notices due at now and records them in st. Outside the
// activation times nothing is due: a firing or recovery notice waits for
// the window to open, a repeat or escalation that fell due meanwhile goes
// out once when it opens.
func (e *Evaluator) due(st *State, now time.Time) []Notice {
	if !e.win.active(now) || (e.quiet != nil && e.quiet(st.Target, now)) {
		return nil
	}
	var out []Notice
	if h := st.Held; h != nil {
		st.Held = nil
		out = append(out, e.notice(st.Target, NoticeResolved, h.Incident, h.Since, 0, now,
			e.contacts(h.Escalated), h.Value, h.Detail))
	}
	if !st.Firing || !st.AckedAt.IsZero() {
		return out
	}
	if st.Notified.IsZero() {
		st.Notified, st.LastSent = now, now
		return append(out, e.notice(st.Target, NoticeFiring, st.Incident, st.Since, 0, now,
			e.contacts(false), st.Value, st.Detail))
	}
	if rp := e.rule.Repeat; rp.Interval > 0 && (rp.Count == 0 || st.Repeats < rp.Count) && !now.Before(st.LastSent.Add(rp.Interval)) {
		st.Repeats++
		st.LastSent = now
		out = append(out, e.notice(st.Target, NoticeRepeat, st.Incident, st.Since, st.Repeats, now,
			e.contacts(st.Escalated), st.Value, st.Detail))
	}
	if esc := e.rule.Escalation; esc != nil && !st.Escalated && !now.Before(st.Notified.Add(esc.After)) {
		st.Escalated = true
		out = append(out, e.notice(st.Target, NoticeEscalation, st.Incident, st.Since, 0, now,
			[]string{esc.Contact}, st.Value, st.Detail))
	}
	return out
}

// contacts returns the rule's contacts, with the escalation contact once
// the alert escalated.
func (e *Evaluator) contacts(escalated bool) []string {
	out := slices.Clone(e.rule.Contacts)
	if escalated && e.rule.Escalation != nil && !slices.Contains(out, e.rule.Escalation.Contact) {
		out = append(out, e.rule.Escalation.Contact)
	}
	return out
}

func (e *Evaluator) notice(t Target, kind NoticeKind, incident uint64, since time.Time, repeat int, at time.Time,
	contacts []string, value float64, detail string) Notice {
	r := &e.rule
	return Notice{
		ID:       eventID(r.Tenant, r.ID, t, incident, since, kind, repeat),
		AlertID:  AlertID(r.Tenant, r.ID, t, incident, since),
		Tenant:   r.Tenant,
		Rule:     r.ID,
		Target:   t,
		Kind:     kind,
		Incident: incident,
		Repeat:   repeat,
		At:       at,
		Contacts: contacts,
		Summary:  e.summary(kind, t, value, detail, repeat),
	}
}

// clone copies r deeply, so an Evaluator does not share the caller's
// pointers and slices.
func (r Rule) clone() Rule {
	if r.Metric != nil {
		m := *r.Metric
		r.Metric = &m
	}
	if r.Offline != nil {
		o := *r.Offline
		r.Offline = &o
	}
	if r.Updates != nil {
		u := *r.Updates
		r.Updates = &u
	}
	if r.Reboot != nil {
		b := *r.Reboot
		r.Reboot = &b
	}
	if r.Scan != nil {
		s := *r.Scan
		r.Scan = &s
	}
	if r.Check != nil {
		c := *r.Check
		r.Check = &c
	}
	if r.Task != nil {
		t := *r.Task
		r.Task = &t
	}
	if r.Escalation != nil {
		x := *r.Escalation
		r.Escalation = &x
	}
	r.Contacts = slices.Clone(r.Contacts)
	r.Activation.Days = slices.Clone(r.Activation.Days)
	r.Activation.Hours = slices.Clone(r.Activation.Hours)
	return r
}
