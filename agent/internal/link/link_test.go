package link

import (
	"context"
	"crypto/tls"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/agent/internal/outbox"
	"github.com/vigil-rmm/vigil/controller/controllertest"
	"github.com/vigil-rmm/vigil/internal/logging"
	"github.com/vigil-rmm/vigil/internal/version"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// rig is one agent identity with a real outbox and link against a real
// in-process controller.
type rig struct {
	t      *testing.T
	ctl    *controllertest.Controller
	agent  *controllertest.Agent
	obPath string
	ob     *outbox.Outbox
	lk     *Link
	cancel context.CancelFunc
	done   chan struct{}
}

func newRig(t *testing.T) *rig {
	c := controllertest.Start(t)
	c.Tenant(t, "acme")
	r := &rig{t: t, ctl: c, agent: c.EnrollAgent(t, "acme", "web-01"), obPath: filepath.Join(t.TempDir(), "outbox.db")}
	r.openOutbox()
	t.Cleanup(func() { r.stopLink(); r.ob.Close() })
	return r
}

func (r *rig) openOutbox() {
	ob, err := outbox.Open(r.obPath, outbox.Options{MaxReports: 100000})
	if err != nil {
		r.t.Fatal(err)
	}
	r.ob = ob
}

func (r *rig) startLink() {
	r.lk = New(Config{
		Address: r.ctl.AgentAddr, TLS: r.agent.TLS.Clone(), Outbox: r.ob, Logger: logging.Discard(),
		BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		Hello: func() *agentv1.Hello { return &agentv1.Hello{ProtocolVersion: version.Protocol, AgentVersion: "test"} },
	})
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go func() { defer close(r.done); _ = r.lk.Run(ctx) }()
}

func (r *rig) stopLink() {
	if r.cancel != nil {
		r.cancel()
		<-r.done
		r.cancel = nil
	}
}

func (r *rig) appendSample(cpu float32) {
	_, err := r.ob.Append(context.Background(), &agentv1.Report{Body: &agentv1.Report_Metrics{Metrics: &agentv1.Metrics{
		CpuPercent: cpu, MemTotal: 100, MemUsed: 50, Volumes: []*agentv1.Volume{{Mount: "/", Fstype: "ext4", Total: 10, Used: 4, Free: 6}}}}})
	if err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) samples() []*managev1.MetricSample {
	resp, err := r.ctl.Admin(r.t).QueryMetrics(context.Background(), &managev1.QueryMetricsRequest{AgentId: r.agent.ID, SinceUnixMs: 1})
	if err != nil {
		r.t.Fatal(err)
	}
	return resp.GetSamples()
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkExactlyOnce asserts the controller holds samples with seq 1..n, each
// once, in time order.
func checkExactlyOnce(t *testing.T, got []*managev1.MetricSample, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("controller has %d samples, want %d", len(got), n)
	}
	for i, s := range got {
		if s.GetSeq() != uint64(i+1) {
			t.Fatalf("sample %d has seq %d, want %d (duplicate, gap or reorder)", i, s.GetSeq(), i+1)
		}
		if float32(i+1) != s.GetMetrics().GetCpuPercent()*10 {
			t.Fatalf("sample seq %d carries the wrong payload", s.GetSeq())
		}
	}
}

func TestDeliveryAcrossControllerOutage(t *testing.T) {
	r := newRig(t)
	r.startLink()
	n := 0
	next := func() { n++; r.appendSample(float32(n) / 10) }
	for i := 0; i < 20; i++ {
		next()
	}
	waitFor(t, "first samples committed", 10*time.Second, func() bool { return len(r.samples()) == n })

	r.ctl.Stop()
	// The agent keeps sampling while the controller is down.
	for i := 0; i < 40; i++ {
		next()
		time.Sleep(5 * time.Millisecond)
	}
	waitFor(t, "link to notice the outage", 5*time.Second, func() bool { return !r.lk.Status().Connected })
	if st, _ := r.ob.Stats(context.Background()); st.Pending < 40 {
		t.Fatalf("outbox holds %d reports during the outage, want >= 40", st.Pending)
	}
	r.ctl.Restart(t)
	for i := 0; i < 10; i++ {
		next()
	}
	waitFor(t, "backlog delivered", 15*time.Second, func() bool { return len(r.samples()) >= n })
	waitFor(t, "outbox drained", 5*time.Second, func() bool { st, _ := r.ob.Stats(context.Background()); return st.Pending == 0 })
	checkExactlyOnce(t, r.samples(), n)
}

func TestDeliveryAcrossAgentRestart(t *testing.T) {
	r := newRig(t)
	r.startLink()
	n := 0
	for i := 0; i < 30; i++ {
		n++
		r.appendSample(float32(n) / 10)
	}
	// Stop abruptly mid-stream, reopen the outbox as a restarted agent would.
	time.Sleep(time.Duration(rand.IntN(30)) * time.Millisecond)
	r.stopLink()
	if err := r.ob.Close(); err != nil {
		t.Fatal(err)
	}
	r.openOutbox()
	for i := 0; i < 30; i++ {
		n++
		r.appendSample(float32(n) / 10)
	}
	r.startLink()
	waitFor(t, "all samples committed", 15*time.Second, func() bool { return len(r.samples()) >= n })
	checkExactlyOnce(t, r.samples(), n)
}

func TestRevocationClosesStream(t *testing.T) {
	r := newRig(t)
	r.startLink()
	r.appendSample(1)
	waitFor(t, "connected", 10*time.Second, func() bool { return r.lk.Status().Connected && len(r.samples()) == 1 })

	start := time.Now()
	if _, err := r.ctl.Admin(t).RevokeAgent(context.Background(), &managev1.RevokeAgentRequest{Id: r.agent.ID, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "stream closed", time.Second, func() bool { return !r.lk.Status().Connected })
	t.Logf("stream closed %s after revocation", time.Since(start).Round(time.Millisecond))
	waitFor(t, "controller shows the agent offline", time.Second, func() bool {
		on, _ := r.ctl.Server().Fleet().Online(r.agent.ID)
		return !on
	})
	// Reconnects are refused with PermissionDenied, and nothing new is stored.
	r.appendSample(2)
	time.Sleep(500 * time.Millisecond)
	st := r.lk.Status()
	if st.Connected || !strings.Contains(st.LastError, "PermissionDenied") {
		t.Fatalf("after revocation: %+v", st)
	}
	if got := len(r.samples()); got != 1 {
		t.Fatalf("revoked agent stored %d samples", got)
	}
}

func TestBackoffFullJitter(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	base, max := 100*time.Millisecond, 10*time.Second
	for attempt := 0; attempt < 40; attempt++ {
		ceil := base << uint(min(attempt, 20))
		if ceil > max || ceil <= 0 {
			ceil = max
		}
		var sum time.Duration
		const n = 400
		for i := 0; i < n; i++ {
			d := Backoff(base, max, attempt, rnd)
			if d < 0 || d > ceil {
				t.Fatalf("attempt %d: delay %s outside [0, %s]", attempt, d, ceil)
			}
			sum += d
		}
		// Full jitter: the mean is about half the ceiling, so reconnects spread.
		if mean := sum / n; mean < ceil*35/100 || mean > ceil*65/100 {
			t.Fatalf("attempt %d: mean %s not near %s/2", attempt, mean, ceil)
		}
	}
}

// TestSessionResumption checks that a reconnect after a controller restart
// resumes the TLS session (no full handshake), because the controller
// keeps its ticket keys and the agent its session cache.
func TestSessionResumption(t *testing.T) {
	r := newRig(t)
	var resumed []bool
	var mu sync.Mutex
	cfg := r.agent.TLS.Clone()
	cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		mu.Lock()
		resumed = append(resumed, cs.DidResume)
		mu.Unlock()
		return nil
	}
	r.agent.TLS = cfg
	r.startLink()
	r.appendSample(1)
	waitFor(t, "first session", 10*time.Second, func() bool { return len(r.samples()) == 1 })
	r.ctl.Restart(t)
	r.appendSample(2)
	waitFor(t, "second session", 10*time.Second, func() bool { return len(r.samples()) == 2 })
	mu.Lock()
	defer mu.Unlock()
	if len(resumed) < 2 || resumed[0] || !resumed[len(resumed)-1] {
		t.Fatalf("handshakes resumed: %v; want a full first handshake and a resumed one after the restart", resumed)
	}
}
