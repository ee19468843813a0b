package taskrunner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vigil-rmm/vigil/agent/internal/pluginhost"
	"github.com/vigil-rmm/vigil/internal/limits"
	"github.com/vigil-rmm/vigil/plugins/sdk"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	pluginv1 "github.com/vigil-rmm/vigil/proto/vigil/plugin/v1"
	trustv1 "github.com/vigil-rmm/vigil/proto/vigil/trust/v1"
)

// execute runs a task the journal accepted, reports each step, and
// journals and reports its final state.
func (r *Runner) execute(ctx context.Context, t *trustv1.Task, timeout time.Duration) {
	id := t.GetTaskId()
	log := r.log.With("task_id", id, "plugin", t.GetPlugin())
	r.send(ctx, &agentv1.TaskUpdate{TaskId: id, State: agentv1.TaskState_TASK_STATE_ACCEPTED})
	if reason, ok := r.takeCancel(id); ok {
		r.finish(ctx, id, &agentv1.TaskUpdate{TaskId: id, State: agentv1.TaskState_TASK_STATE_CANCELLED, Reason: reason})
		return
	}
	if err := r.cfg.Journal.Set(ctx, id, agentv1.TaskState_TASK_STATE_RUNNING, nil, r.cfg.Now()); err != nil {
		log.ErrorContext(ctx, "journal running", "err", err)
		r.finish(ctx, id, &agentv1.TaskUpdate{TaskId: id, State: agentv1.TaskState_TASK_STATE_FAILED,
			Reason: "the agent could not record the task in its journal; not run"})
		return
	}
	tctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.mu.Lock()
	r.cur = &running{Current: Current{TaskID: id, Plugin: t.GetPlugin(), Since: r.cfg.Now().UTC()}, cancel: cancel}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.cur = nil
		r.mu.Unlock()
	}()
	r.send(ctx, &agentv1.TaskUpdate{TaskId: id, State: agentv1.TaskState_TASK_STATE_RUNNING})
	log.InfoContext(ctx, "task running", "timeout", timeout.String())

	fw := &forwarder{r: r, ctx: ctx, id: id, limit: r.cfg.OutputCap, percent: -1}
	stop := fw.start()
	rctx, rcancel := context.WithTimeout(tctx, timeout)
	err := r.cfg.Plugins.Run(rctx, t.GetPlugin(), &sdk.RunRequest{TaskId: id, Parameters: t.GetParameters()}, fw.emit)
	timedOut := errors.Is(rctx.Err(), context.DeadlineExceeded)
	rcancel()
	stop()

	final := fw.final()
	var c *cancelled
	switch res := fw.resultOf(); {
	case res != nil:
		// The plugin finished: its result stands, even if a cancel, the
		// timeout or a crash (a reboot under way) came right after.
		final.Result = taskResult(res)
		final.State = agentv1.TaskState_TASK_STATE_FAILED
		final.Reason = limits.CleanString(res.GetSummary(), limits.MaxText)
		if res.GetOk() {
			final.State, final.Reason = agentv1.TaskState_TASK_STATE_SUCCEEDED, ""
			if rebooting(t.GetPlugin(), res) {
				final.State = agentv1.TaskState_TASK_STATE_REBOOTING
			}
		} else if final.Reason == "" {
			final.Reason = "the plugin reported a failure"
		}
	case errors.As(context.Cause(tctx), &c):
		final.State, final.Reason = agentv1.TaskState_TASK_STATE_CANCELLED, c.reason
	case ctx.Err() != nil:
		final.State, final.Reason = agentv1.TaskState_TASK_STATE_INTERRUPTED, ReasonInterrupted
	case timedOut || errors.Is(err, pluginhost.ErrTimeout):
		final.State = agentv1.TaskState_TASK_STATE_FAILED
		final.Reason = fmt.Sprintf("timed out after %s; the plugin and the processes it started were killed", timeout)
	case errors.Is(err, pluginhost.ErrCrashed):
		final.State = agentv1.TaskState_TASK_STATE_FAILED
		final.Reason = "the plugin crashed: " + pluginError(err)
	case err != nil:
		final.State, final.Reason = agentv1.TaskState_TASK_STATE_FAILED, "the plugin failed: "+pluginError(err)
	default:
		final.State, final.Reason = agentv1.TaskState_TASK_STATE_FAILED, "the plugin ended without a result"
	}
	log.InfoContext(ctx, "task ended", "state", final.GetState().String(), "reason", final.GetReason(), "err", err)
	r.finish(ctx, id, final)
}

// finish journals a task's final (or rebooting) state and then reports it.
// The journal goes first: a crash in between loses the report, which a
// repeated offer gets again, but never runs the task twice.
func (r *Runner) finish(ctx context.Context, id string, u *agentv1.TaskUpdate) {
	u.TaskId = id
	u.Reason = limits.CleanString(u.GetReason(), limits.MaxText)
	r.stamp(u)
	if err := r.cfg.Journal.Set(context.WithoutCancel(ctx), id, u.GetState(), u, r.cfg.Now()); err != nil {
		r.log.ErrorContext(ctx, "journal final state", "task_id", id, "state", u.GetState().String(), "err", err)
	}
	r.queue(ctx, u)
}

// rebooting reports whether an ok result means the host is restarting.
func rebooting(plugin string, res *pluginv1.Result) bool {
	if plugin == "reboot" {
		return true
	}
	var d struct {
		Rebooting bool `json:"rebooting"`
	}
	return json.Unmarshal(res.GetDetail(), &d) == nil && d.Rebooting
}

// taskResult copies a plugin result into a report, within limits.
func taskResult(res *pluginv1.Result) *agentv1.TaskResult {
	tr := &agentv1.TaskResult{Ok: res.GetOk(), ExitCode: res.GetExitCode(), Summary: limits.CleanString(res.GetSummary(), limits.MaxText)}
	if d := res.GetDetail(); len(d) <= MaxDetail && json.Valid(d) {
		tr.Detail = d
	}
	return tr
}

// forwarder turns a plugin's events into RUNNING updates: output lines
// batched, progress coalesced, output past the cap dropped.
type forwarder struct {
	r     *Runner
	ctx   context.Context
	id    string
	limit int

	mu        sync.Mutex
	lines     []*agentv1.OutputLine
	batch     int // bytes in lines
	total     int // bytes forwarded
	truncated bool
	dirty     bool // progress or truncation not yet reported
	percent   int32
	message   string
	result    *pluginv1.Result
}

// start flushes every FlushInterval until the returned stop is called.
func (f *forwarder) start() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(FlushInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				f.mu.Lock()
				f.flushLocked()
				f.mu.Unlock()
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// emit receives one plugin event. It never fails: a report that cannot be
// queued is logged, and the task goes on.
func (f *forwarder) emit(ev *sdk.RunEvent) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch e := ev.GetEvent().(type) {
	case *pluginv1.RunEvent_Progress:
		f.percent = max(-1, min(100, e.Progress.GetPercent()))
		f.message = limits.CleanString(e.Progress.GetMessage(), limits.MaxText)
		f.dirty = true
	case *pluginv1.RunEvent_Log:
		if f.truncated {
			return nil
		}
		line := limits.CleanString(e.Log.GetLine(), MaxLine)
		n := len(line) + 1
		if f.total+n > f.limit {
			f.truncated, f.dirty = true, true
			f.r.log.WarnContext(f.ctx, "task output cap reached; later output is dropped", "task_id", f.id, "cap_bytes", f.limit)
			return nil
		}
		f.total += n
		f.batch += n
		f.lines = append(f.lines, &agentv1.OutputLine{Stderr: e.Log.GetStream() == pluginv1.Log_STREAM_STDERR, Line: line,
			TimeUnixMs: f.r.cfg.Now().UnixMilli()})
		if len(f.lines) >= FlushLines || f.batch >= FlushBytes {
			f.flushLocked()
		}
	case *pluginv1.RunEvent_Result:
		f.result = e.Result
	}
	return nil
}

// flushLocked queues what is pending as one RUNNING update.
func (f *forwarder) flushLocked() {
	if len(f.lines) == 0 && !f.dirty {
		return
	}
	f.r.send(f.ctx, &agentv1.TaskUpdate{TaskId: f.id, State: agentv1.TaskState_TASK_STATE_RUNNING,
		ProgressPercent: f.percent, ProgressMessage: f.message, Output: f.lines, OutputTruncated: f.truncated})
	f.lines, f.batch, f.dirty = nil, 0, false
}

// final returns the last update's body: what output and progress remain.
func (f *forwarder) final() *agentv1.TaskUpdate {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := &agentv1.TaskUpdate{TaskId: f.id, ProgressPercent: f.percent, ProgressMessage: f.message, Output: f.lines,
		OutputTruncated: f.truncated}
	f.lines, f.batch, f.dirty = nil, 0, false
	return u
}

func (f *forwarder) resultOf() *pluginv1.Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.result
}
