package load

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/vigil-rmm/vigil/agent/internal/collector/sample"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCollect(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("compares with /proc/loadavg")
	}
	s := sample.New()
	if err := New(DefaultConfig()).Collect(context.Background(), s); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	// The kernel updates /proc/loadavg every 5 s; allow for one update
	// between the two readings.
	want := procLoadavg(t)
	got := []float32{s.Metrics.Load1, s.Metrics.Load5, s.Metrics.Load15}
	for i := range want {
		if d := got[i] - want[i]; d > 0.5 || d < -0.5 || got[i] < 0 {
			t.Errorf("load %d = %v, /proc/loadavg says %v", i, got[i], want[i])
		}
	}
}

func TestCollectCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := New(DefaultConfig()).Collect(ctx, sample.New()); !errors.Is(err, context.Canceled) {
		t.Errorf("Collect(cancelled) = %v, want context.Canceled", err)
	}
}

func procLoadavg(t *testing.T) []float32 {
	t.Helper()
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	out := make([]float32, 3)
	for i := range out {
		v, err := strconv.ParseFloat(f[i], 32)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = float32(v)
	}
	return out
}
