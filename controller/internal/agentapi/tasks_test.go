package agentapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/controller/controllertest"
	"github.com/vigil-rmm/vigil/internal/envelope"
	"github.com/vigil-rmm/vigil/internal/pin"
	"github.com/vigil-rmm/vigil/internal/version"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	trustv1 "github.com/vigil-rmm/vigil/proto/vigil/trust/v1"
)

// fakeAgent speaks the real protocol over a real stream: Hello with a tier
// and a boot time, reports with sequence numbers, and it records what the
// controller sends.
type fakeAgent struct {
	t      *testing.T
	stream agentv1.AgentService_ConnectClient
	in     chan *agentv1.ControllerMessage
	seq    uint64
	cancel context.CancelFunc
}

func dialAgent(t *testing.T, c *controllertest.Controller, a *controllertest.Agent, tier string, boot int64, seq uint64) *fakeAgent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	s, err := c.AgentClient(t, a.TLS).Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeAgent{t: t, stream: s, in: make(chan *agentv1.ControllerMessage, 64), seq: seq, cancel: cancel}
	t.Cleanup(f.close)
	if err := s.Send(&agentv1.AgentMessage{Msg: &agentv1.AgentMessage_Hello{Hello: &agentv1.Hello{
		ProtocolVersion: version.Protocol, Capabilities: []string{"metrics", "tasks"}, AgentVersion: "test", BootTimeUnix: boot, Tier: tier}}}); err != nil {
		t.Fatal(err)
	}
	m, err := s.Recv()
	if err != nil || m.GetWelcome() == nil {
		t.Fatalf("welcome: %v %v", m, err)
	}
	go func() {
		defer close(f.in)
		for {
			m, err := s.Recv()
			if err != nil {
				return
			}
			f.in <- m
		}
	}()
	return f
}

func (f *fakeAgent) close() {
	f.cancel()
	for range f.in {
	}
}

// await returns the first message that match accepts, within 10 s.
func (f *fakeAgent) await(what string, match func(*agentv1.ControllerMessage) bool) *agentv1.ControllerMessage {
	f.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-f.in:
			if !ok {
				f.t.Fatalf("stream ended waiting for %s", what)
			}
			if match(m) {
				return m
			}
		case <-timeout:
			f.t.Fatalf("no %s within 10s", what)
		}
	}
}

// report sends bodies as the next reports and waits for their ack.
func (f *fakeAgent) report(bodies ...any) {
	f.t.Helper()
	for _, b := range bodies {
		f.seq++
		r := &agentv1.Report{Seq: f.seq, TimeUnixMs: time.Now().UnixMilli()}
		switch b := b.(type) {
		case *agentv1.TaskUpdate:
			r.Body = &agentv1.Report_Task{Task: b}
		case *agentv1.PluginList:
			r.Body = &agentv1.Report_Plugins{Plugins: b}
		}
		if err := f.stream.Send(&agentv1.AgentMessage{Msg: &agentv1.AgentMessage_Report{Report: r}}); err != nil {
			f.t.Fatal(err)
		}
	}
	want := f.seq
	f.await("ack", func(m *agentv1.ControllerMessage) bool { return m.GetAck().GetSeq() >= want })
}

// decodeOffer returns the signed task a task offer carries and the task
// inside it.
func decodeOffer(m *agentv1.ControllerMessage) (*trustv1.SignedTask, *trustv1.Task, error) {
	var st trustv1.SignedTask
	var tk trustv1.Task
	if err := proto.Unmarshal(m.GetTask().GetSignedTask(), &st); err != nil {
		return nil, nil, err
	}
	if err := proto.Unmarshal(st.GetTask(), &tk); err != nil {
		return nil, nil, err
	}
	return &st, &tk, nil
}

func offerOf(t *testing.T, m *agentv1.ControllerMessage) (*trustv1.SignedTask, *trustv1.Task) {
	t.Helper()
	st, tk, err := decodeOffer(m)
	if err != nil {
		t.Fatal(err)
	}
	return st, tk
}

func isOffer(id string) func(*agentv1.ControllerMessage) bool {
	return func(m *agentv1.ControllerMessage) bool {
		if m.GetTask() == nil {
			return false
		}
		_, tk, err := decodeOffer(m)
		return err == nil && tk.GetTaskId() == id
	}
}

type taskRig struct {
	c     *controllertest.Controller
	agent *controllertest.Agent
	trust *controllertest.Trust
	alice *controllertest.Signer
	tech  managev1.ManageServiceClient
}

func newTaskRig(t *testing.T) *taskRig {
	t.Helper()
	c := controllertest.Start(t)
	c.Tenant(t, "acme")
	r := &taskRig{c: c, agent: c.EnrollAgent(t, "acme", "web1"), trust: controllertest.NewTrust(t)}
	r.tech = c.Client(t, c.Principal(t, "alice", managev1.Role_ROLE_TECHNICIAN, ""))
	c.SetTrustRoot(t, r.trust)
	r.alice = r.trust.Certify(t, "alice", envelope.RoleTechnician, "", time.Now())
	c.Register(t, r.alice)
	return r
}

func (r *taskRig) create(t *testing.T, plugin string) *managev1.Task {
	t.Helper()
	st := r.alice.Sign(t, controllertest.NewTask(r.agent.ID, "acme", plugin, time.Now(), false))
	task, err := r.tech.CreateTask(context.Background(), &managev1.CreateTaskRequest{SignedTask: controllertest.Marshal(t, st)})
	if err != nil {
		t.Fatalf("create task: %v", err)
	}
	return task
}

func (r *taskRig) get(t *testing.T, id string, after uint64) *managev1.TaskDetail {
	t.Helper()
	d, err := r.tech.GetTask(context.Background(), &managev1.GetTaskRequest{TaskId: id, OutputAfter: after})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// waitState polls GetTask until the task is in want.
func (r *taskRig) waitState(t *testing.T, id string, want managev1.TaskState) *managev1.TaskDetail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d := r.get(t, id, 0)
		if d.GetTask().GetState() == want {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s is %v, want %v", id, d.GetTask().GetState(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTaskOverStream: an agent speaking the real protocol is offered a
// task, and its updates, output, result and plugin list are stored.
func TestTaskOverStream(t *testing.T) {
	r := newTaskRig(t)
	ctx := context.Background()
	const boot = 1_700_000_000
	f := dialAgent(t, r.c, r.agent, "proactive", boot, 0)
	ag, err := r.c.Admin(t).GetAgent(ctx, &managev1.GetAgentRequest{Id: r.agent.ID})
	if err != nil || ag.GetAgent().GetTier() != "proactive" {
		t.Fatalf("agent view %v %v: want tier proactive", ag, err)
	}

	task := r.create(t, "script")
	if task.GetState() != managev1.TaskState_TASK_STATE_SCHEDULED || task.GetHostname() != "web1" {
		t.Fatalf("created %v", task)
	}
	st, tk := offerOf(t, f.await("task offer", isOffer(task.GetId())))
	// What the agent gets verifies against the root it pinned.
	digest, _ := pin.Parse(r.trust.Fingerprint)
	if _, err := envelope.Verify(st, envelope.Policy{RootPin: digest, AgentID: r.agent.ID, Tenant: "acme", Now: time.Now()}); err != nil {
		t.Fatalf("offered task does not verify: %v", err)
	}
	if tk.GetPlugin() != "script" {
		t.Fatalf("offered %v", tk)
	}
	r.waitState(t, task.GetId(), managev1.TaskState_TASK_STATE_DISPATCHED)

	f.report(
		&agentv1.TaskUpdate{TaskId: task.GetId(), State: agentv1.TaskState_TASK_STATE_ACCEPTED, BootTimeUnix: boot},
		&agentv1.TaskUpdate{TaskId: task.GetId(), State: agentv1.TaskState_TASK_STATE_RUNNING, ProgressPercent: 50, ProgressMessage: "half",
			Output: []*agentv1.OutputLine{{Line: "hello"}, {Line: "\x1b[1mbold\x1b[0m", Stderr: true}}},
	)
	d := r.get(t, task.GetId(), 0)
	if d.GetTask().GetState() != managev1.TaskState_TASK_STATE_RUNNING || len(d.GetOutput()) != 2 || d.GetNextOutput() != 2 ||
		d.GetTask().GetProgressMessage() != "half" || strings.Contains(d.GetOutput()[1].GetLine(), "\x1b") {
		t.Fatalf("running: %v", d)
	}
	f.report(&agentv1.TaskUpdate{TaskId: task.GetId(), State: agentv1.TaskState_TASK_STATE_SUCCEEDED,
		Output: []*agentv1.OutputLine{{Line: "done"}}, Result: &agentv1.TaskResult{Ok: true, Summary: "ran"}},
		&agentv1.PluginList{Tier: "proactive", Plugins: []*agentv1.PluginInfo{{Name: "script", Version: "1.0", ChecksumOk: true}}})
	d = r.get(t, task.GetId(), 2)
	if d.GetTask().GetState() != managev1.TaskState_TASK_STATE_SUCCEEDED || len(d.GetOutput()) != 1 || d.GetOutput()[0].GetLine() != "done" ||
		d.GetNextOutput() != 3 || !d.GetTask().GetResult().GetOk() || len(d.GetTransitions()) != 5 {
		t.Fatalf("succeeded: %v", d)
	}
	pl, err := r.tech.ListPlugins(ctx, &managev1.ListPluginsRequest{AgentId: r.agent.ID})
	if err != nil || len(pl.GetPlugins().GetPlugins()) != 1 || pl.GetReportedUnixMs() == 0 {
		t.Fatalf("plugins %v %v", pl, err)
	}
}

// TestRebootOverStream: a reboot task succeeds when the agent reconnects
// with a later boot time, and a cancel reaches the agent on the stream.
func TestRebootOverStream(t *testing.T) {
	r := newTaskRig(t)
	const boot = 1_700_000_000
	f := dialAgent(t, r.c, r.agent, "proactive", boot, 0)
	task := r.create(t, "reboot")
	f.await("reboot offer", isOffer(task.GetId()))
	f.report(&agentv1.TaskUpdate{TaskId: task.GetId(), State: agentv1.TaskState_TASK_STATE_ACCEPTED, BootTimeUnix: boot},
		&agentv1.TaskUpdate{TaskId: task.GetId(), State: agentv1.TaskState_TASK_STATE_REBOOTING, BootTimeUnix: boot})
	d := r.get(t, task.GetId(), 0)
	if d.GetTask().GetState() != managev1.TaskState_TASK_STATE_RUNNING || d.GetTask().GetReason() != "rebooting" {
		t.Fatalf("rebooting: %v", d.GetTask())
	}
	f.close()

	f = dialAgent(t, r.c, r.agent, "proactive", boot+90, f.seq)
	d = r.waitState(t, task.GetId(), managev1.TaskState_TASK_STATE_SUCCEEDED)
	if !strings.Contains(d.GetTask().GetReason(), "came back at") {
		t.Fatalf("after reboot: %v", d.GetTask())
	}

	// Cancel a running task: the agent gets TaskCancel and reports.
	run := r.create(t, "script")
	f.await("offer", isOffer(run.GetId()))
	f.report(&agentv1.TaskUpdate{TaskId: run.GetId(), State: agentv1.TaskState_TASK_STATE_ACCEPTED, BootTimeUnix: boot + 90})
	if _, err := r.tech.CancelTask(context.Background(), &managev1.CancelTaskRequest{TaskId: run.GetId(), Reason: "wrong box"}); err != nil {
		t.Fatal(err)
	}
	m := f.await("cancel", func(m *agentv1.ControllerMessage) bool { return m.GetCancel().GetTaskId() == run.GetId() })
	if m.GetCancel().GetReason() != "cancelled by alice: wrong box" {
		t.Fatalf("cancel %v", m)
	}
	f.report(&agentv1.TaskUpdate{TaskId: run.GetId(), State: agentv1.TaskState_TASK_STATE_CANCELLED, Reason: "cancelled by alice: wrong box"})
	r.waitState(t, run.GetId(), managev1.TaskState_TASK_STATE_CANCELLED)
}

// TestMonitorOnlyRefused: once the agent announced monitor-only, the
// controller refuses to create tasks for it.
func TestMonitorOnlyRefused(t *testing.T) {
	r := newTaskRig(t)
	f := dialAgent(t, r.c, r.agent, "monitor-only", 1, 0)
	defer f.close()
	st := r.alice.Sign(t, controllertest.NewTask(r.agent.ID, "acme", "script", time.Now(), false))
	_, err := r.tech.CreateTask(context.Background(), &managev1.CreateTaskRequest{SignedTask: controllertest.Marshal(t, st)})
	if status.Code(err) != codes.FailedPrecondition ||
		!strings.Contains(err.Error(), "agent "+r.agent.ID+" is monitor-only: its client has not allowed actions") {
		t.Fatalf("got %v", err)
	}
}
