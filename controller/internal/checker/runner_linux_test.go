package checker_test

import (
	"net"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// fullListener listens on loopback with a backlog of zero and fills its
// accept queue with connections it never accepts: the kernel then drops
// further SYNs, so a connect to it gets no reply at all, as from a
// black-holed address.
func fullListener(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*unix.SockaddrInet4).Port))
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err != nil {
			break // the queue is full: this SYN went unanswered
		}
		t.Cleanup(func() { c.Close() })
		if i == 16 {
			t.Skip("the kernel kept accepting connections into a zero backlog")
		}
	}
	return addr
}

// TestRunnerNoReply: a target that never answers within the timeout is
// WR, and two WR runs are an outage like any other.
func TestRunnerNoReply(t *testing.T) {
	g := newCheckerRig(t)
	const id = "ck-blackhole"
	c := tcpCheck(id, fullListener(t))
	c.Spec.TimeoutMs = 1000
	g.put(c)
	g.start()
	s := firstSlot(id)
	g.runAt(id, s, 1)
	rs := g.runAt(id, s.Add(iv), 2)
	for _, r := range rs {
		if r.GetStatus() != agentv1.CheckStatus_CHECK_STATUS_WR || r.GetLatencyUs() < 900_000 {
			t.Fatalf("result %s after %dus (%q), want WR at the timeout", r.GetStatus(), r.GetLatencyUs(), r.GetDetail())
		}
	}
	if ns := g.notices("acme"); len(ns) != 1 || ns[0].GetKind() != "down" {
		t.Fatalf("notices %v, want one down", kinds(ns))
	}
}
