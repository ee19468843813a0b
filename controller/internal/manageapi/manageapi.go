// Package manageapi serves vigil.manage.v1.ManageService, what vigilctl and
// the console call. Authorization happens in one interceptor driven by the
// Rules table (authz.go); handlers additionally filter lists by the
// caller's tenant scope.
package manageapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/vigil-rmm/vigil/controller/internal/apierr"
	"github.com/vigil-rmm/vigil/controller/internal/auth"
	"github.com/vigil-rmm/vigil/controller/internal/fleet"
	"github.com/vigil-rmm/vigil/controller/internal/metrics"
	"github.com/vigil-rmm/vigil/controller/internal/rescan"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	"github.com/vigil-rmm/vigil/controller/internal/tasks"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// MetricsReader reads stored samples.
type MetricsReader interface {
	Query(ctx context.Context, agentID string, from, to time.Time, limit int) ([]metrics.Sample, bool, error)
	Latest(ctx context.Context, agentID string) (metrics.Sample, bool, error)
}

// Presence answers who is online, closes streams and sends requests down
// them.
type Presence interface {
	Online(agentID string) (bool, int64)
	Kick(agentID string, cause error) bool
	Send(agentID, capability string, m *agentv1.ControllerMessage) error
	Capabilities(agentID string) ([]string, bool)
}

// Config wires the server.
type Config struct {
	Store   store.Store
	Metrics MetricsReader
	Fleet   Presence
	// Scans matches rescan requests with their results; nil makes
	// RescanAgent unavailable.
	Scans *rescan.Registry
	// Tasks cancels tasks and tells their agents; nil cancels in the store
	// only (the agent is told when the engine next runs).
	Tasks TaskCanceller
	// Alerts, Checks, Notify and Report are what the alerting services
	// need; each type is declared next to its handlers (alerts.go,
	// checks.go, notify.go, report.go).
	Alerts AlertDeps
	Checks CheckDeps
	Notify NotifyDeps
	Report ReportDeps
	Logger *slog.Logger
	Now    func() time.Time
}

// Server implements managev1.ManageServiceServer.
type Server struct {
	managev1.UnimplementedManageServiceServer
	managev1.UnimplementedAlertServiceServer
	managev1.UnimplementedCheckServiceServer
	managev1.UnimplementedNotifyServiceServer
	managev1.UnimplementedReportServiceServer
	cfg Config
}

var (
	_ managev1.ManageServiceServer = (*Server)(nil)
	_ managev1.AlertServiceServer  = (*Server)(nil)
	_ managev1.CheckServiceServer  = (*Server)(nil)
	_ managev1.NotifyServiceServer = (*Server)(nil)
	_ managev1.ReportServiceServer = (*Server)(nil)
)

// Register serves every service of the API listener on g.
func (s *Server) Register(g grpc.ServiceRegistrar) {
	managev1.RegisterManageServiceServer(g, s)
	managev1.RegisterAlertServiceServer(g, s)
	managev1.RegisterCheckServiceServer(g, s)
	managev1.RegisterNotifyServiceServer(g, s)
	managev1.RegisterReportServiceServer(g, s)
}

// New returns a server.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Logger = cfg.Logger.With("component", "manageapi")
	return &Server{cfg: cfg}
}

var (
	slugRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)
)

// Limits on request values.
const (
	MinTokenTTL   = time.Minute
	MaxTokenTTL   = 30 * 24 * time.Hour
	MaxTokenUses  = 100000
	MaxSamples    = 10000
	maxTenantName = 128
)

func principalProto(p *storev1.Principal) *managev1.Principal {
	return &managev1.Principal{Id: p.GetId(), Name: p.GetName(), Role: auth.Role(p.GetRole()).Proto(),
		Tenant: p.GetTenant(), CreatedUnix: p.GetCreatedUnix(), RevokedUnix: p.GetRevokedUnix()}
}

func tenantProto(t *storev1.Tenant) *managev1.Tenant {
	return &managev1.Tenant{Id: t.GetId(), Name: t.GetName(), Timezone: t.GetTimezone(), CreatedUnix: t.GetCreatedUnix()}
}

// WhoAmI implements managev1.ManageServiceServer.
func (s *Server) WhoAmI(ctx context.Context, _ *managev1.WhoAmIRequest) (*managev1.Principal, error) {
	return principalProto(auth.PrincipalFrom(ctx)), nil
}

// CreateTenant implements managev1.ManageServiceServer.
func (s *Server) CreateTenant(ctx context.Context, req *managev1.CreateTenantRequest) (*managev1.Tenant, error) {
	if !slugRE.MatchString(req.GetId()) {
		return nil, apierr.Invalid("id", "%q: use 1-63 lower-case letters, digits and dashes, starting and ending with a letter or digit", req.GetId())
	}
	name := strings.TrimSpace(req.GetName())
	if name == "" {
		name = req.GetId()
	}
	if len(name) > maxTenantName {
		return nil, apierr.Invalid("name", "%d bytes, limit %d", len(name), maxTenantName)
	}
	tz := req.GetTimezone()
	if tz == "" {
		tz = "UTC"
	}
	if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
		return nil, apierr.Invalid("timezone", "%q is not an IANA time zone name such as Europe/Paris", tz)
	}
	t := &storev1.Tenant{Id: req.GetId(), Name: name, Timezone: tz, CreatedUnix: s.cfg.Now().Unix()}
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := schema.GetTenant(tx, t.Id); err == nil {
			return fmt.Errorf("%w: tenant %q", apierr.ErrExists, t.Id)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := schema.PutTenant(tx, t); err != nil {
			return err
		}
		return SeedAlertRules(tx, t.Id, time.Unix(t.CreatedUnix, 0))
	})
	if err != nil {
		return nil, err
	}
	s.cfg.Logger.InfoContext(ctx, "tenant created", "tenant", t.Id, "by", auth.PrincipalFrom(ctx).GetName())
	return tenantProto(t), nil
}

// GetTenant implements managev1.ManageServiceServer.
func (s *Server) GetTenant(ctx context.Context, req *managev1.GetTenantRequest) (*managev1.Tenant, error) {
	var t *storev1.Tenant
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		t, err = schema.GetTenant(tx, req.GetId())
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, apierr.NotFound("tenant", req.GetId())
	}
	if err != nil {
		return nil, err
	}
	return tenantProto(t), nil
}

// ListTenants implements managev1.ManageServiceServer.
func (s *Server) ListTenants(ctx context.Context, _ *managev1.ListTenantsRequest) (*managev1.ListTenantsResponse, error) {
	p := auth.PrincipalFrom(ctx)
	var ts []*storev1.Tenant
	if err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		ts, err = schema.ListTenants(tx)
		return err
	}); err != nil {
		return nil, err
	}
	out := &managev1.ListTenantsResponse{}
	for _, t := range ts {
		if auth.CanSeeTenant(p, t.GetId()) {
			out.Tenants = append(out.Tenants, tenantProto(t))
		}
	}
	return out, nil
}

// CreateEnrollToken implements managev1.ManageServiceServer.
func (s *Server) CreateEnrollToken(ctx context.Context, req *managev1.CreateEnrollTokenRequest) (*managev1.CreateEnrollTokenResponse, error) {
	ttl := time.Duration(req.GetTtlSeconds()) * time.Second
	if ttl < MinTokenTTL || ttl > MaxTokenTTL {
		return nil, apierr.Invalid("ttl", "%s: want between %s and %s", ttl, MinTokenTTL, MaxTokenTTL)
	}
	if req.GetUses() < 1 || req.GetUses() > MaxTokenUses {
		return nil, apierr.Invalid("uses", "%d: want 1 to %d", req.GetUses(), MaxTokenUses)
	}
	secret, hash, err := auth.NewSecret(auth.EnrollTokenPrefix)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	tok := &storev1.EnrollToken{Id: hash[:12], Tenant: req.GetTenant(), ExpiresUnix: now.Add(ttl).Unix(), Uses: req.GetUses(),
		CreatedBy: auth.PrincipalFrom(ctx).GetId(), CreatedUnix: now.Unix()}
	err = s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := schema.GetTenant(tx, req.GetTenant()); errors.Is(err, store.ErrNotFound) {
			return apierr.NotFound("tenant", req.GetTenant())
		} else if err != nil {
			return err
		}
		return schema.PutEnrollToken(tx, hash, tok)
	})
	if err != nil {
		return nil, err
	}
	s.cfg.Logger.InfoContext(ctx, "enrollment token created", "token_id", tok.Id, "tenant", tok.Tenant,
		"uses", tok.Uses, "expires", time.Unix(tok.ExpiresUnix, 0).UTC(), "by", auth.PrincipalFrom(ctx).GetName())
	return &managev1.CreateEnrollTokenResponse{Token: secret, Info: tokenProto(tok)}, nil
}

func tokenProto(t *storev1.EnrollToken) *managev1.EnrollToken {
	return &managev1.EnrollToken{Id: t.GetId(), Tenant: t.GetTenant(), ExpiresUnix: t.GetExpiresUnix(), Uses: t.GetUses(),
		Used: t.GetUsed(), CreatedBy: t.GetCreatedBy(), CreatedUnix: t.GetCreatedUnix()}
}

// ListEnrollTokens implements managev1.ManageServiceServer.
func (s *Server) ListEnrollTokens(ctx context.Context, req *managev1.ListEnrollTokensRequest) (*managev1.ListEnrollTokensResponse, error) {
	var ts []*storev1.EnrollToken
	if err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		ts, err = schema.ListEnrollTokens(tx)
		return err
	}); err != nil {
		return nil, err
	}
	p := auth.PrincipalFrom(ctx)
	out := &managev1.ListEnrollTokensResponse{}
	for _, t := range ts {
		if (req.GetTenant() == "" || t.GetTenant() == req.GetTenant()) && auth.CanSeeTenant(p, t.GetTenant()) {
			out.Tokens = append(out.Tokens, tokenProto(t))
		}
	}
	sort.Slice(out.Tokens, func(i, j int) bool { return out.Tokens[i].CreatedUnix > out.Tokens[j].CreatedUnix })
	return out, nil
}

func (s *Server) agentProto(a *storev1.Agent, committed uint64, flushed int64) *managev1.Agent {
	online, seen := s.cfg.Fleet.Online(a.GetId())
	if seen == 0 {
		seen = flushed
	}
	return &managev1.Agent{
		Id: a.GetId(), Tenant: a.GetTenant(), Hostname: a.GetHostname(), Os: a.GetFacts().GetOs(),
		AgentVersion: a.GetAgentVersion(), Online: online, LastSeenUnix: seen, EnrolledUnix: a.GetEnrolledUnix(),
		Revoked: a.GetRevoked(), RevokedUnix: a.GetRevokedUnix(), DroppedMetrics: a.GetDroppedMetrics(), CommittedSeq: committed,
		Tier: a.GetTier(),
	}
}

// ListAgents implements managev1.ManageServiceServer.
func (s *Server) ListAgents(ctx context.Context, req *managev1.ListAgentsRequest) (*managev1.ListAgentsResponse, error) {
	p := auth.PrincipalFrom(ctx)
	out := &managev1.ListAgentsResponse{}
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		if req.GetTenant() != "" {
			if _, err := schema.GetTenant(tx, req.GetTenant()); errors.Is(err, store.ErrNotFound) {
				return apierr.NotFound("tenant", req.GetTenant())
			}
		}
		as, err := schema.ListAgents(tx)
		if err != nil {
			return err
		}
		seen, err := schema.AllLastSeen(tx)
		if err != nil {
			return err
		}
		for _, a := range as {
			if (req.GetTenant() != "" && a.GetTenant() != req.GetTenant()) || !auth.CanSeeTenant(p, a.GetTenant()) {
				continue
			}
			seq, err := schema.CommittedSeq(tx, a.GetId())
			if err != nil {
				return err
			}
			out.Agents = append(out.Agents, s.agentProto(a, seq, seen[a.GetId()]))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out.Agents, func(i, j int) bool {
		a, b := out.Agents[i], out.Agents[j]
		if a.Tenant != b.Tenant {
			return a.Tenant < b.Tenant
		}
		return a.Hostname < b.Hostname
	})
	return out, nil
}

func (s *Server) loadAgent(ctx context.Context, id string) (*storev1.Agent, uint64, int64, error) {
	var (
		a    *storev1.Agent
		seq  uint64
		seen int64
	)
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if a, err = schema.GetAgent(tx, id); err != nil {
			return err
		}
		if seq, err = schema.CommittedSeq(tx, id); err != nil {
			return err
		}
		seen, err = schema.LastSeen(tx, id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, 0, apierr.NotFound("agent", id)
	}
	return a, seq, seen, err
}

// GetAgent implements managev1.ManageServiceServer.
func (s *Server) GetAgent(ctx context.Context, req *managev1.GetAgentRequest) (*managev1.AgentDetail, error) {
	a, seq, seen, err := s.loadAgent(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	out := &managev1.AgentDetail{Agent: s.agentProto(a, seq, seen), Facts: a.GetFacts()}
	latest, ok, err := s.cfg.Metrics.Latest(ctx, a.GetId())
	if err != nil {
		return nil, err
	}
	if ok {
		out.Latest = &managev1.MetricSample{TimeUnixMs: latest.TimeMS, Seq: latest.Seq, Metrics: latest.Metrics}
	}
	return out, nil
}

// RevokeAgent implements managev1.ManageServiceServer.
func (s *Server) RevokeAgent(ctx context.Context, req *managev1.RevokeAgentRequest) (*managev1.Agent, error) {
	if len(req.GetReason()) > 512 {
		return nil, apierr.Invalid("reason", "%d bytes, limit 512", len(req.GetReason()))
	}
	var (
		a       *storev1.Agent
		seq     uint64
		already bool
	)
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		if a, err = schema.GetAgent(tx, req.GetId()); errors.Is(err, store.ErrNotFound) {
			return apierr.NotFound("agent", req.GetId())
		} else if err != nil {
			return err
		}
		if seq, err = schema.CommittedSeq(tx, a.Id); err != nil {
			return err
		}
		if already = a.Revoked; already {
			return nil
		}
		a.Revoked, a.RevokedUnix, a.RevokedReason = true, s.cfg.Now().Unix(), req.GetReason()
		return schema.PutAgent(tx, a)
	})
	if err != nil {
		return nil, err
	}
	// Committed first, then the stream closes: a reconnect can only see the
	// revoked record.
	s.cfg.Fleet.Kick(a.Id, fleet.ErrRevoked)
	if !already {
		s.cfg.Logger.InfoContext(ctx, "agent revoked", "agent_id", a.Id, "by", auth.PrincipalFrom(ctx).GetName())
	}
	return s.agentProto(a, seq, 0), nil
}

// QueryMetrics implements managev1.ManageServiceServer.
func (s *Server) QueryMetrics(ctx context.Context, req *managev1.QueryMetricsRequest) (*managev1.QueryMetricsResponse, error) {
	if _, _, _, err := s.loadAgent(ctx, req.GetAgentId()); err != nil {
		return nil, err
	}
	until := time.UnixMilli(req.GetUntilUnixMs())
	if req.GetUntilUnixMs() == 0 {
		until = s.cfg.Now().Add(time.Minute)
	}
	since := time.UnixMilli(req.GetSinceUnixMs())
	if !since.Before(until) {
		return nil, apierr.Invalid("since", "must be before until")
	}
	limit := int(req.GetLimit())
	if limit <= 0 || limit > MaxSamples {
		limit = MaxSamples
	}
	samples, truncated, err := s.cfg.Metrics.Query(ctx, req.GetAgentId(), since, until, limit)
	if err != nil {
		return nil, err
	}
	out := &managev1.QueryMetricsResponse{Truncated: truncated}
	for _, sm := range samples {
		out.Samples = append(out.Samples, &managev1.MetricSample{TimeUnixMs: sm.TimeMS, Seq: sm.Seq, Metrics: sm.Metrics})
	}
	return out, nil
}

// CreatePrincipal implements managev1.ManageServiceServer.
func (s *Server) CreatePrincipal(ctx context.Context, req *managev1.CreatePrincipalRequest) (*managev1.CreatePrincipalResponse, error) {
	if !nameRE.MatchString(req.GetName()) {
		return nil, apierr.Invalid("name", "%q: use 1-64 letters, digits, '.', '_', '@' or '-'", req.GetName())
	}
	role, err := auth.RoleFromProto(req.GetRole())
	if err != nil {
		return nil, apierr.Invalid("role", "%v", err)
	}
	if role.TenantScoped() && req.GetTenant() == "" {
		return nil, apierr.Invalid("tenant", "required for role %s", role)
	}
	if !role.TenantScoped() && req.GetTenant() != "" {
		return nil, apierr.Invalid("tenant", "role %s is not tenant-scoped; omit --tenant", role)
	}
	p, token, err := NewPrincipal(req.GetName(), role, req.GetTenant(), s.cfg.Now())
	if err != nil {
		return nil, err
	}
	err = s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		if p.Tenant != "" {
			if _, err := schema.GetTenant(tx, p.Tenant); errors.Is(err, store.ErrNotFound) {
				return apierr.NotFound("tenant", p.Tenant)
			} else if err != nil {
				return err
			}
		}
		return schema.CreatePrincipal(tx, p)
	})
	if errors.Is(err, schema.ErrNameTaken) {
		return nil, fmt.Errorf("%w: principal %q", apierr.ErrExists, p.Name)
	}
	if err != nil {
		return nil, err
	}
	s.cfg.Logger.InfoContext(ctx, "principal created", "principal", p.Name, "role", p.Role, "tenant", p.Tenant,
		"by", auth.PrincipalFrom(ctx).GetName())
	return &managev1.CreatePrincipalResponse{Principal: principalProto(p), ApiToken: token}, nil
}

// NewPrincipal builds a principal record and its API token.
func NewPrincipal(name string, role auth.Role, tenant string, now time.Time) (*storev1.Principal, string, error) {
	id, err := auth.NewID("pr")
	if err != nil {
		return nil, "", err
	}
	token, hash, err := auth.NewSecret(auth.APITokenPrefix)
	if err != nil {
		return nil, "", err
	}
	return &storev1.Principal{Id: id, Name: name, Role: string(role), Tenant: tenant, TokenHash: hash, CreatedUnix: now.Unix()}, token, nil
}

// ListPrincipals implements managev1.ManageServiceServer.
func (s *Server) ListPrincipals(ctx context.Context, req *managev1.ListPrincipalsRequest) (*managev1.ListPrincipalsResponse, error) {
	p := auth.PrincipalFrom(ctx)
	var ps []*storev1.Principal
	if err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		ps, err = schema.ListPrincipals(tx)
		return err
	}); err != nil {
		return nil, err
	}
	out := &managev1.ListPrincipalsResponse{}
	for _, q := range ps {
		if req.GetTenant() != "" && q.GetTenant() != req.GetTenant() {
			continue
		}
		// Tenant-scoped callers see only their own tenant's principals.
		if auth.Role(p.GetRole()).TenantScoped() && q.GetTenant() != p.GetTenant() {
			continue
		}
		out.Principals = append(out.Principals, principalProto(q))
	}
	return out, nil
}

// RevokePrincipal implements managev1.ManageServiceServer.
func (s *Server) RevokePrincipal(ctx context.Context, req *managev1.RevokePrincipalRequest) (*managev1.Principal, error) {
	caller := auth.PrincipalFrom(ctx)
	if req.GetName() == caller.GetName() {
		return nil, apierr.Invalid("name", "%q is you; another admin must revoke it, so the installation always keeps one", req.GetName())
	}
	var (
		p         *storev1.Principal
		cancelled int
	)
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		p, err = schema.PrincipalByName(tx, req.GetName())
		if errors.Is(err, store.ErrNotFound) {
			return apierr.NotFound("principal", req.GetName())
		}
		if err != nil || p.GetRevokedUnix() != 0 {
			return err
		}
		if err := schema.RevokePrincipal(tx, p, s.cfg.Now().Unix()); err != nil {
			return err
		}
		cancelled, err = tasks.CancelCreatedBy(tx, p.GetName(), caller.GetName(), s.cfg.Now())
		return err
	})
	if err != nil {
		return nil, err
	}
	s.cfg.Logger.InfoContext(ctx, "principal revoked", "principal", p.GetName(), "by", caller.GetName(), "tasks_cancelled", cancelled)
	return principalProto(p), nil
}
