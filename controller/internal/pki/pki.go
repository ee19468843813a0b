// Package pki is the controller's certificate authority. It creates the CA
// (ECDSA P-256) at init, issues the controller's serving certificate, and
// signs agent client certificates from CSRs whose keys were generated on the
// agents' hosts. Private keys live in the data directory with mode 0600.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// File names inside the data directory.
const (
	CACertFile     = "ca.pem"
	CAKeyFile      = "ca-key.pem"
	ServerCertFile = "server.pem"
	ServerKeyFile  = "server-key.pem"
)

// Validity periods.
const (
	CAValidity     = 10 * 365 * 24 * time.Hour
	ServerValidity = 2 * 365 * 24 * time.Hour
	AgentValidity  = 365 * 24 * time.Hour
)

// ErrBadCSR means an agent's certificate request was malformed, badly
// signed, or for a key type the controller does not accept.
var ErrBadCSR = errors.New("pki: bad certificate request")

// CA holds the CA certificate and key.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// NewCA creates a self-signed CA named cn.
func NewCA(cn string, now time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"vigil"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// IssueServer issues the controller's serving certificate for hosts (DNS
// names or IP addresses).
func (ca *CA) IssueServer(hosts []string, now time.Time) (certDER []byte, key *ecdsa.PrivateKey, err error) {
	key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate server key: %w", err)
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: "vigil-controller"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(ServerValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	certDER, err = x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("create server certificate: %w", err)
	}
	return certDER, key, nil
}

// SignAgent checks csrDER and returns a client certificate naming agentID.
// Only ECDSA P-256 keys are accepted.
func (ca *CA) SignAgent(csrDER []byte, agentID string, now time.Time) (*x509.Certificate, error) {
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCSR, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrBadCSR, err)
	}
	pub, ok := csr.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: key must be ECDSA P-256", ErrBadCSR)
	}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: agentID, OrganizationalUnit: []string{"vigil-agent"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(AgentValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("sign agent certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// Init creates the CA and serving certificate in dir. It refuses to
// overwrite an existing CA.
func Init(dir string, hosts []string, now time.Time) (*CA, error) {
	if _, err := os.Stat(filepath.Join(dir, CAKeyFile)); err == nil {
		return nil, fmt.Errorf("%s already exists: the data directory is already initialized", filepath.Join(dir, CAKeyFile))
	}
	ca, err := NewCA("vigil controller CA", now)
	if err != nil {
		return nil, err
	}
	srvDER, srvKey, err := ca.IssueServer(hosts, now)
	if err != nil {
		return nil, err
	}
	if err := writePEM(filepath.Join(dir, CACertFile), "CERTIFICATE", ca.Cert.Raw, 0o644); err != nil {
		return nil, err
	}
	if err := writeKey(filepath.Join(dir, CAKeyFile), ca.Key); err != nil {
		return nil, err
	}
	if err := writePEM(filepath.Join(dir, ServerCertFile), "CERTIFICATE", srvDER, 0o644); err != nil {
		return nil, err
	}
	if err := writeKey(filepath.Join(dir, ServerKeyFile), srvKey); err != nil {
		return nil, err
	}
	return ca, nil
}

// Load reads the CA and the serving key pair from dir.
func Load(dir string) (*CA, tls.Certificate, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CACertFile))
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("read CA certificate: %w (run `vigil-controller init` first)", err)
	}
	cert, err := ParseCertPEM(certPEM)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("%s: %w", CACertFile, err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("read CA key: %w", err)
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("%s: %w", CAKeyFile, err)
	}
	srv, err := tls.LoadX509KeyPair(filepath.Join(dir, ServerCertFile), filepath.Join(dir, ServerKeyFile))
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("load serving certificate: %w", err)
	}
	// Send the CA with the leaf so agents can match their pin.
	srv.Certificate = append(srv.Certificate, cert.Raw)
	return &CA{Cert: cert, Key: key}, srv, nil
}

// ParseCertPEM parses the first certificate in a PEM block.
func ParseCertPEM(b []byte) (*x509.Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate found")
	}
	return x509.ParseCertificate(blk.Bytes)
}

func parseKeyPEM(b []byte) (*ecdsa.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("no PEM key found")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("CA key is not ECDSA")
	}
	return ek, nil
}

// CertPEM encodes a DER certificate as PEM.
func CertPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "PRIVATE KEY", der, 0o600)
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := pem.Encode(f, &pem.Block{Type: typ, Bytes: der}); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
