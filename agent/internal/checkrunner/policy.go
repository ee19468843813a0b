package checkrunner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path"
	"strings"
	"time"

	"github.com/vigil-rmm/vigil/internal/netcheck"
)

// Rule is one entry of checks.allow or checks.deny: an address, a CIDR
// prefix, or a host name pattern.
type Rule struct {
	text    string
	prefix  netip.Prefix // an address or CIDR; invalid for a name pattern
	pattern string       // a lower-case name pattern: '*' any run of characters, '?' one
}

// ParseRule parses one policy entry: "10.0.0.0/8", "fd00::/8" or
// "192.168.1.10" (an address or prefix, matched against the target's
// addresses, resolved first when the target is a name), or a host name
// pattern such as "*.corp.lan" or "db?.corp.lan" (matched against names
// only, case-insensitively; '*' also matches dots).
func ParseRule(s string) (Rule, error) {
	text := strings.TrimSpace(s)
	if text == "" {
		return Rule{}, errors.New("empty entry")
	}
	if strings.Contains(text, "/") {
		p, err := netip.ParsePrefix(text)
		if err != nil {
			return Rule{}, fmt.Errorf("%q: not a CIDR prefix (like 10.0.0.0/8)", text)
		}
		return Rule{text: text, prefix: p.Masked()}, nil
	}
	if a, err := netip.ParseAddr(text); err == nil {
		a = plainAddr(a)
		return Rule{text: text, prefix: netip.PrefixFrom(a, a.BitLen())}, nil
	}
	pat := nameKey(text)
	for _, r := range pat {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.*?", r)) {
			return Rule{}, fmt.Errorf("%q: not an address, a CIDR prefix or a host name pattern (like *.corp.lan)", text)
		}
	}
	if pat == "" {
		return Rule{}, fmt.Errorf("%q: bad host name pattern", text)
	}
	return Rule{text: text, pattern: pat}, nil
}

// ParseRules parses a list of entries; the error names every bad one.
func ParseRules(entries []string) ([]Rule, error) {
	var (
		out  []Rule
		errs []error
	)
	for _, e := range entries {
		r, err := ParseRule(e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

// String returns the entry as written.
func (r Rule) String() string { return r.text }

func (r Rule) matchName(name string) bool {
	if r.pattern == "" || name == "" {
		return false
	}
	ok, _ := path.Match(r.pattern, name)
	return ok
}

// matchAddr reports whether a is in the rule's prefix. The zone of an
// IPv6 address is dropped first: Prefix.Contains is false for every
// zoned address, so "fd00::10%eth0" would otherwise slip past a deny
// entry for fd00::/8.
func (r Rule) matchAddr(a netip.Addr) bool {
	return r.prefix.IsValid() && r.prefix.Contains(plainAddr(a))
}

// plainAddr returns a without an IPv6 zone, an IPv4-mapped IPv6 address
// as IPv4: the form policy prefixes are matched against.
func plainAddr(a netip.Addr) netip.Addr { return a.WithZone("").Unmap() }

// Policy is the agent's local say over vantage checks, from the checks
// section of its config on the client's server. The controller cannot
// change it.
type Policy struct {
	// Vantage allows vantage checks at all.
	Vantage bool
	// Allow, when not empty, lists the only targets checks may reach.
	Allow []Rule
	// Deny lists targets checks never reach; it wins over Allow.
	Deny []Rule
	// MaxConcurrent caps the runs at once.
	MaxConcurrent int
}

// resolveTimeout bounds the name lookup a CIDR policy needs.
const resolveTimeout = 5 * time.Second

// decide checks host against the lists. It resolves a host name only when
// an address rule could decide. addrs are the addresses it checked (nil
// when it resolved nothing): the run must reach those, not whatever a
// second lookup returns. reason is empty when the host is allowed.
func (p Policy) decide(ctx context.Context, res netcheck.Resolver, host string) (addrs []netip.Addr, reason string) {
	var name string
	if a, err := netip.ParseAddr(host); err == nil {
		// netcheck.FromSpec refuses zoned addresses; the zone is dropped
		// here too so that no spelling of an address escapes the lists.
		addrs = []netip.Addr{plainAddr(a)}
	} else {
		name = nameKey(host)
	}
	for _, r := range p.Deny {
		if r.matchName(name) {
			return nil, fmt.Sprintf("target %s is denied by checks.deny entry %q", host, r)
		}
	}
	allowedByName := false
	for _, r := range p.Allow {
		if r.matchName(name) {
			allowedByName = true
			break
		}
	}
	needAddrs := hasPrefix(p.Deny) || (len(p.Allow) > 0 && !allowedByName && hasPrefix(p.Allow))
	if name != "" && needAddrs {
		rctx, cancel := context.WithTimeout(ctx, resolveTimeout)
		defer cancel()
		if res == nil {
			res = net.DefaultResolver
		}
		ips, err := res.LookupNetIP(rctx, "ip", name)
		if err != nil || len(ips) == 0 {
			return nil, fmt.Sprintf("target %s does not resolve, so it cannot be checked against checks.allow and checks.deny: %v", host, err)
		}
		for _, ip := range ips {
			addrs = append(addrs, plainAddr(ip))
		}
	}
	for _, a := range addrs {
		for _, r := range p.Deny {
			if r.matchAddr(a) {
				return nil, fmt.Sprintf("target %s (%s) is denied by checks.deny entry %q", host, a, r)
			}
		}
	}
	if len(p.Allow) == 0 || allowedByName {
		return addrs, ""
	}
	if len(addrs) == 0 {
		return nil, fmt.Sprintf("target %s is not in checks.allow", host)
	}
	for _, a := range addrs {
		if !anyAddr(p.Allow, a) {
			return nil, fmt.Sprintf("target %s (%s) is not in checks.allow", host, a)
		}
	}
	return addrs, ""
}

func hasPrefix(rules []Rule) bool {
	for _, r := range rules {
		if r.prefix.IsValid() {
			return true
		}
	}
	return false
}

func anyAddr(rules []Rule, a netip.Addr) bool {
	for _, r := range rules {
		if r.matchAddr(a) {
			return true
		}
	}
	return false
}

// nameKey is the form a host name is matched and pinned in: lower case,
// without a trailing dot.
func nameKey(host string) string { return strings.ToLower(strings.TrimSuffix(host, ".")) }

// pinned makes a probe reach the addresses the policy checked: its
// resolver answers from them, and its dialer replaces a pinned host name
// by its first address. A second, independent lookup could otherwise
// return an address the policy never saw (DNS rebinding).
type pinned struct {
	addrs map[string][]netip.Addr // nameKey -> addresses
	base  netcheck.Dialer
}

var (
	_ netcheck.Resolver = (*pinned)(nil)
	_ netcheck.Dialer   = (*pinned)(nil)
)

func (p *pinned) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if a, ok := p.addrs[nameKey(host)]; ok {
		return a, nil
	}
	return net.DefaultResolver.LookupNetIP(ctx, network, host)
}

func (p *pinned) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if host, port, err := net.SplitHostPort(address); err == nil {
		if a, ok := p.addrs[nameKey(host)]; ok && len(a) > 0 {
			address = net.JoinHostPort(a[0].String(), port)
		}
	}
	return p.base.DialContext(ctx, network, address)
}

// pin sets the pinned resolver and dialer on probe, if any host was
// resolved. addrs is keyed by nameKey.
func pin(probe netcheck.Probe, addrs map[string][]netip.Addr) {
	if len(addrs) == 0 {
		return
	}
	p := &pinned{addrs: addrs, base: &net.Dialer{}}
	switch pr := probe.(type) {
	case *netcheck.TCP:
		pr.Resolver, pr.Dialer = p, p
	case *netcheck.Ping:
		pr.Resolver = p
	case *netcheck.HTTP:
		pr.Dialer = p
	case *netcheck.DNS:
		pr.Dialer = p
	}
}
