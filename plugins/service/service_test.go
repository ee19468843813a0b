package service

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/plugins/internal/cmdrun"
	"github.com/vigil-rmm/vigil/plugins/internal/cmdrun/cmdruntest"
	"github.com/vigil-rmm/vigil/plugins/sdk"
	"github.com/vigil-rmm/vigil/plugins/sdk/sdktest"
)

func runService(t *testing.T, ctx context.Context, p *Plugin, params map[string]string) (*sdk.RunEvent, Detail, []*sdk.RunEvent) {
	t.Helper()
	events, err := sdktest.Run(ctx, sdktest.Start(t, p), &sdk.RunRequest{Parameters: params})
	if err != nil {
		t.Fatal(err)
	}
	last := events[len(events)-1]
	if last.GetResult() == nil {
		t.Fatalf("last event %v", last)
	}
	var d Detail
	if err := json.Unmarshal(last.GetResult().GetDetail(), &d); err != nil {
		t.Fatal(err)
	}
	return last, d, events
}

const showArgs = "show --property=LoadState,ActiveState,SubState -- "

func show(active, sub string) string {
	return "LoadState=loaded\nActiveState=" + active + "\nSubState=" + sub + "\n"
}

// unit is a fake systemd unit: show answers its current state, actions
// change it.
type unit struct {
	mu     sync.Mutex
	active string
}

func (u *unit) set(s string) func() { return func() { u.mu.Lock(); u.active = s; u.mu.Unlock() } }

func TestSystemd(t *testing.T) {
	tests := []struct {
		name, action, initial string
		actRule               cmdruntest.Rule
		ok                    bool
		code                  int32
		before, after, errStr string
		calls                 int
	}{
		{name: "start", action: "start", initial: "inactive", ok: true, before: "inactive/dead", after: "active/running", calls: 3},
		{name: "stop", action: "stop", initial: "active", ok: true, before: "active/running", after: "inactive/dead", calls: 3},
		{name: "restart", action: "restart", initial: "active", ok: true, before: "active/running", after: "active/running", calls: 3},
		{name: "status", action: "status", initial: "active", ok: true, before: "active/running", after: "active/running", calls: 1},
		{name: "start fails", action: "start", initial: "inactive",
			actRule: cmdruntest.Rule{Cmd: "systemctl", Has: "start", Code: 1, Stderr: "Job for x.service failed.\n"},
			code:    1, before: "inactive/dead", after: "inactive/dead", errStr: "systemctl exited 1: Job for x.service failed.", calls: 3},
		{name: "exits 0 but not active", action: "start", initial: "inactive",
			actRule: cmdruntest.Rule{Cmd: "systemctl", Has: "start"},
			before:  "inactive/dead", after: "inactive/dead", errStr: "unit is inactive/dead afterwards", calls: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &unit{active: tt.initial}
			act := tt.actRule
			if act.Cmd == "" {
				next := map[string]string{"start": "active", "stop": "inactive", "restart": "active"}[tt.action]
				act = cmdruntest.Rule{Cmd: "systemctl", Has: tt.action + " --", Stdout: "done\n", Then: u.set(next)}
			}
			f := &cmdruntest.Fake{Rules: []cmdruntest.Rule{act}}
			f.Rules = append(f.Rules, cmdruntest.Rule{Cmd: "systemctl", Has: "show"})
			p := New(Config{Runner: &showFake{Fake: f, u: u}, GOOS: "linux", Getenv: func(string) string { return "" }})
			last, d, _ := runService(t, t.Context(), p, map[string]string{"name": "x.service", "action": tt.action})
			r := last.GetResult()
			want := Detail{Name: "x.service", Action: tt.action, StateBefore: tt.before, StateAfter: tt.after, Error: tt.errStr}
			if r.GetOk() != tt.ok || r.GetExitCode() != tt.code || d != want {
				t.Errorf("result %v\ndetail %+v\nwant ok=%v %+v", r, d, tt.ok, want)
			}
			if len(f.Calls()) != tt.calls {
				t.Errorf("calls %q", f.Lines())
			}
			for _, c := range f.Calls() {
				if !slices.Contains(c.Args, "--") || c.Args[len(c.Args)-1] != "x.service" {
					t.Errorf("call %q does not end with -- x.service", c.Args)
				}
			}
		})
	}
}

// showFake answers "show" from the unit's state and the rest from Fake.
type showFake struct {
	*cmdruntest.Fake
	u *unit
}

func (s *showFake) Run(ctx context.Context, c cmdrun.Cmd, out func(cmdrun.Line) error) (int, error) {
	if len(c.Args) > 0 && c.Args[0] == "show" {
		s.u.mu.Lock()
		a := s.u.active
		s.u.mu.Unlock()
		sub := map[string]string{"active": "running", "inactive": "dead"}[a]
		s.Fake.Rules[len(s.Fake.Rules)-1].Stdout = show(a, sub)
	}
	return s.Fake.Run(ctx, c, out)
}

func TestSystemdNotFoundAndOverride(t *testing.T) {
	f := &cmdruntest.Fake{Rules: []cmdruntest.Rule{{Cmd: "fake-systemctl", Has: "show", Stdout: "LoadState=not-found\nActiveState=inactive\nSubState=dead\n"}}}
	p := New(Config{Runner: f, GOOS: "windows", Getenv: func(k string) string {
		return map[string]string{CommandEnv: "/opt/fake-systemctl"}[k]
	}})
	last, d, _ := runService(t, t.Context(), p, map[string]string{"name": "nope", "action": "stop"})
	if last.GetResult().GetOk() || d.Error != "service not found" || !slices.Equal(f.Lines(), []string{"fake-systemctl " + showArgs + "nope"}) {
		t.Errorf("result %v detail %+v calls %q", last.GetResult(), d, f.Lines())
	}
}

func TestSystemdTimeoutKills(t *testing.T) {
	f := &cmdruntest.Fake{Rules: []cmdruntest.Rule{
		{Cmd: "systemctl", Has: "show", Stdout: show("active", "running")},
		{Cmd: "systemctl", Has: "stop", Hang: true},
	}}
	p := New(Config{Runner: f, GOOS: "linux", Getenv: func(string) string { return "" }})
	start := time.Now()
	last, d, _ := runService(t, t.Context(), p, map[string]string{"name": "slow", "action": "stop", "timeout": "1s"})
	if time.Since(start) > 5*time.Second || last.GetResult().GetOk() ||
		d.Error != "timed out after 1s: systemctl stop did not finish" || d.StateAfter != "active/running" {
		t.Errorf("result %v detail %+v", last.GetResult(), d)
	}
}

func TestCancelled(t *testing.T) {
	f := &cmdruntest.Fake{Rules: []cmdruntest.Rule{
		{Cmd: "systemctl", Has: "show", Stdout: show("active", "running")},
		{Cmd: "systemctl", Has: "restart", Hang: true},
	}}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := sdktest.Run(ctx, sdktest.Start(t, New(Config{Runner: f, GOOS: "linux", Getenv: func(string) string { return "" }})),
		&sdk.RunRequest{Parameters: map[string]string{"name": "x", "action": "restart"}})
	if c := status.Code(err); c != codes.DeadlineExceeded && c != codes.Canceled {
		t.Errorf("err = %v", err)
	}
}

// fakeSCM is a Windows service whose state follows a script of states
// per call.
type fakeSCM struct {
	mu      sync.Mutex
	states  []State // returned by successive queries; the last repeats
	onStart []State // replaces states on Start
	onStop  []State
	exit    uint32
	calls   []string
	openErr error
}

func (f *fakeSCM) Open(name string) (Handle, error) {
	if f.openErr != nil {
		return nil, f.openErr
	}
	return f, nil
}

func (f *fakeSCM) Query() (Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.states[0]
	if len(f.states) > 1 {
		f.states = f.states[1:]
	}
	return Status{State: s, Win32ExitCode: f.exit}, nil
}

func (f *fakeSCM) Start() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "start")
	f.states = f.onStart
	return nil
}

func (f *fakeSCM) Stop() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "stop")
	f.states = f.onStop
	return nil
}

func (f *fakeSCM) Close() error { return nil }

func TestSCM(t *testing.T) {
	tests := []struct {
		name    string
		action  string
		scm     *fakeSCM
		ok      bool
		before  string
		after   string
		errPart string
		calls   []string
	}{
		{"start", "start", &fakeSCM{states: []State{Stopped}, onStart: []State{StartPending, StartPending, Running}},
			true, "stopped", "running", "", []string{"start"}},
		{"start already running", "start", &fakeSCM{states: []State{Running}}, true, "running", "running", "", nil},
		{"start dies", "start", &fakeSCM{states: []State{Stopped}, onStart: []State{StartPending, Stopped}, exit: 1067},
			false, "stopped", "stopped", "service stopped while starting (state stopped, exit code 1067)", []string{"start"}},
		{"stop waits out start pending", "stop", &fakeSCM{states: []State{StartPending, StartPending, Running}, onStop: []State{StopPending, Stopped}},
			true, "start_pending", "stopped", "", []string{"stop"}},
		{"restart", "restart", &fakeSCM{states: []State{Running}, onStop: []State{StopPending, Stopped}, onStart: []State{Running}},
			true, "running", "running", "", []string{"stop", "start"}},
		{"stop hangs", "stop", &fakeSCM{states: []State{Running}, onStop: []State{StopPending}},
			false, "running", "stop_pending", "still stop_pending: context deadline exceeded", []string{"stop"}},
		{"status", "status", &fakeSCM{states: []State{Paused}}, true, "paused", "paused", "", nil},
		{"not found", "status", &fakeSCM{openErr: ErrNotFound}, false, "", "", "service not found", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New(Config{Manager: tt.scm, GOOS: "windows", Getenv: func(string) string { return "" }, Poll: time.Millisecond})
			last, d, _ := runService(t, t.Context(), p, map[string]string{"name": "Spooler", "action": tt.action, "timeout": "1s"})
			if last.GetResult().GetOk() != tt.ok || d.StateBefore != tt.before || d.StateAfter != tt.after ||
				!strings.Contains(d.Error, tt.errPart) || !slices.Equal(tt.scm.calls, tt.calls) {
				t.Errorf("result %v detail %+v calls %q", last.GetResult(), d, tt.scm.calls)
			}
		})
	}
}

func TestInvalidParams(t *testing.T) {
	tests := []struct {
		params map[string]string
		name   string
	}{
		{map[string]string{"action": "start"}, "name"},
		{map[string]string{"name": "x"}, "action"},
		{map[string]string{"name": "../../etc/passwd", "action": "start"}, "name"},
		{map[string]string{"name": "a/b", "action": "start"}, "name"},
		{map[string]string{"name": `a\b`, "action": "start"}, "name"},
		{map[string]string{"name": "x;reboot", "action": "start"}, "name"},
		{map[string]string{"name": "$(id)", "action": "start"}, "name"},
		{map[string]string{"name": "--force", "action": "start"}, "name"},
		{map[string]string{"name": "a b", "action": "start"}, "name"},
		{map[string]string{"name": "reboot.target", "action": "start"}, "name"},
		{map[string]string{"name": "poweroff.target", "action": "start"}, "name"},
		{map[string]string{"name": "cups.socket", "action": "stop"}, "name"},
		{map[string]string{"name": "", "action": "start"}, "name"},
		{map[string]string{"name": strings.Repeat("a", 257), "action": "start"}, "name"},
		{map[string]string{"name": "x", "action": "enable"}, "action"},
		{map[string]string{"name": "x", "action": "start", "timeout": "31m"}, "timeout"},
		{map[string]string{"name": "x", "action": "start", "mode": "now"}, "mode"},
	}
	f := &cmdruntest.Fake{}
	c := sdktest.Start(t, New(Config{Runner: f, GOOS: "linux"}))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { sdktest.WantInvalidParam(t, c, tt.params, tt.name) })
	}
	if len(f.Calls()) != 0 {
		t.Errorf("invalid parameters ran %q", f.Lines())
	}
	if _, err := parseParams(map[string]string{"name": "getty@tty1.service", "action": "status"}); err != nil {
		t.Errorf("template unit refused: %v", err)
	}
}
