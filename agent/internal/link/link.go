// Package link keeps the agent's one stream to the controller. Each session
// dials (TLS 1.3 with a session cache, so reconnects resume), opens Connect,
// sends Hello, waits for Welcome, drops what the controller already
// committed from the outbox, and then streams pending reports in order with
// a bounded number in flight. Acks delete reports from the outbox.
//
// Between sessions it waits with full-jitter exponential backoff
// (delay = rand(0, min(max, base*2^attempt))), never less than a GoAway
// hint from the controller. Presence is the open stream: there is no
// heartbeat message, only gRPC keepalive pings, whose interval matches the
// controller's enforcement policy.
package link

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/internal/limits"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// Outbox is what the link needs from the agent's outbox.
type Outbox interface {
	Pending(ctx context.Context, after uint64, limit int) ([]*agentv1.Report, error)
	Ack(ctx context.Context, seq uint64) error
	Resume(ctx context.Context, committed uint64) error
	Notify() <-chan struct{}
}

// Keepalive matches the controller's enforcement policy (MinTime 20s):
// pinging every 60s is well above it.
var Keepalive = keepalive.ClientParameters{Time: 60 * time.Second, Timeout: 20 * time.Second}

// Config wires a link.
type Config struct {
	Address     string
	TLS         *tls.Config
	Outbox      Outbox
	Hello       func() *agentv1.Hello
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// MaxInFlight bounds reports sent but not acknowledged.
	MaxInFlight int
	// WelcomeTimeout bounds the wait for Welcome.
	WelcomeTimeout time.Duration
	// ConnectTimeout bounds one TCP and TLS connection attempt. It is
	// shorter than the kernel's later SYN retransmissions (15 s, 31 s) so
	// that, when an overloaded controller drops SYNs, the agent's jittered
	// backoff decides when it retries, not the kernel's synchronized timers.
	ConnectTimeout time.Duration
	Logger         *slog.Logger
	// DialOptions are added to the link's own (tests, the simulator).
	DialOptions []grpc.DialOption
	// OnState, if set, is called when a session is established (true) and
	// when it ends (false).
	OnState func(connected bool)
	// OnScan, if set, receives the controller's scan requests. It must not
	// block. Without it the agent must not announce "scan-request".
	OnScan func(*agentv1.ScanRequest)
	// OnTask, if set, receives task offers; OnCancel task cancellations.
	// Neither may block. Without OnTask the agent must not announce
	// "tasks".
	OnTask   func(*agentv1.TaskOffer)
	OnCancel func(*agentv1.TaskCancel)
	// OnCheck, if set, receives requests to run a network check. It must
	// not block. Without it the agent must not announce "checks".
	OnCheck func(*agentv1.CheckRun)
}

// Status is the link's state for `vigil-agent status`.
type Status struct {
	Connected     bool      `json:"connected"`
	Since         time.Time `json:"since,omitzero"`
	LastError     string    `json:"last_error,omitempty"`
	LastErrorAt   time.Time `json:"last_error_at,omitzero"`
	Reconnects    int64     `json:"reconnects"`
	AckedSeq      uint64    `json:"acked_seq"`
	SentSeq       uint64    `json:"sent_seq"`
	NextAttemptIn string    `json:"next_attempt_in,omitempty"`
}

// Link is the agent's connection manager.
type Link struct {
	cfg    Config
	logger *slog.Logger

	mu     sync.Mutex
	status Status
}

// New returns a link; call Run.
func New(cfg Config) *Link {
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = time.Second
	}
	if cfg.BackoffMax < cfg.BackoffBase {
		cfg.BackoffMax = 5 * time.Minute
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 256
	}
	if cfg.WelcomeTimeout <= 0 {
		cfg.WelcomeTimeout = 30 * time.Second
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	return &Link{cfg: cfg, logger: cfg.Logger.With("component", "link")}
}

// Status returns a snapshot of the link's state.
func (l *Link) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

func (l *Link) update(f func(*Status)) {
	l.mu.Lock()
	f(&l.status)
	l.mu.Unlock()
}

// Backoff returns the full-jitter delay for attempt (0-based).
func Backoff(base, max time.Duration, attempt int, r *rand.Rand) time.Duration {
	ceil := max
	if attempt < 30 {
		if d := base << uint(attempt); d > 0 && d < max {
			ceil = d
		}
	}
	return time.Duration(r.Int64N(int64(ceil) + 1))
}

// errGoAway carries the controller's retry hint.
type errGoAway struct {
	reason string
	after  time.Duration
}

func (e *errGoAway) Error() string { return "controller asked to reconnect later: " + e.reason }

// Run keeps a session open until ctx ends.
func (l *Link) Run(ctx context.Context) error {
	r := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	attempt := 0
	for {
		healthy, err := l.session(ctx)
		if ctx.Err() != nil {
			l.update(func(s *Status) { s.Connected = false })
			return nil
		}
		// Only a session that did real work resets the backoff; one that
		// dies right after Welcome (a failing controller, an identity
		// clash) keeps backing off, or a fleet would reconnect in a loop.
		if healthy {
			attempt = 0
		}
		delay := Backoff(l.cfg.BackoffBase, l.cfg.BackoffMax, attempt, r)
		var ga *errGoAway
		switch {
		case errors.As(err, &ga):
			// Spread the whole fleet over [after, 2*after] so a restarted
			// controller is not hit by every agent in the same second.
			delay = ga.after + time.Duration(r.Int64N(int64(max(ga.after, l.cfg.BackoffBase))+1))
		case status.Code(err) == codes.PermissionDenied:
			// Revoked: keep knocking, slowly, so re-enrollment is noticed.
			delay = l.cfg.BackoffMax
			l.logger.ErrorContext(ctx, "controller refused this agent; re-enroll it", "err", err)
		case status.Code(err) == codes.Aborted:
			l.logger.ErrorContext(ctx, "another connection with this agent's identity replaced ours; "+
				"is a copy of this state directory (a cloned VM?) running elsewhere? re-enroll one of them", "err", err)
		}
		l.update(func(s *Status) {
			s.Connected = false
			s.LastError = fmt.Sprint(err)
			s.LastErrorAt = time.Now().UTC()
			s.Reconnects++
			s.NextAttemptIn = delay.Round(time.Millisecond).String()
		})
		l.logger.WarnContext(ctx, "link down", "err", err, "retry_in", delay.Round(time.Millisecond).String(), "attempt", attempt)
		attempt++
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// HealthyAfter is how long a session must last, if no ack arrived, to count
// as healthy and reset the reconnect backoff.
const HealthyAfter = time.Minute

// session runs one stream; healthy reports whether it did real work: an
// ack arrived, or it stayed up for HealthyAfter.
func (l *Link) session(ctx context.Context) (healthy bool, err error) {
	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(credentials.NewTLS(l.cfg.TLS)),
		grpc.WithKeepaliveParams(Keepalive),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.DefaultConfig, MinConnectTimeout: l.cfg.ConnectTimeout}),
		grpc.WithReadBufferSize(4 << 10),
		// 1 KiB writes make TLS records of at most 1 KiB: the controller's
		// TLS layer keeps a read buffer sized by the largest record it has
		// seen, for the connection's life, and a state report sent in 4 KiB
		// records grew it to 9 KiB per agent (heap profile).
		grpc.WithWriteBufferSize(1 << 10),
		grpc.WithStaticStreamWindowSize(64 << 10),
		grpc.WithStaticConnWindowSize(64 << 10),
		// Offers carry signed tasks (a script may be 128 KiB).
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(limits.MaxMessage)),
	}, l.cfg.DialOptions...)
	conn, err := grpc.NewClient("passthrough:///"+l.cfg.Address, opts...)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stream, err := agentv1.NewAgentServiceClient(conn).Connect(sctx)
	if err != nil {
		return false, err
	}
	if err := stream.Send(&agentv1.AgentMessage{Msg: &agentv1.AgentMessage_Hello{Hello: l.cfg.Hello()}}); err != nil {
		return false, recvStatus(stream, err)
	}
	welcome, err := l.awaitWelcome(sctx, stream)
	if err != nil {
		return false, err
	}
	committed := welcome.GetCommittedSeq()
	if err := l.cfg.Outbox.Resume(ctx, committed); err != nil {
		return false, fmt.Errorf("outbox resume: %w", err)
	}
	l.update(func(s *Status) {
		s.Connected, s.Since, s.AckedSeq, s.SentSeq, s.NextAttemptIn = true, time.Now().UTC(), committed, committed, ""
	})
	if l.cfg.OnState != nil {
		l.cfg.OnState(true)
		defer l.cfg.OnState(false)
	}
	l.logger.InfoContext(ctx, "connected", "protocol", welcome.GetProtocolVersion(),
		"committed_seq", committed)

	var acked atomic.Uint64
	acked.Store(committed)
	ackCh := make(chan struct{}, 1)
	recvDone := make(chan error, 1)
	go func() { recvDone <- l.recvLoop(sctx, stream, &acked, ackCh) }()

	began := time.Now()
	sendErr := l.sendLoop(sctx, stream, committed, &acked, ackCh, recvDone)
	healthy = acked.Load() > committed || time.Since(began) >= HealthyAfter
	var re *recvEnded
	if errors.As(sendErr, &re) {
		return healthy, re.err
	}
	cancel(sendErr)
	rerr := <-recvDone
	if errors.Is(sendErr, errRecvEnded) {
		return healthy, rerr
	}
	return healthy, sendErr
}

var errRecvEnded = errors.New("receive side ended")

func (l *Link) awaitWelcome(ctx context.Context, stream agentv1.AgentService_ConnectClient) (*agentv1.Welcome, error) {
	type res struct {
		m   *agentv1.ControllerMessage
		err error
	}
	ch := make(chan res, 1)
	go func() { m, err := stream.Recv(); ch <- res{m, err} }()
	t := time.NewTimer(l.cfg.WelcomeTimeout)
	defer t.Stop()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, r.err
		}
		w := r.m.GetWelcome()
		if w == nil {
			return nil, fmt.Errorf("controller sent %T before welcome", r.m.GetMsg())
		}
		return w, nil
	case <-t.C:
		return nil, fmt.Errorf("no welcome within %s", l.cfg.WelcomeTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *Link) recvLoop(ctx context.Context, stream agentv1.AgentService_ConnectClient, acked *atomic.Uint64, ackCh chan<- struct{}) error {
	for {
		m, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("controller closed the stream")
			}
			return err
		}
		switch msg := m.GetMsg().(type) {
		case *agentv1.ControllerMessage_Ack:
			seq := msg.Ack.GetSeq()
			if seq <= acked.Load() {
				continue
			}
			if err := l.cfg.Outbox.Ack(ctx, seq); err != nil {
				return fmt.Errorf("outbox ack: %w", err)
			}
			acked.Store(seq)
			l.update(func(s *Status) { s.AckedSeq = seq })
			select {
			case ackCh <- struct{}{}:
			default:
			}
		case *agentv1.ControllerMessage_Goaway:
			after := time.Duration(msg.Goaway.GetRetryAfterSeconds()) * time.Second
			return &errGoAway{reason: msg.Goaway.GetReason(), after: after}
		case *agentv1.ControllerMessage_Scan:
			if l.cfg.OnScan == nil {
				l.logger.WarnContext(ctx, "scan request ignored: scans are disabled", "request_id", msg.Scan.GetRequestId())
				continue
			}
			l.logger.InfoContext(ctx, "scan requested", "request_id", msg.Scan.GetRequestId(), "kinds", fmt.Sprint(msg.Scan.GetKinds()),
				"full", msg.Scan.GetFull())
			l.cfg.OnScan(msg.Scan)
		case *agentv1.ControllerMessage_Task:
			if l.cfg.OnTask == nil {
				l.logger.WarnContext(ctx, "task offer ignored: this agent runs no tasks")
				continue
			}
			l.cfg.OnTask(msg.Task)
		case *agentv1.ControllerMessage_Cancel:
			if l.cfg.OnCancel == nil {
				continue
			}
			l.logger.InfoContext(ctx, "task cancel requested", "task_id", msg.Cancel.GetTaskId())
			l.cfg.OnCancel(msg.Cancel)
		case *agentv1.ControllerMessage_Check:
			if l.cfg.OnCheck == nil {
				l.logger.WarnContext(ctx, "check run ignored: this agent runs no checks")
				continue
			}
			l.cfg.OnCheck(msg.Check)
		default:
			l.logger.DebugContext(ctx, "ignoring controller message", "type", fmt.Sprintf("%T", msg))
		}
	}
}

func (l *Link) sendLoop(ctx context.Context, stream agentv1.AgentService_ConnectClient, sent uint64,
	acked *atomic.Uint64, ackCh <-chan struct{}, recvDone <-chan error) error {
	notify := l.cfg.Outbox.Notify()
	for {
		room := l.cfg.MaxInFlight - int(sent-min(sent, acked.Load()))
		if room > 0 {
			reports, err := l.cfg.Outbox.Pending(ctx, sent, min(room, 64))
			if err != nil {
				return fmt.Errorf("outbox read: %w", err)
			}
			for _, r := range reports {
				if err := stream.Send(&agentv1.AgentMessage{Msg: &agentv1.AgentMessage_Report{Report: r}}); err != nil {
					return errRecvEnded // the receive side reports the real status
				}
				sent = r.GetSeq()
			}
			if len(reports) > 0 {
				l.update(func(s *Status) { s.SentSeq = sent })
				continue
			}
		}
		select {
		case <-notify:
		case <-ackCh:
		case err := <-recvDone:
			return &recvEnded{err}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

type recvEnded struct{ err error }

func (r *recvEnded) Error() string { return r.err.Error() }
func (r *recvEnded) Unwrap() error { return r.err }

func recvStatus(stream agentv1.AgentService_ConnectClient, sendErr error) error {
	if _, err := stream.Recv(); err != nil {
		return err
	}
	return sendErr
}
