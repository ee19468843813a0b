package collector

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"testing"

	"google.golang.org/protobuf/proto"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// TestCollectThisMachine runs every collector for real, twice (the cpu
// collector primes on the first round).
func TestCollectThisMachine(t *testing.T) {
	set, err := New(Default(), slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		s, errs := set.Collect(context.Background())
		for _, err := range errs {
			t.Errorf("round %d: %v", round, err)
		}
		m, f := s.Metrics, s.Facts
		if m.MemTotal == 0 || m.MemUsed > m.MemTotal || m.MemAvailable > m.MemTotal {
			t.Errorf("round %d: mem total %d, used %d, available %d", round, m.MemTotal, m.MemUsed, m.MemAvailable)
		}
		if m.CpuPercent < 0 || m.CpuPercent > 100 {
			t.Errorf("round %d: cpu percent %v", round, m.CpuPercent)
		}
		if m.UptimeSeconds == 0 {
			t.Errorf("round %d: uptime 0", round)
		}
		root := volume(s, "/")
		if root == nil || root.Total <= root.Used {
			t.Errorf("round %d: volume / = %v, want one with total > used", round, root)
		}
		hostname, _ := os.Hostname()
		if f.Hostname != hostname || f.Os != "linux" || f.BootTimeUnix == 0 || f.KernelVersion == "" {
			t.Errorf("round %d: facts %v, want hostname %q, os linux, a boot time and kernel", round, f, hostname)
		}
		if int(f.CpuCount) != runtime.NumCPU() || f.CpuModel == "" {
			t.Errorf("round %d: cpu count %d (want %d), model %q", round, f.CpuCount, runtime.NumCPU(), f.CpuModel)
		}
		// A sample is sent every interval from every agent: keep it small.
		if n := proto.Size(m); n >= 1024 {
			t.Errorf("round %d: Metrics marshal to %d bytes, want < 1024", round, n)
		}
		t.Logf("round %d: Metrics %d bytes for %d volumes, Facts %d bytes", round, proto.Size(m), len(m.Volumes), proto.Size(f))
	}
}

func volume(s *Sample, mount string) *agentv1.Volume {
	for _, v := range s.Metrics.Volumes {
		if v.Mount == mount {
			return v
		}
	}
	return nil
}
