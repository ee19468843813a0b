package tasks_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	"github.com/vigil-rmm/vigil/controller/internal/tasks"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

const (
	aAccepted    = agentv1.TaskState_TASK_STATE_ACCEPTED
	aRunning     = agentv1.TaskState_TASK_STATE_RUNNING
	aRebooting   = agentv1.TaskState_TASK_STATE_REBOOTING
	aSucceeded   = agentv1.TaskState_TASK_STATE_SUCCEEDED
	aFailed      = agentv1.TaskState_TASK_STATE_FAILED
	aCancelled   = agentv1.TaskState_TASK_STATE_CANCELLED
	aRefused     = agentv1.TaskState_TASK_STATE_REFUSED
	aInterrupted = agentv1.TaskState_TASK_STATE_INTERRUPTED
)

// TestStateMachine applies each agent state to a task in each controller
// state: the result is the mapped state, or no change (ignored).
func TestStateMachine(t *testing.T) {
	type c struct {
		from managev1.TaskState
		upd  agentv1.TaskState
		want managev1.TaskState // UNSPECIFIED: ignored
	}
	const ignored = managev1.TaskState_TASK_STATE_UNSPECIFIED
	cases := []c{
		{tasks.Dispatched, aAccepted, tasks.Accepted},
		{tasks.Scheduled, aAccepted, tasks.Accepted}, // the offer raced its own commit
		{tasks.Dispatched, aRefused, tasks.Refused},
		{tasks.Accepted, aRunning, tasks.Running},
		{tasks.Running, aRunning, tasks.Running},
		{tasks.Running, aRebooting, tasks.Running},
		{tasks.Running, aSucceeded, tasks.Succeeded},
		{tasks.Running, aFailed, tasks.Failed},
		{tasks.Running, aCancelled, tasks.Cancelled},
		{tasks.Running, aInterrupted, tasks.Interrupted},
		{tasks.Accepted, aSucceeded, tasks.Succeeded},
		{tasks.Dispatched, aSucceeded, tasks.Succeeded}, // earlier reports lost: the agent's word counts
		{tasks.Accepted, aRefused, ignored},             // a replayed offer refused after acceptance
		{tasks.Running, aRefused, ignored},
		{tasks.Running, aAccepted, ignored}, // no step back
		{tasks.Proposed, aAccepted, ignored},
		{tasks.Proposed, aSucceeded, ignored},
		{tasks.Succeeded, aFailed, ignored},
		{tasks.Failed, aSucceeded, ignored},
		{tasks.Cancelled, aRunning, ignored},
		{tasks.Refused, aAccepted, ignored},
		{tasks.Interrupted, aSucceeded, ignored},
		{tasks.Succeeded, aSucceeded, ignored},
		{tasks.Expired, aAccepted, ignored}, // expired before it was ever offered
	}
	r := newRig(t)
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s+%s", tasks.StateName(tc.from), tc.upd), func(t *testing.T) {
			rec, _ := r.mustCreate(agentA, "acme", "script", false)
			r.setState(rec.GetId(), tc.from)
			before := r.get(rec.GetId())
			out := r.apply(agentA, upd(rec.GetId(), tc.upd))
			after := r.get(rec.GetId())
			want := tc.want
			if want == ignored {
				want = tc.from
			}
			if state(after) != want || (tc.want == ignored) != (out.Ignored != "") {
				t.Fatalf("now %s (ignored %q), want %s", tasks.StateName(state(after)), out.Ignored, tasks.StateName(want))
			}
			if tc.want == ignored && len(after.GetTransitions()) != len(before.GetTransitions()) {
				t.Fatalf("an ignored update added a transition")
			}
			queued := false
			_ = r.st.View(t.Context(), func(tx store.Tx) error {
				q, err := schema.ListAgentQueue(tx, agentA)
				for _, s := range q {
					queued = queued || s.GetId() == rec.GetId()
				}
				return err
			})
			if queued == tasks.Final(want) {
				t.Fatalf("queue index says queued=%v for a %s task", queued, tasks.StateName(want))
			}
		})
	}
}

func TestUpdateDetails(t *testing.T) {
	r := newRig(t)
	rec, _ := r.mustCreate(agentA, "acme", "script", false)
	r.setState(rec.GetId(), tasks.Dispatched)

	if out := r.apply(agentB, upd(rec.GetId(), aAccepted)); !strings.Contains(out.Ignored, "belongs to agent") {
		t.Fatalf("another agent's update: %+v", out)
	}
	if out := r.apply(agentA, upd("tk-unknown-task", aAccepted)); !strings.Contains(out.Ignored, "unknown task") {
		t.Fatalf("unknown task: %+v", out)
	}
	acc := upd(rec.GetId(), aAccepted)
	acc.BootTimeUnix = bootA
	r.apply(agentA, acc)
	run := upd(rec.GetId(), aRunning)
	run.ProgressPercent, run.ProgressMessage = 40, "installing"
	run.Output = []*agentv1.OutputLine{{Line: "one"}, {Line: "two", Stderr: true}}
	r.apply(agentA, run)
	done := upd(rec.GetId(), aFailed)
	done.Reason = "exit status 3"
	done.Result = &agentv1.TaskResult{ExitCode: 3, Summary: "script failed"}
	done.Output = []*agentv1.OutputLine{{Line: "three"}}
	r.apply(agentA, done)

	got := r.get(rec.GetId())
	if state(got) != tasks.Failed || got.GetReason() != "exit status 3" || got.GetResult().GetExitCode() != 3 ||
		got.GetProgressPercent() != 40 || got.GetProgressMessage() != "installing" || got.GetOutputLines() != 3 ||
		got.GetBootTimeUnix() != bootA {
		t.Fatalf("task %v", got)
	}
	var actors []string
	for _, tr := range got.GetTransitions() {
		actors = append(actors, tasks.StateName(managev1.TaskState(tr.GetState()))+"/"+tr.GetActor())
	}
	if fmt.Sprint(actors) != "[scheduled/alice dispatched/test accepted/agent running/agent failed/agent]" {
		t.Fatalf("transitions %v", actors)
	}
	_ = r.st.View(t.Context(), func(tx store.Tx) error {
		lines, next, err := schema.ListTaskOutput(tx, rec.GetId(), 0, 10, 1<<20)
		if len(lines) != 3 || next != 3 || lines[2].GetLine() != "three" || !lines[1].GetStderr() {
			t.Errorf("output %v next %d", lines, next)
		}
		evs, _ := schema.ListEvents(tx, 0, 10)
		if len(evs) != 1 || evs[0].Kind != schema.EventTaskFailed || evs[0].TaskID != rec.GetId() {
			t.Errorf("events %+v", evs)
		}
		return err
	})
}

// TestEmptyLinesAreCapped: empty lines count against the cap too (each is
// a record), so a flood of them is truncated.
func TestEmptyLinesAreCapped(t *testing.T) {
	r := newRig(t)
	rec, _ := r.mustCreate(agentA, "acme", "script", false)
	r.setState(rec.GetId(), tasks.Running)
	for range 80 {
		u := upd(rec.GetId(), aRunning)
		for range 1000 {
			u.Output = append(u.Output, &agentv1.OutputLine{})
		}
		r.apply(agentA, u)
	}
	got := r.get(rec.GetId())
	if !got.GetOutputTruncated() || got.GetOutputLines() > tasks.MaxOutputBytes/16 {
		t.Fatalf("stored %d empty lines, truncated %v", got.GetOutputLines(), got.GetOutputTruncated())
	}
}

// TestReasonChurnIsBounded: an agent changing the reason of a running task
// at every update cannot grow the task record without end.
func TestReasonChurnIsBounded(t *testing.T) {
	r := newRig(t)
	rec, _ := r.mustCreate(agentA, "acme", "script", false)
	r.setState(rec.GetId(), tasks.Running)
	for i := range 500 {
		u := upd(rec.GetId(), aRunning)
		u.Reason = fmt.Sprintf("step %d %s", i, strings.Repeat("x", 900))
		r.apply(agentA, u)
	}
	if n := len(r.get(rec.GetId()).GetTransitions()); n > tasks.MaxTransitions+2 {
		t.Fatalf("%d transitions after 500 reason changes", n)
	}
}

// TestOutputCap: output past MaxOutputBytes is dropped and the task marked
// truncated; the state still moves.
func TestOutputCap(t *testing.T) {
	r := newRig(t)
	rec, _ := r.mustCreate(agentA, "acme", "script", false)
	r.setState(rec.GetId(), tasks.Running)
	line := strings.Repeat("x", 4096)
	per := 1000
	sent := 0
	for sent*len(line) <= tasks.MaxOutputBytes+len(line) {
		u := upd(rec.GetId(), aRunning)
		for range per {
			u.Output = append(u.Output, &agentv1.OutputLine{Line: line})
		}
		sent += per
		r.apply(agentA, u)
	}
	u := upd(rec.GetId(), aSucceeded)
	u.Output = []*agentv1.OutputLine{{Line: "last"}}
	r.apply(agentA, u)
	got := r.get(rec.GetId())
	// Each line counts its text and a 16-byte record overhead.
	if !got.GetOutputTruncated() || got.GetOutputBytes() > tasks.MaxOutputBytes || got.GetOutputLines() != uint64(tasks.MaxOutputBytes/(len(line)+16)) ||
		state(got) != tasks.Succeeded {
		t.Fatalf("lines %d bytes %d truncated %v state %s", got.GetOutputLines(), got.GetOutputBytes(), got.GetOutputTruncated(),
			tasks.StateName(state(got)))
	}
	// The agent's own truncation flag is kept too.
	rec2, _ := r.mustCreate(agentA, "acme", "script", false)
	r.setState(rec2.GetId(), tasks.Running)
	u = upd(rec2.GetId(), aRunning)
	u.OutputTruncated = true
	r.apply(agentA, u)
	if !r.get(rec2.GetId()).GetOutputTruncated() {
		t.Fatal("agent's output_truncated lost")
	}
}

// TestRebootSucceedsOnLaterBoot: REBOOTING sets a deadline; the agent's
// SUCCEEDED without a new boot time is not believed; its reconnect with a
// later boot time settles the task.
func TestRebootSucceedsOnLaterBoot(t *testing.T) {
	r := newRig(t)
	rec, st := r.mustCreate(agentA, "acme", "reboot", true)
	r.update(func(tx store.Tx) error {
		_, err := tasks.Approve(tx, rec.GetId(), r.carol.Approve(st), principals["carol"], r.now)
		return err
	})
	out, detach := r.online(agentA, bootA, tasks.Capability)
	r.tick()
	if ms := received(out); len(ms) != 1 || ms[0].GetTask() == nil {
		t.Fatalf("offers %v", ms)
	}
	acc := upd(rec.GetId(), aAccepted)
	acc.BootTimeUnix = bootA
	r.apply(agentA, acc)
	reb := upd(rec.GetId(), aRebooting)
	reb.BootTimeUnix = bootA
	r.apply(agentA, reb)
	got := r.get(rec.GetId())
	if state(got) != tasks.Running || got.GetReason() != "rebooting" || got.GetRebootDeadlineUnix() != r.now.Add(tasks.RebootWait).Unix() {
		t.Fatalf("rebooting: %v", got)
	}
	detach()

	// An early SUCCEEDED with the old boot time does not count.
	early := upd(rec.GetId(), aSucceeded)
	early.BootTimeUnix = bootA
	r.apply(agentA, early)
	if got := r.get(rec.GetId()); state(got) != tasks.Running {
		t.Fatalf("success without a new boot time accepted: %v", got)
	}
	// A reconnect with the same boot time (a network blip) settles nothing.
	r.now = r.now.Add(time.Minute)
	_, detach = r.online(agentA, bootA, tasks.Capability)
	r.tick()
	detach()
	if got := r.get(rec.GetId()); state(got) != tasks.Running {
		t.Fatalf("reconnect without reboot: %v", got)
	}
	r.now = r.now.Add(3 * time.Minute)
	_, detach = r.online(agentA, bootA+240, tasks.Capability)
	defer detach()
	r.tick()
	got = r.get(rec.GetId())
	if state(got) != tasks.Succeeded || !strings.Contains(got.GetReason(), "came back at "+time.Unix(bootA+240, 0).UTC().Format(time.RFC3339)) {
		t.Fatalf("after reboot: %v", got)
	}
	// The agent's own SUCCEEDED arriving afterwards changes nothing.
	late := upd(rec.GetId(), aSucceeded)
	late.BootTimeUnix = bootA + 240
	if out := r.apply(agentA, late); out.Ignored == "" {
		t.Fatal("a second success was applied")
	}
}

// TestRebootDeadline: a rebooting task whose agent does not come back fails
// after RebootWait and records an event.
func TestRebootDeadline(t *testing.T) {
	r := newRig(t)
	rec, _ := r.mustCreate(agentA, "acme", "reboot", false)
	r.setState(rec.GetId(), tasks.Dispatched)
	acc := upd(rec.GetId(), aAccepted)
	acc.BootTimeUnix = bootA
	r.apply(agentA, acc)
	r.apply(agentA, upd(rec.GetId(), aRebooting))

	r.now = r.now.Add(tasks.RebootWait)
	r.tick()
	if got := r.get(rec.GetId()); state(got) != tasks.Running {
		t.Fatalf("failed at the deadline itself: %v", got)
	}
	r.now = r.now.Add(time.Second)
	r.tick()
	got := r.get(rec.GetId())
	if state(got) != tasks.Failed || got.GetReason() != "the server did not come back within 30m0s" ||
		got.GetTransitions()[len(got.GetTransitions())-1].GetActor() != tasks.ActorController {
		t.Fatalf("after the deadline: %v", got)
	}
	_ = r.st.View(t.Context(), func(tx store.Tx) error {
		evs, err := schema.ListEvents(tx, 0, 10)
		if len(evs) != 1 || evs[0].Kind != schema.EventRebootTimeout || evs[0].AgentID != agentA {
			t.Errorf("events %+v", evs)
		}
		return err
	})
}

// TestPluginList: the latest list is stored as reported.
func TestPluginList(t *testing.T) {
	r := newRig(t)
	r.update(func(tx store.Tx) error {
		return tasks.ApplyPlugins(tx, agentA, 1234, &agentv1.PluginList{Tier: "proactive", Plugins: []*agentv1.PluginInfo{{Name: "reboot"}}})
	})
	_ = r.st.View(context.Background(), func(tx store.Tx) error {
		pl, err := schema.GetPluginList(tx, agentA)
		if err != nil || pl.GetReportedUnixMs() != 1234 || pl.GetPlugins().GetPlugins()[0].GetName() != "reboot" {
			t.Errorf("%v %v", pl, err)
		}
		return nil
	})
}

// TestRebootingReportAfterReturn: the agent came back (its Hello stored a
// later boot time) before the REBOOTING report it queued earlier arrived:
// that report settles the task at once. A boot time within the slack does
// not count as a reboot.
func TestRebootingReportAfterReturn(t *testing.T) {
	r := newRig(t)
	rec, _ := r.mustCreate(agentA, "acme", "reboot", false)
	r.setState(rec.GetId(), tasks.Dispatched)
	acc := upd(rec.GetId(), aAccepted)
	acc.BootTimeUnix = bootA
	r.apply(agentA, acc)
	setBoot := func(boot int64) {
		r.update(func(tx store.Tx) error {
			a, err := schema.GetAgent(tx, agentA)
			if err != nil {
				return err
			}
			a.BootTimeUnix = boot
			return schema.PutAgent(tx, a)
		})
	}
	setBoot(bootA + 2) // the same boot, read a little differently
	r.apply(agentA, upd(rec.GetId(), aRebooting))
	if got := r.get(rec.GetId()); state(got) != tasks.Running {
		t.Fatalf("boot time within the slack counted as a reboot: %v", got)
	}
	setBoot(bootA + 300)
	r.apply(agentA, upd(rec.GetId(), aRebooting))
	if got := r.get(rec.GetId()); state(got) != tasks.Succeeded || !strings.Contains(got.GetReason(), "came back") {
		t.Fatalf("rebooting report after the agent came back: %v", got)
	}
}
