package agentapi

import (
	"cmp"
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/controller/internal/apierr"
	"github.com/vigil-rmm/vigil/controller/internal/auth"
	"github.com/vigil-rmm/vigil/controller/internal/fleet"
	"github.com/vigil-rmm/vigil/controller/internal/ingest"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	"github.com/vigil-rmm/vigil/internal/version"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Signer issues agent certificates.
type Signer interface {
	SignAgent(csrDER []byte, agentID string, now time.Time) (*x509.Certificate, error)
}

// Submitter takes reports for commit.
type Submitter interface {
	Submit(ctx context.Context, it ingest.Item) error
}

// Presence tracks open streams.
type Presence interface {
	// AttachFunc registers a stream; deliver takes the messages sent to
	// the agent without blocking, or reports false.
	AttachFunc(agentID string, cancel context.CancelCauseFunc, caps []string, deliver func(*agentv1.ControllerMessage) bool) (detach func())
	Touch(agentID string)
}

// Attacher hears of every admitted stream (the task engine: it offers
// dispatched tasks again and settles rebooting ones).
type Attacher interface {
	Attached(agentID string, bootTimeUnix int64)
}

// Capabilities the controller offers in Welcome.
var Capabilities = []string{version.CapMetrics, version.CapFacts, version.CapOutboxStatus, version.CapPatches, version.CapReboot,
	version.CapInventory, version.CapScanRequest, version.CapTasks}

// Config wires the server.
type Config struct {
	Store  store.Store
	Signer Signer
	CACert *x509.Certificate
	Ingest Submitter
	Fleet  Presence
	// Tasks, if set, is told of every admitted stream.
	Tasks   Attacher
	Logger  *slog.Logger
	Now     func() time.Time
	Limiter *auth.Limiter // failed enrollments per client address
	// HelloTimeout bounds the wait for Hello on a new stream.
	HelloTimeout time.Duration
	// RetryAfter is the GoAway hint sent to agents at shutdown.
	RetryAfter time.Duration
}

// Server implements agentv1.AgentServiceServer.
type Server struct {
	agentv1.UnimplementedAgentServiceServer
	cfg    Config
	logger *slog.Logger
	ends   [numEndReasons]atomic.Uint64
}

var _ agentv1.AgentServiceServer = (*Server)(nil)

// New returns a server.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Limiter == nil {
		cfg.Limiter = auth.NewLimiter(10, 6*time.Second)
	}
	if cfg.HelloTimeout <= 0 {
		cfg.HelloTimeout = 15 * time.Second
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = 5 * time.Second
	}
	return &Server{cfg: cfg, logger: cfg.Logger.With("component", "agentapi")}
}

func peerAddr(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return "unknown"
	}
	if host, _, err := net.SplitHostPort(p.Addr.String()); err == nil {
		return host
	}
	return p.Addr.String()
}

// Enroll implements agentv1.AgentServiceServer.
func (s *Server) Enroll(ctx context.Context, req *agentv1.EnrollRequest) (*agentv1.EnrollResponse, error) {
	addr := peerAddr(ctx)
	if ok, wait := s.cfg.Limiter.Check(addr); !ok {
		s.logger.WarnContext(ctx, "enrollment rate limited", "peer", addr)
		return nil, apierr.Status(fmt.Errorf("%w from %s; retry in %s", auth.ErrRateLimited, addr, wait.Round(time.Second)))
	}
	resp, err := s.enroll(ctx, req)
	if err != nil {
		s.cfg.Limiter.Allow(addr) // spend an attempt on every failure
		s.logger.WarnContext(ctx, "enrollment refused", "peer", addr, "err", err)
		return nil, apierr.Status(err)
	}
	s.logger.InfoContext(ctx, "agent enrolled", "agent_id", resp.AgentId, "tenant", resp.Tenant, "peer", addr)
	return resp, nil
}

func (s *Server) enroll(ctx context.Context, req *agentv1.EnrollRequest) (*agentv1.EnrollResponse, error) {
	if err := validateEnroll(req); err != nil {
		return nil, fmt.Errorf("%w: %v", apierr.ErrInvalid, err)
	}
	hash := auth.Hash(req.GetToken())
	now := s.cfg.Now()
	check := func(tx store.Tx) (*storev1.EnrollToken, error) {
		tok, err := schema.GetEnrollToken(tx, hash)
		if errors.Is(err, store.ErrNotFound) {
			return nil, auth.ErrTokenUnknown
		}
		if err != nil {
			return nil, err
		}
		if now.Unix() >= tok.GetExpiresUnix() {
			return nil, fmt.Errorf("%w at %s (token %s); create a new one", auth.ErrTokenExpired,
				time.Unix(tok.GetExpiresUnix(), 0).UTC().Format(time.RFC3339), tok.GetId())
		}
		if tok.GetUsed() >= tok.GetUses() {
			return nil, fmt.Errorf("%w: all %d enrollments spent (token %s); create a new one", auth.ErrTokenUsedUp, tok.GetUses(), tok.GetId())
		}
		if _, err := schema.GetTenant(tx, tok.GetTenant()); err != nil {
			return nil, fmt.Errorf("token %s: tenant %q: %w", tok.GetId(), tok.GetTenant(), err)
		}
		return tok, nil
	}
	// Check cheaply before spending CPU on a signature.
	if err := s.cfg.Store.View(ctx, func(tx store.Tx) error { _, err := check(tx); return err }); err != nil {
		return nil, err
	}
	agentID, err := auth.NewID("ag")
	if err != nil {
		return nil, err
	}
	cert, err := s.cfg.Signer.SignAgent(req.GetCsrDer(), agentID, now)
	if err != nil {
		return nil, err
	}
	var tenant string
	err = s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		tok, err := check(tx)
		if err != nil {
			return err
		}
		tok.Used++
		if err := schema.PutEnrollToken(tx, hash, tok); err != nil {
			return err
		}
		tenant = tok.GetTenant()
		return schema.PutAgent(tx, &storev1.Agent{
			Id:            agentID,
			Tenant:        tenant,
			Hostname:      req.GetHostname(),
			EnrolledUnix:  now.Unix(),
			CertSerial:    hex.EncodeToString(cert.SerialNumber.Bytes()),
			EnrollTokenId: tok.GetId(),
			AgentVersion:  req.GetAgentVersion(),
		})
	})
	if err != nil {
		return nil, err
	}
	return &agentv1.EnrollResponse{
		AgentId:          agentID,
		Tenant:           tenant,
		CertificateDer:   cert.Raw,
		CaCertificateDer: s.cfg.CACert.Raw,
	}, nil
}

// identity returns the agent ID and certificate serial from the verified
// client certificate.
func identity(ctx context.Context) (string, string, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return "", "", status.Error(codes.Unauthenticated, "no peer information")
	}
	var ti credentials.TLSInfo
	switch ai := p.AuthInfo.(type) {
	case ConnInfo:
		ti, ok = ai.TLSInfo, true
	case credentials.TLSInfo:
		ti, ok = ai, true
	default:
		ok = false
	}
	if !ok || len(ti.State.VerifiedChains) == 0 || len(ti.State.VerifiedChains[0]) == 0 {
		return "", "", status.Error(codes.Unauthenticated, "Connect needs the agent's client certificate (enroll first)")
	}
	leaf := ti.State.VerifiedChains[0][0]
	return leaf.Subject.CommonName, hex.EncodeToString(leaf.SerialNumber.Bytes()), nil
}

// Connect implements agentv1.AgentServiceServer.
//
// The handler's goroutine is the stream's reader: it waits in Recv and
// hands each report to ingest. Acks and controller messages go out through
// the stream's sender, which runs a goroutine only while it has something
// to send, so an idle stream costs no goroutine beyond gRPC's own. A
// waiting Recv cannot be interrupted, so when the controller ends a stream
// (revocation, a newer stream of the same agent, a failed commit) it
// closes the stream's connection: an agent holds one stream per
// connection. See interrupt.
func (s *Server) Connect(stream agentv1.AgentService_ConnectServer) error {
	end, err := s.connect(stream)
	s.ends[end].Add(1)
	return err
}

func (s *Server) connect(stream agentv1.AgentService_ConnectServer) (endReason, error) {
	ctx := stream.Context()
	agentID, serial, err := identity(ctx)
	if err != nil {
		return endRefused, err
	}
	conn, ok := connOf(ctx)
	if !ok {
		s.logger.ErrorContext(ctx, "agent listener does not use agentapi.Credentials")
		return endRefused, status.Error(codes.Internal, "controller misconfigured: agent connection not tracked")
	}
	closeConn := func() { _ = conn.Close() }
	logger := s.logger.With("agent_id", agentID)

	// Past HelloTimeout the connection is closed, which ends the Recv.
	helloTimer := time.AfterFunc(s.cfg.HelloTimeout, closeConn)
	hello, err := recvHello(stream)
	if !helloTimer.Stop() && err != nil {
		return endHelloTimeout, status.Errorf(codes.DeadlineExceeded, "no hello within %s", s.cfg.HelloTimeout)
	}
	if err != nil {
		return endProtocol, err
	}

	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	out := newSender(stream.Send, func(err error) { cancel(fmt.Errorf("%w: %w", errSend, err)) })
	// Attach before checking the record: a revocation committed after the
	// check below then finds this stream to close, and one committed
	// before it is seen by the check.
	detach := s.cfg.Fleet.AttachFunc(agentID, cancel, hello.GetCapabilities(), out.offer)
	defer detach()
	// Deferred in this order, these run first: nothing is sent after the
	// handler returns, and its own cancel(nil) interrupts nothing.
	defer context.AfterFunc(sctx, func() { s.interrupt(context.Cause(sctx), out, closeConn) })()
	defer out.stop(stuckSend, closeConn)

	committed, rec, err := s.admit(sctx, agentID, serial)
	if err != nil {
		logger.WarnContext(ctx, "stream refused", "peer", peerAddr(ctx), "err", err)
		return endRefused, err
	}
	if err := s.storeHello(sctx, rec, hello); err != nil {
		logger.ErrorContext(ctx, "connect: store hello", "err", err)
		return endStoreFailed, status.Error(codes.Unavailable, "controller store unavailable; retry later")
	}
	if s.cfg.Tasks != nil {
		s.cfg.Tasks.Attached(agentID, hello.GetBootTimeUnix())
	}
	proto := min(hello.GetProtocolVersion(), version.Protocol)
	if err := stream.Send(&agentv1.ControllerMessage{Msg: &agentv1.ControllerMessage_Welcome{Welcome: &agentv1.Welcome{
		ProtocolVersion:  proto,
		Capabilities:     Capabilities,
		AgentId:          agentID,
		CommittedSeq:     committed,
		ServerTimeUnixMs: s.cfg.Now().UnixMilli(),
	}}}); err != nil {
		return endStreamError, err
	}
	out.start()
	logger.InfoContext(ctx, "agent connected", "protocol", proto, "agent_version", hello.GetAgentVersion(),
		"committed_seq", committed, "peer", peerAddr(ctx))

	done := func(seq uint64, err error) {
		if err != nil {
			cancel(err)
			return
		}
		out.committed(seq)
	}
	highest := committed
	for {
		m, err := stream.Recv()
		if cause := context.Cause(sctx); cause != nil && controllerCause(cause) {
			return s.closeStatus(sctx, cause, logger)
		}
		if err != nil {
			if errors.Is(err, io.EOF) || status.Code(err) == codes.Canceled {
				logger.InfoContext(ctx, "agent disconnected")
				return endDisconnected, nil
			}
			logger.InfoContext(ctx, "agent stream ended", "err", err)
			return endStreamError, err
		}
		r := m.GetReport()
		if r == nil {
			return endProtocol, status.Error(codes.InvalidArgument, "only reports may follow hello")
		}
		s.cfg.Fleet.Touch(agentID)
		if r.GetSeq() <= highest {
			continue // already committed or already queued
		}
		highest = r.GetSeq()
		if err := validateReport(r); err != nil {
			logger.WarnContext(ctx, "invalid report skipped", "seq", r.GetSeq(), "err", err)
			r = &agentv1.Report{Seq: r.GetSeq(), TimeUnixMs: r.GetTimeUnixMs()}
		}
		if err := s.cfg.Ingest.Submit(sctx, ingest.Item{Ctx: sctx, AgentID: agentID, Report: r, Done: done}); err != nil {
			return s.closeStatus(sctx, cmp.Or(context.Cause(sctx), err), logger)
		}
	}
}

// errSend ends a stream whose send failed (the connection broke).
var errSend = errors.New("send to agent failed")

const (
	// stuckSend bounds how long a returning handler waits for a send in
	// progress before it closes the connection to end it.
	stuckSend = 5 * time.Second
	// leaveGrace is how long an agent told to go away (shutdown, a newer
	// stream) has to leave before its connection is closed.
	leaveGrace = 2 * time.Second
)

// replacedReason is the GoAway reason of a stream replaced by a newer one
// of the same agent: usually the agent's own reconnect, and otherwise a
// copy of its identity running elsewhere.
const replacedReason = "replaced by a newer connection with this agent's identity; if this agent did not reconnect, " +
	"a copy of its state directory (a cloned VM?) is running elsewhere: re-enroll one of them"

// controllerCause reports whether a stream's context ended for a reason of
// the controller's (revocation, replacement, shutdown, a failed commit or
// send) rather than because the stream itself ended.
func controllerCause(cause error) bool {
	return !errors.Is(cause, context.Canceled) && !errors.Is(cause, context.DeadlineExceeded)
}

// interrupt makes a stream's waiting Recv return when the controller ends
// the stream. At shutdown, and for a stream a newer one replaced, the
// agent gets the last ack and GoAway and leaves by itself; its connection
// is closed leaveGrace later in case it does not. Anything else
// (revocation, a removed agent, a failed commit) closes the connection at
// once.
func (s *Server) interrupt(cause error, out *sender, closeConn func()) {
	var reason string
	switch {
	case !controllerCause(cause):
		return // the stream ended by itself
	case errors.Is(cause, fleet.ErrShutdown):
		reason = "controller shutting down"
	case errors.Is(cause, fleet.ErrReplaced):
		reason = replacedReason
	}
	if reason != "" && out.finish(&agentv1.ControllerMessage{Msg: &agentv1.ControllerMessage_Goaway{Goaway: &agentv1.GoAway{
		Reason: reason, RetryAfterSeconds: uint32(s.cfg.RetryAfter / time.Second),
	}}}) {
		time.AfterFunc(leaveGrace, closeConn)
		return
	}
	closeConn()
}

// ErrSuperseded means the agent presented a certificate other than the one
// on record.
var ErrSuperseded = errors.New("agent certificate superseded; re-enroll")

// storeHello records the tier and boot time Hello announced, in one small
// transaction and only when they changed.
func (s *Server) storeHello(ctx context.Context, rec *storev1.Agent, h *agentv1.Hello) error {
	if rec.GetTier() == h.GetTier() && rec.GetBootTimeUnix() == h.GetBootTimeUnix() {
		return nil
	}
	return s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		a, err := schema.GetAgent(tx, rec.GetId())
		if err != nil {
			return err
		}
		if a.GetTier() != h.GetTier() {
			s.logger.InfoContext(ctx, "agent tier", "agent_id", a.GetId(), "tier", h.GetTier(), "was", a.GetTier())
		}
		a.Tier, a.BootTimeUnix = h.GetTier(), h.GetBootTimeUnix()
		return schema.PutAgent(tx, a)
	})
}

// admit checks the agent's record and returns its committed sequence and
// the record.
func (s *Server) admit(ctx context.Context, agentID, serial string) (uint64, *storev1.Agent, error) {
	var (
		committed uint64
		rec       *storev1.Agent
	)
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		rec, err = schema.GetAgent(tx, agentID)
		if err != nil {
			return err
		}
		if rec.GetRevoked() {
			return fleet.ErrRevoked
		}
		if rec.GetCertSerial() != serial {
			return ErrSuperseded
		}
		committed, err = schema.CommittedSeq(tx, agentID)
		return err
	})
	switch {
	case err == nil:
		return committed, rec, nil
	case errors.Is(err, store.ErrNotFound):
		return 0, nil, status.Error(codes.Unauthenticated, "unknown agent "+agentID+"; re-enroll")
	case errors.Is(err, fleet.ErrRevoked):
		return 0, nil, status.Error(codes.PermissionDenied, fleet.ErrRevoked.Error())
	case errors.Is(err, ErrSuperseded):
		return 0, nil, status.Error(codes.PermissionDenied, ErrSuperseded.Error())
	}
	s.logger.ErrorContext(ctx, "connect: read agent record", "agent_id", agentID, "err", err)
	return 0, nil, status.Error(codes.Unavailable, "controller store unavailable; retry later")
}

// recvHello reads the stream's first message, which must be a valid Hello.
func recvHello(stream agentv1.AgentService_ConnectServer) (*agentv1.Hello, error) {
	m, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	h := m.GetHello()
	if h == nil {
		return nil, status.Error(codes.InvalidArgument, "first message must be hello")
	}
	if err := validateHello(h); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return h, nil
}

// closeStatus is the status a stream ends with when the controller ended
// it for cause. (At shutdown the agent already has its GoAway.)
func (s *Server) closeStatus(ctx context.Context, cause error, logger *slog.Logger) (endReason, error) {
	switch {
	case errors.Is(cause, fleet.ErrRevoked):
		logger.InfoContext(ctx, "stream closed: agent revoked")
		return endRevoked, status.Error(codes.PermissionDenied, fleet.ErrRevoked.Error())
	case errors.Is(cause, fleet.ErrReplaced):
		return endReplaced, status.Error(codes.Aborted, fleet.ErrReplaced.Error())
	case errors.Is(cause, fleet.ErrShutdown):
		return endShutdown, status.Error(codes.Unavailable, fleet.ErrShutdown.Error())
	case errors.Is(cause, ingest.ErrAgentGone):
		return endRevoked, status.Error(codes.PermissionDenied, fleet.ErrRevoked.Error())
	case errors.Is(cause, errSend):
		logger.DebugContext(ctx, "stream closed", "err", cause)
		return endSendFailed, status.Error(codes.Unavailable, cause.Error())
	case errors.Is(cause, context.Canceled), errors.Is(cause, context.DeadlineExceeded):
		return endDisconnected, status.FromContextError(cause).Err()
	}
	logger.ErrorContext(ctx, "stream closed", "err", cause)
	return endCommitFailed, status.Error(codes.Unavailable, "controller could not commit reports; retry later")
}

// endReason says why a stream ended; Ends counts them.
type endReason int

const (
	endDisconnected endReason = iota // the agent closed it
	endStreamError                   // the connection broke
	endProtocol                      // a malformed or out-of-order message
	endRefused                       // no identity, unknown, revoked or superseded at admission
	endHelloTimeout
	endStoreFailed
	endRevoked
	endReplaced
	endShutdown
	endSendFailed
	endCommitFailed
	numEndReasons
)

var endNames = [numEndReasons]string{"disconnected", "stream_error", "protocol", "refused", "hello_timeout", "store_failed",
	"revoked", "replaced", "shutdown", "send_failed", "commit_failed"}

// Ends counts the streams that ended, by reason, since the server started
// (for the debug listener's /debug/vars).
func (s *Server) Ends() map[string]uint64 {
	out := make(map[string]uint64, numEndReasons)
	for i := range s.ends {
		out[endNames[i]] = s.ends[i].Load()
	}
	return out
}
