package rescan

import (
	"testing"

	"github.com/vigil-rmm/vigil/controller/internal/ingest"
	"github.com/vigil-rmm/vigil/controller/internal/patch"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

func applied(agent, id string, k agentv1.StateKind) ingest.Applied {
	return ingest.Applied{AgentID: agent, Outcome: patch.Outcome{Kind: k, Applied: true, RequestID: id}}
}

func closed(w *Wait) bool {
	select {
	case <-w.Done():
		return true
	default:
		return false
	}
}

func TestWaitForEveryKind(t *testing.T) {
	r := New()
	w := r.Start("a1", []agentv1.StateKind{agentv1.StateKind_STATE_KIND_PATCHES, agentv1.StateKind_STATE_KIND_REBOOT})
	defer r.Stop(w)
	r.Observe([]ingest.Applied{
		applied("a1", w.ID, agentv1.StateKind_STATE_KIND_PATCHES),
		applied("a2", w.ID, agentv1.StateKind_STATE_KIND_REBOOT), // another agent cannot answer
		applied("a1", "other", agentv1.StateKind_STATE_KIND_REBOOT),
	})
	if closed(w) {
		t.Fatal("done before the reboot state of a1 arrived")
	}
	r.Observe([]ingest.Applied{applied("a1", w.ID, agentv1.StateKind_STATE_KIND_REBOOT)})
	if !closed(w) {
		t.Fatal("not done after every kind arrived")
	}
	// A late duplicate must not close the channel twice.
	r.Observe([]ingest.Applied{applied("a1", w.ID, agentv1.StateKind_STATE_KIND_REBOOT)})
}

func TestEmptyMeansEveryKindAndStopForgets(t *testing.T) {
	r := New()
	w := r.Start("a1", nil)
	for _, k := range Kinds[:len(Kinds)-1] {
		r.Observe([]ingest.Applied{applied("a1", w.ID, k)})
	}
	if closed(w) {
		t.Fatal("done with one kind missing")
	}
	r.Stop(w)
	if r.Len() != 0 {
		t.Fatalf("%d waits left after Stop", r.Len())
	}
	r.Observe([]ingest.Applied{applied("a1", w.ID, Kinds[len(Kinds)-1])})
	if closed(w) {
		t.Fatal("a stopped wait was still observed")
	}
}

func TestUnappliedAnswersNothing(t *testing.T) {
	r := New()
	w := r.Start("a1", []agentv1.StateKind{agentv1.StateKind_STATE_KIND_PATCHES})
	defer r.Stop(w)
	mismatch := applied("a1", w.ID, agentv1.StateKind_STATE_KIND_PATCHES)
	mismatch.Applied, mismatch.NeedFull = false, true
	r.Observe([]ingest.Applied{mismatch})
	if closed(w) {
		t.Fatal("a digest that did not match the stored state ended the wait")
	}
	r.Observe([]ingest.Applied{applied("a1", w.ID, agentv1.StateKind_STATE_KIND_PATCHES)})
	if !closed(w) {
		t.Fatal("the full state did not end the wait")
	}
}
