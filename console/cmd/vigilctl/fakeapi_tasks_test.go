package main

// The trust, task and plugin RPCs of fakeAPI. The fake checks what the
// controller will check: certificates against the recorded trust root,
// signed tasks with envelope.Verify, a technician signing as itself, an
// approver of the task's tenant. Fixtures are signed with fixed keys, so
// their bytes, and the goldens, are stable.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/internal/clientconfig"
	"github.com/vigil-rmm/vigil/internal/envelope"
	"github.com/vigil-rmm/vigil/internal/pin"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	trustv1 "github.com/vigil-rmm/vigil/proto/vigil/trust/v1"
)

// Fixed keys of the fixtures.
var (
	fixtureRoot  = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	fixtureTom   = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32))
	fixtureCarol = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32))
	fixtureDave  = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{4}, 32))
)

// fakePage is the fake's output page size (the controller's is 5000), so
// the tests page through the cursor.
const fakePage = 3

// fakeTask is one stored task. steps, when set, advance it: GetTask
// applies the first remaining step before answering.
type fakeTask struct {
	task        *managev1.Task
	transitions []*managev1.TaskTransition
	output      []*agentv1.OutputLine
	signed      *trustv1.SignedTask
	steps       []func(*fakeTask)
}

func (ft *fakeTask) to(ms int64, s managev1.TaskState, actor, reason string) {
	ft.task.State, ft.task.Reason, ft.task.UpdatedUnixMs = s, reason, ms
	ft.transitions = append(ft.transitions, &managev1.TaskTransition{State: s, TimeUnixMs: ms, Actor: actor, Reason: reason})
}

func (ft *fakeTask) say(ms int64, stderr bool, lines ...string) {
	for _, l := range lines {
		ft.output = append(ft.output, &agentv1.OutputLine{Stderr: stderr, Line: l, TimeUnixMs: ms})
	}
}

func sec(n int) int64 { return t0.Add(time.Duration(n) * time.Second).UnixMilli() }

func mustIssue(t testing.TB, principal, role, tenant string, key ed25519.PrivateKey, serial string) *trustv1.Certificate {
	t.Helper()
	c, err := envelope.Issue(fixtureRoot, &trustv1.CertificateBody{Serial: serial, Principal: principal, Role: role, Tenant: tenant,
		PublicKey: key.Public().(ed25519.PublicKey), NotBeforeUnix: t0.Add(-day).Unix(), NotAfterUnix: t0.Add(365 * day).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func certInfo(c *trustv1.Certificate, registered time.Time) *managev1.CertificateInfo {
	var b trustv1.CertificateBody
	_ = proto.Unmarshal(c.GetBody(), &b)
	return &managev1.CertificateInfo{Serial: b.GetSerial(), Principal: b.GetPrincipal(), Role: b.GetRole(), Tenant: b.GetTenant(),
		PublicKeyFingerprint: envelope.Fingerprint(b.GetPublicKey()), NotBeforeUnix: b.GetNotBeforeUnix(), NotAfterUnix: b.GetNotAfterUnix(),
		RegisteredUnix: registered.Unix()}
}

// fixtureCerts are the certificates the fake starts with: tom's and
// carol's, from the fixture root.
func fixtureCerts(t testing.TB) map[string]*trustv1.Certificate {
	return map[string]*trustv1.Certificate{
		"tom":   mustIssue(t, "tom", envelope.RoleTechnician, "", fixtureTom, "c0ffee01"),
		"carol": mustIssue(t, "carol", envelope.RoleClientApprover, "acme", fixtureCarol, "c0ffee02"),
		"dave":  mustIssue(t, "dave", envelope.RoleClientApprover, "globex", fixtureDave, "c0ffee03"),
	}
}

func newFakeAPI(t testing.TB) *fakeAPI {
	f := &fakeAPI{tasks: map[string]*fakeTask{}}
	certs := fixtureCerts(t)
	f.root = &managev1.TrustRoot{Fingerprint: envelope.Fingerprint(fixtureRoot.Public().(ed25519.PublicKey)), SetUnix: t0.Add(-2 * day).Unix(), SetBy: "admin"}
	for _, n := range []string{"carol", "dave", "tom"} {
		f.certs = append(f.certs, certInfo(certs[n], t0.Add(-day)))
	}
	sign := func(task *trustv1.Task, approver ed25519.PrivateKey, approverCert *trustv1.Certificate) *trustv1.SignedTask {
		st, err := envelope.SignTask(task, certs["tom"], fixtureTom)
		if err != nil {
			t.Fatal(err)
		}
		if approver != nil {
			st.Signatures = append(st.Signatures, envelope.Sign(st.GetTask(), approverCert, approver))
		}
		return st
	}
	nonce := bytes.Repeat([]byte{9}, 16)

	// A finished package update with output on both streams.
	done := &fakeTask{task: &managev1.Task{Id: "tk-00000000000000a1", Tenant: "acme", AgentId: "ag-web01", Hostname: "web01", Plugin: "pkgupdate",
		Parameters: map[string]string{"packages": "openssl,libc6"}, NotBeforeUnix: t0.Add(-3 * time.Hour).Unix(), NotAfterUnix: t0.Add(-2 * time.Hour).Unix(),
		CreatedBy: "tom", CreatedUnix: t0.Add(-3 * time.Hour).Unix(), ProgressPercent: 100, ProgressMessage: "done",
		Result: &agentv1.TaskResult{Ok: true, Summary: "2 packages upgraded", Detail: []byte(`{"upgraded":["openssl","libc6"]}`)}}}
	done.signed = sign(&trustv1.Task{TaskId: done.task.Id, Tenant: "acme", AgentId: "ag-web01", Plugin: "pkgupdate", Parameters: done.task.Parameters,
		NotBeforeUnix: done.task.NotBeforeUnix, NotAfterUnix: done.task.NotAfterUnix, Nonce: nonce, CreatedUnix: done.task.CreatedUnix,
		CreatedBy: "tom", TimeoutSeconds: 1800}, nil, nil)
	base := -3 * 3600
	done.to(sec(base), managev1.TaskState_TASK_STATE_SCHEDULED, "tom", "")
	done.to(sec(base+1), managev1.TaskState_TASK_STATE_DISPATCHED, "controller", "")
	done.to(sec(base+2), managev1.TaskState_TASK_STATE_ACCEPTED, "agent", "")
	done.to(sec(base+2), managev1.TaskState_TASK_STATE_RUNNING, "agent", "")
	done.say(sec(base+3), false, "Reading package lists...", "Unpacking openssl (3.0.15-1~deb12u1) over (3.0.14-1~deb12u2) ...")
	done.say(sec(base+4), true, "debconf: unable to initialize frontend: Dialog")
	done.say(sec(base+5), false, "Setting up libc6:amd64 (2.36-9+deb12u9) ...", "Setting up openssl (3.0.15-1~deb12u1) ...")
	done.to(sec(base+9), managev1.TaskState_TASK_STATE_SUCCEEDED, "agent", "")
	f.tasks[done.task.Id] = done

	// A reboot awaiting carol's approval.
	reboot := &fakeTask{task: &managev1.Task{Id: "tk-00000000000000b2", Tenant: "acme", AgentId: "ag-dc01", Hostname: "dc01", Plugin: "reboot",
		Parameters: map[string]string{}, NotBeforeUnix: t0.Add(2 * time.Hour).Unix(), NotAfterUnix: t0.Add(4 * time.Hour).Unix(),
		Downtime: true, CreatedBy: "tom", CreatedUnix: t0.Add(-10 * time.Minute).Unix(), ProgressPercent: -1}}
	reboot.signed = sign(&trustv1.Task{TaskId: reboot.task.Id, Tenant: "acme", AgentId: "ag-dc01", Plugin: "reboot",
		NotBeforeUnix: reboot.task.NotBeforeUnix, NotAfterUnix: reboot.task.NotAfterUnix, Downtime: true, Nonce: nonce,
		CreatedUnix: reboot.task.CreatedUnix, CreatedBy: "tom", TimeoutSeconds: 900}, nil, nil)
	reboot.to(sec(-600), managev1.TaskState_TASK_STATE_PROPOSED, "tom", "waiting for a client approver of acme")
	f.tasks[reboot.task.Id] = reboot

	// A script whose signed bytes say something else than the
	// controller's fields (a tampering controller).
	script := `#!/bin/sh
systemctl restart nginx
`
	forged := &fakeTask{task: &managev1.Task{Id: "tk-00000000000000f3", Tenant: "acme", AgentId: "ag-web01", Hostname: "web01", Plugin: "script",
		Parameters: map[string]string{"script": script}, NotBeforeUnix: t0.Unix(), NotAfterUnix: t0.Add(time.Hour).Unix(), Downtime: true,
		CreatedBy: "tom", CreatedUnix: t0.Unix(), ProgressPercent: -1}}
	forged.signed = sign(&trustv1.Task{TaskId: forged.task.Id, Tenant: "acme", AgentId: "ag-web01", Plugin: "script", Parameters: forged.task.Parameters,
		NotBeforeUnix: forged.task.NotBeforeUnix, NotAfterUnix: forged.task.NotAfterUnix, Downtime: true, Nonce: nonce,
		CreatedUnix: forged.task.CreatedUnix, CreatedBy: "tom"}, nil, nil)
	forged.signed.Signatures[0].Signature[0] ^= 1
	forged.to(sec(0), managev1.TaskState_TASK_STATE_PROPOSED, "tom", "")
	f.tasks[forged.task.Id] = forged

	// The same script, honestly signed, awaiting approval.
	honest := &fakeTask{task: proto.Clone(forged.task).(*managev1.Task)}
	honest.task.Id = "tk-00000000000000e6"
	honest.signed = sign(&trustv1.Task{TaskId: honest.task.Id, Tenant: "acme", AgentId: "ag-web01", Plugin: "script", Parameters: honest.task.Parameters,
		NotBeforeUnix: honest.task.NotBeforeUnix, NotAfterUnix: honest.task.NotAfterUnix, Downtime: true, Nonce: nonce,
		CreatedUnix: honest.task.CreatedUnix, CreatedBy: "tom", TimeoutSeconds: 120}, nil, nil)
	honest.to(sec(0), managev1.TaskState_TASK_STATE_PROPOSED, "tom", "")
	f.tasks[honest.task.Id] = honest

	// A script task with a long body, approved by carol, that a follow
	// sees run and fail.
	long := "#!/bin/sh\nset -e\n# clean the spool\nfind /var/spool/app -mtime +30 -delete\nsystemctl restart app\n"
	flaky := &fakeTask{task: &managev1.Task{Id: "tk-00000000000000d4", Tenant: "acme", AgentId: "ag-web01", Hostname: "web01", Plugin: "script",
		Parameters: map[string]string{"script": long, "shell": "sh"}, NotBeforeUnix: t0.Unix(), NotAfterUnix: t0.Add(time.Hour).Unix(), Downtime: true,
		CreatedBy: "tom", ApprovedBy: "carol", CreatedUnix: t0.Unix(), ProgressPercent: -1}}
	flaky.signed = sign(&trustv1.Task{TaskId: flaky.task.Id, Tenant: "acme", AgentId: "ag-web01", Plugin: "script", Parameters: flaky.task.Parameters,
		NotBeforeUnix: flaky.task.NotBeforeUnix, NotAfterUnix: flaky.task.NotAfterUnix, Downtime: true, Nonce: nonce,
		CreatedUnix: flaky.task.CreatedUnix, CreatedBy: "tom", TimeoutSeconds: 600}, fixtureCarol, certs["carol"])
	flaky.to(sec(0), managev1.TaskState_TASK_STATE_PROPOSED, "tom", "")
	flaky.to(sec(60), managev1.TaskState_TASK_STATE_SCHEDULED, "carol", "approved")
	flaky.steps = scriptSteps(false)
	f.tasks[flaky.task.Id] = flaky
	return f
}

// scriptSteps run a task: dispatched and accepted, output and progress
// over two polls, then the end; ok says whether it succeeds.
func scriptSteps(ok bool) []func(*fakeTask) {
	return []func(*fakeTask){
		func(ft *fakeTask) {
			ft.to(sec(61), managev1.TaskState_TASK_STATE_DISPATCHED, "controller", "")
			ft.to(sec(62), managev1.TaskState_TASK_STATE_ACCEPTED, "agent", "")
		},
		func(ft *fakeTask) {
			ft.to(sec(62), managev1.TaskState_TASK_STATE_RUNNING, "agent", "")
			ft.task.ProgressPercent, ft.task.ProgressMessage, ft.task.UpdatedUnixMs = 30, "cleaning the spool", sec(63)
			ft.say(sec(63), false, "removed 1204 files")
			ft.say(sec(64), true, "find: '/var/spool/app/tmp': Permission denied")
		},
		func(*fakeTask) {}, // a poll with no news
		func(ft *fakeTask) {
			ft.task.ProgressPercent, ft.task.ProgressMessage, ft.task.UpdatedUnixMs = 80, "restarting app", sec(65)
			ft.say(sec(65), false, "line 1", "line 2", "line 3", "line 4")
		},
		func(ft *fakeTask) {
			if ok {
				ft.say(sec(66), false, "app restarted")
				ft.task.Result = &agentv1.TaskResult{Ok: true, Summary: "script exited 0"}
				ft.to(sec(67), managev1.TaskState_TASK_STATE_SUCCEEDED, "agent", "")
				return
			}
			ft.say(sec(66), true, "Job for app.service failed.")
			ft.task.Result = &agentv1.TaskResult{ExitCode: 1, Summary: "script exited 1"}
			ft.to(sec(67), managev1.TaskState_TASK_STATE_FAILED, "agent", "exit status 1")
		},
	}
}

var fakeAgents = []*managev1.Agent{
	{Id: "ag-dc01", Tenant: "acme", Hostname: "dc01", Os: "windows", AgentVersion: "1.4.0", Online: true, LastSeenUnix: ago0(5 * time.Second),
		EnrolledUnix: ago0(90 * day), CommittedSeq: 88123, Tier: "proactive"},
	{Id: "ag-web01", Tenant: "acme", Hostname: "web01", Os: "linux", AgentVersion: "1.4.0", Online: true, LastSeenUnix: ago0(12 * time.Second),
		EnrolledUnix: ago0(400 * day), CommittedSeq: 512000, Tier: "proactive"},
	{Id: "ag-old", Tenant: "acme", Hostname: "old", Os: "linux", AgentVersion: "1.2.0", LastSeenUnix: ago0(3 * day), EnrolledUnix: ago0(700 * day)},
	{Id: "ag-mon", Tenant: "globex", Hostname: "db02", Os: "linux", AgentVersion: "1.4.0", Online: true, LastSeenUnix: ago0(3 * time.Second),
		EnrolledUnix: ago0(30 * day), Tier: "monitor-only"},
}

func findAgent(id string) *managev1.Agent {
	for _, a := range fakeAgents {
		if a.GetId() == id {
			return a
		}
	}
	return nil
}

// with runs fn under the fake's lock: tests read and change the fake's
// state only through it.
func (f *fakeAPI) with(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func denied() error { return status.Error(codes.PermissionDenied, "permission denied") }

func (f *fakeAPI) WhoAmI(ctx context.Context, r *managev1.WhoAmIRequest) (*managev1.Principal, error) {
	f.record(r)
	return caller(ctx), nil
}

func (f *fakeAPI) ListAgents(_ context.Context, r *managev1.ListAgentsRequest) (*managev1.ListAgentsResponse, error) {
	f.record(r)
	resp := &managev1.ListAgentsResponse{}
	for _, a := range fakeAgents {
		if r.GetTenant() == "" || r.GetTenant() == a.GetTenant() {
			resp.Agents = append(resp.Agents, a)
		}
	}
	return resp, nil
}

func (f *fakeAPI) GetAgent(_ context.Context, r *managev1.GetAgentRequest) (*managev1.AgentDetail, error) {
	f.record(r)
	if a := findAgent(r.GetId()); a != nil {
		return &managev1.AgentDetail{Agent: a}, nil
	}
	return nil, notFound(r.GetId())
}

func (f *fakeAPI) SetTrustRoot(ctx context.Context, r *managev1.SetTrustRootRequest) (*managev1.TrustRoot, error) {
	f.record(r)
	if caller(ctx).GetRole() != managev1.Role_ROLE_ADMIN {
		return nil, denied()
	}
	if _, err := pin.Parse(r.GetFingerprint()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.root = &managev1.TrustRoot{Fingerprint: r.GetFingerprint(), SetUnix: t0.Unix(), SetBy: caller(ctx).GetName()}
	return f.root, nil
}

func (f *fakeAPI) GetTrustRoot(_ context.Context, r *managev1.GetTrustRootRequest) (*managev1.TrustRoot, error) {
	f.record(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.root == nil {
		return &managev1.TrustRoot{}, nil
	}
	return f.root, nil
}

func (f *fakeAPI) rootPin() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, _ := pin.Parse(f.root.GetFingerprint())
	return d
}

func (f *fakeAPI) RegisterCertificate(ctx context.Context, r *managev1.RegisterCertificateRequest) (*managev1.CertificateInfo, error) {
	f.record(r)
	if caller(ctx).GetRole() != managev1.Role_ROLE_ADMIN {
		return nil, denied()
	}
	var c trustv1.Certificate
	if err := proto.Unmarshal(r.GetCertificate(), &c); err != nil {
		return nil, status.Error(codes.InvalidArgument, "certificate: "+err.Error())
	}
	b, err := envelope.ParseCertificate(&c, f.rootPin(), t0)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	var p *managev1.Principal
	for _, fp := range fakePrincipals {
		if fp.GetName() == b.GetPrincipal() {
			p = fp
		}
	}
	if p == nil || roleNames[p.GetRole()] != b.GetRole() || p.GetTenant() != b.GetTenant() && p.GetRole() != managev1.Role_ROLE_TECHNICIAN {
		return nil, status.Errorf(codes.FailedPrecondition, "certificate names %s as %s: no such principal with that role and tenant", b.GetPrincipal(), b.GetRole())
	}
	info := certInfo(&c, t0)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.certs = append(f.certs, info)
	return info, nil
}

func (f *fakeAPI) ListCertificates(_ context.Context, r *managev1.ListCertificatesRequest) (*managev1.ListCertificatesResponse, error) {
	f.record(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	resp := &managev1.ListCertificatesResponse{}
	for _, c := range f.certs {
		if r.GetPrincipal() == "" || r.GetPrincipal() == c.GetPrincipal() {
			resp.Certificates = append(resp.Certificates, c)
		}
	}
	return resp, nil
}

func (f *fakeAPI) CreateTask(ctx context.Context, r *managev1.CreateTaskRequest) (*managev1.Task, error) {
	f.record(r)
	me := caller(ctx)
	if me.GetRole() != managev1.Role_ROLE_TECHNICIAN && me.GetRole() != managev1.Role_ROLE_ADMIN {
		return nil, denied()
	}
	var st trustv1.SignedTask
	if err := proto.Unmarshal(r.GetSignedTask(), &st); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	v, err := envelope.Verify(&st, envelope.Policy{RootPin: f.rootPin()})
	state := managev1.TaskState_TASK_STATE_SCHEDULED
	if errors.Is(err, envelope.ErrApprovalMissing) {
		state, err = managev1.TaskState_TASK_STATE_PROPOSED, nil
		v, _ = verifyTechnicianOnly(&st, f.rootPin())
	}
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if v.Technician.GetPrincipal() != me.GetName() {
		return nil, status.Errorf(codes.PermissionDenied, "the task is signed by %s, not by the caller", v.Technician.GetPrincipal())
	}
	a := findAgent(v.Task.GetAgentId())
	switch {
	case a == nil || a.GetTenant() != v.Task.GetTenant():
		return nil, status.Error(codes.InvalidArgument, "task targets an unknown agent")
	case a.GetTier() == tierMonitorOnly:
		return nil, status.Error(codes.FailedPrecondition, "agent is monitor-only")
	}
	t := v.Task
	ft := &fakeTask{signed: &st, task: &managev1.Task{Id: t.GetTaskId(), Tenant: t.GetTenant(), AgentId: t.GetAgentId(), Hostname: a.GetHostname(),
		Plugin: t.GetPlugin(), Parameters: t.GetParameters(), NotBeforeUnix: t.GetNotBeforeUnix(), NotAfterUnix: t.GetNotAfterUnix(),
		Downtime: t.GetDowntime(), CreatedBy: me.GetName(), CreatedUnix: t0.Unix(), ProgressPercent: -1}}
	reason := ""
	if state == managev1.TaskState_TASK_STATE_PROPOSED {
		reason = "waiting for a client approver of " + t.GetTenant()
	}
	ft.to(t0.UnixMilli(), state, me.GetName(), reason)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tasks[ft.task.Id] != nil {
		return nil, status.Error(codes.AlreadyExists, "task exists")
	}
	if f.onCreate != nil {
		f.onCreate(ft)
	}
	f.tasks[ft.task.Id] = ft
	f.verified = append(f.verified, v)
	return ft.task, nil
}

// verifyTechnicianOnly verifies a downtime task that has no approver
// yet: Verify's ErrApprovalMissing comes only once every signature and
// the technician's scope checked out; the technician is then read from
// the certificates.
func verifyTechnicianOnly(st *trustv1.SignedTask, rootPin []byte) (*envelope.Verified, error) {
	if _, err := envelope.Verify(st, envelope.Policy{RootPin: rootPin}); !errors.Is(err, envelope.ErrApprovalMissing) {
		return nil, err
	}
	v := &envelope.Verified{Task: &trustv1.Task{}}
	if err := proto.Unmarshal(st.GetTask(), v.Task); err != nil {
		return nil, err
	}
	for _, s := range st.GetSignatures() {
		b, err := envelope.ParseCertificate(s.GetCertificate(), rootPin, time.Time{})
		if err != nil {
			return nil, err
		}
		if b.GetRole() == envelope.RoleTechnician || b.GetRole() == envelope.RoleAdmin {
			v.Technician = b
		}
	}
	return v, nil
}

func (f *fakeAPI) ApproveTask(ctx context.Context, r *managev1.ApproveTaskRequest) (*managev1.Task, error) {
	f.record(r)
	me := caller(ctx)
	if me.GetRole() != managev1.Role_ROLE_CLIENT_APPROVER {
		return nil, denied()
	}
	var sig trustv1.Signature
	if err := proto.Unmarshal(r.GetSignature(), &sig); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	pinD := f.rootPin()
	f.mu.Lock()
	defer f.mu.Unlock()
	ft := f.tasks[r.GetTaskId()]
	switch {
	case ft == nil:
		return nil, status.Errorf(codes.NotFound, "not found: task %q", r.GetTaskId())
	case ft.task.GetState() != managev1.TaskState_TASK_STATE_PROPOSED:
		return nil, status.Errorf(codes.FailedPrecondition, "task is %s", taskStateLabel(ft.task.GetState()))
	}
	st := proto.Clone(ft.signed).(*trustv1.SignedTask)
	st.Signatures = append(st.Signatures, &sig)
	v, err := envelope.Verify(st, envelope.Policy{RootPin: pinD})
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if v.Approver.GetPrincipal() != me.GetName() {
		return nil, status.Errorf(codes.PermissionDenied, "approved by %s, not by the caller", v.Approver.GetPrincipal())
	}
	ft.signed = st
	ft.task.ApprovedBy = me.GetName()
	ft.to(t0.Add(time.Minute).UnixMilli(), managev1.TaskState_TASK_STATE_SCHEDULED, me.GetName(), "approved")
	f.verified = append(f.verified, v)
	return ft.task, nil
}

func (f *fakeAPI) ListTasks(_ context.Context, r *managev1.ListTasksRequest) (*managev1.ListTasksResponse, error) {
	f.record(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*managev1.Task
	for _, ft := range f.tasks {
		t := ft.task
		if (r.GetTenant() == "" || r.GetTenant() == t.GetTenant()) && (r.GetAgentId() == "" || r.GetAgentId() == t.GetAgentId()) &&
			(r.GetState() == managev1.TaskState_TASK_STATE_UNSPECIFIED || r.GetState() == t.GetState()) {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].GetCreatedUnix() != out[j].GetCreatedUnix() {
			return out[i].GetCreatedUnix() > out[j].GetCreatedUnix()
		}
		return out[i].GetId() > out[j].GetId()
	})
	return &managev1.ListTasksResponse{Tasks: out}, nil
}

func (f *fakeAPI) GetTask(_ context.Context, r *managev1.GetTaskRequest) (*managev1.TaskDetail, error) {
	f.record(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.getTasks++
	ft := f.tasks[r.GetTaskId()]
	if ft == nil {
		return nil, status.Errorf(codes.NotFound, "not found: task %q", r.GetTaskId())
	}
	if len(ft.steps) > 0 {
		ft.steps[0](ft)
		ft.steps = ft.steps[1:]
	}
	raw, _ := proto.Marshal(ft.signed)
	d := &managev1.TaskDetail{Task: proto.Clone(ft.task).(*managev1.Task), Transitions: slices.Clone(ft.transitions), SignedTask: raw,
		NextOutput: r.GetOutputAfter()}
	if after := r.GetOutputAfter(); after < uint64(len(ft.output)) {
		end := min(after+fakePage, uint64(len(ft.output)))
		d.Output, d.NextOutput = ft.output[after:end], end
	}
	return d, nil
}

func (f *fakeAPI) CancelTask(ctx context.Context, r *managev1.CancelTaskRequest) (*managev1.Task, error) {
	f.record(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	ft := f.tasks[r.GetTaskId()]
	switch {
	case ft == nil:
		return nil, status.Errorf(codes.NotFound, "not found: task %q", r.GetTaskId())
	case finalState(ft.task.GetState()):
		return nil, status.Errorf(codes.FailedPrecondition, "task %s already %s", r.GetTaskId(), taskStateLabel(ft.task.GetState()))
	}
	ft.to(t0.UnixMilli(), managev1.TaskState_TASK_STATE_CANCELLED, caller(ctx).GetName(), r.GetReason())
	return ft.task, nil
}

func (f *fakeAPI) ListPlugins(_ context.Context, r *managev1.ListPluginsRequest) (*managev1.PluginListView, error) {
	f.record(r)
	switch r.GetAgentId() {
	case "ag-web01":
		return &managev1.PluginListView{AgentId: "ag-web01", ReportedUnixMs: agoMs(20 * time.Minute), Plugins: &agentv1.PluginList{Tier: "proactive",
			Plugins: []*agentv1.PluginInfo{
				{Name: "pkgupdate", Version: "1.4.0", Capabilities: []string{"inspect", "run"}, ChecksumOk: true},
				{Name: "reboot", Version: "1.4.0", Capabilities: []string{"run", "downtime"}, ChecksumOk: true},
				{Name: "script", Version: "1.3.9", Capabilities: []string{"run"}, Error: "checksum mismatch: sha256:9f2c… in manifest, sha256:41aa… on disk"},
				{Name: "vendor-firmware", Version: "2.0.1", Capabilities: []string{"run", "downtime"}, ChecksumOk: true},
			}}}, nil
	case "ag-mon":
		return &managev1.PluginListView{AgentId: "ag-mon", ReportedUnixMs: agoMs(time.Hour), Plugins: &agentv1.PluginList{Tier: "monitor-only",
			Plugins: []*agentv1.PluginInfo{
				{Name: "pkgupdate", Version: "1.4.0", Capabilities: []string{"inspect", "run"}, ChecksumOk: true},
				{Name: "reboot", Version: "1.4.0", Capabilities: []string{"run", "downtime"}, ChecksumOk: true, Error: "not started in monitor-only"},
			}}}, nil
	case "ag-old":
		return &managev1.PluginListView{AgentId: "ag-old"}, nil
	}
	return nil, notFound(r.GetAgentId())
}

// principalConfig writes a config for the principal with token, with a
// signing key file (mode 0600) and, when cert is not nil, its
// certificate.
func (f *fake) principalConfig(t *testing.T, token string, key ed25519.PrivateKey, cert *trustv1.Certificate) string {
	t.Helper()
	dir := t.TempDir()
	c := &clientconfig.Config{Controller: f.addr, CAPEM: f.caPEM, Token: token, Principal: fakePrincipals[token].GetName()}
	if key != nil {
		c.SigningKey = filepath.Join(dir, "signing.key")
		if err := envelope.WritePrivateKey(c.SigningKey, key); err != nil {
			t.Fatal(err)
		}
	}
	if cert != nil {
		raw, err := proto.Marshal(cert)
		if err != nil {
			t.Fatal(err)
		}
		c.SigningCertificate = base64.StdEncoding.EncodeToString(raw)
	}
	path := filepath.Join(dir, fakePrincipals[token].GetName()+".json")
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	return path
}
