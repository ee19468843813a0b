package checkrunner

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-rmm/vigil/internal/netcheck/netchecktest"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// chanOutbox hands appended check results to the test.
type chanOutbox struct{ results chan *agentv1.CheckRunResult }

func (o *chanOutbox) Append(_ context.Context, r *agentv1.Report) (uint64, error) {
	o.results <- r.GetCheck()
	return 1, nil
}

// fakeClock is the rate limits' clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type runnerRig struct {
	r     *Runner
	ob    *chanOutbox
	clock *fakeClock
}

func newRunnerRig(t *testing.T, p Policy, res mapResolver) *runnerRig {
	t.Helper()
	rig := &runnerRig{ob: &chanOutbox{results: make(chan *agentv1.CheckRunResult, 16)},
		clock: &fakeClock{now: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}}
	var err error
	rig.r, err = New(Config{Outbox: rig.ob, Policy: p, Resolver: res, Now: rig.clock.Now, SlotWait: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = rig.r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return rig
}

func (rig *runnerRig) run(t *testing.T, runID, checkID string, spec *agentv1.CheckSpec) *agentv1.CheckRunResult {
	t.Helper()
	rig.r.Request(&agentv1.CheckRun{RunId: runID, CheckId: checkID, Spec: spec})
	select {
	case res := <-rig.ob.results:
		if res.GetRunId() != runID {
			t.Fatalf("result for run %q, want %q", res.GetRunId(), runID)
		}
		return res
	case <-time.After(10 * time.Second):
		t.Fatalf("no result for run %s", runID)
		return nil
	}
}

func tcp(host string, port int) *agentv1.CheckSpec {
	return &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_TCP, Target: host, Port: uint32(port), TimeoutMs: 2000}
}

func TestRunnerRunsAndRefuses(t *testing.T) {
	ln := netchecktest.Listen(t)
	closedPort := netchecktest.ClosedPort(t)
	untouched := netchecktest.Listen(t) // what refused runs name: never reached
	p := Policy{Vantage: true, Allow: rules(t, "127.0.0.0/8", "*.corp.lan"), Deny: rules(t, "127.0.0.2", "blocked.corp.lan")}
	rig := newRunnerRig(t, p, mapResolver{"svc.corp.lan": {"127.0.0.1"}, "svc.test": {"127.0.0.1"}, "blocked.corp.lan": {"127.0.0.1"}})
	cases := []struct {
		name    string
		check   string
		spec    *agentv1.CheckSpec
		status  agentv1.CheckStatus
		refused string // part of refused_reason; "" for a run
	}{
		{"open port", "c1", tcp("127.0.0.1", ln.Port), agentv1.CheckStatus_CHECK_STATUS_OK, ""},
		{"closed port", "c2", tcp("127.0.0.1", closedPort), agentv1.CheckStatus_CHECK_STATUS_NG, ""},
		{"allowed by name, reached through its address", "c3", tcp("svc.corp.lan", ln.Port), agentv1.CheckStatus_CHECK_STATUS_OK, ""},
		{"allowed by CIDR after resolving; the run uses that address", "c4", tcp("svc.test", ln.Port), agentv1.CheckStatus_CHECK_STATUS_OK, ""},
		{"a name in another case or absolute is pinned the same", "c4b", tcp("SVC.Test.", ln.Port), agentv1.CheckStatus_CHECK_STATUS_OK, ""},
		{"denied address", "c5", tcp("127.0.0.2", untouched.Port), agentv1.CheckStatus_CHECK_STATUS_ERR, "denied by checks.deny"},
		{"denied name", "c5b", tcp("blocked.corp.lan", untouched.Port), agentv1.CheckStatus_CHECK_STATUS_ERR, "denied by checks.deny entry \"blocked.corp.lan\""},
		{"not allowed", "c6", tcp("192.0.2.1", 80), agentv1.CheckStatus_CHECK_STATUS_ERR, "not in checks.allow"},
		{"malformed port", "c7", tcp("127.0.0.1", 0), agentv1.CheckStatus_CHECK_STATUS_ERR, "port: 0"},
		{"unknown type", "c8", &agentv1.CheckSpec{Type: 99, Target: "127.0.0.1"}, agentv1.CheckStatus_CHECK_STATUS_ERR, "type: 99"},
		{"no spec", "c9", nil, agentv1.CheckStatus_CHECK_STATUS_ERR, "spec: required"},
		{"long target", "c10", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_PING, Target: strings.Repeat("a", 3000)},
			agentv1.CheckStatus_CHECK_STATUS_ERR, "target: 3000 bytes"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := rig.run(t, "run"+strconv.Itoa(i), tc.check, tc.spec)
			if res.GetStatus() != tc.status || !strings.Contains(res.GetRefusedReason(), tc.refused) || (tc.refused == "") != (res.GetRefusedReason() == "") {
				t.Fatalf("result = %v; want %s refused for %q", res, tc.status, tc.refused)
			}
			if res.GetCheckId() != tc.check || res.GetStartUnixMs() == 0 {
				t.Fatalf("result = %v; want check %s and a start time", res, tc.check)
			}
		})
	}
	if n := untouched.Accepted(); n != 0 {
		t.Fatalf("refused runs reached their target %d times", n)
	}
}

func TestRunnerVantageDisabled(t *testing.T) {
	ln := netchecktest.Listen(t)
	rig := newRunnerRig(t, Policy{Vantage: false}, nil)
	res := rig.run(t, "r1", "c1", tcp("127.0.0.1", ln.Port))
	if res.GetStatus() != agentv1.CheckStatus_CHECK_STATUS_ERR || !strings.Contains(res.GetRefusedReason(), "checks.vantage") {
		t.Fatalf("result = %v; want refused, naming checks.vantage", res)
	}
	if ln.Accepted() != 0 {
		t.Fatal("a disabled agent probed the target")
	}
}

func TestRunnerIgnoresBadRunID(t *testing.T) {
	rig := newRunnerRig(t, Policy{Vantage: true}, nil)
	for _, id := range []string{"", strings.Repeat("x", 65), "a\nb"} {
		rig.r.Request(&agentv1.CheckRun{RunId: id, CheckId: "c", Spec: tcp("127.0.0.1", 1)})
	}
	res := rig.run(t, "good", "c", tcp("127.0.0.1", 0)) // queued after the bad ones
	if res.GetRunId() != "good" {
		t.Fatalf("first result is for run %q", res.GetRunId())
	}
}

func TestRunnerRateLimit(t *testing.T) {
	ln := netchecktest.Listen(t)
	rig := newRunnerRig(t, Policy{Vantage: true}, nil)
	if res := rig.run(t, "r1", "chk", tcp("127.0.0.1", ln.Port)); res.GetStatus() != agentv1.CheckStatus_CHECK_STATUS_OK {
		t.Fatalf("first run: %v", res)
	}
	rig.clock.Add(10 * time.Second)
	res := rig.run(t, "r2", "chk", tcp("127.0.0.1", ln.Port))
	if res.GetStatus() != agentv1.CheckStatus_CHECK_STATUS_ERR || !strings.Contains(res.GetRefusedReason(), "rate limited") {
		t.Fatalf("second run 10s later: %v; want refused, rate limited", res)
	}
	// The listener counts a connection after the run saw it complete.
	for deadline := time.Now().Add(2 * time.Second); ln.Accepted() < 1 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := ln.Accepted(); n != 1 {
		t.Fatalf("the target saw %d connections, want 1", n)
	}
	rig.clock.Add(PerCheckEvery)
	if res := rig.run(t, "r3", "chk", tcp("127.0.0.1", ln.Port)); res.GetStatus() != agentv1.CheckStatus_CHECK_STATUS_OK {
		t.Fatalf("run after the interval: %v", res)
	}
}

func TestRunnerConcurrencyCap(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	rig := newRunnerRig(t, Policy{Vantage: true, MaxConcurrent: 1}, nil)
	slow := &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_HTTP, Target: srv.URL, TimeoutMs: 5000}
	rig.r.Request(&agentv1.CheckRun{RunId: "slow", CheckId: "c-slow", Spec: slow})
	time.Sleep(100 * time.Millisecond) // the slow run takes the only slot
	res := rig.run(t, "second", "c-other", slow)
	if res.GetStatus() != agentv1.CheckStatus_CHECK_STATUS_ERR || !strings.Contains(res.GetRefusedReason(), "busy: 1 checks already running") {
		t.Fatalf("second run: %v; want refused as busy", res)
	}
	release <- struct{}{}
	select {
	case res := <-rig.ob.results:
		if res.GetRunId() != "slow" || res.GetStatus() != agentv1.CheckStatus_CHECK_STATUS_OK {
			t.Fatalf("slow run: %v", res)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("slow run never finished")
	}
}

func TestRunnerTimeout(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hang.Close()
	rig := newRunnerRig(t, Policy{Vantage: true}, nil)
	start := time.Now()
	res := rig.run(t, "r", "c", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_HTTP, Target: hang.URL, TimeoutMs: 300})
	if res.GetStatus() != agentv1.CheckStatus_CHECK_STATUS_WR || time.Since(start) > 5*time.Second {
		t.Fatalf("result = %v after %s; want WR at the spec's timeout", res, time.Since(start))
	}
}
