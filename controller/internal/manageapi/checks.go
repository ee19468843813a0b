package manageapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-rmm/vigil/controller/internal/apierr"
	"github.com/vigil-rmm/vigil/controller/internal/auth"
	"github.com/vigil-rmm/vigil/controller/internal/check"
	"github.com/vigil-rmm/vigil/controller/internal/checker"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	"github.com/vigil-rmm/vigil/internal/limits"
	"github.com/vigil-rmm/vigil/internal/netcheck"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// checkRules authorizes the check service's methods. The MSP defines
// checks; a client approver may pause and resume its own tenant's; anyone
// in the tenant may read them.
var checkRules = map[string]Rule{
	managev1.CheckService_CreateNetCheck_FullMethodName: {Roles: msp,
		Target: byTenantField(func(r any) string { return r.(*managev1.CreateNetCheckRequest).GetTenant() })},
	managev1.CheckService_UpdateNetCheck_FullMethodName: {Roles: msp,
		Target: netCheckTenant(func(r any) string { return r.(*managev1.UpdateNetCheckRequest).GetId() })},
	managev1.CheckService_DeleteNetCheck_FullMethodName: {Roles: msp,
		Target: netCheckTenant(func(r any) string { return r.(*managev1.DeleteNetCheckRequest).GetId() })},
	managev1.CheckService_ListNetChecks_FullMethodName: {Roles: anyone,
		Target: byTenantField(func(r any) string { return r.(*managev1.ListNetChecksRequest).GetTenant() })},
	managev1.CheckService_GetNetCheck_FullMethodName: {Roles: anyone,
		Target: netCheckTenant(func(r any) string { return r.(*managev1.GetNetCheckRequest).GetId() })},
	managev1.CheckService_PauseNetCheck_FullMethodName: {Roles: approver,
		Target: netCheckTenant(func(r any) string { return r.(*managev1.PauseNetCheckRequest).GetId() })},
	managev1.CheckService_ResumeNetCheck_FullMethodName: {Roles: approver,
		Target: netCheckTenant(func(r any) string { return r.(*managev1.ResumeNetCheckRequest).GetId() })},
	managev1.CheckService_ListNetCheckHistory_FullMethodName: {Roles: anyone,
		Target: netCheckTenant(func(r any) string { return r.(*managev1.ListNetCheckHistoryRequest).GetId() })},
}

// netCheckTenant is the tenant of the check a request names; an unknown
// check is the same bare NotFound as another tenant's.
func netCheckTenant(get func(req any) string) func(context.Context, store.Tx, any) (string, bool, error) {
	return byObject(schema.GetCheck, get)
}

// CheckRunner is what the check handlers need from the checker
// (*checker.Runner).
type CheckRunner interface {
	// Reload re-reads a check the API changed and reschedules it.
	Reload(ctx context.Context, id string) error
	// Resume clears suspensions and runs the check at once.
	Resume(ctx context.Context, id, by string) (int, error)
	// Stretch is how far behind the check runs; false when unscheduled.
	Stretch(id string) (check.Stretch, bool)
	// Backlog counts the checks waiting for a worker; Workers is the pool.
	Backlog() int
	Workers() int
}

var _ CheckRunner = (*checker.Runner)(nil)

// CheckDeps is what the check service's handlers need beyond the store.
type CheckDeps struct {
	// Runner runs the checks; nil changes the store only (the checks
	// run from the next controller start).
	Runner CheckRunner
	// MaxPerTenant caps a tenant's checks (0: DefaultMaxChecks).
	MaxPerTenant int
	// Retention is the default results retention (0: 10 days).
	Retention time.Duration
}

// Limits of a check definition.
const (
	DefaultMaxChecks   = 1000
	MinCheckInterval   = time.Minute
	MaxCheckInterval   = 24 * time.Hour
	MinCheckTimeout    = time.Second
	MaxCheckTimeout    = time.Minute
	MaxCheckVantages   = 10
	MaxCheckContacts   = 20
	MaxCheckURL        = 2048
	MaxCheckName       = 128
	MaxCheckKeyword    = 256
	MaxCheckHTTPStatus = limits.MaxCheckStatusCodes
	MaxCheckCertDays   = limits.MaxCheckCertDays
	MaxCheckPingCount  = limits.MaxCheckPingCount
	// MaxHistoryRows caps the results of one history call.
	MaxHistoryRows = 50000
	// recentResults is how many results GetNetCheck returns.
	recentResults = 20
)

var (
	// hostLabelRE is one label of a host name; underscores are allowed
	// for names such as _dmarc.example.com that DNS checks look up.
	hostLabelRE = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$`)
	recordTypes = []string{"A", "AAAA", "CNAME", "MX", "TXT", "NS"}
)

// validHost reports whether s is a host name or an IP address (no port,
// no IPv6 zone).
func validHost(s string) bool {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Zone() == ""
	}
	name := strings.TrimSuffix(s, ".")
	if name == "" || len(name) > 253 {
		return false
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if !hostLabelRE.MatchString(l) {
			return false
		}
	}
	// A name of digits and dots only is a mistyped address, not a name.
	_, err := strconv.Atoi(strings.ReplaceAll(name, ".", ""))
	return err != nil
}

// checkPort parses a port number or preset name.
func checkPort(s string) (uint32, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 65535 {
			return 0, apierr.Invalid("port", "%d: want 1 to 65535", n)
		}
		return uint32(n), nil
	}
	if n, ok := netcheck.Ports[strings.ToLower(s)]; ok {
		return uint32(n), nil
	}
	names := make([]string, 0, len(netcheck.Ports))
	for k := range netcheck.Ports {
		names = append(names, k)
	}
	slices.Sort(names)
	return 0, apierr.Invalid("port", "%q: want a number 1-65535 or one of %s", s, strings.Join(names, ", "))
}

// httpTarget checks an http check's target and returns its URL: a bare
// host becomes https://HOST/.
func httpTarget(s string) (string, error) {
	if len(s) > MaxCheckURL {
		return "", apierr.Invalid("target", "%d bytes, limit %d", len(s), MaxCheckURL)
	}
	if !strings.Contains(s, "://") {
		host := s
		if validHost(host) {
			if a, err := netip.ParseAddr(host); err == nil && a.Is6() {
				host = "[" + host + "]"
			}
			return "https://" + host + "/", nil
		}
		return "", apierr.Invalid("target", "%q is neither an http(s) URL nor a host name or IP address", s)
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", apierr.Invalid("target", "%q is not a URL: %v", s, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", apierr.Invalid("target", "%q: want an http:// or https:// URL", s)
	case u.User != nil:
		// It would be stored, shown in lists and notices and sent to
		// agents: credentials do not belong in a check's URL.
		return "", apierr.Invalid("target", "the URL carries a user name or password; checks do not send credentials")
	case !validHost(u.Hostname()):
		return "", apierr.Invalid("target", "%q: the URL's host %q is not a host name or IP address", s, u.Hostname())
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", apierr.Invalid("target", "%q: port %q is not 1 to 65535", s, p)
		}
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u.String(), nil
}

// validDNSServer checks host[:port].
func validDNSServer(s string) bool {
	if len(s) > 255 {
		return false
	}
	if validHost(s) {
		return true
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || !validHost(host) {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

// oneLineText reports whether s is valid UTF-8 with no control
// characters.
func oneLineText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// buildCheck validates in for tenant and fills c's definition fields. It
// reads agents and contacts in tx to check they belong to tenant.
func buildCheck(tx store.Tx, tenant string, in *managev1.NetCheckInput, c *storev1.Check) error {
	if in == nil {
		return apierr.Invalid("check", "required")
	}
	spec := &agentv1.CheckSpec{Type: in.GetType()}
	typ := in.GetType()
	target := strings.TrimSpace(in.GetTarget())
	if target == "" {
		return apierr.Invalid("target", "required: a host name, an IP address, or for http a URL")
	}
	switch typ {
	case agentv1.CheckType_CHECK_TYPE_PING, agentv1.CheckType_CHECK_TYPE_TCP:
		if !validHost(target) {
			return apierr.Invalid("target", "%q is not a host name or IP address (give the port with --port)", clipText(target))
		}
	case agentv1.CheckType_CHECK_TYPE_DNS:
		if _, err := netip.ParseAddr(target); err == nil || !validHost(target) {
			return apierr.Invalid("target", "%q: a dns check looks up a host name", clipText(target))
		}
	case agentv1.CheckType_CHECK_TYPE_HTTP:
		u, err := httpTarget(target)
		if err != nil {
			return err
		}
		target = u
	default:
		return apierr.Invalid("type", "want ping, tcp, http or dns")
	}
	spec.Target = target

	if in.GetPort() != "" {
		if typ != agentv1.CheckType_CHECK_TYPE_TCP {
			return apierr.Invalid("port", "only for tcp checks (an http check takes the port in its URL)")
		}
		p, err := checkPort(in.GetPort())
		if err != nil {
			return err
		}
		spec.Port = p
	} else if typ == agentv1.CheckType_CHECK_TYPE_TCP {
		return apierr.Invalid("port", "required for a tcp check: a number or one of http, https, ftp, pop3, smtp, dns")
	}

	// The seconds are checked as given: multiplied into a Duration, a
	// huge value wraps around int64 into a small valid-looking interval.
	if sec := in.GetIntervalSeconds(); sec < 0 || sec > int64(MaxCheckInterval/time.Second) {
		return apierr.Invalid("interval", "%d seconds: want %d to %d (%s to %s)", sec,
			int64(MinCheckInterval/time.Second), int64(MaxCheckInterval/time.Second), MinCheckInterval, MaxCheckInterval)
	}
	interval := time.Duration(in.GetIntervalSeconds()) * time.Second
	if interval == 0 {
		interval = check.DefaultInterval
	}
	if interval < MinCheckInterval || interval > MaxCheckInterval {
		return apierr.Invalid("interval", "%s: want %s to %s", interval, MinCheckInterval, MaxCheckInterval)
	}
	timeout := time.Duration(in.GetTimeoutMs()) * time.Millisecond
	if timeout == 0 {
		timeout = netcheck.DefaultTimeout
	}
	if timeout < MinCheckTimeout || timeout > MaxCheckTimeout {
		return apierr.Invalid("timeout", "%s: want %s to %s", timeout, MinCheckTimeout, MaxCheckTimeout)
	}
	if timeout >= interval {
		return apierr.Invalid("timeout", "%s: must be shorter than the interval (%s)", timeout, interval)
	}
	spec.TimeoutMs = uint32(timeout / time.Millisecond)

	if err := buildTypeOptions(in, spec); err != nil {
		return err
	}
	if in.GetRetentionDays() > checker.MaxRetentionDays {
		return apierr.Invalid("retention_days", "%d: at most %d", in.GetRetentionDays(), checker.MaxRetentionDays)
	}
	name := strings.TrimSpace(in.GetName())
	if name == "" {
		name = checker.Describe(spec)
	}
	if len(name) > MaxCheckName || !oneLineText(name) {
		return apierr.Invalid("name", "want one line of at most %d bytes", MaxCheckName)
	}
	vantages, err := checkVantages(tx, tenant, in.GetVantages())
	if err != nil {
		return err
	}
	contacts, err := checkContacts(tx, tenant, in.GetContacts())
	if err != nil {
		return err
	}
	// Agents check every spec they are sent with netcheck.FromSpec: one
	// it refuses must not be stored.
	if _, err := netcheck.FromSpec(spec); err != nil {
		return apierr.Invalid("check", "%v", err)
	}
	c.Name, c.Spec, c.IntervalSeconds, c.Vantages, c.Contacts = clipText(name), spec, int64(interval/time.Second), vantages, contacts
	c.RetentionDays = in.GetRetentionDays()
	return nil
}

// buildTypeOptions checks the options that belong to one type only.
func buildTypeOptions(in *managev1.NetCheckInput, spec *agentv1.CheckSpec) error {
	typ := in.GetType()
	isHTTP, isDNS := typ == agentv1.CheckType_CHECK_TYPE_HTTP, typ == agentv1.CheckType_CHECK_TYPE_DNS
	only := func(field, kind string, set, ok bool) error {
		if set && !ok {
			return apierr.Invalid(field, "only for %s checks", kind)
		}
		return nil
	}
	if err := errors.Join(
		only("http_status", "http", len(in.GetHttpStatus()) > 0, isHTTP),
		only("http_keyword", "http", in.GetHttpKeyword() != "", isHTTP),
		only("http_min_cert_days", "http", in.GetHttpMinCertDays() > 0, isHTTP),
		only("dns_server", "dns", in.GetDnsServer() != "", isDNS),
		only("dns_record_type", "dns", in.GetDnsRecordType() != "", isDNS),
		only("ping_count", "ping", in.GetPingCount() > 0, typ == agentv1.CheckType_CHECK_TYPE_PING),
	); err != nil {
		return err
	}
	if len(in.GetHttpStatus()) > MaxCheckHTTPStatus {
		return apierr.Invalid("http_status", "%d codes, at most %d", len(in.GetHttpStatus()), MaxCheckHTTPStatus)
	}
	for _, code := range in.GetHttpStatus() {
		if code < 100 || code > 599 {
			return apierr.Invalid("http_status", "%d is not an HTTP status code (100-599)", code)
		}
		if !slices.Contains(spec.HttpStatus, code) {
			spec.HttpStatus = append(spec.HttpStatus, code)
		}
	}
	if kw := in.GetHttpKeyword(); len(kw) > MaxCheckKeyword || !utf8.ValidString(kw) {
		return apierr.Invalid("http_keyword", "want valid UTF-8 of at most %d bytes", MaxCheckKeyword)
	}
	spec.HttpKeyword = in.GetHttpKeyword()
	if in.GetHttpMinCertDays() > MaxCheckCertDays {
		return apierr.Invalid("http_min_cert_days", "%d: at most %d", in.GetHttpMinCertDays(), MaxCheckCertDays)
	}
	if in.GetHttpMinCertDays() > 0 && !strings.HasPrefix(spec.GetTarget(), "https://") {
		return apierr.Invalid("http_min_cert_days", "only for an https:// URL")
	}
	spec.HttpMinCertDays = in.GetHttpMinCertDays()
	if s := in.GetDnsServer(); s != "" && !validDNSServer(s) {
		return apierr.Invalid("dns_server", "%q: want HOST or HOST:PORT (an IPv6 address with a port in brackets)", clipText(s))
	}
	spec.DnsServer = in.GetDnsServer()
	if rt := strings.ToUpper(in.GetDnsRecordType()); rt != "" {
		if !slices.Contains(recordTypes, rt) {
			return apierr.Invalid("dns_record_type", "%q: want one of %s", clipText(in.GetDnsRecordType()), strings.Join(recordTypes, ", "))
		}
		spec.DnsRecordType = rt
	}
	if in.GetPingCount() > MaxCheckPingCount {
		return apierr.Invalid("ping_count", "%d: at most %d", in.GetPingCount(), MaxCheckPingCount)
	}
	spec.PingCount = in.GetPingCount()
	return nil
}

// checkVantages checks the vantage list: the controller or agents of the
// tenant that are not revoked.
func checkVantages(tx store.Tx, tenant string, in []string) ([]string, error) {
	if len(in) > MaxCheckVantages {
		return nil, apierr.Invalid("vantages", "%d vantages, at most %d", len(in), MaxCheckVantages)
	}
	var out []string
	for _, v := range in {
		v = strings.TrimSpace(v)
		if slices.Contains(out, v) {
			return nil, apierr.Invalid("vantages", "%q is listed twice", clipText(v))
		}
		if v != checker.VantageController {
			id, ok := strings.CutPrefix(v, checker.AgentVantagePrefix)
			if !ok || id == "" {
				return nil, apierr.Invalid("vantages", "%q: want controller or agent:AGENT-ID", clipText(v))
			}
			a, err := schema.GetAgent(tx, id)
			if errors.Is(err, store.ErrNotFound) || (err == nil && a.GetTenant() != tenant) {
				return nil, apierr.Invalid("vantages", "no agent %q in tenant %q (see vigilctl agents list --tenant %s)", clipText(id), tenant, tenant)
			}
			if err != nil {
				return nil, err
			}
			if a.GetRevoked() {
				return nil, apierr.Invalid("vantages", "agent %q is revoked", id)
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// checkContacts checks that every contact exists in the tenant.
func checkContacts(tx store.Tx, tenant string, in []string) ([]string, error) {
	if len(in) > MaxCheckContacts {
		return nil, apierr.Invalid("contacts", "%d contacts, at most %d", len(in), MaxCheckContacts)
	}
	var out []string
	for _, id := range in {
		id = strings.TrimSpace(id)
		if slices.Contains(out, id) {
			continue
		}
		c, err := schema.GetContact(tx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && c.GetTenant() != tenant) {
			return nil, apierr.Invalid("contacts", "no contact %q in tenant %q (see vigilctl contact list --tenant %s)", clipText(id), tenant, tenant)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}

// clipText keeps echoed input short in error messages.
func clipText(s string) string {
	if len(s) <= 100 {
		return s
	}
	cut := 100
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func (s *Server) checkMax() int {
	if s.cfg.Checks.MaxPerTenant > 0 {
		return s.cfg.Checks.MaxPerTenant
	}
	return DefaultMaxChecks
}

func (s *Server) checkRetention() time.Duration {
	if s.cfg.Checks.Retention > 0 {
		return s.cfg.Checks.Retention
	}
	return checker.DefaultRetention
}

// reloadCheck tells the runner a check changed. The change is committed;
// a runner that fails to pick it up does so at the next start, so the
// error is logged, not returned.
func (s *Server) reloadCheck(ctx context.Context, id string) {
	if s.cfg.Checks.Runner == nil {
		return
	}
	if err := s.cfg.Checks.Runner.Reload(ctx, id); err != nil {
		s.cfg.Logger.ErrorContext(ctx, "reload check", "check", id, "err", err)
	}
}

// CreateNetCheck implements managev1.CheckServiceServer.
func (s *Server) CreateNetCheck(ctx context.Context, req *managev1.CreateNetCheckRequest) (*managev1.NetCheck, error) {
	id, err := auth.NewID("ck")
	if err != nil {
		return nil, err
	}
	p := auth.PrincipalFrom(ctx)
	c := &storev1.Check{Id: id, Tenant: req.GetTenant(), CreatedUnix: s.cfg.Now().Unix(), CreatedBy: p.GetName()}
	err = s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := schema.GetTenant(tx, req.GetTenant()); errors.Is(err, store.ErrNotFound) {
			return apierr.NotFound("tenant", req.GetTenant())
		} else if err != nil {
			return err
		}
		if err := buildCheck(tx, req.GetTenant(), req.GetCheck(), c); err != nil {
			return err
		}
		counts, err := schema.CountChecks(tx)
		if err != nil {
			return err
		}
		if counts[c.Tenant] >= s.checkMax() {
			return apierr.Invalid("tenant", "%q has %d checks, the limit; delete one first", c.Tenant, counts[c.Tenant])
		}
		return schema.PutCheck(tx, c)
	})
	if err != nil {
		return nil, err
	}
	s.cfg.Logger.InfoContext(ctx, "check created", "check", c.Id, "tenant", c.Tenant, "type", c.GetSpec().GetType().String(), "by", p.GetName())
	s.reloadCheck(ctx, c.Id)
	return s.netCheck(ctx, c.Id)
}

// UpdateNetCheck implements managev1.CheckServiceServer.
func (s *Server) UpdateNetCheck(ctx context.Context, req *managev1.UpdateNetCheckRequest) (*managev1.NetCheck, error) {
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		c, err := schema.GetCheck(tx, req.GetId())
		if errors.Is(err, store.ErrNotFound) {
			return apierr.NotFound("check", req.GetId())
		} else if err != nil {
			return err
		}
		if err := buildCheck(tx, c.GetTenant(), req.GetCheck(), c); err != nil {
			return err
		}
		return schema.PutCheck(tx, c)
	})
	if err != nil {
		return nil, err
	}
	s.cfg.Logger.InfoContext(ctx, "check updated", "check", req.GetId(), "by", auth.PrincipalFrom(ctx).GetName())
	s.reloadCheck(ctx, req.GetId())
	return s.netCheck(ctx, req.GetId())
}

// DeleteNetCheck implements managev1.CheckServiceServer.
func (s *Server) DeleteNetCheck(ctx context.Context, req *managev1.DeleteNetCheckRequest) (*managev1.DeleteNetCheckResponse, error) {
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := schema.GetCheck(tx, req.GetId()); errors.Is(err, store.ErrNotFound) {
			return apierr.NotFound("check", req.GetId())
		} else if err != nil {
			return err
		}
		return schema.DeleteCheck(tx, req.GetId())
	})
	if err != nil {
		return nil, err
	}
	s.cfg.Logger.InfoContext(ctx, "check deleted", "check", req.GetId(), "by", auth.PrincipalFrom(ctx).GetName())
	s.reloadCheck(ctx, req.GetId())
	return &managev1.DeleteNetCheckResponse{Id: req.GetId()}, nil
}

// setPaused writes a check's paused flag.
func (s *Server) setPaused(ctx context.Context, id string, paused bool) error {
	return s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		c, err := schema.GetCheck(tx, id)
		if errors.Is(err, store.ErrNotFound) {
			return apierr.NotFound("check", id)
		} else if err != nil {
			return err
		}
		if c.GetPaused() == paused {
			return nil
		}
		c.Paused = paused
		return schema.PutCheck(tx, c)
	})
}

// PauseNetCheck implements managev1.CheckServiceServer.
func (s *Server) PauseNetCheck(ctx context.Context, req *managev1.PauseNetCheckRequest) (*managev1.NetCheck, error) {
	if err := s.setPaused(ctx, req.GetId(), true); err != nil {
		return nil, err
	}
	s.cfg.Logger.InfoContext(ctx, "check paused", "check", req.GetId(), "by", auth.PrincipalFrom(ctx).GetName())
	s.reloadCheck(ctx, req.GetId())
	return s.netCheck(ctx, req.GetId())
}

// ResumeNetCheck implements managev1.CheckServiceServer.
func (s *Server) ResumeNetCheck(ctx context.Context, req *managev1.ResumeNetCheckRequest) (*managev1.NetCheck, error) {
	if err := s.setPaused(ctx, req.GetId(), false); err != nil {
		return nil, err
	}
	by := auth.PrincipalFrom(ctx).GetName()
	resumed := 0
	if r := s.cfg.Checks.Runner; r != nil {
		var err error
		resumed, err = r.Resume(ctx, req.GetId(), by)
		if errors.Is(err, checker.ErrDeleted) {
			return nil, apierr.NotFound("check", req.GetId())
		}
		if err != nil {
			return nil, fmt.Errorf("resume check %s: %w", req.GetId(), err)
		}
	}
	s.cfg.Logger.InfoContext(ctx, "check resumed", "check", req.GetId(), "by", by, "vantages_resumed", resumed)
	return s.netCheck(ctx, req.GetId())
}

// netCheck loads one check and its state.
func (s *Server) netCheck(ctx context.Context, id string) (*managev1.NetCheck, error) {
	var (
		c  *storev1.Check
		st *storev1.CheckState
	)
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if c, err = schema.GetCheck(tx, id); errors.Is(err, store.ErrNotFound) {
			return apierr.NotFound("check", id)
		} else if err != nil {
			return err
		}
		if st, err = schema.GetCheckState(tx, id); errors.Is(err, store.ErrNotFound) {
			st, err = nil, nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.netCheckProto(c, st), nil
}

// netCheckProto is a check as the API shows it.
func (s *Server) netCheckProto(c *storev1.Check, st *storev1.CheckState) *managev1.NetCheck {
	out := &managev1.NetCheck{Id: c.GetId(), Tenant: c.GetTenant(), Name: c.GetName(), Spec: c.GetSpec(),
		IntervalSeconds: c.GetIntervalSeconds(), Vantages: c.GetVantages(), Contacts: c.GetContacts(), Paused: c.GetPaused(),
		CreatedUnix: c.GetCreatedUnix(), CreatedBy: c.GetCreatedBy(),
		RetentionDays: uint32(checker.RetentionOf(c, s.checkRetention()) / (24 * time.Hour)), LastRunUnixMs: st.GetLastRunUnixMs(), OwnRetentionDays: c.GetRetentionDays()}
	if len(out.Vantages) == 0 {
		out.Vantages = []string{checker.VantageController}
	}
	persisted := map[string]*storev1.VantageState{}
	for _, v := range st.GetVantages() {
		persisted[v.GetVantage()] = v
	}
	for _, name := range out.Vantages {
		v := persisted[name]
		nv := &managev1.NetCheckVantage{Vantage: name, State: "unknown"}
		if v != nil {
			nv = &managev1.NetCheckVantage{Vantage: name, State: v.GetState(), Suspended: v.GetSuspended(), SuspendedUnixMs: v.GetSuspendedUnixMs(),
				SinceUnixMs: v.GetSinceUnixMs(), LastStatus: v.GetLastStatus(), LastUnixMs: v.GetLastUnixMs(), LastDetail: v.GetLastDetail(),
				ConsecutiveErrors: uint32(len(v.GetErrs())), Pending: uint32(len(v.GetPending())),
				UnavailableSinceUnixMs: v.GetUnavailableSinceUnixMs(), UnavailableReason: v.GetUnavailableReason()}
			if nv.State == "" {
				nv.State = "unknown"
			}
		}
		out.VantageStates = append(out.VantageStates, nv)
	}
	out.State = overallState(c, out.VantageStates)
	interval := time.Duration(c.GetIntervalSeconds()) * time.Second
	stretch := check.Stretch{Interval: interval, Effective: time.Duration(st.GetEffectiveIntervalMs()) * time.Millisecond,
		Late: time.Duration(st.GetLateMs()) * time.Millisecond}
	if r := s.cfg.Checks.Runner; r != nil {
		if live, ok := r.Stretch(c.GetId()); ok {
			stretch = live
		}
	}
	out.Stretch = &managev1.NetCheckStretch{EffectiveMs: stretch.Effective.Milliseconds(), Ratio: stretch.Ratio(),
		LateMs: stretch.Late.Milliseconds(), Behind: stretch.Effective > interval}
	return out
}

// overallState sums the vantages up: paused, suspended (every vantage),
// down (any vantage that runs sees it down), up, or unknown.
func overallState(c *storev1.Check, vs []*managev1.NetCheckVantage) string {
	if c.GetPaused() {
		return "paused"
	}
	suspended, down, up := 0, 0, 0
	for _, v := range vs {
		switch {
		case v.GetSuspended():
			suspended++
		case v.GetState() == "down":
			down++
		case v.GetState() == "up":
			up++
		}
	}
	switch {
	case suspended == len(vs) && suspended > 0:
		return "suspended"
	case down > 0:
		return "down"
	case up > 0:
		return "up"
	}
	return "unknown"
}

var checkStates = []string{"down", "up", "suspended", "unknown", "paused"}

// ListNetChecks implements managev1.CheckServiceServer.
func (s *Server) ListNetChecks(ctx context.Context, req *managev1.ListNetChecksRequest) (*managev1.ListNetChecksResponse, error) {
	if req.GetState() != "" && !slices.Contains(checkStates, req.GetState()) {
		return nil, apierr.Invalid("state", "%q: want one of %s", clipText(req.GetState()), strings.Join(checkStates, ", "))
	}
	p := auth.PrincipalFrom(ctx)
	out := &managev1.ListNetChecksResponse{}
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		if req.GetTenant() != "" {
			if _, err := schema.GetTenant(tx, req.GetTenant()); errors.Is(err, store.ErrNotFound) {
				return apierr.NotFound("tenant", req.GetTenant())
			}
		}
		cs, err := schema.ListChecks(tx)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if (req.GetTenant() != "" && c.GetTenant() != req.GetTenant()) || !auth.CanSeeTenant(p, c.GetTenant()) {
				continue
			}
			st, err := schema.GetCheckState(tx, c.GetId())
			if errors.Is(err, store.ErrNotFound) {
				st = nil
			} else if err != nil {
				return err
			}
			nc := s.netCheckProto(c, st)
			if req.GetState() == "" || nc.GetState() == req.GetState() {
				out.Checks = append(out.Checks, nc)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out.Checks, func(a, b *managev1.NetCheck) int {
		if a.Tenant != b.Tenant {
			return strings.Compare(a.Tenant, b.Tenant)
		}
		return strings.Compare(a.Name, b.Name)
	})
	if r := s.cfg.Checks.Runner; r != nil {
		out.Backlog, out.Workers = uint32(r.Backlog()), uint32(r.Workers())
	}
	return out, nil
}

// GetNetCheck implements managev1.CheckServiceServer.
func (s *Server) GetNetCheck(ctx context.Context, req *managev1.GetNetCheckRequest) (*managev1.NetCheckDetail, error) {
	nc, err := s.netCheck(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	out := &managev1.NetCheckDetail{Check: nc}
	// The latest results are within a few intervals of now; reading from
	// there keeps the call short however long the history is.
	interval := time.Duration(nc.GetIntervalSeconds()) * time.Second
	since := s.cfg.Now().Add(-max(12*interval, 2*time.Hour))
	if last := nc.GetLastRunUnixMs(); last > 0 && time.UnixMilli(last).Before(since) {
		since = time.UnixMilli(last).Add(-12 * interval)
	}
	err = s.cfg.Store.View(ctx, func(tx store.Tx) error {
		return schema.VisitCheckResults(tx, req.GetId(), since.Unix(), func(r *storev1.CheckResultRecord) error {
			out.Recent = append(out.Recent, netCheckResult(r))
			if len(out.Recent) > 4*recentResults {
				out.Recent = slices.Clone(out.Recent[len(out.Recent)-recentResults:])
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if len(out.Recent) > recentResults {
		out.Recent = out.Recent[len(out.Recent)-recentResults:]
	}
	return out, nil
}

func netCheckResult(r *storev1.CheckResultRecord) *managev1.NetCheckResult {
	return &managev1.NetCheckResult{Vantage: r.GetVantage(), Status: r.GetStatus(), StartUnixMs: r.GetStartUnixMs(),
		LatencyUs: r.GetLatencyUs(), Detail: r.GetDetail(), CertDaysLeft: r.GetCertDaysLeft(), HasCertDays: r.GetHasCertDays()}
}

// ListNetCheckHistory implements managev1.CheckServiceServer.
func (s *Server) ListNetCheckHistory(ctx context.Context, req *managev1.ListNetCheckHistoryRequest) (*managev1.ListNetCheckHistoryResponse, error) {
	if v := req.GetVantage(); v != "" && v != checker.VantageController && (!strings.HasPrefix(v, checker.AgentVantagePrefix) || len(v) > 100) {
		return nil, apierr.Invalid("vantage", "%q: want controller or agent:AGENT-ID", clipText(v))
	}
	limit := int(req.GetLimit())
	if limit <= 0 || limit > MaxHistoryRows {
		limit = MaxHistoryRows
	}
	out := &managev1.ListNetCheckHistoryResponse{Check: req.GetId()}
	var tally checker.Tally
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		c, err := schema.GetCheck(tx, req.GetId())
		if errors.Is(err, store.ErrNotFound) {
			return apierr.NotFound("check", req.GetId())
		} else if err != nil {
			return err
		}
		since := req.GetSinceUnix()
		if floor := s.cfg.Now().Add(-checker.RetentionOf(c, s.checkRetention())).Unix(); since < floor {
			since = floor
		}
		out.SinceUnix = since
		var ring []*storev1.CheckResultRecord
		err = schema.VisitCheckResults(tx, c.GetId(), since, func(r *storev1.CheckResultRecord) error {
			if req.GetVantage() != "" && r.GetVantage() != req.GetVantage() {
				return nil
			}
			tally.Add(r)
			ring = append(ring, r)
			// Keep the latest limit results without holding every one.
			if len(ring) >= 2*limit {
				ring = slices.Clone(ring[len(ring)-limit:])
				out.Truncated = true
			}
			return nil
		})
		if len(ring) > limit {
			ring, out.Truncated = ring[len(ring)-limit:], true
		}
		for _, r := range ring {
			out.Results = append(out.Results, netCheckResult(r))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, d := range tally.Days() {
		u, ok := d.Uptime()
		out.Days = append(out.Days, &managev1.NetCheckDay{Date: d.Date, Vantage: d.Vantage, UptimePercent: u, HasUptime: ok,
			Ok: uint32(d.OK), Ng: uint32(d.NG), Wr: uint32(d.WR), Err: uint32(d.ERR)})
	}
	return out, nil
}
