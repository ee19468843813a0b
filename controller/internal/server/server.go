// Package server assembles vigil-controller: the stores, the CA, the agent
// listener (mTLS, Enroll + Connect) and the API listener (TLS + bearer
// token), the ingest writer, the presence flusher and the task engine, and
// stops them in order so nothing acknowledged is lost.
package server

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	"github.com/vigil-rmm/vigil/controller/internal/agentapi"
	"github.com/vigil-rmm/vigil/controller/internal/agentprobe"
	"github.com/vigil-rmm/vigil/controller/internal/fleet"
	"github.com/vigil-rmm/vigil/controller/internal/ingest"
	"github.com/vigil-rmm/vigil/controller/internal/manageapi"
	"github.com/vigil-rmm/vigil/controller/internal/metrics"
	"github.com/vigil-rmm/vigil/controller/internal/pki"
	"github.com/vigil-rmm/vigil/controller/internal/rescan"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	"github.com/vigil-rmm/vigil/controller/internal/tasks"
	"github.com/vigil-rmm/vigil/internal/version"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// Files in the data directory besides the CA's.
const (
	StoreFile   = "control.db"
	MetricsFile = "metrics.db"
)

// Keepalive policy. The agent pings every AgentKeepaliveTime, which must be
// at least EnforcementMinTime or the server would GOAWAY it for pinging too
// often (ENHANCE_YOUR_CALM).
const (
	EnforcementMinTime = 20 * time.Second
	AgentKeepaliveTime = 60 * time.Second
	KeepaliveTimeout   = 20 * time.Second
	MaxAPIMessage      = 4 << 20
	// AgentConnBuffer is the gRPC write buffer per agent connection (shared
	// between connections: taken from a pool for each flush). Reads are
	// not buffered by gRPC at all: the TLS connection underneath already
	// holds a whole record, so a second buffer per connection (3.7 KiB
	// each, 37 MB at 10,000 agents) bought nothing.
	AgentConnBuffer = 4 << 10
	// AgentWindow is the fixed HTTP/2 flow-control window per agent stream
	// and connection (the protocol minimum, ample for reports under 1 kB).
	AgentWindow = 64 << 10
)

// Server is a running controller.
type Server struct {
	cfg    Config
	logger *slog.Logger

	store   *store.Bolt
	metrics *metrics.DB
	ca      *pki.CA
	fleet   *fleet.Fleet
	// agentAPI serves the agent listener; its stream counts go to /debug/vars.
	agentAPI *agentapi.Server
	ingest   *ingest.Writer
	tasks    *tasks.Engine

	agentLn, apiLn net.Listener
	agentSrv       *grpc.Server
	apiSrv         *grpc.Server
	debugSrv       *http.Server
	debugAddr      string

	// runners are the background loops the wire* functions add (checker,
	// alert evaluation, notification delivery); Start runs each on its own
	// goroutine until Stop.
	runners []func(context.Context)
	// agentProbe runs network checks on agents (vantage points); ingest
	// hands it the check results it commits.
	agentProbe *agentprobe.Registry
	// notifyWake tells the notification dispatcher that something was
	// queued; wireNotify sets it. Use wakeNotify.
	notifyWake func()

	bgCancel context.CancelFunc
	bg       sync.WaitGroup
	ingestWG sync.WaitGroup
	ingestCx context.CancelFunc
	stopOnce sync.Once
}

// New opens the stores and loads the CA from cfg.DataDir.
func New(cfg Config, logger *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(cfg.DataDir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("data dir %s: not found (run `vigil-controller init --data %s` first)", cfg.DataDir, cfg.DataDir)
	}
	ca, srvCert, err := pki.Load(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	st, err := store.OpenBolt(filepath.Join(cfg.DataDir, StoreFile), store.BoltOptions{Timeout: time.Second, Logger: logger})
	if err != nil {
		return nil, err
	}
	if err := schema.Open(context.Background(), st); err != nil {
		st.Close()
		return nil, err
	}
	mdb, err := metrics.Open(filepath.Join(cfg.DataDir, MetricsFile), metrics.Options{Retention: time.Duration(cfg.Retention), MaxSkew: ingest.DefaultMaxFuture, Timeout: time.Second, Logger: logger})
	if err != nil {
		st.Close()
		return nil, err
	}
	s := &Server{cfg: cfg, logger: logger, store: st, metrics: mdb, ca: ca}
	s.fleet = fleet.New(logger, nil)
	s.tasks = tasks.NewEngine(tasks.EngineConfig{Store: st, Fleet: s.fleet, Logger: logger})
	s.agentProbe = agentprobe.New(s.fleet, logger)
	scans := rescan.New()
	s.ingest = ingest.New(st, mdb, ingest.Options{Logger: logger, Observe: func(applied []ingest.Applied) {
		scans.Observe(applied)
		s.requestFull(applied)
		s.agentProbe.Observe(applied)
	}})

	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	agentTLS := &tls.Config{
		Certificates: []tls.Certificate{srvCert},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS13,
	}
	tickets, err := loadTicketKeys(cfg.DataDir, time.Now())
	if err != nil {
		st.Close()
		mdb.Close()
		return nil, err
	}
	agentTLS.SetSessionTicketKeys(tickets)
	s.agentSrv = grpc.NewServer(
		grpc.Creds(agentapi.Credentials(agentTLS)),
		grpc.MaxRecvMsgSize(agentapi.MaxAgentMessage),
		grpc.MaxSendMsgSize(agentapi.MaxAgentMessage),
		grpc.MaxConcurrentStreams(4),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: EnforcementMinTime, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 2 * time.Minute, Timeout: KeepaliveTimeout}),
		// Agents send a few hundred bytes a minute: small per-connection
		// buffers and fixed flow-control windows (no BDP probing) keep
		// tens of thousands of idle streams cheap. See docs/benchmarks.md.
		grpc.ReadBufferSize(0),
		grpc.WriteBufferSize(AgentConnBuffer),
		grpc.StaticStreamWindowSize(AgentWindow),
		grpc.StaticConnWindowSize(AgentWindow),
		grpc.ConnectionTimeout(10*time.Second),
	)
	s.agentAPI = agentapi.New(agentapi.Config{
		Store: st, Signer: ca, CACert: ca.Cert, Ingest: s.ingest, Fleet: s.fleet, Tasks: s.tasks, Logger: logger,
	})
	agentv1.RegisterAgentServiceServer(s.agentSrv, s.agentAPI)

	apiTLS := &tls.Config{Certificates: []tls.Certificate{srvCert}, MinVersion: tls.VersionTLS12}
	authz := &manageapi.Authorizer{Store: st, Logger: logger.With("component", "authz")}
	s.apiSrv = grpc.NewServer(
		grpc.Creds(credentials.NewTLS(apiTLS)),
		grpc.MaxRecvMsgSize(MaxAPIMessage),
		grpc.UnaryInterceptor(authz.Unary()),
		grpc.StreamInterceptor(func(any, grpc.ServerStream, *grpc.StreamServerInfo, grpc.StreamHandler) error {
			return errors.New("manage API has no streaming methods")
		}),
	)
	mcfg := manageapi.Config{
		Store: st, Metrics: mdb, Fleet: s.fleet, Scans: scans, Tasks: s.tasks, Logger: logger,
	}
	for _, wire := range []func(*manageapi.Config) error{s.wireNotify, s.wireChecks, s.wireAlerts, s.wireReport} {
		if err := wire(&mcfg); err != nil {
			st.Close()
			mdb.Close()
			return nil, err
		}
	}
	manageapi.New(mcfg).Register(s.apiSrv)
	return s, nil
}

// wakeNotify tells the notification dispatcher to look at its queue now.
func (s *Server) wakeNotify() {
	if s.notifyWake != nil {
		s.notifyWake()
	}
}

// Start listens on both addresses and serves in the background.
func (s *Server) Start() error {
	var err error
	if s.agentLn, err = net.Listen("tcp", s.cfg.AgentListen); err != nil {
		return fmt.Errorf("agent listener: %w", err)
	}
	if s.apiLn, err = net.Listen("tcp", s.cfg.APIListen); err != nil {
		s.agentLn.Close()
		return fmt.Errorf("api listener: %w", err)
	}
	ingestCtx, ingestCancel := context.WithCancel(context.Background())
	s.ingestCx = ingestCancel
	s.ingestWG.Add(1)
	go func() { defer s.ingestWG.Done(); s.ingest.Run(ingestCtx) }()

	bgCtx, bgCancel := context.WithCancel(context.Background())
	s.bgCancel = bgCancel
	s.bg.Add(5 + len(s.runners))
	for _, r := range s.runners {
		go func() { defer s.bg.Done(); r(bgCtx) }()
	}
	go func() { defer s.bg.Done(); s.fleet.Run(bgCtx, s, time.Duration(s.cfg.LastSeenFlush)) }()
	go func() { defer s.bg.Done(); s.tasks.Run(bgCtx) }()
	go func() {
		defer s.bg.Done()
		if err := s.metrics.Run(bgCtx); err != nil {
			s.logger.Error("metrics retention", "err", err)
		}
	}()
	go func() {
		defer s.bg.Done()
		if err := s.agentSrv.Serve(s.agentLn); err != nil {
			s.logger.Error("agent server", "err", err)
		}
	}()
	go func() {
		defer s.bg.Done()
		if err := s.apiSrv.Serve(s.apiLn); err != nil {
			s.logger.Error("api server", "err", err)
		}
	}()
	if err := s.startDebug(); err != nil {
		s.logger.Error("debug listener", "err", err)
	}
	s.logger.Info("controller listening", "agent_addr", s.agentLn.Addr().String(), "api_addr", s.apiLn.Addr().String(),
		"data_dir", s.cfg.DataDir)
	return nil
}

// AgentAddr is the agent listener's address.
func (s *Server) AgentAddr() string { return s.agentLn.Addr().String() }

// APIAddr is the API listener's address.
func (s *Server) APIAddr() string { return s.apiLn.Addr().String() }

// Fleet exposes presence, for tests and the load simulator.
func (s *Server) Fleet() *fleet.Fleet { return s.fleet }

// Store returns the control store (for tests and tools in this module).
func (s *Server) Store() store.Store { return s.store }

// FlushLastSeen implements fleet.Flusher.
func (s *Server) FlushLastSeen(ctx context.Context, seen map[string]int64) error {
	return s.store.Update(ctx, func(tx store.Tx) error {
		for id, ts := range seen {
			if err := schema.SetLastSeen(tx, id, ts); err != nil {
				return err
			}
		}
		return nil
	})
}

// Stop shuts down in order: agents are told to go away and their streams
// end, the servers stop (gracefully, then forcibly after the timeout),
// the ingest writer commits what it holds, presence is flushed, and the
// stores close.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		deadline := time.Duration(s.cfg.ShutdownTimeout)
		s.fleet.KickAll(fleet.ErrShutdown)
		var wg sync.WaitGroup
		for _, g := range []*grpc.Server{s.agentSrv, s.apiSrv} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				done := make(chan struct{})
				go func() { g.GracefulStop(); close(done) }()
				select {
				case <-done:
				case <-time.After(deadline):
					g.Stop()
					<-done
				}
			}()
		}
		wg.Wait()
		s.ingestCx()
		s.ingestWG.Wait()
		if s.debugSrv != nil {
			_ = s.debugSrv.Close()
		}
		s.bgCancel()
		s.bg.Wait()
		if err := s.metrics.Close(); err != nil {
			s.logger.Error("close metrics", "err", err)
		}
		if err := s.store.Close(); err != nil {
			s.logger.Error("close store", "err", err)
		}
		s.logger.Info("controller stopped")
	})
}

// Run starts the server and stops it when ctx ends.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	s.logger.Info("controller stopping")
	s.Stop()
	return nil
}

// requestFull asks each agent whose digest did not match the stored state
// for the full state of that kind (the controller lost it, for example to a
// restore from backup). The request keeps the digest's request id, so a
// technician waiting on a rescan gets the full state as its answer.
func (s *Server) requestFull(applied []ingest.Applied) {
	for _, a := range applied {
		if !a.NeedFull {
			continue
		}
		msg := &agentv1.ControllerMessage{Msg: &agentv1.ControllerMessage_Scan{Scan: &agentv1.ScanRequest{
			RequestId: cmp.Or(a.RequestID, rescan.NewID()), Kinds: []agentv1.StateKind{a.Kind}, Full: true}}}
		err := s.fleet.Send(a.AgentID, version.CapScanRequest, msg)
		s.logger.Info("state digest did not match; full state requested", "agent_id", a.AgentID, "kind", a.Kind.String(), "err", err)
	}
}
