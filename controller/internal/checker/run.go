package checker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/controller/internal/check"
	"github.com/vigil-rmm/vigil/controller/internal/notify"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	"github.com/vigil-rmm/vigil/internal/netcheck"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// ErrDeleted means the check was deleted while the runner worked on it.
var ErrDeleted = errors.New("check deleted")

// outcome is what one vantage's probe gave: a result, or why it could
// not run.
type outcome struct {
	res netcheck.Result
	err error
}

// runOnce probes the check from each of its vantages that is not
// suspended, in parallel, and commits what they saw. start is the run's
// slot time on the runner's clock; every result is stamped with it.
func (r *Runner) runOnce(ctx context.Context, id string, start time.Time) {
	r.mu.Lock()
	rt := r.checks[id]
	if rt == nil {
		r.mu.Unlock()
		return
	}
	def := rt.def
	var names []string
	for _, n := range rt.vantageNames() {
		if !rt.vantages[n].m.Suspended() {
			names = append(names, n)
		}
	}
	r.mu.Unlock()

	outs := make([]outcome, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i] = r.probe(ctx, def, name, start)
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		// Stopping: a run cut short says nothing about the target.
		return
	}
	got := map[string]outcome{}
	for i, name := range names {
		got[name] = outs[i]
	}
	if err := r.commit(ctx, def, got, start); err != nil && !errors.Is(err, ErrDeleted) {
		r.cfg.Logger.ErrorContext(ctx, "commit check run", "check", id, "err", err)
	}
}

// probe runs the check from one vantage.
func (r *Runner) probe(ctx context.Context, def *storev1.Check, vantage string, start time.Time) outcome {
	timeout := netcheck.SpecTimeout(def.GetSpec())
	if vantage == VantageController {
		pctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		res := r.cfg.Probe(def).Run(pctx)
		res.At = start
		res.Detail = clip(res.Detail, MaxDetail)
		return outcome{res: res}
	}
	agentID, ok := strings.CutPrefix(vantage, AgentVantagePrefix)
	if !ok || agentID == "" {
		return outcome{err: fmt.Errorf("unknown vantage %q", vantage)}
	}
	if r.cfg.Agents == nil {
		return outcome{err: errors.New("agent vantages are not available on this controller")}
	}
	pctx, cancel := context.WithTimeout(ctx, timeout+AgentGrace)
	defer cancel()
	res, err := r.cfg.Agents.Probe(pctx, agentID, def.GetId(), def.GetSpec())
	if err == nil {
		var got netcheck.Result
		if got, err = agentResult(def.GetSpec(), res, start); err == nil {
			return outcome{res: got}
		}
	}
	return outcome{err: err}
}

// pendingNotice is a notice with the numbers its id needs.
type pendingNotice struct {
	vantage string
	n       check.Notice
	seq     uint64    // outage or suspension number
	start   time.Time // when the outage or suspension began (its down or suspended notice)
}

// commit feeds the outcomes to copies of the vantages' machines, writes
// the results, the state and the notices in one transaction, and swaps
// the copies in once it committed.
func (r *Runner) commit(ctx context.Context, def *storev1.Check, got map[string]outcome, start time.Time) error {
	r.commitMu.Lock()
	defer r.commitMu.Unlock()
	id := def.GetId()
	r.mu.Lock()
	rt := r.checks[id]
	if rt == nil || !proto.Equal(rt.def.GetSpec(), def.GetSpec()) {
		// Deleted, or now probing something else: these results are
		// about a target the check no longer has.
		r.mu.Unlock()
		return ErrDeleted
	}
	stretch, _ := r.sched.Stretch(id)
	next := map[string]*vantageRT{}
	for name, v := range rt.vantages {
		next[name] = v.clone(rt.def)
	}
	r.mu.Unlock()

	var (
		records []*storev1.CheckResultRecord
		notices []pendingNotice
	)
	for _, name := range vantagesOf(rt.def) {
		o, ran := got[name]
		v := next[name]
		if !ran || v == nil {
			continue
		}
		if o.err != nil {
			if v.st.UnavailableSinceUnixMs == 0 {
				v.st.UnavailableSinceUnixMs = start.UnixMilli()
			}
			v.st.UnavailableReason = clip(o.err.Error(), MaxDetail)
			continue
		}
		records = append(records, recordOf(id, name, o.res))
		if pn, ok := v.observe(o.res); ok {
			notices = append(notices, pn)
		}
	}
	state := &storev1.CheckState{Check: id, LastRunUnixMs: start.UnixMilli(), EffectiveIntervalMs: stretch.Effective.Milliseconds(),
		LateMs: stretch.Late.Milliseconds()}
	for _, name := range vantagesOf(rt.def) {
		state.Vantages = append(state.Vantages, next[name].persist())
	}
	queued, err := r.write(ctx, rt.def, records, state, notices)
	if err != nil {
		return err
	}

	r.mu.Lock()
	if cur := r.checks[id]; cur == rt {
		rt.vantages, rt.state = next, state
		if rt.allSuspended() {
			r.sched.Remove(id)
		}
	}
	r.mu.Unlock()
	r.announce(ctx, rt.def, notices, queued)
	return nil
}

// write commits one run (or a resume): results, state, notices. It
// reports how many notices were newly queued.
func (r *Runner) write(ctx context.Context, def *storev1.Check, records []*storev1.CheckResultRecord, state *storev1.CheckState, notices []pendingNotice) (int, error) {
	queued := 0
	err := r.cfg.Store.Update(ctx, func(tx store.Tx) error {
		queued = 0
		if _, err := schema.GetCheck(tx, def.GetId()); errors.Is(err, store.ErrNotFound) {
			return ErrDeleted
		} else if err != nil {
			return err
		}
		if len(records) > 0 {
			if _, err := schema.AppendCheckResults(tx, def.GetId(), records); err != nil {
				return fmt.Errorf("append results: %w", err)
			}
		}
		if err := schema.PutCheckState(tx, state); err != nil {
			return fmt.Errorf("put state: %w", err)
		}
		for _, pn := range notices {
			ok, err := notify.Enqueue(tx, notification(def, pn))
			if err != nil {
				return fmt.Errorf("enqueue notice: %w", err)
			}
			if ok {
				queued++
			}
		}
		return nil
	})
	return queued, err
}

// announce logs the notices and wakes the dispatcher.
func (r *Runner) announce(ctx context.Context, def *storev1.Check, notices []pendingNotice, queued int) {
	for _, pn := range notices {
		r.cfg.Logger.InfoContext(ctx, "check notice", "check", def.GetId(), "tenant", def.GetTenant(), "vantage", pn.vantage,
			"kind", pn.n.Kind.String(), "seq", pn.seq)
	}
	if queued > 0 {
		r.cfg.Wake()
	}
}

// clone copies a vantage so a run can advance it without touching the
// original until it committed.
func (v *vantageRT) clone(def *storev1.Check) *vantageRT {
	return &vantageRT{m: check.RestoreMachine(machineConfig(def), v.m.Snapshot()), st: proto.Clone(v.st).(*storev1.VantageState)}
}

// observe feeds one result to the machine and updates the figures around
// it.
func (v *vantageRT) observe(res netcheck.Result) (pendingNotice, bool) {
	prev := v.m.State()
	// While a vantage is down, since is when its outage began: the time
	// of the down notice, which the up notice's id repeats.
	outageStart := time.UnixMilli(v.st.GetSinceUnixMs())
	n, ok := v.m.Observe(res)
	st := v.st
	st.UnavailableSinceUnixMs, st.UnavailableReason = 0, ""
	st.LastStatus, st.LastUnixMs, st.LastDetail = statusProto(res.Status), res.At.UnixMilli(), clip(res.Detail, MaxDetail)
	st.PreviousStartUnixMs, st.LastStartUnixMs = st.GetLastStartUnixMs(), res.At.UnixMilli()
	if cur := v.m.State(); cur != prev {
		st.State, st.SinceUnixMs = cur.String(), res.At.UnixMilli()
	}
	if !ok {
		return pendingNotice{}, false
	}
	pn := pendingNotice{vantage: st.GetVantage(), n: n}
	switch n.Kind {
	case check.NoticeDown:
		st.Outage++
		pn.seq, pn.start = st.Outage, n.At
	case check.NoticeUp:
		pn.seq, pn.start = st.Outage, outageStart
	case check.NoticeSuspended:
		st.Suspensions++
		st.Suspended, st.SuspendedUnixMs = true, n.At.UnixMilli()
		pn.seq, pn.start = st.Suspensions, n.At
	}
	return pn, true
}

// persist is the vantage's state as stored: the figures and the
// machine's snapshot.
func (v *vantageRT) persist() *storev1.VantageState {
	st := proto.Clone(v.st).(*storev1.VantageState)
	snap := v.m.Snapshot()
	st.State, st.Suspended = snap.State.String(), snap.Suspended
	if !snap.Suspended {
		st.SuspendedUnixMs = 0
	}
	st.Pending, st.Errs = nil, nil
	for _, p := range snap.Pending {
		st.Pending = append(st.Pending, recordOf("", st.GetVantage(), p))
	}
	for _, e := range snap.Errs {
		st.Errs = append(st.Errs, recordOf("", st.GetVantage(), e))
	}
	return st
}

// Resume clears the suspension of every suspended vantage (a resumed
// notice each, naming by), puts the check back on the schedule and runs
// it at once. The API has already cleared a person's pause in the store.
// It reports how many vantages were suspended.
func (r *Runner) Resume(ctx context.Context, id, by string) (int, error) {
	r.commitMu.Lock()
	def, st, err := r.read(ctx, id)
	if err != nil {
		r.commitMu.Unlock()
		return 0, err
	}
	if def == nil {
		r.commitMu.Unlock()
		return 0, ErrDeleted
	}
	now := r.cfg.Clock.Now()
	r.mu.Lock()
	r.install(def, st, now)
	rt := r.checks[id]
	next := map[string]*vantageRT{}
	for name, v := range rt.vantages {
		next[name] = v.clone(def)
	}
	state := proto.Clone(rt.state).(*storev1.CheckState)
	r.mu.Unlock()

	var notices []pendingNotice
	for _, name := range vantagesOf(def) {
		v := next[name]
		n, ok := v.m.Resume(now, by)
		if !ok {
			continue
		}
		start := time.UnixMilli(v.st.GetSuspendedUnixMs())
		v.st.Suspended, v.st.SuspendedUnixMs = false, 0
		notices = append(notices, pendingNotice{vantage: name, n: n, seq: v.st.GetSuspensions(), start: start})
	}
	state.Vantages = nil
	for _, name := range vantagesOf(def) {
		state.Vantages = append(state.Vantages, next[name].persist())
	}
	queued := 0
	if len(notices) > 0 {
		if queued, err = r.write(ctx, def, nil, state, notices); err != nil {
			r.commitMu.Unlock()
			return 0, err
		}
	}
	r.mu.Lock()
	if r.checks[id] == rt {
		rt.vantages, rt.state = next, state
	}
	if !def.GetPaused() {
		r.sched.Add(id, time.Duration(def.GetIntervalSeconds())*time.Second, now)
		r.sched.RunNow(id, now)
	}
	r.mu.Unlock()
	r.commitMu.Unlock()
	r.announce(ctx, def, notices, queued)
	r.poke()
	return len(notices), nil
}
