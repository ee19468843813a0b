package main

// Following a task: poll GetTask with the output cursor and print each
// transition, progress and output line as it arrives.

import (
	"context"
	"fmt"
	"sort"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/console/client"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// follower prints a task's transitions, progress and output as they
// arrive: output to stdout, or to stderr for the runner's stderr.
type follower struct {
	e        *env
	cursor   uint64
	seen     int
	progress string
}

// event is a transition or an output line, to print in time order.
type event struct {
	ms   int64
	tr   *managev1.TaskTransition
	line string
	err  bool
}

func clock(ms int64) string { return time.UnixMilli(ms).In(displayLoc).Format("15:04:05") }

// transitionLine is "12:00:01 accepted by agent" (with ": reason").
func transitionLine(tr *managev1.TaskTransition) string {
	s := clock(tr.GetTimeUnixMs()) + " " + taskStateLabel(tr.GetState())
	if tr.GetActor() != "" {
		s += " by " + tr.GetActor()
	}
	if tr.GetReason() != "" {
		s += ": " + tr.GetReason()
	}
	if tr.GetState() == managev1.TaskState_TASK_STATE_PROPOSED && tr.GetReason() == "" {
		s += " (awaiting client approval)"
	}
	return s
}

// print prints what d brings that was not printed yet.
func (f *follower) print(d *managev1.TaskDetail) {
	var evs []event
	trs := d.GetTransitions()
	for i := f.seen; i < len(trs); i++ {
		evs = append(evs, event{ms: trs[i].GetTimeUnixMs(), tr: trs[i]})
	}
	f.seen = max(f.seen, len(trs))
	for _, l := range d.GetOutput() {
		evs = append(evs, event{ms: l.GetTimeUnixMs(), line: l.GetLine(), err: l.GetStderr()})
	}
	if d.GetNextOutput() > f.cursor {
		f.cursor = d.GetNextOutput()
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].ms < evs[j].ms })
	for _, ev := range evs {
		switch {
		case ev.tr != nil:
			fmt.Fprintln(f.e.stdout, transitionLine(ev.tr))
		case ev.err:
			fmt.Fprintln(f.e.stderr, ev.line)
		default:
			fmt.Fprintln(f.e.stdout, ev.line)
		}
	}
	t := d.GetTask()
	p := progressText(t)
	if p != "" && p != f.progress && !finalState(t.GetState()) {
		fmt.Fprintf(f.e.stdout, "%s progress %s\n", clock(t.GetUpdatedUnixMs()), p)
	}
	f.progress = p
}

// progressText is "40%: downloading", "40%" or "downloading" ("" when
// nothing was reported; the controller's percent is -1 until then).
func progressText(t *managev1.Task) string {
	pct, msg := t.GetProgressPercent(), t.GetProgressMessage()
	switch {
	case pct <= 0 && msg == "":
		return ""
	case pct < 0:
		return msg
	case msg == "":
		return fmt.Sprintf("%d%%", pct)
	}
	return fmt.Sprintf("%d%%: %s", pct, msg)
}

// resultText is "ok, exit code 0: 3 updates installed".
func resultText(r *resultView) string {
	if r == nil {
		return "-"
	}
	s := "failed"
	if r.OK {
		s = "ok"
	}
	s += fmt.Sprintf(", exit code %d", r.ExitCode)
	if r.Summary != "" {
		s += ": " + r.Summary
	}
	return s
}

// maxOutputPerCall is the most output lines GetTask returns at once
// (TaskDetail.output); a full page means more is waiting.
const maxOutputPerCall = 5000

// followTask polls the task every pollEvery and prints what is new until
// it reaches a final state (then nil only for SUCCEEDED) or Ctrl-C.
func followTask(e *env, c *client.Client, id string) error {
	ctx, stop := notifyInterrupt(context.Background())
	defer stop()
	f := &follower{e: e}
	lastOK := time.Now()
	for {
		cctx, cancel := context.WithTimeout(ctx, e.timeout)
		d, err := c.GetTask(cctx, &managev1.GetTaskRequest{TaskId: id, OutputAfter: f.cursor})
		cancel()
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("stopped following; task %s goes on: watch it again with `vigilctl task show %s --follow`, cancel it with `vigilctl task cancel %s`", id, id, id)
		case status.Code(err) == codes.Unavailable && time.Since(lastOK) < e.timeout:
			// The controller restarts or the network blinks: keep polling.
		case err != nil:
			return err
		default:
			lastOK = time.Now()
			f.print(d)
			final, n := finalState(d.GetTask().GetState()), len(d.GetOutput())
			if final && n == 0 {
				return finalResult(e, taskOf(d.GetTask()))
			}
			if n >= maxOutputPerCall || final {
				continue // more output is waiting: read it now
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(pollEvery):
		}
	}
}

// finalResult prints a finished task's result; an error unless it
// succeeded.
func finalResult(e *env, v taskView) error {
	if v.Result != nil {
		fmt.Fprintf(e.stdout, "result: %s\n", resultText(v.Result))
	}
	if v.State == "succeeded" {
		return nil
	}
	if v.Reason != "" {
		return fmt.Errorf("task %s %s: %s", v.ID, v.State, v.Reason)
	}
	return fmt.Errorf("task %s %s", v.ID, v.State)
}
