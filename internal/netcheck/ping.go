package netcheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	probing "github.com/prometheus-community/pro-bing"
)

// Ping is an ICMP echo check through pro-bing. OK on the first echo
// reply; Count requests are sent Interval apart until one is answered or
// the deadline passes.
type Ping struct {
	// Host is a name or an IP address.
	Host string
	// Count is how many echo requests to send at most; zero means 3.
	Count int
	// Interval is the gap between requests; zero means one second.
	Interval time.Duration
	// Resolver resolves Host; nil means net.DefaultResolver.
	Resolver Resolver
	// Mode chooses the socket; zero means PingAuto.
	Mode PingMode
}

// PingMode is the kind of ICMP socket a Ping opens.
type PingMode int

const (
	// PingAuto uses an unprivileged ICMP socket (Linux "ping" socket,
	// a datagram socket on macOS) where the system allows it, a raw
	// socket otherwise (root, CAP_NET_RAW, or Windows).
	PingAuto PingMode = iota
	// PingUnprivileged forces the unprivileged socket.
	PingUnprivileged
	// PingRaw forces a raw socket.
	PingRaw
)

var _ Probe = (*Ping)(nil)

// Run pings until the first reply or the deadline.
func (p *Ping) Run(ctx context.Context) Result {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	start := time.Now()
	ip, err := resolve(ctx, p.Resolver, p.Host)
	if err != nil {
		st, why := Classify(err)
		return ended(start, st, why)
	}
	privileged, why := p.privileged()
	pinger := p.newPinger(ip, privileged)
	rec := &pingRecorder{}
	rec.attach(pinger)
	stopWatch := p.watch(ctx, privileged, ip, pinger, rec)
	runErr := pinger.RunWithContext(ctx)
	stopWatch()
	stats := pinger.Statistics()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return classifyPing(pingOutcome{
		start: start, took: time.Since(start), target: ip.String(), socket: why,
		recv: stats.PacketsRecv, sent: stats.PacketsSent, rtt: rec.firstRTT,
		runErr: runErr, sendErr: rec.sendErr, recvErr: rec.recvErr, unreachable: rec.unreachable,
	})
}

// newPinger configures a pro-bing pinger for one run.
func (p *Ping) newPinger(ip netip.Addr, privileged bool) *probing.Pinger {
	pinger := probing.New(ip.String())
	pinger.SetIPAddr(&net.IPAddr{IP: ip.AsSlice(), Zone: ip.Zone()})
	pinger.SetLogger(probing.NoopLogger{})
	pinger.SetPrivileged(privileged)
	pinger.Count = p.Count
	if pinger.Count <= 0 {
		pinger.Count = 3
	}
	pinger.Interval = p.Interval
	if pinger.Interval <= 0 {
		pinger.Interval = time.Second
	}
	pinger.RecordRtts, pinger.RecordTTLs = false, false
	return pinger
}

// pingRecorder collects what pro-bing's callbacks and the unreachable
// watcher report from their goroutines.
type pingRecorder struct {
	mu          sync.Mutex
	sendErr     error
	recvErr     error
	firstRTT    time.Duration
	unreachable string
}

// attach sets pinger's callbacks; the first reply stops the run.
func (r *pingRecorder) attach(pinger *probing.Pinger) {
	pinger.OnSendError = func(_ *probing.Packet, err error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.sendErr == nil {
			r.sendErr = err
		}
	}
	pinger.OnRecvError = func(err error) {
		var nerr net.Error
		if errors.As(err, &nerr) && nerr.Timeout() {
			return // pro-bing polls with short read deadlines
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.recvErr == nil {
			r.recvErr = err
		}
	}
	pinger.OnRecv = func(pkt *probing.Packet) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.firstRTT == 0 {
			r.firstRTT = pkt.Rtt
		}
		pinger.Stop()
	}
}

// watch starts the unreachable watcher where it can run; an unreachable
// stops the run. The returned function stops the watcher and waits for
// it.
func (p *Ping) watch(ctx context.Context, privileged bool, ip netip.Addr, pinger *probing.Pinger, rec *pingRecorder) func() {
	w, err := p.watcher(privileged, ip, pinger.ID())
	if err != nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if detail, ok := w.wait(ctx); ok {
			rec.mu.Lock()
			rec.unreachable = detail
			rec.mu.Unlock()
			pinger.Stop()
		}
	}()
	return func() {
		cancel()
		<-done
		w.close()
	}
}

// watcher opens the unreachable watcher for a raw ping; an unprivileged
// socket could not open it.
func (p *Ping) watcher(privileged bool, ip netip.Addr, id int) (*unreachWatcher, error) {
	if !privileged {
		return nil, fmt.Errorf("watch unreachable: unprivileged: %w", errors.ErrUnsupported)
	}
	return watchUnreachable(ip, id)
}

// pingOutcome is what a run of pro-bing left behind.
type pingOutcome struct {
	start       time.Time
	took        time.Duration
	target      string
	socket      string // which socket and why
	sent, recv  int
	rtt         time.Duration
	runErr      error  // RunWithContext's error
	sendErr     error  // the first error sending a request
	recvErr     error  // the first non-timeout error reading
	unreachable string // an ICMP destination unreachable about our requests
}

// classifyPing decides the status of a ping run:
//
//	an echo reply came                                   OK
//	an ICMP destination unreachable came back            NG
//	the socket could not be opened, or sending failed    ERR
//	nothing came back                                    WR
//
// The unreachable is seen by a second raw socket (unreachWatcher, Linux
// and IPv4 only), since pro-bing ignores it; an unprivileged socket
// cannot see it, so there it is WR. A read error on the socket counts
// as NG too: a socket with IP_RECVERR reports unreachables that way.
func classifyPing(o pingOutcome) Result {
	r := Result{At: o.start, Latency: o.took}
	switch {
	case o.recv > 0:
		r.Status, r.Latency = OK, o.rtt
		r.Detail = fmt.Sprintf("reply from %s after %d request(s)", o.target, o.sent)
	case o.unreachable != "":
		r.Status = NG
		r.Detail = fmt.Sprintf("%s: %s", o.target, o.unreachable)
	case o.recvErr != nil:
		_, why := Classify(o.recvErr)
		r.Status = NG
		r.Detail = fmt.Sprintf("%s: %s (ICMP error)", o.target, why)
	case o.sent == 0 && o.sendErr != nil:
		_, why := Classify(o.sendErr)
		r.Status, r.Detail = ERR, fmt.Sprintf("sending to %s: %s", o.target, why)
	case o.sent == 0 && o.runErr != nil && !errors.Is(o.runErr, context.DeadlineExceeded):
		r.Status = ERR
		r.Detail = fmt.Sprintf("cannot open an ICMP socket (%s): %v", o.socket, o.runErr)
	default:
		r.Status = WR
		r.Detail = fmt.Sprintf("no reply from %s to %d request(s)", o.target, o.sent)
	}
	return r
}

// privileged decides the socket kind and says why.
func (p *Ping) privileged() (bool, string) {
	switch p.Mode {
	case PingRaw:
		return true, "raw socket, as configured"
	case PingUnprivileged:
		return false, "unprivileged socket, as configured"
	}
	return autoPrivileged()
}

// parsePingGroupRange parses /proc/sys/net/ipv4/ping_group_range: two
// group ids, the first and last allowed to open unprivileged ICMP
// sockets. "1 0" (the default) allows no group.
func parsePingGroupRange(s string) (lo, hi uint32, err error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("ping_group_range %q: want two numbers", s)
	}
	a, err := strconv.ParseUint(f[0], 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("ping_group_range: %w", err)
	}
	b, err := strconv.ParseUint(f[1], 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("ping_group_range: %w", err)
	}
	return uint32(a), uint32(b), nil
}

// groupAllowed reports whether one of gids is in [lo, hi].
func groupAllowed(lo, hi uint32, gids []int) bool {
	for _, g := range gids {
		if g >= 0 && uint32(g) >= lo && uint32(g) <= hi {
			return true
		}
	}
	return false
}
