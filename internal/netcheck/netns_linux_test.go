package netcheck_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-rmm/vigil/internal/netcheck"
)

var netnsSeq atomic.Int64

// netns creates a network namespace for the test, runs each setup
// command as `ip -n <ns> ...`, deletes the namespace when the test ends,
// and returns a function that runs f inside it. It skips the test when
// it is not root or ip(8) is missing.
func netns(t *testing.T, setup ...string) func(f func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("needs ip(8) to create a network namespace")
	}
	name := fmt.Sprintf("vigil-check-%d-%d", os.Getpid(), netnsSeq.Add(1))
	if out, err := exec.Command(ip, "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(ip, "netns", "delete", name).CombinedOutput(); err != nil {
			t.Errorf("delete namespace %s: %v: %s", name, err, out)
		}
	})
	for _, cmd := range setup {
		args := append([]string{"-n", name}, strings.Fields(cmd)...)
		if out, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return func(f func()) {
		t.Helper()
		errc := make(chan error, 1)
		go func() {
			// The thread stays locked and so ends with the goroutine:
			// no other goroutine ever runs in the namespace.
			runtime.LockOSThread()
			fd, err := unix.Open("/run/netns/"+name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				errc <- err
				return
			}
			defer unix.Close(fd)
			if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
				errc <- fmt.Errorf("setns: %w", err)
				return
			}
			f()
			errc <- nil
		}()
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

// Addresses inside the test namespace:
//
//	10.97.0.99  on a veth link, with a permanent neighbour entry for a
//	            MAC nobody has: frames leave and vanish (black hole)
//	10.97.0.2   on the same link, where nobody answers ARP: the
//	            kernel's neighbour lookup fails and it reports host
//	            unreachable
//	10.98.0.2   an "unreachable" route: the routing table refuses it
var nsSetup = []string{
	"link set lo up",
	"link add v0 type veth peer name v1",
	"link set v0 up",
	"link set v1 up",
	"addr add 10.97.0.1/24 dev v0",
	"neigh add 10.97.0.99 lladdr 02:00:00:00:00:99 dev v0 nud permanent",
	"route add unreachable 10.98.0.0/24",
}

func TestNetworkNamespace(t *testing.T) {
	in := netns(t, nsSetup...)
	tests := []struct {
		name    string
		p       netcheck.Probe
		timeout time.Duration
		want    netcheck.Status
	}{
		{"tcp to a black hole", &netcheck.TCP{Host: "10.97.0.99", Port: 80}, time.Second, netcheck.WR},
		{"tcp with no route", &netcheck.TCP{Host: "10.98.0.2", Port: 80}, time.Second, netcheck.ERR},
		{"tcp to an absent neighbour", &netcheck.TCP{Host: "10.97.0.2", Port: 80}, 8 * time.Second, netcheck.NG},
		{"ping a black hole", &netcheck.Ping{Host: "10.97.0.99", Mode: netcheck.PingRaw}, time.Second, netcheck.WR},
		{"ping with no route", &netcheck.Ping{Host: "10.98.0.2", Mode: netcheck.PingRaw}, time.Second, netcheck.ERR},
		{"ping an absent neighbour", &netcheck.Ping{Host: "10.97.0.2", Mode: netcheck.PingRaw, Count: 10}, 8 * time.Second, netcheck.NG},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got netcheck.Result
			in(func() {
				ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
				defer cancel()
				got = tc.p.Run(ctx)
			})
			t.Logf("%s %v %q", got.Status, got.Latency, got.Detail)
			if got.Status != tc.want {
				t.Errorf("status %s, want %s (%s)", got.Status, tc.want, got.Detail)
			}
		})
	}
}
