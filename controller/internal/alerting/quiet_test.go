package alerting_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/alerting"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
)

// TestQuietStatesAreCheckpointed: a state with nothing under way is not
// rewritten at every evaluation, only every QuietCheckpoint, and the
// evaluations it skipped change nothing: a breach that follows still fires
// at the sample it would have, and a restart in between does not notify.
func TestQuietStatesAreCheckpointed(t *testing.T) {
	r := newAlertRig(t, t0)
	r.rule(cpuRule("hot", 90, 3*time.Minute))
	stored := func() time.Time {
		var last int64
		r.view(func(tx store.Tx) error {
			sts, err := schema.ListAlertStates(tx, "acme", "hot", rigAgent)
			for _, s := range sts {
				last = s.GetLastUnixMs()
			}
			return err
		})
		return time.UnixMilli(last).UTC()
	}
	r.step(0, 10)
	first := stored()
	if first.IsZero() {
		t.Fatal("a new state was not written")
	}
	for i := 1; i < 9; i++ {
		r.step(time.Minute, 10)
		if got := stored(); !got.Equal(first) {
			t.Fatalf("quiet state rewritten after %d minutes (stored %s, first %s)", i, got, first)
		}
	}
	r.restart()
	for i := 9; i <= 10; i++ {
		r.step(time.Minute, 10)
	}
	if got := stored(); !got.After(first) || got.Sub(first) < alerting.QuietCheckpoint {
		t.Fatalf("quiet state not checkpointed after %s: stored %s, first %s", alerting.QuietCheckpoint, got, first)
	}
	// The breach starts at 11m; "for 3m" holds at 14m and a second
	// agreeing evaluation fires at 15m, as with every state written.
	for i := 11; i <= 14; i++ {
		r.step(time.Minute, 95)
	}
	if n := len(r.notifications()); n != 0 {
		t.Fatalf("notified early: %v", r.kinds(t0))
	}
	r.step(time.Minute, 95)
	if got := r.kinds(t0); !equalStrings(got, []string{"firing@15m0s"}) {
		t.Fatalf("after the breach: %v", got)
	}
}

// countingStore counts write transactions.
type countingStore struct {
	store.Store
	mu      sync.Mutex
	updates int
}

func (c *countingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	c.mu.Lock()
	c.updates++
	c.mu.Unlock()
	return c.Store.Update(ctx, fn)
}

// TestQuietMinuteWritesNothing: once every state is quiet and
// checkpointed, an evaluation opens no write transaction at all, so ingest
// never waits behind it; a breach still fires.
func TestQuietMinuteWritesNothing(t *testing.T) {
	r := newAlertRig(t, t0)
	r.rule(cpuRule("hot", 90, 0))
	cs := &countingStore{Store: r.st}
	r.eng = alerting.New(alerting.Config{Store: cs, Metrics: r.mdb, Presence: r.presence, Now: r.clock, Wake: func() { r.wakes++ }})
	r.step(0, 10) // new states: written
	before := cs.updates
	r.step(time.Minute, 10)
	r.step(time.Minute, 10)
	if n := cs.updates - before; n != 0 {
		t.Fatalf("two quiet evaluations opened %d write transactions, want 0", n)
	}
	r.step(time.Minute, 95)
	r.step(time.Minute, 95)
	if got := r.kinds(t0); !equalStrings(got, []string{"firing@4m0s"}) {
		t.Fatalf("after the breach: %v", got)
	}
	if cs.updates == before {
		t.Fatal("the firing evaluation wrote nothing")
	}
}
