package script

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-rmm/vigil/plugins/internal/cmdrun/cmdruntest"
	"github.com/vigil-rmm/vigil/plugins/sdk"
	"github.com/vigil-rmm/vigil/plugins/sdk/sdktest"
)

// outcome is a Run's events split up.
type outcome struct {
	stdout, stderr []string
	result         *sdk.RunEvent
	detail         detail
}

func runScript(t *testing.T, ctx context.Context, p *Plugin, params map[string]string) (outcome, error) {
	t.Helper()
	events, err := sdktest.Run(ctx, sdktest.Start(t, p), &sdk.RunRequest{TaskId: "t1", Parameters: params})
	var o outcome
	for i, ev := range events {
		switch {
		case ev.GetResult() != nil:
			if i != len(events)-1 {
				t.Fatalf("result is not the last event: %v", events)
			}
			o.result = ev
			if err := json.Unmarshal(ev.GetResult().GetDetail(), &o.detail); err != nil {
				t.Fatalf("detail: %v", err)
			}
		case ev.GetLog().GetStream() == 1:
			o.stdout = append(o.stdout, ev.GetLog().GetLine())
		case ev.GetLog().GetStream() == 2:
			o.stderr = append(o.stderr, ev.GetLog().GetLine())
		}
	}
	if err == nil && o.result == nil {
		t.Fatalf("no result: %v", events)
	}
	return o, err
}

func TestRunFakeRunner(t *testing.T) {
	tests := []struct {
		name  string
		goos  string
		param map[string]string
		rule  cmdruntest.Rule
		want  string // command line
		ok    bool
		code  int32
	}{
		{"powershell default", "windows", nil, cmdruntest.Rule{Cmd: "powershell.exe", Stdout: "hi\n"},
			"powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File DIR/script.ps1", true, 0},
		{"cmd", "windows", map[string]string{"interpreter": "cmd"}, cmdruntest.Rule{Cmd: "cmd.exe", Code: 1},
			"cmd.exe /D /C DIR/script.cmd", false, 1},
		{"sh failure", "linux", nil, cmdruntest.Rule{Cmd: "sh", Stderr: "boom\n", Code: 127}, "sh DIR/script.sh", false, 127},
		{"not installed", "linux", map[string]string{"interpreter": "bash"}, cmdruntest.Rule{Cmd: "nothing"}, "bash DIR/script.sh", false, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &cmdruntest.Fake{Rules: []cmdruntest.Rule{tt.rule}}
			params := map[string]string{"script": "x"}
			for k, v := range tt.param {
				params[k] = v
			}
			o, err := runScript(t, t.Context(), New(Config{Runner: f, GOOS: tt.goos,
				Environ: func() []string { return []string{"Path=C:\\Windows", "SystemRoot=C:\\Windows", "USERNAME=x"} }}), params)
			if err != nil {
				t.Fatal(err)
			}
			calls := f.Calls()
			if len(calls) != 1 {
				t.Fatalf("calls %v", calls)
			}
			got := strings.ReplaceAll(strings.Join(f.Lines(), ""), calls[0].Dir, "DIR")
			if got != tt.want {
				t.Errorf("command %q, want %q", got, tt.want)
			}
			if tt.goos == "windows" && !slices.Equal(calls[0].Env, []string{"Path=C:\\Windows", "SystemRoot=C:\\Windows", "TEMP=" + calls[0].Dir, "TMP=" + calls[0].Dir}) {
				t.Errorf("env %q", calls[0].Env)
			}
			if r := o.result.GetResult(); r.GetOk() != tt.ok || r.GetExitCode() != tt.code {
				t.Errorf("result %v", r)
			}
		})
	}
}

func TestRunInvalidParams(t *testing.T) {
	tests := []struct {
		params map[string]string
		name   string
	}{
		{map[string]string{}, "script"},
		{map[string]string{"script": "  \n"}, "script"},
		{map[string]string{"script": strings.Repeat("x", MaxScript+1)}, "script"},
		{map[string]string{"script": "a\x00b"}, "script"},
		{map[string]string{"script": "x", "interpreter": "powershell"}, "interpreter"},
		{map[string]string{"script": "x", "interpreter": "/bin/sh"}, "interpreter"},
		{map[string]string{"script": "x", "timeout": "0s"}, "timeout"},
		{map[string]string{"script": "x", "timeout": "25h"}, "timeout"},
		{map[string]string{"script": "x", "timeout": "ten"}, "timeout"},
		{map[string]string{"script": "x", "output_limit": "-1"}, "output_limit"},
		{map[string]string{"script": "x", "output_limit": "1048577"}, "output_limit"},
		{map[string]string{"script": "x", "user": "root"}, "user"},
	}
	f := &cmdruntest.Fake{}
	c := sdktest.Start(t, New(Config{Runner: f, GOOS: "linux"}))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { sdktest.WantInvalidParam(t, c, tt.params, tt.name) })
	}
	if len(f.Calls()) != 0 {
		t.Errorf("invalid parameters ran %q", f.Lines())
	}
}

func TestInfo(t *testing.T) {
	info, err := sdktest.Start(t, New(Config{GOOS: "linux"})).Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.GetName() != "script" || !slices.Equal(info.GetCapabilities(), []string{sdk.CapRun}) || len(info.GetParameters()) != 4 {
		t.Errorf("Info = %v", info)
	}
}

func TestRunTempDirFails(t *testing.T) {
	f := &cmdruntest.Fake{}
	o, err := runScript(t, t.Context(), New(Config{Runner: f, GOOS: "linux", TempDir: "/nonexistent/vigil"}), map[string]string{"script": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if r := o.result.GetResult(); r.GetOk() || r.GetExitCode() != -1 || o.detail.Error == "" || len(f.Calls()) != 0 {
		t.Errorf("result %v detail %+v", r, o.detail)
	}
}
