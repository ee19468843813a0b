package link

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/vigil-rmm/vigil/agent/internal/enroll"
	"github.com/vigil-rmm/vigil/agent/internal/outbox"
	"github.com/vigil-rmm/vigil/controller/controllertest"
	"github.com/vigil-rmm/vigil/internal/logging"
	"github.com/vigil-rmm/vigil/internal/version"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// recordingOutbox remembers the highest sequence the controller acknowledged.
type recordingOutbox struct {
	*outbox.Outbox
	mu     sync.Mutex
	maxAck uint64
}

func (r *recordingOutbox) Ack(ctx context.Context, seq uint64) error {
	if err := r.Outbox.Ack(ctx, seq); err != nil {
		return err
	}
	r.mu.Lock()
	r.maxAck = max(r.maxAck, seq)
	r.mu.Unlock()
	return nil
}

func (r *recordingOutbox) acked() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.maxAck
}

type ctlProcess struct {
	t         *testing.T
	bin, data string
	agentAddr string
	apiAddr   string
	cmd       *exec.Cmd
}

func (p *ctlProcess) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.bin, "run", "--data", p.data, "--agent-listen", p.agentAddr, "--api-listen", p.apiAddr, "--log-level", "warn")
	p.cmd.Stderr = os.Stderr
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	waitFor(p.t, "controller listening", 15*time.Second, func() bool {
		c, err := net.Dial("tcp", p.agentAddr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestAckedSurvivesKill9 kills the controller with SIGKILL while an agent
// streams reports, restarts it, and checks that every report the agent saw
// acknowledged is stored: the controller acks only after commit.
func TestAckedSurvivesKill9(t *testing.T) {
	if os.Getenv("VIGIL_SLOW_TESTS") == "" {
		t.Skip("builds and kills a controller process; set VIGIL_SLOW_TESTS=1")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "vigil-controller")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/vigil-rmm/vigil/controller/cmd/vigil-controller").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	p := &ctlProcess{t: t, bin: bin, data: filepath.Join(dir, "ctl"), agentAddr: freePort(t), apiAddr: freePort(t)}
	initOut, err := exec.Command(bin, "init", "--data", p.data, "--admin-config", filepath.Join(dir, "admin.json"), "--api-address", p.apiAddr).CombinedOutput()
	if err != nil {
		t.Fatalf("init: %v\n%s", err, initOut)
	}
	var pin string
	sc := bufio.NewScanner(strings.NewReader(string(initOut)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "ca-pin: "); ok {
			pin = v
		}
	}
	var admin struct {
		CAPEM string `json:"ca_pem"`
		Token string `json:"token"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "admin.json"))
	if err := json.Unmarshal(b, &admin); err != nil || pin == "" {
		t.Fatalf("admin config %v, pin %q", err, pin)
	}
	p.start()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(admin.CAPEM))
	conn, err := grpc.NewClient("passthrough:///"+p.apiAddr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool})),
		grpc.WithPerRPCCredentials(controllertest.Bearer(admin.Token)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	api := managev1.NewManageServiceClient(conn)
	ctx := context.Background()
	if _, err := api.CreateTenant(ctx, &managev1.CreateTenantRequest{Id: "acme"}); err != nil {
		t.Fatal(err)
	}
	tok, err := api.CreateEnrollToken(ctx, &managev1.CreateEnrollTokenRequest{Tenant: "acme", TtlSeconds: 600, Uses: 1})
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "agent")
	id, err := enroll.Enroll(ctx, enroll.Params{Controller: p.agentAddr, CAPin: pin, Token: tok.GetToken(), StateDir: state, Hostname: "k9"})
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := enroll.LoadTLS(state)
	if err != nil {
		t.Fatal(err)
	}
	ob, err := outbox.Open(filepath.Join(state, "outbox.db"), outbox.Options{MaxReports: 100000})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	rec := &recordingOutbox{Outbox: ob}
	lk := New(Config{Address: p.agentAddr, TLS: tlsCfg, Outbox: rec, Logger: logging.Discard(),
		BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		Hello: func() *agentv1.Hello { return &agentv1.Hello{ProtocolVersion: version.Protocol} }})
	lctx, stopLink := context.WithCancel(ctx)
	linkDone := make(chan struct{})
	go func() { defer close(linkDone); _ = lk.Run(lctx) }()

	// Produce reports as fast as the outbox takes them.
	pctx, stopProducer := context.WithCancel(ctx)
	prodDone := make(chan struct{})
	go func() {
		defer close(prodDone)
		for pctx.Err() == nil {
			_, _ = ob.Append(pctx, &agentv1.Report{Body: &agentv1.Report_Metrics{Metrics: &agentv1.Metrics{CpuPercent: 1, MemTotal: 2, MemUsed: 1}}})
		}
	}()
	waitFor(t, "300 reports acknowledged", 30*time.Second, func() bool { return rec.acked() >= 300 })

	if err := p.cmd.Process.Kill(); err != nil { // SIGKILL mid-ingest
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	stopLink()
	<-linkDone
	acked := rec.acked()
	stopProducer()
	<-prodDone

	p.start()
	resp, err := api.QueryMetrics(ctx, &managev1.QueryMetricsRequest{AgentId: id.AgentID, SinceUnixMs: 1})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[uint64]bool{}
	for _, s := range resp.GetSamples() {
		if stored[s.GetSeq()] {
			t.Fatalf("seq %d stored twice", s.GetSeq())
		}
		stored[s.GetSeq()] = true
	}
	for seq := uint64(1); seq <= acked; seq++ {
		if !stored[seq] {
			t.Fatalf("seq %d was acknowledged before the kill but is not stored (acked through %d, %d stored)", seq, acked, len(stored))
		}
	}
	t.Logf("acked through %d before SIGKILL; %d samples stored after restart", acked, len(stored))

	// The agent then delivers the rest, each exactly once.
	st, _ := ob.Stats(ctx)
	lctx2, stop2 := context.WithCancel(ctx)
	defer stop2()
	go func() { _ = lk.Run(lctx2) }()
	waitFor(t, "backlog delivered", 30*time.Second, func() bool {
		r, err := api.QueryMetrics(ctx, &managev1.QueryMetricsRequest{AgentId: id.AgentID, SinceUnixMs: 1})
		return err == nil && uint64(len(r.GetSamples())) == st.LastSeq
	})
}
