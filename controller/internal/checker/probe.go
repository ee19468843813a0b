package checker

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-rmm/vigil/internal/netcheck"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// AgentProber runs one check on an agent and waits for its result. Any
// error means the agent could not run it (offline, no checks capability,
// no answer in time): the runner records no result for that vantage.
type AgentProber interface {
	Probe(ctx context.Context, agentID, checkID string, spec *agentv1.CheckSpec) (*agentv1.CheckRunResult, error)
}

// Vantage names.
const (
	// VantageController is the controller itself.
	VantageController = "controller"
	// AgentVantagePrefix starts an agent vantage: "agent:<agent-id>".
	AgentVantagePrefix = "agent:"
)

// Limits on what a run stores.
const (
	// AgentGrace is how much longer than the run's timeout the runner
	// waits for an agent's answer: the request and the result travel
	// over the agent's stream.
	AgentGrace = 15 * time.Second
	// MaxDetail is the longest detail stored, in bytes.
	MaxDetail = 512
)

// probeOf builds the controller's probe for spec with the same code an
// agent uses, so a vantage's verdict never depends on where it runs. The
// API validated the spec; one it could not have accepted still yields a
// probe, whose run is ERR with the reason.
func probeOf(spec *agentv1.CheckSpec) netcheck.Probe {
	p, err := netcheck.FromSpec(spec)
	if err != nil {
		return badProbe(err.Error())
	}
	return p
}

// badProbe is a probe that cannot start.
type badProbe string

func (b badProbe) Run(context.Context) netcheck.Result {
	return netcheck.Result{Status: netcheck.ERR, At: time.Now(), Detail: string(b)}
}

// statusProto maps a netcheck status to the stored enum; a status no
// run produces is stored as ERR.
func statusProto(s netcheck.Status) agentv1.CheckStatus {
	if w := netcheck.WireStatus(s); w != agentv1.CheckStatus_CHECK_STATUS_UNSPECIFIED {
		return w
	}
	return agentv1.CheckStatus_CHECK_STATUS_ERR
}

// StatusName is "OK", "NG", "WR", "ERR" or "?".
func StatusName(s agentv1.CheckStatus) string {
	if st, ok := netcheck.StatusFromWire(s); ok {
		return st.String()
	}
	return "?"
}

// recordOf turns a run's result into its stored record.
func recordOf(checkID, vantage string, r netcheck.Result) *storev1.CheckResultRecord {
	rec := &storev1.CheckResultRecord{Check: checkID, Vantage: vantage, Status: statusProto(r.Status), StartUnixMs: r.At.UnixMilli(),
		LatencyUs: max(r.Latency.Microseconds(), 0), Detail: clip(r.Detail, MaxDetail)}
	if r.CertDaysLeft != nil {
		rec.CertDaysLeft, rec.HasCertDays = int32(*r.CertDaysLeft), true
	}
	return rec
}

// resultOf turns a stored record back into a result (for restored
// machines).
func resultOf(rec *storev1.CheckResultRecord) netcheck.Result {
	st, ok := netcheck.StatusFromWire(rec.GetStatus())
	if !ok {
		st = netcheck.ERR
	}
	r := netcheck.Result{Status: st, At: time.UnixMilli(rec.GetStartUnixMs()).UTC(),
		Latency: time.Duration(rec.GetLatencyUs()) * time.Microsecond, Detail: rec.GetDetail()}
	if rec.GetHasCertDays() {
		d := int(rec.GetCertDaysLeft())
		r.CertDaysLeft = &d
	}
	return r
}

// agentResult checks an agent's answer, which is hostile input like any
// other, and turns it into a result started at start (the controller's
// clock: the agent's may be off). An answer that is no result (a refusal,
// an unknown status) is an error: the vantage could not run.
func agentResult(spec *agentv1.CheckSpec, res *agentv1.CheckRunResult, start time.Time) (netcheck.Result, error) {
	if res == nil {
		return netcheck.Result{}, fmt.Errorf("agent sent no result")
	}
	if why := res.GetRefusedReason(); why != "" {
		return netcheck.Result{}, fmt.Errorf("agent refused: %s", clip(why, MaxDetail))
	}
	if _, ok := netcheck.StatusFromWire(res.GetStatus()); !ok {
		return netcheck.Result{}, fmt.Errorf("agent sent status %d, which no run produces", int32(res.GetStatus()))
	}
	r := netcheck.FromRunResult(res)
	r.At, r.Detail = start, clip(r.Detail, MaxDetail)
	if r.Latency > netcheck.SpecTimeout(spec)+AgentGrace {
		r.Latency = 0
	}
	// The certificate figure counts only for an HTTPS check.
	if spec.GetType() != agentv1.CheckType_CHECK_TYPE_HTTP || !strings.HasPrefix(spec.GetTarget(), "https://") {
		r.CertDaysLeft = nil
	}
	return r, nil
}

// clip cuts s to at most n bytes on a rune boundary and replaces invalid
// UTF-8 and control characters, so a detail is always one printable
// line.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// Describe is a check's spec in a few words, as in a notice's subject:
// "tcp db01.lan:5432", "http https://example.com/", "dns example.com MX".
func Describe(spec *agentv1.CheckSpec) string {
	t := strings.ToLower(strings.TrimPrefix(spec.GetType().String(), "CHECK_TYPE_"))
	switch spec.GetType() {
	case agentv1.CheckType_CHECK_TYPE_TCP:
		return t + " " + net.JoinHostPort(spec.GetTarget(), strconv.Itoa(int(spec.GetPort())))
	case agentv1.CheckType_CHECK_TYPE_DNS:
		rt := spec.GetDnsRecordType()
		if rt == "" {
			rt = "A"
		}
		d := t + " " + spec.GetTarget() + " " + rt
		if spec.GetDnsServer() != "" {
			d += " @" + spec.GetDnsServer()
		}
		return d
	}
	return t + " " + spec.GetTarget()
}

// hostOf is the host a spec's target names.
func hostOf(spec *agentv1.CheckSpec) string {
	if spec.GetType() == agentv1.CheckType_CHECK_TYPE_HTTP {
		if u, err := url.Parse(spec.GetTarget()); err == nil {
			return u.Hostname()
		}
	}
	return spec.GetTarget()
}
