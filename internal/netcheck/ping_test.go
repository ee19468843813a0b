package netcheck_test

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/internal/netcheck"
)

func TestPingLoopback(t *testing.T) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("needs root on Linux for a raw ICMP socket")
	}
	r := run(t, &netcheck.Ping{Host: "127.0.0.1", Mode: netcheck.PingRaw}, 3*time.Second)
	if r.Status != netcheck.OK || r.Latency <= 0 {
		t.Errorf("ping 127.0.0.1 raw: %s %v (%s)", r.Status, r.Latency, r.Detail)
	}
	// Auto picks raw here unless ping_group_range allows root's group.
	if r := run(t, &netcheck.Ping{Host: "127.0.0.1"}, 3*time.Second); r.Status != netcheck.OK {
		t.Errorf("ping 127.0.0.1 auto: %s (%s)", r.Status, r.Detail)
	}
}

func TestPingUnresolvable(t *testing.T) {
	if r := run(t, &netcheck.Ping{Host: "does-not-exist.invalid"}, 3*time.Second); r.Status != netcheck.ERR {
		t.Errorf("status %s, want ERR (%s)", r.Status, r.Detail)
	}
}

// TestPingNoSocket: an unprivileged socket where ping_group_range
// excludes the process's groups cannot be opened: ERR.
func TestPingNoSocket(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ping_group_range")
	if err != nil || strings.Fields(string(b))[0] != "1" || strings.Fields(string(b))[1] != "0" {
		t.Skip(`needs Linux with ping_group_range "1 0" (no group allowed)`)
	}
	r := run(t, &netcheck.Ping{Host: "127.0.0.1", Mode: netcheck.PingUnprivileged}, 3*time.Second)
	if r.Status != netcheck.ERR {
		t.Errorf("status %s, want ERR (%s)", r.Status, r.Detail)
	}
}
