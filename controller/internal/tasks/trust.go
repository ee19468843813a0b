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
	"github.com/vigil-rmm/vigil/internal/pin"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
	trustv1 "github.com/vigil-rmm/vigil/proto/vigil/trust/v1"
)

// MaxCertificate bounds a serialized certificate.
const MaxCertificate = 4 << 10

// RootPin returns the recorded root's digest, or ErrNoTrustRoot.
func RootPin(tx store.Tx) ([]byte, error) {
	r, err := schema.GetTrustRoot(tx)
	if errors.Is(err, store.ErrNotFound) || (err == nil && r.GetFingerprint() == "") {
		return nil, ErrNoTrustRoot
	}
	if err != nil {
		return nil, err
	}
	return pin.Parse(r.GetFingerprint())
}

// SetRoot records the root fingerprint ("sha256:<hex>"). Certificates
// registered under another root stay listed but no longer verify.
func SetRoot(tx store.Tx, fingerprint, by string, now time.Time) (*storev1.TrustRootRecord, error) {
	fp := strings.ToLower(strings.TrimSpace(fingerprint))
	if _, err := pin.Parse(fp); err != nil {
		return nil, fmt.Errorf("%w: fingerprint: %v (the output of `vigilctl trust init`)", envelope.ErrMalformed, err)
	}
	r := &storev1.TrustRootRecord{Fingerprint: fp, SetUnix: now.Unix(), SetBy: by}
	return r, schema.PutTrustRoot(tx, r)
}

// RegisterCertificate checks a serialized trustv1.Certificate against the
// recorded root and the principal it names, and stores it. The principal
// must exist, be active and have the certificate's role; a client
// approver's certificate must name its tenant, and an MSP principal's
// certificate may narrow it to one tenant. Registering the same
// certificate again returns the stored record.
func RegisterCertificate(tx store.Tx, raw []byte, now time.Time) (*storev1.CertificateRecord, error) {
	if len(raw) == 0 || len(raw) > MaxCertificate {
		return nil, fmt.Errorf("%w: certificate: want 1 to %d bytes, have %d", envelope.ErrMalformed, MaxCertificate, len(raw))
	}
	var c trustv1.Certificate
	if err := proto.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%w: certificate: %v", envelope.ErrMalformed, err)
	}
	rootPin, err := RootPin(tx)
	if err != nil {
		return nil, err
	}
	b, err := envelope.ParseCertificate(&c, rootPin, time.Time{})
	if err != nil {
		return nil, err
	}
	if now.Unix() >= b.GetNotAfterUnix() {
		return nil, fmt.Errorf("%w: certificate %s of %s expired at %s; certify the key again", envelope.ErrCertValidity,
			b.GetSerial(), b.GetPrincipal(), time.Unix(b.GetNotAfterUnix(), 0).UTC().Format(time.RFC3339))
	}
	p, err := schema.PrincipalByName(tx, b.GetPrincipal())
	if errors.Is(err, store.ErrNotFound) || (err == nil && p.GetRevokedUnix() != 0) {
		return nil, fmt.Errorf("%w: it names %q, who is not an active principal on this controller; create the principal first",
			ErrCertMismatch, b.GetPrincipal())
	}
	if err != nil {
		return nil, err
	}
	switch {
	case p.GetRole() != b.GetRole():
		return nil, fmt.Errorf("%w: it certifies %s as %s, but the principal's role is %s", ErrCertMismatch, b.GetPrincipal(), b.GetRole(), p.GetRole())
	case p.GetTenant() != "" && b.GetTenant() != p.GetTenant():
		return nil, fmt.Errorf("%w: it scopes %s to tenant %q, but the principal belongs to %q", ErrCertMismatch, b.GetPrincipal(), b.GetTenant(), p.GetTenant())
	}
	if b.GetTenant() != "" {
		if _, err := schema.GetTenant(tx, b.GetTenant()); errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("%w: it scopes %s to tenant %q, which does not exist", ErrCertMismatch, b.GetPrincipal(), b.GetTenant())
		} else if err != nil {
			return nil, err
		}
	}
	canon, err := marshal(&c)
	if err != nil {
		return nil, err
	}
	if old, err := schema.GetCertificate(tx, b.GetSerial()); err == nil {
		if bytes.Equal(old.GetCertificate(), canon) {
			return old, nil
		}
		return nil, fmt.Errorf("%w: another certificate with serial %s is registered", ErrExists, b.GetSerial())
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	r := &storev1.CertificateRecord{
		Certificate: canon, Serial: b.GetSerial(), Principal: b.GetPrincipal(), Role: b.GetRole(), Tenant: b.GetTenant(),
		NotBeforeUnix: b.GetNotBeforeUnix(), NotAfterUnix: b.GetNotAfterUnix(), RegisteredUnix: now.Unix(), PublicKey: b.GetPublicKey(),
	}
	return r, schema.PutCertificate(tx, r)
}

// registered checks that a certificate body that verified is the one
// registered under its serial.
func registered(tx store.Tx, b *trustv1.CertificateBody) error {
	r, err := schema.GetCertificate(tx, b.GetSerial())
	if errors.Is(err, store.ErrNotFound) || (err == nil && !bytes.Equal(r.GetPublicKey(), b.GetPublicKey())) {
		return fmt.Errorf("%w: certificate %s of %s; register it with `vigilctl trust register`", ErrNotRegistered, b.GetSerial(), b.GetPrincipal())
	}
	return err
}
