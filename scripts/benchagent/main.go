// Command benchagent compares the footprint of one real vigil-agent with
// Prometheus node_exporter on this machine: both sample every interval
// (the agent reports to a local controller, node_exporter is scraped the
// way Prometheus does it, gzip accepted), and both processes' RSS and CPU
// are read from /proc. `make bench-agent` runs it.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"github.com/vigil-rmm/vigil/scripts/procstat"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

type proc struct {
	name      string
	cmd       *exec.Cmd
	cpu0, cpu float64
	rss       []uint64
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchagent:", err)
		os.Exit(1)
	}
}

// Result is printed as JSON.
type Result struct {
	Duration string          `json:"duration"`
	Interval string          `json:"interval"`
	Procs    []ProcResult    `json:"processes"`
	Scrapes  map[string]any  `json:"node_exporter_scrape"`
	Agent    json.RawMessage `json:"vigil_agent_status,omitempty"`
}

// ProcResult is one process's footprint over the run.
type ProcResult struct {
	Name        string  `json:"name"`
	RSSMeanMiB  float64 `json:"rss_mean_mib"`
	RSSMaxMiB   float64 `json:"rss_max_mib"`
	CPUPercent  float64 `json:"cpu_pct_of_one_core"`
	BytesSample float64 `json:"bytes_per_sample"`
}

func main() {
	dur := flag.Duration("duration", 10*time.Minute, "measurement time")
	interval := flag.Duration("interval", 60*time.Second, "agent sample and scrape interval")
	bin := flag.String("bin", "./bin", "directory with the vigil binaries")
	nodeExporter := flag.String("node-exporter", "/usr/bin/prometheus-node-exporter", "node_exporter binary")
	flag.Parse()
	dir, err := os.MkdirTemp("", "vigil-benchagent-")
	must(err)
	defer os.RemoveAll(dir)
	b := func(n string) string { p, _ := filepath.Abs(filepath.Join(*bin, n)); return p }

	agentAddr, apiAddr, neAddr := procstat.FreeAddr(), procstat.FreeAddr(), procstat.FreeAddr()
	out, err := exec.Command(b("vigil-controller"), "init", "--data", dir+"/ctl", "--admin-config", dir+"/admin.json", "--api-address", apiAddr).CombinedOutput()
	must(err)
	var pin string
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "ca-pin: "); ok {
			pin = v
		}
	}
	ctl := exec.Command(b("vigil-controller"), "run", "--data", dir+"/ctl", "--agent-listen", agentAddr, "--api-listen", apiAddr, "--log-level", "warn")
	must(ctl.Start())
	defer ctl.Process.Kill()
	vctl := func(args ...string) []byte {
		for i := 0; i < 50; i++ {
			o, err := exec.Command(b("vigilctl"), append([]string{"--config", dir + "/admin.json"}, args...)...).Output()
			if err == nil {
				return o
			}
			time.Sleep(100 * time.Millisecond)
		}
		must(fmt.Errorf("vigilctl %v failed", args))
		return nil
	}
	vctl("tenant", "create", "bench")
	var tok struct{ Token string }
	must(json.Unmarshal(vctl("token", "create", "--tenant", "bench", "-o", "json"), &tok))
	o, err := exec.Command(b("vigil-agent"), "enroll", "--controller", agentAddr, "--ca-pin", pin, "--token", tok.Token, "--state", dir+"/agent").CombinedOutput()
	if err != nil {
		must(fmt.Errorf("enroll: %v: %s", err, o))
	}
	agent := &proc{name: "vigil-agent", cmd: exec.Command(b("vigil-agent"), "run", "--state", dir+"/agent", "--metrics-interval", interval.String(), "--log-level", "warn")}
	ne := &proc{name: "node_exporter", cmd: exec.Command(*nodeExporter, "--web.listen-address="+neAddr)}
	if _, err := os.Stat(*nodeExporter); err != nil {
		must(fmt.Errorf("%s not found: apt-get install prometheus-node-exporter (make bench-agent does)", *nodeExporter))
	}
	procs := []*proc{agent, ne}
	for _, p := range procs {
		p.cmd.Stderr = io.Discard
		must(p.cmd.Start())
		defer p.cmd.Process.Kill()
	}
	time.Sleep(3 * time.Second) // let both settle; the first sample is not measured
	for _, p := range procs {
		p.cpu0 = procstat.CPUSeconds(p.cmd.Process.Pid)
	}
	var scrapeBytes, scrapeRaw []int
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	scrape := func() {
		req, _ := http.NewRequest("GET", "http://"+neAddr+"/metrics", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		if resp, err := client.Do(req); err == nil {
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			scrapeBytes = append(scrapeBytes, int(n))
		}
		if resp, err := http.Get("http://" + neAddr + "/metrics"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			scrapeRaw = append(scrapeRaw, len(body))
		}
	}
	start := time.Now()
	scrapeT := time.NewTicker(*interval)
	rssT := time.NewTicker(5 * time.Second)
	scrape()
	for time.Since(start) < *dur {
		select {
		case <-scrapeT.C:
			scrape()
		case <-rssT.C:
			for _, p := range procs {
				p.rss = append(p.rss, procstat.RSS(p.cmd.Process.Pid))
			}
		}
	}
	el := time.Since(start).Seconds()
	res := Result{Duration: dur.String(), Interval: interval.String(), Scrapes: map[string]any{}}
	mean := func(xs []int) float64 {
		t := 0
		for _, x := range xs {
			t += x
		}
		return float64(t) / float64(max(1, len(xs)))
	}
	res.Scrapes["gzip_bytes_mean"] = mean(scrapeBytes)
	res.Scrapes["uncompressed_bytes_mean"] = mean(scrapeRaw)
	res.Scrapes["count"] = len(scrapeBytes)
	for _, p := range procs {
		p.cpu = procstat.CPUSeconds(p.cmd.Process.Pid) - p.cpu0
		var sum, mx uint64
		for _, r := range p.rss {
			sum += r
			mx = max(mx, r)
		}
		pr := ProcResult{Name: p.name, RSSMeanMiB: float64(sum) / float64(max(1, len(p.rss))) / (1 << 20), RSSMaxMiB: float64(mx) / (1 << 20),
			CPUPercent: p.cpu / el * 100}
		res.Procs = append(res.Procs, pr)
	}
	// The agent's bytes per sample: its report size is in the status of
	// the controller side; the wire cost per sample comes from the scale
	// simulator (same link code). Here: the protobuf report size.
	res.Procs[1].BytesSample = mean(scrapeBytes)
	st, _ := exec.Command(b("vigil-agent"), "status", "--state", dir+"/agent", "-o", "json").Output()
	res.Agent = st
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(res)
}
