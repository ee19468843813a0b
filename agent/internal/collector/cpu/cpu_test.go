package cpu

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"go.uber.org/goleak"

	"github.com/vigil-rmm/vigil/agent/internal/collector/sample"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBusy(t *testing.T) {
	base := cpu.TimesStat{User: 100, System: 50, Idle: 800, Iowait: 50}
	tests := []struct {
		name string
		cur  cpu.TimesStat
		want float64
	}{
		{"no time passed", base, 0},
		{"all idle", cpu.TimesStat{User: 100, System: 50, Idle: 900, Iowait: 50}, 0},
		{"iowait is not busy", cpu.TimesStat{User: 100, System: 50, Idle: 800, Iowait: 150}, 0},
		{"half busy", cpu.TimesStat{User: 130, System: 70, Idle: 850, Iowait: 50}, 50},
		{"all busy", cpu.TimesStat{User: 200, System: 50, Idle: 800, Iowait: 50}, 100},
		{"steal and irq are busy", cpu.TimesStat{User: 100, System: 50, Idle: 800, Iowait: 50, Steal: 25, Irq: 25}, 100},
		{"guest is already in user", cpu.TimesStat{User: 150, System: 50, Idle: 850, Iowait: 50, Guest: 50}, 50},
		{"counters reset", cpu.TimesStat{User: 1, System: 1, Idle: 1}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := busy(base, tc.cur); got != tc.want {
				t.Errorf("busy = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCollect(t *testing.T) {
	c := New(DefaultConfig())
	c.prime = 50 * time.Millisecond
	for i := range 2 {
		s := sample.New()
		start := time.Now()
		if err := c.Collect(context.Background(), s); err != nil {
			t.Fatalf("Collect #%d: %v", i, err)
		}
		if i == 0 && time.Since(start) < c.prime {
			t.Errorf("first Collect took %v, want at least the priming %v", time.Since(start), c.prime)
		}
		if p := s.Metrics.CpuPercent; p < 0 || p > 100 {
			t.Errorf("Collect #%d: cpu percent %v, want 0..100", i, p)
		}
		if got, want := int(s.Facts.CpuCount), runtime.NumCPU(); got != want {
			t.Errorf("Collect #%d: cpu count %d, want runtime.NumCPU() = %d", i, got, want)
		}
		if s.Facts.CpuModel == "" {
			t.Errorf("Collect #%d: empty cpu model", i)
		}
	}
}

func TestCollectHonoursContext(t *testing.T) {
	c := New(DefaultConfig())
	c.prime = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := c.Collect(ctx, sample.New()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Collect with an hour's priming = %v, want context.DeadlineExceeded", err)
	}
	// The interrupted priming still left a first reading: the next Collect
	// measures from it instead of priming (for an hour) again.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if err := c.Collect(ctx2, sample.New()); err != nil {
		t.Errorf("Collect after an interrupted priming = %v, want nil", err)
	}
	cancelled, cancel3 := context.WithCancel(context.Background())
	cancel3()
	if err := c.Collect(cancelled, sample.New()); !errors.Is(err, context.Canceled) {
		t.Errorf("Collect(cancelled) = %v, want context.Canceled", err)
	}
}
