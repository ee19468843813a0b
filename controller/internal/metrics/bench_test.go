package metrics_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/metrics"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// benchMetrics is a realistic sample: a server with three volumes.
func benchMetrics(i int) *agentv1.Metrics {
	return &agentv1.Metrics{
		CpuPercent:    float32(i%100) + 0.5,
		Load1:         1.25,
		Load5:         0.75,
		Load15:        0.5,
		MemTotal:      16 << 30,
		MemUsed:       uint64(6<<30 + i),
		MemAvailable:  uint64(10<<30 - i),
		SwapTotal:     4 << 30,
		SwapUsed:      128 << 20,
		UptimeSeconds: uint64(86400*12 + i),
		Volumes: []*agentv1.Volume{
			{Mount: "/", Fstype: "ext4", Total: 100 << 30, Used: 41 << 30, Free: 59 << 30},
			{Mount: "/var", Fstype: "xfs", Total: 500 << 30, Used: uint64(200<<30 + i), Free: 300 << 30},
			{Mount: "/boot", Fstype: "ext4", Total: 1 << 30, Used: 200 << 20, Free: 800 << 20},
		},
	}
}

// BenchmarkPut stores batches of 1000 samples, one from each of 1000
// agents, with fsync on every commit: the controller's ingest path.
func BenchmarkPut(b *testing.B) {
	const agents = 1000
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	db, err := metrics.Open(b.TempDir()+"/metrics.db", metrics.Options{Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()

	ids := make([]string, agents)
	ms := make([]*agentv1.Metrics, agents)
	for a := range agents {
		ids[a] = fmt.Sprintf("agt-%08x-%04d", a*2654435761, a)
		ms[a] = benchMetrics(a)
	}
	// Each round is one minute of reports; nine days of rounds stay inside
	// the retention, then the times wrap and overwrite.
	start := now.Add(-9 * 24 * time.Hour)
	const rounds = 9 * 24 * 60
	batch := make([]metrics.Sample, agents)
	round := 0
	for b.Loop() {
		t := start.Add(time.Duration(round%rounds) * time.Minute).UnixMilli()
		for a := range agents {
			batch[a] = metrics.Sample{AgentID: ids[a], Seq: uint64(round), TimeMS: t + int64(a), Metrics: ms[a]}
		}
		if n, err := db.Put(b.Context(), batch); err != nil || n != agents {
			b.Fatalf("Put = %d, %v", n, err)
		}
		round++
	}
	b.ReportMetric(float64(round*agents)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkQueryDay reads one agent's day of 60 s samples (1440) from a
// file that also holds 99 other agents' days.
func BenchmarkQueryDay(b *testing.B) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	db, err := metrics.Open(b.TempDir()+"/metrics.db", metrics.Options{
		Now:    func() time.Time { return now },
		NoSync: true, // setup only; the benchmark reads
	})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()

	day := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	for m := range 1440 {
		t := day.Add(time.Duration(m) * time.Minute).UnixMilli()
		batch := make([]metrics.Sample, 0, 100)
		for a := range 100 {
			batch = append(batch, metrics.Sample{
				AgentID: fmt.Sprintf("agent-%03d", a), Seq: uint64(m), TimeMS: t, Metrics: benchMetrics(m),
			})
		}
		if _, err := db.Put(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}

	for b.Loop() {
		got, truncated, err := db.Query(b.Context(), "agent-042", day, day.Add(24*time.Hour), 2000)
		if err != nil || len(got) != 1440 || truncated {
			b.Fatalf("Query = %d samples, truncated %t, %v; want 1440", len(got), truncated, err)
		}
	}
	b.ReportMetric(float64(b.N*1440)/b.Elapsed().Seconds(), "samples/s")
}
