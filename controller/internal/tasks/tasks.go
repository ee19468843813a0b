package tasks

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	"github.com/vigil-rmm/vigil/internal/envelope"
	"github.com/vigil-rmm/vigil/internal/version"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
	trustv1 "github.com/vigil-rmm/vigil/proto/vigil/trust/v1"
)

// Timing and size rules.
const (
	// RebootWait is how long a rebooting task waits for its agent to come
	// back with a later boot time before it fails.
	RebootWait = 30 * time.Minute
	// BootTimeSlack is how much later a boot time must be to count as a
	// reboot: a boot time derived from the uptime can wobble by a second.
	BootTimeSlack = 5 * time.Second
	// DispatchGrace is how long after not_after a dispatched task waits
	// for the agent's acceptance to arrive before it expires: the agent
	// may have accepted it just in time and still be sending the report.
	DispatchGrace = envelope.DefaultSkew
	// MaxOutputBytes caps the stored output of one task; what comes after
	// is dropped and the task marked output_truncated.
	MaxOutputBytes = 1 << 20
	// MaxOutputLines caps the stored output lines of one task, and
	// outputLineOverhead is what each line counts against MaxOutputBytes
	// on top of its text (empty lines are records too).
	MaxOutputLines     = 100000
	outputLineOverhead = 16
	// MaxTransitions bounds the transitions a task record keeps for
	// reason changes within one state (state changes are always kept).
	MaxTransitions = 64
	// MaxReason bounds a cancellation reason.
	MaxReason = 512
	// TierMonitorOnly is the tier in which an agent runs no task.
	TierMonitorOnly = "monitor-only"
	// Capability is what an agent announces in Hello when it takes tasks.
	Capability = version.CapTasks
)

// Actors of transitions besides principal names.
const (
	ActorAgent      = "agent"
	ActorController = "controller"
)

// Short names of the lifecycle states.
const (
	Proposed    = managev1.TaskState_TASK_STATE_PROPOSED
	Scheduled   = managev1.TaskState_TASK_STATE_SCHEDULED
	Dispatched  = managev1.TaskState_TASK_STATE_DISPATCHED
	Accepted    = managev1.TaskState_TASK_STATE_ACCEPTED
	Running     = managev1.TaskState_TASK_STATE_RUNNING
	Succeeded   = managev1.TaskState_TASK_STATE_SUCCEEDED
	Failed      = managev1.TaskState_TASK_STATE_FAILED
	Cancelled   = managev1.TaskState_TASK_STATE_CANCELLED
	Expired     = managev1.TaskState_TASK_STATE_EXPIRED
	Refused     = managev1.TaskState_TASK_STATE_REFUSED
	Interrupted = managev1.TaskState_TASK_STATE_INTERRUPTED
)

// State returns a record's state.
func State(r *storev1.TaskRecord) managev1.TaskState { return managev1.TaskState(r.GetState()) }

// Final reports whether s is a final state.
func Final(s managev1.TaskState) bool { return schema.TaskFinal(s) }

// IsReboot reports whether a task ends with a reboot: the reboot plugin,
// or any task whose agent reported that it is rebooting.
func IsReboot(r *storev1.TaskRecord) bool {
	return r.GetPlugin() == "reboot" || r.GetRebootDeadlineUnix() != 0
}

// setState moves r to state and records the transition.
func setState(r *storev1.TaskRecord, s managev1.TaskState, actor, reason string, atMs int64) {
	if last := r.GetTransitions(); len(last) > 0 && atMs < last[len(last)-1].GetTimeUnixMs() {
		atMs = last[len(last)-1].GetTimeUnixMs() // keep the history in order despite skewed clocks
	}
	r.State, r.Reason, r.UpdatedUnixMs = int32(s), reason, max(r.GetUpdatedUnixMs(), atMs)
	r.Transitions = append(r.Transitions, &storev1.TaskTransition{State: int32(s), TimeUnixMs: atMs, Actor: actor, Reason: reason})
}

// note records an event in the history without changing the state (a
// cancel request).
func note(r *storev1.TaskRecord, actor, reason string, atMs int64) {
	r.UpdatedUnixMs = max(r.GetUpdatedUnixMs(), atMs)
	r.Transitions = append(r.Transitions, &storev1.TaskTransition{State: r.GetState(), TimeUnixMs: atMs, Actor: actor, Reason: reason})
}

// ParseSigned decodes a serialized trustv1.SignedTask and the task inside
// it, without verifying anything.
func ParseSigned(raw []byte) (*trustv1.SignedTask, *trustv1.Task, error) {
	if len(raw) == 0 || len(raw) > envelope.MaxSignedTask {
		return nil, nil, fmt.Errorf("%w: signed_task: want 1 to %d bytes, have %d", envelope.ErrMalformed, envelope.MaxSignedTask, len(raw))
	}
	st := &trustv1.SignedTask{}
	if err := proto.Unmarshal(raw, st); err != nil {
		return nil, nil, fmt.Errorf("%w: signed_task: %v", envelope.ErrMalformed, err)
	}
	t := &trustv1.Task{}
	if err := proto.Unmarshal(st.GetTask(), t); err != nil {
		return nil, nil, fmt.Errorf("%w: task: %v", envelope.ErrMalformed, err)
	}
	return st, t, nil
}

func marshal(m proto.Message) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}

// Create stores a task signed by the calling technician (or admin). It
// runs the agent's checks (envelope.Verify against the recorded root,
// without the time window) except that a downtime task may lack its
// client approver's signature: it is then PROPOSED, otherwise SCHEDULED.
// It also refuses a task whose signer is not the caller, whose
// certificates are not registered on the controller or not valid now,
// whose agent is unknown, revoked or monitor-only, or whose not_after has
// passed. Creating the same signed task again returns the stored one with
// created false.
//
// Create reads the root and the agent in tx, so the checks and the write
// are one atomic step.
func Create(tx store.Tx, st *trustv1.SignedTask, caller *storev1.Principal, now time.Time) (rec *storev1.TaskRecord, created bool, err error) {
	rootPin, err := RootPin(tx)
	if err != nil {
		return nil, false, err
	}
	var peek trustv1.Task
	if err := proto.Unmarshal(st.GetTask(), &peek); err != nil {
		return nil, false, fmt.Errorf("%w: task: %v", envelope.ErrMalformed, err)
	}
	if err := envelope.CheckTask(&peek); err != nil {
		return nil, false, err
	}
	agent, err := schema.GetAgent(tx, peek.GetAgentId())
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, fmt.Errorf("%w: agent %q", ErrNotFound, peek.GetAgentId())
	}
	if err != nil {
		return nil, false, err
	}
	v, err := envelope.Verify(st, envelope.Policy{RootPin: rootPin, AgentID: agent.GetId(), Tenant: agent.GetTenant(),
		AllowMissingApproval: true})
	if err != nil {
		return nil, false, err
	}
	if err := validNow(st, rootPin, now); err != nil {
		return nil, false, err
	}
	tech, approver := v.Technician, v.Approver
	proposed := peek.GetDowntime() && approver == nil
	if tech.GetPrincipal() != caller.GetName() {
		return nil, false, fmt.Errorf("%w: the task is signed by %s's certificate and you are %s; sign it with your own key",
			ErrNotSigner, tech.GetPrincipal(), caller.GetName())
	}
	if by := peek.GetCreatedBy(); by != "" && by != tech.GetPrincipal() {
		// Approvers and the agent's operators read created_by: it must
		// name the signer.
		return nil, false, fmt.Errorf("%w: the task names %s as its creator but %s signed it", ErrNotSigner, by, tech.GetPrincipal())
	}
	canon, err := marshal(st)
	if err != nil {
		return nil, false, err
	}
	if old, err := schema.GetTask(tx, peek.GetTaskId()); err == nil {
		if bytes.Equal(old.GetSignedTask(), canon) {
			return old, false, nil
		}
		return nil, false, fmt.Errorf("%w: task %s (with other content); sign a new task, which gets a new id", ErrExists, peek.GetTaskId())
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, false, err
	}
	for _, b := range []*trustv1.CertificateBody{tech, approver} {
		if b == nil {
			continue
		}
		if err := registered(tx, b); err != nil {
			return nil, false, err
		}
	}
	switch {
	case agent.GetRevoked():
		return nil, false, fmt.Errorf("%w: %s", ErrAgentRevoked, agent.GetId())
	case agent.GetTier() == TierMonitorOnly:
		return nil, false, fmt.Errorf("agent %s is %w", agent.GetId(), ErrMonitorOnly)
	case now.Unix() >= peek.GetNotAfterUnix():
		return nil, false, fmt.Errorf("%w: %s; sign a new task with a later window", envelope.ErrExpired,
			time.Unix(peek.GetNotAfterUnix(), 0).UTC().Format(time.RFC3339))
	}
	rec = &storev1.TaskRecord{
		Id: peek.GetTaskId(), Tenant: peek.GetTenant(), AgentId: peek.GetAgentId(), Plugin: peek.GetPlugin(),
		Parameters: peek.GetParameters(), NotBeforeUnix: peek.GetNotBeforeUnix(), NotAfterUnix: peek.GetNotAfterUnix(),
		Downtime: peek.GetDowntime(), CreatedBy: tech.GetPrincipal(), ApprovedBy: approver.GetPrincipal(),
		CreatedUnix: now.Unix(), SignedTask: canon, ProgressPercent: -1,
	}
	if proposed {
		setState(rec, Proposed, caller.GetName(), "waiting for a client approver of "+rec.Tenant, now.UnixMilli())
	} else {
		setState(rec, Scheduled, caller.GetName(), "", now.UnixMilli())
	}
	return rec, true, schema.PutTask(tx, rec)
}

// validNow checks that each signing certificate of a task whose
// signatures verified is valid now (the agent checks that again when it
// runs the task).
func validNow(st *trustv1.SignedTask, rootPin []byte, now time.Time) error {
	for i, sig := range st.GetSignatures() {
		if _, err := envelope.ParseCertificate(sig.GetCertificate(), rootPin, now); err != nil {
			return fmt.Errorf("signature %d: %w", i+1, err)
		}
	}
	return nil
}

// Approve adds the calling client approver's signature to a PROPOSED
// downtime task and schedules it. The signature's certificate must be
// valid now, registered, a client approver's of the task's tenant, and
// the caller's own; the task with the new signature must pass
// envelope.Verify. Approving again as the same approver returns the task.
func Approve(tx store.Tx, taskID string, sig *trustv1.Signature, caller *storev1.Principal, now time.Time) (*storev1.TaskRecord, error) {
	rec, err := schema.GetTask(tx, taskID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: task %q", ErrNotFound, taskID)
	}
	if err != nil {
		return nil, err
	}
	if State(rec) != Proposed {
		if rec.GetApprovedBy() == caller.GetName() {
			return rec, nil
		}
		return nil, fmt.Errorf("%w: task %s is %s; only a proposed task can be approved", ErrState, taskID, StateName(State(rec)))
	}
	rootPin, err := RootPin(tx)
	if err != nil {
		return nil, err
	}
	b, err := envelope.ParseCertificate(sig.GetCertificate(), rootPin, now)
	if err != nil {
		return nil, err
	}
	switch {
	case b.GetRole() != envelope.RoleClientApprover || b.GetTenant() != rec.GetTenant():
		return nil, fmt.Errorf("%w: certificate %s is a %s certificate for tenant %q; approve with a client approver's certificate for %s",
			ErrCertMismatch, b.GetSerial(), b.GetRole(), b.GetTenant(), rec.GetTenant())
	case b.GetPrincipal() != caller.GetName():
		return nil, fmt.Errorf("%w: the signature is by %s's certificate and you are %s", ErrNotSigner, b.GetPrincipal(), caller.GetName())
	}
	if err := registered(tx, b); err != nil {
		return nil, err
	}
	st, _, err := ParseSigned(rec.GetSignedTask())
	if err != nil {
		return nil, err
	}
	st.Signatures = append(st.Signatures, sig)
	if _, err := envelope.Verify(st, envelope.Policy{RootPin: rootPin, AgentID: rec.GetAgentId(), Tenant: rec.GetTenant()}); err != nil {
		return nil, err
	}
	if now.Unix() >= rec.GetNotAfterUnix() {
		return nil, fmt.Errorf("%w: %s; the technician must sign a new task", envelope.ErrExpired,
			time.Unix(rec.GetNotAfterUnix(), 0).UTC().Format(time.RFC3339))
	}
	if rec.SignedTask, err = marshal(st); err != nil {
		return nil, err
	}
	rec.ApprovedBy = caller.GetName()
	setState(rec, Scheduled, caller.GetName(), "approved", now.UnixMilli())
	return rec, schema.PutTask(tx, rec)
}

// CancelCreatedBy cancels the tasks principal created that no agent holds
// yet (proposed or scheduled), when principal is revoked: its signature
// should not act after it. It returns how many it cancelled. Tasks already
// offered run or end on the agent; the agent accepts an unexpired
// certificate from the pinned root (see ADR 0010 on revocation).
func CancelCreatedBy(tx store.Tx, principal, caller string, now time.Time) (int, error) {
	var ids []string
	err := schema.ScanTasks(tx, func(r *storev1.TaskRecord) error {
		if st := State(r); r.GetCreatedBy() == principal && (st == Proposed || st == Scheduled) {
			ids = append(ids, r.GetId())
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if _, _, err := Cancel(tx, id, caller, "the technician "+principal+" was revoked", now); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// Cancel cancels a task on behalf of caller. A task the agent has not
// been offered (PROPOSED, SCHEDULED) is CANCELLED at once. For one it may
// hold (DISPATCHED, ACCEPTED, RUNNING) the request is recorded in the
// history and as a pending cancel request, and askAgent is true: the
// agent must be sent a TaskCancel, and it reports CANCELLED (or how the
// task ended first). A dispatched task with a pending cancel request is
// not offered again.
func Cancel(tx store.Tx, taskID, caller, reason string, now time.Time) (rec *storev1.TaskRecord, askAgent bool, err error) {
	rec, err = schema.GetTask(tx, taskID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, fmt.Errorf("%w: task %q", ErrNotFound, taskID)
	}
	if err != nil {
		return nil, false, err
	}
	why := cancelReason(caller, reason)
	switch State(rec) {
	case Proposed, Scheduled:
		setState(rec, Cancelled, caller, why, now.UnixMilli())
		return rec, false, schema.PutTask(tx, rec)
	case Dispatched, Accepted, Running:
		if _, err := schema.GetCancelRequest(tx, taskID); err == nil {
			return rec, true, nil // already asked; ask the agent again
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, false, err
		}
		req := &storev1.TaskTransition{State: int32(Cancelled), TimeUnixMs: now.UnixMilli(), Actor: caller, Reason: why}
		if err := schema.PutCancelRequest(tx, taskID, req); err != nil {
			return nil, false, err
		}
		note(rec, caller, "cancel requested from the agent ("+why+")", now.UnixMilli())
		return rec, true, schema.PutTask(tx, rec)
	}
	return nil, false, fmt.Errorf("%w: task %s is %s and can no longer be cancelled", ErrState, taskID, StateName(State(rec)))
}

// cancelReason is the reason a cancel by caller is recorded and sent
// with.
func cancelReason(caller, reason string) string {
	if reason == "" {
		return "cancelled by " + caller
	}
	return "cancelled by " + caller + ": " + reason
}

// StateName is a state's short lower-case name ("running").
func StateName(s managev1.TaskState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "TASK_STATE_"))
}
