//go:build unix

package taskrunner_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/agent/internal/journal"
	"github.com/vigil-rmm/vigil/agent/internal/link"
	"github.com/vigil-rmm/vigil/agent/internal/outbox"
	"github.com/vigil-rmm/vigil/agent/internal/pluginhost"
	"github.com/vigil-rmm/vigil/agent/internal/taskrunner"
	"github.com/vigil-rmm/vigil/controller/controllertest"
	"github.com/vigil-rmm/vigil/internal/envelope"
	"github.com/vigil-rmm/vigil/internal/logging"
	"github.com/vigil-rmm/vigil/internal/pin"
	"github.com/vigil-rmm/vigil/internal/version"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// agentStack is the agent's task path as vigil-agent wires it: outbox,
// journal, plugin host with the real reboot plugin, task runner and link,
// against a real controller. boot is the host boot time the stack reports.
type agentStack struct {
	cancel context.CancelFunc
	done   chan struct{}
	ob     *outbox.Outbox
	jr     *journal.Journal
	host   *pluginhost.Host
}

func startStack(t *testing.T, c *controllertest.Controller, a *controllertest.Agent, dir, rootFP string, boot int64) *agentStack {
	t.Helper()
	rootPin, err := pin.Parse(rootFP)
	if err != nil {
		t.Fatal(err)
	}
	ob, err := outbox.Open(filepath.Join(dir, "outbox.db"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	jr, err := journal.Open(filepath.Join(dir, "journal.db"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	host, err := pluginhost.New(pluginhost.Config{Dir: filepath.Join(dir, "plugins"), Manifest: filepath.Join(dir, "plugins", "manifest.json"),
		Env: []string{"VIGIL_REBOOT_COMMAND=" + filepath.Join(dir, "fake-reboot")}, Logger: logging.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	bootFn := func() int64 { return boot }
	runner, err := taskrunner.New(taskrunner.Config{Journal: jr, Plugins: taskrunner.HostPlugins{Host: host}, Outbox: ob,
		Tier: "proactive", RootPin: rootPin, AgentID: a.ID, Tenant: a.Tenant, BootTime: bootFn,
		PluginsFile: filepath.Join(dir, "plugins.sha256"), Logger: logging.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	lk := link.New(link.Config{
		Address: c.AgentAddr, TLS: a.TLS.Clone(), Outbox: ob, Logger: logging.Discard(),
		BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		Hello: func() *agentv1.Hello {
			return &agentv1.Hello{ProtocolVersion: version.Protocol, AgentVersion: "test", Tier: "proactive", BootTimeUnix: boot,
				Capabilities: []string{"metrics", "tasks"}}
		},
		OnTask:   func(o *agentv1.TaskOffer) { runner.Offer(o.GetSignedTask()) },
		OnCancel: func(x *agentv1.TaskCancel) { runner.Cancel(x.GetTaskId(), x.GetReason()) },
	})
	ctx, cancel := context.WithCancel(context.Background())
	s := &agentStack{cancel: cancel, done: make(chan struct{}), ob: ob, jr: jr, host: host}
	var running atomic.Int32
	running.Store(2)
	finish := func() {
		if running.Add(-1) == 0 {
			close(s.done)
		}
	}
	go func() { defer finish(); _ = runner.Run(ctx) }()
	go func() { defer finish(); _ = lk.Run(ctx) }()
	return s
}

// stop ends the stack as an agent process ends at a reboot.
func (s *agentStack) stop() {
	s.cancel()
	<-s.done
	_ = s.host.Close()
	_ = s.jr.Close()
	_ = s.ob.Close()
}

// TestRebootTaskEndToEnd: a technician's reboot task, approved by the
// client, runs the real reboot plugin (its OS command replaced by a script
// that records its arguments), is RUNNING (rebooting) until the agent
// comes back with a new boot time, and then SUCCEEDED on the controller.
func TestRebootTaskEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the reboot plugin")
	}
	c := controllertest.Start(t)
	c.Tenant(t, "acme")
	a := c.EnrollAgent(t, "acme", "web-01")
	tr := controllertest.NewTrust(t)
	c.SetTrustRoot(t, tr)
	now := time.Now()
	admin := tr.Certify(t, "admin", envelope.RoleAdmin, "", now)
	c.Register(t, admin)
	carolToken := c.Principal(t, "carol", managev1.Role_ROLE_CLIENT_APPROVER, "acme")
	carol := tr.Certify(t, "carol", envelope.RoleClientApprover, "acme", now)
	c.Register(t, carol)

	dir := t.TempDir()
	plugins := filepath.Join(dir, "plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(plugins, "reboot")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/vigil-rmm/vigil/plugins/cmd/vigil-plugin-reboot").CombinedOutput(); err != nil {
		t.Fatalf("build reboot plugin: %v\n%s", err, out)
	}
	if err := pluginhost.WriteManifest(filepath.Join(plugins, "manifest.json"), plugins, "reboot"); err != nil {
		t.Fatal(err)
	}
	record := filepath.Join(dir, "reboot-args")
	if err := os.WriteFile(filepath.Join(dir, "fake-reboot"), []byte("#!/bin/sh\necho \"$@\" > "+record+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}

	boot := now.Add(-72 * time.Hour).Unix()
	stack := startStack(t, c, a, dir, tr.Fingerprint, boot)
	defer func() { stack.stop() }()

	ctx := t.Context()
	task := controllertest.NewTask(a.ID, "acme", "reboot", now, true)
	task.Parameters = map[string]string{"message": "patch night", "delay": "0s"}
	st := admin.Sign(t, task)
	created, err := c.Admin(t).CreateTask(ctx, &managev1.CreateTaskRequest{SignedTask: controllertest.Marshal(t, st)})
	if err != nil {
		t.Fatal(err)
	}
	if created.GetState() != managev1.TaskState_TASK_STATE_PROPOSED {
		t.Fatalf("downtime task created as %v, want PROPOSED until the client approves", created.GetState())
	}
	if _, err := c.Client(t, carolToken).ApproveTask(ctx, &managev1.ApproveTaskRequest{TaskId: task.GetTaskId(),
		Signature: controllertest.Marshal(t, carol.Approve(st))}); err != nil {
		t.Fatal(err)
	}
	get := func() *managev1.TaskDetail {
		d, err := c.Admin(t).GetTask(ctx, &managev1.GetTaskRequest{TaskId: task.GetTaskId()})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	waitTask(t, "the reboot to start", func() bool {
		d := get()
		return d.GetTask().GetState() == managev1.TaskState_TASK_STATE_RUNNING && d.GetTask().GetReason() == "rebooting"
	})
	args, err := os.ReadFile(record)
	if err != nil || !strings.Contains(string(args), "patch night") {
		t.Fatalf("reboot command got %q (%v), want the message", args, err)
	}

	// The host "reboots": the agent process ends and starts again with a
	// later boot time.
	stack.stop()
	if s := get().GetTask().GetState(); s != managev1.TaskState_TASK_STATE_RUNNING {
		t.Fatalf("while the server is down the task is %v, want still RUNNING", s)
	}
	stack = startStack(t, c, a, dir, tr.Fingerprint, time.Now().Unix())
	waitTask(t, "the task to succeed after the new boot", func() bool {
		return get().GetTask().GetState() == managev1.TaskState_TASK_STATE_SUCCEEDED
	})
	var actors []string
	for _, tr := range get().GetTransitions() {
		actors = append(actors, tr.GetState().String()+"/"+tr.GetActor())
	}
	t.Logf("transitions: %s", strings.Join(actors, " "))
}

func waitTask(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
