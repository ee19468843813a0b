package netcheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// Ports are the TCP presets a technician picks by name.
var Ports = map[string]int{
	"http":  80,
	"https": 443,
	"ftp":   21,
	"pop3":  110,
	"smtp":  25,
	"dns":   53,
}

// TCP is a TCP connect check: OK once the handshake completes; the
// connection is closed at once without sending anything.
type TCP struct {
	// Host is a name or an IP address.
	Host string
	// Port is 1 to 65535.
	Port int
	// Dialer opens the connection; nil means a zero net.Dialer.
	Dialer Dialer
	// Resolver resolves Host; nil means net.DefaultResolver.
	Resolver Resolver
}

var _ Probe = (*TCP)(nil)

// Run connects once.
func (p *TCP) Run(ctx context.Context) Result {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	start := time.Now()
	if p.Port < 1 || p.Port > 65535 {
		return ended(start, ERR, fmt.Sprintf("port %d is not 1-65535", p.Port))
	}
	ip, err := resolve(ctx, p.Resolver, p.Host)
	if err != nil {
		st, why := Classify(err)
		return ended(start, st, why)
	}
	addr := net.JoinHostPort(ip.String(), strconv.Itoa(p.Port))
	d := dialerOr(p.Dialer)
	dialed := time.Now()
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		r := Result{Status: OK, At: start, Latency: time.Since(dialed), Detail: "connected to " + addr}
		_ = conn.Close() // nothing was written; a close error says nothing about the target
		return r
	}
	st, why := Classify(err)
	if isUnreachable(err) && routed(ctx, d, addr) {
		st, why = NG, why+" (reported by the network)"
	}
	return ended(start, st, addr+": "+why)
}

// routed reports whether the local routing table has a route to addr:
// connecting a UDP socket looks the route up without sending a packet.
// It tells "no route from here" (ERR) from an ICMP unreachable that came
// back from the network or the neighbour lookup (NG).
func routed(ctx context.Context, d Dialer, addr string) bool {
	c, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// resolve returns host's first address, or host itself when it is an IP
// literal. A failure comes back as a *net.DNSError, which Classify maps
// to ERR.
func resolve(ctx context.Context, r Resolver, host string) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip, nil
	}
	if r == nil {
		r = net.DefaultResolver
	}
	ips, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		var dnsErr *net.DNSError
		if !errors.As(err, &dnsErr) {
			err = &net.DNSError{Err: err.Error(), Name: host, IsTimeout: errors.Is(err, context.DeadlineExceeded)}
		}
		return netip.Addr{}, err
	}
	if len(ips) == 0 {
		return netip.Addr{}, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	return ips[0].Unmap(), nil
}

func dialerOr(d Dialer) Dialer {
	if d == nil {
		return &net.Dialer{}
	}
	return d
}
