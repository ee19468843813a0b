package reboot

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/plugins/internal/cmdrun/cmdruntest"
	"github.com/vigil-rmm/vigil/plugins/sdk"
	"github.com/vigil-rmm/vigil/plugins/sdk/sdktest"
)

var now = time.Date(2026, 11, 22, 9, 0, 30, 0, time.UTC)

func newPlugin(f *cmdruntest.Fake, env map[string]string, goos string) *Plugin {
	return New(Config{Runner: f, GOOS: goos, Now: func() time.Time { return now },
		Getenv: func(k string) string { return env[k] },
		System: func(time.Duration, string) error { return errors.New("system reboot called") }})
}

func run(t *testing.T, p *Plugin, params map[string]string) ([]*sdk.RunEvent, error) {
	t.Helper()
	return sdktest.Run(t.Context(), sdktest.Start(t, p), &sdk.RunRequest{TaskId: "t1", Parameters: params})
}

func result(t *testing.T, events []*sdk.RunEvent) (*sdk.RunEvent, map[string]any) {
	t.Helper()
	if len(events) == 0 || events[len(events)-1].GetResult() == nil {
		t.Fatalf("last event is not a result: %v", events)
	}
	for _, ev := range events[:len(events)-1] {
		if ev.GetResult() != nil {
			t.Fatalf("result before the last event: %v", events)
		}
	}
	last := events[len(events)-1]
	var d map[string]any
	if err := json.Unmarshal(last.GetResult().GetDetail(), &d); err != nil {
		t.Fatalf("detail %q: %v", last.GetResult().GetDetail(), err)
	}
	return last, d
}

func TestInfo(t *testing.T) {
	info, err := sdktest.Start(t, New(Config{})).Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.GetName() != "reboot" || !slices.Equal(info.GetCapabilities(), []string{sdk.CapDowntime, sdk.CapRun}) {
		t.Errorf("Info = %v", info)
	}
}

func TestRunCommands(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]string
		env    map[string]string
		want   string
		at     string
	}{
		{"defaults", nil, nil, "shutdown -r -- +1", "2026-11-22T09:01:30Z"},
		{"rounded up with message", map[string]string{"delay": "90s", "message": "patching, back soon"}, nil,
			"shutdown -r -- +2 patching, back soon", "2026-11-22T09:02:30Z"},
		{"now", map[string]string{"delay": "0s"}, nil, "shutdown -r -- now", "2026-11-22T09:00:30Z"},
		{"a message that looks like an option stays the message", map[string]string{"delay": "0s", "message": "-P"}, nil,
			"shutdown -r -- now -P", "2026-11-22T09:00:30Z"},
		{"override", map[string]string{"delay": "20m", "message": "m"}, map[string]string{CommandEnv: "/opt/fake-reboot"},
			"fake-reboot -r -- +20 m", "2026-11-22T09:20:30Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &cmdruntest.Fake{Rules: []cmdruntest.Rule{
				{Cmd: "shutdown", Stdout: "Reboot scheduled\n"},
				{Cmd: "fake-reboot"},
			}}
			events, err := run(t, newPlugin(f, tt.env, "linux"), tt.params)
			if err != nil {
				t.Fatal(err)
			}
			last, d := result(t, events)
			if got := f.Lines(); !slices.Equal(got, []string{tt.want}) {
				t.Errorf("commands %q, want %q", got, tt.want)
			}
			r := last.GetResult()
			if !r.GetOk() || r.GetExitCode() != 0 || d["rebooting"] != true || d["at"] != tt.at {
				t.Errorf("result %v, detail %v; want ok at %s", r, d, tt.at)
			}
			if events[0].GetProgress() == nil {
				t.Errorf("first event %v, want progress", events[0])
			}
		})
	}
}

func TestRunFailures(t *testing.T) {
	tests := []struct {
		name    string
		rules   []cmdruntest.Rule
		goos    string
		code    int32
		summary string
	}{
		{"exit code", []cmdruntest.Rule{{Cmd: "shutdown", Stderr: "Failed to connect to bus\n", Code: 1}}, "linux", 1,
			"reboot: shutdown exited 1: Failed to connect to bus"},
		{"not found", nil, "linux", -1, "reboot: start command: shutdown: executable file not found"},
		{"unsupported", nil, "plan9", 0, "reboot: unsupported on plan9"},
		{"windows api", nil, "windows", 0, "reboot: system reboot called"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := run(t, newPlugin(&cmdruntest.Fake{Rules: tt.rules}, nil, tt.goos), nil)
			if err != nil {
				t.Fatal(err)
			}
			last, d := result(t, events)
			r := last.GetResult()
			if r.GetOk() || r.GetExitCode() != tt.code || r.GetSummary() != tt.summary || d["rebooting"] != false {
				t.Errorf("result %v detail %v; want failed %d %q", r, d, tt.code, tt.summary)
			}
		})
	}
}

func TestRunWindowsAPI(t *testing.T) {
	var gotDelay time.Duration
	var gotMsg string
	p := New(Config{Runner: &cmdruntest.Fake{}, GOOS: "windows", Now: func() time.Time { return now },
		Getenv: func(string) string { return "" },
		System: func(d time.Duration, m string) error { gotDelay, gotMsg = d, m; return nil }})
	events, err := run(t, p, map[string]string{"delay": "90s", "message": "hi"})
	if err != nil {
		t.Fatal(err)
	}
	last, d := result(t, events)
	if !last.GetResult().GetOk() || gotDelay != 90*time.Second || gotMsg != "hi" || d["at"] != "2026-11-22T09:02:00Z" {
		t.Errorf("result %v detail %v, delay %v msg %q", last, d, gotDelay, gotMsg)
	}
}

func TestRunCancelled(t *testing.T) {
	f := &cmdruntest.Fake{Rules: []cmdruntest.Rule{{Cmd: "shutdown", Hang: true}}}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := sdktest.Run(ctx, sdktest.Start(t, newPlugin(f, nil, "linux")), &sdk.RunRequest{})
	if code := status.Code(err); code != codes.DeadlineExceeded && code != codes.Canceled {
		t.Errorf("err = %v, want a context error", err)
	}
}

func TestRunInvalidParams(t *testing.T) {
	tests := []struct {
		params map[string]string
		name   string
	}{
		{map[string]string{"delay": "soon"}, "delay"},
		{map[string]string{"delay": "-1s"}, "delay"},
		{map[string]string{"delay": "61m"}, "delay"},
		{map[string]string{"delay": "21m"}, "delay"},
		{map[string]string{"message": strings.Repeat("é", 201)}, "message"},
		{map[string]string{"message": "a\nb"}, "message"},
		{map[string]string{"force": "true"}, "force"},
	}
	f := &cmdruntest.Fake{}
	c := sdktest.Start(t, newPlugin(f, nil, "linux"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { sdktest.WantInvalidParam(t, c, tt.params, tt.name) })
	}
	if len(f.Calls()) != 0 {
		t.Errorf("invalid parameters ran %q", f.Lines())
	}
}

func TestParseParamsInvalidUTF8(t *testing.T) {
	// gRPC refuses such a string on the wire; the check is for direct callers.
	if _, err := parseParams(map[string]string{"message": "a\xffb"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("err = %v", err)
	}
}

func TestShutdownArgsMessageIsOneArgument(t *testing.T) {
	args, _ := shutdownArgs(params{delay: time.Minute, message: "a; rm -rf / $(x)"})
	if !slices.Equal(args, []string{"-r", "--", "+1", "a; rm -rf / $(x)"}) {
		t.Errorf("args %q", args)
	}
}
