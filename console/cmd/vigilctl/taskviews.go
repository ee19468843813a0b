package main

import (
	"encoding/json"
	"time"

	"google.golang.org/protobuf/proto"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	trustv1 "github.com/vigil-rmm/vigil/proto/vigil/trust/v1"
)

// JSON views of the trust, task and plugin commands (docs/cli.md), stable
// as those of views.go.

// trustRootView is `trust show` and `trust set-root`.
type trustRootView struct {
	Fingerprint string     `json:"fingerprint"`
	SetAt       *time.Time `json:"set_at"`
	SetBy       string     `json:"set_by"`
}

func trustRootOf(r *managev1.TrustRoot) trustRootView {
	return trustRootView{Fingerprint: r.GetFingerprint(), SetAt: unixPtr(r.GetSetUnix()), SetBy: r.GetSetBy()}
}

// certView is a principal certificate as the controller lists it.
type certView struct {
	Serial               string     `json:"serial"`
	Principal            string     `json:"principal"`
	Role                 string     `json:"role"`
	Tenant               string     `json:"tenant"`
	PublicKeyFingerprint string     `json:"public_key_fingerprint"`
	NotBefore            time.Time  `json:"not_before"`
	NotAfter             time.Time  `json:"not_after"`
	RegisteredAt         *time.Time `json:"registered_at"`
}

func certOf(c *managev1.CertificateInfo) certView {
	return certView{Serial: c.GetSerial(), Principal: c.GetPrincipal(), Role: c.GetRole(), Tenant: c.GetTenant(),
		PublicKeyFingerprint: c.GetPublicKeyFingerprint(), NotBefore: unix(c.GetNotBeforeUnix()), NotAfter: unix(c.GetNotAfterUnix()),
		RegisteredAt: unixPtr(c.GetRegisteredUnix())}
}

// validity is "valid", "expired" or "not yet valid" at t.
func (c certView) validity(t time.Time) string {
	switch {
	case t.Before(c.NotBefore):
		return "not yet valid"
	case !t.Before(c.NotAfter):
		return "expired"
	}
	return "valid"
}

// resultView is a runner's outcome.
type resultView struct {
	OK       bool            `json:"ok"`
	ExitCode int32           `json:"exit_code"`
	Summary  string          `json:"summary"`
	Detail   json.RawMessage `json:"detail"`
}

func resultOf(r *agentv1.TaskResult) *resultView {
	if r == nil {
		return nil
	}
	v := &resultView{OK: r.GetOk(), ExitCode: r.GetExitCode(), Summary: r.GetSummary()}
	if d := r.GetDetail(); len(d) > 0 && json.Valid(d) {
		v.Detail = json.RawMessage(d)
	}
	return v
}

// taskView is one task as the controller tracks it.
type taskView struct {
	ID              string            `json:"id"`
	Tenant          string            `json:"tenant"`
	AgentID         string            `json:"agent_id"`
	Hostname        string            `json:"hostname"`
	Plugin          string            `json:"plugin"`
	Parameters      map[string]string `json:"parameters"`
	State           string            `json:"state"`
	Reason          string            `json:"reason"`
	NotBefore       time.Time         `json:"not_before"`
	NotAfter        time.Time         `json:"not_after"`
	Downtime        bool              `json:"downtime"`
	CreatedBy       string            `json:"created_by"`
	ApprovedBy      string            `json:"approved_by"`
	CreatedAt       time.Time         `json:"created_at"`
	UpdatedAt       *time.Time        `json:"updated_at"`
	ProgressPercent *int32            `json:"progress_percent"`
	ProgressMessage string            `json:"progress_message"`
	Result          *resultView       `json:"result"`
}

// taskStateLabel is "proposed", "scheduled", ... ("" for unspecified).
func taskStateLabel(s managev1.TaskState) string {
	if s == managev1.TaskState_TASK_STATE_UNSPECIFIED {
		return ""
	}
	return enumLabel(s.String(), "TASK_STATE_")
}

// finalState reports a state a task never leaves.
func finalState(s managev1.TaskState) bool {
	return s >= managev1.TaskState_TASK_STATE_SUCCEEDED
}

func taskOf(t *managev1.Task) taskView {
	params := map[string]string{}
	for k, v := range t.GetParameters() {
		params[k] = v
	}
	var pct *int32
	if p := t.GetProgressPercent(); p >= 0 {
		pct = &p
	}
	return taskView{ID: t.GetId(), Tenant: t.GetTenant(), AgentID: t.GetAgentId(), Hostname: t.GetHostname(), Plugin: t.GetPlugin(),
		Parameters: params, State: taskStateLabel(t.GetState()), Reason: t.GetReason(), NotBefore: unix(t.GetNotBeforeUnix()),
		NotAfter: unix(t.GetNotAfterUnix()), Downtime: t.GetDowntime(), CreatedBy: t.GetCreatedBy(), ApprovedBy: t.GetApprovedBy(),
		CreatedAt: unix(t.GetCreatedUnix()), UpdatedAt: unixMsPtr(t.GetUpdatedUnixMs()), ProgressPercent: pct,
		ProgressMessage: t.GetProgressMessage(), Result: resultOf(t.GetResult())}
}

// transitionView is one change of a task's state.
type transitionView struct {
	State  string    `json:"state"`
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	Reason string    `json:"reason"`
}

func transitionOf(t *managev1.TaskTransition) transitionView {
	return transitionView{State: taskStateLabel(t.GetState()), Time: unixMs(t.GetTimeUnixMs()), Actor: t.GetActor(), Reason: t.GetReason()}
}

// outputView is one line of a task's output.
type outputView struct {
	Time   time.Time `json:"time"`
	Stream string    `json:"stream"`
	Line   string    `json:"line"`
}

func outputOf(l *agentv1.OutputLine) outputView {
	s := "stdout"
	if l.GetStderr() {
		s = "stderr"
	}
	return outputView{Time: unixMs(l.GetTimeUnixMs()), Stream: s, Line: l.GetLine()}
}

// signedView is what the signed task itself says, decoded from the
// signed bytes (not the controller's copy of the fields).
type signedView struct {
	TaskID         string            `json:"task_id"`
	Tenant         string            `json:"tenant"`
	AgentID        string            `json:"agent_id"`
	Plugin         string            `json:"plugin"`
	Parameters     map[string]string `json:"parameters"`
	NotBefore      time.Time         `json:"not_before"`
	NotAfter       time.Time         `json:"not_after"`
	Downtime       bool              `json:"downtime"`
	TimeoutSeconds uint32            `json:"timeout_seconds"`
	CreatedBy      string            `json:"created_by"`
	CreatedAt      time.Time         `json:"created_at"`
	SignedBy       []string          `json:"signed_by"`
}

// signedOf decodes a serialized SignedTask; nil when absent or malformed.
// SignedBy lists each signature's "principal (role)" as its certificate
// claims it, unverified.
func signedOf(raw []byte) *signedView {
	var st trustv1.SignedTask
	var t trustv1.Task
	if len(raw) == 0 || proto.Unmarshal(raw, &st) != nil || proto.Unmarshal(st.GetTask(), &t) != nil {
		return nil
	}
	v := taskSpecOf(&t)
	for _, s := range st.GetSignatures() {
		var b trustv1.CertificateBody
		if proto.Unmarshal(s.GetCertificate().GetBody(), &b) == nil {
			v.SignedBy = append(v.SignedBy, b.GetPrincipal()+" ("+b.GetRole()+")")
		}
	}
	return v
}

func taskSpecOf(t *trustv1.Task) *signedView {
	params := map[string]string{}
	for k, v := range t.GetParameters() {
		params[k] = v
	}
	return &signedView{TaskID: t.GetTaskId(), Tenant: t.GetTenant(), AgentID: t.GetAgentId(), Plugin: t.GetPlugin(), Parameters: params,
		NotBefore: unix(t.GetNotBeforeUnix()), NotAfter: unix(t.GetNotAfterUnix()), Downtime: t.GetDowntime(),
		TimeoutSeconds: t.GetTimeoutSeconds(), CreatedBy: t.GetCreatedBy(), CreatedAt: unix(t.GetCreatedUnix()), SignedBy: []string{}}
}

// taskDetailView is `task show`.
type taskDetailView struct {
	Task            taskView         `json:"task"`
	Signed          *signedView      `json:"signed"`
	Transitions     []transitionView `json:"transitions"`
	Output          []outputView     `json:"output"`
	OutputTruncated bool             `json:"output_truncated"`
}

// pluginView is one plugin as the agent reported it.
type pluginView struct {
	Name         string   `json:"name"`
	Version      string   `json:"version"`
	Capabilities []string `json:"capabilities"`
	ChecksumOK   bool     `json:"checksum_ok"`
	Error        string   `json:"error"`
}

// pluginListView is `plugins list`.
type pluginListView struct {
	AgentID    string       `json:"agent_id"`
	Reported   bool         `json:"reported"`
	Tier       string       `json:"tier"`
	ReportedAt *time.Time   `json:"reported_at"`
	Plugins    []pluginView `json:"plugins"`
}

func pluginListOf(r *managev1.PluginListView) pluginListView {
	v := pluginListView{AgentID: r.GetAgentId(), Reported: r.GetPlugins() != nil, Tier: r.GetPlugins().GetTier(),
		ReportedAt: unixMsPtr(r.GetReportedUnixMs()), Plugins: []pluginView{}}
	for _, p := range r.GetPlugins().GetPlugins() {
		caps := append([]string{}, p.GetCapabilities()...)
		v.Plugins = append(v.Plugins, pluginView{Name: p.GetName(), Version: p.GetVersion(), Capabilities: caps,
			ChecksumOK: p.GetChecksumOk(), Error: p.GetError()})
	}
	return v
}
