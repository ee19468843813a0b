package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/agent/internal/link"
	"github.com/vigil-rmm/vigil/agent/internal/outbox"
	"github.com/vigil-rmm/vigil/agent/internal/scanner"
	"github.com/vigil-rmm/vigil/internal/fdlimit"
	"github.com/vigil-rmm/vigil/internal/limits"
	"github.com/vigil-rmm/vigil/internal/pin"
	"github.com/vigil-rmm/vigil/internal/version"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// simOutbox is what a simulated agent needs from its outbox.
type simOutbox interface {
	link.Outbox
	Append(ctx context.Context, r *agentv1.Report) (uint64, error)
	Close() error
}

// recorder measures report-to-ack latency around an outbox.
type recorder struct {
	simOutbox
	st *stats

	mu      sync.Mutex
	pending map[uint64]time.Time
	onAck   map[uint64]func(time.Time) // tracked appends (task updates)
}

// appendTracked appends rep and calls appended with the time the append
// returned and acked with the time the controller's ack for it arrived.
// The lock is held across the append so that an ack cannot overtake the
// registration.
func (r *recorder) appendTracked(ctx context.Context, rep *agentv1.Report, appended, acked func(time.Time)) (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seq, err := r.simOutbox.Append(ctx, rep)
	if err != nil {
		return 0, err
	}
	now := time.Now()
	appended(now)
	r.pending[seq] = now
	if r.onAck == nil {
		r.onAck = map[uint64]func(time.Time){}
	}
	r.onAck[seq] = acked
	r.st.appended.Add(1)
	return seq, nil
}

func (r *recorder) Append(ctx context.Context, rep *agentv1.Report) (uint64, error) {
	seq, err := r.simOutbox.Append(ctx, rep)
	if err != nil {
		return 0, err
	}
	now := time.Now()
	r.mu.Lock()
	r.pending[seq] = now
	r.mu.Unlock()
	r.st.appended.Add(1)
	// The 1 kB bound is for the reports sent every interval (metrics) and
	// digests; full state reports are sent once per change.
	if n := proto.Size(rep); !isFullState(rep) && n > int(r.st.maxReport.Load()) {
		r.st.maxReport.Store(int64(n))
	}
	return seq, nil
}

func (r *recorder) Ack(ctx context.Context, seq uint64) error {
	// The latency ends when the ack arrives, before this simulated agent's
	// own outbox write: thousands of simulated outboxes share one disk
	// here, unlike real agents.
	now := time.Now()
	if err := r.simOutbox.Ack(ctx, seq); err != nil {
		return err
	}
	var lat []latency
	var cbs []func(time.Time)
	r.mu.Lock()
	for s, t := range r.pending {
		if s <= seq {
			lat = append(lat, latency{at: now, d: now.Sub(t)})
			delete(r.pending, s)
		}
	}
	for s, f := range r.onAck {
		if s <= seq {
			cbs = append(cbs, f)
			delete(r.onAck, s)
		}
	}
	r.mu.Unlock()
	for _, f := range cbs {
		f(now)
	}
	r.st.addLatencies(lat)
	return nil
}

type latency struct {
	at time.Time
	d  time.Duration
}

// stats are shared by every simulated agent.
type stats struct {
	appended  atomic.Uint64
	acked     atomic.Uint64
	maxReport atomic.Int64
	bytes     atomic.Uint64
	connected atomic.Int64
	connects  atomic.Int64

	mu  sync.Mutex
	lat []latency
}

func (s *stats) addLatencies(l []latency) {
	if len(l) == 0 {
		return
	}
	s.acked.Add(uint64(len(l)))
	s.mu.Lock()
	s.lat = append(s.lat, l...)
	s.mu.Unlock()
}

// countingConn counts bytes in both directions at the TCP level (TLS,
// HTTP/2 framing and keepalive pings included).
type countingConn struct {
	net.Conn
	n *atomic.Uint64
}

func (c countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.n.Add(uint64(n))
	return n, err
}

func (c countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.n.Add(uint64(n))
	return n, err
}

// sourceIP spreads agents over 127.2.0.1 - 127.2.x.y.
func sourceIP(i, n int) net.IP {
	idx := i % n
	return net.IPv4(127, 2, byte(idx/250), byte(idx%250+1))
}

// Report is the simulator's JSON output.
type Report struct {
	Agents          int     `json:"agents"`
	Interval        string  `json:"interval"`
	Ramp            string  `json:"ramp"`
	Duration        string  `json:"duration"`
	Outbox          string  `json:"outbox"`
	EnrollSeconds   float64 `json:"enroll_seconds"`
	Enrolled        int     `json:"enrolled_now"`
	ConnectedMax    int64   `json:"connected_max"`
	ConnectedAtEnd  int64   `json:"connected_at_end"`
	ReportsAppended uint64  `json:"reports_appended"`
	ReportsAcked    uint64  `json:"reports_acked"`
	MaxReportBytes  int64   `json:"max_report_bytes"`
	Reconnects      int64   `json:"reconnects"`
	// LastErrors counts, for the agents that reconnected, the error that
	// ended their last session (the first 120 bytes, digits masked).
	LastErrors map[string]int `json:"last_errors,omitempty"`
	// Steady is measured from ramp end plus one interval until the end or
	// the first disturbance (connected agents falling below 99%).
	Steady   Window    `json:"steady"`
	Recovery *Recovery `json:"recovery,omitempty"`
	Timeline []Point   `json:"timeline"`
	Started  time.Time `json:"started"`
	// Tasks is set with --trust-root.
	Tasks *TaskSummary `json:"tasks,omitempty"`
}

// Window summarises a measurement window.
type Window struct {
	FromSeconds         float64   `json:"from_s"`
	ToSeconds           float64   `json:"to_s"`
	AckLatencyMS        Quantiles `json:"ack_latency_ms"`
	WireBytes           uint64    `json:"wire_bytes"`
	BytesPerAgentPerDay float64   `json:"bytes_per_agent_per_day"`
	ReportsPerSecond    float64   `json:"reports_acked_per_s"`
}

// Quantiles of a latency distribution.
type Quantiles struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// Recovery describes how the fleet came back after a disturbance.
type Recovery struct {
	DisturbedAtSeconds float64 `json:"disturbed_at_s"`
	LowestConnected    int64   `json:"lowest_connected"`
	To99PctSeconds     float64 `json:"to_99pct_s"`
	// To100PctSeconds is -1 when not every agent was back by the end.
	To100PctSeconds float64 `json:"to_100pct_s"`
	// ConnectsPerSecond after the disturbance shows how backoff spread
	// the reconnects.
	ConnectsPerSecond []int64 `json:"connects_per_s"`
}

// Point is one second of the run.
type Point struct {
	T         float64 `json:"t"`
	Connected int64   `json:"connected"`
	Connects  int64   `json:"connects"`
	Bytes     uint64  `json:"bytes"`
	Acked     uint64  `json:"acked"`
}

// Run enrolls what is missing, runs the agents for o.Duration and reports.
func Run(ctx context.Context, o Options, logger *slog.Logger) (*Report, error) {
	// One socket per agent, plus one file each with the bolt outbox.
	need := uint64(o.Agents) + 256
	if o.OutboxKind == "bolt" {
		need += uint64(o.Agents)
	}
	if lim, err := fdlimit.Raise(need); err != nil || lim < need {
		return nil, fmt.Errorf("open-file limit %d is below the %d this run needs (ulimit -n); use fewer agents or --outbox memory", lim, need)
	}
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return nil, err
	}
	t0 := time.Now()
	ids, err := loadOrEnroll(ctx, o, logger)
	if err != nil {
		return nil, err
	}
	rep := &Report{Agents: o.Agents, Interval: o.Interval.String(), Ramp: o.Ramp.String(), Duration: o.Duration.String(),
		Outbox: o.OutboxKind, EnrollSeconds: time.Since(t0).Seconds(), Enrolled: ids.fresh}
	logger.Info("identities ready", "agents", len(ids.list), "enrolled_now", ids.fresh, "took", time.Since(t0).Round(time.Millisecond))

	obDir := filepath.Join(o.StateDir, "outbox")
	_ = os.RemoveAll(obDir)
	if o.OutboxKind == "bolt" {
		if err := os.MkdirAll(obDir, 0o700); err != nil {
			return nil, err
		}
	}
	roots := x509.NewCertPool()
	roots.AddCert(ids.ca)

	st := &stats{}
	var ts *taskStats
	if o.TrustRoot != "" {
		ts = &taskStats{}
	}
	runCtx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	start := time.Now()
	rep.Started = start.UTC()
	links := make([]*link.Link, o.Agents)
	var wg sync.WaitGroup
	var startErr atomic.Value
	for i := 0; i < o.Agents; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			delay := time.Duration(0)
			if o.Agents > 1 {
				delay = o.Ramp * time.Duration(i) / time.Duration(o.Agents)
			}
			select {
			case <-time.After(delay):
			case <-runCtx.Done():
				return
			}
			if err := runAgent(runCtx, o, i, ids.list[i], roots, st, ts, &links[i], obDir); err != nil {
				startErr.Store(err)
				cancel()
			}
		}()
	}

	// Sample once a second.
	var timeline []Point
	tick := time.NewTicker(time.Second)
	var prevConnects int64
loop:
	for {
		select {
		case <-runCtx.Done():
			break loop
		case now := <-tick.C:
			c := st.connects.Load()
			p := Point{T: now.Sub(start).Seconds(), Connected: st.connected.Load(), Connects: c - prevConnects,
				Bytes: st.bytes.Load(), Acked: st.acked.Load()}
			prevConnects = c
			timeline = append(timeline, p)
			rep.ConnectedMax = max(rep.ConnectedMax, p.Connected)
		}
	}
	tick.Stop()
	rep.ConnectedAtEnd = st.connected.Load()
	wg.Wait()
	if err, ok := startErr.Load().(error); ok && err != nil {
		return nil, err
	}
	for _, l := range links {
		if l == nil {
			continue
		}
		ls := l.Status()
		rep.Reconnects += ls.Reconnects
		if ls.Reconnects > 0 && ls.LastError != "" {
			if rep.LastErrors == nil {
				rep.LastErrors = map[string]int{}
			}
			rep.LastErrors[errorKind(ls.LastError)]++
		}
	}
	rep.ReportsAppended, rep.ReportsAcked, rep.MaxReportBytes = st.appended.Load(), st.acked.Load(), st.maxReport.Load()
	rep.Timeline = timeline
	summarise(rep, o, start, st.lat)
	if ts != nil {
		rep.Tasks = ts.summary()
	}
	return rep, nil
}

func runAgent(ctx context.Context, o Options, i int, id identity, roots *x509.CertPool, st *stats, ts *taskStats, slot **link.Link, obDir string) error {
	var ob simOutbox
	if o.OutboxKind == "bolt" {
		b, err := outbox.Open(filepath.Join(obDir, strconv.Itoa(i)+".db"), outbox.Options{MaxReports: 20000})
		if err != nil {
			return err
		}
		ob = b
	} else {
		ob = newMemOutbox()
	}
	defer ob.Close()
	rec := &recorder{simOutbox: ob, st: st, pending: map[uint64]time.Time{}}
	src := sourceIP(i, o.SourceIPs)
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 10 * time.Second}
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{id.cert}, RootCAs: roots, MinVersion: tls.VersionTLS13,
		ClientSessionCache: tls.NewLRUClientSessionCache(2)}
	caps := []string{version.CapMetrics, version.CapFacts, version.CapChecks}
	var sc *scanner.Scanner
	if o.Scans {
		var err error
		if sc, err = simScanner(o, i, rec); err != nil {
			return err
		}
		caps = append(caps, version.CapPatches, version.CapReboot, version.CapInventory, version.CapScanRequest)
	}
	var onTask func(*agentv1.TaskOffer)
	if ts != nil {
		rootPin, _ := pin.Parse(o.TrustRoot) // checked by validate
		ta := &taskAgent{rootPin: rootPin, agentID: id.id, tenant: id.tenant, rec: rec, st: ts, ctx: ctx, seen: map[string]bool{}}
		onTask = ta.offer
		caps = append(caps, version.CapTasks)
	}
	lk := link.New(link.Config{
		Address: o.Controller, TLS: tlsCfg, Outbox: rec, Logger: o.logger,
		BackoffBase: time.Second, BackoffMax: o.BackoffMax,
		Hello: func() *agentv1.Hello {
			return &agentv1.Hello{ProtocolVersion: version.Protocol, AgentVersion: "sim", Capabilities: caps}
		},
		DialOptions: []grpc.DialOption{grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, "tcp", addr)
			if err != nil {
				return nil, err
			}
			return countingConn{Conn: c, n: &st.bytes}, nil
		})},
		OnScan: func(r *agentv1.ScanRequest) {
			if sc != nil {
				sc.Request(r)
			}
		},
		OnTask: onTask,
		// A simulated vantage point answers every check at once with OK,
		// so a controller's checker can be exercised at fleet scale.
		OnCheck: func(run *agentv1.CheckRun) {
			res := &agentv1.CheckRunResult{RunId: run.GetRunId(), CheckId: run.GetCheckId(), Status: agentv1.CheckStatus_CHECK_STATUS_OK,
				StartUnixMs: time.Now().UnixMilli(), LatencyUs: 1000, Detail: "simulated"}
			limits.CleanCheckResult(res)
			if _, err := rec.Append(ctx, &agentv1.Report{Body: &agentv1.Report_Check{Check: res}}); err != nil {
				o.logger.Warn("sim: check result not queued", "agent", i, "err", err)
			}
		},
		OnState: func(up bool) {
			if up {
				st.connected.Add(1)
				st.connects.Add(1)
			} else {
				st.connected.Add(-1)
			}
		},
	})
	*slot = lk
	r := rand.New(rand.NewPCG(uint64(i), 42))
	if _, err := rec.Append(ctx, &agentv1.Report{Body: &agentv1.Report_Facts{Facts: &agentv1.Facts{
		Hostname: fmt.Sprintf("sim-%05d", i), Os: "linux", Platform: "debian", PlatformVersion: "12.7", KernelVersion: "6.1.0-28-amd64",
		Arch: "x86_64", AgentVersion: "sim", BootTimeUnix: time.Now().Add(-72 * time.Hour).Unix(), CpuCount: 4, CpuModel: "Simulated CPU"}}}); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = lk.Run(ctx) }()
	defer func() { <-done }()
	if sc != nil {
		scanDone := make(chan struct{})
		go func() { defer close(scanDone); _ = sc.Run(ctx) }()
		defer func() { <-scanDone }()
	}

	phase := time.Duration(r.Int64N(int64(o.Interval)))
	t := time.NewTimer(phase)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		t.Reset(o.Interval)
		if _, err := rec.Append(ctx, &agentv1.Report{Body: &agentv1.Report_Metrics{Metrics: sample(r)}}); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("agent %d: %w", i, err)
		}
	}
}

// sample is a realistic metrics message: a server with three volumes.
func sample(r *rand.Rand) *agentv1.Metrics {
	const gib = 1 << 30
	used := uint64(4*gib + r.Int64N(4*gib))
	return &agentv1.Metrics{
		CpuPercent: float32(r.Float64() * 40), Load1: float32(r.Float64() * 2), Load5: 0.8, Load15: 0.6,
		MemTotal: 16 * gib, MemUsed: used, MemAvailable: 16*gib - used, SwapTotal: 2 * gib, SwapUsed: uint64(r.Int64N(gib / 8)),
		UptimeSeconds: 259200 + uint64(r.Int64N(1000)),
		Volumes: []*agentv1.Volume{
			{Mount: "/", Fstype: "ext4", Total: 100 * gib, Used: 40 * gib, Free: 55 * gib},
			{Mount: "/var", Fstype: "xfs", Total: 500 * gib, Used: uint64(200*gib + r.Int64N(gib)), Free: 290 * gib},
			{Mount: "/boot", Fstype: "ext4", Total: gib, Used: gib / 4, Free: gib / 2},
		},
	}
}

func quantiles(ds []time.Duration) Quantiles {
	if len(ds) == 0 {
		return Quantiles{}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	q := func(p float64) float64 { return ms(ds[min(len(ds)-1, int(p*float64(len(ds))))]) }
	return Quantiles{Count: len(ds), P50: q(0.50), P90: q(0.90), P99: q(0.99), Max: ms(ds[len(ds)-1])}
}

func summarise(rep *Report, o Options, start time.Time, lat []latency) {
	tl := rep.Timeline
	if len(tl) == 0 {
		return
	}
	from := (o.Ramp + o.Interval).Seconds()
	to := tl[len(tl)-1].T
	target := int64(float64(o.Agents) * 0.99)
	reached := false
	for i, p := range tl {
		if p.Connected >= target {
			reached = true
		}
		if reached && p.T > from && p.Connected < target && rep.Recovery == nil {
			to = p.T - 1
			rec := &Recovery{DisturbedAtSeconds: p.T, LowestConnected: p.Connected, To99PctSeconds: -1, To100PctSeconds: -1}
			for _, q := range tl[i:] {
				rec.LowestConnected = min(rec.LowestConnected, q.Connected)
				rec.ConnectsPerSecond = append(rec.ConnectsPerSecond, q.Connects)
				if rec.To99PctSeconds < 0 && q.Connected >= target && q.T > p.T {
					rec.To99PctSeconds = q.T - p.T
				}
				if q.Connected >= int64(o.Agents) && q.T > p.T {
					rec.To100PctSeconds = q.T - p.T
					break
				}
			}
			rep.Recovery = rec
		}
	}
	w := Window{FromSeconds: from, ToSeconds: to}
	var ds []time.Duration
	for _, l := range lat {
		if t := l.at.Sub(start).Seconds(); t >= from && t <= to {
			ds = append(ds, l.d)
		}
	}
	w.AckLatencyMS = quantiles(ds)
	var b0, b1, a0, a1 uint64
	for _, p := range tl {
		if p.T <= from {
			b0, a0 = p.Bytes, p.Acked
		}
		if p.T <= to {
			b1, a1 = p.Bytes, p.Acked
		}
	}
	if secs := to - from; secs > 0 && b1 > b0 {
		w.WireBytes = b1 - b0
		w.BytesPerAgentPerDay = float64(b1-b0) / float64(o.Agents) / secs * 86400
		w.ReportsPerSecond = float64(a1-a0) / secs
	}
	rep.Steady = w
}

func isFullState(r *agentv1.Report) bool {
	return r.GetPatches() != nil || r.GetInventory() != nil || r.GetReboot() != nil
}

// errorKind shortens a link error for counting: digits (ports, addresses,
// durations) masked, at most 120 bytes.
func errorKind(s string) string {
	b := []byte(s[:min(len(s), 120)])
	for i, c := range b {
		if c >= '0' && c <= '9' {
			b[i] = '#'
		}
	}
	return string(b)
}
