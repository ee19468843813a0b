package main

// End-to-end tests of the three built binaries on loopback with real TLS,
// driven through vigilctl exactly as the README's quickstart. Slow (they
// build the binaries); run with VIGIL_SLOW_TESTS=1, as make test does.

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

func binaries(t *testing.T) string {
	t.Helper()
	if os.Getenv("VIGIL_SLOW_TESTS") == "" {
		t.Skip("end-to-end test; set VIGIL_SLOW_TESTS=1 (make test does)")
	}
	buildOnce.Do(func() {
		// The race-enabled binaries otherwise sleep a second at exit,
		// which every vigilctl call would pay; races are still reported.
		os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
		binDir, buildErr = os.MkdirTemp("", "vigil-e2e-bin-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-race", "-o", binDir+"/",
			"github.com/vigil-rmm/vigil/controller/cmd/vigil-controller",
			"github.com/vigil-rmm/vigil/agent/cmd/vigil-agent",
			"github.com/vigil-rmm/vigil/console/cmd/vigilctl")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		buildErr = buildPlugins(filepath.Join(binDir, "plugins"), "pkgupdate", "script", "reboot", "service")
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// buildPlugins builds the named plugins into dir, next to the agent as
// make build lays them out, with their checksum manifest.
func buildPlugins(dir string, names ...string) error {
	manifest := map[string]string{}
	for _, name := range names {
		bin := filepath.Join(dir, name)
		out, err := exec.Command("go", "build", "-race", "-o", bin, "github.com/vigil-rmm/vigil/plugins/cmd/vigil-plugin-"+name).CombinedOutput()
		if err != nil {
			return fmt.Errorf("go build %s: %v\n%s", name, err, out)
		}
		b, err := os.ReadFile(bin)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		manifest[name] = hex.EncodeToString(sum[:])
	}
	b, err := json.Marshal(manifest)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// world is one controller and its admin config in a temp dir.
type world struct {
	t                  *testing.T
	bin, dir           string
	agentAddr, apiAddr string
	pin                string
	ctl                *exec.Cmd
	agents             map[string]*exec.Cmd
	ctlLog             *bytes.Buffer
}

func newWorld(t *testing.T) *world {
	w := &world{t: t, bin: binaries(t), dir: t.TempDir(), agentAddr: freeAddr(t), apiAddr: freeAddr(t), agents: map[string]*exec.Cmd{}}
	out := w.run(0, "vigil-controller", "init", "--data", w.path("ctl"), "--admin-config", w.path("admin.json"), "--api-address", w.apiAddr)
	m := regexp.MustCompile(`(?m)^ca-pin: (sha256:[0-9a-f]{64})$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("init printed no ca-pin line:\n%s", out)
	}
	w.pin = m[1]
	// The pin can be printed again later, and it is the same.
	if again := w.run(0, "vigil-controller", "ca-pin", "--data", w.path("ctl")); strings.TrimSpace(again) != "ca-pin: "+w.pin {
		t.Fatalf("ca-pin printed %q, init printed %q", again, w.pin)
	}
	t.Cleanup(w.stopAll)
	return w
}

func (w *world) path(p string) string { return filepath.Join(w.dir, p) }

// run runs a binary to completion and checks its exit code.
func (w *world) run(wantCode int, name string, args ...string) string {
	w.t.Helper()
	cmd := exec.Command(filepath.Join(w.bin, name), args...)
	cmd.Env = append(os.Environ(), "VIGIL_CONFIG="+w.path("admin.json"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatalf("%s: %v", name, err)
	}
	if code != wantCode {
		w.t.Fatalf("%s %s: exit %d, want %d\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), code, wantCode, stdout.String(), stderr.String())
	}
	return stdout.String() + stderr.String()
}

func (w *world) ctlJSON(v any, args ...string) {
	w.t.Helper()
	out := w.run(0, "vigilctl", append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		w.t.Fatalf("vigilctl %v: bad JSON: %v\n%s", args, err, out)
	}
}

func (w *world) startController() {
	w.t.Helper()
	w.ctlLog = &bytes.Buffer{}
	w.ctl = exec.Command(filepath.Join(w.bin, "vigil-controller"), "run", "--data", w.path("ctl"),
		"--agent-listen", w.agentAddr, "--api-listen", w.apiAddr)
	w.ctl.Stdout, w.ctl.Stderr = w.ctlLog, w.ctlLog
	if err := w.ctl.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.waitFor("controller API", 15*time.Second, func() bool {
		cmd := exec.Command(filepath.Join(w.bin, "vigilctl"), "--config", w.path("admin.json"), "whoami")
		return cmd.Run() == nil
	})
}

// term sends SIGTERM and returns how long the process took to exit.
func term(t *testing.T, cmd *exec.Cmd) time.Duration {
	t.Helper()
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("%s exited with %v after SIGTERM", filepath.Base(cmd.Path), err)
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("%s did not exit within 10s of SIGTERM", filepath.Base(cmd.Path))
	}
	return time.Since(start)
}

func (w *world) stopAll() {
	for _, a := range w.agents {
		if a.ProcessState == nil {
			_ = a.Process.Kill()
			_ = a.Wait()
		}
	}
	if w.ctl != nil && w.ctl.ProcessState == nil {
		_ = w.ctl.Process.Kill()
		_ = w.ctl.Wait()
	}
}

func (w *world) waitFor(what string, d time.Duration, cond func() bool) time.Duration {
	w.t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			w.t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

func (w *world) enrollAgent(state, tenant string) string {
	w.t.Helper()
	var tok struct {
		Token string `json:"token"`
	}
	w.ctlJSON(&tok, "token", "create", "--tenant", tenant, "--ttl", "1h", "--uses", "1")
	w.run(0, "vigil-agent", "enroll", "--controller", w.agentAddr, "--ca-pin", w.pin, "--token", tok.Token, "--state", w.path(state))
	var id struct {
		AgentID string `json:"agent_id"`
	}
	b, err := os.ReadFile(w.path(state + "/identity.json"))
	if err != nil {
		w.t.Fatal(err)
	}
	_ = json.Unmarshal(b, &id)
	return id.AgentID
}

func (w *world) startAgent(state string) {
	w.t.Helper()
	cmd := exec.Command(filepath.Join(w.bin, "vigil-agent"), "run", "--state", w.path(state), "--metrics-interval", "1s", "--backoff-max", "1s")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.agents[state] = cmd
}

type agentJSON struct {
	ID           string     `json:"id"`
	Tenant       string     `json:"tenant"`
	Hostname     string     `json:"hostname"`
	OS           string     `json:"os"`
	AgentVersion string     `json:"agent_version"`
	Online       bool       `json:"online"`
	LastSeen     *time.Time `json:"last_seen"`
	Revoked      bool       `json:"revoked"`
}

type sampleJSON struct {
	Time       time.Time `json:"time"`
	Seq        uint64    `json:"seq"`
	CPUPercent float64   `json:"cpu_percent"`
	MemTotal   uint64    `json:"mem_total"`
	Volumes    []struct {
		Mount string `json:"mount"`
		Total uint64 `json:"total"`
	} `json:"volumes"`
}

func (w *world) samples(id string) []sampleJSON {
	var s []sampleJSON
	w.ctlJSON(&s, "metrics", id, "--since", "1h")
	return s
}

func TestQuickstart(t *testing.T) {
	w := newWorld(t)
	w.startController()
	w.run(0, "vigilctl", "tenant", "create", "acme", "--name", "ACME Ltd", "--timezone", "Europe/Paris")
	id := w.enrollAgent("agent1", "acme")
	start := time.Now()
	w.startAgent("agent1")

	took := w.waitFor("metrics visible through vigilctl", 20*time.Second, func() bool { return len(w.samples(id)) > 0 })
	t.Logf("first sample visible %s after the agent started", took.Round(time.Millisecond))

	var agents []agentJSON
	w.ctlJSON(&agents, "agents", "list")
	host, _ := os.Hostname()
	if len(agents) != 1 || agents[0].ID != id || agents[0].Tenant != "acme" || !agents[0].Online || agents[0].Hostname != host ||
		agents[0].LastSeen == nil || agents[0].OS == "" || agents[0].AgentVersion == "" {
		t.Fatalf("agents list: %+v", agents)
	}
	var detail struct {
		Agent  agentJSON                       `json:"agent"`
		Facts  struct{ Hostname, Arch string } `json:"facts"`
		Latest *sampleJSON                     `json:"latest"`
	}
	w.ctlJSON(&detail, "agents", "show", id)
	if detail.Facts.Hostname != host || detail.Latest == nil || detail.Latest.MemTotal == 0 || len(detail.Latest.Volumes) == 0 {
		t.Fatalf("agents show: %+v", detail)
	}
	if since := time.Since(detail.Latest.Time); since < -time.Minute || since > time.Minute+time.Since(start) {
		t.Fatalf("latest sample time %s is off", detail.Latest.Time)
	}

	// CSV: header plus at least one row per sample.
	out := w.run(0, "vigilctl", "metrics", id, "--since", "1h", "-o", "csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) < 2 || rows[0][0] != "time" || rows[0][12] != "volume_mount" {
		t.Fatalf("csv: %v\n%s", err, out)
	}

	// Exit codes: usage 2, refused by the controller 1.
	w.run(2, "vigilctl", "agents", "frobnicate")
	w.run(2, "vigilctl", "metrics", id, "-o", "xml")
	w.run(1, "vigilctl", "agents", "show", "ag-doesnotexist000")
	w.run(1, "vigilctl", "tenant", "create", "acme")
	w.run(2, "vigil-agent", "run")

	// A client viewer of another tenant sees nothing of acme.
	w.run(0, "vigilctl", "tenant", "create", "other")
	w.run(0, "vigilctl", "principal", "create", "eve", "--role", "client-viewer", "--tenant", "other", "--write-config", w.path("eve.json"))
	evil := w.run(1, "vigilctl", "--config", w.path("eve.json"), "agents", "show", id)
	if !strings.Contains(evil, "NotFound") {
		t.Fatalf("other tenant's viewer: %s", evil)
	}
	// A leaked token is revoked and stops working at once.
	w.run(0, "vigilctl", "principal", "revoke", "eve")
	if out := w.run(1, "vigilctl", "--config", w.path("eve.json"), "whoami"); !strings.Contains(out, "Unauthenticated") {
		t.Fatalf("revoked principal: %s", out)
	}

	// Revocation through the CLI: offline within a second, reconnects refused.
	w.run(0, "vigilctl", "agents", "revoke", id, "--reason", "decommissioned")
	w.waitFor("revoked agent offline", time.Second, func() bool {
		w.ctlJSON(&agents, "agents", "list")
		return agents[0].Revoked && !agents[0].Online
	})

	// SIGTERM: both sides exit within a few seconds.
	if d := term(t, w.agents["agent1"]); d > 5*time.Second {
		t.Errorf("agent took %s to stop", d)
	}
	if d := term(t, w.ctl); d > 5*time.Second {
		t.Errorf("controller took %s to stop", d)
	}
}

// checkSeries checks samples are unique and ordered by seq and time, and
// that consecutive samples are at most maxGap apart unless the gap spans
// the agent's own downtime [down, up]: the samples taken while the
// controller was away must all have been delivered.
func checkSeries(t *testing.T, s []sampleJSON, maxGap time.Duration, down, up time.Time) {
	t.Helper()
	for i := 1; i < len(s); i++ {
		if s[i].Seq <= s[i-1].Seq {
			t.Fatalf("sample %d: seq %d after %d (duplicate or reorder)", i, s[i].Seq, s[i-1].Seq)
		}
		gap := s[i].Time.Sub(s[i-1].Time)
		spansDowntime := !s[i-1].Time.After(down) && !s[i].Time.Before(up)
		if gap <= 0 || (gap > maxGap && !spansDowntime) {
			t.Fatalf("sample %d (seq %d, %s): %s after the previous one", i, s[i].Seq, s[i].Time.Format(time.RFC3339Nano), gap)
		}
	}
}

func TestOutageAndRestart(t *testing.T) {
	w := newWorld(t)
	w.startController()
	w.run(0, "vigilctl", "tenant", "create", "acme")
	id := w.enrollAgent("a", "acme")
	w.startAgent("a")
	w.waitFor("first samples", 20*time.Second, func() bool { return len(w.samples(id)) >= 3 })

	// Controller away for 4 s while the agent keeps sampling every second.
	term(t, w.ctl)
	time.Sleep(4 * time.Second)
	w.startController()
	before := len(w.samples(id))
	w.waitFor("backlog delivered", 20*time.Second, func() bool { return len(w.samples(id)) >= before+3 })

	// Agent restart (SIGTERM, start again).
	down := time.Now()
	term(t, w.agents["a"])
	time.Sleep(2 * time.Second)
	up := time.Now()
	w.startAgent("a")
	n := len(w.samples(id))
	w.waitFor("samples after agent restart", 20*time.Second, func() bool { return len(w.samples(id)) >= n+3 })

	s := w.samples(id)
	// 1 s interval: the controller outage must leave no hole at all.
	checkSeries(t, s, 2500*time.Millisecond, down, up)
	if len(s) < 12 {
		t.Fatalf("only %d samples", len(s))
	}
}
