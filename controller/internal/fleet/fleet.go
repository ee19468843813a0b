// Package fleet knows which agents are online. Presence is the open
// Connect stream: an agent is online while its stream is attached here.
// "Last seen" lives in memory and is flushed to the store in one
// transaction per interval, never written per message.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// Flusher persists last-seen times in one batch.
type Flusher interface {
	FlushLastSeen(ctx context.Context, seen map[string]int64) error
}

// Fleet tracks attached streams.
type Fleet struct {
	logger *slog.Logger
	now    func() time.Time

	mu    sync.Mutex
	conns map[string]*conn
	dirty map[string]int64
}

type conn struct {
	cancel   context.CancelCauseFunc
	since    time.Time
	lastSeen atomic.Int64
	caps     []string
	deliver  func(*agentv1.ControllerMessage) bool
}

// outQueue is the capacity of the channel Attach returns. A message
// beyond it is refused with ErrBusy rather than queued without bound.
const outQueue = 4

// New returns an empty fleet.
func New(logger *slog.Logger, now func() time.Time) *Fleet {
	if now == nil {
		now = time.Now
	}
	return &Fleet{logger: logger.With("component", "fleet"), now: now, conns: map[string]*conn{}, dirty: map[string]int64{}}
}

// ErrReplaced is the cause given to a stream displaced by a newer stream of
// the same agent.
var ErrReplaced = replacedError{}

type replacedError struct{}

func (replacedError) Error() string { return "fleet: replaced by a newer connection of the same agent" }

// Attach registers agentID's stream and the capabilities its Hello
// announced. cancel is called with a cause when the stream must close
// (revocation, a newer stream). Messages given to Send arrive on out; the
// stream's sender must forward them. The returned detach function must be
// called when the stream ends.
func (f *Fleet) Attach(agentID string, cancel context.CancelCauseFunc, caps []string) (out <-chan *agentv1.ControllerMessage, detach func()) {
	ch := make(chan *agentv1.ControllerMessage, outQueue)
	return ch, f.AttachFunc(agentID, cancel, caps, func(m *agentv1.ControllerMessage) bool {
		select {
		case ch <- m:
			return true
		default:
			return false
		}
	})
}

// AttachFunc is Attach for a stream that takes messages itself: Send
// calls deliver, which must not block and reports whether it took the
// message (false: ErrBusy).
func (f *Fleet) AttachFunc(agentID string, cancel context.CancelCauseFunc, caps []string, deliver func(*agentv1.ControllerMessage) bool) (detach func()) {
	c := &conn{cancel: cancel, since: f.now(), caps: caps, deliver: deliver}
	c.lastSeen.Store(c.since.Unix())
	f.mu.Lock()
	old := f.conns[agentID]
	f.conns[agentID] = c
	f.dirty[agentID] = c.since.Unix()
	f.mu.Unlock()
	if old != nil {
		old.cancel(ErrReplaced)
	}
	return func() {
		f.mu.Lock()
		if f.conns[agentID] == c {
			delete(f.conns, agentID)
			f.dirty[agentID] = c.lastSeen.Load()
		}
		f.mu.Unlock()
	}
}

// Touch records that a message arrived from agentID.
func (f *Fleet) Touch(agentID string) {
	now := f.now().Unix()
	f.mu.Lock()
	if c := f.conns[agentID]; c != nil {
		c.lastSeen.Store(now)
	}
	f.dirty[agentID] = now
	f.mu.Unlock()
}

// Kick closes agentID's stream, if any, with cause. It reports whether a
// stream was open.
func (f *Fleet) Kick(agentID string, cause error) bool {
	f.mu.Lock()
	c := f.conns[agentID]
	f.mu.Unlock()
	if c == nil {
		return false
	}
	c.cancel(cause)
	return true
}

// Capabilities returns what agentID's open stream announced in Hello, and
// whether it is online.
func (f *Fleet) Capabilities(agentID string) ([]string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.conns[agentID]; c != nil {
		return c.caps, true
	}
	return nil, false
}

// Send queues m for agentID's stream if the agent is online and announced
// capability. It never blocks: ErrOffline, ErrUnsupported or ErrBusy say
// why a message was not queued.
func (f *Fleet) Send(agentID, capability string, m *agentv1.ControllerMessage) error {
	f.mu.Lock()
	c := f.conns[agentID]
	f.mu.Unlock()
	if c == nil {
		return ErrOffline
	}
	if !slices.Contains(c.caps, capability) {
		return fmt.Errorf("%w (%s)", ErrUnsupported, capability)
	}
	if !c.deliver(m) {
		return ErrBusy
	}
	return nil
}

// KickAll closes every stream with cause (used at shutdown).
func (f *Fleet) KickAll(cause error) {
	f.mu.Lock()
	cs := make([]*conn, 0, len(f.conns))
	for _, c := range f.conns {
		cs = append(cs, c)
	}
	f.mu.Unlock()
	for _, c := range cs {
		c.cancel(cause)
	}
}

// Online reports whether agentID holds a stream, and its last-seen time.
func (f *Fleet) Online(agentID string) (bool, int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.conns[agentID]; c != nil {
		return true, c.lastSeen.Load()
	}
	if ts, ok := f.dirty[agentID]; ok {
		return false, ts
	}
	return false, 0
}

// Count returns the number of online agents.
func (f *Fleet) Count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns)
}

// Flush writes the last-seen times changed since the previous flush.
func (f *Fleet) Flush(ctx context.Context, to Flusher) error {
	f.mu.Lock()
	batch := f.dirty
	f.dirty = make(map[string]int64, len(batch))
	f.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	if err := to.FlushLastSeen(ctx, batch); err != nil {
		// Put them back so the next flush retries, unless newer ones arrived.
		f.mu.Lock()
		for k, v := range batch {
			if _, ok := f.dirty[k]; !ok {
				f.dirty[k] = v
			}
		}
		f.mu.Unlock()
		return err
	}
	return nil
}

// Run flushes every interval until ctx ends, then once more with a short
// deadline so shutdown keeps the latest times.
func (f *Fleet) Run(ctx context.Context, to Flusher, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := f.Flush(fctx, to); err != nil {
				f.logger.Warn("final last-seen flush", "err", err)
			}
			cancel()
			return
		case <-t.C:
			if err := f.Flush(ctx, to); err != nil {
				f.logger.Warn("last-seen flush", "err", err)
			}
		}
	}
}

// Causes given to Kick and KickAll, so a stream handler can tell the agent
// why its stream closes.
var (
	// ErrRevoked closes the stream of a revoked agent.
	ErrRevoked = errors.New("fleet: agent revoked; re-enroll it to reconnect")
	// ErrShutdown closes every stream when the controller stops.
	ErrShutdown = errors.New("fleet: controller shutting down")
)

// Send errors.
var (
	// ErrOffline means the agent holds no stream.
	ErrOffline = errors.New("agent is offline")
	// ErrUnsupported means the agent did not announce the capability
	// (an older agent version).
	ErrUnsupported = errors.New("agent does not support this request; upgrade the agent")
	// ErrBusy means requests are already waiting for the agent's stream.
	ErrBusy = errors.New("agent has requests waiting; retry in a moment")
)
