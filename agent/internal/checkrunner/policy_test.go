package checkrunner

import (
	"context"
	"net/netip"
	"strings"
	"testing"
)

// mapResolver answers from a fixed table: the DNS edge.
type mapResolver map[string][]string

func (m mapResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range m[host] {
		out = append(out, netip.MustParseAddr(s))
	}
	if len(out) == 0 {
		return nil, &netErr{host}
	}
	return out, nil
}

type netErr struct{ host string }

func (e *netErr) Error() string { return "no such host " + e.host }

func rules(t *testing.T, entries ...string) []Rule {
	t.Helper()
	r, err := ParseRules(entries)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestParseRule(t *testing.T) {
	good := []string{"10.0.0.0/8", "fd00::/8", "192.168.1.10", "::1", "*.corp.lan", "db?.corp.lan", "Host.Example.", "10.1.2.3/24"}
	for _, s := range good {
		if _, err := ParseRule(s); err != nil {
			t.Errorf("ParseRule(%q) = %v", s, err)
		}
	}
	bad := map[string]string{"": "empty", "10.0.0.0/33": "CIDR", "a b": "not an address", "[x": "not an address", ".": "bad host name pattern",
		"http://x": "CIDR", "a;b": "not an address"}
	for s, want := range bad {
		if _, err := ParseRule(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRule(%q) = %v; want an error about %q", s, err, want)
		}
	}
	if _, err := ParseRules([]string{"ok.lan", "a b", "1.2.3.4/99"}); err == nil || !strings.Contains(err.Error(), `"a b"`) ||
		!strings.Contains(err.Error(), `"1.2.3.4/99"`) {
		t.Errorf("ParseRules does not name every bad entry: %v", err)
	}
}

func TestPolicyDecide(t *testing.T) {
	res := mapResolver{
		"db.corp.lan":     {"10.1.0.5"},
		"web.corp.lan":    {"10.2.0.7"},
		"split.corp.lan":  {"10.1.0.6", "192.168.9.9"},
		"outside.example": {"203.0.113.4"},
		"zoned.corp.lan":  {"fe80::5%eth0"},
	}
	cases := []struct {
		name   string
		policy Policy
		host   string
		reason string // "" when allowed
		pinned string // the addresses the run must reach
	}{
		{"empty lists allow any", Policy{}, "anything.example", "", ""},
		{"empty lists, address", Policy{}, "198.51.100.1", "", "198.51.100.1"},
		{"allow CIDR, address in", Policy{Allow: rules(t, "10.0.0.0/8")}, "10.9.9.9", "", "10.9.9.9"},
		{"allow CIDR, address out", Policy{Allow: rules(t, "10.0.0.0/8")}, "172.16.0.1", "not in checks.allow", ""},
		{"allow CIDR, name resolved in", Policy{Allow: rules(t, "10.1.0.0/16")}, "db.corp.lan", "", "10.1.0.5"},
		{"allow CIDR, name resolved out", Policy{Allow: rules(t, "10.1.0.0/16")}, "outside.example", "(203.0.113.4) is not in checks.allow", ""},
		{"allow CIDR, one address of a name out", Policy{Allow: rules(t, "10.1.0.0/16")}, "split.corp.lan", "(192.168.9.9) is not in checks.allow", ""},
		{"allow CIDR, name does not resolve", Policy{Allow: rules(t, "10.0.0.0/8")}, "nowhere.lan", "does not resolve", ""},
		{"allow pattern, name", Policy{Allow: rules(t, "*.corp.lan")}, "WEB.corp.lan.", "", ""},
		{"allow pattern, deep name", Policy{Allow: rules(t, "*.corp.lan")}, "a.b.corp.lan", "", ""},
		{"allow pattern, bare domain", Policy{Allow: rules(t, "*.corp.lan")}, "corp.lan", "not in checks.allow", ""},
		{"allow pattern, address", Policy{Allow: rules(t, "*.corp.lan")}, "10.1.0.5", "not in checks.allow", ""},
		{"allow pattern, other name", Policy{Allow: rules(t, "*.corp.lan")}, "outside.example", "not in checks.allow", ""},
		{"deny wins over allow", Policy{Allow: rules(t, "*.corp.lan"), Deny: rules(t, "db.corp.lan")}, "db.corp.lan", "denied by checks.deny entry \"db.corp.lan\"", ""},
		{"deny CIDR resolves names", Policy{Deny: rules(t, "10.1.0.0/16")}, "db.corp.lan", "(10.1.0.5) is denied by checks.deny entry \"10.1.0.0/16\"", ""},
		{"deny CIDR, other name", Policy{Deny: rules(t, "10.1.0.0/16")}, "web.corp.lan", "", "10.2.0.7"},
		{"deny address", Policy{Deny: rules(t, "169.254.169.254")}, "169.254.169.254", "denied by checks.deny", ""},
		{"deny CIDR, IPv4-mapped address", Policy{Deny: rules(t, "10.0.0.0/8")}, "::ffff:10.0.0.1", "denied by checks.deny", ""},
		{"deny CIDR, name does not resolve", Policy{Deny: rules(t, "10.0.0.0/8")}, "nowhere.lan", "does not resolve", ""},
		// Prefix.Contains is false for every zoned address: the zone must
		// not let an address past a deny entry, nor keep it out of an
		// allow entry.
		{"deny CIDR, zoned address", Policy{Deny: rules(t, "fd00::/8")}, "fd00::10%eth0", "(fd00::10) is denied by checks.deny entry \"fd00::/8\"", ""},
		{"deny loopback, zoned address", Policy{Deny: rules(t, "::1/128")}, "::1%lo", "denied by checks.deny", ""},
		{"deny address, zoned address", Policy{Deny: rules(t, "fe80::1")}, "fe80::1%eth0", "denied by checks.deny", ""},
		{"deny CIDR, zoned resolved address", Policy{Deny: rules(t, "fe80::/10")}, "zoned.corp.lan", "(fe80::5) is denied", ""},
		{"allow CIDR, zoned address", Policy{Allow: rules(t, "fd00::/8")}, "fd00::10%eth0", "", "fd00::10"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addrs, reason := tc.policy.decide(t.Context(), res, tc.host)
			var got []string
			for _, a := range addrs {
				got = append(got, a.String())
			}
			if (reason == "") != (tc.reason == "") || !strings.Contains(reason, tc.reason) || strings.Join(got, ",") != tc.pinned {
				t.Fatalf("decide(%s) = %v, %q; want %q, reason containing %q", tc.host, got, reason, tc.pinned, tc.reason)
			}
		})
	}
}
