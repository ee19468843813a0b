package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/controllertest"
	"github.com/vigil-rmm/vigil/internal/clientconfig"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// netCheckCLI runs vigilctl against a real in-process controller.
type netCheckCLI struct {
	t   *testing.T
	cfg string
}

func newNetCheckCLI(t *testing.T) (*netCheckCLI, *controllertest.Controller) {
	t.Helper()
	c := controllertest.Start(t)
	c.Tenant(t, "acme")
	cfg := filepath.Join(t.TempDir(), "admin.json")
	if err := (&clientconfig.Config{Controller: c.APIAddr, CAPEM: string(c.CAPEM), Token: c.AdminToken}).Save(cfg); err != nil {
		t.Fatal(err)
	}
	return &netCheckCLI{t: t, cfg: cfg}, c
}

// run runs vigilctl and checks its exit code.
func (n *netCheckCLI) run(wantCode int, args ...string) string {
	n.t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"--config", n.cfg}, args...), &stdout, &stderr)
	if code != wantCode {
		n.t.Fatalf("vigilctl %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, stdout.String(), stderr.String())
	}
	return stdout.String() + stderr.String()
}

func (n *netCheckCLI) json(v any, args ...string) {
	n.t.Helper()
	out := n.run(0, append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		n.t.Fatalf("vigilctl %v: bad JSON: %v\n%s", args, err, out)
	}
}

// TestCheckCommandsEndToEnd creates a TCP check of a real listener,
// lists and shows it, resumes it twice (each resume runs it at once),
// and reads its history as CSV and JSON.
func TestCheckCommandsEndToEnd(t *testing.T) {
	n, _ := newNetCheckCLI(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(l.Addr().String())

	out := n.run(1, "check", "create", "--tenant", "acme", "--target", "127.0.0.1", "--type", "tcp")
	if !strings.Contains(out, "InvalidArgument") || !strings.Contains(out, "port") {
		t.Fatalf("tcp without a port: %s", out)
	}
	n.run(2, "check", "create", "--target", "127.0.0.1", "--type", "tcp", "--port", port)
	n.run(2, "check", "create", "--tenant", "acme", "--target", "127.0.0.1", "--type", "smtp")

	var created netCheckView
	n.json(&created, "check", "create", "--tenant", "acme", "--target", "127.0.0.1", "--type", "tcp", "--port", port,
		"--interval", "2m", "--timeout", "3s", "--name", "loopback")
	if !strings.HasPrefix(created.ID, "ck-") || created.IntervalSeconds != 120 || created.TimeoutMs != 3000 || created.Every != "2m" ||
		created.State != "unknown" || len(created.VantageStates) != 1 {
		t.Fatalf("created %+v", created)
	}
	id := created.ID

	list := n.run(0, "check", "list", "--tenant", "acme")
	for _, want := range []string{"ID", "EVERY", id, "loopback", "tcp", "UNKNOWN (controller)", "never", "2m"} {
		if !strings.Contains(list, want) {
			t.Errorf("check list lacks %q:\n%s", want, list)
		}
	}

	if out := n.run(0, "check", "resume", id); !strings.Contains(out, "runs now") {
		t.Fatalf("resume: %s", out)
	}
	var rows [][]string
	waitCSV := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			var err error
			rows, err = csv.NewReader(strings.NewReader(n.run(0, "check", "history", id, "-o", "csv"))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) >= want+1 || time.Now().After(deadline) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitCSV(1)
	if len(rows) != 2 || strings.Join(rows[0], ",") != "time,vantage,status,latency_ms,detail,cert_days_left" ||
		rows[1][1] != "controller" || rows[1][2] != "OK" || !strings.Contains(rows[1][4], "connected") {
		t.Fatalf("history csv: %q", rows)
	}
	if _, err := time.Parse(time.RFC3339, rows[1][0]); err != nil {
		t.Errorf("time %q is not RFC 3339: %v", rows[1][0], err)
	}
	n.run(0, "check", "resume", id)
	waitCSV(2)

	var up []netCheckView
	var listJSON netCheckListView
	n.json(&listJSON, "check", "list", "--status", "up")
	up = listJSON.Checks
	if len(up) != 1 || up[0].ID != id || up[0].VantageStates[0].State != "up" || up[0].LastRun == nil {
		t.Fatalf("list --status up after two good runs: %+v", listJSON)
	}
	if !strings.Contains(n.run(0, "check", "list"), "UP (controller)") {
		t.Error("table does not show UP (controller)")
	}

	show := n.run(0, "check", "show", id)
	for _, want := range []string{"VANTAGES", "LATEST RESULTS (2)", "controller", "UP", "connected to 127.0.0.1:" + port, "tenant defaults"} {
		if !strings.Contains(show, want) {
			t.Errorf("check show lacks %q:\n%s", want, show)
		}
	}

	var h netCheckHistoryView
	n.json(&h, "check", "history", id, "--since", "1h")
	if h.Check != id || len(h.Results) != 2 || len(h.Days) != 1 || h.Days[0].UptimePercent == nil || *h.Days[0].UptimePercent != 100 ||
		h.Days[0].OK != 2 || h.Days[0].Vantage != "controller" || h.Results[0].Status != "OK" {
		t.Fatalf("history json: %+v", h)
	}
	daily, err := csv.NewReader(strings.NewReader(n.run(0, "check", "history", id, "-o", "csv", "--daily"))).ReadAll()
	if err != nil || len(daily) != 2 || strings.Join(daily[0], ",") != "date,vantage,uptime_percent,ok,ng,wr,err" || daily[1][2] != "100.000" {
		t.Fatalf("daily csv: %q %v", daily, err)
	}
	if out := n.run(0, "check", "history", id); !strings.Contains(out, "UPTIME PER DAY") || !strings.Contains(out, "100.00%") {
		t.Errorf("history table:\n%s", out)
	}

	var updated netCheckView
	n.json(&updated, "check", "update", id, "--interval", "10m")
	if updated.IntervalSeconds != 600 || updated.Name != "loopback" || updated.Port == 0 || updated.TimeoutMs != 3000 {
		t.Fatalf("update kept the other fields? %+v", updated)
	}
	if out := n.run(0, "check", "pause", id); !strings.Contains(out, "paused") {
		t.Fatalf("pause: %s", out)
	}
	if !strings.Contains(n.run(0, "check", "list"), "PAUSED") {
		t.Error("list does not show the pause")
	}
	n.run(0, "check", "delete", id)
	if out := n.run(1, "check", "show", id); !strings.Contains(out, "NotFound") {
		t.Fatalf("show after delete: %s", out)
	}
}

func TestCheckCells(t *testing.T) {
	v := netCheckOf(&managev1.NetCheck{IntervalSeconds: 300, Vantages: []string{"controller", "agent:ag-x"},
		Stretch:       &managev1.NetCheckStretch{EffectiveMs: 450000, Ratio: 1.5, Behind: true},
		VantageStates: []*managev1.NetCheckVantage{{Vantage: "controller", State: "up"}, {Vantage: "agent:ag-x", State: "down"}}})
	if v.Every != "7m30s (behind)" {
		t.Errorf("every %q", v.Every)
	}
	if got := netCheckStateCell(v); got != "DOWN (agent:ag-x), UP (controller)" {
		t.Errorf("state cell %q", got)
	}
	for d, want := range map[time.Duration]string{5 * time.Minute: "5m", time.Hour: "1h", 90 * time.Minute: "1h30m", 24 * time.Hour: "24h", 45 * time.Second: "45s"} {
		if got := netCheckEvery(d); got != want {
			t.Errorf("every %v: %q, want %q", d, got, want)
		}
	}
}
