package netcheck

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-rmm/vigil/internal/limits"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// MaxTimeout is the longest run a CheckSpec may ask for; a longer
// timeout_ms is cut to it.
const MaxTimeout = limits.MaxCheckTimeoutMS * time.Millisecond

// ErrBadSpec is wrapped by every error FromSpec returns.
var ErrBadSpec = errors.New("invalid check spec")

// SpecTimeout is how long a run of spec may take: timeout_ms, DefaultTimeout
// when it is zero, at most MaxTimeout.
func SpecTimeout(spec *agentv1.CheckSpec) time.Duration {
	ms := spec.GetTimeoutMs()
	switch {
	case ms == 0:
		return DefaultTimeout
	case ms > limits.MaxCheckTimeoutMS:
		return MaxTimeout
	}
	return time.Duration(ms) * time.Millisecond
}

// FromSpec validates spec and builds its probe, with the default dialer
// and resolver (the caller may set its own on the returned probe) and,
// for ping, the PingAuto socket rules. The spec comes from the network:
// every field is checked, and the error names the field and what it
// should be.
func FromSpec(spec *agentv1.CheckSpec) (Probe, error) {
	if spec == nil {
		return nil, fmt.Errorf("%w: spec: required", ErrBadSpec)
	}
	target := spec.GetTarget()
	if err := specString("target", target, limits.MaxCheckTarget); err != nil {
		return nil, err
	}
	if target == "" {
		return nil, fmt.Errorf("%w: target: required", ErrBadSpec)
	}
	switch spec.GetType() {
	case agentv1.CheckType_CHECK_TYPE_PING:
		if err := specHost("target", target); err != nil {
			return nil, err
		}
		if spec.GetPingCount() > limits.MaxCheckPingCount {
			return nil, fmt.Errorf("%w: ping_count: %d, want at most %d", ErrBadSpec, spec.GetPingCount(), limits.MaxCheckPingCount)
		}
		return &Ping{Host: target, Count: int(spec.GetPingCount()), Mode: PingAuto}, nil
	case agentv1.CheckType_CHECK_TYPE_TCP:
		if err := specHost("target", target); err != nil {
			return nil, err
		}
		if p := spec.GetPort(); p < 1 || p > 65535 {
			return nil, fmt.Errorf("%w: port: %d, want 1 to 65535", ErrBadSpec, p)
		}
		return &TCP{Host: target, Port: int(spec.GetPort())}, nil
	case agentv1.CheckType_CHECK_TYPE_HTTP:
		return httpFromSpec(spec)
	case agentv1.CheckType_CHECK_TYPE_DNS:
		return dnsFromSpec(spec)
	}
	return nil, fmt.Errorf("%w: type: %d, want ping, tcp, http or dns", ErrBadSpec, int32(spec.GetType()))
}

func httpFromSpec(spec *agentv1.CheckSpec) (Probe, error) {
	u, err := url.Parse(spec.GetTarget())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: target: %q, want an http:// or https:// URL", ErrBadSpec, spec.GetTarget())
	}
	if err := specHost("target", u.Hostname()); err != nil {
		return nil, err
	}
	if len(spec.GetHttpStatus()) > limits.MaxCheckStatusCodes {
		return nil, fmt.Errorf("%w: http_status: %d codes, limit %d", ErrBadSpec, len(spec.GetHttpStatus()), limits.MaxCheckStatusCodes)
	}
	codes := make([]int, 0, len(spec.GetHttpStatus()))
	for _, c := range spec.GetHttpStatus() {
		if c < 100 || c > 599 {
			return nil, fmt.Errorf("%w: http_status: %d, want 100 to 599", ErrBadSpec, c)
		}
		codes = append(codes, int(c))
	}
	if err := specString("http_keyword", spec.GetHttpKeyword(), limits.MaxCheckKeyword); err != nil {
		return nil, err
	}
	if d := spec.GetHttpMinCertDays(); d > limits.MaxCheckCertDays {
		return nil, fmt.Errorf("%w: http_min_cert_days: %d, want at most %d", ErrBadSpec, d, limits.MaxCheckCertDays)
	}
	return &HTTP{URL: u.String(), Status: codes, Keyword: spec.GetHttpKeyword(), MinCertDays: int(spec.GetHttpMinCertDays())}, nil
}

func dnsFromSpec(spec *agentv1.CheckSpec) (Probe, error) {
	if err := specHost("target", spec.GetTarget()); err != nil {
		return nil, err
	}
	typ := RecordType(strings.ToUpper(spec.GetDnsRecordType()))
	switch typ {
	case "":
		typ = TypeA
	case TypeA, TypeAAAA, TypeCNAME, TypeMX, TypeNS, TypeTXT:
	default:
		return nil, fmt.Errorf("%w: dns_record_type: %q, want A, AAAA, CNAME, MX, NS or TXT", ErrBadSpec, spec.GetDnsRecordType())
	}
	server := spec.GetDnsServer()
	if server != "" {
		host, err := dnsServerHost(server)
		if err != nil {
			return nil, err
		}
		if err := specHost("dns_server", host); err != nil {
			return nil, err
		}
	}
	return &DNS{Name: spec.GetTarget(), Type: typ, Server: server}, nil
}

// dnsServerHost returns the host of a dns_server value: "host:port" or a
// bare IP address (the DNS probe adds port 53).
func dnsServerHost(server string) (string, error) {
	if ip, err := netip.ParseAddr(server); err == nil {
		return ip.String(), nil
	}
	host, port, err := net.SplitHostPort(server)
	if err != nil {
		return "", fmt.Errorf("%w: dns_server: %q, want host:port or an IP address", ErrBadSpec, server)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%w: dns_server: port %q, want 1 to 65535", ErrBadSpec, port)
	}
	return host, nil
}

// SpecHosts returns the hosts a run of spec reaches or names: the target
// host (the URL's host for http), and for dns the queried name and the
// server, when one is set. An agent's policy must allow every one. Call it
// on a spec FromSpec accepted.
func SpecHosts(spec *agentv1.CheckSpec) []string {
	switch spec.GetType() {
	case agentv1.CheckType_CHECK_TYPE_HTTP:
		u, err := url.Parse(spec.GetTarget())
		if err != nil {
			return nil
		}
		return []string{u.Hostname()}
	case agentv1.CheckType_CHECK_TYPE_DNS:
		hosts := []string{strings.TrimSuffix(spec.GetTarget(), ".")}
		if spec.GetDnsServer() != "" {
			if h, err := dnsServerHost(spec.GetDnsServer()); err == nil {
				hosts = append(hosts, h)
			}
		}
		return hosts
	}
	return []string{spec.GetTarget()}
}

// specString checks a string field: valid UTF-8, no control characters,
// at most max bytes.
func specString(field, s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%w: %s: %d bytes, limit %d", ErrBadSpec, field, len(s), max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s: not valid UTF-8", ErrBadSpec, field)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: %s: control character %U", ErrBadSpec, field, r)
		}
	}
	return nil
}

// specHost checks that h is an IP address without an IPv6 zone or a DNS
// name: at most 253 bytes of letters, digits, '-', '_' and '.', no empty
// label. A zone ("fe80::1%eth0") is refused: it picks an interface of the
// machine that runs the check, which the controller cannot know, and a
// zoned address matches no CIDR prefix of an agent's checks.allow or
// checks.deny.
func specHost(field, h string) error {
	if a, err := netip.ParseAddr(h); err == nil {
		if a.Zone() != "" {
			return fmt.Errorf("%w: %s: %q has an IPv6 zone (%%%s); give the address without it", ErrBadSpec, field, h, a.Zone())
		}
		return nil
	}
	name := strings.TrimSuffix(h, ".")
	if name == "" || len(name) > 253 {
		return fmt.Errorf("%w: %s: %q is not a host name or IP address", ErrBadSpec, field, h)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("%w: %s: %q is not a host name or IP address", ErrBadSpec, field, h)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return fmt.Errorf("%w: %s: %q is not a host name or IP address", ErrBadSpec, field, h)
			}
		}
	}
	return nil
}

// Status conversions between Status and the wire enum.
var (
	toWire = map[Status]agentv1.CheckStatus{
		OK: agentv1.CheckStatus_CHECK_STATUS_OK, NG: agentv1.CheckStatus_CHECK_STATUS_NG,
		WR: agentv1.CheckStatus_CHECK_STATUS_WR, ERR: agentv1.CheckStatus_CHECK_STATUS_ERR,
	}
	fromWire = map[agentv1.CheckStatus]Status{
		agentv1.CheckStatus_CHECK_STATUS_OK: OK, agentv1.CheckStatus_CHECK_STATUS_NG: NG,
		agentv1.CheckStatus_CHECK_STATUS_WR: WR, agentv1.CheckStatus_CHECK_STATUS_ERR: ERR,
	}
)

// WireStatus is s as the wire enum; UNSPECIFIED for a Status no run
// produces.
func WireStatus(s Status) agentv1.CheckStatus { return toWire[s] }

// StatusFromWire is the Status of a wire value; false for UNSPECIFIED or
// a value it does not know.
func StatusFromWire(s agentv1.CheckStatus) (Status, bool) {
	st, ok := fromWire[s]
	return st, ok
}

// ToRunResult converts a run's Result for the wire, its detail cut to
// limits.MaxCheckDetail.
func ToRunResult(runID, checkID string, r Result) *agentv1.CheckRunResult {
	out := &agentv1.CheckRunResult{
		RunId:     runID,
		CheckId:   checkID,
		Status:    WireStatus(r.Status), // an unknown Status becomes UNSPECIFIED, read as ERR
		LatencyUs: r.Latency.Microseconds(),
		Detail:    limits.CleanString(r.Detail, limits.MaxCheckDetail),
	}
	if !r.At.IsZero() {
		out.StartUnixMs = r.At.UnixMilli()
	}
	if r.CertDaysLeft != nil {
		out.CertDaysLeft = int32(max(min(*r.CertDaysLeft, math.MaxInt32), math.MinInt32))
		out.CertDaysKnown = true
	}
	return out
}

// FromRunResult converts a result reported by an agent back to a Result:
// a status it does not know is ERR, a refusal is ERR with the reason in
// the detail. Clean r first (limits.CleanCheckResult): the values are the
// agent's.
func FromRunResult(r *agentv1.CheckRunResult) Result {
	st, ok := StatusFromWire(r.GetStatus())
	detail := r.GetDetail()
	if !ok {
		st = ERR
		detail = fmt.Sprintf("agent reported an unknown status %d: %s", int32(r.GetStatus()), detail)
	}
	if r.GetRefusedReason() != "" {
		st = ERR
		detail = "refused by the agent: " + r.GetRefusedReason()
	}
	us := min(max(r.GetLatencyUs(), 0), int64(time.Hour/time.Microsecond)) // no overflow from a hostile value
	out := Result{Status: st, Latency: time.Duration(us) * time.Microsecond, Detail: detail}
	if r.GetStartUnixMs() > 0 {
		out.At = time.UnixMilli(r.GetStartUnixMs())
	}
	if r.GetCertDaysKnown() {
		days := int(r.GetCertDaysLeft())
		out.CertDaysLeft = &days
	}
	return out
}
