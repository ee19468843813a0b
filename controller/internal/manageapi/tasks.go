package manageapi

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/controller/internal/apierr"
	"github.com/vigil-rmm/vigil/controller/internal/auth"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	"github.com/vigil-rmm/vigil/controller/internal/tasks"
	"github.com/vigil-rmm/vigil/internal/envelope"
	"github.com/vigil-rmm/vigil/internal/limits"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
	trustv1 "github.com/vigil-rmm/vigil/proto/vigil/trust/v1"
)

// Limits of the task calls.
const (
	// MaxTaskList is the default and largest ListTasks limit.
	MaxTaskList = 1000
	// MaxOutputPerCall is how many output lines GetTask returns at most;
	// MaxOutputBytesPerCall bounds their size, so a reply stays well under
	// a client's default 4 MiB receive limit.
	MaxOutputPerCall      = 5000
	MaxOutputBytesPerCall = 2 << 20
	// listParamValue is how much of a parameter value (a script body) a
	// task list shows; GetTask shows it whole.
	listParamValue = 256
	// maxSignature bounds a serialized Signature (two certificates' worth).
	maxSignature = 8 << 10
)

// TaskCanceller cancels tasks and tells their agents.
type TaskCanceller interface {
	Cancel(ctx context.Context, taskID, caller, reason string) (*storev1.TaskRecord, error)
	// Wake makes the engine's next pass start now (a task became due);
	// it never blocks.
	Wake()
}

// wake tells the engine a task may be due, so it is offered now rather
// than at the engine's next pass.
func (s *Server) wake(rec *storev1.TaskRecord) {
	if s.cfg.Tasks != nil && tasks.State(rec) == managev1.TaskState_TASK_STATE_SCHEDULED {
		s.cfg.Tasks.Wake()
	}
}

// SetTrustRoot implements managev1.ManageServiceServer.
func (s *Server) SetTrustRoot(ctx context.Context, req *managev1.SetTrustRootRequest) (*managev1.TrustRoot, error) {
	caller := auth.PrincipalFrom(ctx)
	var r *storev1.TrustRootRecord
	var old string
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		if prev, err := schema.GetTrustRoot(tx); err == nil {
			old = prev.GetFingerprint()
		}
		var err error
		r, err = tasks.SetRoot(tx, req.GetFingerprint(), caller.GetName(), s.cfg.Now())
		return err
	})
	if err != nil {
		return nil, err
	}
	s.cfg.Logger.InfoContext(ctx, "trust root set", "fingerprint", r.GetFingerprint(), "previous", old, "by", caller.GetName())
	return trustRootProto(r), nil
}

func trustRootProto(r *storev1.TrustRootRecord) *managev1.TrustRoot {
	return &managev1.TrustRoot{Fingerprint: r.GetFingerprint(), SetUnix: r.GetSetUnix(), SetBy: r.GetSetBy()}
}

// GetTrustRoot implements managev1.ManageServiceServer.
func (s *Server) GetTrustRoot(ctx context.Context, _ *managev1.GetTrustRootRequest) (*managev1.TrustRoot, error) {
	var r *storev1.TrustRootRecord
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		r, err = schema.GetTrustRoot(tx)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return &managev1.TrustRoot{}, nil
	}
	if err != nil {
		return nil, err
	}
	return trustRootProto(r), nil
}

func certProto(r *storev1.CertificateRecord) *managev1.CertificateInfo {
	return &managev1.CertificateInfo{Serial: r.GetSerial(), Principal: r.GetPrincipal(), Role: r.GetRole(), Tenant: r.GetTenant(),
		PublicKeyFingerprint: envelope.Fingerprint(r.GetPublicKey()), NotBeforeUnix: r.GetNotBeforeUnix(),
		NotAfterUnix: r.GetNotAfterUnix(), RegisteredUnix: r.GetRegisteredUnix()}
}

// RegisterCertificate implements managev1.ManageServiceServer.
func (s *Server) RegisterCertificate(ctx context.Context, req *managev1.RegisterCertificateRequest) (*managev1.CertificateInfo, error) {
	var r *storev1.CertificateRecord
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		r, err = tasks.RegisterCertificate(tx, req.GetCertificate(), s.cfg.Now())
		return err
	})
	if err != nil {
		return nil, err
	}
	s.cfg.Logger.InfoContext(ctx, "certificate registered", "serial", r.GetSerial(), "principal", r.GetPrincipal(), "role", r.GetRole(),
		"tenant", r.GetTenant(), "by", auth.PrincipalFrom(ctx).GetName())
	return certProto(r), nil
}

// ListCertificates implements managev1.ManageServiceServer. Tenant-scoped
// callers see their tenant's certificates only.
func (s *Server) ListCertificates(ctx context.Context, req *managev1.ListCertificatesRequest) (*managev1.ListCertificatesResponse, error) {
	p := auth.PrincipalFrom(ctx)
	var rs []*storev1.CertificateRecord
	if err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		rs, err = schema.ListCertificates(tx)
		return err
	}); err != nil {
		return nil, err
	}
	out := &managev1.ListCertificatesResponse{}
	for _, r := range rs {
		if req.GetPrincipal() != "" && r.GetPrincipal() != req.GetPrincipal() {
			continue
		}
		if auth.Role(p.GetRole()).TenantScoped() && r.GetTenant() != p.GetTenant() {
			continue
		}
		out.Certificates = append(out.Certificates, certProto(r))
	}
	sort.SliceStable(out.Certificates, func(i, j int) bool {
		a, b := out.Certificates[i], out.Certificates[j]
		if a.Principal != b.Principal {
			return a.Principal < b.Principal
		}
		return a.Serial < b.Serial
	})
	return out, nil
}

// taskProto converts a record; hostname comes from the agent record.
func taskProto(r *storev1.TaskRecord, hostname string) *managev1.Task {
	return &managev1.Task{
		Id: r.GetId(), Tenant: r.GetTenant(), AgentId: r.GetAgentId(), Hostname: hostname, Plugin: r.GetPlugin(),
		Parameters: r.GetParameters(), State: tasks.State(r), Reason: r.GetReason(), NotBeforeUnix: r.GetNotBeforeUnix(),
		NotAfterUnix: r.GetNotAfterUnix(), Downtime: r.GetDowntime(), CreatedBy: r.GetCreatedBy(), ApprovedBy: r.GetApprovedBy(),
		CreatedUnix: r.GetCreatedUnix(), UpdatedUnixMs: r.GetUpdatedUnixMs(), ProgressPercent: r.GetProgressPercent(),
		ProgressMessage: r.GetProgressMessage(), Result: r.GetResult(),
	}
}

func hostnameOf(tx store.Tx, agentID string) string {
	a, err := schema.GetAgent(tx, agentID)
	if err != nil {
		return ""
	}
	return a.GetHostname()
}

// CreateTask implements managev1.ManageServiceServer.
func (s *Server) CreateTask(ctx context.Context, req *managev1.CreateTaskRequest) (*managev1.Task, error) {
	caller := auth.PrincipalFrom(ctx)
	st, _, err := tasks.ParseSigned(req.GetSignedTask())
	if err != nil {
		return nil, err
	}
	var (
		rec     *storev1.TaskRecord
		created bool
		host    string
	)
	// Batch: a technician creating tasks for a whole fleet at once shares
	// commits with the concurrent creates (one fsync for many tasks).
	err = s.cfg.Store.Batch(ctx, func(tx store.Tx) error {
		var err error
		if rec, created, err = tasks.Create(tx, st, caller, s.cfg.Now()); err != nil {
			return err
		}
		host = hostnameOf(tx, rec.GetAgentId())
		return nil
	})
	if err != nil {
		return nil, err
	}
	if created {
		s.wake(rec)
		s.cfg.Logger.InfoContext(ctx, "task created", "task_id", rec.GetId(), "agent_id", rec.GetAgentId(), "tenant", rec.GetTenant(),
			"plugin", rec.GetPlugin(), "downtime", rec.GetDowntime(), "state", tasks.StateName(tasks.State(rec)), "by", caller.GetName())
	}
	return taskProto(rec, host), nil
}

// ApproveTask implements managev1.ManageServiceServer.
func (s *Server) ApproveTask(ctx context.Context, req *managev1.ApproveTaskRequest) (*managev1.Task, error) {
	caller := auth.PrincipalFrom(ctx)
	if len(req.GetSignature()) == 0 || len(req.GetSignature()) > maxSignature {
		return nil, apierr.Invalid("signature", "want 1 to %d bytes, have %d", maxSignature, len(req.GetSignature()))
	}
	sig := &trustv1.Signature{}
	if err := proto.Unmarshal(req.GetSignature(), sig); err != nil {
		return nil, apierr.Invalid("signature", "not a serialized vigil.trust.v1.Signature: %v", err)
	}
	var (
		rec  *storev1.TaskRecord
		host string
	)
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		if rec, err = tasks.Approve(tx, req.GetTaskId(), sig, caller, s.cfg.Now()); err != nil {
			return err
		}
		host = hostnameOf(tx, rec.GetAgentId())
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.wake(rec)
	s.cfg.Logger.InfoContext(ctx, "task approved", "task_id", rec.GetId(), "agent_id", rec.GetAgentId(), "by", caller.GetName())
	return taskProto(rec, host), nil
}

// ListTasks implements managev1.ManageServiceServer.
func (s *Server) ListTasks(ctx context.Context, req *managev1.ListTasksRequest) (*managev1.ListTasksResponse, error) {
	p := auth.PrincipalFrom(ctx)
	limit := int(req.GetLimit())
	if limit <= 0 || limit > MaxTaskList {
		limit = MaxTaskList
	}
	if st := req.GetState(); managev1.TaskState_name[int32(st)] == "" {
		return nil, apierr.Invalid("state", "%d is not a task state", st)
	}
	var recs []*storev1.TaskRecord
	hosts := map[string]string{}
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		if req.GetTenant() != "" {
			if _, err := schema.GetTenant(tx, req.GetTenant()); errors.Is(err, store.ErrNotFound) {
				return apierr.NotFound("tenant", req.GetTenant())
			}
		}
		err := schema.ScanTasks(tx, func(r *storev1.TaskRecord) error {
			switch {
			case req.GetTenant() != "" && r.GetTenant() != req.GetTenant(),
				req.GetAgentId() != "" && r.GetAgentId() != req.GetAgentId(),
				req.GetState() != managev1.TaskState_TASK_STATE_UNSPECIFIED && tasks.State(r) != req.GetState(),
				!auth.CanSeeTenant(p, r.GetTenant()):
				return nil
			}
			recs = append(recs, listed(r))
			return nil
		})
		if err != nil {
			return err
		}
		for _, r := range recs {
			if _, ok := hosts[r.GetAgentId()]; !ok {
				hosts[r.GetAgentId()] = hostnameOf(tx, r.GetAgentId())
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Newest first by the controller's own time of creation (the first
	// transition, in milliseconds): created_unix is the technician's clock
	// and only to the second.
	submitted := func(r *storev1.TaskRecord) int64 {
		if ts := r.GetTransitions(); len(ts) > 0 {
			return ts[0].GetTimeUnixMs()
		}
		return r.GetCreatedUnix() * 1000
	}
	sort.SliceStable(recs, func(i, j int) bool {
		if a, b := submitted(recs[i]), submitted(recs[j]); a != b {
			return a > b
		}
		return recs[i].GetId() < recs[j].GetId()
	})
	out := &managev1.ListTasksResponse{}
	for _, r := range recs[:min(limit, len(recs))] {
		out.Tasks = append(out.Tasks, taskProto(r, hosts[r.GetAgentId()]))
	}
	return out, nil
}

// listed trims a record for a task list: no signed bytes, history or
// result detail, and long parameter values (script bodies) cut, so that a
// list of MaxTaskList tasks stays small.
func listed(r *storev1.TaskRecord) *storev1.TaskRecord {
	// The first transition stays: its time orders the list.
	r.SignedTask, r.Transitions = nil, r.Transitions[:min(1, len(r.Transitions))]
	if r.GetResult() != nil {
		r.Result.Detail = nil
	}
	for k, v := range r.GetParameters() {
		if len(v) > listParamValue {
			r.Parameters[k] = fmt.Sprintf("%s… (%d bytes; see the task)", limits.CleanString(v, listParamValue), len(v))
		}
	}
	return r
}

// GetTask implements managev1.ManageServiceServer.
func (s *Server) GetTask(ctx context.Context, req *managev1.GetTaskRequest) (*managev1.TaskDetail, error) {
	out := &managev1.TaskDetail{}
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		rec, err := schema.GetTask(tx, req.GetTaskId())
		if errors.Is(err, store.ErrNotFound) {
			return apierr.NotFound("task", req.GetTaskId())
		}
		if err != nil {
			return err
		}
		out.Task = taskProto(rec, hostnameOf(tx, rec.GetAgentId()))
		for _, t := range rec.GetTransitions() {
			out.Transitions = append(out.Transitions, &managev1.TaskTransition{State: managev1.TaskState(t.GetState()),
				TimeUnixMs: t.GetTimeUnixMs(), Actor: t.GetActor(), Reason: t.GetReason()})
		}
		out.Output, out.NextOutput, err = schema.ListTaskOutput(tx, rec.GetId(), req.GetOutputAfter(), MaxOutputPerCall, MaxOutputBytesPerCall)
		out.OutputTruncated, out.SignedTask = rec.GetOutputTruncated(), rec.GetSignedTask()
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CancelTask implements managev1.ManageServiceServer.
func (s *Server) CancelTask(ctx context.Context, req *managev1.CancelTaskRequest) (*managev1.Task, error) {
	caller := auth.PrincipalFrom(ctx)
	if len(req.GetReason()) > tasks.MaxReason {
		return nil, apierr.Invalid("reason", "%d bytes, limit %d", len(req.GetReason()), tasks.MaxReason)
	}
	reason := limits.CleanString(req.GetReason(), tasks.MaxReason)
	var (
		rec *storev1.TaskRecord
		err error
	)
	if s.cfg.Tasks != nil {
		rec, err = s.cfg.Tasks.Cancel(ctx, req.GetTaskId(), caller.GetName(), reason)
	} else {
		err = s.cfg.Store.Update(ctx, func(tx store.Tx) error {
			rec, _, err = tasks.Cancel(tx, req.GetTaskId(), caller.GetName(), reason, s.cfg.Now())
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	var host string
	_ = s.cfg.Store.View(ctx, func(tx store.Tx) error { host = hostnameOf(tx, rec.GetAgentId()); return nil })
	s.cfg.Logger.InfoContext(ctx, "task cancel", "task_id", rec.GetId(), "agent_id", rec.GetAgentId(),
		"state", tasks.StateName(tasks.State(rec)), "by", caller.GetName())
	return taskProto(rec, host), nil
}

// ListPlugins implements managev1.ManageServiceServer.
func (s *Server) ListPlugins(ctx context.Context, req *managev1.ListPluginsRequest) (*managev1.PluginListView, error) {
	out := &managev1.PluginListView{AgentId: req.GetAgentId()}
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		if _, err := schema.GetAgent(tx, req.GetAgentId()); errors.Is(err, store.ErrNotFound) {
			return apierr.NotFound("agent", req.GetAgentId())
		} else if err != nil {
			return err
		}
		r, err := schema.GetPluginList(tx, req.GetAgentId())
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		out.Plugins, out.ReportedUnixMs = r.GetPlugins(), r.GetReportedUnixMs()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// taskTenant resolves a task id to its tenant for the authorization table.
func taskTenant(get func(req any) string) func(context.Context, store.Tx, any) (string, bool, error) {
	return byObject(schema.GetTask, get)
}

// signedTaskTenant names the tenant of the agent a signed task targets. A
// request that does not parse names none: the handler refuses it.
func signedTaskTenant(ctx context.Context, tx store.Tx, req any) (string, bool, error) {
	_, t, err := tasks.ParseSigned(req.(*managev1.CreateTaskRequest).GetSignedTask())
	if err != nil {
		return "", false, nil
	}
	return byAgent(func(any) string { return t.GetAgentId() })(ctx, tx, req)
}

// certTenant names the tenant a certificate is scoped to.
func certTenant(_ context.Context, _ store.Tx, req any) (string, bool, error) {
	var c trustv1.Certificate
	var b trustv1.CertificateBody
	raw := req.(*managev1.RegisterCertificateRequest).GetCertificate()
	if len(raw) > tasks.MaxCertificate || proto.Unmarshal(raw, &c) != nil || proto.Unmarshal(c.GetBody(), &b) != nil {
		return "", false, nil
	}
	return b.GetTenant(), b.GetTenant() != "", nil
}

// principalTenant names the tenant of a named principal (none when no
// name is given).
func principalTenant(get func(req any) string) func(context.Context, store.Tx, any) (string, bool, error) {
	return func(_ context.Context, tx store.Tx, req any) (string, bool, error) {
		name := get(req)
		if name == "" {
			return "", false, nil
		}
		if !nameRE.MatchString(name) {
			return "", true, apierr.ErrNotFound
		}
		p, err := schema.PrincipalByName(tx, name)
		if errors.Is(err, store.ErrNotFound) {
			return "", true, apierr.ErrNotFound
		}
		if err != nil {
			return "", true, err
		}
		return p.GetTenant(), true, nil
	}
}

// listTasksTenant names the tenant a ListTasks filter is about: its tenant,
// or its agent's.
func listTasksTenant(ctx context.Context, tx store.Tx, req any) (string, bool, error) {
	r := req.(*managev1.ListTasksRequest)
	if r.GetTenant() != "" {
		return r.GetTenant(), true, nil
	}
	if r.GetAgentId() != "" {
		return byAgent(func(any) string { return r.GetAgentId() })(ctx, tx, req)
	}
	return "", false, nil
}
