// Package rescan matches on-demand scan requests with the results that
// answer them. RescanAgent registers a request, the agent answers with
// reports carrying the request id, and the ingest writer, after committing
// them, calls Observe, which wakes the waiting call once every requested
// kind has arrived.
package rescan

import (
	"crypto/rand"
	"encoding/hex"
	"sync"

	"github.com/vigil-rmm/vigil/controller/internal/ingest"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// Kinds are the kinds an empty request means.
var Kinds = []agentv1.StateKind{agentv1.StateKind_STATE_KIND_PATCHES, agentv1.StateKind_STATE_KIND_REBOOT,
	agentv1.StateKind_STATE_KIND_INVENTORY}

// Registry holds the requests being waited for.
type Registry struct {
	mu    sync.Mutex
	waits map[string]*Wait
}

// Wait is one request being waited for.
type Wait struct {
	// ID is the request id sent to the agent.
	ID      string
	agentID string
	done    chan struct{}

	mu        sync.Mutex
	remaining map[agentv1.StateKind]bool
}

// New returns an empty registry.
func New() *Registry { return &Registry{waits: map[string]*Wait{}} }

// NewID returns a fresh request id. It is short because it travels in
// every answer; a request is matched with its agent too, so 48 random bits
// are plenty.
func NewID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "r" + hex.EncodeToString(b)
}

// Start registers a request for kinds (empty means Kinds) of agentID.
// Call Stop when done waiting.
func (r *Registry) Start(agentID string, kinds []agentv1.StateKind) *Wait {
	if len(kinds) == 0 {
		kinds = Kinds
	}
	w := &Wait{ID: NewID(), agentID: agentID, done: make(chan struct{}), remaining: map[agentv1.StateKind]bool{}}
	for _, k := range kinds {
		w.remaining[k] = true
	}
	r.mu.Lock()
	r.waits[w.ID] = w
	r.mu.Unlock()
	return w
}

// Stop forgets w.
func (r *Registry) Stop(w *Wait) {
	r.mu.Lock()
	delete(r.waits, w.ID)
	r.mu.Unlock()
}

// Done is closed once every requested kind's result is committed.
func (w *Wait) Done() <-chan struct{} { return w.done }

// Observe takes the state reports a commit applied. A report answers a
// request only if it comes from the agent the request went to and was
// applied: a digest that did not match the stored state (the agent is
// then asked for the full state, under the same request id) or a replay
// answers nothing.
func (r *Registry) Observe(applied []ingest.Applied) {
	for _, a := range applied {
		if a.RequestID == "" || !a.Applied {
			continue
		}
		r.mu.Lock()
		w := r.waits[a.RequestID]
		r.mu.Unlock()
		if w == nil || w.agentID != a.AgentID {
			continue
		}
		w.mu.Lock()
		if len(w.remaining) > 0 {
			delete(w.remaining, a.Kind)
			if len(w.remaining) == 0 {
				close(w.done)
			}
		}
		w.mu.Unlock()
	}
}

// Len returns the number of requests being waited for.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.waits)
}
