package manageapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/vigil-rmm/vigil/controller/controllertest"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/tasks"
	"github.com/vigil-rmm/vigil/internal/envelope"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// trustRig is a controller with a root, certified principals and agents.
type trustRig struct {
	c                *controllertest.Controller
	trust            *controllertest.Trust
	agentA, agentB   *controllertest.Agent
	techS, approverS *controllertest.Signer
	admin, tech      managev1.ManageServiceClient
	approver, viewer managev1.ManageServiceClient // of acme
	approverBeta     managev1.ManageServiceClient
}

func newTrustRig(t *testing.T) *trustRig {
	t.Helper()
	c := controllertest.Start(t)
	c.Tenant(t, "acme")
	c.Tenant(t, "beta")
	r := &trustRig{c: c, trust: controllertest.NewTrust(t), agentA: c.EnrollAgent(t, "acme", "web1"), agentB: c.EnrollAgent(t, "beta", "db1")}
	r.admin = c.Admin(t)
	r.tech = c.Client(t, c.Principal(t, "alice", managev1.Role_ROLE_TECHNICIAN, ""))
	r.approver = c.Client(t, c.Principal(t, "carol", managev1.Role_ROLE_CLIENT_APPROVER, "acme"))
	r.viewer = c.Client(t, c.Principal(t, "vic", managev1.Role_ROLE_CLIENT_VIEWER, "acme"))
	r.approverBeta = c.Client(t, c.Principal(t, "dave", managev1.Role_ROLE_CLIENT_APPROVER, "beta"))
	r.techS = r.trust.Certify(t, "alice", envelope.RoleTechnician, "", time.Now())
	r.approverS = r.trust.Certify(t, "carol", envelope.RoleClientApprover, "acme", time.Now())
	return r
}

func (r *trustRig) setup(t *testing.T) {
	t.Helper()
	r.c.SetTrustRoot(t, r.trust)
	r.c.Register(t, r.techS)
	r.c.Register(t, r.approverS)
}

func (r *trustRig) signed(t *testing.T, agent *controllertest.Agent, plugin string, downtime bool) []byte {
	t.Helper()
	return controllertest.Marshal(t, r.techS.Sign(t, controllertest.NewTask(agent.ID, agent.Tenant, plugin, time.Now(), downtime)))
}

func TestTrustRootAndCertificates(t *testing.T) {
	r := newTrustRig(t)
	ctx := context.Background()
	if root, err := r.viewer.GetTrustRoot(ctx, &managev1.GetTrustRootRequest{}); err != nil || root.GetFingerprint() != "" {
		t.Fatalf("root before set: %v %v", root, err)
	}
	_, err := r.admin.RegisterCertificate(ctx, &managev1.RegisterCertificateRequest{Certificate: r.techS.CertBytes(t)})
	if code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "vigilctl trust set-root") {
		t.Fatalf("register before a root: %v", err)
	}
	if _, err := r.tech.SetTrustRoot(ctx, &managev1.SetTrustRootRequest{Fingerprint: r.trust.Fingerprint}); code(err) != codes.PermissionDenied {
		t.Fatalf("technician sets root: %v", err)
	}
	if _, err := r.admin.SetTrustRoot(ctx, &managev1.SetTrustRootRequest{Fingerprint: "sha256:xyz"}); code(err) != codes.InvalidArgument {
		t.Fatalf("bad fingerprint: %v", err)
	}
	r.setup(t)
	root, err := r.viewer.GetTrustRoot(ctx, &managev1.GetTrustRootRequest{})
	if err != nil || root.GetFingerprint() != r.trust.Fingerprint || root.GetSetBy() != "admin" {
		t.Fatalf("root %v %v", root, err)
	}
	// Registering again is harmless.
	info, err := r.admin.RegisterCertificate(ctx, &managev1.RegisterCertificateRequest{Certificate: r.techS.CertBytes(t)})
	if err != nil || info.GetPrincipal() != "alice" || !strings.HasPrefix(info.GetPublicKeyFingerprint(), "sha256:") {
		t.Fatalf("register again: %v %v", info, err)
	}
	bad := []struct {
		name string
		cert []byte
		want codes.Code
	}{
		{"garbage", []byte("not a certificate"), codes.InvalidArgument},
		{"role differs", r.trust.Certify(t, "alice", envelope.RoleAdmin, "", time.Now()).CertBytes(t), codes.InvalidArgument},
		{"another root", controllertest.NewTrust(t).Certify(t, "alice", envelope.RoleTechnician, "", time.Now()).CertBytes(t), codes.PermissionDenied},
	}
	for _, tc := range bad {
		if _, err := r.admin.RegisterCertificate(ctx, &managev1.RegisterCertificateRequest{Certificate: tc.cert}); code(err) != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := r.tech.RegisterCertificate(ctx, &managev1.RegisterCertificateRequest{Certificate: r.techS.CertBytes(t)}); code(err) != codes.PermissionDenied {
		t.Fatalf("technician registers: %v", err)
	}
	all, err := r.tech.ListCertificates(ctx, &managev1.ListCertificatesRequest{})
	if err != nil || len(all.GetCertificates()) != 2 || all.GetCertificates()[0].GetPrincipal() != "alice" {
		t.Fatalf("technician's list: %v %v", all, err)
	}
	own, err := r.approver.ListCertificates(ctx, &managev1.ListCertificatesRequest{})
	if err != nil || len(own.GetCertificates()) != 1 || own.GetCertificates()[0].GetPrincipal() != "carol" {
		t.Fatalf("approver's list: %v %v", own, err)
	}
	if _, err := r.viewer.ListCertificates(ctx, &managev1.ListCertificatesRequest{}); code(err) != codes.PermissionDenied {
		t.Fatalf("viewer lists certificates: %v", err)
	}
}

func TestTaskRPCs(t *testing.T) {
	r := newTrustRig(t)
	ctx := context.Background()
	r.setup(t)

	create := func(c managev1.ManageServiceClient, b []byte) (*managev1.Task, error) {
		return c.CreateTask(ctx, &managev1.CreateTaskRequest{SignedTask: b})
	}
	for name, c := range map[string]managev1.ManageServiceClient{"approver": r.approver, "viewer": r.viewer} {
		if _, err := create(c, r.signed(t, r.agentA, "script", false)); code(err) != codes.PermissionDenied {
			t.Errorf("%s creates a task: %v", name, err)
		}
	}
	if _, err := create(r.tech, []byte("junk")); code(err) != codes.InvalidArgument {
		t.Fatalf("junk: %v", err)
	}
	if _, err := create(r.admin, r.signed(t, r.agentA, "script", false)); code(err) != codes.PermissionDenied {
		t.Fatalf("admin submits alice's task: %v", err)
	}
	unregistered := r.trust.Certify(t, "alice", envelope.RoleTechnician, "", time.Now())
	b := controllertest.Marshal(t, unregistered.Sign(t, controllertest.NewTask(r.agentA.ID, "acme", "script", time.Now(), false)))
	if _, err := create(r.tech, b); code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "vigilctl trust register") {
		t.Fatalf("unregistered certificate: %v", err)
	}

	plainBytes := r.signed(t, r.agentA, "script", false)
	plain, err := create(r.tech, plainBytes)
	if err != nil || plain.GetState() != managev1.TaskState_TASK_STATE_SCHEDULED || plain.GetCreatedBy() != "alice" {
		t.Fatalf("create: %v %v", plain, err)
	}
	if again, err := create(r.tech, plainBytes); err != nil || again.GetId() != plain.GetId() {
		t.Fatalf("create again: %v %v", again, err)
	}
	downBytes := r.signed(t, r.agentA, "reboot", true)
	down, err := create(r.tech, downBytes)
	if err != nil || down.GetState() != managev1.TaskState_TASK_STATE_PROPOSED {
		t.Fatalf("downtime task: %v %v", down, err)
	}
	betaTask, err := create(r.tech, r.signed(t, r.agentB, "script", false))
	if err != nil {
		t.Fatal(err)
	}

	// Approval: the client approver, with the exact bytes GetTask shows.
	d, err := r.approver.GetTask(ctx, &managev1.GetTaskRequest{TaskId: down.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	st, _, err := tasks.ParseSigned(d.GetSignedTask())
	if err != nil {
		t.Fatal(err)
	}
	sig := controllertest.Marshal(t, r.approverS.Approve(st))
	if _, err := r.admin.ApproveTask(ctx, &managev1.ApproveTaskRequest{TaskId: down.GetId(), Signature: sig}); code(err) != codes.PermissionDenied {
		t.Fatalf("admin approves: %v", err)
	}
	if _, err := r.approverBeta.ApproveTask(ctx, &managev1.ApproveTaskRequest{TaskId: down.GetId(), Signature: sig}); code(err) != codes.NotFound {
		t.Fatalf("other tenant's approver: %v", err)
	}
	if _, err := r.approver.ApproveTask(ctx, &managev1.ApproveTaskRequest{TaskId: down.GetId(), Signature: []byte("x")}); code(err) != codes.InvalidArgument {
		t.Fatalf("junk signature: %v", err)
	}
	ok, err := r.approver.ApproveTask(ctx, &managev1.ApproveTaskRequest{TaskId: down.GetId(), Signature: sig})
	if err != nil || ok.GetState() != managev1.TaskState_TASK_STATE_SCHEDULED || ok.GetApprovedBy() != "carol" {
		t.Fatalf("approve: %v %v", ok, err)
	}

	// Lists: newest first, filtered, scoped.
	all, err := r.tech.ListTasks(ctx, &managev1.ListTasksRequest{})
	if err != nil || len(all.GetTasks()) != 3 {
		t.Fatalf("list: %v %v", all, err)
	}
	mine, err := r.viewer.ListTasks(ctx, &managev1.ListTasksRequest{})
	if err != nil || len(mine.GetTasks()) != 2 {
		t.Fatalf("viewer's list: %v %v", mine, err)
	}
	for _, tk := range mine.GetTasks() {
		if tk.GetTenant() != "acme" {
			t.Fatalf("viewer sees %v", tk)
		}
	}
	one, err := r.tech.ListTasks(ctx, &managev1.ListTasksRequest{AgentId: r.agentB.ID})
	if err != nil || len(one.GetTasks()) != 1 || one.GetTasks()[0].GetId() != betaTask.GetId() || one.GetTasks()[0].GetHostname() != "db1" {
		t.Fatalf("by agent: %v %v", one, err)
	}
	lim, err := r.tech.ListTasks(ctx, &managev1.ListTasksRequest{Limit: 1, State: managev1.TaskState_TASK_STATE_SCHEDULED})
	if err != nil || len(lim.GetTasks()) != 1 {
		t.Fatalf("limit: %v %v", lim, err)
	}

	// Cancel: viewers may not; the tenant's approver may.
	if _, err := r.viewer.CancelTask(ctx, &managev1.CancelTaskRequest{TaskId: plain.GetId()}); code(err) != codes.PermissionDenied {
		t.Fatalf("viewer cancels: %v", err)
	}
	if _, err := r.approver.CancelTask(ctx, &managev1.CancelTaskRequest{TaskId: plain.GetId(), Reason: strings.Repeat("x", 600)}); code(err) != codes.InvalidArgument {
		t.Fatalf("long reason: %v", err)
	}
	c, err := r.approver.CancelTask(ctx, &managev1.CancelTaskRequest{TaskId: plain.GetId(), Reason: "not today"})
	if err != nil || c.GetState() != managev1.TaskState_TASK_STATE_CANCELLED || c.GetReason() != "cancelled by carol: not today" {
		t.Fatalf("cancel: %v %v", c, err)
	}
	if _, err := r.approver.CancelTask(ctx, &managev1.CancelTaskRequest{TaskId: plain.GetId()}); code(err) != codes.FailedPrecondition {
		t.Fatalf("cancel a cancelled task: %v", err)
	}
	for _, id := range []string{"tk-none", "", "tasks/../x", strings.Repeat("t", 5000)} {
		if _, err := r.tech.GetTask(ctx, &managev1.GetTaskRequest{TaskId: id}); code(err) != codes.NotFound {
			t.Fatalf("unknown task %.20q: %v", id, err)
		}
		if _, err := r.viewer.GetTask(ctx, &managev1.GetTaskRequest{TaskId: id}); code(err) != codes.NotFound {
			t.Fatalf("unknown task %.20q as a viewer: %v", id, err)
		}
	}
	pl, err := r.viewer.ListPlugins(ctx, &managev1.ListPluginsRequest{AgentId: r.agentA.ID})
	if err != nil || pl.GetPlugins() != nil || pl.GetAgentId() != r.agentA.ID {
		t.Fatalf("plugins before a report: %v %v", pl, err)
	}
	if _, err := r.tech.ListPlugins(ctx, &managev1.ListPluginsRequest{AgentId: "ag-none"}); code(err) != codes.NotFound {
		t.Fatalf("unknown agent: %v", err)
	}
}

// TestGetTaskOutputPages: at most MaxOutputPerCall lines per call, and the
// cursor picks up where the last call ended.
func TestGetTaskOutputPages(t *testing.T) {
	r := newTrustRig(t)
	ctx := context.Background()
	r.setup(t)
	task, err := r.tech.CreateTask(ctx, &managev1.CreateTaskRequest{SignedTask: r.signed(t, r.agentA, "script", false)})
	if err != nil {
		t.Fatal(err)
	}
	// As the ingest writer would apply the agent's updates.
	err = r.c.Server().Store().Update(ctx, func(tx store.Tx) error {
		for i := range 7 {
			u := &agentv1.TaskUpdate{TaskId: task.GetId(), State: agentv1.TaskState_TASK_STATE_RUNNING}
			if i == 0 {
				u.State = agentv1.TaskState_TASK_STATE_ACCEPTED
			}
			for range 1000 {
				u.Output = append(u.Output, &agentv1.OutputLine{Line: "line"})
			}
			if _, err := tasks.ApplyUpdate(tx, r.agentA.ID, time.Now().UnixMilli(), u, time.Now()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var cursor uint64
	var pages []int
	for {
		d, err := r.viewer.GetTask(ctx, &managev1.GetTaskRequest{TaskId: task.GetId(), OutputAfter: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.GetOutput()) == 0 {
			break
		}
		pages = append(pages, len(d.GetOutput()))
		cursor = d.GetNextOutput()
	}
	if len(pages) != 2 || pages[0] != 5000 || pages[1] != 2000 || cursor != 7000 {
		t.Fatalf("pages %v, cursor %d", pages, cursor)
	}

	// Lists cut long parameter values (script bodies); GetTask has them whole.
	big := controllertest.NewTask(r.agentA.ID, "acme", "script", time.Now(), false)
	big.Parameters["script"] = strings.Repeat("echo hi\n", 100)
	bt, err := r.tech.CreateTask(ctx, &managev1.CreateTaskRequest{SignedTask: controllertest.Marshal(t, r.techS.Sign(t, big))})
	if err != nil {
		t.Fatal(err)
	}
	list, err := r.tech.ListTasks(ctx, &managev1.ListTasksRequest{AgentId: r.agentA.ID})
	if err != nil || len(list.GetTasks()) != 2 || list.GetTasks()[0].GetId() != bt.GetId() {
		t.Fatalf("list %v %v", list, err)
	}
	if v := list.GetTasks()[0].GetParameters()["script"]; len(v) > 400 || !strings.Contains(v, "(800 bytes") {
		t.Fatalf("listed parameter %q", v)
	}
	d, err := r.tech.GetTask(ctx, &managev1.GetTaskRequest{TaskId: bt.GetId()})
	if err != nil || len(d.GetTask().GetParameters()["script"]) != 800 {
		t.Fatalf("task parameter cut in GetTask: %v", err)
	}
}

// TestRevokingATechnicianCancelsTheirPendingTasks: a revoked technician's
// proposed and scheduled tasks are cancelled with the revocation; finished
// ones are left as they are.
func TestRevokingATechnicianCancelsTheirPendingTasks(t *testing.T) {
	r := newTrustRig(t)
	r.setup(t)
	ctx := t.Context()
	// The agent is offline, so the scheduled task stays scheduled.
	scheduled, err := r.tech.CreateTask(ctx, &managev1.CreateTaskRequest{SignedTask: r.signed(t, r.agentA, "script", false)})
	if err != nil {
		t.Fatal(err)
	}
	proposed, err := r.tech.CreateTask(ctx, &managev1.CreateTaskRequest{SignedTask: r.signed(t, r.agentA, "reboot", true)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.admin.RevokePrincipal(ctx, &managev1.RevokePrincipalRequest{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{scheduled.GetId(), proposed.GetId()} {
		d, err := r.admin.GetTask(ctx, &managev1.GetTaskRequest{TaskId: id})
		if err != nil {
			t.Fatal(err)
		}
		if d.GetTask().GetState() != managev1.TaskState_TASK_STATE_CANCELLED || !strings.Contains(d.GetTask().GetReason(), "alice was revoked") {
			t.Errorf("task %s after alice's revocation: %v (%s)", id, d.GetTask().GetState(), d.GetTask().GetReason())
		}
	}
}
