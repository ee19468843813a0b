package agentprobe_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/vigil-rmm/vigil/controller/controllertest"
	"github.com/vigil-rmm/vigil/controller/internal/agentapi"
	"github.com/vigil-rmm/vigil/controller/internal/agentprobe"
	"github.com/vigil-rmm/vigil/controller/internal/fleet"
	"github.com/vigil-rmm/vigil/controller/internal/ingest"
	"github.com/vigil-rmm/vigil/controller/internal/metrics"
	"github.com/vigil-rmm/vigil/controller/internal/pki"
	"github.com/vigil-rmm/vigil/internal/limits"
	"github.com/vigil-rmm/vigil/internal/logging"
	"github.com/vigil-rmm/vigil/internal/netcheck"
	"github.com/vigil-rmm/vigil/internal/netcheck/netchecktest"
	"github.com/vigil-rmm/vigil/internal/version"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// probeRig is the controller side of vantage checks over real gRPC and
// TLS on loopback: a fleet, the agent API, an ingest writer whose
// observer is the registry under test, on the store and CA of a real
// controller (which enrolls the agents).
type probeRig struct {
	ctl   *controllertest.Controller
	fleet *fleet.Fleet
	reg   *agentprobe.Registry
	addr  string
}

func newProbeRig(t *testing.T) *probeRig {
	t.Helper()
	ctl := controllertest.Start(t)
	ctl.Tenant(t, "acme")
	ca, srvCert, err := pki.Load(ctl.Dir)
	if err != nil {
		t.Fatal(err)
	}
	mdb, err := metrics.Open(filepath.Join(t.TempDir(), "metrics.db"), metrics.Options{Timeout: time.Second, Logger: logging.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	r := &probeRig{ctl: ctl, fleet: fleet.New(logging.Discard(), nil)}
	r.reg = agentprobe.New(r.fleet, logging.Discard())
	w := ingest.New(ctl.Server().Store(), mdb, ingest.Options{Observe: r.reg.Observe, Logger: logging.Discard()})
	ctx, cancel := context.WithCancel(context.Background())
	writerDone := make(chan struct{})
	go func() { w.Run(ctx); close(writerDone) }()

	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	srv := grpc.NewServer(grpc.Creds(agentapi.Credentials(&tls.Config{Certificates: []tls.Certificate{srvCert},
		ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool, MinVersion: tls.VersionTLS13})))
	agentv1.RegisterAgentServiceServer(srv, agentapi.New(agentapi.Config{Store: ctl.Server().Store(), Signer: ca, CACert: ca.Cert,
		Ingest: w, Fleet: r.fleet, Logger: logging.Discard()}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	served := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(served) }()
	t.Cleanup(func() {
		r.fleet.KickAll(fleet.ErrShutdown)
		srv.Stop()
		<-served
		cancel()
		<-writerDone
		mdb.Close()
	})
	return r
}

// answer is how a test agent answers a CheckRun: nil sends nothing.
type answer func(run *agentv1.CheckRun) *agentv1.CheckRunResult

// runSpec answers with a real run of the spec, as the agent does.
func runSpec(run *agentv1.CheckRun) *agentv1.CheckRunResult {
	p, err := netcheck.FromSpec(run.GetSpec())
	if err != nil {
		return &agentv1.CheckRunResult{RunId: run.GetRunId(), Status: agentv1.CheckStatus_CHECK_STATUS_ERR, RefusedReason: err.Error()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), netcheck.SpecTimeout(run.GetSpec()))
	defer cancel()
	return netcheck.ToRunResult(run.GetRunId(), run.GetCheckId(), p.Run(ctx))
}

// testAgent is an enrolled agent on a Connect stream of its own: it
// announces caps and answers each CheckRun with a report (sequence
// numbers from 1, reports stamped by reportTime).
type testAgent struct {
	id string
}

func (r *probeRig) connectAgent(t *testing.T, caps []string, ans answer, reportTime func() time.Time) *testAgent {
	t.Helper()
	a := r.ctl.EnrollAgent(t, "acme", "vantage-"+t.Name())
	conn, err := grpc.NewClient("passthrough:///"+r.addr, grpc.WithTransportCredentials(credentials.NewTLS(a.TLS)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := agentv1.NewAgentServiceClient(conn).Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&agentv1.AgentMessage{Msg: &agentv1.AgentMessage_Hello{Hello: &agentv1.Hello{
		ProtocolVersion: version.Protocol, Capabilities: caps, AgentVersion: "test"}}}); err != nil {
		t.Fatal(err)
	}
	if m, err := stream.Recv(); err != nil || m.GetWelcome() == nil {
		t.Fatalf("welcome: %v %v", m, err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex // one sender at a time
		seq  uint64
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		for {
			m, err := stream.Recv()
			if err != nil {
				return
			}
			run := m.GetCheck()
			if run == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := ans(run)
				if res == nil {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				seq++
				_ = stream.Send(&agentv1.AgentMessage{Msg: &agentv1.AgentMessage_Report{Report: &agentv1.Report{
					Seq: seq, TimeUnixMs: reportTime().UnixMilli(), Body: &agentv1.Report_Check{Check: res}}}})
			}()
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		wg.Wait()
		conn.Close()
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, online := r.fleet.Capabilities(a.ID); online {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("agent did not attach")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &testAgent{id: a.ID}
}

func tcpSpec(t *testing.T, port int) *agentv1.CheckSpec {
	t.Helper()
	return &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_TCP, Target: "127.0.0.1", Port: uint32(port), TimeoutMs: 2000}
}

func TestProbeThroughAgent(t *testing.T) {
	r := newProbeRig(t)
	a := r.connectAgent(t, []string{version.CapChecks}, runSpec, time.Now)
	ctx := t.Context()

	res, err := r.reg.Probe(ctx, a.id, "chk-open", tcpSpec(t, netchecktest.Listen(t).Port))
	if err != nil || res.GetStatus() != agentv1.CheckStatus_CHECK_STATUS_OK || res.GetCheckId() != "chk-open" || res.GetStartUnixMs() == 0 {
		t.Fatalf("open port: %v, %v; want OK", res, err)
	}
	res, err = r.reg.Probe(ctx, a.id, "chk-closed", tcpSpec(t, netchecktest.ClosedPort(t)))
	if err != nil || res.GetStatus() != agentv1.CheckStatus_CHECK_STATUS_NG || !strings.Contains(res.GetDetail(), "refused") {
		t.Fatalf("closed port: %v, %v; want NG, refused", res, err)
	}
	if n := r.reg.Waiting(); n != 0 {
		t.Fatalf("%d runs still waiting", n)
	}
}

func TestProbeAgentNotRunningChecks(t *testing.T) {
	r := newProbeRig(t)
	noCaps := r.connectAgent(t, []string{version.CapMetrics}, runSpec, time.Now)
	cases := []struct {
		name  string
		agent string
		want  error
	}{
		{"offline", "ag-nobody", agentprobe.ErrOffline},
		{"no checks capability", noCaps.id, agentprobe.ErrUnsupported},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			res, err := r.reg.Probe(t.Context(), tc.agent, "chk", tcpSpec(t, 80))
			if !errors.Is(err, tc.want) || res != nil {
				t.Fatalf("Probe = %v, %v; want %v", res, err, tc.want)
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("took %s; want an answer at once", d)
			}
		})
	}
	if n := r.reg.Waiting(); n != 0 {
		t.Fatalf("%d runs still waiting", n)
	}
}

func TestProbeRefusesInvalidSpec(t *testing.T) {
	r := newProbeRig(t)
	a := r.connectAgent(t, []string{version.CapChecks}, func(*agentv1.CheckRun) *agentv1.CheckRunResult {
		t.Error("the agent was sent an invalid spec")
		return nil
	}, time.Now)
	_, err := r.reg.Probe(t.Context(), a.id, "chk", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_TCP, Target: "127.0.0.1"})
	if !errors.Is(err, agentprobe.ErrInvalidSpec) || !strings.Contains(err.Error(), "port") {
		t.Fatalf("Probe = %v; want ErrInvalidSpec naming the port", err)
	}
}

func TestProbeNoAnswer(t *testing.T) {
	r := newProbeRig(t)
	agentprobe.SetMargin(r.reg, 200*time.Millisecond)
	silent := r.connectAgent(t, []string{version.CapChecks}, func(*agentv1.CheckRun) *agentv1.CheckRunResult { return nil }, time.Now)
	spec := tcpSpec(t, 80)
	spec.TimeoutMs = 100
	start := time.Now()
	_, err := r.reg.Probe(t.Context(), silent.id, "chk", spec)
	if !errors.Is(err, agentprobe.ErrNoAnswer) {
		t.Fatalf("Probe = %v; want ErrNoAnswer", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
		t.Fatalf("gave up after %s; want the timeout plus the margin (300ms)", d)
	}
}

// TestProbeStaleResult: a result stamped more than StaleCheckResult ago
// (an agent that was offline sends it after reconnecting) is committed
// but never given to a run.
func TestProbeStaleResult(t *testing.T) {
	r := newProbeRig(t)
	agentprobe.SetMargin(r.reg, time.Second)
	old := func() time.Time { return time.Now().Add(-ingest.StaleCheckResult - time.Minute) }
	a := r.connectAgent(t, []string{version.CapChecks}, runSpec, old)
	spec := tcpSpec(t, netchecktest.Listen(t).Port)
	spec.TimeoutMs = 500
	if res, err := r.reg.Probe(t.Context(), a.id, "chk", spec); !errors.Is(err, agentprobe.ErrNoAnswer) {
		t.Fatalf("Probe = %v, %v; want ErrNoAnswer for a stale result", res, err)
	}
}

// TestProbeCleansHostileResult: an agent's answer is hostile input.
func TestProbeCleansHostileResult(t *testing.T) {
	r := newProbeRig(t)
	a := r.connectAgent(t, []string{version.CapChecks}, func(run *agentv1.CheckRun) *agentv1.CheckRunResult {
		return &agentv1.CheckRunResult{RunId: run.GetRunId(), Status: 42, Detail: strings.Repeat("\x1b[31mred", 200), LatencyUs: -7}
	}, time.Now)
	res, err := r.reg.Probe(t.Context(), a.id, "chk", tcpSpec(t, 80))
	if err != nil {
		t.Fatal(err)
	}
	if res.GetStatus() != agentv1.CheckStatus_CHECK_STATUS_ERR || !strings.Contains(res.GetDetail(), "unknown status 42") ||
		len(res.GetDetail()) > limits.MaxCheckDetail || strings.ContainsRune(res.GetDetail(), 0x1b) || res.GetLatencyUs() != 0 {
		t.Fatalf("result = %v; want ERR naming the status, detail cleaned and cut", res)
	}
}
