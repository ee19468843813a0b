package report_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-rmm/vigil/controller/internal/apierr"
	"github.com/vigil-rmm/vigil/controller/internal/metrics"
	"github.com/vigil-rmm/vigil/controller/internal/report"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The fixture's period is three days of Europe/Paris, the middle one the
// spring daylight saving change (23 hours): 2026-03-28 00:00 to
// 2026-03-31 00:00 local time.
var (
	paris    = mustZone("Europe/Paris")
	since    = time.Date(2026, 3, 28, 0, 0, 0, 0, paris)
	until    = time.Date(2026, 3, 31, 0, 0, 0, 0, paris)
	fixedNow = time.Date(2026, 3, 31, 8, 0, 0, 0, time.UTC)
)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// local is a wall-clock time of the fixture's zone.
func local(month time.Month, day, hour, minute, sec, ms int) time.Time {
	return time.Date(2026, month, day, hour, minute, sec, ms*int(time.Millisecond), paris)
}

// reportRig is a real control store and metrics database in t.TempDir().
type reportRig struct {
	st  store.Store
	mdb *metrics.DB
}

func newReportRig(t *testing.T) *reportRig {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "control.db"), store.BoltOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := schema.Open(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	mdb, err := metrics.Open(filepath.Join(t.TempDir(), "metrics.db"), metrics.Options{Now: func() time.Time { return fixedNow }, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mdb.Close() })
	return &reportRig{st: st, mdb: mdb}
}

func (r *reportRig) update(t *testing.T, f func(tx store.Tx) error) {
	t.Helper()
	if err := r.st.Update(t.Context(), f); err != nil {
		t.Fatal(err)
	}
}

func (r *reportRig) put(t *testing.T, samples []metrics.Sample) {
	t.Helper()
	n, err := r.mdb.Put(t.Context(), samples)
	if err != nil || n != len(samples) {
		t.Fatalf("put %d samples: stored %d, %v", len(samples), n, err)
	}
}

// everyMinute returns one sample at second 30 of every minute in
// [from, to), skipping the minutes skip returns true for.
func everyMinute(agent string, from, to time.Time, m func(i int) *agentv1.Metrics, skip func(time.Time) bool) []metrics.Sample {
	var out []metrics.Sample
	for t := from; t.Before(to); t = t.Add(time.Minute) {
		if skip != nil && skip(t) {
			continue
		}
		out = append(out, metrics.Sample{AgentID: agent, Seq: uint64(len(out) + 1), TimeMS: t.Add(30 * time.Second).UnixMilli(), Metrics: m(len(out))})
	}
	return out
}

func flat(int) *agentv1.Metrics { return &agentv1.Metrics{CpuPercent: 1, MemTotal: 100, MemUsed: 10} }

// seed writes the fixture: tenants acme (Europe/Paris) and beta, agents,
// samples with gaps, a check with results and alert records.
func (r *reportRig) seed(t *testing.T) {
	t.Helper()
	r.update(t, func(tx store.Tx) error {
		for _, tn := range []*storev1.Tenant{{Id: "acme", Timezone: "Europe/Paris"}, {Id: "beta", Timezone: "UTC"}} {
			if err := schema.PutTenant(tx, tn); err != nil {
				return err
			}
		}
		agents := []*storev1.Agent{
			{Id: "ag-a", Tenant: "acme", Hostname: "web1", EnrolledUnix: local(1, 1, 0, 0, 0, 0).Unix()},
			// Enrolled at 12:00:20 on the last day: its first whole minute is 12:01.
			{Id: "ag-b", Tenant: "acme", Hostname: "db1", EnrolledUnix: local(3, 30, 12, 0, 20, 0).Unix()},
			{Id: "ag-gone", Tenant: "acme", Hostname: "old", EnrolledUnix: local(1, 1, 0, 0, 0, 0).Unix(),
				Revoked: true, RevokedUnix: local(3, 27, 12, 0, 0, 0).Unix()},
			{Id: "ag-c", Tenant: "beta", Hostname: "other", EnrolledUnix: local(1, 1, 0, 0, 0, 0).Unix()},
		}
		for _, a := range agents {
			if err := schema.PutAgent(tx, a); err != nil {
				return err
			}
		}
		return nil
	})

	// web1: every minute of the period but 10:00-10:59 on the 28th (60
	// minutes), and on the 30th a sample that slipped across a minute
	// boundary (12:00:59.9 and 12:02:00.1: 12:01 has no sample but counts)
	// and one missing sample (15:00).
	skipA := func(t time.Time) bool {
		switch {
		case t.Day() == 28 && t.Hour() == 10:
			return true
		case t.Day() == 30 && t.Hour() == 12 && t.Minute() <= 2:
			return true
		case t.Day() == 30 && t.Hour() == 15 && t.Minute() == 0:
			return true
		}
		return false
	}
	a := everyMinute("ag-a", since, until, flat, func(t time.Time) bool { return skipA(t.In(paris)) })
	a = append(a,
		metrics.Sample{AgentID: "ag-a", Seq: 90001, TimeMS: local(3, 30, 12, 0, 59, 900).UnixMilli(), Metrics: flat(0)},
		metrics.Sample{AgentID: "ag-a", Seq: 90002, TimeMS: local(3, 30, 12, 2, 0, 100).UnixMilli(), Metrics: flat(0)},
		// Before the period and in the other tenant: never counted.
		metrics.Sample{AgentID: "ag-a", Seq: 1, TimeMS: local(3, 27, 23, 59, 0, 0).UnixMilli(), Metrics: flat(0)},
	)
	r.put(t, a)

	// db1: 12:01 to 17:59 on the 30th (359 samples) with chosen figures.
	r.put(t, everyMinute("ag-b", local(3, 30, 12, 1, 0, 0), local(3, 30, 18, 0, 0, 0), func(i int) *agentv1.Metrics {
		m := &agentv1.Metrics{CpuPercent: 10, Load1: 0.5, MemTotal: 1000, MemUsed: 500, SwapTotal: 200,
			Volumes: []*agentv1.Volume{{Mount: "/", Total: 1000, Free: 400}, {Mount: "/var", Total: 2000, Free: 1000}, {Mount: "/proc", Total: 0}}}
		switch {
		case i >= 100 && i < 120:
			m.CpuPercent = 90
		case i == 200:
			m.CpuPercent, m.MemUsed, m.SwapUsed, m.Load1 = 100, 800, 50, 3.25
			m.Volumes[0].Free = 123
		}
		return m
	}, nil))
	r.put(t, everyMinute("ag-c", since, until, flat, nil))
	r.put(t, everyMinute("ag-gone", local(3, 27, 0, 0, 0, 0), local(3, 27, 12, 0, 0, 0), flat, nil))

	r.update(t, func(tx store.Tx) error {
		checks := []*storev1.Check{
			{Id: "ck-web", Tenant: "acme", Name: "website", IntervalSeconds: 60, Vantages: []string{"controller", "agent:ag-a"},
				Spec: &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_HTTP, Target: "https://acme.example"}},
			{Id: "ck-beta", Tenant: "beta", Name: "beta site", Spec: &agentv1.CheckSpec{Target: "beta.example"}},
		}
		for _, c := range checks {
			if err := schema.PutCheck(tx, c); err != nil {
				return err
			}
		}
		const (
			ok  = agentv1.CheckStatus_CHECK_STATUS_OK
			ng  = agentv1.CheckStatus_CHECK_STATUS_NG
			wr  = agentv1.CheckStatus_CHECK_STATUS_WR
			bad = agentv1.CheckStatus_CHECK_STATUS_ERR
		)
		res := func(vantage string, s agentv1.CheckStatus, t time.Time) *storev1.CheckResultRecord {
			return &storev1.CheckResultRecord{Check: "ck-web", Vantage: vantage, Status: s, StartUnixMs: t.UnixMilli(), LatencyUs: 1500}
		}
		rs := []*storev1.CheckResultRecord{
			res("controller", ng, local(3, 27, 23, 0, 0, 0)), // before the period
			// Down across midnight: 60 s on the 28th, 60 s on the 29th.
			res("controller", ok, local(3, 28, 23, 58, 0, 0)),
			res("controller", ng, local(3, 28, 23, 59, 0, 0)),
			res("controller", ok, local(3, 29, 0, 1, 0, 0)),
			// Down 08:02 to 08:05 on the 30th; ERR does not end the run.
			res("controller", ok, local(3, 30, 8, 0, 0, 0)),
			res("controller", ok, local(3, 30, 8, 1, 0, 0)),
			res("controller", ng, local(3, 30, 8, 2, 0, 0)),
			res("controller", wr, local(3, 30, 8, 3, 0, 0)),
			res("controller", bad, local(3, 30, 8, 4, 0, 0)),
			res("controller", ok, local(3, 30, 8, 5, 0, 0)),
			// Still down at the end: one interval past the last result.
			res("controller", ok, local(3, 30, 23, 55, 0, 0)),
			res("controller", ng, local(3, 30, 23, 58, 0, 0)),
			res("controller", ng, local(3, 31, 0, 30, 0, 0)), // after the period
			// A vantage the check no longer names.
			res("agent:ag-old", bad, local(3, 29, 10, 0, 0, 0)),
		}
		if _, err := schema.AppendCheckResults(tx, "ck-web", rs); err != nil {
			return err
		}
		if _, err := schema.AppendCheckResults(tx, "ck-beta", []*storev1.CheckResultRecord{
			{Check: "ck-beta", Vantage: "controller", Status: ng, StartUnixMs: local(3, 29, 0, 0, 0, 0).UnixMilli()}}); err != nil {
			return err
		}
		ms := func(t time.Time) int64 { return t.UnixMilli() }
		alerts := []*storev1.AlertRecord{
			{Id: "al-1", Tenant: "acme", Rule: "r-cpu", RuleKind: "metric", Agent: "ag-a", Host: "web1", Item: "cpu",
				StartUnixMs: ms(local(3, 27, 10, 0, 0, 0)), EndUnixMs: ms(local(3, 27, 11, 0, 0, 0)), Notified: true},
			{Id: "al-2", Tenant: "acme", Rule: "r-off", RuleKind: "offline", Agent: "ag-a", Host: "web1", Summary: "web1 offline",
				StartUnixMs: ms(local(3, 27, 23, 0, 0, 0)), EndUnixMs: ms(local(3, 28, 1, 0, 0, 0)), Notified: true},
			{Id: "al-3", Tenant: "acme", Rule: "r-disk", RuleKind: "metric", Agent: "ag-b", Host: "db1", Item: "/var",
				Summary: "=cmd|' /C calc'!A0", StartUnixMs: ms(local(3, 30, 9, 0, 0, 0)),
				AckedBy: "tom", AckedUnixMs: ms(local(3, 30, 9, 10, 0, 0))},
			{Id: "al-4", Tenant: "acme", Rule: "r-cpu", RuleKind: "metric", Agent: "ag-a", Host: "web1",
				StartUnixMs: ms(local(3, 31, 1, 0, 0, 0)), Notified: true},
			{Id: "al-5", Tenant: "beta", Rule: "r-cpu", RuleKind: "metric", Agent: "ag-c", Host: "other",
				StartUnixMs: ms(local(3, 29, 1, 0, 0, 0))},
			// A check's alert is keyed by the check's id and shows its name.
			{Id: "al-6", Tenant: "acme", Rule: "r-check", RuleKind: "check_status", Host: "controller", Item: "ck-web",
				ItemLabel: "website", StartUnixMs: ms(local(3, 29, 12, 0, 0, 0)), EndUnixMs: ms(local(3, 29, 12, 30, 0, 0)), Notified: true},
		}
		for _, al := range alerts {
			if err := schema.PutAlertRecord(tx, al); err != nil {
				return err
			}
		}
		return nil
	})
}

// queryCounter passes Query through to the real database and records the
// largest batch asked for and how many calls each agent cost.
type queryCounter struct {
	report.MetricsReader
	mu       sync.Mutex
	calls    map[string]int
	maxLimit int
}

func (q *queryCounter) Query(ctx context.Context, agentID string, from, to time.Time, limit int) ([]metrics.Sample, bool, error) {
	q.mu.Lock()
	q.calls[agentID]++
	q.maxLimit = max(q.maxLimit, limit)
	q.mu.Unlock()
	return q.MetricsReader.Query(ctx, agentID, from, to, limit)
}

func (r *reportRig) generator(mr report.MetricsReader, retention time.Duration) *report.Generator {
	return report.New(report.Options{Store: r.st, Metrics: mr, Retention: retention, Parallel: 2, Now: func() time.Time { return fixedNow }})
}

func availString(a *managev1.ReportAvailability) string {
	return fmt.Sprintf("%s %d/%d %.2f%% %s..%s", a.GetDay(), a.GetOnlineMinutes(), a.GetExpectedMinutes(), a.GetPercent(),
		hm(a.GetFirstSeenUnixMs()), hm(a.GetLastSeenUnixMs()))
}

func hm(ms int64) string {
	if ms == 0 {
		return "-"
	}
	return time.UnixMilli(ms).In(paris).Format("01-02T15:04:05.000")
}

func checkString(d *managev1.ReportCheckDay) string {
	up := "-"
	if d.UptimePercent != nil {
		up = fmt.Sprintf("%.2f%%", d.GetUptimePercent())
	}
	return fmt.Sprintf("%s ok=%d ng=%d wr=%d err=%d up=%s outages=%d down=%ds", d.GetDay(), d.GetOk(), d.GetNg(), d.GetWr(), d.GetErr(),
		up, d.GetOutages(), d.GetDownSeconds())
}

func eq(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestReportFigures(t *testing.T) {
	r := newReportRig(t)
	r.seed(t)
	counter := &queryCounter{MetricsReader: r.mdb, calls: map[string]int{}}
	rep, err := r.generator(counter, 0).Generate(t.Context(), report.Request{Tenant: "acme", Since: since, Until: until})
	if err != nil {
		t.Fatal(err)
	}
	if rep.GetTimezone() != "Europe/Paris" || rep.GetSinceUnix() != since.Unix() || rep.GetUntilUnix() != until.Unix() || rep.GetGeneratedUnix() != fixedNow.Unix() {
		t.Errorf("header: zone %s since %d until %d generated %d", rep.GetTimezone(), rep.GetSinceUnix(), rep.GetUntilUnix(), rep.GetGeneratedUnix())
	}

	// Availability: 1440 + 1380 (the 29th has 23 hours) + 1440 minutes.
	// web1 misses 60 minutes on the 28th and one on the 30th: 4199 of
	// 4260. db1 is enrolled from 12:01 on the 30th (719 minutes) and
	// reports for 359 of them.
	var avail []string
	for _, a := range rep.GetAgents() {
		avail = append(avail, a.GetHostname()+" total "+availString(a.GetTotal()))
		for _, d := range a.GetDays() {
			avail = append(avail, a.GetHostname()+" "+availString(d))
		}
	}
	eq(t, "availability", avail, []string{
		"db1 total  359/719 49.93% 03-30T12:01:30.000..03-30T17:59:30.000",
		"db1 2026-03-30 359/719 49.93% 03-30T12:01:30.000..03-30T17:59:30.000",
		"web1 total  4199/4260 98.57% 03-28T00:00:30.000..03-30T23:59:30.000",
		"web1 2026-03-28 1380/1440 95.83% 03-28T00:00:30.000..03-28T23:59:30.000",
		"web1 2026-03-29 1380/1380 100.00% 03-29T00:00:30.000..03-29T23:59:30.000",
		"web1 2026-03-30 1439/1440 99.93% 03-30T00:00:30.000..03-30T23:59:30.000",
	})

	// Metric summaries. db1: 338 samples at 10% CPU, 20 at 90%, one at
	// 100%: mean 5280/359, p95 the 342nd smallest (90). Memory 50% but
	// one sample at 80%: mean 17980/359.
	var mets []string
	for _, m := range rep.GetMetrics() {
		for _, d := range m.GetDays() {
			var vols []string
			for _, v := range d.GetVolumes() {
				vols = append(vols, fmt.Sprintf("%s=%.2f", v.GetMount(), v.GetMinFreePercent()))
			}
			mets = append(mets, fmt.Sprintf("%s %s n=%d cpu=%.2f/%.2f/%.2f mem=%.2f/%.2f swap=%.2f load=%.2f vol=%s", m.GetHostname(), d.GetDay(),
				d.GetSamples(), d.GetCpuAvg(), d.GetCpuP95(), d.GetCpuMax(), d.GetMemoryAvgPercent(), d.GetMemoryMaxPercent(),
				d.GetSwapMaxPercent(), d.GetLoad1Max(), strings.Join(vols, ",")))
		}
	}
	eq(t, "metrics", mets, []string{
		"db1 2026-03-30 n=359 cpu=14.71/90.00/100.00 mem=50.08/80.00 swap=25.00 load=3.25 vol=/=12.30,/var=50.00",
		"web1 2026-03-28 n=1380 cpu=1.00/1.00/1.00 mem=10.00/10.00 swap=0.00 load=0.00 vol=",
		"web1 2026-03-29 n=1380 cpu=1.00/1.00/1.00 mem=10.00/10.00 swap=0.00 load=0.00 vol=",
		"web1 2026-03-30 n=1438 cpu=1.00/1.00/1.00 mem=10.00/10.00 swap=0.00 load=0.00 vol=",
	})

	var checks []string
	for _, c := range rep.GetChecks() {
		checks = append(checks, c.GetName()+" "+c.GetTarget()+" "+c.GetVantage()+" total "+checkString(c.GetTotal()))
		for _, d := range c.GetDays() {
			checks = append(checks, c.GetVantage()+" "+checkString(d))
		}
	}
	eq(t, "checks", checks, []string{
		"website https://acme.example agent:ag-a total  ok=0 ng=0 wr=0 err=0 up=- outages=0 down=0s",
		"agent:ag-a 2026-03-28 ok=0 ng=0 wr=0 err=0 up=- outages=0 down=0s",
		"agent:ag-a 2026-03-29 ok=0 ng=0 wr=0 err=0 up=- outages=0 down=0s",
		"agent:ag-a 2026-03-30 ok=0 ng=0 wr=0 err=0 up=- outages=0 down=0s",
		"website https://acme.example agent:ag-old total  ok=0 ng=0 wr=0 err=1 up=- outages=0 down=0s",
		"agent:ag-old 2026-03-28 ok=0 ng=0 wr=0 err=0 up=- outages=0 down=0s",
		"agent:ag-old 2026-03-29 ok=0 ng=0 wr=0 err=1 up=- outages=0 down=0s",
		"agent:ag-old 2026-03-30 ok=0 ng=0 wr=0 err=0 up=- outages=0 down=0s",
		"website https://acme.example controller total  ok=6 ng=3 wr=1 err=1 up=60.00% outages=3 down=360s",
		"controller 2026-03-28 ok=1 ng=1 wr=0 err=0 up=50.00% outages=1 down=60s",
		"controller 2026-03-29 ok=1 ng=0 wr=0 err=0 up=100.00% outages=0 down=60s",
		"controller 2026-03-30 ok=4 ng=2 wr=1 err=1 up=57.14% outages=2 down=240s",
	})

	var alerts []string
	for _, a := range rep.GetAlerts() {
		alerts = append(alerts, fmt.Sprintf("%s %s %s %s/%s %s..%s %ds acked=%s@%s notified=%v", a.GetId(), a.GetRule(), a.GetKind(),
			a.GetHost(), a.GetItem(), hm(a.GetStartUnixMs()), hm(a.GetEndUnixMs()), a.GetDurationSeconds(), a.GetAckedBy(), hm(a.GetAckedUnixMs()), a.GetNotified()))
	}
	eq(t, "alerts", alerts, []string{
		"al-2 r-off offline web1/ 03-27T23:00:00.000..03-28T01:00:00.000 7200s acked=@- notified=true",
		"al-6 r-check check_status controller/website 03-29T12:00:00.000..03-29T12:30:00.000 1800s acked=@- notified=true",
		"al-3 r-disk metric db1//var 03-30T09:00:00.000..- 54000s acked=tom@03-30T09:10:00.000 notified=false",
	})
	if rep.GetAlertsTruncated() || rep.GetCompliance() != nil {
		t.Errorf("alerts truncated %v, compliance %v: want neither", rep.GetAlertsTruncated(), rep.GetCompliance())
	}

	// Samples were read in batches of at most a day's worth: web1's 4258
	// samples in the period took at least three reads.
	if counter.maxLimit != report.BatchSize || counter.calls["ag-a"] < 3 || counter.calls["ag-c"] != 0 || counter.calls["ag-gone"] != 0 {
		t.Errorf("reads: largest batch %d, calls %v", counter.maxLimit, counter.calls)
	}
}

func TestReportOtherTenantSeesOnlyItsOwn(t *testing.T) {
	r := newReportRig(t)
	r.seed(t)
	rep, err := r.generator(r.mdb, 0).Generate(t.Context(), report.Request{Tenant: "beta", Since: since, Until: until})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.GetAgents()) != 1 || rep.GetAgents()[0].GetAgentId() != "ag-c" || rep.GetAgents()[0].GetTotal().GetPercent() != 100 {
		t.Errorf("agents: %v", rep.GetAgents())
	}
	// UTC days: the Paris period starts at 23:00 UTC on the 27th.
	if d := rep.GetAgents()[0].GetDays(); len(d) != 4 || d[0].GetDay() != "2026-03-27" || d[0].GetExpectedMinutes() != 60 {
		t.Errorf("beta days: %v", d)
	}
	if len(rep.GetChecks()) != 1 || rep.GetChecks()[0].GetCheckId() != "ck-beta" || len(rep.GetAlerts()) != 1 || rep.GetAlerts()[0].GetId() != "al-5" {
		t.Errorf("checks %v alerts %v", rep.GetChecks(), rep.GetAlerts())
	}
}

func TestReportPeriod(t *testing.T) {
	r := newReportRig(t)
	r.seed(t)
	g := r.generator(r.mdb, 0)

	// The default is the last 10 days, rounded to whole minutes.
	rep, err := g.Generate(t.Context(), report.Request{Tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if want := fixedNow.Add(-10 * 24 * time.Hour); rep.GetSinceUnix() != want.Unix() || rep.GetUntilUnix() != fixedNow.Unix() {
		t.Errorf("default period %s..%s", time.Unix(rep.GetSinceUnix(), 0).UTC(), time.Unix(rep.GetUntilUnix(), 0).UTC())
	}
	rep, err = g.Generate(t.Context(), report.Request{Tenant: "acme", Period: 36 * time.Hour, Until: fixedNow.Add(-30 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if want := fixedNow.Add(-time.Minute); rep.GetUntilUnix() != want.Unix() || rep.GetSinceUnix() != want.Add(-36*time.Hour).Unix() {
		t.Errorf("36h period %s..%s", time.Unix(rep.GetSinceUnix(), 0).UTC(), time.Unix(rep.GetUntilUnix(), 0).UTC())
	}

	// A period of exactly the retention fits when now is not on a minute.
	offMinute := report.New(report.Options{Store: r.st, Metrics: r.mdb, Now: func() time.Time { return fixedNow.Add(17 * time.Second) }})
	if _, err := offMinute.Generate(t.Context(), report.Request{Tenant: "acme", Period: 10 * 24 * time.Hour}); err != nil {
		t.Errorf("a 10-day period with a 10-day retention: %v", err)
	}

	long := r.generator(r.mdb, 365*24*time.Hour)
	cases := []struct {
		name string
		g    *report.Generator
		req  report.Request
		want error
		text string
	}{
		{"before retention", g, report.Request{Tenant: "acme", Since: fixedNow.Add(-11 * 24 * time.Hour)}, apierr.ErrInvalid, "since: "},
		{"period past retention", g, report.Request{Tenant: "acme", Period: 11 * 24 * time.Hour}, apierr.ErrInvalid, "retention horizon"},
		{"longer than 90 days", long, report.Request{Tenant: "acme", Period: 91 * 24 * time.Hour}, apierr.ErrInvalid, "limit 90d"},
		{"future until", g, report.Request{Tenant: "acme", Until: fixedNow.Add(time.Hour)}, apierr.ErrInvalid, "until: "},
		{"since after until", g, report.Request{Tenant: "acme", Since: until, Until: since}, apierr.ErrInvalid, "at least one minute"},
		{"both since and period", g, report.Request{Tenant: "acme", Since: since, Period: time.Hour}, apierr.ErrInvalid, "period: "},
		{"negative period", g, report.Request{Tenant: "acme", Period: -time.Hour}, apierr.ErrInvalid, "negative"},
		{"unknown tenant", g, report.Request{Tenant: "nope"}, apierr.ErrNotFound, `tenant "nope"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.g.Generate(t.Context(), c.req)
			if !errors.Is(err, c.want) || !strings.Contains(fmt.Sprint(err), c.text) {
				t.Errorf("got %v, want %v containing %q", err, c.want, c.text)
			}
		})
	}
}

func TestReportRefusesTooManyAgents(t *testing.T) {
	r := newReportRig(t)
	r.update(t, func(tx store.Tx) error {
		if err := schema.PutTenant(tx, &storev1.Tenant{Id: "big", Timezone: "UTC"}); err != nil {
			return err
		}
		for i := range report.MaxAgents + 1 {
			if err := schema.PutAgent(tx, &storev1.Agent{Id: fmt.Sprintf("ag-%04d", i), Tenant: "big", Hostname: "h"}); err != nil {
				return err
			}
		}
		return nil
	})
	_, err := r.generator(r.mdb, 0).Generate(t.Context(), report.Request{Tenant: "big"})
	if !errors.Is(err, report.ErrTooLarge) || !strings.Contains(err.Error(), "501 agents") {
		t.Fatalf("got %v, want ErrTooLarge naming 501 agents", err)
	}
}

func TestReportCancelled(t *testing.T) {
	r := newReportRig(t)
	r.seed(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := r.generator(r.mdb, 0).Generate(ctx, report.Request{Tenant: "acme", Since: since, Until: until}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

// BenchmarkReport measures a 10-day report of agents sampled every minute
// (go test -bench Report -benchtime 3x ./controller/internal/report).
func BenchmarkReport(b *testing.B) {
	const agents = 20
	dir := b.TempDir()
	st, err := store.OpenBolt(filepath.Join(dir, "control.db"), store.BoltOptions{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := schema.Open(b.Context(), st); err != nil {
		b.Fatal(err)
	}
	mdb, err := metrics.Open(filepath.Join(dir, "metrics.db"), metrics.Options{Now: func() time.Time { return fixedNow }, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer mdb.Close()
	from := fixedNow.Add(-10 * 24 * time.Hour)
	err = st.Update(b.Context(), func(tx store.Tx) error {
		if err := schema.PutTenant(tx, &storev1.Tenant{Id: "acme", Timezone: "Europe/Paris"}); err != nil {
			return err
		}
		for i := range agents {
			if err := schema.PutAgent(tx, &storev1.Agent{Id: fmt.Sprintf("ag-%d", i), Tenant: "acme", Hostname: fmt.Sprintf("h%d", i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for i := range agents {
		samples := everyMinute(fmt.Sprintf("ag-%d", i), from, fixedNow, func(n int) *agentv1.Metrics {
			return &agentv1.Metrics{CpuPercent: float32(n % 100), MemTotal: 1 << 30, MemUsed: 1 << 29, Load1: 1,
				Volumes: []*agentv1.Volume{{Mount: "/", Total: 1 << 40, Free: 1 << 39}, {Mount: "/var", Total: 1 << 40, Free: 1 << 38}}}
		}, nil)
		if _, err := mdb.Put(b.Context(), samples); err != nil {
			b.Fatal(err)
		}
	}
	g := report.New(report.Options{Store: st, Metrics: mdb, Now: func() time.Time { return fixedNow }})
	b.ResetTimer()
	for b.Loop() {
		if _, err := g.Generate(b.Context(), report.Request{Tenant: "acme"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/agents, "ms/agent")
}
