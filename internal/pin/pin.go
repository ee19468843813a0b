// Package pin computes and checks certificate pins: "sha256:<hex>" of a
// certificate's SubjectPublicKeyInfo. An agent is given the controller CA's
// pin out of band at enrollment and trusts no other CA for that first call.
package pin

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Prefix starts every pin string.
const Prefix = "sha256:"

// ErrMismatch means no certificate the peer presented matches the pin.
var ErrMismatch = errors.New("pin: controller CA does not match the pin (wrong --ca-pin, or not the controller you expect)")

// Of returns the pin of cert.
func Of(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return Prefix + hex.EncodeToString(sum[:])
}

// Parse validates a pin string and returns its digest.
func Parse(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, Prefix) {
		return nil, fmt.Errorf("pin %q: must start with %q", s, Prefix)
	}
	d, err := hex.DecodeString(strings.TrimPrefix(s, Prefix))
	if err != nil || len(d) != sha256.Size {
		return nil, fmt.Errorf("pin %q: want %s followed by 64 hex digits", s, Prefix)
	}
	return d, nil
}

// VerifyChain checks a TLS peer's raw certificate chain against a pinned CA:
// one of the presented certificates must be a CA whose public key matches
// the pin, and the leaf must verify against it for serverName. It returns
// the pinned CA certificate.
func VerifyChain(digest []byte, rawCerts [][]byte, serverName string) (*x509.Certificate, error) {
	if len(rawCerts) == 0 {
		return nil, errors.New("pin: peer presented no certificate")
	}
	certs := make([]*x509.Certificate, 0, len(rawCerts))
	for _, raw := range rawCerts {
		c, err := x509.ParseCertificate(raw)
		if err != nil {
			return nil, fmt.Errorf("pin: parse peer certificate: %w", err)
		}
		certs = append(certs, c)
	}
	var ca *x509.Certificate
	for _, c := range certs {
		sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
		if c.IsCA && subtle.ConstantTimeCompare(sum[:], digest) == 1 {
			ca = c
			break
		}
	}
	if ca == nil {
		return nil, ErrMismatch
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	opts := x509.VerifyOptions{Roots: roots, DNSName: serverName, Intermediates: x509.NewCertPool()}
	if _, err := certs[0].Verify(opts); err != nil {
		return nil, fmt.Errorf("pin: controller certificate does not verify against the pinned CA: %w", err)
	}
	return ca, nil
}
