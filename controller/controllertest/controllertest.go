// Package controllertest runs a real vigil controller in-process for tests:
// a fresh data directory, the real stores, real TLS listeners on loopback,
// and an admin API client. Agent and CLI tests use it as their peer.
package controllertest

import (
	"github.com/vigil-rmm/vigil/internal/duration"

	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/vigil-rmm/vigil/controller/internal/server"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	"github.com/vigil-rmm/vigil/internal/logging"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// Controller is a running in-process controller.
type Controller struct {
	// Dir is the data directory.
	Dir string
	// AgentAddr and APIAddr are the listeners' addresses.
	AgentAddr, APIAddr string
	// CAPin and CAPEM identify the controller CA.
	CAPin string
	CAPEM []byte
	// AdminToken is the first admin's API token.
	AdminToken string

	cfg    server.Config
	logger *slog.Logger
	srv    *server.Server
}

// Option adjusts the controller's configuration.
type Option func(*server.Config)

// Start initialises and starts a controller; it stops at test cleanup.
func Start(t testing.TB, opts ...Option) *Controller {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ctl")
	res, err := server.Init(context.Background(), dir, []string{"localhost", "127.0.0.1"}, "admin")
	if err != nil {
		t.Fatalf("controller init: %v", err)
	}
	cfg := server.Default()
	cfg.DataDir = dir
	cfg.AgentListen = "127.0.0.1:0"
	cfg.APIListen = "127.0.0.1:0"
	cfg.LastSeenFlush = duration.Duration(time.Second)
	cfg.ShutdownTimeout = duration.Duration(2 * time.Second)
	for _, o := range opts {
		o(&cfg)
	}
	logger := logging.Discard()
	if os.Getenv("VIGIL_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	c := &Controller{Dir: dir, CAPin: res.CAPin, CAPEM: res.CAPEM, AdminToken: res.AdminToken, cfg: cfg, logger: logger}
	c.start(t)
	t.Cleanup(c.Stop)
	return c
}

func (c *Controller) start(t testing.TB) {
	t.Helper()
	srv, err := server.New(c.cfg, c.logger)
	if err != nil {
		t.Fatalf("controller: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("controller start: %v", err)
	}
	c.srv = srv
	c.AgentAddr, c.APIAddr = srv.AgentAddr(), srv.APIAddr()
	// Later restarts reuse the same addresses so agents find it again.
	c.cfg.AgentListen, c.cfg.APIListen = c.AgentAddr, c.APIAddr
}

// Stop stops the controller (idempotent).
func (c *Controller) Stop() {
	if c.srv != nil {
		c.srv.Stop()
		c.srv = nil
	}
}

// Restart stops and starts the controller on the same addresses.
func (c *Controller) Restart(t testing.TB) {
	t.Helper()
	c.Stop()
	c.start(t)
}

// Server returns the running server.
func (c *Controller) Server() *server.Server { return c.srv }

// Client returns a manage API client authenticated with token.
func (c *Controller) Client(t testing.TB, token string) managev1.ManageServiceClient {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.CAPEM)
	conn, err := grpc.NewClient("passthrough:///"+c.APIAddr,
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})),
		grpc.WithPerRPCCredentials(Bearer(token)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return managev1.NewManageServiceClient(conn)
}

// Admin returns a client authenticated as the admin.
func (c *Controller) Admin(t testing.TB) managev1.ManageServiceClient {
	return c.Client(t, c.AdminToken)
}

// Tenant creates a tenant.
func (c *Controller) Tenant(t testing.TB, id string) {
	t.Helper()
	if _, err := c.Admin(t).CreateTenant(context.Background(), &managev1.CreateTenantRequest{Id: id, Timezone: "Europe/Paris"}); err != nil {
		t.Fatalf("create tenant %s: %v", id, err)
	}
}

// EnrollToken creates an enrollment token for tenant.
func (c *Controller) EnrollToken(t testing.TB, tenant string, uses uint32, ttl time.Duration) string {
	t.Helper()
	r, err := c.Admin(t).CreateEnrollToken(context.Background(), &managev1.CreateEnrollTokenRequest{
		Tenant: tenant, TtlSeconds: int64(ttl / time.Second), Uses: uses})
	if err != nil {
		t.Fatalf("create enroll token: %v", err)
	}
	return r.GetToken()
}

// Principal creates a principal and returns its API token.
func (c *Controller) Principal(t testing.TB, name string, role managev1.Role, tenant string) string {
	t.Helper()
	r, err := c.Admin(t).CreatePrincipal(context.Background(), &managev1.CreatePrincipalRequest{Name: name, Role: role, Tenant: tenant})
	if err != nil {
		t.Fatalf("create principal %s: %v", name, err)
	}
	return r.GetApiToken()
}

// Bearer is per-RPC credentials carrying an API token.
type Bearer string

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (b Bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	if b == "" {
		return nil, nil
	}
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (Bearer) RequireTransportSecurity() bool { return true }

// DeleteAgentState deletes the agent's stored patch, reboot and inventory
// state, as a restore from an old backup would lose it.
func (c *Controller) DeleteAgentState(t testing.TB, agentID string) {
	t.Helper()
	err := c.srv.Store().Update(context.Background(), func(tx store.Tx) error { return schema.DeleteAgentState(tx, agentID) })
	if err != nil {
		t.Fatal(err)
	}
}
