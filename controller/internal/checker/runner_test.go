package checker_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-rmm/vigil/controller/internal/check"
	"github.com/vigil-rmm/vigil/controller/internal/checker"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	"github.com/vigil-rmm/vigil/internal/netcheck"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

const iv = 5 * time.Minute

// fakeClock is the runner's clock in tests: time moves only when the
// test sets it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []clockWaiter
}

type clockWaiter struct {
	at time.Time
	ch chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) At(t time.Time) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if !t.After(c.now) {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, clockWaiter{at: t, ch: ch})
	return ch
}

// set moves the clock to t and fires the waiters it reached.
func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(t) {
			kept = append(kept, w)
			continue
		}
		w.ch <- t
	}
	c.waiters = kept
}

// fakeAgents answers agent vantages: a status per agent, or an error,
// and a certificate figure for the agents in certDays.
type fakeAgents struct {
	mu       sync.Mutex
	status   map[string]agentv1.CheckStatus
	err      map[string]error
	certDays map[string]int32
}

func (f *fakeAgents) Probe(_ context.Context, agentID, checkID string, _ *agentv1.CheckSpec) (*agentv1.CheckRunResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.err[agentID]; err != nil {
		return nil, err
	}
	st, ok := f.status[agentID]
	if !ok {
		return nil, errors.New("agent offline")
	}
	days, known := f.certDays[agentID]
	return &agentv1.CheckRunResult{CheckId: checkID, Status: st, LatencyUs: 1200, Detail: "seen by " + agentID,
		CertDaysLeft: days, CertDaysKnown: known}, nil
}

// checkerRig is a store on disk, a fake clock and a runner.
type checkerRig struct {
	t      *testing.T
	path   string
	st     store.Store
	clock  *fakeClock
	agents *fakeAgents
	wakes  atomic.Int64
	r      *checker.Runner
	stop   func()
	// workers and probe, when set, replace the defaults of the next start.
	workers int
	probe   func(*storev1.Check) netcheck.Probe
}

func newCheckerRig(t *testing.T) *checkerRig {
	t.Helper()
	g := &checkerRig{t: t, path: filepath.Join(t.TempDir(), "control.db"), clock: &fakeClock{now: t0},
		agents: &fakeAgents{status: map[string]agentv1.CheckStatus{}, err: map[string]error{}}}
	g.open()
	t.Cleanup(g.close)
	return g
}

func (g *checkerRig) open() {
	g.t.Helper()
	st, err := store.OpenBolt(g.path, store.BoltOptions{NoSync: true, Timeout: time.Second})
	if err != nil {
		g.t.Fatal(err)
	}
	if err := schema.Open(context.Background(), st); err != nil {
		g.t.Fatal(err)
	}
	g.st = st
}

// close stops the runner and closes the store.
func (g *checkerRig) close() {
	g.halt()
	if g.st != nil {
		g.st.Close()
		g.st = nil
	}
}

// start runs a new runner on the store.
func (g *checkerRig) start() {
	g.t.Helper()
	workers := 4
	if g.workers > 0 {
		workers = g.workers
	}
	g.r = checker.New(checker.Config{Store: g.st, Agents: g.agents, Workers: workers, Clock: g.clock, Probe: g.probe,
		Wake: func() { g.wakes.Add(1) }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); g.r.Run(ctx) }()
	g.stop = func() { cancel(); <-done }
}

func (g *checkerRig) halt() {
	if g.stop != nil {
		g.stop()
		g.stop = nil
	}
}

func (g *checkerRig) put(c *storev1.Check) {
	g.t.Helper()
	if err := g.st.Update(context.Background(), func(tx store.Tx) error { return schema.PutCheck(tx, c) }); err != nil {
		g.t.Fatal(err)
	}
}

func (g *checkerRig) results(id string) []*storev1.CheckResultRecord {
	g.t.Helper()
	var rs []*storev1.CheckResultRecord
	if err := g.st.View(context.Background(), func(tx store.Tx) error {
		var err error
		rs, err = schema.ListCheckResults(tx, id, 0)
		return err
	}); err != nil {
		g.t.Fatal(err)
	}
	return rs
}

func (g *checkerRig) state(id string) *storev1.CheckState {
	g.t.Helper()
	var s *storev1.CheckState
	if err := g.st.View(context.Background(), func(tx store.Tx) error {
		var err error
		s, err = schema.GetCheckState(tx, id)
		return err
	}); err != nil {
		g.t.Fatal(err)
	}
	return s
}

// notices returns the tenant's notifications, oldest first.
func (g *checkerRig) notices(tenant string) []*storev1.Notification {
	g.t.Helper()
	var out []*storev1.Notification
	if err := g.st.View(context.Background(), func(tx store.Tx) error {
		return schema.NotificationIDs(tx, tenant, 0, func(id string, _ int64) error {
			n, err := schema.GetNotification(tx, id)
			out = append(out, n)
			return err
		})
	}); err != nil {
		g.t.Fatal(err)
	}
	return out
}

func kinds(ns []*storev1.Notification) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.GetKind())
	}
	return out
}

// runAt moves the clock to at and waits until the check has want
// results in all.
func (g *checkerRig) runAt(id string, at time.Time, want int) []*storev1.CheckResultRecord {
	g.t.Helper()
	g.clock.set(at)
	return g.waitResults(id, want)
}

func (g *checkerRig) waitResults(id string, want int) []*storev1.CheckResultRecord {
	g.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		rs := g.results(id)
		if len(rs) >= want {
			if len(rs) > want {
				g.t.Fatalf("%s: %d results, want %d", id, len(rs), want)
			}
			return rs
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("%s: %d results after 15s, want %d", id, len(rs), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// firstSlot is the check's first slot at or after t0.
func firstSlot(id string) time.Time {
	s := t0.Truncate(iv).Add(check.Phase(id, iv))
	if s.Before(t0) {
		s = s.Add(iv)
	}
	return s
}

func tcpCheck(id, addr string) *storev1.Check {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	return &storev1.Check{Id: id, Tenant: "acme", Name: "db", IntervalSeconds: int64(iv / time.Second),
		Spec: &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_TCP, Target: host, Port: uint32(p), TimeoutMs: 2000}}
}

func listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func statusesOf(rs []*storev1.CheckResultRecord) []string {
	var out []string
	for _, r := range rs {
		out = append(out, checker.StatusName(r.GetStatus()))
	}
	return out
}

// TestRunnerOutageAndRecovery: a real TCP listener answers, then goes
// away just after a run at t: the next run fails without a notice, the
// one after (t + 2 intervals) sends the down notice; the listener comes
// back and the second good run sends the up notice.
func TestRunnerOutageAndRecovery(t *testing.T) {
	g := newCheckerRig(t)
	l := listen(t, "127.0.0.1:0")
	addr := l.Addr().String()
	const id = "ck-outage"
	g.put(tcpCheck(id, addr))
	g.start()
	s := firstSlot(id)

	g.runAt(id, s, 1)
	rs := g.runAt(id, s.Add(iv), 2)
	if got := statusesOf(rs); !slices.Equal(got, []string{"OK", "OK"}) {
		t.Fatalf("while listening: %v (%s)", got, rs[0].GetDetail())
	}
	outage := s.Add(iv + time.Second)
	g.clock.set(outage)
	l.Close()
	rs = g.runAt(id, s.Add(2*iv), 3)
	if rs[2].GetStatus() != agentv1.CheckStatus_CHECK_STATUS_NG || len(g.notices("acme")) != 0 {
		t.Fatalf("first failing run: %s %q, notices %v", statusesOf(rs)[2], rs[2].GetDetail(), kinds(g.notices("acme")))
	}
	g.runAt(id, s.Add(3*iv), 4)
	ns := g.notices("acme")
	if len(ns) != 1 || ns[0].GetKind() != "down" {
		t.Fatalf("after the second failing run: %v, want one down notice", kinds(ns))
	}
	down := ns[0]
	at := time.UnixMilli(down.GetCreatedUnixMs())
	if at.UnixMilli() != s.Add(3*iv).UnixMilli() || at.Sub(outage) > 2*iv {
		t.Errorf("down notice at %v, outage at %v: want the second failing run, within two intervals", at, outage)
	}
	wantSubject := "DOWN: tcp " + addr + " (from controller)"
	if down.GetSubject() != wantSubject || down.GetSource() != storev1.NotificationSource_NOTIFICATION_SOURCE_CHECK ||
		down.GetCheck() != id || down.GetTenant() != "acme" || len(down.GetContacts()) != 0 ||
		!strings.Contains(down.GetSummary(), "2 consecutive failed runs") || strings.Count(down.GetSummary(), "NG at") != 2 ||
		!strings.Contains(down.GetSummary(), "refused") {
		t.Errorf("down notice: %+v", down)
	}
	if g.wakes.Load() != 1 {
		t.Errorf("notifier woken %d times, want 1", g.wakes.Load())
	}
	if st := g.state(id).GetVantages()[0]; st.GetState() != "down" || st.GetSinceUnixMs() != s.Add(3*iv).UnixMilli() || st.GetOutage() != 1 {
		t.Errorf("state after the outage began: %+v", st)
	}

	l = listen(t, addr)
	defer l.Close()
	g.runAt(id, s.Add(4*iv), 5)
	if n := len(g.notices("acme")); n != 1 {
		t.Fatalf("one good run after the outage sent a notice (%d in all)", n)
	}
	g.runAt(id, s.Add(5*iv), 6)
	ns = g.notices("acme")
	if got := kinds(ns); !slices.Equal(got, []string{"down", "up"}) {
		t.Fatalf("notices %v, want down, up", got)
	}
	if ns[0].GetId() != checker.NoticeID(id, "controller", 1, s.Add(3*iv), "down") ||
		ns[1].GetId() != checker.NoticeID(id, "controller", 1, s.Add(3*iv), "up") || ns[1].GetAlertId() != ns[0].GetAlertId() {
		t.Errorf("up notice %q (incident %q), down %q (incident %q)", ns[1].GetId(), ns[1].GetAlertId(), ns[0].GetId(), ns[0].GetAlertId())
	}
}

// TestRunnerSuspendAndResume: a name under .invalid never resolves: four
// ERR runs suspend the check, which leaves the schedule; resume sends the
// resumed notice and runs it at once.
func TestRunnerSuspendAndResume(t *testing.T) {
	g := newCheckerRig(t)
	const id = "ck-nxdomain"
	c := tcpCheck(id, "127.0.0.1:1")
	c.Spec.Target = "nowhere.invalid"
	c.Contacts = []string{"ct-ops"}
	g.put(c)
	g.start()
	s := firstSlot(id)
	for i := range 4 {
		rs := g.runAt(id, s.Add(time.Duration(i)*iv), i+1)
		if rs[i].GetStatus() != agentv1.CheckStatus_CHECK_STATUS_ERR {
			t.Fatalf("run %d: %s %q, want ERR", i, checker.StatusName(rs[i].GetStatus()), rs[i].GetDetail())
		}
	}
	ns := g.notices("acme")
	if len(ns) != 1 || ns[0].GetKind() != "suspended" || !slices.Equal(ns[0].GetContacts(), []string{"ct-ops"}) ||
		strings.Count(ns[0].GetSummary(), "ERR at") != 4 || !strings.Contains(ns[0].GetSummary(), "vigilctl check resume "+id) {
		t.Fatalf("after four ERR: %+v", ns)
	}
	if g.r.Scheduled(id) {
		t.Fatal("a check suspended everywhere is still scheduled")
	}
	if st := g.state(id).GetVantages()[0]; !st.GetSuspended() || st.GetSuspendedUnixMs() != s.Add(3*iv).UnixMilli() {
		t.Fatalf("state: %+v", st)
	}
	// Hours pass: nothing runs.
	g.clock.set(s.Add(3 * time.Hour))
	time.Sleep(50 * time.Millisecond)
	if n := len(g.results(id)); n != 4 {
		t.Fatalf("%d results while suspended, want 4", n)
	}

	n, err := g.r.Resume(context.Background(), id, "alice")
	if err != nil || n != 1 {
		t.Fatalf("resume: %d %v", n, err)
	}
	rs := g.waitResults(id, 5) // at once: the clock has not moved
	if rs[4].GetStartUnixMs() != s.Add(3*time.Hour).UnixMilli() {
		t.Errorf("run after resume started at %v, want %v", time.UnixMilli(rs[4].GetStartUnixMs()), s.Add(3*time.Hour))
	}
	ns = g.notices("acme")
	if got := kinds(ns); !slices.Equal(got, []string{"suspended", "resumed"}) || !strings.Contains(ns[1].GetSummary(), "by alice") {
		t.Fatalf("notices %v: %+v", got, ns)
	}
	if !g.r.Scheduled(id) {
		t.Fatal("a resumed check is not scheduled")
	}
}

// TestRunnerRestartMidOutage stops the runner after one failing run and
// starts a new one on the same file: the next failure sends the down
// notice (the machine was restored), and only once.
func TestRunnerRestartMidOutage(t *testing.T) {
	g := newCheckerRig(t)
	l := listen(t, "127.0.0.1:0")
	const id = "ck-restart"
	g.put(tcpCheck(id, l.Addr().String()))
	g.start()
	s := firstSlot(id)
	g.runAt(id, s, 1)
	g.runAt(id, s.Add(iv), 2)
	l.Close()
	g.runAt(id, s.Add(2*iv), 3)

	g.close()
	g.open()
	g.clock.set(s.Add(2*iv + time.Minute))
	g.start()
	if st := g.state(id).GetVantages()[0]; st.GetState() != "up" || len(st.GetPending()) != 1 {
		t.Fatalf("persisted mid-outage state: %+v", st)
	}
	g.runAt(id, s.Add(3*iv), 4)
	g.runAt(id, s.Add(4*iv), 5)
	if got := kinds(g.notices("acme")); !slices.Equal(got, []string{"down"}) {
		t.Fatalf("notices after the restart: %v, want one down", got)
	}
}

// TestRunnerVantages: the controller sees the target up, one agent sees
// it down, another agent is offline. The down notice names the agent's
// vantage; the offline one records nothing and shows as unavailable.
func TestRunnerVantages(t *testing.T) {
	g := newCheckerRig(t)
	l := listen(t, "127.0.0.1:0")
	defer l.Close()
	const id = "ck-multi"
	c := tcpCheck(id, l.Addr().String())
	c.Vantages = []string{"controller", "agent:ag-x", "agent:ag-off"}
	g.put(c)
	g.agents.status["ag-x"] = agentv1.CheckStatus_CHECK_STATUS_NG
	g.agents.err["ag-off"] = errors.New("agent offline")
	g.start()
	s := firstSlot(id)
	g.runAt(id, s, 2)
	rs := g.runAt(id, s.Add(iv), 4)
	for _, r := range rs {
		if r.GetVantage() == "agent:ag-off" {
			t.Fatalf("an unavailable vantage recorded %+v", r)
		}
	}
	ns := g.notices("acme")
	if len(ns) != 1 || ns[0].GetKind() != "down" || ns[0].GetAgent() != "ag-x" ||
		!strings.HasSuffix(ns[0].GetSubject(), "(from agent:ag-x)") || !strings.Contains(ns[0].GetSummary(), "seen by ag-x") {
		t.Fatalf("notices: %+v", ns)
	}
	vs := map[string]*storev1.VantageState{}
	for _, v := range g.state(id).GetVantages() {
		vs[v.GetVantage()] = v
	}
	if vs["controller"].GetState() != "up" || vs["agent:ag-x"].GetState() != "down" || vs["agent:ag-off"].GetState() != "unknown" {
		t.Errorf("states: %v", vs)
	}
	if off := vs["agent:ag-off"]; off.GetUnavailableSinceUnixMs() != s.UnixMilli() || off.GetUnavailableReason() != "agent offline" {
		t.Errorf("offline vantage: %+v", off)
	}
}

// TestRunnerAgentCertDays: the certificate figure an agent reports is
// stored for an HTTPS check, a certificate that expires today (zero days)
// included, and dropped for any other check.
func TestRunnerAgentCertDays(t *testing.T) {
	g := newCheckerRig(t)
	web := &storev1.Check{Id: "ck-web", Tenant: "acme", Name: "web", IntervalSeconds: int64(iv / time.Second), Vantages: []string{"agent:ag-x"},
		Spec: &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_HTTP, Target: "https://web.corp.lan/", TimeoutMs: 2000}}
	db := tcpCheck("ck-db", "10.0.0.5:5432")
	db.Vantages = []string{"agent:ag-x"}
	g.put(web)
	g.put(db)
	g.agents.status["ag-x"] = agentv1.CheckStatus_CHECK_STATUS_OK
	g.agents.certDays = map[string]int32{"ag-x": 0}
	g.start()
	// Each at its first slot, the earlier first.
	got := map[string]*storev1.CheckResultRecord{}
	ids := []string{web.GetId(), db.GetId()}
	slices.SortFunc(ids, func(a, b string) int { return firstSlot(a).Compare(firstSlot(b)) })
	for _, id := range ids {
		got[id] = g.runAt(id, firstSlot(id), 1)[0]
	}
	if r := got[web.GetId()]; !r.GetHasCertDays() || r.GetCertDaysLeft() != 0 {
		t.Errorf("https check: %+v; want zero certificate days", r)
	}
	if r := got[db.GetId()]; r.GetHasCertDays() {
		t.Errorf("tcp check: %+v; want no certificate days", r)
	}
}

// TestRunnerVantageReAdded: a vantage removed from a check and added back
// starts with fresh counters, so its next outage is again outage 1. Its
// down notice must still be queued: the first outage's notice is in the
// queue under the same number.
func TestRunnerVantageReAdded(t *testing.T) {
	g := newCheckerRig(t)
	const id = "ck-readded"
	c := tcpCheck(id, "127.0.0.1:1") // only the agents probe it
	c.Vantages = []string{"agent:ag-x"}
	g.put(c)
	g.agents.status["ag-x"] = agentv1.CheckStatus_CHECK_STATUS_NG
	g.agents.status["ag-y"] = agentv1.CheckStatus_CHECK_STATUS_OK
	g.start()
	s := firstSlot(id)
	g.runAt(id, s, 1)
	g.runAt(id, s.Add(iv), 2)
	if got := kinds(g.notices("acme")); !slices.Equal(got, []string{"down"}) {
		t.Fatalf("first outage: notices %v, want down", got)
	}

	reload := func(vantages ...string) {
		t.Helper()
		c.Vantages = vantages
		g.put(c)
		if err := g.r.Reload(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	// ag-x leaves; a run stores a state without it.
	reload("agent:ag-y")
	g.runAt(id, s.Add(2*iv), 3)
	if vs := g.state(id).GetVantages(); len(vs) != 1 || vs[0].GetVantage() != "agent:ag-y" {
		t.Fatalf("state after the removal: %v", vs)
	}
	// ag-x comes back, sees the target down again.
	reload("agent:ag-y", "agent:ag-x")
	g.runAt(id, s.Add(3*iv), 5)
	g.runAt(id, s.Add(4*iv), 7)
	ns := g.notices("acme")
	if got := kinds(ns); !slices.Equal(got, []string{"down", "down"}) {
		t.Fatalf("after the vantage came back: notices %v, want down, down", got)
	}
	if ns[0].GetId() == ns[1].GetId() || ns[0].GetAlertId() == ns[1].GetAlertId() ||
		ns[1].GetId() != checker.NoticeID(id, "agent:ag-x", 1, s.Add(4*iv), "down") {
		t.Errorf("notice ids %q (%q) and %q (%q): want two outages", ns[0].GetId(), ns[0].GetAlertId(), ns[1].GetId(), ns[1].GetAlertId())
	}
	if g.wakes.Load() != 2 {
		t.Errorf("notifier woken %d times, want 2", g.wakes.Load())
	}
}

// TestPrune keeps results within the retention (the default, or the
// check's own) and deletes the rest.
func TestPrune(t *testing.T) {
	g := newCheckerRig(t)
	g.put(&storev1.Check{Id: "ck-default", Tenant: "acme"})
	g.put(&storev1.Check{Id: "ck-short", Tenant: "acme", RetentionDays: 2})
	g.put(&storev1.Check{Id: "ck-long", Tenant: "acme", RetentionDays: 500}) // capped at 90
	err := g.st.Update(context.Background(), func(tx store.Tx) error {
		for _, id := range []string{"ck-default", "ck-short", "ck-long"} {
			var rs []*storev1.CheckResultRecord
			for _, age := range []time.Duration{100 * 24 * time.Hour, 50 * 24 * time.Hour, 5 * 24 * time.Hour, time.Hour} {
				for range 3000 / 4 {
					rs = append(rs, &storev1.CheckResultRecord{Check: id, Vantage: "controller", StartUnixMs: t0.Add(-age).UnixMilli()})
				}
			}
			if _, err := schema.AppendCheckResults(tx, id, rs); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r := checker.New(checker.Config{Store: g.st, Clock: g.clock})
	n, err := r.Prune(context.Background())
	// default 10 days keeps 5d and 1h; 2 days keeps 1h; 90 days keeps all but 100d.
	if err != nil || n != 750*2+750*3+750 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	for id, want := range map[string]int{"ck-default": 1500, "ck-short": 750, "ck-long": 2250} {
		if got := len(g.results(id)); got != want {
			t.Errorf("%s keeps %d results, want %d", id, got, want)
		}
	}
}

func TestTally(t *testing.T) {
	day1 := time.Date(2026, 11, 2, 23, 59, 0, 0, time.UTC)
	day2 := day1.Add(2 * time.Minute)
	var tl checker.Tally
	add := func(at time.Time, v string, st agentv1.CheckStatus, n int) {
		for range n {
			tl.Add(&storev1.CheckResultRecord{Vantage: v, Status: st, StartUnixMs: at.UnixMilli()})
		}
	}
	add(day1, "controller", agentv1.CheckStatus_CHECK_STATUS_OK, 285)
	add(day1, "controller", agentv1.CheckStatus_CHECK_STATUS_NG, 2)
	add(day1, "controller", agentv1.CheckStatus_CHECK_STATUS_WR, 1)
	add(day1, "controller", agentv1.CheckStatus_CHECK_STATUS_ERR, 12)
	add(day1, "agent:ag-x", agentv1.CheckStatus_CHECK_STATUS_ERR, 3)
	add(day2, "controller", agentv1.CheckStatus_CHECK_STATUS_OK, 1)
	days := tl.Days()
	if len(days) != 3 || days[0].Vantage != "agent:ag-x" || days[1].Vantage != "controller" || days[2].Date != "2026-11-03" {
		t.Fatalf("days %+v", days)
	}
	if _, ok := days[0].Uptime(); ok {
		t.Errorf("a day of ERR only has an uptime")
	}
	if u, ok := days[1].Uptime(); !ok || u != 285*100.0/288 || days[1].ERR != 12 {
		t.Errorf("uptime %v %v, want %v (ERR excluded, counted %d)", u, ok, 285*100.0/288, days[1].ERR)
	}
	if u, _ := days[2].Uptime(); u != 100 {
		t.Errorf("day 2 uptime %v", u)
	}
}

// gateProbe blocks its first run until release is closed; every run is
// OK.
type gateProbe struct {
	first   *atomic.Bool
	release chan struct{}
}

func (p gateProbe) Run(ctx context.Context) netcheck.Result {
	if p.first.CompareAndSwap(true, false) {
		select {
		case <-p.release:
		case <-ctx.Done():
		}
	}
	return netcheck.Result{Status: netcheck.OK, Detail: "fine"}
}

// TestRunnerBehind: with one worker busy, a due check waits (the
// backlog counts it) and starts late; the lateness is its stretch.
func TestRunnerBehind(t *testing.T) {
	g := newCheckerRig(t)
	first := &atomic.Bool{}
	first.Store(true)
	release := make(chan struct{})
	g.workers = 1
	g.probe = func(*storev1.Check) netcheck.Probe { return gateProbe{first: first, release: release} }
	g.put(tcpCheck("ck-a", "127.0.0.1:1"))
	g.put(tcpCheck("ck-b", "127.0.0.1:1"))
	g.start()
	// The checks must be scheduled from t0, before the clock jumps.
	for !g.r.Scheduled("ck-a") || !g.r.Scheduled("ck-b") {
		time.Sleep(time.Millisecond)
	}
	sa, sb := firstSlot("ck-a"), firstSlot("ck-b")
	early, late := "ck-a", "ck-b"
	if sb.Before(sa) {
		early, late = late, early
		sa, sb = sb, sa
	}
	now := sb.Add(time.Minute)
	g.clock.set(now)
	deadline := time.Now().Add(10 * time.Second)
	for g.r.Backlog() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("backlog %d with the only worker busy, want 1", g.r.Backlog())
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	g.waitResults(early, 1)
	g.waitResults(late, 1)
	st, ok := g.r.Stretch(late)
	if !ok || st.Late != now.Sub(sb) {
		t.Fatalf("stretch of the waiting check: %+v, want %v late", st, now.Sub(sb))
	}
	if persisted := g.state(late); persisted.GetLateMs() != now.Sub(sb).Milliseconds() {
		t.Errorf("persisted lateness %dms, want %dms", persisted.GetLateMs(), now.Sub(sb).Milliseconds())
	}
	if g.r.Backlog() != 0 {
		t.Errorf("backlog %d after both ran", g.r.Backlog())
	}
}

// waiting counts the channels handed out by At that have not fired.
func (c *fakeClock) waiting() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// eventually fails the test if cond does not hold within 15 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 15s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRunnerRetriesLoad: a store whose checks cannot be read at start (a
// record that does not decode) stops nothing for good: the runner tries
// again with backoff and runs the checks once the load succeeds.
func TestRunnerRetriesLoad(t *testing.T) {
	g := newCheckerRig(t)
	const id = "ck-later"
	g.put(tcpCheck(id, "127.0.0.1:1"))
	bad := func(tx store.Tx) error { return tx.Put("checks/ck-broken", []byte{0xff, 0xff, 0xff}) }
	if err := g.st.Update(context.Background(), bad); err != nil {
		t.Fatal(err)
	}
	g.start()
	// Two failed loads: the runner waits LoadRetryMin, then twice that.
	eventually(t, "the runner never waits to load again", func() bool { return g.clock.waiting() == 1 })
	g.clock.set(t0.Add(checker.LoadRetryMin))
	eventually(t, "the runner gave up after one retry", func() bool { return g.clock.waiting() == 1 })
	if g.r.Scheduled(id) {
		t.Fatal("scheduled although the load failed")
	}

	fix := func(tx store.Tx) error { return tx.Delete("checks/ck-broken") }
	if err := g.st.Update(context.Background(), fix); err != nil {
		t.Fatal(err)
	}
	g.clock.set(t0.Add(3 * checker.LoadRetryMin))
	eventually(t, "the check is not scheduled after the store was repaired", func() bool { return g.r.Scheduled(id) })
	g.runAt(id, firstSlot(id).Add(iv), 1)
}

// TestRunnerPurgesDeletedCheck: deleting a check removes its definition
// and state in one small transaction; the runner deletes its results
// afterwards in batches, and leaves other checks' results alone.
func TestRunnerPurgesDeletedCheck(t *testing.T) {
	g := newCheckerRig(t)
	const gone, kept = "ck-gone", "ck-kept"
	n := 2*checker.PruneBatch + 7
	err := g.st.Update(context.Background(), func(tx store.Tx) error {
		for _, id := range []string{gone, kept} {
			c := tcpCheck(id, "127.0.0.1:1")
			c.Paused = true // only the purge touches the store
			if err := schema.PutCheck(tx, c); err != nil {
				return err
			}
			rs := make([]*storev1.CheckResultRecord, n)
			for i := range rs {
				rs[i] = &storev1.CheckResultRecord{Check: id, Vantage: "controller", StartUnixMs: t0.Add(-time.Duration(i) * time.Second).UnixMilli()}
			}
			if _, err := schema.AppendCheckResults(tx, id, rs); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	g.start()
	// The retention and purge loops have done their first pass and wait.
	eventually(t, "the runner's loops do not wait", func() bool { return g.clock.waiting() == 2 })
	if err := g.st.Update(context.Background(), func(tx store.Tx) error { return schema.DeleteCheck(tx, gone) }); err != nil {
		t.Fatal(err)
	}
	if got := len(g.results(gone)); got != n {
		t.Fatalf("%d results right after the delete, want all %d (deleted later)", got, n)
	}
	if err := g.r.Reload(context.Background(), gone); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deleted check's results are not deleted", func() bool { return len(g.results(gone)) == 0 })
	eventually(t, "the deleted check is still marked", func() bool {
		var ids []string
		if err := g.st.View(context.Background(), func(tx store.Tx) error {
			var err error
			ids, err = schema.DeletedChecks(tx)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return len(ids) == 0
	})
	if got := len(g.results(kept)); got != n {
		t.Errorf("the other check keeps %d results, want %d", got, n)
	}
}
