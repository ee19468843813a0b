package netcheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// icmpFilter is ICMP_FILTER from linux/icmp.h: a raw ICMP socket option
// whose value is the mask of message types to drop.
const icmpFilter = 1

// unreachWatcher is a raw ICMP socket that receives only destination
// unreachable messages. pro-bing drops every ICMP message but echo
// replies and opens its socket without IP_RECVERR, so an unreachable
// would otherwise look like no reply.
type unreachWatcher struct {
	conn *net.IPConn
	dst  netip.Addr
	id   int
}

// watchUnreachable opens the watcher for echo requests to dst (IPv4)
// with identifier id. It needs the same privilege as a raw ping.
func watchUnreachable(dst netip.Addr, id int) (*unreachWatcher, error) {
	if !dst.Unmap().Is4() {
		return nil, fmt.Errorf("watch unreachable: IPv6: %w", errors.ErrUnsupported)
	}
	pc, err := net.ListenPacket("ip4:icmp", "0.0.0.0")
	if err != nil {
		return nil, fmt.Errorf("watch unreachable: %w", err)
	}
	conn := pc.(*net.IPConn)
	raw, err := conn.SyscallConn()
	if err == nil {
		cerr := raw.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.SOL_RAW, icmpFilter, int(^int32(1<<3)))
		})
		if cerr != nil {
			err = cerr
		}
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("watch unreachable: filter: %w", err)
	}
	return &unreachWatcher{conn: conn, dst: dst, id: id}, nil
}

// wait returns the first matching unreachable, or false when ctx ends
// or the socket fails.
func (w *unreachWatcher) wait(ctx context.Context) (string, bool) {
	stop := context.AfterFunc(ctx, func() { _ = w.conn.SetReadDeadline(time.Now()) })
	defer stop()
	buf := make([]byte, 576)
	for {
		n, from, err := w.conn.ReadFrom(buf)
		if err != nil {
			return "", false
		}
		if why, ok := parseUnreachable(buf[:n], w.dst, w.id); ok {
			return fmt.Sprintf("%s (from %s)", why, from), true
		}
	}
}

func (w *unreachWatcher) close() { _ = w.conn.Close() }
