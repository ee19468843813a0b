package host

import (
	"context"
	"errors"
	"os"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-rmm/vigil/agent/internal/collector/sample"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCollect(t *testing.T) {
	s := sample.New()
	if err := New(DefaultConfig()).Collect(context.Background(), s); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	f := s.Facts
	hostname, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	if f.Hostname != hostname {
		t.Errorf("hostname %q, want os.Hostname() %q", f.Hostname, hostname)
	}
	if f.Os != runtime.GOOS {
		t.Errorf("os %q, want %q", f.Os, runtime.GOOS)
	}
	if f.Platform == "" || f.KernelVersion == "" || f.Arch == "" {
		t.Errorf("platform %q, kernel %q, arch %q: want all set", f.Platform, f.KernelVersion, f.Arch)
	}
	up := s.Metrics.UptimeSeconds
	if up == 0 {
		t.Fatal("uptime 0")
	}
	// Boot time and uptime come from different counters; they agree to a few seconds.
	derived := time.Now().Unix() - int64(up)
	if d := f.BootTimeUnix - derived; d > 5 || d < -5 {
		t.Errorf("boot time %d, but now - uptime = %d", f.BootTimeUnix, derived)
	}
}

func TestCollectCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := sample.New()
	if err := New(DefaultConfig()).Collect(ctx, s); !errors.Is(err, context.Canceled) || s.Facts.Hostname != "" {
		t.Errorf("Collect(cancelled) = %v, hostname %q; want context.Canceled and nothing filled", err, s.Facts.Hostname)
	}
}
