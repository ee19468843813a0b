package controllertest

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/internal/envelope"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	trustv1 "github.com/vigil-rmm/vigil/proto/vigil/trust/v1"
)

// Trust is an MSP root key for tests.
type Trust struct {
	Key         ed25519.PrivateKey
	Fingerprint string
}

// NewTrust creates a root key.
func NewTrust(t testing.TB) *Trust {
	t.Helper()
	pub, key, err := envelope.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return &Trust{Key: key, Fingerprint: envelope.Fingerprint(pub)}
}

// Signer is a principal's certified signing key.
type Signer struct {
	Cert *trustv1.Certificate
	Body *trustv1.CertificateBody
	Key  ed25519.PrivateKey
}

// Certify issues a certificate for principal, valid from an hour before
// now to a day after.
func (tr *Trust) Certify(t testing.TB, principal, role, tenant string, now time.Time) *Signer {
	t.Helper()
	pub, key, err := envelope.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := envelope.Issue(tr.Key, &trustv1.CertificateBody{Principal: principal, Role: role, Tenant: tenant, PublicKey: pub,
		NotBeforeUnix: now.Add(-time.Hour).Unix(), NotAfterUnix: now.Add(24 * time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	var b trustv1.CertificateBody
	if err := proto.Unmarshal(c.GetBody(), &b); err != nil {
		t.Fatal(err)
	}
	return &Signer{Cert: c, Body: &b, Key: key}
}

// CertBytes returns the serialized certificate.
func (s *Signer) CertBytes(t testing.TB) []byte {
	t.Helper()
	b, err := proto.Marshal(s.Cert)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// NewTask returns a task for agent in tenant with a start window from
// notBefore to an hour later.
func NewTask(agentID, tenant, plugin string, notBefore time.Time, downtime bool) *trustv1.Task {
	return &trustv1.Task{TaskId: envelope.NewTaskID(), Tenant: tenant, AgentId: agentID, Plugin: plugin,
		Parameters: map[string]string{"reason": "test"}, NotBeforeUnix: notBefore.Unix(), NotAfterUnix: notBefore.Add(time.Hour).Unix(),
		Downtime: downtime, Nonce: envelope.NewNonce(), CreatedUnix: notBefore.Unix()}
}

// Sign signs task with the signer's key.
func (s *Signer) Sign(t testing.TB, task *trustv1.Task) *trustv1.SignedTask {
	t.Helper()
	task = proto.Clone(task).(*trustv1.Task)
	task.CreatedBy = s.Body.GetPrincipal()
	st, err := envelope.SignTask(task, s.Cert, s.Key)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Approve returns the signer's signature of a signed task's bytes.
func (s *Signer) Approve(st *trustv1.SignedTask) *trustv1.Signature {
	return envelope.Sign(st.GetTask(), s.Cert, s.Key)
}

// Marshal serializes m.
func Marshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// SetTrustRoot records tr's fingerprint on the controller.
func (c *Controller) SetTrustRoot(t testing.TB, tr *Trust) {
	t.Helper()
	if _, err := c.Admin(t).SetTrustRoot(context.Background(), &managev1.SetTrustRootRequest{Fingerprint: tr.Fingerprint}); err != nil {
		t.Fatalf("set trust root: %v", err)
	}
}

// Register registers a signer's certificate on the controller.
func (c *Controller) Register(t testing.TB, s *Signer) {
	t.Helper()
	if _, err := c.Admin(t).RegisterCertificate(context.Background(), &managev1.RegisterCertificateRequest{Certificate: s.CertBytes(t)}); err != nil {
		t.Fatalf("register certificate of %s: %v", s.Body.GetPrincipal(), err)
	}
}
