// Package enroll performs an agent's one-time enrollment: it generates the
// agent's key on this host, checks the controller's CA against the pin the
// operator supplied, trades the enrollment token and a CSR for a client
// certificate, and writes the identity to the state directory.
package enroll

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/agent/internal/config"
	"github.com/vigil-rmm/vigil/internal/pin"
	"github.com/vigil-rmm/vigil/internal/version"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// Params are the enrollment inputs.
type Params struct {
	Controller string // host:port of the agent listener
	CAPin      string // "sha256:<hex>"
	Token      string
	StateDir   string
	Hostname   string
	Force      bool // replace an existing identity
	Timeout    time.Duration
}

// ErrAlreadyEnrolled means the state directory already has an identity.
var ErrAlreadyEnrolled = errors.New("already enrolled")

// Enroll runs the enrollment and returns the new identity.
func Enroll(ctx context.Context, p Params) (*config.Identity, error) {
	digest, err := pin.Parse(p.CAPin)
	if err != nil {
		return nil, err
	}
	host, _, err := net.SplitHostPort(p.Controller)
	if err != nil {
		return nil, fmt.Errorf("controller %q: want host:port", p.Controller)
	}
	if p.Token == "" {
		return nil, errors.New("token: required")
	}
	if id, err := config.LoadIdentity(p.StateDir); err == nil && !p.Force {
		return nil, fmt.Errorf("%w as %s (tenant %s) in %s; pass --force to replace it", ErrAlreadyEnrolled, id.AgentID, id.Tenant, p.StateDir)
	}
	pinned, tc := PinnedTLS(digest, host)
	conn, err := grpc.NewClient("passthrough:///"+p.Controller, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if p.Timeout <= 0 {
		p.Timeout = 30 * time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	key, resp, cert, err := Request(cctx, agentv1.NewAgentServiceClient(conn), p.Token, p.Hostname)
	ca, perr := pinned()
	if perr != nil {
		return nil, perr
	}
	if err != nil {
		return nil, err
	}
	// The CA the controller returns must be the one we pinned.
	if ca == nil || string(resp.GetCaCertificateDer()) != string(ca.Raw) {
		return nil, errors.New("controller returned a CA that differs from the pinned one")
	}
	// Only now, with an identity in hand, does the state directory appear.
	if err := os.MkdirAll(p.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	if err := os.Chmod(p.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	id := &config.Identity{AgentID: resp.GetAgentId(), Tenant: resp.GetTenant(), Controller: p.Controller,
		CAPin: p.CAPin, EnrolledAt: time.Now().UTC()}
	idJSON, _ := json.MarshalIndent(id, "", "  ")
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{config.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600},
		{config.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600},
		{config.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}), 0o600},
		// identity.json last: its presence means the others are complete.
		{config.IdentityFile, append(idJSON, '\n'), 0o600},
	}
	if p.Force {
		// A new identity starts a new sequence; old reports belong to the old one.
		for _, f := range []string{config.OutboxFile, config.FactsFile, config.PluginsFile, config.StatusFile} {
			_ = os.Remove(filepath.Join(p.StateDir, f))
		}
	}
	for _, f := range files {
		if err := config.WriteFileAtomic(filepath.Join(p.StateDir, f.name), f.data, f.mode); err != nil {
			return nil, fmt.Errorf("write %s: %w", f.name, err)
		}
	}
	return id, nil
}

// LoadTLS returns the client TLS config for an enrolled agent: its key
// pair, the pinned CA as the only root, TLS 1.3 and a session cache so
// reconnects resume cheaply.
func LoadTLS(dir string) (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, config.CertFile), filepath.Join(dir, config.KeyFile))
	if err != nil {
		return nil, fmt.Errorf("load agent certificate: %w (state dir damaged? re-enroll with --force)", err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, config.CAFile))
	if err != nil {
		return nil, fmt.Errorf("load controller CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s: no certificate found", filepath.Join(dir, config.CAFile))
	}
	return &tls.Config{
		Certificates:       []tls.Certificate{pair},
		RootCAs:            pool,
		MinVersion:         tls.VersionTLS13,
		ClientSessionCache: tls.NewLRUClientSessionCache(4),
	}, nil
}

// PinnedTLS returns a TLS configuration that trusts only a CA whose public
// key matches digest, and a function reporting the pinned CA seen in the
// handshake (or the pin error).
func PinnedTLS(digest []byte, host string) (func() (*x509.Certificate, error), *tls.Config) {
	var (
		mu       sync.Mutex
		pinErr   error
		pinnedCA *x509.Certificate
	)
	tc := &tls.Config{
		MinVersion: tls.VersionTLS13,
		// Verification is done in VerifyPeerCertificate against the pinned
		// CA only; the system roots are never consulted.
		InsecureSkipVerify: true, //nolint:gosec // replaced by VerifyPeerCertificate
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			ca, err := pin.VerifyChain(digest, raw, host)
			mu.Lock()
			defer mu.Unlock()
			pinErr, pinnedCA = err, ca
			return err
		},
	}
	return func() (*x509.Certificate, error) {
		mu.Lock()
		defer mu.Unlock()
		return pinnedCA, pinErr
	}, tc
}

// Request generates a key on this host, sends a CSR with the token, and
// checks that the certificate returned names the new agent and our key.
func Request(ctx context.Context, c agentv1.AgentServiceClient, token, hostname string) (*ecdsa.PrivateKey, *agentv1.EnrollResponse, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("generate key: %w", err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: hostname}}, key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("create CSR: %w", err)
	}
	resp, err := c.Enroll(ctx, &agentv1.EnrollRequest{Token: token, CsrDer: csr, Hostname: hostname, AgentVersion: version.String()})
	if err != nil {
		if s, ok := status.FromError(err); ok {
			if s.Code() == codes.Unavailable || s.Code() == codes.DeadlineExceeded {
				return nil, nil, nil, fmt.Errorf("cannot reach the controller (%s): %s", s.Code(), s.Message())
			}
			return nil, nil, nil, fmt.Errorf("enrollment refused (%s): %s", s.Code(), s.Message())
		}
		return nil, nil, nil, err
	}
	cert, err := x509.ParseCertificate(resp.GetCertificateDer())
	if err != nil {
		return nil, nil, nil, fmt.Errorf("controller returned a bad certificate: %w", err)
	}
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || cert.Subject.CommonName != resp.GetAgentId() || !pub.Equal(&key.PublicKey) {
		return nil, nil, nil, errors.New("controller returned a certificate for another identity or key")
	}
	return key, resp, cert, nil
}
