//go:build unix

package taskrunner

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/agent/internal/config"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	trustv1 "github.com/vigil-rmm/vigil/proto/vigil/trust/v1"
)

const (
	accepted    = agentv1.TaskState_TASK_STATE_ACCEPTED
	runningS    = agentv1.TaskState_TASK_STATE_RUNNING
	succeeded   = agentv1.TaskState_TASK_STATE_SUCCEEDED
	failed      = agentv1.TaskState_TASK_STATE_FAILED
	cancelledS  = agentv1.TaskState_TASK_STATE_CANCELLED
	refused     = agentv1.TaskState_TASK_STATE_REFUSED
	interrupted = agentv1.TaskState_TASK_STATE_INTERRUPTED
	rebootingS  = agentv1.TaskState_TASK_STATE_REBOOTING
)

var finalStates = []agentv1.TaskState{succeeded, failed, cancelledS, refused, interrupted, rebootingS}

// TestTaskRunsAndStreams: a valid task is accepted, runs, streams its
// output in batches of at most FlushLines, in order, and succeeds.
func TestTaskRunsAndStreams(t *testing.T) {
	e := newEnv(t, newKeys(t))
	e.start(config.TierProactive, nil)
	tk := task("lines")
	tk.Parameters["n"] = "250"
	e.runner.Offer(e.keys.sign(t, tk))
	us := e.wait(tk.TaskId, finalStates...)

	st := states(us)
	if st[0] != accepted || st[1] != runningS || st[len(st)-1] != succeeded {
		t.Fatalf("states = %v, want ACCEPTED, RUNNING ..., SUCCEEDED", st)
	}
	var got []string
	for _, u := range us {
		if len(u.GetOutput()) > FlushLines {
			t.Errorf("one update carries %d lines, limit %d", len(u.GetOutput()), FlushLines)
		}
		if u.GetBootTimeUnix() != e.boot.Load() {
			t.Errorf("boot_time_unix = %d, want %d", u.GetBootTimeUnix(), e.boot.Load())
		}
		for _, l := range u.GetOutput() {
			got = append(got, l.GetLine())
			if i, _ := strconv.Atoi(strings.Fields(l.GetLine())[1]); l.GetStderr() != (i%2 == 1) {
				t.Errorf("line %q: stderr = %v", l.GetLine(), l.GetStderr())
			}
		}
	}
	if len(got) != 250 || !strings.HasPrefix(got[0], "line 0 ") || !strings.HasPrefix(got[249], "line 249 ") {
		t.Fatalf("got %d lines (first %q), want 250 in order", len(got), got[:min(1, len(got))])
	}
	last := us[len(us)-1]
	if !last.GetResult().GetOk() || last.GetResult().GetSummary() != "250 lines" || last.GetOutputTruncated() {
		t.Fatalf("final = %v", last)
	}
	if runs := lines(t, e.runsFile()); !slices.Equal(runs, []string{"testplugin/" + tk.TaskId}) {
		t.Fatalf("runs = %v", runs)
	}
	j, err := e.journal.Get(t.Context(), tk.TaskId)
	if err != nil || j.State != succeeded {
		t.Fatalf("journal = %+v, %v", j, err)
	}
}

// TestOutputFlushedEverySecond: slow output is not held until the end.
func TestOutputFlushedEverySecond(t *testing.T) {
	e := newEnv(t, newKeys(t))
	e.start(config.TierProactive, nil)
	tk := task("lines")
	tk.Parameters["n"], tk.Parameters["sleep_ms"] = "3", "800"
	e.runner.Offer(e.keys.sign(t, tk))
	us := e.wait(tk.TaskId, finalStates...)
	withOutput := 0
	for _, u := range us {
		if u.GetState() == runningS && len(u.GetOutput()) > 0 {
			withOutput++
		}
	}
	if withOutput < 2 {
		t.Fatalf("%d RUNNING updates carried output, want at least 2 (one a second): %v", withOutput, us)
	}
}

func TestProgress(t *testing.T) {
	e := newEnv(t, newKeys(t))
	e.start(config.TierProactive, nil)
	tk := task("ok")
	tk.Parameters["n"] = "4"
	e.runner.Offer(e.keys.sign(t, tk))
	us := e.wait(tk.TaskId, finalStates...)
	last := us[len(us)-1]
	if last.GetState() != succeeded || last.GetProgressPercent() != 100 || last.GetProgressMessage() != "step 4" {
		t.Fatalf("final = %v", last)
	}
}

// TestRefusals: each reason a task is refused, and that the plugin never
// ran it.
func TestRefusals(t *testing.T) {
	k := newKeys(t)
	other := newKeys(t)
	for _, c := range []struct {
		name   string
		tier   string
		cfg    func(*Config)
		task   func(*trustv1.Task)
		sign   func(*testing.T, *trustv1.Task) []byte
		reason string
	}{
		{name: "bad signature", tier: config.TierProactive, task: func(*trustv1.Task) {},
			sign: func(t *testing.T, tk *trustv1.Task) []byte {
				b := k.sign(t, tk)
				b[len(b)-1] ^= 1 // the last byte is the task signature's
				return b
			}, reason: "bad signature"},
		{name: "another root", tier: config.TierProactive, task: func(*trustv1.Task) {}, sign: other.sign,
			reason: "certificate not issued by the pinned root"},
		{name: "wrong agent", tier: config.TierProactive, task: func(tk *trustv1.Task) { tk.AgentId = "ag-other" }, sign: k.sign,
			reason: "task is for another agent or tenant"},
		{name: "wrong tenant", tier: config.TierProactive, task: func(tk *trustv1.Task) { tk.Tenant = "globex" }, sign: k.sign,
			reason: "task is for another agent or tenant"},
		{name: "expired", tier: config.TierProactive, task: func(tk *trustv1.Task) { tk.NotBeforeUnix, tk.NotAfterUnix = t0-7200, t0-3600 },
			sign: k.sign, reason: "task's not-after time has passed"},
		{name: "not yet", tier: config.TierProactive, task: func(tk *trustv1.Task) { tk.NotBeforeUnix, tk.NotAfterUnix = t0+3600, t0+7200 },
			sign: k.sign, reason: "task's start time has not come"},
		{name: "no trust root", tier: config.TierProactive, cfg: func(c *Config) { c.RootPin = nil }, task: func(*trustv1.Task) {},
			sign: k.sign, reason: ReasonNoTrustRoot},
		{name: "monitor-only", tier: config.TierMonitorOnly, task: func(*trustv1.Task) {}, sign: k.sign, reason: ReasonMonitorOnly},
		{name: "unknown plugin", tier: config.TierProactive, task: func(tk *trustv1.Task) { tk.Plugin = "nosuch" }, sign: k.sign,
			reason: "unknown plugin nosuch"},
		{name: "checksum", tier: config.TierProactive, task: func(tk *trustv1.Task) { tk.Plugin = "broken" }, sign: k.sign,
			reason: "plugin broken: its binary does not match the manifest checksum; not started"},
		{name: "no run capability", tier: config.TierProactive, task: func(tk *trustv1.Task) { tk.Plugin = "inspectonly" }, sign: k.sign,
			reason: "plugin inspectonly does not run tasks"},
		{name: "downtime plugin, no downtime flag", tier: config.TierProactive, task: func(tk *trustv1.Task) { tk.Plugin = "downtimeplug" },
			sign: k.sign, reason: "plugin downtimeplug may interrupt service"},
		{name: "reboot, no downtime flag", tier: config.TierProactive, task: func(tk *trustv1.Task) { tk.Plugin = "reboot" },
			sign: k.sign, reason: "plugin reboot may interrupt service"},
		{name: "downtime without approver", tier: config.TierProactive, task: func(tk *trustv1.Task) { tk.Downtime = true },
			sign: func(t *testing.T, tk *trustv1.Task) []byte {
				b, err := signTechOnly(k, tk)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}, reason: "downtime task without a client approver's signature"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, k)
			e.start(c.tier, c.cfg)
			tk := task("ok")
			c.task(tk)
			e.runner.Offer(c.sign(t, tk))
			us := e.wait(tk.TaskId, finalStates...)
			if len(us) != 1 || us[0].GetState() != refused || !strings.Contains(us[0].GetReason(), c.reason) {
				t.Fatalf("updates = %v, want one REFUSED with %q", us, c.reason)
			}
			if runs := lines(t, e.runsFile()); len(runs) != 0 {
				t.Fatalf("the plugin ran: %v", runs)
			}
			if _, err := e.journal.Get(t.Context(), tk.TaskId); err == nil {
				t.Fatal("a refused task was journaled")
			}
		})
	}
}

// TestMonitorOnlyStartsNoActionPlugin: in monitor-only, a task is refused
// without any plugin being asked, and at start only the scanner plugin
// runs (for the plugin list); the others are listed as not started.
func TestMonitorOnlyStartsNoActionPlugin(t *testing.T) {
	e := newEnv(t, newKeys(t))
	e.start(config.TierMonitorOnly, nil)
	for _, plugin := range []string{"testplugin", "reboot", "downtimeplug"} {
		tk := task("ok")
		tk.Plugin, tk.Downtime = plugin, plugin != "testplugin"
		e.runner.Offer(e.keys.sign(t, tk))
		us := e.wait(tk.TaskId, finalStates...)
		if len(us) != 1 || us[0].GetReason() != ReasonMonitorOnly {
			t.Fatalf("%s: updates = %v", plugin, us)
		}
	}
	lists := reportsOf(e, (*agentv1.Report).GetPlugins, func(l *agentv1.PluginList) bool { return l != nil })
	if len(lists) != 1 || lists[0].GetTier() != config.TierMonitorOnly {
		t.Fatalf("plugin lists = %v", lists)
	}
	for _, p := range lists[0].GetPlugins() {
		switch p.GetName() {
		case "testplugin":
			if p.GetError() != "" || !p.GetChecksumOk() || !slices.Contains(p.GetCapabilities(), "run") {
				t.Errorf("scanner plugin = %v", p)
			}
		case "broken":
			if p.GetChecksumOk() || !strings.HasPrefix(p.GetError(), ReasonNotStarted) {
				t.Errorf("broken = %v", p)
			}
		default:
			if p.GetError() != ReasonNotStarted || !p.GetChecksumOk() {
				t.Errorf("action plugin = %v", p)
			}
		}
	}
	if starts := lines(t, e.startsFile()); !slices.Equal(starts, []string{"testplugin"}) {
		t.Fatalf("plugin processes started: %v, want the scanner plugin only", starts)
	}
	if runs := lines(t, e.runsFile()); len(runs) != 0 {
		t.Fatalf("runs = %v", runs)
	}
}

// TestMonitorOnlyWithoutScannerStartsNothing: with no scanner plugin, a
// monitor-only agent starts no plugin process at all, whatever it is
// offered.
func TestMonitorOnlyWithoutScannerStartsNothing(t *testing.T) {
	e := newEnv(t, newKeys(t))
	e.start(config.TierMonitorOnly, func(c *Config) { c.ScannerPlugins = nil })
	tk := task("ok")
	e.runner.Offer(e.keys.sign(t, tk))
	if us := e.wait(tk.TaskId, finalStates...); len(us) != 1 || us[0].GetReason() != ReasonMonitorOnly {
		t.Fatalf("updates = %v", us)
	}
	time.Sleep(200 * time.Millisecond)
	if starts := lines(t, e.startsFile()); len(starts) != 0 {
		t.Fatalf("plugin processes started: %v", starts)
	}
}

// TestPluginListOnlyWhenChanged: the list is queued at start, then only
// when it changed (its hash is kept in the state dir).
func TestPluginListOnlyWhenChanged(t *testing.T) {
	e := newEnv(t, newKeys(t))
	e.start(config.TierProactive, nil)
	get := func() []*agentv1.PluginList {
		return reportsOf(e, (*agentv1.Report).GetPlugins, func(l *agentv1.PluginList) bool { return l != nil })
	}
	waitFor(t, func() bool { return len(get()) == 1 })
	l := get()[0]
	var names []string
	for _, p := range l.GetPlugins() {
		names = append(names, p.GetName())
		want := []string{"run", "inspect"}
		switch p.GetName() {
		case "broken":
			if p.GetChecksumOk() || !strings.Contains(p.GetError(), "checksum") {
				t.Errorf("broken = %v", p)
			}
			continue
		case "inspectonly":
			want = []string{"inspect"}
		case "reboot", "downtimeplug":
			want = append(want, "downtime")
		}
		for _, c := range want {
			if !slices.Contains(p.GetCapabilities(), c) || p.GetVersion() != "0.0.1" || !p.GetChecksumOk() {
				t.Errorf("%s = %v, want capability %s", p.GetName(), p, c)
			}
		}
	}
	if !slices.Equal(names, []string{"broken", "downtimeplug", "inspectonly", "reboot", "testplugin"}) || len(l.GetHash()) != 16 {
		t.Fatalf("list = %v", l)
	}
	e.stop()

	e.start(config.TierProactive, nil)
	time.Sleep(500 * time.Millisecond)
	e.stop()
	e.open(config.TierProactive, nil)
	if n := len(get()); n != 1 {
		t.Fatalf("%d plugin lists after an unchanged restart, want 1", n)
	}
	e.close()
	e.start(config.TierMonitorOnly, nil)
	waitFor(t, func() bool { return len(get()) == 2 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReplay: a second task reusing a nonce is refused; the same task
// offered again gets its final update again and does not run again.
func TestReplay(t *testing.T) {
	e := newEnv(t, newKeys(t))
	e.start(config.TierProactive, nil)
	tk := task("ok")
	raw := e.keys.sign(t, tk)
	e.runner.Offer(raw)
	first := e.wait(tk.TaskId, finalStates...)

	e.runner.Offer(raw)
	waitFor(t, func() bool { return len(e.updates(tk.TaskId)) == len(first)+1 })
	again := e.updates(tk.TaskId)[len(first)]
	if again.GetState() != succeeded || again.GetResult().GetSummary() != "done "+tk.TaskId {
		t.Fatalf("repeated offer answered %v, want the SUCCEEDED update again", again)
	}

	replay := task("ok")
	replay.Nonce = tk.Nonce
	e.runner.Offer(e.keys.sign(t, replay))
	us := e.wait(replay.TaskId, finalStates...)
	if len(us) != 1 || us[0].GetState() != refused || us[0].GetReason() != ReasonReplayed {
		t.Fatalf("replayed nonce: %v", us)
	}
	if runs := lines(t, e.runsFile()); len(runs) != 1 {
		t.Fatalf("runs = %v, want one", runs)
	}
}

// TestTimeoutKillsPlugin: past timeout_seconds the plugin and its child
// are killed and the task fails.
func TestTimeoutKillsPlugin(t *testing.T) {
	e := newEnv(t, newKeys(t))
	e.start(config.TierProactive, nil)
	tk := task("child")
	tk.TimeoutSeconds = 2
	e.runner.Offer(e.keys.sign(t, tk))
	us := e.wait(tk.TaskId, finalStates...)
	last := us[len(us)-1]
	if last.GetState() != failed || !strings.Contains(last.GetReason(), "timed out after 2s") {
		t.Fatalf("final = %v", last)
	}
	pid := childPID(t, us)
	waitGone(t, pid)
}

func childPID(t *testing.T, us []*agentv1.TaskUpdate) int {
	t.Helper()
	for _, u := range us {
		for _, l := range u.GetOutput() {
			if v, ok := strings.CutPrefix(l.GetLine(), "child-pid="); ok {
				pid, err := strconv.Atoi(v)
				if err != nil {
					t.Fatal(err)
				}
				return pid
			}
		}
	}
	t.Fatalf("no child pid in %v", us)
	return 0
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	waitFor(t, func() bool {
		if err := syscall.Kill(pid, 0); err != nil {
			return true
		}
		b, err := readStat(pid)
		return err != nil || b == 'Z'
	})
}

// TestDefaultTimeout: a task without timeout_seconds gets DefaultTimeout.
func TestDefaultTimeout(t *testing.T) {
	e := newEnv(t, newKeys(t))
	e.start(config.TierProactive, func(c *Config) { c.DefaultTimeout = time.Second })
	tk := task("hang")
	tk.TimeoutSeconds = 0
	e.runner.Offer(e.keys.sign(t, tk))
	us := e.wait(tk.TaskId, finalStates...)
	if last := us[len(us)-1]; last.GetState() != failed || !strings.Contains(last.GetReason(), "timed out after 1s") {
		t.Fatalf("final = %v", last)
	}
}

func TestCrashFails(t *testing.T) {
	e := newEnv(t, newKeys(t))
	e.start(config.TierProactive, nil)
	tk := task("crash")
	e.runner.Offer(e.keys.sign(t, tk))
	us := e.wait(tk.TaskId, finalStates...)
	last := us[len(us)-1]
	if last.GetState() != failed || !strings.HasPrefix(last.GetReason(), "the plugin crashed") || last.GetProgressPercent() != 10 {
		t.Fatalf("final = %v", last)
	}
	// The next task starts the plugin again.
	next := task("ok")
	e.runner.Offer(e.keys.sign(t, next))
	if us := e.wait(next.TaskId, finalStates...); us[len(us)-1].GetState() != succeeded {
		t.Fatalf("after a crash: %v", us)
	}
}

func TestFailedResult(t *testing.T) {
	e := newEnv(t, newKeys(t))
	e.start(config.TierProactive, nil)
	tk := task("fail")
	e.runner.Offer(e.keys.sign(t, tk))
	us := e.wait(tk.TaskId, finalStates...)
	last := us[len(us)-1]
	if last.GetState() != failed || last.GetReason() != "failed on purpose" || last.GetResult().GetExitCode() != 2 ||
		string(last.GetResult().GetDetail()) != `{"why":"asked to"}` {
		t.Fatalf("final = %v", last)
	}
	none := task("none")
	e.runner.Offer(e.keys.sign(t, none))
	us = e.wait(none.TaskId, finalStates...)
	if last := us[len(us)-1]; last.GetState() != failed || last.GetReason() != "the plugin ended without a result" {
		t.Fatalf("no result: %v", last)
	}
}

// TestCancel: a cancel stops the running plugin (and its child), and a
// cancel that arrives before its task runs keeps it from running.
func TestCancel(t *testing.T) {
	e := newEnv(t, newKeys(t))
	e.start(config.TierProactive, nil)
	tk := task("child")
	e.runner.Offer(e.keys.sign(t, tk))
	e.waitOutput(tk.TaskId)
	if cur := e.runner.Current(); cur == nil || cur.TaskID != tk.TaskId || cur.Plugin != "testplugin" {
		t.Fatalf("Current = %+v", cur)
	}
	queued := task("ok")
	e.runner.Offer(e.keys.sign(t, queued))
	e.runner.Cancel(queued.TaskId, "cancelled by alice before it ran")
	e.runner.Cancel(tk.TaskId, "cancelled by alice")
	us := e.wait(tk.TaskId, finalStates...)
	if last := us[len(us)-1]; last.GetState() != cancelledS || last.GetReason() != "cancelled by alice" {
		t.Fatalf("final = %v", last)
	}
	waitGone(t, childPID(t, us))
	qs := e.wait(queued.TaskId, finalStates...)
	if last := qs[len(qs)-1]; last.GetState() != cancelledS || last.GetReason() != "cancelled by alice before it ran" {
		t.Fatalf("queued task: %v", qs)
	}
	if runs := lines(t, e.runsFile()); len(runs) != 1 {
		t.Fatalf("runs = %v, want only the first task", runs)
	}
	if e.runner.Current() != nil {
		t.Fatal("Current after the task ended")
	}
}

// TestOutputCap: output past OutputCap is dropped and flagged; the task
// still succeeds.
func TestOutputCap(t *testing.T) {
	e := newEnv(t, newKeys(t))
	e.start(config.TierProactive, func(c *Config) { c.OutputCap = 1000 })
	tk := task("lines")
	tk.Parameters["n"], tk.Parameters["size"] = "500", "99"
	e.runner.Offer(e.keys.sign(t, tk))
	us := e.wait(tk.TaskId, finalStates...)
	total, n := 0, 0
	for _, u := range us {
		for _, l := range u.GetOutput() {
			total += len(l.GetLine()) + 1
			n++
		}
	}
	last := us[len(us)-1]
	if total > 1000 || n != 10 || !last.GetOutputTruncated() || last.GetState() != succeeded {
		t.Fatalf("%d lines, %d bytes forwarded; final = %v", n, total, last)
	}
}

// TestRebootSucceedsOnNewBoot: a result saying "rebooting" leaves the
// task REBOOTING; a restart on the same boot keeps waiting; one on a new
// boot succeeds it.
func TestRebootSucceedsOnNewBoot(t *testing.T) {
	e := newEnv(t, newKeys(t))
	e.start(config.TierProactive, nil)
	tk := task("reboot")
	e.runner.Offer(e.keys.sign(t, tk))
	us := e.wait(tk.TaskId, finalStates...)
	if last := us[len(us)-1]; last.GetState() != rebootingS || !last.GetResult().GetOk() {
		t.Fatalf("final = %v", last)
	}
	e.stop()

	// Same boot (the agent restarted, the host did not): still waiting.
	e.start(config.TierProactive, nil)
	time.Sleep(300 * time.Millisecond)
	if us := e.updates(tk.TaskId); us[len(us)-1].GetState() != rebootingS {
		t.Fatalf("same boot: %v", states(us))
	}
	e.stop()

	e.boot.Add(3600)
	e.start(config.TierProactive, nil)
	us = e.wait(tk.TaskId, succeeded)
	last := us[len(us)-1]
	want := "the server restarted at " + time.Unix(e.boot.Load(), 0).UTC().Format(time.RFC3339)
	if last.GetState() != succeeded || last.GetReason() != want || last.GetBootTimeUnix() != e.boot.Load() {
		t.Fatalf("new boot: %v, want SUCCEEDED %q", last, want)
	}
	if j, _ := e.journal.Get(t.Context(), tk.TaskId); j.State != succeeded {
		t.Fatalf("journal = %v", j.State)
	}
}

// TestRebootPluginDowntime: the reboot plugin runs from an approved
// downtime task, and any ok result of it means REBOOTING.
func TestRebootPluginDowntime(t *testing.T) {
	e := newEnv(t, newKeys(t))
	e.start(config.TierProactive, nil)
	tk := task("ok")
	tk.Plugin, tk.Downtime = "reboot", true
	e.runner.Offer(e.keys.sign(t, tk))
	us := e.wait(tk.TaskId, finalStates...)
	if last := us[len(us)-1]; last.GetState() != rebootingS {
		t.Fatalf("final = %v", last)
	}
}

// TestRebootThatNeverHappens fails once not-after plus the timeout passed.
func TestRebootThatNeverHappens(t *testing.T) {
	e := newEnv(t, newKeys(t))
	e.start(config.TierProactive, nil)
	tk := task("reboot")
	e.runner.Offer(e.keys.sign(t, tk))
	e.wait(tk.TaskId, rebootingS)
	e.stop()
	e.now.Store(tk.NotAfterUnix + int64(tk.TimeoutSeconds) + 1)
	e.start(config.TierProactive, nil)
	us := e.wait(tk.TaskId, failed)
	if last := us[len(us)-1]; last.GetReason() != ReasonNoReboot {
		t.Fatalf("final = %v", last)
	}
}

// TestInterruptedAfterRestart: a task the journal shows running when the
// agent starts is reported INTERRUPTED, and a repeated offer of it is
// answered with that, never run.
func TestInterruptedAfterRestart(t *testing.T) {
	e := newEnv(t, newKeys(t))
	e.start(config.TierProactive, nil)
	tk := task("hang")
	raw := e.keys.sign(t, tk)
	e.runner.Offer(raw)
	e.wait(tk.TaskId, runningS)
	// Simulate a crash: the journal keeps RUNNING (stop would record
	// INTERRUPTED itself, so put RUNNING back as a crash would leave it).
	e.stop()
	e.open(config.TierProactive, nil)
	if err := e.journal.Set(t.Context(), tk.TaskId, runningS, nil, time.Unix(t0, 0)); err != nil {
		t.Fatal(err)
	}
	e.close()

	e.start(config.TierProactive, nil)
	waitFor(t, func() bool {
		us := e.updates(tk.TaskId)
		return us[len(us)-1].GetState() == interrupted && len(us) > 3
	})
	e.runner.Offer(raw)
	waitFor(t, func() bool {
		us := e.updates(tk.TaskId)
		return len(us) > 4 && us[len(us)-1].GetState() == interrupted
	})
	us := e.updates(tk.TaskId)
	if last := us[len(us)-1]; last.GetReason() != ReasonInterrupted {
		t.Fatalf("final = %v", last)
	}
	if runs := lines(t, e.runsFile()); len(runs) != 1 {
		t.Fatalf("runs = %v, want one", runs)
	}
}

// TestStopInterrupts: stopping the agent mid-task kills the plugin and
// records the task INTERRUPTED at once.
func TestStopInterrupts(t *testing.T) {
	e := newEnv(t, newKeys(t))
	e.start(config.TierProactive, nil)
	tk := task("child")
	e.runner.Offer(e.keys.sign(t, tk))
	e.waitOutput(tk.TaskId)
	us := e.updates(tk.TaskId)
	pid := childPID(t, us)
	e.stop()
	waitGone(t, pid)
	e.open(config.TierProactive, nil)
	defer e.close()
	us = e.updates(tk.TaskId)
	if last := us[len(us)-1]; last.GetState() != interrupted {
		t.Fatalf("final = %v", last)
	}
	if j, _ := e.journal.Get(t.Context(), tk.TaskId); j.State != interrupted {
		t.Fatalf("journal = %v", j.State)
	}
}

// TestOfferNeverBlocks: a full queue drops offers instead of blocking.
func TestOfferNeverBlocks(t *testing.T) {
	e := newEnv(t, newKeys(t))
	e.open(config.TierProactive, nil)
	defer e.close()
	r, err := New(Config{Journal: e.journal, Outbox: e.outbox, BootTime: e.boot.Load, Queue: 2})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 10 {
			r.Offer([]byte(fmt.Sprint(i)))
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Offer blocked")
	}
	if len(r.offers) != 2 {
		t.Fatalf("queued %d, want 2", len(r.offers))
	}
}
