package tasks_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/controller/controllertest"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	"github.com/vigil-rmm/vigil/controller/internal/tasks"
	"github.com/vigil-rmm/vigil/internal/envelope"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
	trustv1 "github.com/vigil-rmm/vigil/proto/vigil/trust/v1"
)

func TestCreateStates(t *testing.T) {
	r := newRig(t)
	plain, _ := r.mustCreate(agentA, "acme", "script", false)
	if state(plain) != tasks.Scheduled || plain.GetCreatedBy() != "alice" || plain.GetTransitions()[0].GetActor() != "alice" {
		t.Fatalf("plain task %v", plain)
	}
	downtime, _ := r.mustCreate(agentA, "acme", "reboot", true)
	if state(downtime) != tasks.Proposed || !strings.Contains(downtime.GetReason(), "approver") {
		t.Fatalf("downtime task without approval: %v", downtime)
	}
	// Signed by both at once: scheduled, approved by the approver.
	st := r.alice.Sign(t, controllertest.NewTask(agentA, "acme", "reboot", r.now, true))
	st.Signatures = append(st.Signatures, r.carol.Approve(st))
	both, err := r.create(st, "alice")
	if err != nil || state(both) != tasks.Scheduled || both.GetApprovedBy() != "carol" {
		t.Fatalf("downtime task with approval: %v %v", both, err)
	}
	// The same signed task again returns the stored one.
	again, err := r.create(st, "alice")
	if err != nil || again.GetId() != both.GetId() || len(again.GetTransitions()) != 1 {
		t.Fatalf("idempotent create: %v %v", again, err)
	}
}

// TestCreateRefusals: every refusal leaves the store without the task.
func TestCreateRefusals(t *testing.T) {
	r := newRig(t)
	task := func() *trustv1.Task { return controllertest.NewTask(agentA, "acme", "script", r.now, false) }
	sign := func(s *controllertest.Signer, tk *trustv1.Task) *trustv1.SignedTask { return s.Sign(t, tk) }
	existing, _ := r.mustCreate(agentA, "acme", "script", false)
	sameID := task()
	sameID.TaskId = existing.GetId()

	otherRoot := controllertest.NewTrust(t).Certify(t, "alice", envelope.RoleTechnician, "", r.now)
	expiredCert := r.trust.Certify(t, "alice", envelope.RoleTechnician, "", r.now.Add(-48*time.Hour))
	scopedBeta := r.trust.Certify(t, "alice", envelope.RoleTechnician, "beta", r.now)
	past := task()
	past.NotBeforeUnix, past.NotAfterUnix = r.now.Add(-2*time.Hour).Unix(), r.now.Add(-time.Hour).Unix()
	wrongTenant := task()
	wrongTenant.Tenant = "beta"
	tampered := sign(r.alice, task())
	tampered.Task = append(tampered.Task, 0x58, 0x01) // downtime=true, unsigned

	cases := []struct {
		name   string
		st     *trustv1.SignedTask
		caller string
		want   error
		text   string
	}{
		{"signed by another principal", sign(r.alice, task()), "root", tasks.ErrNotSigner, "sign it with your own key"},
		{"certificate not registered", sign(r.bob, task()), "bob", tasks.ErrNotRegistered, "vigilctl trust register"},
		{"agent revoked", sign(r.alice, controllertest.NewTask(agentRev, "acme", "script", r.now, false)), "alice", tasks.ErrAgentRevoked, agentRev},
		{"agent monitor-only", sign(r.alice, controllertest.NewTask(agentMon, "acme", "script", r.now, false)), "alice", tasks.ErrMonitorOnly,
			"agent " + agentMon + " is monitor-only: its client has not allowed actions"},
		{"agent unknown", sign(r.alice, controllertest.NewTask("ag-nobody-here", "acme", "script", r.now, false)), "alice", tasks.ErrNotFound, "ag-nobody-here"},
		{"same id, other content", sign(r.alice, sameID), "alice", tasks.ErrExists, existing.GetId()},
		{"not_after passed", sign(r.alice, past), "alice", envelope.ErrExpired, "later window"},
		{"other root", sign(otherRoot, task()), "alice", envelope.ErrUntrustedRoot, ""},
		{"certificate expired", sign(expiredCert, task()), "alice", envelope.ErrCertValidity, ""},
		{"technician scoped to another tenant", sign(scopedBeta, task()), "alice", envelope.ErrNoTechnician, ""},
		{"task tenant is not the agent's", sign(r.alice, wrongTenant), "alice", envelope.ErrWrongTarget, ""},
		{"bytes changed after signing", tampered, "alice", envelope.ErrBadSignature, ""},
		{"no signature", &trustv1.SignedTask{Task: sign(r.alice, task()).GetTask()}, "alice", envelope.ErrMalformed, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.create(tc.st, tc.caller)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("got %v, want %v mentioning %q", err, tc.want, tc.text)
			}
		})
	}
	var n int
	_ = r.st.View(t.Context(), func(tx store.Tx) error {
		return schema.ScanTasks(tx, func(*storev1.TaskRecord) error { n++; return nil })
	})
	if n != 1 {
		t.Fatalf("%d tasks stored, want only the first", n)
	}

	t.Run("no trust root", func(t *testing.T) {
		r := newRig(t)
		r.update(func(tx store.Tx) error { return tx.Delete("trust/root") })
		_, err := r.create(r.alice.Sign(t, task()), "alice")
		if !errors.Is(err, tasks.ErrNoTrustRoot) || !strings.Contains(err.Error(), "vigilctl trust set-root") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestApprove(t *testing.T) {
	r := newRig(t)
	rec, st := r.mustCreate(agentA, "acme", "reboot", true)
	approve := func(sig *trustv1.Signature, caller string) (*storev1.TaskRecord, error) {
		var out *storev1.TaskRecord
		err := r.st.Update(t.Context(), func(tx store.Tx) error {
			var err error
			out, err = tasks.Approve(tx, rec.GetId(), sig, principals[caller], r.now)
			return err
		})
		return out, err
	}
	unregistered := r.trust.Certify(t, "carol", envelope.RoleClientApprover, "acme", r.now)
	badSig := r.carol.Approve(st)
	badSig.Signature = append([]byte(nil), badSig.Signature...)
	badSig.Signature[0] ^= 1
	refusals := []struct {
		name   string
		sig    *trustv1.Signature
		caller string
		want   error
	}{
		{"another approver's signature", r.carol.Approve(st), "dave", tasks.ErrNotSigner},
		{"approver of another tenant", r.dave.Approve(st), "dave", tasks.ErrCertMismatch},
		{"technician's certificate", r.alice.Approve(st), "alice", tasks.ErrCertMismatch},
		{"unregistered certificate", unregistered.Approve(st), "carol", tasks.ErrNotRegistered},
		{"bad signature", badSig, "carol", envelope.ErrBadSignature},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := approve(tc.sig, tc.caller); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if got := r.get(rec.GetId()); state(got) != tasks.Proposed || len(got.GetTransitions()) != 1 {
				t.Fatalf("refused approval changed the task: %v", got)
			}
		})
	}
	got, err := approve(r.carol.Approve(st), "carol")
	if err != nil || state(got) != tasks.Scheduled || got.GetApprovedBy() != "carol" {
		t.Fatalf("approve: %v %v", got, err)
	}
	// The stored bytes now carry both signatures and pass the agent's check.
	signed := &trustv1.SignedTask{}
	if err := proto.Unmarshal(got.GetSignedTask(), signed); err != nil {
		t.Fatal(err)
	}
	if _, err := envelope.Verify(signed, envelope.Policy{RootPin: pinOf(t, r), AgentID: agentA, Tenant: "acme", Now: r.now}); err != nil {
		t.Fatalf("approved task does not verify: %v", err)
	}
	if tr := got.GetTransitions(); len(tr) != 2 || tr[1].GetActor() != "carol" {
		t.Fatalf("transitions %v", tr)
	}
	if again, err := approve(r.carol.Approve(st), "carol"); err != nil || len(again.GetTransitions()) != 2 {
		t.Fatalf("approving again: %v %v", again, err)
	}
	plain, pst := r.mustCreate(agentA, "acme", "script", false)
	err = r.st.Update(t.Context(), func(tx store.Tx) error {
		_, err := tasks.Approve(tx, plain.GetId(), r.carol.Approve(pst), principals["carol"], r.now)
		return err
	})
	if !errors.Is(err, tasks.ErrState) {
		t.Fatalf("approving a scheduled task: %v", err)
	}
}

func pinOf(t *testing.T, r *rig) []byte {
	t.Helper()
	var p []byte
	if err := r.st.View(t.Context(), func(tx store.Tx) error {
		var err error
		p, err = tasks.RootPin(tx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRegisterCertificate: a certificate must verify against the root and
// match an active principal's role and tenant.
func TestRegisterCertificate(t *testing.T) {
	r := newRig(t)
	other := controllertest.NewTrust(t)
	cases := []struct {
		name string
		s    *controllertest.Signer
		want error
	}{
		{"another root", other.Certify(t, "alice", envelope.RoleTechnician, "", r.now), envelope.ErrUntrustedRoot},
		{"unknown principal", r.trust.Certify(t, "mallory", envelope.RoleTechnician, "", r.now), tasks.ErrCertMismatch},
		{"role differs", r.trust.Certify(t, "alice", envelope.RoleAdmin, "", r.now), tasks.ErrCertMismatch},
		{"tenant differs", r.trust.Certify(t, "carol", envelope.RoleClientApprover, "beta", r.now), tasks.ErrCertMismatch},
		{"unknown tenant", r.trust.Certify(t, "alice", envelope.RoleTechnician, "gamma", r.now), tasks.ErrCertMismatch},
		{"expired", r.trust.Certify(t, "alice", envelope.RoleTechnician, "", r.now.Add(-48*time.Hour)), envelope.ErrCertValidity},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := r.st.Update(t.Context(), func(tx store.Tx) error {
				_, err := tasks.RegisterCertificate(tx, tc.s.CertBytes(t), r.now)
				return err
			})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// A technician may hold a certificate narrowed to one tenant.
	r.update(func(tx store.Tx) error {
		_, err := tasks.RegisterCertificate(tx, r.trust.Certify(t, "bob", envelope.RoleTechnician, "acme", r.now).CertBytes(t), r.now)
		return err
	})
}
