// Package envelope is vigil's signed-action format (proto/vigil/trust/v1):
// Ed25519 keys, root-signed principal certificates, and signed tasks.
//
// The MSP's offline root key certifies each technician's and client
// approver's signing key. A technician signs a task; a task that may
// interrupt service (downtime) also needs a client approver of the task's
// tenant. The agent verifies every signature against the root fingerprint
// it pinned at enrollment, so the controller, which only carries tasks,
// cannot forge one. Signed bytes are the exact serialized bytes carried
// next to the signatures: nothing is re-encoded before verification.
package envelope

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/internal/pin"
	trustv1 "github.com/vigil-rmm/vigil/proto/vigil/trust/v1"
)

// Domain-separation prefixes of the two kinds of signed bytes.
const (
	certContext = "vigil-cert-v1\x00"
	taskContext = "vigil-task-v1\x00"
)

// Roles a certificate may carry.
const (
	RoleAdmin          = "admin"
	RoleTechnician     = "technician"
	RoleClientApprover = "client-approver"
)

// Limits on a task.
const (
	// MaxSignedTask bounds a serialized SignedTask.
	MaxSignedTask = 256 << 10
	// MaxParams bounds a task's parameters; MaxParamValue each value (a
	// script body is a value).
	MaxParams     = 64
	MaxParamValue = 128 << 10
	// MaxWindow bounds not_after - not_before.
	MaxWindow = 30 * 24 * time.Hour
	// DefaultSkew is how far the agent's clock may be behind a task's
	// not_before and still start it.
	DefaultSkew = 5 * time.Minute
	// MaxSignatures bounds the signatures on a task.
	MaxSignatures = 8
)

// Errors, wrapped with detail; errors.Is works on them.
var (
	ErrMalformed       = errors.New("malformed")
	ErrUntrustedRoot   = errors.New("certificate not issued by the pinned root")
	ErrBadSignature    = errors.New("bad signature")
	ErrCertValidity    = errors.New("certificate not valid now")
	ErrRevoked         = errors.New("certificate revoked")
	ErrNoTechnician    = errors.New("no valid technician signature for this tenant")
	ErrApprovalMissing = errors.New("downtime task without a client approver's signature")
	ErrWrongTarget     = errors.New("task is for another agent or tenant")
	ErrNotYet          = errors.New("task's start time has not come")
	ErrExpired         = errors.New("task's not-after time has passed")
)

var (
	idRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{7,63}$`)
	pluginRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	paramRE  = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)
)

// GenerateKey returns a new Ed25519 key pair.
func GenerateKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	return ed25519.GenerateKey(rand.Reader)
}

// Fingerprint returns "sha256:<hex>" of an Ed25519 public key: the form an
// agent pins (`vigil-agent enroll --trust-root`).
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return pin.Prefix + hex.EncodeToString(sum[:])
}

// Issue signs body with the root key, filling root_public_key and, if
// empty, a random serial.
func Issue(root ed25519.PrivateKey, body *trustv1.CertificateBody) (*trustv1.Certificate, error) {
	b := proto.Clone(body).(*trustv1.CertificateBody)
	b.RootPublicKey = root.Public().(ed25519.PublicKey)
	if b.Serial == "" {
		s := make([]byte, 16)
		if _, err := rand.Read(s); err != nil {
			return nil, err
		}
		b.Serial = hex.EncodeToString(s)
	}
	if err := checkBody(b); err != nil {
		return nil, err
	}
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(b)
	if err != nil {
		return nil, err
	}
	return &trustv1.Certificate{Body: raw, Signature: ed25519.Sign(root, append([]byte(certContext), raw...))}, nil
}

func checkBody(b *trustv1.CertificateBody) error {
	switch {
	case b.GetPrincipal() == "" || len(b.GetPrincipal()) > 64:
		return fmt.Errorf("%w: certificate principal: 1 to 64 bytes", ErrMalformed)
	case b.GetRole() != RoleAdmin && b.GetRole() != RoleTechnician && b.GetRole() != RoleClientApprover:
		return fmt.Errorf("%w: certificate role %q: want admin, technician or client-approver", ErrMalformed, b.GetRole())
	case b.GetRole() == RoleClientApprover && b.GetTenant() == "":
		return fmt.Errorf("%w: a client-approver certificate needs a tenant", ErrMalformed)
	case len(b.GetPublicKey()) != ed25519.PublicKeySize:
		return fmt.Errorf("%w: certificate public key: want %d bytes", ErrMalformed, ed25519.PublicKeySize)
	case len(b.GetRootPublicKey()) != ed25519.PublicKeySize:
		return fmt.Errorf("%w: certificate root key: want %d bytes", ErrMalformed, ed25519.PublicKeySize)
	case b.GetNotAfterUnix() <= b.GetNotBeforeUnix():
		return fmt.Errorf("%w: certificate validity: not_after must follow not_before", ErrMalformed)
	case len(b.GetSerial()) == 0 || len(b.GetSerial()) > 64:
		return fmt.Errorf("%w: certificate serial: 1 to 64 bytes", ErrMalformed)
	}
	return nil
}

// ParseCertificate checks c against the pinned root digest (see pin.Parse)
// and, when now is not zero, its validity; it returns the body.
func ParseCertificate(c *trustv1.Certificate, rootPin []byte, now time.Time) (*trustv1.CertificateBody, error) {
	var b trustv1.CertificateBody
	if err := proto.Unmarshal(c.GetBody(), &b); err != nil {
		return nil, fmt.Errorf("%w: certificate: %v", ErrMalformed, err)
	}
	if err := checkBody(&b); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b.GetRootPublicKey())
	if len(rootPin) != sha256.Size || !bytes.Equal(sum[:], rootPin) {
		return nil, fmt.Errorf("%w (certificate %s of %s)", ErrUntrustedRoot, b.GetSerial(), b.GetPrincipal())
	}
	if !ed25519.Verify(b.GetRootPublicKey(), append([]byte(certContext), c.GetBody()...), c.GetSignature()) {
		return nil, fmt.Errorf("%w: certificate %s of %s", ErrBadSignature, b.GetSerial(), b.GetPrincipal())
	}
	if !now.IsZero() && (now.Unix() < b.GetNotBeforeUnix() || now.Unix() >= b.GetNotAfterUnix()) {
		return nil, fmt.Errorf("%w: certificate %s of %s is valid %s to %s", ErrCertValidity, b.GetSerial(), b.GetPrincipal(),
			time.Unix(b.GetNotBeforeUnix(), 0).UTC().Format(time.RFC3339), time.Unix(b.GetNotAfterUnix(), 0).UTC().Format(time.RFC3339))
	}
	return &b, nil
}

// NewNonce returns 16 random bytes for Task.nonce.
func NewNonce() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return b
}

// NewTaskID returns a random task id ("tk-" and 16 hex digits).
func NewTaskID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "tk-" + hex.EncodeToString(b)
}

// CheckTask validates a task's own fields.
func CheckTask(t *trustv1.Task) error {
	switch {
	case !idRE.MatchString(t.GetTaskId()):
		return fmt.Errorf("%w: task_id %q", ErrMalformed, t.GetTaskId())
	case t.GetTenant() == "" || t.GetAgentId() == "":
		return fmt.Errorf("%w: task needs a tenant and an agent", ErrMalformed)
	case !pluginRE.MatchString(t.GetPlugin()):
		return fmt.Errorf("%w: plugin %q", ErrMalformed, t.GetPlugin())
	case len(t.GetParameters()) > MaxParams:
		return fmt.Errorf("%w: %d parameters, limit %d", ErrMalformed, len(t.GetParameters()), MaxParams)
	case len(t.GetNonce()) != 16:
		return fmt.Errorf("%w: nonce: want 16 bytes", ErrMalformed)
	case t.GetNotAfterUnix() <= t.GetNotBeforeUnix():
		return fmt.Errorf("%w: not_after must follow not_before", ErrMalformed)
	case time.Duration(t.GetNotAfterUnix()-t.GetNotBeforeUnix())*time.Second > MaxWindow:
		return fmt.Errorf("%w: start window longer than %s", ErrMalformed, MaxWindow)
	}
	for k, v := range t.GetParameters() {
		if !paramRE.MatchString(k) {
			return fmt.Errorf("%w: parameter name %q", ErrMalformed, k)
		}
		if len(v) > MaxParamValue {
			return fmt.Errorf("%w: parameter %s: %d bytes, limit %d", ErrMalformed, k, len(v), MaxParamValue)
		}
	}
	return nil
}

// Sign returns a signature of taskBytes (SignedTask.task) by key, carried
// with its certificate.
func Sign(taskBytes []byte, cert *trustv1.Certificate, key ed25519.PrivateKey) *trustv1.Signature {
	return &trustv1.Signature{Certificate: cert, Signature: ed25519.Sign(key, append([]byte(taskContext), taskBytes...))}
}

// SignTask checks and serializes t and signs it by key.
func SignTask(t *trustv1.Task, cert *trustv1.Certificate, key ed25519.PrivateKey) (*trustv1.SignedTask, error) {
	if err := CheckTask(t); err != nil {
		return nil, err
	}
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(t)
	if err != nil {
		return nil, err
	}
	return &trustv1.SignedTask{Task: raw, Signatures: []*trustv1.Signature{Sign(raw, cert, key)}}, nil
}

// Policy is what Verify checks a signed task against.
type Policy struct {
	// RootPin is the pinned root digest (pin.Parse of the fingerprint).
	RootPin []byte
	// AgentID and Tenant, when set, must match the task.
	AgentID, Tenant string
	// Now is the verifier's clock. The task must start no earlier than
	// not_before - Skew and no later than not_after. Zero skips the time
	// checks (the controller, which may hold a task for later).
	Now time.Time
	// Skew is the allowance on not_before; zero means DefaultSkew.
	Skew time.Duration
	// Revoked reports a revoked certificate serial; nil means none.
	Revoked func(serial string) bool
	// AllowMissingApproval accepts a downtime task without a client
	// approver's signature (Verified.Approver is then nil): for the
	// controller and an approver looking at a proposed task, never for the
	// agent.
	AllowMissingApproval bool
}

// Verified is a task that passed Verify.
type Verified struct {
	Task *trustv1.Task
	// Technician is the certificate of the technician (or admin) signer.
	Technician *trustv1.CertificateBody
	// Approver is the client approver's certificate, for downtime tasks.
	Approver *trustv1.CertificateBody
}

// Verify checks a signed task: its size and fields, every signature
// (one bad signature refuses the task), a technician or admin signature
// whose scope covers the tenant, a client approver of the tenant for a
// downtime task, the target and the time window.
func Verify(st *trustv1.SignedTask, p Policy) (*Verified, error) {
	if proto.Size(st) > MaxSignedTask {
		return nil, fmt.Errorf("%w: signed task over %d bytes", ErrMalformed, MaxSignedTask)
	}
	if n := len(st.GetSignatures()); n == 0 || n > MaxSignatures {
		return nil, fmt.Errorf("%w: %d signatures, want 1 to %d", ErrMalformed, n, MaxSignatures)
	}
	var t trustv1.Task
	if err := proto.Unmarshal(st.GetTask(), &t); err != nil {
		return nil, fmt.Errorf("%w: task: %v", ErrMalformed, err)
	}
	if err := CheckTask(&t); err != nil {
		return nil, err
	}
	if (p.AgentID != "" && t.GetAgentId() != p.AgentID) || (p.Tenant != "" && t.GetTenant() != p.Tenant) {
		return nil, fmt.Errorf("%w: task %s targets %s in %s", ErrWrongTarget, t.GetTaskId(), t.GetAgentId(), t.GetTenant())
	}
	v := &Verified{Task: &t}
	for i, sig := range st.GetSignatures() {
		b, err := ParseCertificate(sig.GetCertificate(), p.RootPin, p.Now)
		if err != nil {
			return nil, fmt.Errorf("signature %d: %w", i+1, err)
		}
		if p.Revoked != nil && p.Revoked(b.GetSerial()) {
			return nil, fmt.Errorf("signature %d: %w: %s of %s", i+1, ErrRevoked, b.GetSerial(), b.GetPrincipal())
		}
		if !ed25519.Verify(b.GetPublicKey(), append([]byte(taskContext), st.GetTask()...), sig.GetSignature()) {
			return nil, fmt.Errorf("signature %d (%s): %w", i+1, b.GetPrincipal(), ErrBadSignature)
		}
		switch {
		case (b.GetRole() == RoleTechnician || b.GetRole() == RoleAdmin) && (b.GetTenant() == "" || b.GetTenant() == t.GetTenant()):
			if v.Technician == nil {
				v.Technician = b
			}
		case b.GetRole() == RoleClientApprover && b.GetTenant() == t.GetTenant():
			if v.Approver == nil {
				v.Approver = b
			}
		}
	}
	if v.Technician == nil {
		return nil, fmt.Errorf("%w %s", ErrNoTechnician, t.GetTenant())
	}
	if t.GetDowntime() && v.Approver == nil && !p.AllowMissingApproval {
		return nil, fmt.Errorf("%w (tenant %s)", ErrApprovalMissing, t.GetTenant())
	}
	if !p.Now.IsZero() {
		skew := p.Skew
		if skew <= 0 {
			skew = DefaultSkew
		}
		if p.Now.Add(skew).Unix() < t.GetNotBeforeUnix() {
			return nil, fmt.Errorf("%w: starts %s", ErrNotYet, time.Unix(t.GetNotBeforeUnix(), 0).UTC().Format(time.RFC3339))
		}
		if p.Now.Unix() > t.GetNotAfterUnix() {
			return nil, fmt.Errorf("%w: %s", ErrExpired, time.Unix(t.GetNotAfterUnix(), 0).UTC().Format(time.RFC3339))
		}
	}
	return v, nil
}
