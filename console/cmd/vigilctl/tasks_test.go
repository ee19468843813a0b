package main

// Fast tests of the trust, keys, task and plugins commands: run() against
// fakeAPI over TLS on loopback, real keys in t.TempDir(), signatures
// checked with envelope.Verify. Goldens under testdata/ (go test -update).

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/internal/clientconfig"
	"github.com/vigil-rmm/vigil/internal/envelope"
	"github.com/vigil-rmm/vigil/internal/golden"
	"github.com/vigil-rmm/vigil/internal/pin"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	trustv1 "github.com/vigil-rmm/vigil/proto/vigil/trust/v1"
)

// ctlJSON runs vigilctl with -o json and decodes its output.
func (f *fake) ctlJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out, _ := f.ctl(t, 0, append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("vigilctl %v: %v\n%s", args, err, out)
	}
}

// lastOf returns the latest request of type T.
func lastOf[T proto.Message](t *testing.T, f *fakeAPI) T {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.reqs) - 1; i >= 0; i-- {
		if r, ok := f.reqs[i].(T); ok {
			return r
		}
	}
	var zero T
	t.Fatalf("no %T request", zero)
	return zero
}

// fixtureConfig is a config for tom, carol or dave with the fixture key
// and certificate.
func (f *fake) fixtureConfig(t *testing.T, name string) string {
	keys := map[string]ed25519.PrivateKey{"tom": fixtureTom, "carol": fixtureCarol, "dave": fixtureDave}
	return f.principalConfig(t, "vgl_api_"+name, keys[name], fixtureCerts(t)[name])
}

func verifiedCount(f *fake) int {
	var n int
	f.api.with(func() { n = len(f.api.verified) })
	return n
}

func decodeSigned(t *testing.T, raw []byte) (*trustv1.SignedTask, *trustv1.Task) {
	t.Helper()
	var st trustv1.SignedTask
	var task trustv1.Task
	if err := proto.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(st.GetTask(), &task); err != nil {
		t.Fatal(err)
	}
	return &st, &task
}

// TestSigningRoundTrip sets signing up as docs/cli.md says, with the
// commands alone, and checks every signature the fake receives against
// the new root.
func TestSigningRoundTrip(t *testing.T) {
	f := startFake(t)
	dir := t.TempDir()
	rootFile := filepath.Join(dir, "root.key")

	// The MSP root, once.
	var init trustInitView
	f.ctlJSON(t, &init, "trust", "init", "--key", rootFile, "--set")
	root, err := envelope.ReadPrivateKey(rootFile)
	if err != nil {
		t.Fatal(err)
	}
	fp := envelope.Fingerprint(root.Public().(ed25519.PublicKey))
	var recorded string
	f.api.with(func() { recorded = f.api.root.GetFingerprint() })
	if init.Fingerprint != fp || init.TrustRoot == nil || init.TrustRoot.Fingerprint != fp || recorded != fp {
		t.Fatalf("trust init: %+v; controller root %s; want %s", init, recorded, fp)
	}
	rootPin, _ := pin.Parse(fp)

	// One key per principal, certified and registered by the admin, its
	// certificate recorded by the principal.
	setUp := func(token, role, tenant string) string {
		cfg := f.principalConfig(t, token, nil, nil)
		name := fakePrincipals[token].GetName()
		var k keysView
		f.ctlJSON(t, &k, "--config", cfg, "keys", "generate")
		wantKey := filepath.Join(filepath.Dir(cfg), name+".signing.key")
		st, err := os.Stat(wantKey)
		if err != nil || st.Mode().Perm() != 0o600 || k.KeyFile != wantKey {
			t.Fatalf("keys generate: %+v; %s: %v %v", k, wantKey, st, err)
		}
		if c, err := clientconfig.Load(cfg); err != nil || c.SigningKey != wantKey || c.Token != token {
			t.Fatalf("config after keys generate: %+v %v", c, err)
		}
		wantCmd := "vigilctl trust certify --root ROOT.key --principal " + name + " --role " + role
		if !strings.HasPrefix(k.CertifyCommand, wantCmd) || !strings.Contains(k.CertifyCommand, "--public-key "+k.PublicKey) {
			t.Fatalf("certify command %q, want it to start with %q", k.CertifyCommand, wantCmd)
		}
		certFile := filepath.Join(dir, name+".cert")
		args := []string{"trust", "certify", "--root", rootFile, "--principal", name, "--role", role, "--public-key", k.PublicKey,
			"--register", "--out", certFile}
		if tenant != "" {
			args = append(args, "--tenant", tenant)
		}
		var cv certifyView
		f.ctlJSON(t, &cv, args...)
		if !cv.Registered || cv.RootFingerprint != fp || cv.Certificate.Principal != name || cv.Certificate.PublicKeyFingerprint != k.PublicKeyFingerprint {
			t.Fatalf("trust certify: %+v", cv)
		}
		out, _ := f.ctl(t, 0, "--config", cfg, "keys", "set-cert", certFile)
		if !strings.Contains(out, "certificate "+cv.Certificate.Serial+" for "+name) {
			t.Fatalf("keys set-cert: %q", out)
		}
		return cfg
	}
	tom := setUp("vgl_api_tom", envelope.RoleTechnician, "")
	carol := setUp("vgl_api_carol", envelope.RoleClientApprover, "acme")

	// A script task: signed by tom, valid against the root.
	script := filepath.Join(dir, "clean.sh")
	body := "#!/bin/sh\nfind /var/spool/app -mtime +30 -delete\n"
	if err := os.WriteFile(script, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := f.ctl(t, 0, "--config", tom, "task", "run", "ag-web01", "--plugin", "script", "--param", "script=@"+script, "--param", "note=@@home")
	if !strings.Contains(out, "task tk-00000000000000c1 created: script on web01 (ag-web01, tenant acme)\nscheduled:") {
		t.Errorf("task run: %q", out)
	}
	req := lastOf[*managev1.CreateTaskRequest](t, f.api)
	st, task := decodeSigned(t, req.GetSignedTask())
	v, err := envelope.Verify(st, envelope.Policy{RootPin: rootPin, AgentID: "ag-web01", Tenant: "acme", Now: t0})
	if err != nil {
		t.Fatalf("the technician's signature does not verify: %v", err)
	}
	want := &trustv1.Task{TaskId: "tk-00000000000000c1", Tenant: "acme", AgentId: "ag-web01", Plugin: "script",
		Parameters: map[string]string{"script": body, "note": "@home"}, NotBeforeUnix: t0.Unix(), NotAfterUnix: t0.Add(time.Hour).Unix(),
		Nonce: bytes.Repeat([]byte{7}, 16), CreatedUnix: t0.Unix(), CreatedBy: "tom", TimeoutSeconds: 1800}
	if !proto.Equal(task, want) || v.Technician.GetPrincipal() != "tom" || len(st.GetSignatures()) != 1 {
		t.Fatalf("signed task:\n got %v\nwant %v\nsigned by %v", task, want, v.Technician)
	}

	// A reboot: downtime implied, proposed, then approved by carol.
	out, stderr := f.ctl(t, 0, "--config", tom, "task", "run", "ag-dc01", "--plugin", "reboot", "--at", "2h", "--window", "3h")
	if !strings.Contains(stderr, "plugin reboot interrupts service: the task is marked --downtime") ||
		!strings.Contains(out, "awaiting client approval: a client approver of acme runs `vigilctl task approve tk-00000000000000c2 --yes`") {
		t.Errorf("task run reboot:\n%s%s", out, stderr)
	}
	_, task = decodeSigned(t, lastOf[*managev1.CreateTaskRequest](t, f.api).GetSignedTask())
	if !task.GetDowntime() || task.GetNotBeforeUnix() != t0.Add(2*time.Hour).Unix() || task.GetNotAfterUnix() != t0.Add(5*time.Hour).Unix() {
		t.Errorf("reboot task: %v", task)
	}
	out, stderr = f.ctl(t, 2, "--config", carol, "task", "approve", "tk-00000000000000c2")
	if !strings.Contains(out, "Task tk-00000000000000c2 asks to run on dc01 (agent ag-dc01, tenant acme)") ||
		!strings.Contains(stderr, "re-run with --yes to approve task tk-00000000000000c2") || verifiedCount(f) != 2 {
		t.Errorf("approve without --yes:\n%s%s", out, stderr)
	}
	out, _ = f.ctl(t, 0, "--config", carol, "task", "approve", "tk-00000000000000c2", "--yes")
	if !strings.Contains(out, "approved: task tk-00000000000000c2 is scheduled") {
		t.Errorf("approve: %q", out)
	}
	ar := lastOf[*managev1.ApproveTaskRequest](t, f.api)
	var sig trustv1.Signature
	if err := proto.Unmarshal(ar.GetSignature(), &sig); err != nil {
		t.Fatal(err)
	}
	st, _ = decodeSigned(t, lastOf[*managev1.CreateTaskRequest](t, f.api).GetSignedTask())
	st.Signatures = append(st.Signatures, &sig)
	v, err = envelope.Verify(st, envelope.Policy{RootPin: rootPin, AgentID: "ag-dc01", Tenant: "acme", Now: t0.Add(2 * time.Hour)})
	if err != nil || v.Approver.GetPrincipal() != "carol" || v.Technician.GetPrincipal() != "tom" {
		t.Fatalf("approved task: %v, %+v", err, v)
	}
}

func TestTaskRunFollow(t *testing.T) {
	cases := []struct {
		name   string
		ok     bool
		code   int
		golden string
	}{
		{"succeeds", true, 0, "task_run_follow"},
		{"fails", false, 1, "task_run_follow_failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := startFake(t)
			f.api.with(func() { f.api.onCreate = func(ft *fakeTask) { ft.steps = scriptSteps(c.ok) } })
			out, stderr := f.ctl(t, c.code, "--config", f.fixtureConfig(t, "tom"), "task", "run", "ag-web01", "--plugin", "script",
				"--param", "script=systemctl restart app", "--follow")
			goldenText(t, c.golden+".txt", out)
			goldenText(t, c.golden+".stderr.txt", stderr)
		})
	}
}

func TestTaskShowFollow(t *testing.T) {
	f := startFake(t)
	out, stderr := f.ctl(t, 1, "task", "show", "tk-00000000000000d4", "--follow")
	goldenText(t, "task_show_follow.txt", out)
	goldenText(t, "task_show_follow.stderr.txt", stderr)
	var n int
	f.api.with(func() { n = f.api.getTasks })
	if n < 6 {
		t.Errorf("%d GetTask calls; the follow did not poll", n)
	}
}

// TestFollowInterrupt: Ctrl-C stops following, says how to cancel, and
// cancels nothing.
func TestFollowInterrupt(t *testing.T) {
	f := startFake(t)
	old := notifyInterrupt
	notifyInterrupt = func(ctx context.Context) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(50*time.Millisecond, cancel) // Ctrl-C after a few polls
		return ctx, cancel
	}
	t.Cleanup(func() { notifyInterrupt = old })
	stuck := &fakeTask{task: &managev1.Task{Id: "tk-00000000000000e5", Tenant: "acme", AgentId: "ag-web01", Plugin: "script", ProgressPercent: -1}}
	stuck.to(sec(0), managev1.TaskState_TASK_STATE_RUNNING, "agent", "")
	f.api.with(func() { f.api.tasks[stuck.task.Id] = stuck })
	_, stderr := f.ctl(t, 1, "task", "show", "tk-00000000000000e5", "--follow")
	want := "vigilctl: stopped following; task tk-00000000000000e5 goes on: watch it again with `vigilctl task show tk-00000000000000e5 --follow`, cancel it with `vigilctl task cancel tk-00000000000000e5`\n"
	var state managev1.TaskState
	f.api.with(func() { state = stuck.task.GetState() })
	if stderr != want || state != managev1.TaskState_TASK_STATE_RUNNING {
		t.Errorf("stderr %q, want %q; state %v", stderr, want, state)
	}
}

func TestTaskCommandsText(t *testing.T) {
	f := startFake(t)
	carol := f.fixtureConfig(t, "carol")
	cases := []struct {
		golden string
		code   int
		args   []string
	}{
		{"task_list.txt", 0, []string{"task", "list"}},
		{"task_list_proposed.txt", 0, []string{"task", "list", "--state", "proposed"}},
		{"task_show.txt", 0, []string{"task", "show", "tk-00000000000000a1"}},
		{"task_show_proposed.txt", 0, []string{"task", "show", "tk-00000000000000b2"}},
		{"task_show_script.txt", 0, []string{"task", "show", "tk-00000000000000f3"}},
		{"task_approve_summary.txt", 2, []string{"--config", carol, "task", "approve", "tk-00000000000000b2"}},
		{"task_approve_script.txt", 0, []string{"--config", carol, "task", "approve", "tk-00000000000000e6", "--yes"}},
		{"plugins_list.txt", 0, []string{"plugins", "list", "ag-web01"}},
		{"plugins_list_monitor_only.txt", 0, []string{"plugins", "list", "ag-mon"}},
		{"plugins_list_none.txt", 0, []string{"plugins", "list", "ag-old"}},
		{"trust_show.txt", 0, []string{"trust", "show"}},
		{"trust_certs.txt", 0, []string{"trust", "certs"}},
		{"agents_list.txt", 0, []string{"agents", "list"}},
		{"agents_show.txt", 0, []string{"agents", "show", "ag-mon"}},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			out, _ := f.ctl(t, c.code, c.args...)
			goldenText(t, c.golden, out)
		})
	}
}

func TestTaskCommandsJSON(t *testing.T) {
	f := startFake(t)
	cases := []struct {
		golden string
		args   []string
	}{
		{"task_list.json", []string{"task", "list", "--agent", "ag-web01"}},
		{"task_show.json", []string{"task", "show", "tk-00000000000000a1"}},
		{"task_show_proposed.json", []string{"task", "show", "tk-00000000000000b2"}},
		{"plugins_list.json", []string{"plugins", "list", "ag-web01"}},
		{"plugins_list_none.json", []string{"plugins", "list", "ag-old"}},
		{"trust_show.json", []string{"trust", "show"}},
		{"trust_certs.json", []string{"trust", "certs", "--principal", "carol"}},
		{"agents_list.json", []string{"agents", "list", "--tenant", "globex"}},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			out, _ := f.ctl(t, 0, append(c.args, "-o", "json")...)
			golden.JSON(t, filepath.Join("testdata", c.golden), json.RawMessage(out))
		})
	}
}

// TestTaskShowPagesOutput: show reads every page of the output.
func TestTaskShowPagesOutput(t *testing.T) {
	f := startFake(t)
	var v taskDetailView
	f.ctlJSON(t, &v, "task", "show", "tk-00000000000000a1")
	if len(v.Output) != 5 || v.Output[4].Line != "Setting up openssl (3.0.15-1~deb12u1) ..." || v.Output[2].Stream != "stderr" {
		t.Fatalf("output: %+v", v.Output)
	}
	if r := lastOf[*managev1.GetTaskRequest](t, f.api); r.GetOutputAfter() != 5 {
		t.Errorf("last cursor %d, want 5", r.GetOutputAfter())
	}
}

func TestTaskRequests(t *testing.T) {
	f := startFake(t)
	cases := []struct {
		name string
		args []string
		want proto.Message
	}{
		{"list", []string{"task", "list"}, &managev1.ListTasksRequest{}},
		{"list filters", []string{"task", "list", "--agent", "ag-web01", "--tenant", "acme", "--state", "running", "--limit", "20"},
			&managev1.ListTasksRequest{AgentId: "ag-web01", Tenant: "acme", State: managev1.TaskState_TASK_STATE_RUNNING, Limit: 20}},
		{"cancel", []string{"task", "cancel", "tk-00000000000000b2", "--reason", "client asked"},
			&managev1.CancelTaskRequest{TaskId: "tk-00000000000000b2", Reason: "client asked"}},
		{"plugins", []string{"plugins", "list", "ag-web01"}, &managev1.ListPluginsRequest{AgentId: "ag-web01"}},
		{"certs", []string{"trust", "certs", "--principal", "tom"}, &managev1.ListCertificatesRequest{Principal: "tom"}},
		{"set-root", []string{"trust", "set-root", envelope.Fingerprint(fixtureDave.Public().(ed25519.PublicKey))},
			&managev1.SetTrustRootRequest{Fingerprint: envelope.Fingerprint(fixtureDave.Public().(ed25519.PublicKey))}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.ctl(t, 0, c.args...)
			if got, _ := f.api.last(); !proto.Equal(got, c.want) {
				t.Errorf("request:\n got %v\nwant %v", got, c.want)
			}
		})
	}
}

// TestTaskRunSignedFields checks what the flags of task run turn into in
// the signed task.
func TestTaskRunSignedFields(t *testing.T) {
	f := startFake(t)
	tom := f.fixtureConfig(t, "tom")
	at := time.Date(2026, 11, 22, 22, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		args []string
		want *trustv1.Task
	}{
		{"defaults", []string{"--plugin", "pkgupdate"},
			&trustv1.Task{Plugin: "pkgupdate", NotBeforeUnix: t0.Unix(), NotAfterUnix: t0.Add(time.Hour).Unix(), TimeoutSeconds: 1800}},
		{"at window timeout", []string{"--plugin", "pkgupdate", "--at", at.Format(time.RFC3339), "--window", "2d", "--timeout", "0", "--param", "packages=openssl"},
			&trustv1.Task{Plugin: "pkgupdate", NotBeforeUnix: at.Unix(), NotAfterUnix: at.Add(2 * day).Unix(), Parameters: map[string]string{"packages": "openssl"}}},
		{"delay and downtime", []string{"--plugin", "script", "--at", "90m", "--downtime", "--timeout", "45s", "--param", "script=uptime"},
			&trustv1.Task{Plugin: "script", NotBeforeUnix: t0.Add(90 * time.Minute).Unix(), NotAfterUnix: t0.Add(150 * time.Minute).Unix(),
				Downtime: true, TimeoutSeconds: 45, Parameters: map[string]string{"script": "uptime"}}},
		{"a plugin declaring downtime implies it", []string{"--plugin", "vendor-firmware"},
			&trustv1.Task{Plugin: "vendor-firmware", NotBeforeUnix: t0.Unix(), NotAfterUnix: t0.Add(time.Hour).Unix(), Downtime: true, TimeoutSeconds: 1800}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.ctl(t, 0, append([]string{"--config", tom, "task", "run", "ag-web01"}, c.args...)...)
			_, got := decodeSigned(t, lastOf[*managev1.CreateTaskRequest](t, f.api).GetSignedTask())
			c.want.TaskId, c.want.Tenant, c.want.AgentId, c.want.Nonce = got.GetTaskId(), "acme", "ag-web01", bytes.Repeat([]byte{7}, 16)
			c.want.CreatedUnix, c.want.CreatedBy = t0.Unix(), "tom"
			if !proto.Equal(got, c.want) {
				t.Errorf("signed task:\n got %v\nwant %v", got, c.want)
			}
		})
	}
}

// TestTaskUsageErrors: bad input exits 2 with a message naming the flag,
// before anything is sent.
func TestTaskUsageErrors(t *testing.T) {
	f := startFake(t)
	tom := f.fixtureConfig(t, "tom")
	big := filepath.Join(t.TempDir(), "big.sh")
	if err := os.WriteFile(big, bytes.Repeat([]byte("x"), envelope.MaxParamValue+1), 0o644); err != nil {
		t.Fatal(err)
	}
	run := []string{"--config", tom, "task", "run", "ag-web01"}
	cases := []struct {
		args []string
		want string
	}{
		{run, "task run: --plugin is required: the plugin to run (see `vigilctl plugins list ag-web01`)"},
		{[]string{"task", "run", "--plugin", "reboot"}, "task run: want AGENT, got 0 argument(s)"},
		{append(run, "--plugin", "script", "--param", "script"), `invalid value "script" for flag -param: "script": want NAME=VALUE`},
		{append(run, "--plugin", "script", "--param", "Script=x"), `"Script=x": name "Script": want 1 to 64 lower-case letters, digits and _`},
		{append(run, "--plugin", "script", "--param", "a=1", "--param", "a=2"), `"a=2": a given twice`},
		{append(run, "--plugin", "script", "--param", "script=@/nonexistent/x.sh"), "script: open /nonexistent/x.sh: no such file or directory"},
		{append(run, "--plugin", "script", "--param", "script=@"+big), "script: 131073 bytes, at most 131072"},
		{append(run, "--plugin", "reboot", "--at", "tomorrow"), `task run: --at "tomorrow": want an RFC 3339 time (2026-11-22T22:00:00+01:00) or a delay from now (30m, 2h, 1d)`},
		{append(run, "--plugin", "reboot", "--at", "2026-11-22 22:00"), `--at "2026-11-22 22:00"`},
		{append(run, "--plugin", "reboot", "--at", "2026-11-01T00:00:00Z"), "ends before now; give a later --at or a longer --window"},
		{append(run, "--plugin", "reboot", "--window", "31d"), "task run: --window 31d: at most 30d"},
		{append(run, "--plugin", "reboot", "--window", "0"), `task run: --window "0": want a positive duration`},
		{append(run, "--plugin", "reboot", "--timeout", "25h"), "task run: --timeout 25h0m0s: want 0 (the agent's default) or 1s to 24h"},
		{append(run, "--plugin", "reboot", "--follow", "-o", "json"), "--follow prints a live log, not JSON"},
		{[]string{"task", "show", "tk-00000000000000a1", "--follow", "-o", "json"}, "--follow prints a live log, not JSON"},
		{[]string{"task", "list", "--state", "done"}, `task list: --state "done": unknown value "done"; want a comma-separated list of proposed, scheduled,`},
		{[]string{"task", "list", "--state", "failed,refused"}, `task list: --state "failed,refused": give one state`},
		{[]string{"task", "frob"}, `task: unknown or missing subcommand "frob"; want one of approve, cancel, list, run, show`},
		{[]string{"trust", "init"}, "trust init: --key FILE is required"},
		{[]string{"trust", "set-root", "abc"}, `trust set-root: FINGERPRINT "abc": want sha256: followed by 64 hex digits`},
		{[]string{"trust", "certify", "--principal", "tom", "--role", "technician", "--public-key", "ed25519:x", "--register"}, "trust certify: --root FILE is required"},
		{[]string{"trust", "certify", "--root", "r.key", "--role", "technician", "--public-key", "ed25519:x", "--register"}, "trust certify: --principal is required"},
		{[]string{"trust", "certify", "--root", "r.key", "--principal", "vic", "--role", "client-viewer", "--public-key", "ed25519:x", "--register"},
			`trust certify: --role "client-viewer": want technician, client-approver or admin`},
		{[]string{"trust", "certify", "--root", "r.key", "--principal", "carol", "--role", "client-approver", "--public-key", "ed25519:x", "--register"},
			"trust certify: --role client-approver needs --tenant"},
		{[]string{"trust", "certify", "--root", "r.key", "--principal", "tom", "--role", "technician", "--public-key", "ed25519:x"},
			"trust certify: give --register to send the certificate to the controller, --out FILE to write it, or both"},
		{[]string{"trust", "certify", "--root", "r.key", "--principal", "tom", "--role", "technician", "--public-key", "AAAA", "--register"},
			`trust certify: --public-key: public key "AAAA": must start with "ed25519:"`},
		{[]string{"trust", "certify", "--root", "r.key", "--principal", "tom", "--role", "technician", "--public-key",
			envelope.EncodePublicKey(fixtureTom.Public().(ed25519.PublicKey)), "--register", "--valid", "20y"}, `--valid "20y": want a positive duration such as 90m, 12h or 365d`},
		{[]string{"keys", "set-cert"}, "keys set-cert: want FILE, got 0 argument(s)"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			_, before := f.api.last()
			_, stderr := f.ctl(t, 2, c.args...)
			_, after := f.api.last()
			if !strings.Contains(stderr, c.want) || after != before {
				t.Errorf("stderr %q, want it to contain %q; %d request(s) sent", stderr, c.want, after-before)
			}
		})
	}
}

// TestTaskErrors checks refusals: each names what is wrong and the fix.
func TestTaskErrors(t *testing.T) {
	f := startFake(t)
	dir := t.TempDir()
	tom, carol, dave := f.fixtureConfig(t, "tom"), f.fixtureConfig(t, "carol"), f.fixtureConfig(t, "dave")

	loose := f.fixtureConfig(t, "tom")
	lc, _ := clientconfig.Load(loose)
	if err := os.Chmod(lc.SigningKey, 0o644); err != nil {
		t.Fatal(err)
	}
	looseRoot := filepath.Join(dir, "root.key")
	if err := envelope.WritePrivateKey(looseRoot, fixtureRoot); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(looseRoot, 0o644); err != nil {
		t.Fatal(err)
	}
	noKey := f.principalConfig(t, "vgl_api_tom", nil, nil)
	_, newKey, _ := envelope.GenerateKey()
	unregistered := f.principalConfig(t, "vgl_api_newtech1", newKey, nil)
	noCert := f.principalConfig(t, "vgl_api_tom", fixtureTom, nil)
	wrongCert := f.principalConfig(t, "vgl_api_tom", fixtureTom, nil)
	carolCert := filepath.Join(dir, "carol.cert")
	raw, _ := proto.Marshal(fixtureCerts(t)["carol"])
	if err := os.WriteFile(carolCert, []byte(base64.StdEncoding.EncodeToString(raw)), 0o644); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(dir, "junk.cert")
	if err := os.WriteFile(junk, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(dir, "exists.key")
	if err := os.WriteFile(existing, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"key readable by others", []string{"--config", loose, "task", "run", "ag-web01", "--plugin", "pkgupdate"},
			"signing key: " + lc.SigningKey + ": mode -rw-r--r--: a private key must be readable by its owner only (chmod 600)"},
		{"root key readable by others", []string{"trust", "certify", "--root", looseRoot, "--principal", "tom", "--role", "technician",
			"--public-key", envelope.EncodePublicKey(fixtureTom.Public().(ed25519.PublicKey)), "--out", filepath.Join(dir, "x.cert")},
			"--root: " + looseRoot + ": mode -rw-r--r--: a private key must be readable by its owner only (chmod 600)"},
		{"no signing key", []string{"--config", noKey, "task", "run", "ag-web01", "--plugin", "pkgupdate"},
			"names no signing key: run `vigilctl keys generate`, have an admin certify it, then run `vigilctl keys set-cert FILE`"},
		{"not certified", []string{"--config", unregistered, "task", "run", "ag-web01", "--plugin", "pkgupdate"},
			"no valid certificate is registered for newtech with your signing key sha256:"},
		{"not certified says how", []string{"--config", unregistered, "task", "run", "ag-web01", "--plugin", "pkgupdate"},
			"ask an admin to run\n  vigilctl trust certify --root ROOT.key --principal newtech --role technician --public-key ed25519:"},
		{"certificate not in config", []string{"--config", noCert, "task", "run", "ag-web01", "--plugin", "pkgupdate"},
			"certificate c0ffee01 is registered for your signing key but your config does not hold it"},
		{"monitor-only", []string{"--config", tom, "task", "run", "ag-mon", "--plugin", "pkgupdate"},
			"agent ag-mon (db02) is monitor-only: it runs no task"},
		{"unknown agent", []string{"--config", tom, "task", "run", "ag-nope", "--plugin", "pkgupdate"}, `NotFound: not found: agent "ag-nope"`},
		{"plugin the agent lacks", []string{"--config", tom, "task", "run", "ag-web01", "--plugin", "windowsupdate"},
			"agent ag-web01 (web01) has no plugin windowsupdate (it has: pkgupdate, reboot, script, vendor-firmware)"},
		{"approver signs a task", []string{"--config", carol, "task", "run", "ag-web01", "--plugin", "pkgupdate"},
			"your certificate c0ffee02 is for role client-approver; a task needs a technician's or admin's"},
		{"approver of another tenant", []string{"--config", dave, "task", "approve", "tk-00000000000000b2", "--yes"},
			"your certificate c0ffee03 is for client-approver (tenant globex); approving needs a client approver of tenant acme"},
		{"technician approves", []string{"--config", tom, "task", "approve", "tk-00000000000000b2", "--yes"},
			"your certificate c0ffee01 is for technician (all tenants); approving needs a client approver of tenant acme"},
		{"forged task", []string{"--config", carol, "task", "approve", "tk-00000000000000f3", "--yes"},
			"task tk-00000000000000f3 does not verify, not approving: signature 1 (tom): bad signature"},
		{"finished task", []string{"--config", carol, "task", "approve", "tk-00000000000000a1", "--yes"},
			"task tk-00000000000000a1 is succeeded, not awaiting approval"},
		{"cancel finished", []string{"task", "cancel", "tk-00000000000000a1"}, "FailedPrecondition: task tk-00000000000000a1 already succeeded"},
		{"keys generate twice", []string{"--config", tom, "keys", "generate"}, "already names signing key"},
		{"key file exists", []string{"--config", noKey, "keys", "generate", "--key", existing},
			"--key " + existing + ": file exists; keys generate never overwrites a key"},
		{"root file exists", []string{"trust", "init", "--key", existing}, "--key " + existing + ": file exists; trust init never overwrites a key"},
		{"another key's certificate", []string{"--config", wrongCert, "keys", "set-cert", carolCert}, "not your signing key"},
		{"not a certificate", []string{"--config", wrongCert, "keys", "set-cert", junk}, junk + ": not a vigil certificate"},
		{"register as technician", []string{"--config", tom, "trust", "register", carolCert}, "PermissionDenied: permission denied"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr := f.ctl(t, 1, c.args...)
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr %q, want it to contain %q", stderr, c.want)
			}
		})
	}
	if n := verifiedCount(f); n != 0 {
		t.Errorf("%d task(s) or approvals accepted by the fake", n)
	}
}

// TestCertifyOffline: certify --out needs no controller; register sends
// the file later, base64 or binary.
func TestCertifyOffline(t *testing.T) {
	f := startFake(t)
	dir := t.TempDir()
	rootFile := filepath.Join(dir, "root.key")
	if err := envelope.WritePrivateKey(rootFile, fixtureRoot); err != nil {
		t.Fatal(err)
	}
	_, key, _ := envelope.GenerateKey()
	pub := envelope.EncodePublicKey(key.Public().(ed25519.PublicKey))
	out := filepath.Join(dir, "newtech.cert")
	stdout, _ := f.ctl(t, 0, "--config", filepath.Join(dir, "absent.json"), "trust", "certify", "--root", rootFile, "--principal", "newtech",
		"--role", "technician", "--public-key", pub, "--valid", "90d", "--out", out)
	if !strings.Contains(stdout, "not registered yet: run `vigilctl trust register "+out+"`") {
		t.Errorf("certify --out: %q", stdout)
	}
	text, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(text)))
	if err != nil {
		t.Fatalf("certificate file is not base64: %v", err)
	}
	var c trustv1.Certificate
	if err := proto.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	rootPin, _ := pin.Parse(envelope.Fingerprint(fixtureRoot.Public().(ed25519.PublicKey)))
	b, err := envelope.ParseCertificate(&c, rootPin, t0)
	if err != nil || b.GetNotBeforeUnix() != t0.Add(-5*time.Minute).Unix() || b.GetNotAfterUnix() != t0.Add(90*day).Unix() {
		t.Fatalf("certificate: %v %v", b, err)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
	if _, stderr := f.ctl(t, 1, "trust", "certify", "--root", rootFile, "--principal", "newtech", "--role", "technician", "--public-key", pub,
		"--out", out); !strings.Contains(stderr, "--out "+out+": file exists; choose another path") {
		t.Errorf("certify over an existing file: %q", stderr)
	}
	binFile := filepath.Join(dir, "newtech.bin")
	if err := os.WriteFile(binFile, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{out, binFile} {
		var v certView
		f.ctlJSON(t, &v, "trust", "register", file)
		if v.Principal != "newtech" || v.Serial != b.GetSerial() {
			t.Errorf("register %s: %+v", file, v)
		}
	}
}

func TestKeysShow(t *testing.T) {
	f := startFake(t)
	var v keysView
	f.ctlJSON(t, &v, "--config", f.fixtureConfig(t, "tom"), "keys", "show")
	if v.Certificate == nil || v.Certificate.Serial != "c0ffee01" || v.PublicKey != envelope.EncodePublicKey(fixtureTom.Public().(ed25519.PublicKey)) ||
		v.CertifyCommand != "" {
		t.Errorf("keys show: %+v", v)
	}
	out, _ := f.ctl(t, 0, "--config", f.principalConfig(t, "vgl_api_tom", fixtureTom, nil), "keys", "show")
	if !strings.Contains(out, "none: an admin runs vigilctl trust certify --root ROOT.key --principal tom --role ROLE --public-key ed25519:") {
		t.Errorf("keys show without a certificate: %q", out)
	}
}

func TestTaskHelp(t *testing.T) {
	startFake(t).checkHelp(t, []helpCase{
		{[]string{"help"}, "task approve ID [--yes]"},
		{[]string{"task", "run", "-h"}, "usage: vigilctl task run AGENT [flags]"},
		{[]string{"task", "run", "-h"}, "-param\ta plugin parameter NAME=VALUE, repeatable; NAME=@FILE reads the value from FILE"},
		{[]string{"trust", "certify", "-h"}, "-out\twrite the certificate to this file (base64 text; never overwritten)"},
		{[]string{"keys", "generate", "-h"}, "<config name>.signing.key"},
	})
}
