package memory

import (
	"context"
	"errors"
	"testing"

	"go.uber.org/goleak"

	"github.com/vigil-rmm/vigil/agent/internal/collector/sample"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestUsed(t *testing.T) {
	tests := []struct {
		total, available, want uint64
	}{
		{100, 30, 70},
		{100, 100, 0},
		{100, 120, 0}, // a racy reading must not wrap around
	}
	for _, tc := range tests {
		if got := used(tc.total, tc.available); got != tc.want {
			t.Errorf("used(%d, %d) = %d, want %d", tc.total, tc.available, got, tc.want)
		}
	}
}

func TestCollect(t *testing.T) {
	s := sample.New()
	if err := New(DefaultConfig()).Collect(context.Background(), s); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	m := s.Metrics
	if m.MemTotal == 0 || m.MemAvailable == 0 || m.MemUsed == 0 {
		t.Errorf("mem total %d, available %d, used %d: want all > 0", m.MemTotal, m.MemAvailable, m.MemUsed)
	}
	if m.MemUsed+m.MemAvailable != m.MemTotal {
		t.Errorf("mem used %d + available %d != total %d", m.MemUsed, m.MemAvailable, m.MemTotal)
	}
	if m.SwapUsed > m.SwapTotal {
		t.Errorf("swap used %d > total %d", m.SwapUsed, m.SwapTotal)
	}
}

func TestCollectCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := sample.New()
	if err := New(DefaultConfig()).Collect(ctx, s); !errors.Is(err, context.Canceled) || s.Metrics.MemTotal != 0 {
		t.Errorf("Collect(cancelled) = %v with mem total %d; want context.Canceled and nothing filled", err, s.Metrics.MemTotal)
	}
}
