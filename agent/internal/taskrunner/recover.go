package taskrunner

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-rmm/vigil/agent/internal/journal"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// BootTolerance is how far two boot time readings may differ and still
// name the same boot (Windows derives it from the uptime, which drifts by
// a second).
const BootTolerance = 10 * time.Second

// recoverJournal settles the tasks a previous run of the agent left
// unfinished; see the package doc.
func (r *Runner) recoverJournal(ctx context.Context) error {
	entries, err := r.cfg.Journal.Unfinished(ctx)
	if err != nil {
		return fmt.Errorf("taskrunner: read journal: %w", err)
	}
	for _, e := range entries {
		switch e.State {
		case agentv1.TaskState_TASK_STATE_ACCEPTED, agentv1.TaskState_TASK_STATE_RUNNING:
			r.log.WarnContext(ctx, "task was running when the agent stopped; reporting it interrupted", "task_id", e.ID, "plugin", e.Plugin)
			r.finish(ctx, e.ID, &agentv1.TaskUpdate{State: agentv1.TaskState_TASK_STATE_INTERRUPTED, Reason: ReasonInterrupted})
		case agentv1.TaskState_TASK_STATE_REBOOTING:
			r.checkReboot(ctx, e)
		}
	}
	return nil
}

// checkReboots settles REBOOTING tasks whose wait ran out.
func (r *Runner) checkReboots(ctx context.Context) {
	entries, err := r.cfg.Journal.Unfinished(ctx)
	if err != nil {
		r.log.WarnContext(ctx, "read journal", "err", err)
		return
	}
	for _, e := range entries {
		if e.State == agentv1.TaskState_TASK_STATE_REBOOTING {
			r.checkReboot(ctx, e)
		}
	}
}

// checkReboot succeeds a REBOOTING task when the boot time changed, fails
// it when its not-after time plus its timeout passed, and leaves it
// otherwise.
func (r *Runner) checkReboot(ctx context.Context, e *journal.Entry) {
	boot := r.cfg.BootTime()
	u := e.LastUpdate()
	if u == nil {
		u = &agentv1.TaskUpdate{}
	}
	u.Output, u.OutputTruncated = nil, false
	d := time.Duration(boot-e.BootTime) * time.Second
	switch {
	case boot != 0 && e.BootTime != 0 && (d > BootTolerance || d < -BootTolerance):
		// Zero is an unreadable boot time: it proves nothing.
		u.State = agentv1.TaskState_TASK_STATE_SUCCEEDED
		u.Reason = "the server restarted at " + time.Unix(boot, 0).UTC().Format(time.RFC3339)
		r.log.InfoContext(ctx, "reboot task succeeded", "task_id", e.ID, "boot_time", boot, "previous_boot_time", e.BootTime)
	case r.cfg.Now().Unix() > e.NotAfter+e.Timeout:
		u.State, u.Reason = agentv1.TaskState_TASK_STATE_FAILED, ReasonNoReboot
		if u.Result != nil {
			u.Result.Ok = false
		}
		r.log.WarnContext(ctx, "reboot task failed: the server did not restart", "task_id", e.ID)
	default:
		return
	}
	r.finish(ctx, e.ID, u)
}
