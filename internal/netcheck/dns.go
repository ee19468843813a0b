package netcheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// RecordType is a DNS record type a DNS check can ask for.
type RecordType string

// The record types.
const (
	TypeA     RecordType = "A"
	TypeAAAA  RecordType = "AAAA"
	TypeCNAME RecordType = "CNAME"
	TypeMX    RecordType = "MX"
	TypeNS    RecordType = "NS"
	TypeTXT   RecordType = "TXT"
)

// DNS is a DNS query check: OK when the answer has at least one record
// of Type (and, when Expect is set, that value among them).
type DNS struct {
	// Name is the name to look up, always as a fully qualified name: no
	// search domains are appended.
	Name string
	// Type is the record type; empty means A.
	Type RecordType
	// Server is the DNS server to ask, "host:port" or a bare IP (port
	// 53); empty means the system resolver.
	Server string
	// Expect, when set, must be one of the values returned (an address
	// for A and AAAA, a host name for the others, the text for TXT).
	Expect string
	// Dialer reaches Server; nil means a zero net.Dialer.
	Dialer Dialer
	// Resolver, when set, replaces both Server and the system resolver.
	Resolver *net.Resolver
}

var _ Probe = (*DNS)(nil)

// Run sends one query (the resolver may retry within the deadline).
func (p *DNS) Run(ctx context.Context) Result {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	start := time.Now()
	if p.Name == "" {
		return ended(start, ERR, "no name to look up")
	}
	r, err := p.resolver()
	if err != nil {
		return ended(start, ERR, err.Error())
	}
	typ := p.Type
	if typ == "" {
		typ = TypeA
	}
	values, err := lookup(ctx, r, typ, fqdn(p.Name))
	if err != nil {
		st, why := classifyDNS(err)
		return ended(start, st, fmt.Sprintf("%s %s: %s", typ, p.Name, why))
	}
	detail := fmt.Sprintf("%s %s: %s", typ, p.Name, strings.Join(values, ", "))
	if p.Expect != "" && !containsFold(values, p.Expect) {
		return ended(start, NG, fmt.Sprintf("%s; %q not among them", detail, p.Expect))
	}
	return ended(start, OK, detail)
}

func (p *DNS) resolver() (*net.Resolver, error) {
	switch {
	case p.Resolver != nil:
		return p.Resolver, nil
	case p.Server == "":
		return net.DefaultResolver, nil
	}
	server := p.Server
	if _, _, err := net.SplitHostPort(server); err != nil {
		if net.ParseIP(server) == nil {
			return nil, fmt.Errorf("server %q is neither host:port nor an IP address", p.Server)
		}
		server = net.JoinHostPort(server, "53")
	}
	d := dialerOr(p.Dialer)
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, server)
			if err != nil {
				return nil, err
			}
			return closeOnDone(ctx, c), nil
		},
	}, nil
}

// closeOnDone closes c when ctx ends. The Go resolver keeps waiting for
// an answer after its caller gave up (it only sets a read deadline from
// resolv.conf's timeout); closing the connection ends that wait.
func closeOnDone(ctx context.Context, c net.Conn) net.Conn {
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	if pc, ok := c.(net.PacketConn); ok {
		// The resolver frames UDP and TCP differently and tells them
		// apart by this interface.
		return &stoppingPacketConn{PacketConn: pc, conn: c, stop: stop}
	}
	return &stoppingConn{Conn: c, stop: stop}
}

type stoppingPacketConn struct {
	net.PacketConn
	conn net.Conn
	stop func() bool
}

func (c *stoppingPacketConn) Read(b []byte) (int, error)  { return c.conn.Read(b) }
func (c *stoppingPacketConn) Write(b []byte) (int, error) { return c.conn.Write(b) }
func (c *stoppingPacketConn) RemoteAddr() net.Addr        { return c.conn.RemoteAddr() }
func (c *stoppingPacketConn) Close() error {
	c.stop()
	return c.conn.Close()
}

type stoppingConn struct {
	net.Conn
	stop func() bool
}

func (c *stoppingConn) Close() error {
	c.stop()
	return c.Conn.Close()
}

// lookup asks r for name's records of type typ and returns them as text.
func lookup(ctx context.Context, r *net.Resolver, typ RecordType, name string) ([]string, error) {
	var out []string
	switch typ {
	case TypeA, TypeAAAA:
		network := "ip4"
		if typ == TypeAAAA {
			network = "ip6"
		}
		ips, err := r.LookupNetIP(ctx, network, name)
		for _, ip := range ips {
			out = append(out, ip.Unmap().String())
		}
		return out, err
	case TypeCNAME:
		c, err := r.LookupCNAME(ctx, name)
		if err != nil {
			return nil, err
		}
		return []string{c}, nil
	case TypeMX:
		mxs, err := r.LookupMX(ctx, name)
		for _, mx := range mxs {
			out = append(out, mx.Host)
		}
		return out, err
	case TypeNS:
		nss, err := r.LookupNS(ctx, name)
		for _, ns := range nss {
			out = append(out, ns.Host)
		}
		return out, err
	case TypeTXT:
		return r.LookupTXT(ctx, name)
	}
	return nil, fmt.Errorf("record type %q: want A, AAAA, CNAME, MX, NS or TXT", typ)
}

// classifyDNS maps a lookup error: NXDOMAIN (or no records of the type)
// and a server failure are negative replies, NG; a timeout is WR; the
// rest goes through Classify (a refused UDP query is NG, a local error
// ERR).
func classifyDNS(err error) (Status, string) {
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) {
		return ERR, err.Error()
	}
	switch {
	case dnsErr.IsNotFound:
		return NG, "no such name or no record of the type (NXDOMAIN or NODATA)"
	case dnsErr.IsTimeout:
		return WR, "no answer within the timeout"
	}
	if inner := dnsErr.Unwrap(); inner != nil {
		if st, why, ok := classifyKnown(inner); ok {
			return st, why
		}
	}
	if dnsErr.IsTemporary {
		return NG, "server failure: " + dnsErr.Err
	}
	return NG, dnsErr.Err
}

// fqdn makes name absolute so no search domain is tried.
func fqdn(name string) string {
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}

func containsFold(values []string, want string) bool {
	want = strings.TrimSuffix(want, ".")
	for _, v := range values {
		if strings.EqualFold(strings.TrimSuffix(v, "."), want) {
			return true
		}
	}
	return false
}
