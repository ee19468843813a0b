//go:build unix

package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/agent/internal/config"
	"github.com/vigil-rmm/vigil/agent/internal/pluginhost"
	"github.com/vigil-rmm/vigil/internal/envelope"
	"github.com/vigil-rmm/vigil/internal/pin"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	trustv1 "github.com/vigil-rmm/vigil/proto/vigil/trust/v1"
)

// fakeController is the controller's side of the agent stream, enough to
// offer tasks and read what the agent reports: real gRPC and mutual TLS on
// loopback, every report acknowledged at once.
type fakeController struct {
	agentv1.UnimplementedAgentServiceServer
	addr string

	mu      sync.Mutex
	hellos  []*agentv1.Hello
	reports map[uint64]*agentv1.Report
	acked   uint64
	offers  chan *agentv1.ControllerMessage
}

func (f *fakeController) Connect(stream agentv1.AgentService_ConnectServer) error {
	m, err := stream.Recv()
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.hellos = append(f.hellos, m.GetHello())
	committed := f.acked
	f.mu.Unlock()
	if err := stream.Send(&agentv1.ControllerMessage{Msg: &agentv1.ControllerMessage_Welcome{Welcome: &agentv1.Welcome{
		ProtocolVersion: 3, CommittedSeq: committed}}}); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				errc <- err
				return
			}
			r := m.GetReport()
			f.mu.Lock()
			f.reports[r.GetSeq()] = r
			f.acked = max(f.acked, r.GetSeq())
			f.mu.Unlock()
			if err := stream.Send(&agentv1.ControllerMessage{Msg: &agentv1.ControllerMessage_Ack{Ack: &agentv1.Ack{Seq: r.GetSeq()}}}); err != nil {
				errc <- err
				return
			}
		}
	}()
	for {
		select {
		case err := <-errc:
			return err
		case m := <-f.offers:
			if err := stream.Send(m); err != nil {
				return err
			}
		}
	}
}

// updates returns the task updates received for id, in sequence order.
func (f *fakeController) updates(id string) []*agentv1.TaskUpdate {
	f.mu.Lock()
	defer f.mu.Unlock()
	seqs := make([]uint64, 0, len(f.reports))
	for s := range f.reports {
		seqs = append(seqs, s)
	}
	slices.Sort(seqs)
	var out []*agentv1.TaskUpdate
	for _, s := range seqs {
		if u := f.reports[s].GetTask(); u != nil && u.GetTaskId() == id {
			out = append(out, u)
		}
	}
	return out
}

func (f *fakeController) lastHello() *agentv1.Hello {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.hellos) == 0 {
		return nil
	}
	return f.hellos[len(f.hellos)-1]
}

func (f *fakeController) helloCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.hellos)
}

// pki is a controller CA with a server and an agent certificate.
type pki struct {
	caPEM, serverCert, serverKey, agentCert, agentKey []byte
	caPin                                             string
}

func newPKI(t *testing.T, agentID string) *pki {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, cn string, server bool) ([]byte, []byte) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
		if server {
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalPKCS8PrivateKey(key)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	}
	p := &pki{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), caPin: pin.Of(ca)}
	p.serverCert, p.serverKey = leaf(2, "controller", true)
	p.agentCert, p.agentKey = leaf(3, agentID, false)
	return p
}

func startFakeController(t *testing.T, p *pki) *fakeController {
	t.Helper()
	pair, err := tls.X509KeyPair(p.serverCert, p.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.caPEM)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeController{addr: lis.Addr().String(), reports: map[uint64]*agentv1.Report{}, offers: make(chan *agentv1.ControllerMessage, 16)}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS13})))
	agentv1.RegisterAgentServiceServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return f
}

// buildBinaries builds the agent into dir and the test plugin, with its
// manifest, into pluginDir.
func buildBinaries(t *testing.T, dir, pluginDir string) (agent string) {
	t.Helper()
	agent = filepath.Join(dir, "vigil-agent")
	for pkg, out := range map[string]string{
		"github.com/vigil-rmm/vigil/agent/cmd/vigil-agent":           agent,
		"github.com/vigil-rmm/vigil/plugins/sdk/internal/testplugin": filepath.Join(pluginDir, "testplugin"),
	} {
		if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, b)
		}
	}
	if err := pluginhost.WriteManifest(filepath.Join(pluginDir, "manifest.json"), pluginDir, "testplugin"); err != nil {
		t.Fatal(err)
	}
	return agent
}

// TestKilledMidTaskIsInterrupted kills a real `vigil-agent run` with
// SIGKILL while a task runs, starts it again, and checks that the task is
// reported INTERRUPTED and never run again, also when offered again.
func TestKilledMidTaskIsInterrupted(t *testing.T) {
	if os.Getenv("VIGIL_SLOW_TESTS") == "" {
		t.Skip("builds and kills agent processes; set VIGIL_SLOW_TESTS=1")
	}
	const agentID, tenant = "ag-kill-1", "acme"
	dir := t.TempDir()
	// Plugins: the test plugin, recording its starts, runs and pids.
	pdir := filepath.Join(dir, "plugins")
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		t.Fatal(err)
	}
	agentBin := buildBinaries(t, dir, pdir)
	p := newPKI(t, agentID)
	ctl := startFakeController(t, p)
	runs, pids := filepath.Join(dir, "runs"), filepath.Join(dir, "pids")
	t.Cleanup(func() { killRecorded(pids) })

	// Keys and the state directory of an enrolled agent.
	rootPub, root, _ := envelope.GenerateKey()
	techPub, tech, _ := envelope.GenerateKey()
	now := time.Now()
	cert, err := envelope.Issue(root, &trustv1.CertificateBody{Principal: "alice", Role: envelope.RoleTechnician, PublicKey: techPub,
		NotBeforeUnix: now.Add(-time.Hour).Unix(), NotAfterUnix: now.Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	id, _ := json.Marshal(config.Identity{AgentID: agentID, Tenant: tenant, Controller: ctl.addr, CAPin: p.caPin, EnrolledAt: now})
	for name, data := range map[string][]byte{config.IdentityFile: id, config.CAFile: p.caPEM, config.CertFile: p.agentCert,
		config.KeyFile: p.agentKey} {
		if err := os.WriteFile(filepath.Join(state, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, _ := json.Marshal(map[string]any{
		"plugins": map[string]any{"dir": pdir, "env": []string{"VIGIL_TESTPLUGIN_RUNS=" + runs, "VIGIL_TESTPLUGIN_PIDS=" + pids}},
		"scans":   map[string]any{"disable": []string{"patches", "reboot", "inventory"}},
	})
	if err := os.WriteFile(filepath.Join(state, config.ConfigFile), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := config.SetTrustRoot(state, envelope.Fingerprint(rootPub)); err != nil {
		t.Fatal(err)
	}

	start := func() *exec.Cmd {
		cmd := exec.Command(agentBin, "run", "--state", state, "--log-level", "debug", "--backoff-max", "1s")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
		})
		return cmd
	}
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	hasState := func(id string, s agentv1.TaskState) func() bool {
		return func() bool {
			return slices.ContainsFunc(ctl.updates(id), func(u *agentv1.TaskUpdate) bool { return u.GetState() == s })
		}
	}

	agent := start()
	waitUntil("hello", func() bool { return ctl.lastHello() != nil })
	if h := ctl.lastHello(); h.GetTier() != config.TierProactive || !slices.Contains(h.GetCapabilities(), "tasks") {
		t.Fatalf("hello = %v, want tier proactive and capability tasks", h)
	}

	tk := &trustv1.Task{TaskId: envelope.NewTaskID(), Tenant: tenant, AgentId: agentID, Plugin: "testplugin",
		Parameters: map[string]string{"mode": "hang"}, NotBeforeUnix: now.Add(-time.Minute).Unix(), NotAfterUnix: now.Add(time.Hour).Unix(),
		Nonce: envelope.NewNonce(), TimeoutSeconds: 600}
	st, err := envelope.SignTask(tk, cert, tech)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := proto.Marshal(st)
	offer := &agentv1.ControllerMessage{Msg: &agentv1.ControllerMessage_Task{Task: &agentv1.TaskOffer{SignedTask: raw}}}
	ctl.offers <- offer
	waitUntil("RUNNING", hasState(tk.TaskId, agentv1.TaskState_TASK_STATE_RUNNING))
	waitUntil("the plugin's run", func() bool { return len(recorded(runs)) == 1 })

	// status shows the tier and the running task.
	waitUntil("status with the task", func() bool {
		var out, errb bytes.Buffer
		if err := cmdStatus([]string{"--state", state, "-o", "json"}, &out, &errb); err != nil {
			return false
		}
		var s agentStatus
		return json.Unmarshal(out.Bytes(), &s) == nil && s.Tier == config.TierProactive && s.Task != nil && s.Task.TaskID == tk.TaskId
	})

	if err := agent.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = agent.Wait()
	// The plugin dies with the agent (Linux: its parent-death signal).
	if runtime.GOOS == "linux" {
		waitUntil("the plugin to die with the agent", func() bool {
			for _, l := range recorded(pids) {
				if pid, _ := strconv.Atoi(l); pid > 1 && syscall.Kill(pid, 0) == nil && !zombie(pid) {
					return false
				}
			}
			return true
		})
	}
	killRecorded(pids)

	hellos := ctl.helloCount()
	agent = start()
	waitUntil("second hello", func() bool { return ctl.helloCount() > hellos })
	waitUntil("INTERRUPTED", hasState(tk.TaskId, agentv1.TaskState_TASK_STATE_INTERRUPTED))
	us := ctl.updates(tk.TaskId)
	if last := us[len(us)-1]; last.GetReason() != "the agent stopped while the task ran; it is not run again" {
		t.Fatalf("last update = %v", last)
	}

	// Offered again (the controller did not see the outcome): answered,
	// not run.
	n := len(us)
	ctl.offers <- offer
	waitUntil("the answer to the repeated offer", func() bool { return len(ctl.updates(tk.TaskId)) > n })
	us = ctl.updates(tk.TaskId)
	if last := us[len(us)-1]; last.GetState() != agentv1.TaskState_TASK_STATE_INTERRUPTED {
		t.Fatalf("repeated offer answered %v", last)
	}
	time.Sleep(500 * time.Millisecond)
	if r := recorded(runs); len(r) != 1 || r[0] != "testplugin "+tk.TaskId {
		t.Fatalf("plugin runs = %v, want exactly one", r)
	}

	// A cancel from the controller stops a running task.
	tk2 := proto.Clone(tk).(*trustv1.Task)
	tk2.TaskId, tk2.Nonce = envelope.NewTaskID(), envelope.NewNonce()
	st2, err := envelope.SignTask(tk2, cert, tech)
	if err != nil {
		t.Fatal(err)
	}
	raw2, _ := proto.Marshal(st2)
	ctl.offers <- &agentv1.ControllerMessage{Msg: &agentv1.ControllerMessage_Task{Task: &agentv1.TaskOffer{SignedTask: raw2}}}
	waitUntil("the second task RUNNING", hasState(tk2.TaskId, agentv1.TaskState_TASK_STATE_RUNNING))
	ctl.offers <- &agentv1.ControllerMessage{Msg: &agentv1.ControllerMessage_Cancel{Cancel: &agentv1.TaskCancel{
		TaskId: tk2.TaskId, Reason: "cancelled by alice"}}}
	waitUntil("CANCELLED", hasState(tk2.TaskId, agentv1.TaskState_TASK_STATE_CANCELLED))

	if err := agent.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := agent.Wait(); err != nil {
		t.Fatalf("agent exit: %v", err)
	}
}

// recorded reads a testplugin record file's lines.
func recorded(path string) []string {
	b, _ := os.ReadFile(path)
	return strings.FieldsFunc(string(b), func(r rune) bool { return r == '\n' })
}

// zombie reports whether pid has exited but was not reaped.
func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && len(b) > i+2 && b[i+2] == 'Z'
}

// killRecorded kills every testplugin process (and its group) recorded in
// path.
func killRecorded(path string) {
	for _, l := range recorded(path) {
		if pid, err := strconv.Atoi(l); err == nil && pid > 1 {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
}
