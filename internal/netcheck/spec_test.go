package netcheck_test

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/internal/limits"
	"github.com/vigil-rmm/vigil/internal/netcheck"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

func TestFromSpecBuildsProbes(t *testing.T) {
	cases := []struct {
		name string
		spec *agentv1.CheckSpec
		want string // the probe, as %+v without its nil hooks
	}{
		{"ping", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_PING, Target: "db.corp.lan", PingCount: 5},
			"*netcheck.Ping db.corp.lan count=5 mode=0"},
		{"tcp", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_TCP, Target: "10.0.0.5", Port: 3389},
			"*netcheck.TCP 10.0.0.5:3389"},
		{"http", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_HTTP, Target: "https://intranet.corp.lan/health",
			HttpStatus: []uint32{200, 204}, HttpKeyword: "ok", HttpMinCertDays: 14},
			"*netcheck.HTTP https://intranet.corp.lan/health [200 204] ok 14"},
		{"dns default type", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_DNS, Target: "corp.lan"},
			"*netcheck.DNS corp.lan A "},
		{"dns server", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_DNS, Target: "corp.lan", DnsRecordType: "mx",
			DnsServer: "10.0.0.2:5353"}, "*netcheck.DNS corp.lan MX 10.0.0.2:5353"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := netcheck.FromSpec(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(p); got != tc.want {
				t.Fatalf("probe = %s, want %s", got, tc.want)
			}
		})
	}
}

func describe(p netcheck.Probe) string {
	switch p := p.(type) {
	case *netcheck.Ping:
		return "*netcheck.Ping " + p.Host + " count=" + itoa(p.Count) + " mode=" + itoa(int(p.Mode))
	case *netcheck.TCP:
		return "*netcheck.TCP " + net.JoinHostPort(p.Host, itoa(p.Port))
	case *netcheck.HTTP:
		codes := make([]string, len(p.Status))
		for i, c := range p.Status {
			codes[i] = itoa(c)
		}
		return "*netcheck.HTTP " + p.URL + " [" + strings.Join(codes, " ") + "] " + p.Keyword + " " + itoa(p.MinCertDays)
	case *netcheck.DNS:
		return "*netcheck.DNS " + p.Name + " " + string(p.Type) + " " + p.Server
	}
	return "unknown"
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestFromSpecRefusesMalformed(t *testing.T) {
	long := strings.Repeat("a", limits.MaxCheckTarget+1)
	cases := []struct {
		name  string
		spec  *agentv1.CheckSpec
		field string
	}{
		{"nil", nil, "spec: required"},
		{"unknown type", &agentv1.CheckSpec{Type: 42, Target: "a"}, "type: 42"},
		{"unspecified type", &agentv1.CheckSpec{Target: "a"}, "type: 0"},
		{"no target", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_PING}, "target: required"},
		{"long target", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_PING, Target: long}, "target: 2049 bytes"},
		{"control char", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_PING, Target: "a\nb"}, "target: control character"},
		{"bad host", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_TCP, Target: "a b", Port: 1}, "target: \"a b\" is not a host name"},
		{"port zero", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_TCP, Target: "a"}, "port: 0"},
		{"port high", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_TCP, Target: "a", Port: 65536}, "port: 65536"},
		{"ping count", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_PING, Target: "a", PingCount: 11}, "ping_count: 11"},
		{"not a url", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_HTTP, Target: "ftp://a/"}, "http:// or https:// URL"},
		{"status code", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_HTTP, Target: "http://a/", HttpStatus: []uint32{99}}, "http_status: 99"},
		{"too many codes", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_HTTP, Target: "http://a/", HttpStatus: make([]uint32, 17)}, "http_status: 17 codes"},
		{"keyword", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_HTTP, Target: "http://a/", HttpKeyword: strings.Repeat("k", 257)}, "http_keyword: 257 bytes"},
		{"cert days", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_HTTP, Target: "http://a/", HttpMinCertDays: 4000}, "http_min_cert_days: 4000"},
		{"record type", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_DNS, Target: "a", DnsRecordType: "SRV"}, "dns_record_type: \"SRV\""},
		{"dns server", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_DNS, Target: "a", DnsServer: "ns1"}, "dns_server: \"ns1\""},
		{"dns server port", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_DNS, Target: "a", DnsServer: "ns1:0"}, "dns_server: port \"0\""},
		// A zoned address matches no CIDR prefix, so it would pass every
		// checks.deny entry of an agent.
		{"zoned ping", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_PING, Target: "::1%lo"}, `target: "::1%lo" has an IPv6 zone`},
		{"zoned tcp", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_TCP, Target: "fd00::10%eth0", Port: 22}, `target: "fd00::10%eth0" has an IPv6 zone`},
		{"zoned url", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_HTTP, Target: "http://[fe80::1%25eth0]:8080/"}, `target: "fe80::1%eth0" has an IPv6 zone`},
		{"zoned dns server", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_DNS, Target: "a", DnsServer: "fe80::53%eth0"}, `dns_server: "fe80::53%eth0" has an IPv6 zone`},
		{"zoned dns server port", &agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_DNS, Target: "a", DnsServer: "[fe80::53%eth0]:53"}, `dns_server: "fe80::53%eth0" has an IPv6 zone`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := netcheck.FromSpec(tc.spec)
			if !errors.Is(err, netcheck.ErrBadSpec) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("FromSpec = %v, %v; want ErrBadSpec naming %q", p, err, tc.field)
			}
		})
	}
}

func TestSpecTimeout(t *testing.T) {
	for ms, want := range map[uint32]time.Duration{0: netcheck.DefaultTimeout, 1500: 1500 * time.Millisecond,
		60_000: time.Minute, 3_600_000: netcheck.MaxTimeout} {
		if got := netcheck.SpecTimeout(&agentv1.CheckSpec{TimeoutMs: ms}); got != want {
			t.Errorf("timeout_ms %d: %s, want %s", ms, got, want)
		}
	}
}

func TestSpecHosts(t *testing.T) {
	cases := []struct {
		spec *agentv1.CheckSpec
		want string
	}{
		{&agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_TCP, Target: "10.0.0.5", Port: 22}, "10.0.0.5"},
		{&agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_HTTP, Target: "https://[fd00::1]:8443/x"}, "fd00::1"},
		{&agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_DNS, Target: "corp.lan.", DnsServer: "10.0.0.2"}, "corp.lan 10.0.0.2"},
		{&agentv1.CheckSpec{Type: agentv1.CheckType_CHECK_TYPE_DNS, Target: "corp.lan", DnsServer: "ns.corp.lan:53"}, "corp.lan ns.corp.lan"},
	}
	for _, tc := range cases {
		if got := strings.Join(netcheck.SpecHosts(tc.spec), " "); got != tc.want {
			t.Errorf("SpecHosts(%v) = %q, want %q", tc.spec, got, tc.want)
		}
	}
}

func TestRunResultRoundTrip(t *testing.T) {
	at := time.UnixMilli(1_760_000_000_123)
	days := 0
	r := netcheck.Result{Status: netcheck.NG, At: at, Latency: 1500 * time.Microsecond,
		Detail: strings.Repeat("x", 400), CertDaysLeft: &days}
	w := netcheck.ToRunResult("run1", "chk1", r)
	if w.GetStatus() != agentv1.CheckStatus_CHECK_STATUS_NG || w.GetStartUnixMs() != at.UnixMilli() || w.GetLatencyUs() != 1500 ||
		len(w.GetDetail()) != limits.MaxCheckDetail || !w.GetCertDaysKnown() || w.GetRunId() != "run1" || w.GetCheckId() != "chk1" {
		t.Fatalf("ToRunResult = %v", w)
	}
	back := netcheck.FromRunResult(w)
	if back.Status != netcheck.NG || !back.At.Equal(at) || back.Latency != r.Latency || back.CertDaysLeft == nil || *back.CertDaysLeft != 0 {
		t.Fatalf("FromRunResult = %+v", back)
	}
	noCert := netcheck.FromRunResult(&agentv1.CheckRunResult{Status: agentv1.CheckStatus_CHECK_STATUS_OK})
	if noCert.CertDaysLeft != nil || !noCert.At.IsZero() {
		t.Fatalf("a result without a certificate or start = %+v", noCert)
	}
}

func TestFromRunResultHostileValues(t *testing.T) {
	cases := []struct {
		name   string
		in     *agentv1.CheckRunResult
		status netcheck.Status
		detail string
	}{
		{"unknown status", &agentv1.CheckRunResult{Status: 9, Detail: "d"}, netcheck.ERR, "unknown status 9: d"},
		{"unspecified", &agentv1.CheckRunResult{}, netcheck.ERR, "unknown status 0"},
		{"refused says OK", &agentv1.CheckRunResult{Status: agentv1.CheckStatus_CHECK_STATUS_OK, RefusedReason: "policy"},
			netcheck.ERR, "refused by the agent: policy"},
		{"huge latency", &agentv1.CheckRunResult{Status: agentv1.CheckStatus_CHECK_STATUS_WR, LatencyUs: 1 << 62}, netcheck.WR, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := netcheck.FromRunResult(tc.in)
			if got.Status != tc.status || !strings.Contains(got.Detail, tc.detail) || got.Latency < 0 || got.Latency > time.Hour {
				t.Fatalf("FromRunResult = %+v, want %s with %q", got, tc.status, tc.detail)
			}
		})
	}
}

// TestWireStatus: every status crosses the wire and back; a wire value no
// run produces has no status.
func TestWireStatus(t *testing.T) {
	for _, st := range []netcheck.Status{netcheck.OK, netcheck.NG, netcheck.WR, netcheck.ERR} {
		w := netcheck.WireStatus(st)
		if w.String() != "CHECK_STATUS_"+st.String() {
			t.Errorf("WireStatus(%s) = %s", st, w)
		}
		if back, ok := netcheck.StatusFromWire(w); !ok || back != st {
			t.Errorf("StatusFromWire(%s) = %s, %t; want %s", w, back, ok, st)
		}
	}
	if w := netcheck.WireStatus(0); w != agentv1.CheckStatus_CHECK_STATUS_UNSPECIFIED {
		t.Errorf("WireStatus(0) = %s, want UNSPECIFIED", w)
	}
	for _, w := range []agentv1.CheckStatus{agentv1.CheckStatus_CHECK_STATUS_UNSPECIFIED, 42} {
		if st, ok := netcheck.StatusFromWire(w); ok {
			t.Errorf("StatusFromWire(%d) = %s, want none", int32(w), st)
		}
	}
}
