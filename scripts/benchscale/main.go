// Command benchscale runs one scale measurement of vigil on this machine:
// a fresh controller pinned to one core, vigil-agentsim with N agents
// pinned to another, controller vital signs sampled from /proc and its
// debug endpoint, and optionally a reconnect storm (the controller killed
// with SIGKILL and restarted while every agent is connected). It prints a
// summary and writes the full result as JSON. `make bench-scale` runs it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/vigil-rmm/vigil/scripts/procstat"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	var o opts
	flag.IntVar(&o.agents, "agents", 1000, "simulated agents")
	flag.DurationVar(&o.duration, "duration", 3*time.Minute, "simulator run time (ramp included)")
	flag.DurationVar(&o.interval, "interval", 60*time.Second, "report interval")
	flag.DurationVar(&o.ramp, "ramp", 0, "ramp (default: duration/4, at most 2m)")
	flag.BoolVar(&o.storm, "storm", true, "kill -9 and restart the controller at 80% of the run")
	flag.StringVar(&o.outbox, "outbox", "bolt", "simulator outbox: bolt or memory")
	flag.StringVar(&o.bin, "bin", "./bin", "directory with vigil-controller, vigilctl and vigil-agentsim")
	flag.StringVar(&o.dir, "dir", "./var/bench", "working directory")
	flag.StringVar(&o.out, "out", "", "result JSON (default DIR/scale-AGENTS.json)")
	flag.BoolVar(&o.fanout, "fanout", false, "task fan-out: once the fleet is online, create one signed task per agent and measure until all succeeded")
	flag.DurationVar(&o.fanoutSettle, "fanout-after", 10*time.Second, "start the fan-out this long after 99% of the agents are online")
	flag.IntVar(&o.fanoutConc, "fanout-concurrency", 16, "CreateTask calls in flight during the fan-out")
	flag.DurationVar(&o.fanoutTimeout, "fanout-timeout", 2*time.Minute, "give up waiting for the fan-out's tasks after this long")
	flag.DurationVar(&o.cpuProfile, "cpu-pprof", 0, "take a controller CPU profile of this length from 45% of the run, after the ramp (DIR/run-N/cpu.pprof)")
	flag.BoolVar(&o.heapProfile, "heap-pprof", false, "save a controller heap profile at 90% of the run (DIR/run-N/heap.pprof)")
	flag.DurationVar(&o.fanoutProfile, "fanout-pprof", 0, "take a controller CPU profile of this length from the start of the fan-out (DIR/run-N/fanout-cpu.pprof)")
	flag.Var(&o.controllerEnv, "controller-env", "NAME=value added to the controller's environment only, e.g. GOGC=25 (repeatable)")
	flag.Parse()
	if o.ramp == 0 {
		o.ramp = min(o.duration/4, 2*time.Minute)
	}
	if o.out == "" {
		o.out = filepath.Join(o.dir, fmt.Sprintf("scale-%d.json", o.agents))
	}
	res, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchscale:", err)
		os.Exit(1)
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	if err := os.WriteFile(o.out, append(b, '\n'), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "benchscale:", err)
		os.Exit(1)
	}
	printSummary(os.Stdout, res)
	fmt.Printf("full result: %s\n", o.out)
}

type opts struct {
	agents             int
	duration, interval time.Duration
	ramp               time.Duration
	storm              bool
	outbox, bin, dir   string
	out                string
	fanout             bool
	fanoutSettle       time.Duration
	fanoutConc         int
	fanoutTimeout      time.Duration
	fanoutProfile      time.Duration
	heapProfile        bool
	cpuProfile         time.Duration
	controllerEnv      envList
}

// envList collects repeated NAME=value flags.
type envList []string

func (e *envList) String() string { return strings.Join(*e, " ") }

func (e *envList) Set(v string) error {
	if name, _, ok := strings.Cut(v, "="); !ok || name == "" {
		return fmt.Errorf("want NAME=value, got %q", v)
	}
	*e = append(*e, v)
	return nil
}

// Sample is one observation of the controller process.
type Sample struct {
	T          float64 `json:"t"`
	CPUSeconds float64 `json:"cpu_s"`
	RSSBytes   uint64  `json:"rss"`
	RSSFile    uint64  `json:"rss_file"`
	Goroutines int     `json:"goroutines"`
	OpenFiles  int     `json:"open_files"`
	HeapInuse  uint64  `json:"heap_inuse"`
	Online     int     `json:"agents_online"`
	// StreamsEnded counts the agent streams that ended, by reason.
	StreamsEnded map[string]uint64 `json:"streams_ended,omitempty"`
}

// Result is the JSON written by a run.
type Result struct {
	Machine  string `json:"machine"`
	Agents   int    `json:"agents"`
	Interval string `json:"interval"`
	Duration string `json:"duration"`
	Pinned   bool   `json:"pinned"`
	// ControllerEnv is what -controller-env added.
	ControllerEnv []string        `json:"controller_env,omitempty"`
	Baseline      Sample          `json:"baseline"`
	Steady        SteadySummary   `json:"steady"`
	Sim           json.RawMessage `json:"sim"`
	Samples       []Sample        `json:"samples"`
	StormAt       float64         `json:"storm_at_s,omitempty"`
	Fanout        *Fanout         `json:"fanout,omitempty"`
	StartedAt     time.Time       `json:"started_at"`
}

// SteadySummary is the controller during the simulator's steady window.
type SteadySummary struct {
	FromS            float64 `json:"from_s"`
	ToS              float64 `json:"to_s"`
	CPUCores         float64 `json:"cpu_cores"`
	RSSBytesMax      uint64  `json:"rss_max"`
	RSSFileMax       uint64  `json:"rss_file_max"`
	RSSBytesMean     uint64  `json:"rss_mean"`
	RSSPerAgentBytes float64 `json:"rss_per_agent"`
	GoroutinesMax    int     `json:"goroutines_max"`
	OpenFilesMax     int     `json:"open_files_max"`
	// Drift compares the last quarter of the window with the first: a
	// leak shows as steady growth.
	HeapDriftPct       float64 `json:"heap_drift_pct"`
	GoroutineDrift     int     `json:"goroutine_drift"`
	OpenFilesDrift     int     `json:"open_files_drift"`
	AckP50MS, AckP99MS float64
}

func pinned(core int, name string, args ...string) *exec.Cmd {
	if _, err := exec.LookPath("taskset"); err == nil {
		return exec.Command("taskset", append([]string{"-c", strconv.Itoa(core), name}, args...)...)
	}
	return exec.Command(name, args...)
}

func run(o opts) (*Result, error) {
	dir, err := filepath.Abs(filepath.Join(o.dir, fmt.Sprintf("run-%d", o.agents)))
	if err != nil {
		return nil, err
	}
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	bin := func(n string) string { p, _ := filepath.Abs(filepath.Join(o.bin, n)); return p }
	agentAddr, apiAddr, debugAddr := procstat.FreeAddr(), procstat.FreeAddr(), procstat.FreeAddr()
	admin := filepath.Join(dir, "admin.json")
	out, err := exec.Command(bin("vigil-controller"), "init", "--data", filepath.Join(dir, "ctl"), "--admin-config", admin,
		"--api-address", apiAddr).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("init: %v: %s", err, out)
	}
	var pin string
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "ca-pin: "); ok {
			pin = v
		}
	}
	ctlLog, err := os.Create(filepath.Join(dir, "controller.log"))
	if err != nil {
		return nil, err
	}
	defer ctlLog.Close()
	startCtl := func() (*exec.Cmd, error) {
		c := pinned(0, bin("vigil-controller"), "run", "--data", filepath.Join(dir, "ctl"), "--agent-listen", agentAddr,
			"--api-listen", apiAddr, "--debug-listen", debugAddr, "--log-level", "warn")
		c.Stdout, c.Stderr = ctlLog, ctlLog
		if len(o.controllerEnv) > 0 {
			c.Env = append(os.Environ(), o.controllerEnv...)
		}
		if err := c.Start(); err != nil {
			return nil, err
		}
		for i := 0; i < 200; i++ {
			if _, err := http.Get("http://" + debugAddr + "/debug/vars"); err == nil {
				return c, nil
			}
			time.Sleep(50 * time.Millisecond)
		}
		return nil, errors.New("controller did not start; see controller.log")
	}
	ctl, err := startCtl()
	if err != nil {
		return nil, err
	}
	defer func() { _ = ctl.Process.Signal(syscall.SIGTERM); _ = ctl.Wait() }()

	vigilctl := func(args ...string) ([]byte, error) {
		c := exec.Command(bin("vigilctl"), append([]string{"--config", admin}, args...)...)
		return c.Output()
	}
	if _, err := vigilctl("tenant", "create", "bench"); err != nil {
		return nil, fmt.Errorf("tenant: %w", err)
	}
	tokOut, err := vigilctl("token", "create", "--tenant", "bench", "--uses", strconv.Itoa(max(o.agents, 1)), "--ttl", "24h", "-o", "json")
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	var tok struct{ Token string }
	_ = json.Unmarshal(tokOut, &tok)

	res := &Result{Machine: machine(), Agents: o.agents, Interval: o.interval.String(), Duration: o.duration.String(), StartedAt: time.Now().UTC(),
		ControllerEnv: o.controllerEnv}
	_, err = exec.LookPath("taskset")
	res.Pinned = err == nil
	time.Sleep(2 * time.Second)
	start := time.Now()
	pid := func() int { return childPID(ctl) }
	res.Baseline = sample(pid(), debugAddr, 0)

	var fo fanoutOpts
	simArgs := []string{}
	if o.fanout {
		// The root exists before the agents start: they pin it, as
		// `vigil-agent enroll --trust-root` does.
		root, fp, err := newRoot()
		if err != nil {
			return nil, err
		}
		fo = fanoutOpts{adminConfig: admin, tenant: "bench", root: root, fingerprint: fp, concurrency: max(1, o.fanoutConc),
			timeout: o.fanoutTimeout, debugAddr: debugAddr, profile: o.fanoutProfile, profilePath: filepath.Join(dir, "fanout-cpu.pprof")}
		simArgs = append(simArgs, "--trust-root", fp)
	}
	simReport := filepath.Join(dir, "sim.json")
	simLog, _ := os.Create(filepath.Join(dir, "sim.log"))
	defer simLog.Close()
	sim := pinned(1, bin("vigil-agentsim"), "--controller", agentAddr, "--ca-pin", pin, "--token", tok.Token,
		"--agents", strconv.Itoa(o.agents), "--ramp", o.ramp.String(), "--interval", o.interval.String(),
		"--duration", o.duration.String(), "--state", filepath.Join(dir, "sim"), "--outbox", o.outbox,
		"--report", simReport, "--log-level", "error")
	sim.Args = append(sim.Args, simArgs...)
	sim.Stdout, sim.Stderr = simLog, simLog
	if err := sim.Start(); err != nil {
		return nil, err
	}
	simDone := make(chan error, 1)
	go func() { simDone <- sim.Wait() }()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	stormAt := time.Duration(0)
	var allOnline time.Duration // when 99% of the agents were first online
	var simErr error
	type fanoutDone struct {
		f   *Fanout
		err error
	}
	fanoutCh := make(chan fanoutDone, 1)
	fctx, fcancel := context.WithCancel(ctx)
	defer fcancel()
	fanoutState := 0 // 0 not started, 1 running, 2 done
	heapTaken, cpuTaken := false, false
	if !o.fanout {
		fanoutState = 2
	}
loop:
	for {
		select {
		case simErr = <-simDone:
			break loop
		case <-tick.C:
			el := time.Since(start)
			smp := sample(pid(), debugAddr, el.Seconds())
			if allOnline == 0 && smp.Online*100 >= o.agents*99 {
				allOnline = el
			}
			// Storm once the fleet has been fully online for 45% of the
			// simulator's post-ramp time, leaving the rest for recovery.
			if fanoutState == 0 && allOnline > 0 && el > allOnline+o.fanoutSettle {
				fanoutState = 1
				go func() {
					f, err := runFanout(fctx, fo, start)
					fanoutCh <- fanoutDone{f, err}
				}()
			}
			// With -fanout the storm waits until the fan-out is over.
			if o.storm && fanoutState == 2 && stormAt == 0 && allOnline > 0 && el > allOnline+(o.duration-o.ramp)*45/100 {
				stormAt = el
				res.StormAt = el.Seconds()
				_ = ctl.Process.Kill()
				_ = ctl.Wait()
				if ctl, err = startCtl(); err != nil {
					return nil, err
				}
			}
			res.Samples = append(res.Samples, smp)
			if o.cpuProfile > 0 && !cpuTaken && el > o.duration*45/100 {
				cpuTaken = true
				go saveProfile(debugAddr, o.cpuProfile, filepath.Join(dir, "cpu.pprof"))
			}
			if o.heapProfile && !heapTaken && el > o.duration*9/10 {
				heapTaken = true
				go saveURL("http://"+debugAddr+"/debug/pprof/heap", filepath.Join(dir, "heap.pprof"), time.Minute)
			}
		case d := <-fanoutCh:
			fanoutState = 2
			if d.err != nil {
				fmt.Fprintln(os.Stderr, "benchscale: fan-out:", d.err)
			}
			res.Fanout = d.f
		case <-ctx.Done():
			break loop
		}
	}
	if fanoutState == 1 {
		// The simulator ended first: no task can finish any more.
		fcancel()
		d := <-fanoutCh
		if d.err != nil {
			fmt.Fprintln(os.Stderr, "benchscale: fan-out:", d.err)
		}
		res.Fanout = d.f
	}
	if simErr != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "sim.log"))
		return nil, fmt.Errorf("simulator: %v\n%s", simErr, tail(b, 2000))
	}
	res.Sim, err = os.ReadFile(simReport)
	if err != nil {
		return nil, err
	}
	summarise(res, o, start)
	if res.Fanout != nil {
		fanoutCPU(res, start)
	}
	return res, nil
}

// childPID follows taskset's exec: the controller keeps the same pid.
func childPID(c *exec.Cmd) int { return c.Process.Pid }

func machine() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	model := ""
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "model name\t: "); ok {
			model = v
			break
		}
	}
	n := strings.Count(string(b), "processor\t:")
	return fmt.Sprintf("%d cpu x %s", n, model)
}

func sample(pid int, debugAddr string, t float64) Sample {
	s := Sample{T: t}
	s.CPUSeconds = procstat.CPUSeconds(pid)
	s.RSSBytes, s.RSSFile = procstat.RSSParts(pid)
	cl := http.Client{Timeout: 2 * time.Second}
	if resp, err := cl.Get("http://" + debugAddr + "/debug/vars"); err == nil {
		var v struct {
			Goroutines int               `json:"goroutines"`
			OpenFiles  int               `json:"open_files"`
			HeapInuse  uint64            `json:"heap_inuse"`
			Online     int               `json:"agents_online"`
			Ended      map[string]uint64 `json:"streams_ended"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		s.Goroutines, s.OpenFiles, s.HeapInuse, s.Online = v.Goroutines, v.OpenFiles, v.HeapInuse, v.Online
		for k, n := range v.Ended {
			if n > 0 {
				if s.StreamsEnded == nil {
					s.StreamsEnded = map[string]uint64{}
				}
				s.StreamsEnded[k] = n
			}
		}
	}
	return s
}

func summarise(res *Result, o opts, start time.Time) {
	var sim struct {
		Steady struct {
			From         float64 `json:"from_s"`
			ToS          float64 `json:"to_s"`
			AckLatencyMS struct {
				P50, P99 float64
			} `json:"ack_latency_ms"`
		} `json:"steady"`
		Started time.Time `json:"started"`
	}
	_ = json.Unmarshal(res.Sim, &sim)
	// Convert the simulator's window to this run's clock.
	off := sim.Started.Sub(start).Seconds()
	from, to := sim.Steady.From+off, sim.Steady.ToS+off
	if res.StormAt > 0 && res.StormAt < to {
		to = res.StormAt - 2
	}
	var win []Sample
	for _, s := range res.Samples {
		if s.T >= from && s.T <= to {
			win = append(win, s)
		}
	}
	st := SteadySummary{FromS: from, ToS: to, AckP50MS: sim.Steady.AckLatencyMS.P50, AckP99MS: sim.Steady.AckLatencyMS.P99}
	if len(win) >= 2 {
		a, b := win[0], win[len(win)-1]
		st.CPUCores = (b.CPUSeconds - a.CPUSeconds) / (b.T - a.T)
		var sum uint64
		for _, s := range win {
			st.RSSBytesMax = max(st.RSSBytesMax, s.RSSBytes)
			st.RSSFileMax = max(st.RSSFileMax, s.RSSFile)
			st.GoroutinesMax = max(st.GoroutinesMax, s.Goroutines)
			st.OpenFilesMax = max(st.OpenFilesMax, s.OpenFiles)
			sum += s.RSSBytes
		}
		st.RSSBytesMean = sum / uint64(len(win))
		st.RSSPerAgentBytes = (float64(st.RSSBytesMean) - float64(res.Baseline.RSSBytes)) / float64(o.agents)
		q := max(1, len(win)/4)
		mean := func(ss []Sample, f func(Sample) float64) float64 {
			var t float64
			for _, s := range ss {
				t += f(s)
			}
			return t / float64(len(ss))
		}
		h0, h1 := mean(win[:q], func(s Sample) float64 { return float64(s.HeapInuse) }), mean(win[len(win)-q:], func(s Sample) float64 { return float64(s.HeapInuse) })
		if h0 > 0 {
			st.HeapDriftPct = (h1 - h0) / h0 * 100
		}
		st.GoroutineDrift = int(mean(win[len(win)-q:], func(s Sample) float64 { return float64(s.Goroutines) }) - mean(win[:q], func(s Sample) float64 { return float64(s.Goroutines) }))
		st.OpenFilesDrift = int(mean(win[len(win)-q:], func(s Sample) float64 { return float64(s.OpenFiles) }) - mean(win[:q], func(s Sample) float64 { return float64(s.OpenFiles) }))
	}
	res.Steady = st
}

func printSummary(w io.Writer, r *Result) {
	var sim struct {
		ConnectedMax   int `json:"connected_max"`
		MaxReportBytes int `json:"max_report_bytes"`
		Steady         struct {
			BytesPerAgentPerDay float64 `json:"bytes_per_agent_per_day"`
			ReportsPerS         float64 `json:"reports_acked_per_s"`
		} `json:"steady"`
		Tasks    *simTasks `json:"tasks"`
		Recovery *struct {
			To99  float64 `json:"to_99pct_s"`
			To100 float64 `json:"to_100pct_s"`
			Low   int     `json:"lowest_connected"`
		} `json:"recovery"`
	}
	_ = json.Unmarshal(r.Sim, &sim)
	s := r.Steady
	fmt.Fprintf(w, "vigil scale run: %d agents, interval %s, %s (%s, pinned=%v)\n", r.Agents, r.Interval, r.Duration, r.Machine, r.Pinned)
	if s.ToS-s.FromS < 10 {
		fmt.Fprintf(w, "  steady window %.0f-%.0f s is too short to measure; run longer (ramp + interval + a few minutes)\n", s.FromS, s.ToS)
	}
	fmt.Fprintf(w, "  connected max          %d\n", sim.ConnectedMax)
	fmt.Fprintf(w, "  controller CPU         %.3f cores (steady window %.0f-%.0f s)\n", s.CPUCores, s.FromS, s.ToS)
	fmt.Fprintf(w, "  controller RSS         %.1f MiB max (%.1f MiB of it file-backed: store maps), %.1f MiB at 0 agents, %.1f KiB per agent\n",
		float64(s.RSSBytesMax)/(1<<20), float64(s.RSSFileMax)/(1<<20), float64(r.Baseline.RSSBytes)/(1<<20), s.RSSPerAgentBytes/1024)
	fmt.Fprintf(w, "  goroutines, open files %d, %d (drift %+d, %+d; heap drift %+.1f%%)\n", s.GoroutinesMax, s.OpenFilesMax,
		s.GoroutineDrift, s.OpenFilesDrift, s.HeapDriftPct)
	fmt.Fprintf(w, "  report-ack latency     p50 %.1f ms, p99 %.1f ms\n", s.AckP50MS, s.AckP99MS)
	fmt.Fprintf(w, "  reports acked          %.1f /s\n", sim.Steady.ReportsPerS)
	fmt.Fprintf(w, "  wire                   %.0f bytes per agent per day; largest report %d bytes\n", sim.Steady.BytesPerAgentPerDay, sim.MaxReportBytes)
	// The controller's count of ended streams, from the last sample that
	// had one (the storm's restart starts it again).
	for i := len(r.Samples) - 1; i >= 0; i-- {
		if e := r.Samples[i].StreamsEnded; e != nil {
			fmt.Fprintf(w, "  streams ended          %v (controller's count, by reason)\n", e)
			break
		}
	}
	if sim.Recovery != nil {
		back := func(s float64) string {
			if s < 0 {
				return "not within the run"
			}
			return fmt.Sprintf("%.0f s", s)
		}
		fmt.Fprintf(w, "  reconnect storm        kill -9 at %.0f s: lowest %d connected; 99%% back in %s, 100%% in %s\n",
			r.StormAt, sim.Recovery.Low, back(sim.Recovery.To99), back(sim.Recovery.To100))
	}
	if r.Fanout != nil {
		printFanout(w, r.Fanout, sim.Tasks)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// saveURL fetches a pprof profile from url into path, giving up after
// timeout.
func saveURL(url, path string, timeout time.Duration) {
	cl := http.Client{Timeout: timeout}
	resp, err := cl.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchscale: profile:", err)
		return
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil {
		err = os.WriteFile(path, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchscale: profile:", err)
	}
}
