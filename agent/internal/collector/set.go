package collector

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/agent/internal/collector/sample"
)

// Set runs the enabled collectors. It is safe for concurrent use.
type Set struct {
	logger  *slog.Logger
	members []*member
}

// member is one collector in a Set.
type member struct {
	name    string
	c       Collector
	timeout time.Duration
	// running is set while a Collect of this collector is in flight,
	// including one the Set stopped waiting for.
	running atomic.Bool
}

// New validates cfg and returns a Set of the enabled collectors, built from
// the registry. A nil logger discards.
func New(cfg Config, logger *slog.Logger) (*Set, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var members []*member
	for _, name := range slices.Sorted(maps.Keys(registry)) {
		e := registry[name](cfg)
		if !e.enabled {
			continue
		}
		members = append(members, &member{name: name, c: e.build(), timeout: e.timeout})
	}
	return newSet(members, logger), nil
}

// newSet returns a Set of the given members, in order. Tests use it to run
// fake collectors.
func newSet(members []*member, logger *slog.Logger) *Set {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Set{logger: logger.With("component", "collector"), members: members}
}

// Names returns the names of the collectors the Set runs, sorted.
func (s *Set) Names() []string {
	names := make([]string, len(s.members))
	for i, m := range s.members {
		names[i] = m.name
	}
	return names
}

// Collect runs every collector concurrently, each under its own timeout
// (and ctx), and returns the merged Sample with one *Error per collector
// that failed. A collector that fails returns its partial figures; one that
// times out or panics contributes nothing. The Sample and its Metrics and
// Facts are never nil.
//
// A collector that ignores its context and overruns its timeout is left to
// finish on its own (no system call can be taken back); until it returns it
// is skipped with ErrBusy, so at most one run per collector is ever in flight.
func (s *Set) Collect(ctx context.Context) (*Sample, []error) {
	runs := make([]*run, len(s.members))
	for i, m := range s.members {
		runs[i] = s.start(ctx, m)
	}
	out := sample.New()
	var errs []error
	for _, r := range runs {
		part, err := r.wait()
		if part != nil {
			proto.Merge(out.Metrics, part.Metrics)
			proto.Merge(out.Facts, part.Facts)
		}
		if err != nil {
			errs = append(errs, &Error{Collector: r.m.name, Err: err})
		}
	}
	return out, errs
}

// run is one collector's run in one round.
type run struct {
	m      *member
	ctx    context.Context
	cancel context.CancelFunc
	done   chan result // nil when the run was skipped
	err    error       // why it was skipped
	// late is set when the Set stopped waiting, so that the run logs when
	// it finally returns.
	late atomic.Bool
}

type result struct {
	part *Sample
	err  error
}

// start launches m's Collect in its own goroutine, unless the previous one
// is still in flight.
func (s *Set) start(ctx context.Context, m *member) *run {
	if !m.running.CompareAndSwap(false, true) {
		return &run{m: m, err: ErrBusy}
	}
	cause := fmt.Errorf("%w after %s", ErrTimeout, m.timeout)
	rctx, cancel := context.WithTimeoutCause(ctx, m.timeout, cause)
	r := &run{m: m, ctx: rctx, cancel: cancel, done: make(chan result, 1)}
	began := time.Now()
	go func() {
		part := sample.New()
		err := s.safeCollect(rctx, m, part)
		took := time.Since(began)
		if r.late.Load() {
			s.logger.WarnContext(rctx, "collector returned after its timeout",
				"collector", m.name, "took", took, "timeout", m.timeout)
		} else {
			s.logger.DebugContext(rctx, "collected", "collector", m.name, "took", took)
		}
		// Clear running before handing over the result: the next round may
		// start as soon as the caller has it.
		m.running.Store(false)
		r.done <- result{part: part, err: err} // buffered: never blocks
	}()
	return r
}

// wait returns the run's figures and error, or gives up when its context
// ends.
func (r *run) wait() (*Sample, error) {
	if r.done == nil {
		return nil, r.err
	}
	defer r.cancel()
	select {
	case res := <-r.done:
		return res.part, res.err
	case <-r.ctx.Done():
	}
	select {
	case res := <-r.done: // returned just as time ran out
		return res.part, res.err
	default:
	}
	r.late.Store(true)
	return nil, context.Cause(r.ctx)
}

// safeCollect calls Collect, turning a panic into ErrPanic (and dropping
// the partial figures) instead of crashing the agent.
func (s *Set) safeCollect(ctx context.Context, m *member, part *Sample) (err error) {
	defer func() {
		if v := recover(); v != nil {
			s.logger.ErrorContext(ctx, "collector panicked", "collector", m.name,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			*part = *sample.New()
			err = fmt.Errorf("%w: %v", ErrPanic, v)
		}
	}()
	return m.c.Collect(ctx, part)
}
