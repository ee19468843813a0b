package tasks_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-rmm/vigil/controller/controllertest"
	"github.com/vigil-rmm/vigil/controller/internal/fleet"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	"github.com/vigil-rmm/vigil/controller/internal/tasks"
	"github.com/vigil-rmm/vigil/internal/envelope"
	"github.com/vigil-rmm/vigil/internal/logging"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
	trustv1 "github.com/vigil-rmm/vigil/proto/vigil/trust/v1"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	agentA   = "ag-aaaaaaaaaaaaaaa1" // acme, proactive, booted at bootA
	agentMon = "ag-aaaaaaaaaaaaaaa2" // acme, monitor-only
	agentRev = "ag-aaaaaaaaaaaaaaa3" // acme, revoked
	agentB   = "ag-bbbbbbbbbbbbbbb1" // beta
	bootA    = 1_700_000_000
)

// rig is a real bolt store with tenants, agents, principals and a trust
// root, a real fleet, and an engine on a fake clock driven by Tick.
type rig struct {
	t     *testing.T
	st    store.Store
	now   time.Time
	fleet *fleet.Fleet
	eng   *tasks.Engine
	trust *controllertest.Trust

	alice *controllertest.Signer // technician, registered
	bob   *controllertest.Signer // technician, not registered
	carol *controllertest.Signer // client approver of acme, registered
	dave  *controllertest.Signer // client approver of beta, registered
	admin *controllertest.Signer // admin, registered
}

var principals = map[string]*storev1.Principal{
	"alice": {Id: "pr-alice", Name: "alice", Role: "technician"},
	"bob":   {Id: "pr-bob", Name: "bob", Role: "technician"},
	"carol": {Id: "pr-carol", Name: "carol", Role: "client-approver", Tenant: "acme"},
	"dave":  {Id: "pr-dave", Name: "dave", Role: "client-approver", Tenant: "beta"},
	"root":  {Id: "pr-root", Name: "root", Role: "admin"},
}

func newRig(t *testing.T) *rig {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "control.db"), store.BoltOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := schema.Open(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, st: st, now: time.Unix(bootA+86400, 0), trust: controllertest.NewTrust(t)}
	r.fleet = fleet.New(logging.Discard(), func() time.Time { return r.now })
	r.eng = tasks.NewEngine(tasks.EngineConfig{Store: st, Fleet: r.fleet, Logger: logging.Discard(), Now: func() time.Time { return r.now }})
	r.alice = r.trust.Certify(t, "alice", envelope.RoleTechnician, "", r.now)
	r.bob = r.trust.Certify(t, "bob", envelope.RoleTechnician, "", r.now)
	r.carol = r.trust.Certify(t, "carol", envelope.RoleClientApprover, "acme", r.now)
	r.dave = r.trust.Certify(t, "dave", envelope.RoleClientApprover, "beta", r.now)
	r.admin = r.trust.Certify(t, "root", envelope.RoleAdmin, "", r.now)
	r.update(func(tx store.Tx) error {
		for _, tn := range []string{"acme", "beta"} {
			if err := schema.PutTenant(tx, &storev1.Tenant{Id: tn}); err != nil {
				return err
			}
		}
		for _, a := range []*storev1.Agent{
			{Id: agentA, Tenant: "acme", Hostname: "web1", Tier: "proactive", BootTimeUnix: bootA},
			{Id: agentMon, Tenant: "acme", Hostname: "mon", Tier: tasks.TierMonitorOnly},
			{Id: agentRev, Tenant: "acme", Hostname: "old", Tier: "proactive", Revoked: true},
			{Id: agentB, Tenant: "beta", Hostname: "db", Tier: "proactive"},
		} {
			if err := schema.PutAgent(tx, a); err != nil {
				return err
			}
		}
		for _, p := range principals {
			if err := schema.CreatePrincipal(tx, &storev1.Principal{Id: p.Id, Name: p.Name, Role: p.Role, Tenant: p.Tenant, TokenHash: p.Id}); err != nil {
				return err
			}
		}
		if _, err := tasks.SetRoot(tx, r.trust.Fingerprint, "root", r.now); err != nil {
			return err
		}
		for _, s := range []*controllertest.Signer{r.alice, r.carol, r.dave, r.admin} {
			if _, err := tasks.RegisterCertificate(tx, s.CertBytes(t), r.now); err != nil {
				return err
			}
		}
		return nil
	})
	return r
}

func (r *rig) update(fn func(tx store.Tx) error) {
	r.t.Helper()
	if err := r.st.Update(context.Background(), fn); err != nil {
		r.t.Fatal(err)
	}
}

// create stores a signed task as caller and returns the error.
func (r *rig) create(st *trustv1.SignedTask, caller string) (*storev1.TaskRecord, error) {
	var rec *storev1.TaskRecord
	err := r.st.Update(context.Background(), func(tx store.Tx) error {
		var err error
		rec, _, err = tasks.Create(tx, st, principals[caller], r.now)
		return err
	})
	return rec, err
}

// mustCreate creates a task by alice for agent, starting now.
func (r *rig) mustCreate(agent, tenant, plugin string, downtime bool) (*storev1.TaskRecord, *trustv1.SignedTask) {
	r.t.Helper()
	st := r.alice.Sign(r.t, controllertest.NewTask(agent, tenant, plugin, r.now, downtime))
	rec, err := r.create(st, "alice")
	if err != nil {
		r.t.Fatalf("create: %v", err)
	}
	return rec, st
}

func (r *rig) get(id string) *storev1.TaskRecord {
	r.t.Helper()
	var rec *storev1.TaskRecord
	if err := r.st.View(context.Background(), func(tx store.Tx) error {
		var err error
		rec, err = schema.GetTask(tx, id)
		return err
	}); err != nil {
		r.t.Fatal(err)
	}
	return rec
}

func (r *rig) apply(agent string, u *agentv1.TaskUpdate) tasks.Outcome {
	r.t.Helper()
	var out tasks.Outcome
	r.update(func(tx store.Tx) error {
		var err error
		out, err = tasks.ApplyUpdate(tx, agent, r.now.UnixMilli(), u, r.now)
		return err
	})
	return out
}

func (r *rig) tick() {
	r.t.Helper()
	if err := r.eng.Tick(context.Background()); err != nil {
		r.t.Fatal(err)
	}
}

// online attaches a stream for agent announcing caps, as Connect does, and
// tells the engine; it returns the stream's queue.
func (r *rig) online(agent string, boot int64, caps ...string) (<-chan *agentv1.ControllerMessage, func()) {
	out, detach := r.fleet.Attach(agent, func(error) {}, caps)
	r.eng.Attached(agent, boot)
	return out, detach
}

// received drains a stream's queue.
func received(out <-chan *agentv1.ControllerMessage) []*agentv1.ControllerMessage {
	var ms []*agentv1.ControllerMessage
	for {
		select {
		case m := <-out:
			ms = append(ms, m)
		default:
			return ms
		}
	}
}

func state(rec *storev1.TaskRecord) managev1.TaskState { return tasks.State(rec) }

// setState forces a stored task into s, as a history of earlier steps would.
func (r *rig) setState(id string, s managev1.TaskState) {
	r.t.Helper()
	r.update(func(tx store.Tx) error {
		rec, err := schema.GetTask(tx, id)
		if err != nil {
			return err
		}
		rec.State = int32(s)
		rec.Transitions = append(rec.Transitions, &storev1.TaskTransition{State: int32(s), Actor: "test"})
		return schema.PutTask(tx, rec)
	})
}

func upd(id string, s agentv1.TaskState) *agentv1.TaskUpdate {
	return &agentv1.TaskUpdate{TaskId: id, State: s}
}
