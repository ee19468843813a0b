package tasks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/fleet"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Presence is what the engine needs of the fleet.
type Presence interface {
	Send(agentID, capability string, m *agentv1.ControllerMessage) error
	Capabilities(agentID string) ([]string, bool)
}

var _ Presence = (*fleet.Fleet)(nil)

// EngineConfig wires an Engine.
type EngineConfig struct {
	Store  store.Store
	Fleet  Presence
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Interval is the time between passes; zero means one second.
	Interval time.Duration
	// OfferLead offers a task this long before its not_before time, so a
	// pass that falls just before it does not delay the task by a whole
	// interval. Zero means Interval. The agent allows its own clock skew.
	OfferLead time.Duration
	// EventRetention is how long events are kept; zero means 400 days.
	EventRetention time.Duration
}

// Engine moves tasks along on the controller's side: it offers scheduled
// tasks to online agents, offers dispatched ones again when their agent
// reconnects, expires tasks not accepted in their window, settles reboot
// tasks when the agent comes back (or fails them when it does not), and
// delivers cancel requests. Run drives it; Tick is one pass.
type Engine struct {
	cfg    EngineConfig
	logger *slog.Logger
	wake   chan struct{}

	mu       sync.Mutex
	attached map[string]int64 // agent id -> boot time, since the last pass
	resend   map[string]bool  // task ids whose offer or cancel found the agent's queue full

	lastPrune time.Time // touched only by Tick
}

// NewEngine returns an engine; call Run to start it.
func NewEngine(cfg EngineConfig) *Engine {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.OfferLead <= 0 {
		cfg.OfferLead = cfg.Interval
	}
	if cfg.EventRetention <= 0 {
		cfg.EventRetention = 400 * 24 * time.Hour
	}
	return &Engine{cfg: cfg, logger: cfg.Logger.With("component", "tasks"), wake: make(chan struct{}, 1),
		attached: map[string]int64{}, resend: map[string]bool{}}
}

// Attached tells the engine that an agent opened a stream and the boot
// time its Hello announced. It never blocks; the next pass, which starts
// at once, offers the agent's dispatched tasks again, delivers pending
// cancel requests and settles its rebooting tasks.
func (e *Engine) Attached(agentID string, bootTimeUnix int64) {
	e.mu.Lock()
	e.attached[agentID] = bootTimeUnix
	e.mu.Unlock()
	e.Wake()
}

// minPassGap is the shortest time between two passes started by wakes.
const minPassGap = 100 * time.Millisecond

// Wake makes the next pass start now (a task was created or approved and
// may be due). It never blocks; wakes that arrive during a pass coalesce
// into one more pass.
func (e *Engine) Wake() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run makes a pass every interval and after each attach or wake until ctx
// ends.
func (e *Engine) Run(ctx context.Context) {
	t := time.NewTicker(e.cfg.Interval)
	defer t.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-e.wake:
			// A burst of creates wakes the engine once per create; a pass
			// reads every queued task, so passes are spaced by minPassGap
			// and the tasks created meanwhile go out together.
			if gap := minPassGap - time.Since(last); gap > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(gap):
				}
			}
		}
		last = time.Now()
		if err := e.Tick(ctx); err != nil && ctx.Err() == nil {
			e.logger.ErrorContext(ctx, "task pass", "err", err)
		}
	}
}

// Cancel cancels a task for caller (see the package function Cancel) and,
// when the agent may hold it, sends the agent a TaskCancel now or when it
// next connects.
func (e *Engine) Cancel(ctx context.Context, taskID, caller, reason string) (*storev1.TaskRecord, error) {
	var (
		rec *storev1.TaskRecord
		ask bool
	)
	err := e.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		rec, ask, err = Cancel(tx, taskID, caller, reason, e.cfg.Now())
		return err
	})
	if err != nil {
		return nil, err
	}
	if ask {
		req := &storev1.TaskTransition{Actor: caller, Reason: cancelReason(caller, reason)}
		e.send(ctx, rec.GetAgentId(), rec.GetId(), cancelMsg(rec.GetId(), req))
	}
	return rec, nil
}

func cancelMsg(taskID string, req *storev1.TaskTransition) *agentv1.ControllerMessage {
	return &agentv1.ControllerMessage{Msg: &agentv1.ControllerMessage_Cancel{Cancel: &agentv1.TaskCancel{TaskId: taskID, Reason: req.GetReason()}}}
}

func offerMsg(rec *storev1.TaskRecord) *agentv1.ControllerMessage {
	return &agentv1.ControllerMessage{Msg: &agentv1.ControllerMessage_Task{Task: &agentv1.TaskOffer{SignedTask: rec.GetSignedTask()}}}
}

// send queues m for the agent; a full queue is retried on the next pass,
// an offline agent gets it when it reconnects.
func (e *Engine) send(ctx context.Context, agentID, taskID string, m *agentv1.ControllerMessage) {
	err := e.cfg.Fleet.Send(agentID, Capability, m)
	e.mu.Lock()
	if errors.Is(err, fleet.ErrBusy) {
		e.resend[taskID] = true
	} else {
		delete(e.resend, taskID)
	}
	e.mu.Unlock()
	switch {
	case err == nil:
		e.logger.DebugContext(ctx, "sent to agent", "agent_id", agentID, "task_id", taskID, "kind", fmt.Sprintf("%T", m.GetMsg()))
	case errors.Is(err, fleet.ErrBusy), errors.Is(err, fleet.ErrOffline):
		e.logger.DebugContext(ctx, "not sent to agent; will retry", "agent_id", agentID, "task_id", taskID, "err", err)
	default:
		e.logger.WarnContext(ctx, "not sent to agent", "agent_id", agentID, "task_id", taskID, "err", err)
	}
}

// step is one change a pass decided on, re-checked in the transaction.
type step struct {
	taskID string
	// apply changes the record (read afresh) and says whether the change
	// still applies.
	apply func(rec *storev1.TaskRecord) bool
	// offer sends the task to its agent after the commit.
	offer bool
}

// Tick makes one pass over the tasks that are not final.
func (e *Engine) Tick(ctx context.Context) error {
	now := e.cfg.Now()
	e.mu.Lock()
	attached, resend := e.attached, e.resend
	e.attached, e.resend = map[string]int64{}, map[string]bool{}
	e.mu.Unlock()

	var (
		queued  []*storev1.TaskRecord
		cancels map[string]*storev1.TaskTransition
	)
	if err := e.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if queued, err = schema.ListQueuedTasks(tx); err != nil {
			return err
		}
		cancels, err = schema.ListCancelRequests(tx)
		return err
	}); err != nil {
		e.requeue(attached, resend)
		return err
	}
	p := e.plan(queued, cancels, attached, resend, now)
	offers, events, err := e.commit(ctx, p.steps, now)
	if err != nil {
		e.requeue(attached, resend)
		return err
	}
	for _, ev := range events {
		e.logger.WarnContext(ctx, "task event", "kind", ev.Kind, "task_id", ev.TaskID, "agent_id", ev.AgentID, "message", ev.Message)
	}
	for _, rec := range offers {
		e.send(ctx, rec.GetAgentId(), rec.GetId(), offerMsg(rec))
	}
	if len(p.reoffer) > 0 || len(p.cancel) > 0 {
		if err := e.resendAll(ctx, p.reoffer, p.cancel, cancels); err != nil {
			e.requeue(nil, resendSet(p.reoffer, p.cancel))
			return err
		}
	}
	return e.prune(ctx, now)
}

// passPlan is what one pass decided.
type passPlan struct {
	steps   []step   // state changes, re-checked when committed
	reoffer []string // dispatched tasks to offer again
	cancel  []string // tasks whose cancel request to deliver (again)
}

// plan decides, from the queue index, what a pass does with each task.
func (e *Engine) plan(queued []*storev1.TaskRecord, cancels map[string]*storev1.TaskTransition, attached map[string]int64,
	resend map[string]bool, now time.Time) passPlan {
	var p passPlan
	for _, q := range queued {
		boot, isAttached := attached[q.GetAgentId()]
		redo := isAttached || resend[q.GetId()]
		_, cancelPending := cancels[q.GetId()]
		switch s := State(q); {
		case (s == Proposed || s == Scheduled) && now.Unix() > q.GetNotAfterUnix():
			p.steps = append(p.steps, e.expire(q, s, now))
		case s == Dispatched && now.After(time.Unix(q.GetNotAfterUnix(), 0).Add(DispatchGrace)):
			p.steps = append(p.steps, e.expire(q, s, now))
		case s == Running && q.GetRebootDeadlineUnix() != 0 && isAttached && rebooted(q, boot):
			p.steps = append(p.steps, e.cameBack(q, boot, now))
		case s == Running && q.GetRebootDeadlineUnix() != 0 && now.Unix() > q.GetRebootDeadlineUnix():
			p.steps = append(p.steps, e.rebootTimeout(q, now))
		case cancelPending && redo && (s == Dispatched || s == Accepted || s == Running):
			p.cancel = append(p.cancel, q.GetId())
		case s == Dispatched && redo:
			p.reoffer = append(p.reoffer, q.GetId())
		case s == Scheduled && !cancelPending && now.Add(e.cfg.OfferLead).Unix() >= q.GetNotBeforeUnix() && e.takesTasks(q.GetAgentId()):
			p.steps = append(p.steps, e.dispatch(q, now))
		}
	}
	return p
}

// commit applies steps in one transaction, each to the record as it is
// now, and returns the tasks to offer and the events recorded.
func (e *Engine) commit(ctx context.Context, steps []step, now time.Time) ([]*storev1.TaskRecord, []*schema.Event, error) {
	if len(steps) == 0 {
		return nil, nil, nil
	}
	var (
		offers []*storev1.TaskRecord
		events []*schema.Event
	)
	err := e.cfg.Store.Update(ctx, func(tx store.Tx) error {
		offers, events = offers[:0], events[:0]
		for _, st := range steps {
			rec, err := schema.GetTask(tx, st.taskID)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if !st.apply(rec) {
				continue
			}
			if ev := e.eventFor(rec, now); ev != nil {
				if err := schema.AppendEvent(tx, ev); err != nil {
					return err
				}
				events = append(events, ev)
			}
			if err := schema.PutTask(tx, rec); err != nil {
				return err
			}
			if st.offer {
				offers = append(offers, rec)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("tasks: commit: %w", err)
	}
	return offers, events, nil
}

// prune deletes events past the retention, at most once an hour.
func (e *Engine) prune(ctx context.Context, now time.Time) error {
	if now.Sub(e.lastPrune) < time.Hour {
		return nil
	}
	e.lastPrune = now
	var n int
	err := e.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		n, err = schema.DeleteEventsBefore(tx, now.Add(-e.cfg.EventRetention).UnixMilli())
		return err
	})
	if err != nil {
		return fmt.Errorf("tasks: prune events: %w", err)
	}
	if n > 0 {
		e.logger.InfoContext(ctx, "old events deleted", "count", n)
	}
	return nil
}

func resendSet(lists ...[]string) map[string]bool {
	m := map[string]bool{}
	for _, l := range lists {
		for _, id := range l {
			m[id] = true
		}
	}
	return m
}

// requeue puts back what a failed pass took, for the next pass.
func (e *Engine) requeue(attached map[string]int64, resend map[string]bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, v := range attached {
		if _, ok := e.attached[k]; !ok {
			e.attached[k] = v
		}
	}
	for k := range resend {
		e.resend[k] = true
	}
}

// resendAll offers dispatched tasks again and delivers cancel requests.
func (e *Engine) resendAll(ctx context.Context, reoffer, cancel []string, cancels map[string]*storev1.TaskTransition) error {
	recs := map[string]*storev1.TaskRecord{}
	err := e.cfg.Store.View(ctx, func(tx store.Tx) error {
		for _, id := range slices.Concat(reoffer, cancel) {
			rec, err := schema.GetTask(tx, id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			recs[id] = rec
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range reoffer {
		if rec := recs[id]; rec != nil && State(rec) == Dispatched {
			e.send(ctx, rec.GetAgentId(), id, offerMsg(rec))
		}
	}
	for _, id := range cancel {
		if rec := recs[id]; rec != nil && !Final(State(rec)) {
			e.send(ctx, rec.GetAgentId(), id, cancelMsg(id, cancels[id]))
		}
	}
	return nil
}

func (e *Engine) takesTasks(agentID string) bool {
	caps, online := e.cfg.Fleet.Capabilities(agentID)
	return online && slices.Contains(caps, Capability)
}

func (e *Engine) dispatch(q *storev1.TaskRecord, now time.Time) step {
	return step{taskID: q.GetId(), offer: true, apply: func(rec *storev1.TaskRecord) bool {
		if State(rec) != Scheduled {
			return false
		}
		setState(rec, Dispatched, ActorController, "offered to the agent", now.UnixMilli())
		return true
	}}
}

func (e *Engine) expire(q *storev1.TaskRecord, was managev1.TaskState, now time.Time) step {
	return step{taskID: q.GetId(), apply: func(rec *storev1.TaskRecord) bool {
		if State(rec) != was {
			return false
		}
		notAfter := time.Unix(rec.GetNotAfterUnix(), 0).UTC().Format(time.RFC3339)
		why := "not started before its not-after time " + notAfter
		switch was {
		case Proposed:
			why = "not approved before its not-after time " + notAfter
		case Dispatched:
			why = "the agent did not accept it before its not-after time " + notAfter
		}
		setState(rec, Expired, ActorController, why, now.UnixMilli())
		return true
	}}
}

func (e *Engine) cameBack(q *storev1.TaskRecord, boot int64, now time.Time) step {
	return step{taskID: q.GetId(), apply: func(rec *storev1.TaskRecord) bool {
		if State(rec) != Running || rec.GetRebootDeadlineUnix() == 0 || !rebooted(rec, boot) {
			return false
		}
		setState(rec, Succeeded, ActorAgent, cameBackReason(boot), now.UnixMilli())
		return true
	}}
}

func (e *Engine) rebootTimeout(q *storev1.TaskRecord, now time.Time) step {
	return step{taskID: q.GetId(), apply: func(rec *storev1.TaskRecord) bool {
		if State(rec) != Running || rec.GetRebootDeadlineUnix() == 0 || now.Unix() <= rec.GetRebootDeadlineUnix() {
			return false
		}
		setState(rec, Failed, ActorController, fmt.Sprintf("the server did not come back within %s", RebootWait), now.UnixMilli())
		return true
	}}
}

// eventFor returns the event a pass's change deserves.
func (e *Engine) eventFor(rec *storev1.TaskRecord, now time.Time) *schema.Event {
	ev := failureEvent(rec)
	if ev == nil {
		return nil
	}
	ev.TimeUnixMs = now.UnixMilli()
	if State(rec) == Failed && rec.GetRebootDeadlineUnix() != 0 {
		ev.Kind = schema.EventRebootTimeout
	}
	return ev
}
