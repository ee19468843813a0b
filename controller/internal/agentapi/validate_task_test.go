package agentapi

import (
	"fmt"
	"strings"
	"testing"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

func TestValidateTaskUpdate(t *testing.T) {
	lines := func(n, size int) []*agentv1.OutputLine {
		var out []*agentv1.OutputLine
		for range n {
			out = append(out, &agentv1.OutputLine{Line: strings.Repeat("x", size)})
		}
		return out
	}
	ok := func() *agentv1.TaskUpdate {
		return &agentv1.TaskUpdate{TaskId: "tk-0123456789abcdef", State: agentv1.TaskState_TASK_STATE_RUNNING}
	}
	cases := []struct {
		name string
		mod  func(u *agentv1.TaskUpdate)
		want string // "" for valid
	}{
		{"valid", func(*agentv1.TaskUpdate) {}, ""},
		{"bad task id", func(u *agentv1.TaskUpdate) { u.TaskId = "../etc" }, "task_id"},
		{"no state", func(u *agentv1.TaskUpdate) { u.State = 0 }, "task.state"},
		{"undefined state", func(u *agentv1.TaskUpdate) { u.State = 42 }, "task.state"},
		{"progress out of range", func(u *agentv1.TaskUpdate) { u.ProgressPercent = 101 }, "progress_percent"},
		{"1000 lines of 4 KiB", func(u *agentv1.TaskUpdate) { u.Output = lines(MaxTaskOutputLines, MaxTaskOutputLine) }, ""},
		{"too many lines", func(u *agentv1.TaskUpdate) { u.Output = lines(MaxTaskOutputLines+1, 1) }, "task.output"},
		{"line too long", func(u *agentv1.TaskUpdate) { u.Output = lines(1, MaxTaskOutputLine+1) }, "task.output[0]"},
		{"detail too big", func(u *agentv1.TaskUpdate) {
			u.Result = &agentv1.TaskResult{Detail: make([]byte, MaxTaskDetail+1)}
		}, "detail"},
		{"long reason is cut, not refused", func(u *agentv1.TaskUpdate) { u.Reason = strings.Repeat("r", 5000) }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := ok()
			tc.mod(u)
			err := validateReport(&agentv1.Report{Seq: 1, TimeUnixMs: 1, Body: &agentv1.Report_Task{Task: u}})
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	// Text is cleaned: escape sequences in output, newlines in the reason.
	u := ok()
	u.Reason = "exit 1\nmore"
	u.Output = []*agentv1.OutputLine{{Line: "\x1b[31mred\x1b[0m\tcol"}}
	if err := validateTaskUpdate(u); err != nil {
		t.Fatal(err)
	}
	if u.GetReason() != "exit 1?more" || u.GetOutput()[0].GetLine() != "?[31mred?[0m\tcol" {
		t.Fatalf("cleaned to %q and %q", u.GetReason(), u.GetOutput()[0].GetLine())
	}
}

func TestValidatePluginList(t *testing.T) {
	cases := []struct {
		name string
		pl   *agentv1.PluginList
		ok   bool
	}{
		{"valid", &agentv1.PluginList{Tier: "proactive", Plugins: []*agentv1.PluginInfo{{Name: "reboot", Capabilities: []string{"run", "downtime"}}}}, true},
		{"nameless plugin", &agentv1.PluginList{Plugins: []*agentv1.PluginInfo{{Version: "1"}}}, false},
		{"control character", &agentv1.PluginList{Plugins: []*agentv1.PluginInfo{{Name: "re\x07boot"}}}, false},
		{"too many", &agentv1.PluginList{Plugins: make([]*agentv1.PluginInfo, MaxPlugins+1)}, false},
		{"long hash", &agentv1.PluginList{Hash: make([]byte, 33)}, false},
		{"too big to store", bigPluginList(), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := validatePluginList(tc.pl); (err == nil) != tc.ok {
				t.Fatalf("got %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// bigPluginList is within every per-field limit but too large as a whole.
func bigPluginList() *agentv1.PluginList {
	pl := &agentv1.PluginList{}
	for i := range 100 {
		pl.Plugins = append(pl.Plugins, &agentv1.PluginInfo{Name: fmt.Sprintf("p%d", i), Error: strings.Repeat("e", 1000)})
	}
	return pl
}
