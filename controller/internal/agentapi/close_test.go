package agentapi_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/controller/controllertest"
	"github.com/vigil-rmm/vigil/controller/internal/agentapi"
	"github.com/vigil-rmm/vigil/controller/internal/fleet"
	"github.com/vigil-rmm/vigil/controller/internal/pki"
	"github.com/vigil-rmm/vigil/internal/logging"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// agentServer serves agentapi with cfg's HelloTimeout on the store and CA
// of a real controller, with creds built from the TLS config.
func agentServer(t *testing.T, ctl *controllertest.Controller, hello time.Duration,
	creds func(*tls.Config) credentials.TransportCredentials) (agentv1.AgentServiceClient, *agentapi.Server) {
	t.Helper()
	ca, srvCert, err := pki.Load(ctl.Dir)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	srv := grpc.NewServer(grpc.Creds(creds(&tls.Config{Certificates: []tls.Certificate{srvCert},
		ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool, MinVersion: tls.VersionTLS13})))
	api := agentapi.New(agentapi.Config{Store: ctl.Server().Store(), Signer: ca, CACert: ca.Cert,
		Fleet: fleet.New(logging.Discard(), nil), Logger: logging.Discard(), HelloTimeout: hello})
	agentv1.RegisterAgentServiceServer(srv, api)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	a := ctl.EnrollAgent(t, "acme", "h")
	conn, err := grpc.NewClient("passthrough:///"+ln.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(a.TLS)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return agentv1.NewAgentServiceClient(conn), api
}

// waitEnds waits until api has counted want streams ended for reason.
func waitEnds(t *testing.T, api *agentapi.Server, reason string, want uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for api.Ends()[reason] != want {
		if time.Now().After(deadline) {
			t.Fatalf("streams ended: %v, want %s=%d", api.Ends(), reason, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// welcomed starts a controller with one enrolled agent and returns the
// agent's stream after Hello and Welcome.
func welcomed(t *testing.T) (*controllertest.Controller, *controllertest.Agent, agentv1.AgentService_ConnectClient) {
	t.Helper()
	c := controllertest.Start(t)
	c.Tenant(t, "acme")
	a := c.EnrollAgent(t, "acme", "h")
	s := connect(t, c.AgentClient(t, a.TLS))
	_ = s.Send(hello())
	if m, err := s.Recv(); err != nil || m.GetWelcome() == nil {
		t.Fatalf("welcome: %v %v", m, err)
	}
	return c, a, s
}

// TestHelloTimeout: a stream that never says Hello is closed after the
// timeout, and its handler is gone.
func TestHelloTimeout(t *testing.T) {
	ctl := controllertest.Start(t)
	ctl.Tenant(t, "acme")
	c, api := agentServer(t, ctl, 300*time.Millisecond, agentapi.Credentials)
	before := runtime.NumGoroutine()
	s := connect(t, c)
	start := time.Now()
	_, err := s.Recv()
	if err == nil {
		t.Fatal("a silent stream got a message")
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 5*time.Second {
		t.Fatalf("silent stream ended after %s (%v), want about 300ms", d, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		t.Fatalf("%d goroutines after the stream ended, %d before", n, before)
	}
	waitEnds(t, api, "hello_timeout", 1)
}

// TestConnectNeedsConnCredentials: a listener built with plain TLS
// credentials cannot close a stream's connection, so Connect refuses to
// serve on it rather than serve streams it could not end.
func TestConnectNeedsConnCredentials(t *testing.T) {
	ctl := controllertest.Start(t)
	ctl.Tenant(t, "acme")
	c, api := agentServer(t, ctl, time.Second, credentials.NewTLS)
	s := connect(t, c)
	_ = s.Send(hello())
	if _, err := s.Recv(); status.Code(err) != codes.Internal || !strings.Contains(err.Error(), "misconfigured") {
		t.Fatalf("got %v, want Internal (misconfigured)", err)
	}
	waitEnds(t, api, "refused", 1)
}

// TestShutdownGoAway: at shutdown a stream gets its last ack, then GoAway
// with the retry hint, and ends; a stream that does not leave by itself
// is closed soon after.
func TestShutdownGoAway(t *testing.T) {
	c, _, s := welcomed(t)
	_ = s.Send(report(1, 10))
	if m, err := s.Recv(); err != nil || m.GetAck().GetSeq() != 1 {
		t.Fatalf("ack: %v %v", m, err)
	}
	start := time.Now()
	c.Server().Fleet().KickAll(fleet.ErrShutdown)
	m, err := s.Recv()
	if err != nil || m.GetGoaway().GetRetryAfterSeconds() == 0 || !strings.Contains(m.GetGoaway().GetReason(), "shutting down") {
		t.Fatalf("want GoAway with a retry hint, got %v %v", m, err)
	}
	if _, err := s.Recv(); err == nil {
		t.Fatal("stream still open after GoAway")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("stream closed %s after shutdown began", d)
	}
}

// TestRevocationEndsLiveStream: revoking an agent with an open stream ends
// the stream at once (its connection is closed), nothing it sends after
// is stored, and its reconnect is refused.
func TestRevocationEndsLiveStream(t *testing.T) {
	c, a, s := welcomed(t)
	_ = s.Send(report(1, 10))
	if m, err := s.Recv(); err != nil || m.GetAck().GetSeq() != 1 {
		t.Fatalf("ack: %v %v", m, err)
	}
	start := time.Now()
	if _, err := c.Admin(t).RevokeAgent(context.Background(), &managev1.RevokeAgentRequest{Id: a.ID}); err != nil {
		t.Fatal(err)
	}
	for {
		_ = s.Send(report(2, 20))
		m, err := s.Recv()
		if err != nil {
			break
		}
		if m.GetAck() != nil {
			t.Fatal("a revoked agent's report was acknowledged")
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("stream ended %s after the revocation", d)
	}
	if n := len(samples(t, c, a.ID)); n != 1 {
		t.Fatalf("stored %d samples, want the 1 before the revocation", n)
	}
	s2 := connect(t, c.AgentClient(t, a.TLS))
	_ = s2.Send(hello())
	if _, err := s2.Recv(); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("reconnect: got %v, want PermissionDenied", err)
	}
}
