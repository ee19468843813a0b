package alerting_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/alerting"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// putAlertRecords stores n records of tenant, ids al-<prefix><n>, that
// started at start and ended at end (open when end is zero).
func (r *alertRig) putAlertRecords(tenant, prefix string, n int, start, end time.Time) {
	r.t.Helper()
	r.update(func(tx store.Tx) error {
		for i := range n {
			rec := &storev1.AlertRecord{Id: fmt.Sprintf("al-%s%05d", prefix, i), Tenant: tenant, Rule: "hot", Agent: rigAgent,
				StartUnixMs: start.UnixMilli()}
			if !end.IsZero() {
				rec.EndUnixMs = end.UnixMilli()
			}
			if err := schema.PutAlertRecord(tx, rec); err != nil {
				return err
			}
		}
		return nil
	})
}

// countAlertRecords counts tenant's records whose id starts with
// al-<prefix>.
func (r *alertRig) countAlertRecords(tenant, prefix string) int {
	r.t.Helper()
	n := 0
	r.view(func(tx store.Tx) error {
		return schema.VisitAlertRecords(tx, tenant, func(rec *storev1.AlertRecord) error {
			if strings.HasPrefix(rec.GetId(), "al-"+prefix) {
				n++
			}
			return nil
		})
	})
	return n
}

// TestPruneAlertRecords: records closed more than the retention (400
// days by default) ago are deleted, in several transactions when there
// are more than PruneBatch of them, in every tenant; recent ones and open
// ones, however old, stay.
func TestPruneAlertRecords(t *testing.T) {
	r := newAlertRig(t, t0)
	r.update(func(tx store.Tx) error { return schema.PutTenant(tx, &storev1.Tenant{Id: "beta", Timezone: "UTC"}) })
	old := t0.Add(-alerting.DefaultRetention - time.Hour)
	expired := alerting.PruneBatch*2 + 17
	r.putAlertRecords("acme", "old", expired, old.Add(-time.Hour), old)
	r.putAlertRecords("beta", "old", 5, old.Add(-time.Hour), old)
	r.putAlertRecords("acme", "new", 7, t0.Add(-48*time.Hour), t0.Add(-time.Hour))
	r.putAlertRecords("acme", "open", 3, old.Add(-24*time.Hour), time.Time{})

	n, err := r.eng.Prune(context.Background())
	if err != nil || n != expired+5 {
		t.Fatalf("Prune = %d, %v; want %d", n, err, expired+5)
	}
	for _, c := range []struct {
		tenant, prefix string
		want           int
	}{{"acme", "old", 0}, {"beta", "old", 0}, {"acme", "new", 7}, {"acme", "open", 3}} {
		if got := r.countAlertRecords(c.tenant, c.prefix); got != c.want {
			t.Errorf("%s %s records: %d, want %d", c.tenant, c.prefix, got, c.want)
		}
	}
	if n, err := r.eng.Prune(context.Background()); err != nil || n != 0 {
		t.Errorf("second Prune = %d, %v; want nothing left to delete", n, err)
	}
}

// TestRunPrunesAlertRecords: Run deletes expired records after its first
// evaluation, with the configured retention.
func TestRunPrunesAlertRecords(t *testing.T) {
	r := newAlertRig(t, t0)
	r.putAlertRecords("acme", "month", 4, t0.Add(-40*24*time.Hour), t0.Add(-31*24*time.Hour))
	r.putAlertRecords("acme", "week", 2, t0.Add(-8*24*time.Hour), t0.Add(-7*24*time.Hour))
	eng := alerting.New(alerting.Config{Store: r.st, Metrics: r.mdb, Presence: r.presence, Now: r.clock, Retention: 30 * 24 * time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); eng.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for r.countAlertRecords("acme", "month") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not delete the records closed 31 days ago")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := r.countAlertRecords("acme", "week"); got != 2 {
		t.Errorf("records closed a week ago: %d, want 2", got)
	}
}
