package alerting

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/controller/internal/alert"
	"github.com/vigil-rmm/vigil/controller/internal/notify"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// batch is one write transaction of a tenant's evaluation.
type batch struct {
	e    *Engine
	snap *snapshot
	now  time.Time
	tx   store.Tx

	queued, observed, verified int
}

// current reports whether rule c is still stored as the snapshot read
// it; a rule edited, disabled or deleted since is left to the next
// evaluation.
func (b *batch) current(c *compiled) (bool, error) {
	cur, err := schema.GetAlertRule(b.tx, b.snap.tenant.GetId(), c.stored.GetId())
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return proto.Equal(cur, c.stored), nil
}

// agents writes the verifications concluded for the chunk's agents, then
// evaluates every agent rule on them.
func (b *batch) agents(chunk []*storev1.Agent, verified map[string]*storev1.Maintenance) error {
	for _, a := range chunk {
		if m := verified[a.GetId()]; m != nil {
			if err := b.recordVerification(m); err != nil {
				return err
			}
		}
	}
	for _, c := range b.snap.rules {
		if c.rule.Kind == alert.KindCheckStatus {
			continue
		}
		ok, err := b.current(c)
		if err != nil || !ok {
			return err
		}
		for _, a := range chunk {
			if err := b.evaluate(c, a.GetId(), b.observe(c, a)); err != nil {
				return fmt.Errorf("rule %s on %s: %w", c.rule.ID, a.GetId(), err)
			}
		}
	}
	return nil
}

// checks evaluates the check_status rules on the tenant's checks.
func (b *batch) checks() error {
	for _, c := range b.snap.rules {
		if c.rule.Kind != alert.KindCheckStatus {
			continue
		}
		ok, err := b.current(c)
		if err != nil || !ok {
			return err
		}
		var obs []alert.Observation
		for _, in := range b.snap.checks {
			if o, ok := c.ev.Check(in.target, in.result, b.now); ok {
				obs = append(obs, o)
			}
		}
		if err := b.evaluate(c, "", obs); err != nil {
			return fmt.Errorf("rule %s on checks: %w", c.rule.ID, err)
		}
	}
	return nil
}

// observe turns what the snapshot holds about agent a into the rule's
// observations, oldest first.
func (b *batch) observe(c *compiled, a *storev1.Agent) []alert.Observation {
	id, now, s := a.GetId(), b.now, b.snap
	t := alert.Target{Agent: id, Host: a.GetHostname()}
	one := func(o alert.Observation, ok bool) []alert.Observation {
		if !ok {
			return nil
		}
		return []alert.Observation{o}
	}
	switch c.rule.Kind {
	case alert.KindMetric:
		var out []alert.Observation
		for _, sm := range s.samples[id] {
			out = append(out, c.ev.Metrics(t, time.UnixMilli(sm.TimeMS), sm.Metrics)...)
		}
		return out
	case alert.KindOffline:
		return one(c.ev.Offline(t, s.seen[id], now))
	case alert.KindUpdatesPending:
		return one(c.ev.Updates(t, s.patches[id], now))
	case alert.KindRebootPending:
		return one(c.ev.Reboot(t, s.reboots[id], now))
	case alert.KindScanFailing:
		return one(c.ev.Scan(t, s.patches[id], now))
	case alert.KindTaskFailed:
		return one(c.ev.Task(t, s.tasks.of(id), now))
	case alert.KindVerifyFailed:
		return one(c.ev.Verify(t, verificationOf(s.maint[id]), now))
	}
	return nil
}

// verificationOf is the concluded verification of m, or nil.
func verificationOf(m *storev1.Maintenance) *alert.Verification {
	if m == nil || m.GetVerifiedUnix() == 0 {
		return nil
	}
	return &alert.Verification{OK: m.GetVerifyOk(), Detail: m.GetVerifyDetail()}
}

// evaluate applies obs to the states of rule c on agent (every state of
// the rule when agent is ""), creates the states of new targets, ticks
// every state at now, and writes back the states, the incidents and the
// notices.
func (b *batch) evaluate(c *compiled, agent string, obs []alert.Observation) error {
	tenant := b.snap.tenant.GetId()
	stored, err := schema.ListAlertStates(b.tx, tenant, c.rule.ID, agent)
	if err != nil {
		return err
	}
	byKey := map[string][]alert.Observation{}
	var order []string
	for _, o := range obs {
		k := o.Target.Key()
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], o)
	}
	for k := range stored {
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
		}
	}
	log := &incidents{tx: b.tx, tenant: tenant, c: c, quiet: b.snap.quiet, recs: map[string]*storev1.AlertRecord{}}
	for _, k := range order {
		st := &alert.State{}
		if s := stored[k]; s != nil {
			st = StateFromStore(s)
		}
		for _, o := range byKey[k] {
			before := snapshotState(st)
			ns := c.ev.Observe(st, o)
			b.observed++
			if err := b.step(log, before, st, o.At, ns); err != nil {
				return err
			}
		}
		before := snapshotState(st)
		if err := b.step(log, before, st, b.now, c.ev.Tick(st)); err != nil {
			return err
		}
		next := StateToStore(st)
		if s := stored[k]; s == nil || !proto.Equal(s, next) && !quietProgress(s, next) {
			if err := schema.PutAlertState(b.tx, tenant, c.rule.ID, k, next); err != nil {
				return err
			}
		}
	}
	return log.flush()
}

// snapshotState copies st, deeply enough for step to compare.
func snapshotState(st *alert.State) alert.State {
	c := *st
	if st.Held != nil {
		h := *st.Held
		c.Held = &h
	}
	return c
}

// step records what one Observe or Tick changed: incidents opened and
// closed, firing notices sent, and queues the notices.
func (b *batch) step(log *incidents, before alert.State, st *alert.State, at time.Time, ns []alert.Notice) error {
	if err := log.step(before, st, at, ns); err != nil {
		return err
	}
	for _, n := range ns {
		ok, err := notify.Enqueue(b.tx, notification(n, &log.c.rule))
		if err != nil {
			return fmt.Errorf("queue notice %s: %w", n.ID, err)
		}
		if ok {
			b.queued++
		}
	}
	return nil
}

// notification is the queued form of a notice.
func notification(n alert.Notice, r *alert.Rule) *storev1.Notification {
	return &storev1.Notification{
		Id: n.ID, Tenant: n.Tenant, Source: storev1.NotificationSource_NOTIFICATION_SOURCE_ALERT, Kind: string(n.Kind),
		AlertId: n.AlertID, Rule: n.Rule, Agent: n.Target.Agent, Host: hostOf(n.Target), Subject: Subject(n, r),
		Summary: n.Summary, Contacts: n.Contacts, CreatedUnixMs: n.At.UnixMilli(),
	}
}

func hostOf(t alert.Target) string {
	if t.Host != "" {
		return t.Host
	}
	return t.Agent
}

// Subject is a notice's short line: "FIRING: cpu > 95% for 15m on
// web-01", with the volume or check in brackets.
func Subject(n alert.Notice, r *alert.Rule) string {
	var prefix string
	switch n.Kind {
	case alert.NoticeFiring:
		prefix = "FIRING"
	case alert.NoticeRepeat:
		prefix = fmt.Sprintf("REPEAT %d", n.Repeat)
	case alert.NoticeEscalation:
		prefix = "ESCALATION"
	case alert.NoticeResolved:
		prefix = "RESOLVED"
	default:
		prefix = string(n.Kind)
	}
	s := prefix + ": " + r.Condition() + " on " + hostOf(n.Target)
	if item := n.Target.ItemLabel(); item != "" {
		s += " [" + item + "]"
	}
	return oneLine(s, 200)
}

// recordVerification writes a concluded verification, unless the
// maintenance changed since it was read (started again, stopped).
func (b *batch) recordVerification(m *storev1.Maintenance) error {
	cur, err := schema.GetMaintenance(b.tx, m.GetAgent())
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if cur.GetStartUnix() != m.GetStartUnix() || cur.GetEndUnix() != m.GetEndUnix() {
		return nil
	}
	b.verified++
	return schema.PutMaintenance(b.tx, m)
}

// dropOrphans deletes the states found orphaned and closes their alerts.
func (b *batch) dropOrphans() error {
	for _, r := range b.snap.orphans {
		if _, err := dropState(b.tx, r, b.now); err != nil {
			return err
		}
	}
	return nil
}

// incidents keeps the alert records of one rule in step with its states
// during one transaction.
type incidents struct {
	tx     store.Tx
	tenant string
	c      *compiled
	quiet  func(alert.Target, time.Time) bool
	recs   map[string]*storev1.AlertRecord
	dirty  []string
}

func (l *incidents) get(id string) (*storev1.AlertRecord, error) {
	if r, ok := l.recs[id]; ok {
		return r, nil
	}
	r, err := schema.GetAlertRecord(l.tx, l.tenant, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	l.recs[id] = r
	return r, nil
}

func (l *incidents) touch(id string, r *storev1.AlertRecord) {
	l.recs[id] = r
	l.dirty = append(l.dirty, id)
}

func (l *incidents) id(st *alert.State) string {
	return alert.AlertID(l.tenant, l.c.rule.ID, st.Target, st.Incident, st.Since)
}

// step compares st with its copy before one Observe or Tick.
func (l *incidents) step(before alert.State, st *alert.State, at time.Time, ns []alert.Notice) error {
	if before.Firing && (!st.Firing || st.Incident != before.Incident) {
		id := l.id(&before)
		r, err := l.get(id)
		if err != nil {
			return err
		}
		if r != nil && r.GetEndUnixMs() == 0 {
			r.EndUnixMs, r.LastUnixMs, r.Value = at.UnixMilli(), at.UnixMilli(), st.Value
			l.touch(id, r)
		}
	}
	if st.Firing && st.Incident != before.Incident {
		id := l.id(st)
		l.touch(id, &storev1.AlertRecord{
			Id: id, Tenant: l.tenant, Rule: l.c.rule.ID, RuleKind: string(l.c.rule.Kind),
			Agent: st.Target.Agent, Host: st.Target.Host, Item: st.Target.Item, ItemLabel: st.Target.Label, Incident: st.Incident,
			StartUnixMs: st.Since.UnixMilli(), Summary: l.c.ev.Summary(st), Suppressed: l.quiet(st.Target, st.Since),
			LastUnixMs: ms(st.LastAt), Value: st.Value,
		})
	} else if st.Firing && !st.LastAt.Equal(before.LastAt) {
		id := l.id(st)
		r, err := l.get(id)
		if err != nil {
			return err
		}
		if r != nil {
			// A check renamed during the incident shows its new name.
			r.LastUnixMs, r.Value, r.ItemLabel = ms(st.LastAt), st.Value, st.Target.Label
			l.touch(id, r)
		}
	}
	for _, n := range ns {
		if n.Kind != alert.NoticeFiring {
			continue
		}
		r, err := l.get(n.AlertID)
		if err != nil {
			return err
		}
		if r != nil {
			r.Notified, r.Summary = true, n.Summary
			l.touch(n.AlertID, r)
		}
	}
	return nil
}

// flush writes the records changed.
func (l *incidents) flush() error {
	done := map[string]bool{}
	for _, id := range l.dirty {
		if done[id] {
			continue
		}
		done[id] = true
		if err := schema.PutAlertRecord(l.tx, l.recs[id]); err != nil {
			return err
		}
	}
	return nil
}

// QuietCheckpoint is how often a quiet state (not firing, nothing
// pending) is written although only its clock moved.
const QuietCheckpoint = 10 * time.Minute

// quietProgress reports whether next differs from the stored state only by
// the time, the sample and the value of evaluations that found nothing,
// less than QuietCheckpoint after the stored one. Such a state is not
// written: at 10,000 agents and the six default rules, writing it every
// minute is 60,000 records a minute that ingest waits behind. Nothing is
// lost: the next evaluation starts from the stored state and observes the
// same samples again (the metrics store keeps them), which leads to the
// same quiet state, and notices have stable ids, so none can be queued
// twice.
func quietProgress(stored, next *storev1.AlertState) bool {
	if !quietState(stored) || !quietState(next) {
		return false
	}
	if time.Duration(next.GetLastUnixMs()-stored.GetLastUnixMs())*time.Millisecond >= QuietCheckpoint {
		return false
	}
	// Compare the rest with the clock fields set equal, then put them back
	// (no copies: this runs for every state every minute).
	lu, ls, v, d, h, il := next.LastUnixMs, next.LastSampleUnixMs, next.Value, next.Detail, next.Host, next.ItemLabel
	next.LastUnixMs, next.LastSampleUnixMs, next.Value, next.Detail = stored.LastUnixMs, stored.LastSampleUnixMs, stored.Value, stored.Detail
	next.Host, next.ItemLabel = stored.Host, stored.ItemLabel
	eq := proto.Equal(stored, next)
	next.LastUnixMs, next.LastSampleUnixMs, next.Value, next.Detail, next.Host, next.ItemLabel = lu, ls, v, d, h, il
	return eq
}

// quietState is a state with nothing under way: not firing, no
// evaluation disagreeing, no breach being timed, no recovery held.
func quietState(s *storev1.AlertState) bool {
	return !s.GetFiring() && s.GetStreak() == 0 && s.GetBreachSinceUnixMs() == 0 && !s.GetHeld()
}
