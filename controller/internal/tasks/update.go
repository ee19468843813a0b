package tasks

import (
	"errors"
	"fmt"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Outcome says what ApplyUpdate did.
type Outcome struct {
	// Task is the task after the update; nil when the update was ignored.
	Task *storev1.TaskRecord
	// Ignored says why the update changed nothing (for the log); empty
	// when it was applied.
	Ignored string
}

// agentStates maps an agent's task state to the controller's.
var agentStates = map[agentv1.TaskState]managev1.TaskState{
	agentv1.TaskState_TASK_STATE_ACCEPTED:    Accepted,
	agentv1.TaskState_TASK_STATE_RUNNING:     Running,
	agentv1.TaskState_TASK_STATE_REBOOTING:   Running,
	agentv1.TaskState_TASK_STATE_SUCCEEDED:   Succeeded,
	agentv1.TaskState_TASK_STATE_FAILED:      Failed,
	agentv1.TaskState_TASK_STATE_CANCELLED:   Cancelled,
	agentv1.TaskState_TASK_STATE_REFUSED:     Refused,
	agentv1.TaskState_TASK_STATE_INTERRUPTED: Interrupted,
}

// allowedFrom lists, for each state an agent may report, the controller states
// it may follow. Everything not listed is ignored: an agent cannot take a
// task back (REFUSED after ACCEPTED is a replayed offer it refused), and
// never reports on a task it was not offered (PROPOSED). A task the
// controller expired after dispatching it follows the agent's word when
// the agent accepted it in time after all.
var allowedFrom = map[managev1.TaskState][]managev1.TaskState{
	Accepted:    {Scheduled, Dispatched, Expired},
	Running:     {Scheduled, Dispatched, Expired, Accepted, Running},
	Succeeded:   {Scheduled, Dispatched, Expired, Accepted, Running},
	Failed:      {Scheduled, Dispatched, Expired, Accepted, Running},
	Cancelled:   {Scheduled, Dispatched, Expired, Accepted, Running},
	Interrupted: {Scheduled, Dispatched, Expired, Accepted, Running},
	Refused:     {Scheduled, Dispatched},
}

func allowed(from, to managev1.TaskState, rec *storev1.TaskRecord) bool {
	for _, s := range allowedFrom[to] {
		if s == from && (from != Expired || expiredAfterDispatch(rec)) {
			return true
		}
	}
	return false
}

// expiredAfterDispatch reports whether an expired task had been offered.
func expiredAfterDispatch(rec *storev1.TaskRecord) bool {
	tr := rec.GetTransitions()
	return len(tr) >= 2 && managev1.TaskState(tr[len(tr)-2].GetState()) == Dispatched
}

// ApplyUpdate applies one task update an agent reported at reportMs (agent
// clock). The ingest writer calls it inside its transaction, so the
// update, its output and the agent's committed sequence are stored
// together. Updates for unknown tasks, another agent's tasks, tasks in a
// final state, and steps backwards are ignored (Outcome.Ignored says
// why). REBOOTING becomes RUNNING with reason "rebooting" and a reboot
// deadline RebootWait from now; a reboot task's SUCCEEDED counts only with
// a boot time later than the one recorded at acceptance. Output is stored
// up to MaxOutputBytes per task.
func ApplyUpdate(tx store.Tx, agentID string, reportMs int64, u *agentv1.TaskUpdate, now time.Time) (Outcome, error) {
	rec, err := schema.GetTask(tx, u.GetTaskId())
	if errors.Is(err, store.ErrNotFound) {
		return Outcome{Ignored: "unknown task " + u.GetTaskId()}, nil
	}
	if err != nil {
		return Outcome{}, err
	}
	if rec.GetAgentId() != agentID {
		return Outcome{Ignored: fmt.Sprintf("task %s belongs to agent %s", rec.GetId(), rec.GetAgentId())}, nil
	}
	to, ok := agentStates[u.GetState()]
	if !ok {
		return Outcome{Ignored: fmt.Sprintf("task %s: state %v", rec.GetId(), u.GetState())}, nil
	}
	from := State(rec)
	if from == to && !Final(to) {
		// More progress or output of the same step.
	} else if !allowed(from, to, rec) {
		return Outcome{Ignored: fmt.Sprintf("task %s: %s after %s", rec.GetId(), StateName(to), StateName(from))}, nil
	}
	at := min(reportMs, now.UnixMilli())
	if err := appendOutput(tx, rec, u.GetOutput(), u.GetOutputTruncated()); err != nil {
		return Outcome{}, err
	}
	if u.GetProgressPercent() != 0 || u.GetProgressMessage() != "" {
		rec.ProgressPercent, rec.ProgressMessage = u.GetProgressPercent(), u.GetProgressMessage()
	}
	if u.GetResult() != nil {
		rec.Result = u.GetResult()
	}
	// The boot time the agent's latest Hello announced: a rebooting report
	// queued before the reboot arrives after the agent came back. Read
	// only for the updates that need it, not for every output batch.
	helloBoot := func() int64 {
		if a, err := schema.GetAgent(tx, agentID); err == nil {
			return a.GetBootTimeUnix()
		}
		return 0
	}
	reason := u.GetReason()
	switch {
	case to == Accepted:
		rec.BootTimeUnix = u.GetBootTimeUnix()
		if rec.BootTimeUnix == 0 {
			rec.BootTimeUnix = helloBoot()
		}
	case u.GetState() == agentv1.TaskState_TASK_STATE_REBOOTING:
		reason = "rebooting"
		if rec.GetRebootDeadlineUnix() == 0 {
			rec.RebootDeadlineUnix = now.Add(RebootWait).Unix()
		}
		if boot := helloBoot(); rebooted(rec, boot) {
			to, reason = Succeeded, cameBackReason(boot)
		}
	case to == Succeeded && IsReboot(rec) && rec.GetBootTimeUnix() != 0 && !rebooted(rec, max(u.GetBootTimeUnix(), helloBoot())):
		// A reboot task succeeds only once the host has really restarted.
		to, reason = Running, "rebooting: waiting for the server to come back with a new boot time"
		if rec.GetRebootDeadlineUnix() == 0 {
			rec.RebootDeadlineUnix = now.Add(RebootWait).Unix()
		}
	}
	// A new transition is stored for a new state, and for a new reason
	// only a bounded number of times: an agent that changes the reason of
	// a running task at every update must not grow its record without end.
	if to != from || (reason != rec.GetReason() && len(rec.GetTransitions()) < MaxTransitions) {
		setState(rec, to, ActorAgent, reason, at)
		if ev := failureEvent(rec); ev != nil {
			ev.TimeUnixMs = now.UnixMilli()
			if err := schema.AppendEvent(tx, ev); err != nil {
				return Outcome{}, err
			}
		}
	} else {
		rec.UpdatedUnixMs = max(rec.GetUpdatedUnixMs(), at)
	}
	return Outcome{Task: rec}, schema.PutTask(tx, rec)
}

// appendOutput stores lines after the task's stored output, up to
// MaxOutputBytes.
func appendOutput(tx store.Tx, rec *storev1.TaskRecord, lines []*agentv1.OutputLine, agentTruncated bool) error {
	if agentTruncated {
		rec.OutputTruncated = true
	}
	keep := lines[:0:0]
	for _, l := range lines {
		// A line costs its text and a record of its own: empty lines
		// count too, and so does their number.
		n := uint64(len(l.GetLine())) + outputLineOverhead
		if rec.GetOutputBytes()+n > MaxOutputBytes || rec.GetOutputLines()+uint64(len(keep)) >= MaxOutputLines {
			rec.OutputTruncated = true
			break
		}
		rec.OutputBytes += n
		keep = append(keep, l)
	}
	if len(keep) == 0 {
		return nil
	}
	if err := schema.AppendTaskOutput(tx, rec.GetId(), rec.GetOutputLines()+1, keep); err != nil {
		return err
	}
	rec.OutputLines += uint64(len(keep))
	return nil
}

var eventKinds = map[managev1.TaskState]string{
	Failed:      schema.EventTaskFailed,
	Refused:     schema.EventTaskRefused,
	Interrupted: schema.EventTaskInterrupted,
	Expired:     schema.EventTaskExpired,
}

// failureEvent returns the event a task's new state deserves, if any.
func failureEvent(rec *storev1.TaskRecord) *schema.Event {
	kind, ok := eventKinds[State(rec)]
	if !ok {
		return nil
	}
	return &schema.Event{Kind: kind, Tenant: rec.GetTenant(), AgentID: rec.GetAgentId(), TaskID: rec.GetId(),
		Message: fmt.Sprintf("task %s (%s) on %s: %s: %s", rec.GetId(), rec.GetPlugin(), rec.GetAgentId(), StateName(State(rec)), rec.GetReason())}
}

// ApplyPlugins stores an agent's plugin list reported at reportMs.
func ApplyPlugins(tx store.Tx, agentID string, reportMs int64, pl *agentv1.PluginList) error {
	return schema.PutPluginList(tx, agentID, &storev1.PluginListRecord{Plugins: pl, ReportedUnixMs: reportMs})
}

func cameBackReason(boot int64) string {
	return "the server came back at " + time.Unix(boot, 0).UTC().Format(time.RFC3339)
}

// rebooted reports whether boot is a boot time later than the one recorded
// when the task was accepted, by more than BootTimeSlack. Without a
// recorded boot time nothing can be concluded.
func rebooted(rec *storev1.TaskRecord, boot int64) bool {
	return rec.GetBootTimeUnix() != 0 && boot > rec.GetBootTimeUnix()+int64(BootTimeSlack/time.Second)
}
