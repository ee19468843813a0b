package controllertest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// Agent is an enrolled test identity.
type Agent struct {
	ID     string
	Tenant string
	// TLS is the client configuration for Connect (key pair and CA root).
	TLS *tls.Config
}

// CAPool returns a pool holding the controller CA.
func (c *Controller) CAPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.CAPEM)
	return pool
}

// EnrollAgent enrolls a new agent identity in tenant with a fresh token.
func (c *Controller) EnrollAgent(t testing.TB, tenant, hostname string) *Agent {
	t.Helper()
	token := c.EnrollToken(t, tenant, 1, 3600e9)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.AgentClient(t, nil).Enroll(context.Background(), &agentv1.EnrollRequest{Token: token, CsrDer: csr, Hostname: hostname, AgentVersion: "test"})
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}
	cert := tls.Certificate{Certificate: [][]byte{resp.GetCertificateDer()}, PrivateKey: key}
	return &Agent{ID: resp.GetAgentId(), Tenant: resp.GetTenant(),
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: c.CAPool(), MinVersion: tls.VersionTLS13}}
}

// AgentClient returns an agent API client; with a nil tlsCfg it presents no
// client certificate (enough for Enroll).
func (c *Controller) AgentClient(t testing.TB, tlsCfg *tls.Config) agentv1.AgentServiceClient {
	t.Helper()
	if tlsCfg == nil {
		tlsCfg = &tls.Config{RootCAs: c.CAPool(), MinVersion: tls.VersionTLS13}
	}
	conn, err := grpc.NewClient("passthrough:///"+c.AgentAddr, grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return agentv1.NewAgentServiceClient(conn)
}
