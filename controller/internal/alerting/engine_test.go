package alerting_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/alert"
	"github.com/vigil-rmm/vigil/controller/internal/alerting"
	"github.com/vigil-rmm/vigil/controller/internal/metrics"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

var t0 = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

func cpuRule(id string, threshold float64, forD time.Duration) alert.Rule {
	return alert.Rule{ID: id, Kind: alert.KindMetric,
		Metric: &alert.MetricParams{Metric: alert.MetricCPU, Op: alert.OpAbove, Threshold: threshold, For: forD}}
}

// TestMetricFiresAtTheRightSampleAndRecovers: cpu > 90% for 10m with two
// consecutive evaluations fires at the sample 11 minutes after the first
// breaching one, not before, and recovers at the second clear sample.
func TestMetricFiresAtTheRightSampleAndRecovers(t *testing.T) {
	r := newAlertRig(t, t0)
	r.rule(cpuRule("hot", 90, 10*time.Minute))
	r.step(0, 95)
	for i := 1; i <= 10; i++ {
		r.step(time.Minute, 95)
		if n := len(r.notifications()); n != 0 {
			t.Fatalf("notified after %d minutes: %v", i, r.kinds(t0))
		}
	}
	r.step(time.Minute, 95) // t0+11m
	if got := r.kinds(t0); !equalStrings(got, []string{"firing@11m0s"}) {
		t.Fatalf("after 11 minutes: %v", got)
	}
	n := r.notifications()[0]
	if n.GetSubject() != "FIRING: cpu > 90% for 10m on web-01" || n.GetSummary() != "cpu 95.0% > 90% for 10m on web-01" ||
		n.GetSource() != storev1.NotificationSource_NOTIFICATION_SOURCE_ALERT || n.GetAgent() != rigAgent || n.GetRule() != "hot" {
		t.Fatalf("notification %v", n)
	}
	recs := r.records()
	if len(recs) != 1 || recs[0].GetId() != n.GetAlertId() || !recs[0].GetNotified() || recs[0].GetEndUnixMs() != 0 ||
		recs[0].GetStartUnixMs() != t0.Add(11*time.Minute).UnixMilli() {
		t.Fatalf("records %v", recs)
	}
	r.step(time.Minute, 50) // first clear sample: not yet
	if n := len(r.notifications()); n != 1 {
		t.Fatalf("recovered after one clear sample: %v", r.kinds(t0))
	}
	r.step(time.Minute, 50)
	if got := r.kinds(t0); !equalStrings(got, []string{"firing@11m0s", "resolved@13m0s"}) {
		t.Fatalf("after recovery: %v", got)
	}
	if recs := r.records(); recs[0].GetEndUnixMs() != t0.Add(13*time.Minute).UnixMilli() {
		t.Fatalf("record not closed at recovery: %v", recs[0])
	}
	if r.wakes != 2 {
		t.Fatalf("notifier woken %d times, want 2 (one per evaluation that queued)", r.wakes)
	}
}

// TestSamplesBetweenEvaluationsAllCount: an evaluation reads every sample
// since the last one, so a sparse schedule fires at the same sample.
func TestSamplesBetweenEvaluationsAllCount(t *testing.T) {
	r := newAlertRig(t, t0)
	r.rule(cpuRule("hot", 90, 10*time.Minute))
	for i := 0; i <= 12; i++ {
		r.cpu(95)
		r.now = r.now.Add(time.Minute)
	}
	r.now = r.now.Add(-time.Minute)
	r.eval()
	if got := r.kinds(t0); !equalStrings(got, []string{"firing@11m0s"}) {
		t.Fatalf("one evaluation over 13 samples: %v", got)
	}
}

func TestRepeatsCountedAndPermanent(t *testing.T) {
	cases := []struct {
		name  string
		count int
		want  int
	}{
		{"three repeats", 3, 3},
		{"permanent", 0, 8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newAlertRig(t, t0)
			rule := cpuRule("hot", 90, 0)
			rule.Repeat = alert.Repeat{Interval: 5 * time.Minute, Count: tc.count}
			r.rule(rule)
			r.step(0, 95)
			r.step(time.Minute, 95) // fires
			for i := 0; i < 40; i++ {
				r.step(time.Minute, 95)
			}
			repeats := 0
			for _, n := range r.notifications() {
				if n.GetKind() == "repeat" {
					repeats++
				}
			}
			if repeats != tc.want {
				t.Fatalf("%d repeats, want %d: %v", repeats, tc.want, r.kinds(t0))
			}
		})
	}
}

// TestAckStopsRepeatsNotRecovery acknowledges through the same function
// the API uses.
func TestAckStopsRepeatsNotRecovery(t *testing.T) {
	r := newAlertRig(t, t0)
	rule := cpuRule("hot", 90, 0)
	rule.Repeat = alert.Repeat{Interval: 5 * time.Minute}
	r.rule(rule)
	r.step(0, 95)
	r.step(time.Minute, 95)
	r.step(5*time.Minute, 95) // first repeat
	id := r.records()[0].GetId()
	r.update(func(tx store.Tx) error {
		rec, err := schema.GetAlertRecord(tx, "acme", id)
		if err != nil {
			return err
		}
		return alerting.Ack(tx, rec, "alice", "looking", r.now)
	})
	for i := 0; i < 20; i++ {
		r.step(time.Minute, 95)
	}
	r.step(time.Minute, 10)
	r.step(time.Minute, 10)
	if got := r.kinds(t0); !equalStrings(got, []string{"firing@1m0s", "repeat@6m0s", "resolved@28m0s"}) {
		t.Fatalf("notifications: %v", got)
	}
	rec := r.records()[0]
	if rec.GetAckedBy() != "alice" || rec.GetAckComment() != "looking" || rec.GetAckedUnixMs() != t0.Add(6*time.Minute).UnixMilli() {
		t.Fatalf("record %v", rec)
	}
	// A closed alert cannot be acknowledged.
	err := r.st.Update(context.Background(), func(tx store.Tx) error {
		return alerting.Ack(tx, rec, "bob", "", r.now)
	})
	if err == nil {
		t.Fatal("acknowledged a closed alert")
	}
}

func TestEscalationToSecondContact(t *testing.T) {
	r := newAlertRig(t, t0)
	rule := cpuRule("hot", 90, 0)
	rule.Contacts = []string{"ct-a"}
	rule.Escalation = &alert.Escalation{Contact: "ct-b", After: 30 * time.Minute}
	r.rule(rule)
	r.step(0, 95)
	r.step(time.Minute, 95)
	for i := 0; i < 29; i++ {
		r.step(time.Minute, 95)
	}
	if len(r.notifications()) != 1 {
		t.Fatalf("escalated early: %v", r.kinds(t0))
	}
	r.step(time.Minute, 95) // 30 minutes after the first notice
	ns := r.notifications()
	if got := r.kinds(t0); !equalStrings(got, []string{"firing@1m0s", "escalation@31m0s"}) {
		t.Fatalf("notifications: %v", got)
	}
	if !slices.Equal(ns[0].GetContacts(), []string{"ct-a"}) || !slices.Equal(ns[1].GetContacts(), []string{"ct-b"}) {
		t.Fatalf("contacts: %v then %v", ns[0].GetContacts(), ns[1].GetContacts())
	}
	r.step(time.Minute, 10)
	r.step(time.Minute, 10)
	ns = r.notifications()
	if last := ns[len(ns)-1]; last.GetKind() != "resolved" || !slices.Equal(last.GetContacts(), []string{"ct-a", "ct-b"}) {
		t.Fatalf("recovery %v", last)
	}
}

// TestActivationAcrossDST: a rule active 08:00-18:00 in Europe/Paris, on
// the last Sunday of March 2026 (clocks go forward at 02:00). The agent
// goes offline at 04:45 UTC (06:45 CEST); the alert fires outside the
// window and its notice is held until 08:00 CEST, which is 06:00 UTC that
// day (07:00 UTC the day before).
func TestActivationAcrossDST(t *testing.T) {
	start := time.Date(2026, 3, 29, 4, 30, 0, 0, time.UTC)
	r := newAlertRig(t, start)
	r.rule(alert.Rule{ID: "away", Kind: alert.KindOffline, Offline: &alert.OfflineParams{After: 10 * time.Minute},
		Activation: alert.Activation{TimeZone: "Europe/Paris", Hours: []alert.HourRange{{Start: 8 * 60, End: 18 * 60}}}})
	for r.now.Before(start.Add(2 * time.Hour)) {
		r.step(5*time.Minute, -1)
	}
	recs := r.records()
	if len(recs) != 1 || recs[0].GetStartUnixMs() != time.Date(2026, 3, 29, 4, 50, 0, 0, time.UTC).UnixMilli() {
		t.Fatalf("records %v", recs)
	}
	ns := r.notifications()
	if len(ns) != 1 || ns[0].GetKind() != "firing" || ns[0].GetCreatedUnixMs() != time.Date(2026, 3, 29, 6, 0, 0, 0, time.UTC).UnixMilli() {
		t.Fatalf("want one firing notice at 06:00 UTC (08:00 CEST), got %v", r.kinds(start))
	}
}

// TestOfflineFromLastSeen: the stored last-seen time counts; an open
// stream clears the alert.
func TestOfflineFromLastSeen(t *testing.T) {
	r := newAlertRig(t, t0)
	r.rule(alert.Rule{ID: "away", Kind: alert.KindOffline, Offline: &alert.OfflineParams{After: 10 * time.Minute}})
	r.update(func(tx store.Tx) error {
		return schema.PutAgent(tx, &storev1.Agent{Id: "ag-2", Tenant: "acme", Hostname: "db-01", EnrolledUnix: t0.Unix()})
	})
	r.presence.set("ag-2", true)
	for i := 0; i < 11; i++ {
		r.step(time.Minute, -1)
	}
	if n := len(r.notifications()); n != 0 {
		t.Fatalf("offline after 11m with one evaluation holding: %v", r.kinds(t0))
	}
	r.step(time.Minute, -1)
	ns := r.notifications()
	if len(ns) != 1 || ns[0].GetAgent() != rigAgent || ns[0].GetSummary() != "offline for 12m (limit 10m) on web-01" {
		t.Fatalf("notifications %v", ns)
	}
	r.presence.set(rigAgent, true)
	r.step(time.Minute, -1)
	r.step(time.Minute, -1)
	if got := r.kinds(t0); !equalStrings(got, []string{"firing@12m0s", "resolved@14m0s"}) {
		t.Fatalf("notifications %v", got)
	}
}

func (r *alertRig) maintenance(start, end time.Time) {
	r.t.Helper()
	r.update(func(tx store.Tx) error {
		return schema.PutMaintenance(tx, &storev1.Maintenance{Agent: rigAgent, Tenant: "acme", StartUnix: start.Unix(), EndUnix: end.Unix(), By: "alice"})
	})
}

func (r *alertRig) maint() *storev1.Maintenance {
	r.t.Helper()
	var m *storev1.Maintenance
	r.view(func(tx store.Tx) error {
		var err error
		m, err = schema.GetMaintenance(tx, rigAgent)
		return err
	})
	return m
}

// TestMaintenanceHoldsThenVerifies: under maintenance the rule fires but
// nothing is queued and the record says suppressed; the held firing
// notice goes out at the first evaluation after the end, and the
// verification passes once the agent is online with a sample since the
// end.
func TestMaintenanceHoldsThenVerifies(t *testing.T) {
	r := newAlertRig(t, t0)
	r.rule(cpuRule("hot", 90, 0))
	r.rule(alert.Rule{ID: "verify", Kind: alert.KindVerifyFailed, Consecutive: 1})
	r.presence.set(rigAgent, true)
	r.maintenance(t0, t0.Add(30*time.Minute))
	// A short incident inside the maintenance is never notified.
	r.step(0, 95)
	r.step(time.Minute, 95)
	r.step(time.Minute, 10)
	r.step(time.Minute, 10)
	// A second one still firing at the end is.
	for r.now.Before(t0.Add(29 * time.Minute)) {
		r.step(time.Minute, 95)
	}
	if n := len(r.notifications()); n != 0 {
		t.Fatalf("notified during maintenance: %v", r.kinds(t0))
	}
	recs := r.records()
	if len(recs) != 2 || !recs[0].GetSuppressed() || !recs[1].GetSuppressed() || recs[0].GetNotified() || recs[1].GetNotified() {
		t.Fatalf("records during maintenance %v", recs)
	}
	if m := r.maint(); m.GetVerifiedUnix() != 0 {
		t.Fatalf("verified during maintenance: %v", m)
	}
	r.step(time.Minute, 95) // t0+30m: the maintenance ends
	if got := r.kinds(t0); !equalStrings(got, []string{"firing@30m0s"}) {
		t.Fatalf("after maintenance: %v", got)
	}
	m := r.maint()
	if m.GetVerifiedUnix() != r.now.Unix() || !m.GetVerifyOk() || m.GetVerifyDetail() != "" {
		t.Fatalf("verification %v", m)
	}
}

// TestMaintenanceVerificationFails: the agent stays offline after the
// end; after the grace the verification fails, the verify_failed rule
// fires, and it recovers when the agent is back and reporting.
func TestMaintenanceVerificationFails(t *testing.T) {
	r := newAlertRig(t, t0)
	r.rule(alert.Rule{ID: "verify", Kind: alert.KindVerifyFailed, Consecutive: 1})
	r.maintenance(t0.Add(-time.Hour), t0)
	r.update(func(tx store.Tx) error {
		return schema.PutPatchRecord(tx, &storev1.PatchRecord{AgentId: rigAgent, ScanUnixMs: t0.UnixMilli(),
			Status: agentv1.ScanStatus_SCAN_STATUS_FAILED, ErrorCode: "wua_0x80240438"})
	})
	for i := 0; i < 14; i++ {
		r.step(time.Minute, -1)
	}
	if m := r.maint(); m.GetVerifiedUnix() != 0 {
		t.Fatalf("concluded within the grace: %v", m)
	}
	r.step(time.Minute, -1) // 15 minutes after the end
	m := r.maint()
	want := "agent offline; no metrics since 2026-03-10 09:00 UTC; patch scan failing (wua_0x80240438)"
	if m.GetVerifiedUnix() == 0 || m.GetVerifyOk() || m.GetVerifyDetail() != want {
		t.Fatalf("verification %v", m)
	}
	ns := r.notifications()
	if len(ns) != 1 || ns[0].GetSummary() != "post-maintenance verification failed: "+want+" on web-01" {
		t.Fatalf("notifications %v", ns)
	}
	r.presence.set(rigAgent, true)
	r.update(func(tx store.Tx) error {
		return schema.PutPatchRecord(tx, &storev1.PatchRecord{AgentId: rigAgent, ScanUnixMs: r.now.UnixMilli(), Status: agentv1.ScanStatus_SCAN_STATUS_OK})
	})
	r.step(time.Minute, 20)
	if m := r.maint(); !m.GetVerifyOk() {
		t.Fatalf("verification not retried: %v", m)
	}
	if got := r.kinds(t0); !equalStrings(got, []string{"firing@15m0s", "resolved@16m0s"}) {
		t.Fatalf("notifications %v", got)
	}
}

// TestRestartKeepsStateAndNeverResends: the stores are closed and opened
// again with a new engine between the two evaluations that confirm an
// alert, and again mid-incident; each evaluation is also run twice at the
// same time. The queue holds exactly one notification per event.
func TestRestartKeepsStateAndNeverResends(t *testing.T) {
	r := newAlertRig(t, t0)
	rule := cpuRule("hot", 90, 0)
	rule.Repeat = alert.Repeat{Interval: 3 * time.Minute, Count: 2}
	r.rule(rule)
	r.step(0, 95) // first evaluation that holds
	r.restart()
	r.eval() // same time again, new engine: a replay
	r.step(time.Minute, 95)
	if got := r.kinds(t0); !equalStrings(got, []string{"firing@1m0s"}) {
		t.Fatalf("half-confirmed condition forgotten across restart: %v", got)
	}
	r.step(time.Minute, 95)
	r.restart()
	r.eval()
	r.step(time.Minute, 95) // 3m: 2 minutes after the firing notice
	r.restart()
	r.step(time.Minute, 95) // 4m: first repeat
	r.eval()
	r.restart()
	r.eval()
	for i := 0; i < 5; i++ {
		r.step(time.Minute, 95)
		r.eval()
	}
	if got := r.kinds(t0); !equalStrings(got, []string{"firing@1m0s", "repeat@4m0s", "repeat@7m0s"}) {
		t.Fatalf("notifications across restarts: %v", got)
	}
	if recs := r.records(); len(recs) != 1 || recs[0].GetIncident() != 1 {
		t.Fatalf("records %v", recs)
	}
}

// TestDisabledAndOrphanedStates: disabling a rule closes its alert without
// a notice; a revoked agent's states are dropped.
func TestDisabledAndOrphanedStates(t *testing.T) {
	r := newAlertRig(t, t0)
	r.rule(cpuRule("hot", 90, 0))
	r.step(0, 95)
	r.step(time.Minute, 95)
	r.update(func(tx store.Tx) error {
		a, err := schema.GetAgent(tx, rigAgent)
		if err != nil {
			return err
		}
		a.Revoked = true
		return schema.PutAgent(tx, a)
	})
	r.step(time.Minute, -1)
	recs := r.records()
	if len(recs) != 1 || recs[0].GetEndUnixMs() != r.now.UnixMilli() {
		t.Fatalf("revoked agent's alert not closed: %v", recs)
	}
	var states []schema.AlertStateRef
	r.view(func(tx store.Tx) error {
		var err error
		states, err = schema.ListAlertStateRefs(tx, "acme")
		return err
	})
	if len(states) != 0 || len(r.notifications()) != 1 {
		t.Fatalf("states %v, notifications %v", states, r.kinds(t0))
	}
}

func TestCheckStatusRule(t *testing.T) {
	r := newAlertRig(t, t0)
	r.rule(alert.Rule{ID: "checks", Kind: alert.KindCheckStatus, Consecutive: 1})
	r.update(func(tx store.Tx) error {
		if err := schema.PutCheck(tx, &storev1.Check{Id: "ck-1", Tenant: "acme", Name: "shop https"}); err != nil {
			return err
		}
		return schema.PutCheckState(tx, &storev1.CheckState{Check: "ck-1", Vantages: []*storev1.VantageState{
			{Vantage: "controller", State: "down", LastDetail: "connection refused"},
			{Vantage: "agent:" + rigAgent, State: "up"},
		}})
	})
	r.step(time.Minute, -1)
	ns := r.notifications()
	if len(ns) != 1 || ns[0].GetSubject() != "FIRING: any check critical on controller [shop https]" ||
		ns[0].GetSummary() != "check shop https critical: connection refused on controller" {
		t.Fatalf("notifications %v", ns)
	}
}

// BenchmarkEvaluate500Agents: one evaluation of the six default rules on
// 500 agents, each with one new sample since the previous evaluation.
// BenchmarkEvaluate measures one evaluation of the six default rules over
// N agents of one tenant with one new sample each (after the first
// evaluation, every state is quiet).
func BenchmarkEvaluate(b *testing.B) {
	for _, n := range []int{500, 10000} {
		b.Run(fmt.Sprintf("agents=%d", n), func(b *testing.B) { benchmarkEvaluate(b, n) })
	}
}

func benchmarkEvaluate(b *testing.B, n int) {
	r := newAlertRig(b, t0)
	r.update(func(tx store.Tx) error {
		if err := alerting.SeedTenant(tx, "acme", t0); err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			id := fmt.Sprintf("ag-b%05d", i)
			if err := schema.PutAgent(tx, &storev1.Agent{Id: id, Tenant: "acme", Hostname: id, EnrolledUnix: t0.Unix()}); err != nil {
				return err
			}
		}
		return nil
	})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		r.now = r.now.Add(time.Minute)
		var batch []metrics.Sample
		for j := 0; j < n; j++ {
			r.seq++
			batch = append(batch, metrics.Sample{AgentID: fmt.Sprintf("ag-b%05d", j), Seq: r.seq, TimeMS: r.now.UnixMilli(),
				Metrics: &agentv1.Metrics{CpuPercent: 50, MemTotal: 100, MemUsed: 50, Volumes: []*agentv1.Volume{{Mount: "/", Total: 100, Free: 40}}}})
		}
		if _, err := r.mdb.Put(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := r.eng.Evaluate(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCheckAlertsFollowTheCheck: check_status alerts are keyed by check
// id and vantage point. Two checks of one name have their own alerts; a
// renamed check keeps its alert and shows the new name; an alert closes
// without a notice when its vantage point is removed from the check, and
// when the check is deleted.
func TestCheckAlertsFollowTheCheck(t *testing.T) {
	r := newAlertRig(t, t0)
	r.rule(alert.Rule{ID: "checks", Kind: alert.KindCheckStatus, Consecutive: 1})
	db := &storev1.Check{Id: "ck-1", Tenant: "acme", Name: "db", Vantages: []string{"controller", "agent:" + rigAgent}}
	r.update(func(tx store.Tx) error {
		if err := schema.PutCheck(tx, db); err != nil {
			return err
		}
		if err := schema.PutCheck(tx, &storev1.Check{Id: "ck-2", Tenant: "acme", Name: "db"}); err != nil {
			return err
		}
		if err := schema.PutCheckState(tx, &storev1.CheckState{Check: "ck-2", Vantages: []*storev1.VantageState{
			{Vantage: "controller", State: "up"}}}); err != nil {
			return err
		}
		return schema.PutCheckState(tx, &storev1.CheckState{Check: "ck-1", Vantages: []*storev1.VantageState{
			{Vantage: "controller", State: "down", LastDetail: "connection refused"},
			{Vantage: "agent:" + rigAgent, State: "down", LastDetail: "timed out"},
		}})
	})
	r.step(time.Minute, -1)
	ns := r.notifications()
	if len(ns) != 2 || ns[0].GetSubject() == ns[1].GetSubject() {
		t.Fatalf("two vantages of ck-1 down: notifications %v", ns)
	}
	for _, n := range ns {
		if !strings.HasSuffix(n.GetSubject(), " [db]") || !strings.HasPrefix(n.GetSummary(), "check db critical") {
			t.Errorf("notice %q / %q does not name the check", n.GetSubject(), n.GetSummary())
		}
	}
	open := func() map[string]*storev1.AlertRecord {
		out := map[string]*storev1.AlertRecord{}
		for _, rec := range r.records() {
			if rec.GetEndUnixMs() == 0 {
				out[rec.GetAgent()+"|"+rec.GetItem()] = rec
			}
		}
		return out
	}
	if got := open(); len(got) != 2 || got["|ck-1"] == nil || got[rigAgent+"|ck-1"] == nil || got["|ck-1"].GetItemLabel() != "db" {
		t.Fatalf("open alerts %v, want ck-1 from the controller and from %s", got, rigAgent)
	}
	statesOf := func() []string {
		var out []string
		r.view(func(tx store.Tx) error {
			refs, err := schema.ListAlertStateRefs(tx, "acme")
			for _, ref := range refs {
				out = append(out, ref.Target)
			}
			return err
		})
		return out
	}
	if got := statesOf(); !equalStrings(got, []string{rigAgent + "|ck-1", "|ck-1", "|ck-2"}) {
		t.Fatalf("states %v: want one per check and vantage, the two checks named db apart", got)
	}

	// Renamed: the same alerts, nothing sent, the new name on the record.
	db.Name = "db primary"
	r.update(func(tx store.Tx) error { return schema.PutCheck(tx, db) })
	r.step(time.Minute, -1)
	if n := len(r.notifications()); n != 2 {
		t.Fatalf("a rename sent notices: %v", r.kinds(t0))
	}
	if got := open(); len(got) != 2 || got["|ck-1"].GetItemLabel() != "db primary" {
		t.Fatalf("after the rename: open alerts %v", got)
	}

	// The agent vantage is removed: its alert closes, silently.
	db.Vantages = []string{"controller"}
	r.update(func(tx store.Tx) error { return schema.PutCheck(tx, db) })
	r.step(time.Minute, -1)
	if got := open(); len(got) != 1 || got["|ck-1"] == nil {
		t.Fatalf("after removing the agent vantage: open alerts %v", got)
	}
	if got := statesOf(); !equalStrings(got, []string{"|ck-1", "|ck-2"}) {
		t.Fatalf("states after removing the vantage: %v", got)
	}

	// The check is deleted: its last alert closes, silently.
	r.update(func(tx store.Tx) error { return schema.DeleteCheck(tx, "ck-1") })
	r.step(time.Minute, -1)
	if got := open(); len(got) != 0 {
		t.Fatalf("after deleting the check: open alerts %v", got)
	}
	for _, rec := range r.records() {
		if rec.GetEndUnixMs() == 0 || rec.GetEndUnixMs() > r.now.UnixMilli() {
			t.Errorf("alert %s end %d, want closed by now", rec.GetId(), rec.GetEndUnixMs())
		}
	}
	if got := statesOf(); !equalStrings(got, []string{"|ck-2"}) {
		t.Fatalf("states after the delete: %v", got)
	}
	if n := len(r.notifications()); n != 2 {
		t.Fatalf("closing alerts of a gone check sent notices: %v", r.kinds(t0))
	}
}

// scanCounter wraps the real store and counts the scans of one key
// prefix: how many times an evaluation reads every check.
type scanCounter struct {
	store.Store
	prefix string
	mu     sync.Mutex
	scans  int
}

type countingTx struct {
	store.Tx
	c *scanCounter
}

func (c *scanCounter) View(ctx context.Context, fn func(store.Tx) error) error {
	return c.Store.View(ctx, func(tx store.Tx) error { return fn(countingTx{tx, c}) })
}

func (c *scanCounter) Update(ctx context.Context, fn func(store.Tx) error) error {
	return c.Store.Update(ctx, func(tx store.Tx) error { return fn(countingTx{tx, c}) })
}

func (t countingTx) Scan(prefix string, fn func(string, []byte) error) error {
	if prefix == t.c.prefix {
		t.c.mu.Lock()
		t.c.scans++
		t.c.mu.Unlock()
	}
	return t.Tx.Scan(prefix, fn)
}

// TestChecksReadOncePerEvaluation: with check_status rules in several
// tenants, one evaluation reads the check definitions once, not once per
// tenant, and each tenant still sees only its own checks.
func TestChecksReadOncePerEvaluation(t *testing.T) {
	r := newAlertRig(t, t0)
	tenants := []string{"acme", "beta", "gamma"}
	r.update(func(tx store.Tx) error {
		for i, tn := range tenants {
			if tn != "acme" {
				if err := schema.PutTenant(tx, &storev1.Tenant{Id: tn, Timezone: "UTC"}); err != nil {
					return err
				}
			}
			rule := alert.Rule{ID: "checks", Tenant: tn, Kind: alert.KindCheckStatus, Consecutive: 1, Enabled: true}
			if err := schema.PutAlertRule(tx, alerting.RuleToStore(rule)); err != nil {
				return err
			}
			id := fmt.Sprintf("ck-%d", i)
			if err := schema.PutCheck(tx, &storev1.Check{Id: id, Tenant: tn, Name: "web " + tn}); err != nil {
				return err
			}
			if err := schema.PutCheckState(tx, &storev1.CheckState{Check: id, Vantages: []*storev1.VantageState{
				{Vantage: "controller", State: "down"}}}); err != nil {
				return err
			}
		}
		return nil
	})
	counter := &scanCounter{Store: r.st, prefix: "checks/"}
	eng := alerting.New(alerting.Config{Store: counter, Metrics: r.mdb, Presence: r.presence, Now: r.clock})
	r.now = r.now.Add(time.Minute)
	if _, err := eng.Evaluate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if counter.scans != 1 {
		t.Errorf("one evaluation of %d tenants read every check %d times, want once", len(tenants), counter.scans)
	}
	byTenant := map[string]string{}
	for _, n := range r.notifications() {
		byTenant[n.GetTenant()] += n.GetSubject()
	}
	for _, tn := range tenants {
		if want := "FIRING: any check critical on controller [web " + tn + "]"; byTenant[tn] != want {
			t.Errorf("tenant %s notified %q, want %q", tn, byTenant[tn], want)
		}
	}
}
