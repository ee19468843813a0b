package netcheck

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestParsePingGroupRange(t *testing.T) {
	tests := []struct {
		in      string
		gids    []int
		allowed bool
		bad     bool
	}{
		{in: "1\t0\n", gids: []int{0}, allowed: false},           // the kernel default: nobody
		{in: "0 2147483647\n", gids: []int{0}, allowed: true},    // everybody
		{in: "100 200", gids: []int{5, 150}, allowed: true},      // a supplementary group
		{in: "100 200", gids: []int{5, 99, 201}, allowed: false}, // none inside
		{in: "100", bad: true},
		{in: "a b", bad: true},
	}
	for _, tc := range tests {
		lo, hi, err := parsePingGroupRange(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("%q: err %v", tc.in, err)
			continue
		}
		if got := groupAllowed(lo, hi, tc.gids); err == nil && got != tc.allowed {
			t.Errorf("%q with groups %v: allowed %v, want %v", tc.in, tc.gids, got, tc.allowed)
		}
	}
}

func TestClassifyPing(t *testing.T) {
	unreach := &net.OpError{Op: "read", Err: os.NewSyscallError("recvfrom", syscall.EHOSTUNREACH)}
	tests := []struct {
		name string
		o    pingOutcome
		want Status
	}{
		{"reply", pingOutcome{sent: 1, recv: 1, rtt: time.Millisecond}, OK},
		{"reply after losses", pingOutcome{sent: 3, recv: 1, rtt: time.Millisecond, runErr: context.DeadlineExceeded}, OK},
		{"ICMP unreachable", pingOutcome{sent: 1, recvErr: unreach, runErr: unreach}, NG},
		{"no reply", pingOutcome{sent: 3, runErr: context.DeadlineExceeded}, WR},
		{"no reply, run ended by count", pingOutcome{sent: 3}, WR},
		{"socket not permitted", pingOutcome{runErr: os.NewSyscallError("socket", syscall.EPERM)}, ERR},
		{"no route: the first send failed", pingOutcome{sendErr: &net.OpError{Op: "write", Err: os.NewSyscallError("sendto", syscall.ENETUNREACH)}, runErr: errors.New("x")}, ERR},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := classifyPing(tc.o); got.Status != tc.want {
				t.Errorf("status %s, want %s (%s)", got.Status, tc.want, got.Detail)
			}
		})
	}
}

func TestParseUnreachable(t *testing.T) {
	dst := netip.MustParseAddr("10.97.0.2")
	// An ICMP host unreachable from a router about our echo request
	// (id 0x1234) to 10.97.0.2: type 3 code 1, unused, then the original
	// IP header and the first 8 bytes of the echo request.
	msg := func(code byte, innerDst [4]byte, echoType byte, id uint16) []byte {
		b := []byte{3, code, 0, 0, 0, 0, 0, 0}
		ip := []byte{0x45, 0, 0, 84, 0, 0, 0x40, 0, 64, 1, 0, 0, 10, 97, 0, 1}
		ip = append(ip, innerDst[:]...)
		b = append(b, ip...)
		return append(b, echoType, 0, 0, 0, byte(id>>8), byte(id), 0, 1)
	}
	tests := []struct {
		name string
		msg  []byte
		ok   bool
	}{
		{"host unreachable", msg(1, [4]byte{10, 97, 0, 2}, 8, 0x1234), true},
		{"admin prohibited", msg(13, [4]byte{10, 97, 0, 2}, 8, 0x1234), true},
		{"another destination", msg(1, [4]byte{10, 97, 0, 3}, 8, 0x1234), false},
		{"another pinger", msg(1, [4]byte{10, 97, 0, 2}, 8, 0x4321), false},
		{"not about an echo", msg(1, [4]byte{10, 97, 0, 2}, 0, 0x1234), false},
		{"truncated", msg(1, [4]byte{10, 97, 0, 2}, 8, 0x1234)[:30], false},
		{"an echo reply", []byte{0, 0, 0, 0, 0x12, 0x34, 0, 1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			why, ok := parseUnreachable(tc.msg, dst, 0x1234)
			if ok != tc.ok {
				t.Errorf("ok %v (%q), want %v", ok, why, tc.ok)
			}
		})
	}
}

func TestCertDaysLeft(t *testing.T) {
	now := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		notAfter time.Time
		want     int
	}{
		{now.Add(30*24*time.Hour + time.Hour), 30},
		{now.Add(23 * time.Hour), 0},
		{now, 0},
		{now.Add(-time.Hour), -1},
		{now.Add(-49 * time.Hour), -3},
	}
	for _, tc := range tests {
		if got := certDaysLeft(&x509.Certificate{NotAfter: tc.notAfter}, now); got != tc.want {
			t.Errorf("expires %v: %d days left, want %d", tc.notAfter.Sub(now), got, tc.want)
		}
	}
}
