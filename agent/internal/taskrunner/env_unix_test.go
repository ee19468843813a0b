//go:build unix

package taskrunner

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/agent/internal/config"
	"github.com/vigil-rmm/vigil/agent/internal/journal"
	"github.com/vigil-rmm/vigil/agent/internal/outbox"
	"github.com/vigil-rmm/vigil/agent/internal/pluginhost"
	"github.com/vigil-rmm/vigil/internal/envelope"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	trustv1 "github.com/vigil-rmm/vigil/proto/vigil/trust/v1"
)

var testPluginBin string

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "taskrunner-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	testPluginBin = filepath.Join(dir, "testplugin")
	cmd := exec.Command("go", "build", "-o", testPluginBin, "github.com/vigil-rmm/vigil/plugins/sdk/internal/testplugin")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build testplugin:", err)
		return 1
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			return 1
		}
	}
	return code
}

const (
	agentID = "ag-test-1"
	tenant  = "acme"
	// t0 is the fake clock's start.
	t0 = 1_800_000_000
)

// keys is an MSP's root, a technician and a client approver.
type keys struct {
	root     ed25519.PrivateKey
	pin      []byte
	tech     ed25519.PrivateKey
	techCert *trustv1.Certificate
	appr     ed25519.PrivateKey
	apprCert *trustv1.Certificate
}

func newKeys(t *testing.T) *keys {
	t.Helper()
	rootPub, root, err := envelope.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(rootPub)
	k := &keys{root: root, pin: sum[:]}
	issue := func(principal, role, ten string) (ed25519.PrivateKey, *trustv1.Certificate) {
		pub, key, err := envelope.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		c, err := envelope.Issue(root, &trustv1.CertificateBody{Principal: principal, Role: role, Tenant: ten, PublicKey: pub,
			NotBeforeUnix: t0 - 86400, NotAfterUnix: t0 + 30*86400})
		if err != nil {
			t.Fatal(err)
		}
		return key, c
	}
	k.tech, k.techCert = issue("alice", envelope.RoleTechnician, "")
	k.appr, k.apprCert = issue("bob", envelope.RoleClientApprover, tenant)
	return k
}

// task returns a task for the test agent running the testplugin in mode.
func task(mode string) *trustv1.Task {
	return &trustv1.Task{TaskId: envelope.NewTaskID(), Tenant: tenant, AgentId: agentID, Plugin: "testplugin",
		Parameters: map[string]string{"mode": mode}, NotBeforeUnix: t0 - 60, NotAfterUnix: t0 + 3600,
		Nonce: envelope.NewNonce(), CreatedBy: "alice", TimeoutSeconds: 30}
}

// sign signs t as the technician and, for a downtime task, the approver.
func (k *keys) sign(t *testing.T, tk *trustv1.Task) []byte {
	t.Helper()
	st, err := envelope.SignTask(tk, k.techCert, k.tech)
	if err != nil {
		t.Fatal(err)
	}
	if tk.GetDowntime() {
		st.Signatures = append(st.Signatures, envelope.Sign(st.GetTask(), k.apprCert, k.appr))
	}
	b, err := proto.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// env is one agent's state dir, plugins and runner.
type env struct {
	t       *testing.T
	dir     string // state dir
	pdir    string // plugin dir
	keys    *keys
	now     atomic.Int64
	boot    atomic.Int64
	outbox  *outbox.Outbox
	journal *journal.Journal
	host    *pluginhost.Host
	runner  *Runner
	stop    func()
}

// plugins in every test's manifest: the same test binary under several
// names (see the testplugin's doc), and one whose checksum is wrong.
var pluginNames = []string{"testplugin", "downtimeplug", "reboot", "inspectonly"}

func newEnv(t *testing.T, k *keys) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), pdir: t.TempDir(), keys: k}
	e.now.Store(t0)
	e.boot.Store(t0 - 7200)
	b, err := os.ReadFile(testPluginBin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	manifest := map[string]string{"broken": strings.Repeat("00", 32)}
	for _, name := range append(slices.Clone(pluginNames), "broken") {
		if err := os.WriteFile(filepath.Join(e.pdir, name), b, 0o755); err != nil {
			t.Fatal(err)
		}
		if name != "broken" {
			manifest[name] = hex.EncodeToString(sum[:])
		}
	}
	mb, _ := json.Marshal(manifest)
	if err := os.WriteFile(filepath.Join(e.pdir, "manifest.json"), mb, 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{e.t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// open opens the state files and the plugin host (only for tier's
// allowed plugins, as vigil-agent does).
func (e *env) open(tier string, scanners []string) {
	t := e.t
	t.Helper()
	var err error
	if e.outbox, err = outbox.Open(filepath.Join(e.dir, config.OutboxFile), outbox.Options{}); err != nil {
		t.Fatal(err)
	}
	if e.journal, err = journal.Open(filepath.Join(e.dir, config.JournalFile), journal.Options{}); err != nil {
		t.Fatal(err)
	}
	hc := pluginhost.Config{Dir: e.pdir, Manifest: filepath.Join(e.pdir, "manifest.json"), Logger: e.logger(),
		Env: []string{"VIGIL_TESTPLUGIN_STARTS=" + e.startsFile(), "VIGIL_TESTPLUGIN_RUNS=" + e.runsFile()}}
	if tier != config.TierProactive {
		hc.Only = scanners
	}
	if e.host, err = pluginhost.New(hc); err != nil {
		t.Fatal(err)
	}
}

// close closes what open opened.
func (e *env) close() {
	_ = e.host.Close()
	_ = e.journal.Close()
	_ = e.outbox.Close()
}

func (e *env) startsFile() string { return filepath.Join(e.pdir, "starts") }
func (e *env) runsFile() string   { return filepath.Join(e.pdir, "runs") }

// start opens everything and runs a Runner with cfg applied on top of the
// defaults; stop (also at cleanup) ends it and closes everything.
func (e *env) start(tier string, mod func(*Config)) {
	t := e.t
	t.Helper()
	e.open(tier, []string{"testplugin"})
	cfg := Config{Journal: e.journal, Plugins: HostPlugins{Host: e.host}, Outbox: e.outbox, Tier: tier, RootPin: e.keys.pin,
		AgentID: agentID, Tenant: tenant, BootTime: e.boot.Load, Now: func() time.Time { return time.Unix(e.now.Load(), 0) },
		Logger: e.logger(), PluginsFile: filepath.Join(e.dir, config.PluginsFile), ScannerPlugins: []string{"testplugin"}}
	if mod != nil {
		mod(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.runner = r
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := r.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			e.close()
		})
	}
	t.Cleanup(e.stop)
}

// updates returns every task update queued so far for id, in order.
func (e *env) updates(id string) []*agentv1.TaskUpdate {
	e.t.Helper()
	reps, err := e.outbox.Pending(context.Background(), 0, 100000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*agentv1.TaskUpdate
	for _, r := range reps {
		if u := r.GetTask(); u != nil && u.GetTaskId() == id {
			out = append(out, u)
		}
	}
	return out
}

// reports returns every report body of type T queued so far.
func reportsOf[T any](e *env, get func(*agentv1.Report) T, ok func(T) bool) []T {
	e.t.Helper()
	reps, err := e.outbox.Pending(context.Background(), 0, 100000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []T
	for _, r := range reps {
		if v := get(r); ok(v) {
			out = append(out, v)
		}
	}
	return out
}

// wait polls until id's updates include one in a state of want, and
// returns them all.
func (e *env) wait(id string, want ...agentv1.TaskState) []*agentv1.TaskUpdate {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		us := e.updates(id)
		for _, u := range us {
			if slices.Contains(want, u.GetState()) {
				return us
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("task %s: no update in %v; have %v", id, want, states(us))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitOutput polls until some update of id carries output.
func (e *env) waitOutput(id string) {
	e.t.Helper()
	waitFor(e.t, func() bool {
		return slices.ContainsFunc(e.updates(id), func(u *agentv1.TaskUpdate) bool { return len(u.GetOutput()) > 0 })
	})
}

func states(us []*agentv1.TaskUpdate) []agentv1.TaskState {
	var s []agentv1.TaskState
	for _, u := range us {
		s = append(s, u.GetState())
	}
	return s
}

// lines reads a testplugin record file (starts or runs).
func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(strings.ReplaceAll(string(b), " ", "/"))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// signTechOnly signs tk by the technician alone, whatever its flags.
func signTechOnly(k *keys, tk *trustv1.Task) ([]byte, error) {
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(tk)
	if err != nil {
		return nil, err
	}
	return proto.Marshal(&trustv1.SignedTask{Task: raw, Signatures: []*trustv1.Signature{envelope.Sign(raw, k.techCert, k.tech)}})
}

// readStat returns the state letter of pid from /proc.
func readStat(pid int) (byte, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || len(s) <= i+2 {
		return 0, fmt.Errorf("stat of %d unreadable", pid)
	}
	return s[i+2], nil
}
