package alert_test

import (
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/alert"
)

// TestQuietHoldsFiring: a quiet target (under maintenance) fires without a
// notice; the notice goes out at the first Tick after it stops being
// quiet, and carries the AlertID computed from the state.
func TestQuietHoldsFiring(t *testing.T) {
	start := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	end := start.Add(30 * time.Minute)
	now := start
	r := alert.Rule{ID: "away", Tenant: "acme", Kind: alert.KindOffline, Enabled: true, Consecutive: 1,
		Offline: &alert.OfflineParams{After: 10 * time.Minute}}
	ev, err := alert.New(r, alert.Options{Now: func() time.Time { return now },
		Quiet: func(t alert.Target, at time.Time) bool { return t.Agent == "ag-1" && at.Before(end) }})
	if err != nil {
		t.Fatal(err)
	}
	st := &alert.State{}
	tgt := alert.Target{Agent: "ag-1", Host: "web-01"}
	for ; now.Before(end); now = now.Add(5 * time.Minute) {
		o, _ := ev.Offline(tgt, start.Add(-time.Hour), now)
		if ns := ev.Observe(st, o); len(ns) != 0 {
			t.Fatalf("notice while quiet at %s: %v", now, ns)
		}
	}
	if !st.Firing || !st.Notified.IsZero() {
		t.Fatalf("state after the quiet period: %+v", st)
	}
	ns := ev.Tick(st)
	if len(ns) != 1 || ns[0].Kind != alert.NoticeFiring || !ns[0].At.Equal(end) {
		t.Fatalf("notices at the end: %+v", ns)
	}
	if id := alert.AlertID("acme", "away", tgt, st.Incident, st.Since); id != ns[0].AlertID {
		t.Fatalf("AlertID %s, notice %s", id, ns[0].AlertID)
	}
	if got := ev.Summary(st); got != ns[0].Summary {
		t.Fatalf("Summary %q, notice %q", got, ns[0].Summary)
	}
}
