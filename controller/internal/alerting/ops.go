package alerting

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-rmm/vigil/controller/internal/alert"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// ErrClosed means an acknowledgement named an alert that already
// recovered or was closed.
var ErrClosed = errors.New("alert is closed")

// SeedTenant writes a new tenant's default rules (alert.DefaultRules, as
// the schema stores them: a test keeps the two equal), created at now, in
// the caller's transaction. Rules that exist are kept.
func SeedTenant(tx store.Tx, tenant string, now time.Time) error {
	if err := schema.SeedDefaultAlertRules(tx, tenant, now.Unix()); err != nil {
		return fmt.Errorf("seed default alert rules: %w", err)
	}
	return nil
}

// CloseRule deletes every alert state of a rule and closes its open
// alerts at now, without notices: for a rule disabled or deleted (a
// disabled rule notifies nothing, not even recoveries). It returns how
// many alerts it closed.
func CloseRule(tx store.Tx, tenant, rule string, now time.Time) (int, error) {
	states, err := schema.ListAlertStates(tx, tenant, rule, "")
	if err != nil {
		return 0, err
	}
	closed := 0
	for target := range states {
		c, err := dropState(tx, schema.AlertStateRef{Tenant: tenant, Rule: rule, Target: target}, now)
		if err != nil {
			return closed, err
		}
		if c {
			closed++
		}
	}
	return closed, nil
}

// dropState deletes one state and closes its open alert, and reports
// whether it closed one.
func dropState(tx store.Tx, ref schema.AlertStateRef, now time.Time) (bool, error) {
	s, err := schema.GetAlertState(tx, ref.Tenant, ref.Rule, ref.Target)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := schema.DeleteAlertState(tx, ref.Tenant, ref.Rule, ref.Target); err != nil {
		return false, err
	}
	if !s.GetFiring() {
		return false, nil
	}
	st := StateFromStore(s)
	id := alert.AlertID(ref.Tenant, ref.Rule, st.Target, st.Incident, st.Since)
	r, err := schema.GetAlertRecord(tx, ref.Tenant, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil || r.GetEndUnixMs() != 0 {
		return false, err
	}
	r.EndUnixMs = now.UnixMilli()
	return true, schema.PutAlertRecord(tx, r)
}

// Ack acknowledges alert rec on behalf of by, at now, in the caller's
// transaction: the rule's state stops repeats and escalation (alert's
// Evaluator.Ack), and the record shows who and when. Acknowledging again
// keeps the first acknowledgement. ErrClosed means the alert recovered.
func Ack(tx store.Tx, rec *storev1.AlertRecord, by, comment string, now time.Time) error {
	if rec.GetEndUnixMs() != 0 {
		return fmt.Errorf("alert %s: %w", rec.GetId(), ErrClosed)
	}
	if rec.GetAckedUnixMs() != 0 {
		return nil
	}
	sr, err := schema.GetAlertRule(tx, rec.GetTenant(), rec.GetRule())
	if err != nil {
		return fmt.Errorf("rule %s: %w", rec.GetRule(), err)
	}
	r, err := RuleFromStore(sr)
	if err != nil {
		return err
	}
	ev, err := alert.New(r, alert.Options{Now: func() time.Time { return now }})
	if err != nil {
		return err
	}
	key := alert.Target{Agent: rec.GetAgent(), Item: rec.GetItem()}.Key()
	s, err := schema.GetAlertState(tx, rec.GetTenant(), rec.GetRule(), key)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("alert %s: %w", rec.GetId(), ErrClosed)
	}
	if err != nil {
		return err
	}
	st := StateFromStore(s)
	if alert.AlertID(rec.GetTenant(), rec.GetRule(), st.Target, st.Incident, st.Since) != rec.GetId() {
		return fmt.Errorf("alert %s: %w", rec.GetId(), ErrClosed)
	}
	if err := ev.Ack(st, rec.GetIncident(), by); err != nil {
		if errors.Is(err, alert.ErrNoAlert) {
			return fmt.Errorf("alert %s: %w", rec.GetId(), ErrClosed)
		}
		return err
	}
	if err := schema.PutAlertState(tx, rec.GetTenant(), rec.GetRule(), key, StateToStore(st)); err != nil {
		return err
	}
	rec.AckedUnixMs, rec.AckedBy, rec.AckComment = st.AckedAt.UnixMilli(), st.AckedBy, comment
	return schema.PutAlertRecord(tx, rec)
}

// verifyAll runs the post-maintenance verification of every agent of the
// snapshot whose maintenance ended and was not verified yet (or failed,
// for a week after it ended: a failed verification is tried again at
// every evaluation, so its verify_failed alert recovers once the agent is
// fine). It reads presence and samples outside any transaction and
// returns the maintenance records to write, updating the snapshot's so
// verify_failed rules see them in this evaluation.
func (e *Engine) verifyAll(ctx context.Context, s *snapshot, now time.Time) (map[string]*storev1.Maintenance, error) {
	out := map[string]*storev1.Maintenance{}
	for id, m := range s.maint {
		end := time.Unix(m.GetEndUnix(), 0)
		if now.Before(end) || (m.GetVerifiedUnix() != 0 && m.GetVerifyOk()) || now.Sub(end) > verifyRetry {
			continue
		}
		var problems []string
		if online, _ := e.cfg.Presence.Online(id); !online {
			problems = append(problems, "agent offline")
		}
		latest, ok, err := e.cfg.Metrics.Latest(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("latest sample of %s: %w", id, err)
		}
		if !ok || latest.TimeMS < end.UnixMilli() {
			problems = append(problems, "no metrics since "+end.UTC().Format("2006-01-02 15:04 UTC"))
		}
		if p := s.patches[id]; p != nil && p.ScanUnixMs != 0 && p.Status != agentv1.ScanStatus_SCAN_STATUS_OK {
			what := p.ErrorCode
			if what == "" {
				what = strings.ToLower(strings.TrimPrefix(p.Status.String(), "SCAN_STATUS_"))
			}
			problems = append(problems, "patch scan failing ("+oneLine(what, 100)+")")
		}
		okNow := len(problems) == 0
		detail := strings.Join(problems, "; ")
		switch {
		case !okNow && now.Sub(end) < e.cfg.VerifyGrace:
			continue // not decided: the agent may still be coming back
		case m.GetVerifiedUnix() != 0 && !okNow && m.GetVerifyDetail() == detail:
			continue // still failing the same way: nothing to write
		}
		next := &storev1.Maintenance{Agent: m.GetAgent(), Tenant: m.GetTenant(), StartUnix: m.GetStartUnix(), EndUnix: m.GetEndUnix(),
			Reason: m.GetReason(), By: m.GetBy(), VerifiedUnix: now.Unix(), VerifyOk: okNow, VerifyDetail: detail}
		out[id] = next
		s.maint[id] = next
	}
	return out, nil
}

// taskOutcomes are the latest finished task of each (agent, plugin).
type taskOutcomes struct {
	latest map[string]map[string]alert.TaskOutcome
}

// of returns an agent's outcomes (nil-safe).
func (t *taskOutcomes) of(agent string) []alert.TaskOutcome {
	if t == nil {
		return nil
	}
	var out []alert.TaskOutcome
	for _, o := range t.latest[agent] {
		out = append(out, o)
	}
	return out
}

// loadTasks reads every task once per evaluation and keeps, per agent and
// plugin, the latest that succeeded or failed. Cancelled, refused and
// expired tasks say nothing about the host and are left out; an
// interrupted one (the agent stopped while it ran) counts as failed.
func (e *Engine) loadTasks(ctx context.Context) (*taskOutcomes, error) {
	t := &taskOutcomes{latest: map[string]map[string]alert.TaskOutcome{}}
	err := e.cfg.Store.View(ctx, func(tx store.Tx) error {
		return schema.ScanTasks(tx, func(r *storev1.TaskRecord) error {
			var failed bool
			switch managev1.TaskState(r.GetState()) {
			case managev1.TaskState_TASK_STATE_SUCCEEDED:
			case managev1.TaskState_TASK_STATE_FAILED, managev1.TaskState_TASK_STATE_INTERRUPTED:
				failed = true
			default:
				return nil
			}
			o := alert.TaskOutcome{Task: r.GetId(), Plugin: r.GetPlugin(), Failed: failed,
				At: time.UnixMilli(r.GetUpdatedUnixMs()), Detail: oneLine(cmp.Or(r.GetResult().GetSummary(), r.GetReason()), 200)}
			m := t.latest[r.GetAgentId()]
			if m == nil {
				m = map[string]alert.TaskOutcome{}
				t.latest[r.GetAgentId()] = m
			}
			if cur, ok := m[o.Plugin]; !ok || o.At.After(cur.At) || (o.At.Equal(cur.At) && o.Task > cur.Task) {
				m[o.Plugin] = o
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read tasks: %w", err)
	}
	return t, nil
}

// oneLine flattens s to one line of at most n bytes, cut at a rune
// boundary: parts of it come from agents.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
