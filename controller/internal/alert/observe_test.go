package alert_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/alert"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

func ruleOf(kind alert.Kind, mod func(r *alert.Rule)) alert.Rule {
	r := alert.Rule{ID: "r", Tenant: "acme", Kind: kind, Enabled: true}
	mod(&r)
	return r
}

func metric(m alert.Metric, op alert.Operator, th float64, volume string) alert.Rule {
	return ruleOf(alert.KindMetric, func(r *alert.Rule) {
		r.Metric = &alert.MetricParams{Metric: m, Op: op, Threshold: th, Volume: volume}
	})
}

const gib = 1 << 30

var sample = &agentv1.Metrics{
	CpuPercent: 97.25, Load1: 3.5,
	MemTotal: 16 * gib, MemUsed: 15 * gib,
	Volumes: []*agentv1.Volume{
		{Mount: "C:", Total: 100 * gib, Free: 8 * gib},
		{Mount: "D:", Total: 500 * gib, Free: 250 * gib},
		{Mount: "E:"}, // an empty card reader
	},
}

// obsString renders observations as "item breach=.. value detail".
func obsString(os []alert.Observation) []string {
	var out []string
	for _, o := range os {
		out = append(out, fmt.Sprintf("%q breach=%v %.1f %s", o.Target.Item, o.Breach, o.Value, o.Detail))
	}
	return out
}

func TestMetricObservations(t *testing.T) {
	tests := []struct {
		name string
		rule alert.Rule
		want []string
	}{
		{"cpu", metric(alert.MetricCPU, alert.OpAbove, 95, ""), []string{`"" breach=true 97.2 `}},
		{"memory", metric(alert.MetricMemory, alert.OpAbove, 95, ""), []string{`"" breach=false 93.8 `}},
		{"no swap, no sample", metric(alert.MetricSwap, alert.OpAbove, 50, ""), nil},
		{"load", metric(alert.MetricLoad1, alert.OpAtLeast, 3.5, ""), []string{`"" breach=true 3.5 `}},
		{"every volume but the empty one", metric(alert.MetricDiskFree, alert.OpBelow, 10, ""),
			[]string{`"C:" breach=true 8.0 `, `"D:" breach=false 50.0 `}},
		{"one volume, any case", metric(alert.MetricDiskFree, alert.OpBelow, 10, "d:"),
			[]string{`"D:" breach=false 50.0 `}},
		{"another kind", ruleOf(alert.KindVerifyFailed, func(*alert.Rule) {}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEval(t, tt.rule, &clock{})
			equal(t, obsString(e.Metrics(web01, t0, sample)), tt.want)
		})
	}
}

func TestStateObservations(t *testing.T) {
	now := t0
	days := func(n float64) int64 { return now.Add(-time.Duration(n * 24 * float64(time.Hour))).Unix() }
	urgent := func(kb string, firstSeen int64) *storev1.TrackedUpdate {
		return &storev1.TrackedUpdate{FirstSeenUnix: firstSeen, Update: &agentv1.PendingUpdate{Id: kb, Kb: kb,
			Classification: agentv1.Classification_CLASSIFICATION_SECURITY}}
	}
	optional := &storev1.TrackedUpdate{FirstSeenUnix: days(60), Update: &agentv1.PendingUpdate{Id: "opt",
		Classification: agentv1.Classification_CLASSIFICATION_DEFINITION}}
	patches := &storev1.PatchRecord{ScanUnixMs: now.UnixMilli(), Status: agentv1.ScanStatus_SCAN_STATUS_OK,
		Pending: []*storev1.TrackedUpdate{optional, urgent("KB5034441", days(16)), urgent("KB5035000", days(15)), urgent("KB5036000", days(2))}}
	failing := &storev1.PatchRecord{ScanUnixMs: now.UnixMilli(), Status: agentv1.ScanStatus_SCAN_STATUS_TIMEOUT,
		ConsecutiveFailures: 3, ErrorMessage: "scanner killed after 30m"}
	reboot := &storev1.RebootRecord{State: &agentv1.RebootState{Pending: true, PendingSinceUnix: days(4.5),
		Signals: []*agentv1.RebootSignal{
			{Name: "wu_reboot_required", Present: true, Counts: true},
			{Name: "pending_file_rename", Present: true, Weak: true},
			{Name: "newer_kernel", Present: true, Counts: true},
		}}}
	age := func(d time.Duration) *alert.AgeParams { return &alert.AgeParams{After: d} }
	offline := ruleOf(alert.KindOffline, func(r *alert.Rule) { r.Offline = &alert.OfflineParams{After: 10 * time.Minute} })
	updates := ruleOf(alert.KindUpdatesPending, func(r *alert.Rule) { r.Updates = age(14 * 24 * time.Hour) })
	rebootRule := ruleOf(alert.KindRebootPending, func(r *alert.Rule) { r.Reboot = age(3 * 24 * time.Hour) })
	scan := func(n int) alert.Rule {
		return ruleOf(alert.KindScanFailing, func(r *alert.Rule) { r.Scan = &alert.ScanParams{Failures: n} })
	}
	check := func(p *alert.CheckParams) alert.Rule {
		return ruleOf(alert.KindCheckStatus, func(r *alert.Rule) { r.Check = p })
	}
	task := func(plugin string) alert.Rule {
		return ruleOf(alert.KindTaskFailed, func(r *alert.Rule) { r.Task = &alert.TaskParams{Plugin: plugin} })
	}
	tasks := []alert.TaskOutcome{
		{Task: "tk-1", Plugin: "reboot", Failed: true, At: now.Add(-2 * time.Hour), Detail: "server did not come back"},
		{Task: "tk-2", Plugin: "script", At: now.Add(-time.Hour)},
		{Task: "tk-0", Plugin: "reboot", At: now.Add(-3 * time.Hour)},
	}
	verify := ruleOf(alert.KindVerifyFailed, func(*alert.Rule) {})
	type obs func(e *alert.Evaluator) (alert.Observation, bool)
	tests := []struct {
		name string
		rule alert.Rule
		obs  obs
		want string
	}{
		{"offline 12m", offline, func(e *alert.Evaluator) (alert.Observation, bool) {
			return e.Offline(web01, now.Add(-12*time.Minute), now)
		}, `"" breach=true 720.0 offline for 12m (limit 10m)`},
		{"offline exactly 10m", offline, func(e *alert.Evaluator) (alert.Observation, bool) {
			return e.Offline(web01, now.Add(-10*time.Minute), now)
		}, `"" breach=false 600.0 online`},
		{"urgent updates over 14 days", updates, func(e *alert.Evaluator) (alert.Observation, bool) {
			return e.Updates(web01, alert.PatchStateOf(patches), now)
		}, `"" breach=true 1382400.0 2 critical/security updates pending, oldest 16d (limit 14d): KB5034441`},
		{"never scanned", updates, func(e *alert.Evaluator) (alert.Observation, bool) {
			return e.Updates(web01, nil, now)
		}, `"" breach=false 0.0 no critical/security update pending > 14d`},
		{"reboot over 3 days, with the reasons", rebootRule, func(e *alert.Evaluator) (alert.Observation, bool) {
			return e.Reboot(web01, reboot, now)
		}, `"" breach=true 388800.0 reboot pending for 4d (limit 3d): wu_reboot_required, newer_kernel`},
		{"no reboot record", rebootRule, func(e *alert.Evaluator) (alert.Observation, bool) {
			return e.Reboot(web01, nil, now)
		}, `"" breach=false 0.0 no reboot pending`},
		{"scan failing 3 times, rule says 2", scan(2), func(e *alert.Evaluator) (alert.Observation, bool) {
			return e.Scan(web01, alert.PatchStateOf(failing), now)
		}, `"" breach=true 3.0 patch scan failing: 3 failed in a row, last timeout: scanner killed after 30m`},
		{"scan failing 3 times, rule says 5", scan(5), func(e *alert.Evaluator) (alert.Observation, bool) {
			return e.Scan(web01, alert.PatchStateOf(failing), now)
		}, `"" breach=false 3.0 patch scan failing: 3 failed in a row, last timeout: scanner killed after 30m`},
		{"scan ok", scan(0), func(e *alert.Evaluator) (alert.Observation, bool) {
			return e.Scan(web01, alert.PatchStateOf(patches), now)
		}, `"" breach=false 0.0 patch scan OK`},
		{"check warning under a critical rule", check(nil), func(e *alert.Evaluator) (alert.Observation, bool) {
			return e.Check(web01, alert.CheckResult{Check: "smart", Level: alert.CheckWarning, Output: "reallocated sectors: 8"}, now)
		}, `"smart" breach=false 1.0 check smart warning: reallocated sectors: 8`},
		{"check warning under a warning rule", check(&alert.CheckParams{Level: alert.CheckWarning}), func(e *alert.Evaluator) (alert.Observation, bool) {
			return e.Check(web01, alert.CheckResult{Check: "smart", Level: alert.CheckWarning}, now)
		}, `"smart" breach=true 1.0 check smart warning`},
		{"check unknown counts when asked", check(&alert.CheckParams{Check: "sm*", Unknown: true}), func(e *alert.Evaluator) (alert.Observation, bool) {
			return e.Check(web01, alert.CheckResult{Check: "smart", Unknown: true}, now)
		}, `"smart" breach=true 0.0 check smart unknown`},
		{"check not selected", check(&alert.CheckParams{Check: "http-*"}), func(e *alert.Evaluator) (alert.Observation, bool) {
			return e.Check(web01, alert.CheckResult{Check: "smart", Level: alert.CheckCritical}, now)
		}, `skipped`},
		// A check with an id is keyed by it, so two checks of one name
		// never share an alert; the name stays in the detail.
		{"check keyed by id", check(nil), func(e *alert.Evaluator) (alert.Observation, bool) {
			return e.Check(web01, alert.CheckResult{ID: "ck-7", Check: "db", Level: alert.CheckCritical}, now)
		}, `"ck-7" breach=true 2.0 check db critical`},
		{"check selected by id", check(&alert.CheckParams{Check: "ck-7"}), func(e *alert.Evaluator) (alert.Observation, bool) {
			return e.Check(web01, alert.CheckResult{ID: "ck-7", Check: "db", Level: alert.CheckCritical}, now)
		}, `"ck-7" breach=true 2.0 check db critical`},
		{"latest reboot task failed", task("reboot"), func(e *alert.Evaluator) (alert.Observation, bool) {
			return e.Task(web01, tasks, now)
		}, `"" breach=true 0.0 task tk-1 (reboot) failed: server did not come back`},
		{"latest task of any plugin succeeded", task(""), func(e *alert.Evaluator) (alert.Observation, bool) {
			return e.Task(web01, tasks, now)
		}, `"" breach=false 0.0 task tk-2 (script) succeeded`},
		{"verification failed", verify, func(e *alert.Evaluator) (alert.Observation, bool) {
			return e.Verify(web01, &alert.Verification{Detail: "service nginx stopped"}, now)
		}, `"" breach=true 0.0 post-maintenance verification failed: service nginx stopped`},
		{"wrong kind", verify, func(e *alert.Evaluator) (alert.Observation, bool) {
			return e.Offline(web01, now.Add(-time.Hour), now)
		}, `skipped`},
	}
	// Every case runs on the reboot record as stored, then on its slim
	// copy (what the alerting engine keeps between evaluations): the
	// observations must not differ.
	for _, slim := range []bool{false, true} {
		if slim {
			reboot = alert.SlimRebootRecord(reboot)
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/slim=%v", tt.name, slim), func(t *testing.T) {
				o, ok := tt.obs(newEval(t, tt.rule, &clock{}))
				got := map[bool]string{true: "", false: "skipped"}[ok]
				got += map[bool]string{true: obsOne(o), false: ""}[ok]
				if got != tt.want {
					t.Errorf("got  %s\nwant %s", got, tt.want)
				}
			})
		}
	}
}

// TestPatchStateAndSlimRecords: a patch state keeps the urgent updates
// only, oldest first, each with its name; the slim reboot record keeps
// the signals that count; nil stays nil.
func TestPatchStateAndSlimRecords(t *testing.T) {
	if alert.PatchStateOf(nil) != nil || alert.SlimRebootRecord(nil) != nil {
		t.Fatal("nil record not kept nil")
	}
	full := &storev1.PatchRecord{AgentId: "ag-1", Source: "apt", Hash: make([]byte, 32), ScanUnixMs: 1, RequestId: "rq-1",
		Status: agentv1.ScanStatus_SCAN_STATUS_OK}
	for i := range 100 {
		u := &agentv1.PendingUpdate{Id: fmt.Sprintf("id%d", i), Package: fmt.Sprintf("pkg%d", i), Title: "an update with a long title",
			CurrentVersion: "1.2.3-1", AvailableVersion: "1.2.3-2+deb12u1", Origin: "Debian-Security", Advisories: []string{"DSA-1", "CVE-2026-1"},
			Classification: agentv1.Classification_CLASSIFICATION_UPDATE}
		if i%10 == 0 {
			u.Classification = agentv1.Classification_CLASSIFICATION_SECURITY
		}
		if i == 90 {
			u.Classification, u.Severity, u.Package, u.Kb = agentv1.Classification_CLASSIFICATION_UPDATE, agentv1.Severity_SEVERITY_CRITICAL, "", "KB90"
		}
		full.Pending = append(full.Pending, &storev1.TrackedUpdate{Update: u, FirstSeenUnix: int64(1000 - i)})
	}
	p := alert.PatchStateOf(full)
	var got []string
	for _, u := range p.Urgent {
		got = append(got, fmt.Sprintf("%s@%d", u.Name, u.FirstSeenUnix))
	}
	want := []string{"KB90@910", "pkg80@920", "pkg70@930", "pkg60@940", "pkg50@950", "pkg40@960", "pkg30@970", "pkg20@980", "pkg10@990", "pkg0@1000"}
	equal(t, got, want)
	if p.ScanUnixMs != 1 || p.Status != agentv1.ScanStatus_SCAN_STATUS_OK {
		t.Fatalf("scan outcome: %+v", p)
	}
	rb := alert.SlimRebootRecord(&storev1.RebootRecord{State: &agentv1.RebootState{Pending: true, Hash: make([]byte, 32),
		Signals: []*agentv1.RebootSignal{{Name: "weak", Present: true, Weak: true, Detail: "x"}, {Name: "reboot_required", Present: true, Counts: true, Detail: "y"}}}})
	if s := rb.GetState().GetSignals(); len(s) != 1 || s[0].GetName() != "reboot_required" || s[0].GetDetail() != "" || rb.GetState().GetHash() != nil {
		t.Errorf("slim reboot record: %v", rb)
	}
}

func obsOne(o alert.Observation) string { return obsString([]alert.Observation{o})[0] }

// TestOfflineDefaultRule runs the default offline rule end to end: an
// agent last seen at t0, evaluated every minute.
func TestOfflineDefaultRule(t *testing.T) {
	c := &clock{}
	e := newEval(t, alert.DefaultRules("acme")[0], c)
	var (
		st  alert.State
		got []string
	)
	lastSeen := t0
	for m := 0; m <= 20; m++ {
		c.now = t0.Add(time.Duration(m) * time.Minute)
		if m >= 15 {
			lastSeen = c.now // back online
		}
		o, _ := e.Offline(web01, lastSeen, c.now)
		for _, n := range e.Observe(&st, o) {
			got = append(got, fmt.Sprintf("%s %s: %s", clockOffset(n.At.Sub(t0)), n.Kind, n.Summary))
		}
	}
	equal(t, got, []string{
		"12m firing: offline for 12m (limit 10m) on web-01",
		"16m resolved: resolved: online on web-01 (rule offline > 10m)",
	})
}
