// Package agentprobe runs network checks on agents: it sends a CheckRun down
// an agent's stream and waits for the matching CheckRunResult report. The
// checker uses it for checks whose vantage point is an agent inside a
// client's network.
//
// A run is matched by its run id (16 random bytes, hex) and the agent it
// went to; a result for a run nobody waits for any more (it timed out, the
// controller restarted) is ignored. Results arrive through the agent's
// outbox like every report, so ingest commits and acknowledges them and
// then hands them to Observe; ingest does not hand on results older than
// ingest.StaleCheckResult.
package agentprobe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/controller/internal/fleet"
	"github.com/vigil-rmm/vigil/controller/internal/ingest"
	"github.com/vigil-rmm/vigil/internal/limits"
	"github.com/vigil-rmm/vigil/internal/netcheck"
	"github.com/vigil-rmm/vigil/internal/version"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// Errors returned by Probe, wrapped with detail.
var (
	// ErrOffline means the agent has no open stream.
	ErrOffline = errors.New("agent offline")
	// ErrUnsupported means the agent did not announce the checks
	// capability (an older agent, or vantage checks disabled in its
	// config).
	ErrUnsupported = errors.New("agent does not run checks")
	// ErrNoAnswer means the agent took the request but no result came
	// back within the spec's timeout and Margin (the agent went away, or
	// its outbox is backed up). It says nothing about the target.
	ErrNoAnswer = errors.New("no result from the agent in time")
	// ErrInvalidSpec means the spec would be refused by any agent.
	ErrInvalidSpec = errors.New("invalid check spec")
)

// Margin is added to a spec's timeout for the wait on the agent: the
// request's and the answer's trips, a wait for a free slot on the agent
// (at most 5 s), the outbox and the ingest commit.
const Margin = 15 * time.Second

// Sender is what the registry needs from the fleet.
type Sender interface {
	Send(agentID, capability string, m *agentv1.ControllerMessage) error
}

var _ Sender = (*fleet.Fleet)(nil)

// Registry matches check runs sent to agents with their results.
type Registry struct {
	fleet  Sender
	logger *slog.Logger
	margin time.Duration

	mu   sync.Mutex
	runs map[string]*run
}

// run is one run being waited for.
type run struct {
	agentID string
	result  chan *agentv1.CheckRunResult // buffered 1; written once
}

// New returns a registry sending through f.
func New(f *fleet.Fleet, logger *slog.Logger) *Registry {
	return &Registry{fleet: f, logger: logger.With("component", "agentprobe"), margin: Margin, runs: map[string]*run{}}
}

// newRunID returns 16 random bytes as hex: a result cannot be forged for
// a run its agent was not asked to do.
func newRunID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24)
	return hex.EncodeToString(b)
}

// Probe runs spec on the agent and waits for its result, at most the
// spec's timeout plus Margin (or until ctx ends). An offline agent
// (ErrOffline) or one that does not run checks (ErrUnsupported) fails at
// once. A run the agent refused comes back as a result: status ERR,
// refused_reason set. The result is cleaned (limits.CleanCheckResult);
// netcheck.FromRunResult turns it into a netcheck.Result.
func (r *Registry) Probe(ctx context.Context, agentID, checkID string, spec *agentv1.CheckSpec) (*agentv1.CheckRunResult, error) {
	if _, err := netcheck.FromSpec(spec); err != nil {
		return nil, fmt.Errorf("agentprobe: %w: %w", ErrInvalidSpec, err)
	}
	id := newRunID()
	w := &run{agentID: agentID, result: make(chan *agentv1.CheckRunResult, 1)}
	// Registered before the send, so a quick answer finds it.
	r.mu.Lock()
	r.runs[id] = w
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.runs, id)
		r.mu.Unlock()
	}()
	msg := &agentv1.ControllerMessage{Msg: &agentv1.ControllerMessage_Check{Check: &agentv1.CheckRun{
		RunId: id, CheckId: checkID, Spec: spec}}}
	switch err := r.fleet.Send(agentID, version.CapChecks, msg); {
	case errors.Is(err, fleet.ErrOffline):
		return nil, fmt.Errorf("agentprobe: agent %s: %w", agentID, ErrOffline)
	case errors.Is(err, fleet.ErrUnsupported):
		return nil, fmt.Errorf("agentprobe: agent %s: %w (upgrade it, or set checks.vantage in its config)", agentID, ErrUnsupported)
	case err != nil:
		return nil, fmt.Errorf("agentprobe: agent %s: %w", agentID, err)
	}
	wait := netcheck.SpecTimeout(spec) + r.margin
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case res := <-w.result:
		return res, nil
	case <-t.C:
		return nil, fmt.Errorf("agentprobe: agent %s, check %s: %w (waited %s)", agentID, checkID, ErrNoAnswer, wait)
	case <-ctx.Done():
		return nil, fmt.Errorf("agentprobe: agent %s, check %s: %w", agentID, checkID, context.Cause(ctx))
	}
}

// Observe receives the reports ingest committed; it must not block. It
// hands each check result to the run waiting for it, if the result comes
// from the agent the run went to.
func (r *Registry) Observe(applied []ingest.Applied) {
	for _, a := range applied {
		if a.Check == nil {
			continue
		}
		id := a.Check.GetRunId()
		r.mu.Lock()
		w := r.runs[id]
		if w != nil && w.agentID == a.AgentID {
			delete(r.runs, id) // one answer per run
		} else {
			w = nil
		}
		r.mu.Unlock()
		if w == nil {
			r.logger.Debug("check result for no waiting run ignored", "agent_id", a.AgentID,
				"run_id", limits.CleanString(id, limits.MaxCheckRunID))
			continue
		}
		res := proto.Clone(a.Check).(*agentv1.CheckRunResult)
		limits.CleanCheckResult(res)
		w.result <- res // buffered, and the run was removed: never blocks
	}
}

// Waiting returns the number of runs being waited for.
func (r *Registry) Waiting() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.runs)
}
