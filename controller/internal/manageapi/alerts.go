package manageapi

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/vigil-rmm/vigil/controller/internal/alert"
	"github.com/vigil-rmm/vigil/controller/internal/alerting"
	"github.com/vigil-rmm/vigil/controller/internal/apierr"
	"github.com/vigil-rmm/vigil/controller/internal/auth"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Limits on alert requests.
const (
	// MaxAlertRules bounds a tenant's rules.
	MaxAlertRules = 500
	// MaxMaintenance bounds how far ahead a maintenance may end.
	MaxMaintenance = 7 * 24 * time.Hour
	// maxAlertList bounds ListAlerts.
	maxAlertList = 5000
	// maxAlertNote bounds reasons and comments.
	maxAlertNote = 512
)

// alertRules authorizes the alert service's methods. A client approver
// may switch its own tenant's rules on and off and change them, not
// create or delete them; acknowledging and maintenance are approver
// actions too; viewers read.
var alertRules = map[string]Rule{
	managev1.AlertService_ListAlertRules_FullMethodName: {Roles: anyone,
		Target: byTenantField(func(r any) string { return r.(*managev1.ListAlertRulesRequest).GetTenant() })},
	managev1.AlertService_GetAlertRule_FullMethodName: {Roles: anyone,
		Target: byTenantField(func(r any) string { return r.(*managev1.GetAlertRuleRequest).GetTenant() })},
	managev1.AlertService_CreateAlertRule_FullMethodName: {Roles: msp,
		Target: byTenantField(func(r any) string { return r.(*managev1.CreateAlertRuleRequest).GetTenant() })},
	managev1.AlertService_UpdateAlertRule_FullMethodName: {Roles: approver,
		Target: byTenantField(func(r any) string { return r.(*managev1.UpdateAlertRuleRequest).GetTenant() })},
	managev1.AlertService_SetAlertRuleEnabled_FullMethodName: {Roles: approver,
		Target: byTenantField(func(r any) string { return r.(*managev1.SetAlertRuleEnabledRequest).GetTenant() })},
	managev1.AlertService_DeleteAlertRule_FullMethodName: {Roles: msp,
		Target: byTenantField(func(r any) string { return r.(*managev1.DeleteAlertRuleRequest).GetTenant() })},
	managev1.AlertService_ListAlerts_FullMethodName: {Roles: anyone,
		Target: byTenantField(func(r any) string { return r.(*managev1.ListAlertsRequest).GetTenant() })},
	managev1.AlertService_GetAlert_FullMethodName: {Roles: anyone,
		Target: alertTenant(func(r any) string { return r.(*managev1.GetAlertRequest).GetId() })},
	managev1.AlertService_AckAlert_FullMethodName: {Roles: approver,
		Target: alertTenant(func(r any) string { return r.(*managev1.AckAlertRequest).GetId() })},
	managev1.AlertService_StartMaintenance_FullMethodName: {Roles: approver,
		Target: byAgent(func(r any) string { return r.(*managev1.StartMaintenanceRequest).GetAgentId() })},
	managev1.AlertService_StopMaintenance_FullMethodName: {Roles: approver,
		Target: byAgent(func(r any) string { return r.(*managev1.StopMaintenanceRequest).GetAgentId() })},
	managev1.AlertService_ListMaintenance_FullMethodName: {Roles: anyone,
		Target: byTenantField(func(r any) string { return r.(*managev1.ListMaintenanceRequest).GetTenant() })},
}

// alertTenant resolves an alert id to its tenant.
func alertTenant(get func(req any) string) func(context.Context, store.Tx, any) (string, bool, error) {
	return byObject(schema.FindAlertRecord, get)
}

// AlertDeps is what the alert service's handlers need beyond the store.
type AlertDeps struct {
	// Nudge asks the alert engine to evaluate soon (after a rule change or
	// the end of a maintenance); nil does nothing.
	Nudge func()
}

func (s *Server) nudgeAlerts() {
	if s.cfg.Alerts.Nudge != nil {
		s.cfg.Alerts.Nudge()
	}
}

// SeedAlertRules writes a new tenant's default alert rules in tx;
// CreateTenant calls it in the transaction that creates the tenant.
func SeedAlertRules(tx store.Tx, tenant string, now time.Time) error {
	return alerting.SeedTenant(tx, tenant, now)
}

// ruleScope is the tenant a rule, alert or report request is about: the
// one it names, the caller's own for a tenant-scoped caller, or "" (any)
// for the MSP.
func ruleScope(ctx context.Context, tenant string) string {
	if p := auth.PrincipalFrom(ctx); tenant == "" && auth.Role(p.GetRole()).TenantScoped() {
		return p.GetTenant()
	}
	return tenant
}

// findRule resolves a rule id within scope; with no scope, the one
// tenant that has the id.
func findRule(ctx context.Context, tx store.Tx, tenant, id string) (*storev1.AlertRule, error) {
	tenant = ruleScope(ctx, tenant)
	if tenant != "" {
		r, err := schema.GetAlertRule(tx, tenant, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, apierr.NotFound("rule", id)
		}
		return r, err
	}
	ts, err := schema.ListTenants(tx)
	if err != nil {
		return nil, err
	}
	var found []*storev1.AlertRule
	var in []string
	for _, t := range ts {
		r, err := schema.GetAlertRule(tx, t.GetId(), id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		found, in = append(found, r), append(in, t.GetId())
	}
	switch len(found) {
	case 0:
		return nil, apierr.NotFound("rule", id)
	case 1:
		return found[0], nil
	}
	if len(in) > 5 {
		in = append(in[:5], "...")
	}
	return nil, apierr.Invalid("tenant", "rule %q exists in %d tenants (%s); name one with --tenant", id, len(found), strings.Join(in, ", "))
}

// ListAlertRules implements managev1.AlertServiceServer.
func (s *Server) ListAlertRules(ctx context.Context, req *managev1.ListAlertRulesRequest) (*managev1.ListAlertRulesResponse, error) {
	p := auth.PrincipalFrom(ctx)
	out := &managev1.ListAlertRulesResponse{}
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		if err := checkTenant(tx, req.GetTenant()); err != nil {
			return err
		}
		rules, err := schema.ListAlertRules(tx, req.GetTenant())
		if err != nil {
			return err
		}
		for _, r := range rules {
			if auth.CanSeeTenant(p, r.GetTenant()) {
				out.Rules = append(out.Rules, ruleView(r))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetAlertRule implements managev1.AlertServiceServer.
func (s *Server) GetAlertRule(ctx context.Context, req *managev1.GetAlertRuleRequest) (*managev1.AlertRuleView, error) {
	var r *storev1.AlertRule
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		r, err = findRule(ctx, tx, req.GetTenant(), req.GetId())
		return err
	})
	if err != nil {
		return nil, err
	}
	return ruleView(r), nil
}

// CreateAlertRule implements managev1.AlertServiceServer.
func (s *Server) CreateAlertRule(ctx context.Context, req *managev1.CreateAlertRuleRequest) (*managev1.AlertRuleView, error) {
	if req.GetTenant() == "" {
		return nil, apierr.Invalid("tenant", "required: the tenant the rule belongs to")
	}
	id := req.GetId()
	if id == "" {
		var err error
		if id, err = auth.NewID("ru"); err != nil {
			return nil, err
		}
	}
	p := auth.PrincipalFrom(ctx)
	now := s.cfg.Now()
	sr := specToStore(req.GetSpec())
	sr.Id, sr.Tenant, sr.CreatedUnix, sr.UpdatedUnix, sr.UpdatedBy = id, req.GetTenant(), now.Unix(), now.Unix(), p.GetName()
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		if err := checkTenant(tx, sr.Tenant); err != nil {
			return err
		}
		if _, err := schema.GetAlertRule(tx, sr.Tenant, id); err == nil {
			return fmt.Errorf("%w: rule %q in tenant %s", apierr.ErrExists, id, sr.Tenant)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if n, err := schema.CountAlertRules(tx, sr.Tenant); err != nil {
			return err
		} else if n >= MaxAlertRules {
			return apierr.Invalid("tenant", "%s has %d rules, the limit; delete or reuse one", sr.Tenant, n)
		}
		if err := checkRule(tx, sr, req.GetSpec()); err != nil {
			return err
		}
		return schema.PutAlertRule(tx, sr)
	})
	if err != nil {
		return nil, err
	}
	s.cfg.Logger.InfoContext(ctx, "alert rule created", "tenant", sr.Tenant, "rule", id, "kind", sr.Kind, "by", p.GetName())
	s.nudgeAlerts()
	return ruleView(sr), nil
}

// UpdateAlertRule implements managev1.AlertServiceServer.
func (s *Server) UpdateAlertRule(ctx context.Context, req *managev1.UpdateAlertRuleRequest) (*managev1.AlertRuleView, error) {
	if len(req.GetUpdateFields()) == 0 {
		return nil, apierr.Invalid("update_fields", "empty: name the fields to change")
	}
	p := auth.PrincipalFrom(ctx)
	var sr *storev1.AlertRule
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		cur, err := findRule(ctx, tx, req.GetTenant(), req.GetId())
		if err != nil {
			return err
		}
		spec := specOf(cur)
		if err := mergeSpec(spec, req.GetSpec(), req.GetUpdateFields()); err != nil {
			return err
		}
		sr = specToStore(spec)
		sr.Id, sr.Tenant, sr.CreatedUnix = cur.GetId(), cur.GetTenant(), cur.GetCreatedUnix()
		sr.UpdatedUnix, sr.UpdatedBy = s.cfg.Now().Unix(), p.GetName()
		if err := checkRule(tx, sr, spec); err != nil {
			return err
		}
		if cur.GetEnabled() && !sr.GetEnabled() {
			if _, err := alerting.CloseRule(tx, sr.GetTenant(), sr.GetId(), s.cfg.Now()); err != nil {
				return err
			}
		}
		return schema.PutAlertRule(tx, sr)
	})
	if err != nil {
		return nil, err
	}
	s.cfg.Logger.InfoContext(ctx, "alert rule updated", "tenant", sr.Tenant, "rule", sr.Id,
		"fields", strings.Join(req.GetUpdateFields(), ","), "by", p.GetName())
	s.nudgeAlerts()
	return ruleView(sr), nil
}

// SetAlertRuleEnabled implements managev1.AlertServiceServer.
func (s *Server) SetAlertRuleEnabled(ctx context.Context, req *managev1.SetAlertRuleEnabledRequest) (*managev1.AlertRuleView, error) {
	return s.UpdateAlertRule(ctx, &managev1.UpdateAlertRuleRequest{Tenant: req.GetTenant(), Id: req.GetId(),
		Spec: &managev1.AlertRuleSpec{Enabled: req.GetEnabled()}, UpdateFields: []string{"enabled"}})
}

// DeleteAlertRule implements managev1.AlertServiceServer.
func (s *Server) DeleteAlertRule(ctx context.Context, req *managev1.DeleteAlertRuleRequest) (*managev1.DeleteAlertRuleResponse, error) {
	out := &managev1.DeleteAlertRuleResponse{}
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		r, err := findRule(ctx, tx, req.GetTenant(), req.GetId())
		if err != nil {
			return err
		}
		closed, err := alerting.CloseRule(tx, r.GetTenant(), r.GetId(), s.cfg.Now())
		if err != nil {
			return err
		}
		out.Tenant, out.Id, out.Closed = r.GetTenant(), r.GetId(), int32(closed)
		return schema.DeleteAlertRule(tx, r.GetTenant(), r.GetId())
	})
	if err != nil {
		return nil, err
	}
	s.cfg.Logger.InfoContext(ctx, "alert rule deleted", "tenant", out.Tenant, "rule", out.Id, "by", auth.PrincipalFrom(ctx).GetName())
	return out, nil
}

// ListAlerts implements managev1.AlertServiceServer.
func (s *Server) ListAlerts(ctx context.Context, req *managev1.ListAlertsRequest) (*managev1.ListAlertsResponse, error) {
	if req.GetSinceUnix() != 0 {
		if err := s.checkSince(req.GetSinceUnix()); err != nil {
			return nil, err
		}
	}
	limit := int(req.GetLimit())
	if limit <= 0 || limit > maxAlertList {
		limit = maxAlertList
	}
	p := auth.PrincipalFrom(ctx)
	// A client principal sees only its tenant: read only that tenant's
	// records, not every tenant's to filter them afterwards.
	tenant := ruleScope(ctx, req.GetTenant())
	sinceMs := req.GetSinceUnix() * 1000
	newest := &alertHeap{limit: limit}
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		if err := checkTenant(tx, req.GetTenant()); err != nil {
			return err
		}
		return schema.VisitAlertRecords(tx, tenant, func(r *storev1.AlertRecord) error {
			open := r.GetEndUnixMs() == 0
			if !auth.CanSeeTenant(p, r.GetTenant()) || (req.GetOpenOnly() && !open) || (!open && r.GetEndUnixMs() < sinceMs) {
				return nil
			}
			newest.offer(r)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	out := &managev1.ListAlertsResponse{Truncated: newest.matched > limit}
	for _, r := range newest.sorted() {
		out.Alerts = append(out.Alerts, alertView(r))
	}
	return out, nil
}

// alertHeap keeps the newest limit alert records offered to it (latest
// start first, then id), so a list holds at most limit records however
// many it reads. Its root is the record that would be listed last.
type alertHeap struct {
	limit   int
	matched int
	recs    []*storev1.AlertRecord
}

// alertListedBefore is the list's order: latest start first, then id.
func alertListedBefore(a, b *storev1.AlertRecord) bool {
	if a.GetStartUnixMs() != b.GetStartUnixMs() {
		return a.GetStartUnixMs() > b.GetStartUnixMs()
	}
	return a.GetId() < b.GetId()
}

func (h *alertHeap) Len() int           { return len(h.recs) }
func (h *alertHeap) Less(i, j int) bool { return alertListedBefore(h.recs[j], h.recs[i]) }
func (h *alertHeap) Swap(i, j int)      { h.recs[i], h.recs[j] = h.recs[j], h.recs[i] }
func (h *alertHeap) Push(x any)         { h.recs = append(h.recs, x.(*storev1.AlertRecord)) }
func (h *alertHeap) Pop() any {
	last := h.recs[len(h.recs)-1]
	h.recs = h.recs[:len(h.recs)-1]
	return last
}

// offer counts r and keeps it if it is among the newest limit so far.
func (h *alertHeap) offer(r *storev1.AlertRecord) {
	h.matched++
	switch {
	case len(h.recs) < h.limit:
		heap.Push(h, r)
	case h.limit > 0 && alertListedBefore(r, h.recs[0]):
		h.recs[0] = r
		heap.Fix(h, 0)
	}
}

// sorted returns the kept records in list order.
func (h *alertHeap) sorted() []*storev1.AlertRecord {
	out := slices.Clone(h.recs)
	slices.SortFunc(out, func(a, b *storev1.AlertRecord) int {
		if alertListedBefore(a, b) {
			return -1
		}
		return 1
	})
	return out
}

// GetAlert implements managev1.AlertServiceServer.
func (s *Server) GetAlert(ctx context.Context, req *managev1.GetAlertRequest) (*managev1.AlertView, error) {
	var r *storev1.AlertRecord
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		r, err = findAlert(ctx, tx, req.GetId())
		return err
	})
	if err != nil {
		return nil, err
	}
	return alertView(r), nil
}

func findAlert(ctx context.Context, tx store.Tx, id string) (*storev1.AlertRecord, error) {
	r, err := schema.FindAlertRecord(tx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !auth.CanSeeTenant(auth.PrincipalFrom(ctx), r.GetTenant())) {
		return nil, apierr.NotFound("alert", id)
	}
	return r, err
}

// AckAlert implements managev1.AlertServiceServer.
func (s *Server) AckAlert(ctx context.Context, req *managev1.AckAlertRequest) (*managev1.AlertView, error) {
	if err := checkNote("comment", req.GetComment()); err != nil {
		return nil, err
	}
	p := auth.PrincipalFrom(ctx)
	var r *storev1.AlertRecord
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		if r, err = findAlert(ctx, tx, req.GetId()); err != nil {
			return err
		}
		return alerting.Ack(tx, r, p.GetName(), req.GetComment(), s.cfg.Now())
	})
	if errors.Is(err, alerting.ErrClosed) {
		return nil, status.Errorf(codes.FailedPrecondition, "alert %s recovered or was closed; there is nothing to acknowledge", req.GetId())
	}
	if err != nil {
		return nil, err
	}
	s.cfg.Logger.InfoContext(ctx, "alert acknowledged", "tenant", r.GetTenant(), "alert", r.GetId(), "by", p.GetName())
	return alertView(r), nil
}

// StartMaintenance implements managev1.AlertServiceServer.
func (s *Server) StartMaintenance(ctx context.Context, req *managev1.StartMaintenanceRequest) (*managev1.MaintenanceView, error) {
	if err := checkNote("reason", req.GetReason()); err != nil {
		return nil, err
	}
	if (req.GetUntilUnix() == 0) == (req.GetUntilLocal() == "") {
		return nil, apierr.Invalid("until", "set exactly one of until_unix and until_local")
	}
	p := auth.PrincipalFrom(ctx)
	now := s.cfg.Now()
	var (
		m    *storev1.Maintenance
		host string
	)
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		a, cur, err := agentMaintenance(tx, req.GetAgentId())
		if err != nil {
			return err
		}
		host = a.GetHostname()
		until := time.Unix(req.GetUntilUnix(), 0)
		if req.GetUntilLocal() != "" {
			t, err := schema.GetTenant(tx, a.GetTenant())
			if err != nil {
				return err
			}
			if until, err = parseLocal(req.GetUntilLocal(), t.GetTimezone()); err != nil {
				return err
			}
		}
		if !until.After(now) || until.Sub(now) > MaxMaintenance {
			return apierr.Invalid("until", "%s: want a time after now and at most %s ahead", until.UTC().Format(time.RFC3339), alert.FormatDuration(MaxMaintenance))
		}
		start := now.Unix()
		if cur != nil && alerting.UnderMaintenance(cur, now) {
			start = cur.GetStartUnix() // extending keeps the start
		}
		m = &storev1.Maintenance{Agent: a.GetId(), Tenant: a.GetTenant(), StartUnix: start, EndUnix: until.Unix(),
			Reason: req.GetReason(), By: p.GetName()}
		return schema.PutMaintenance(tx, m)
	})
	if err != nil {
		return nil, err
	}
	s.cfg.Logger.InfoContext(ctx, "maintenance started", "agent_id", m.GetAgent(), "until", time.Unix(m.GetEndUnix(), 0).UTC(), "by", p.GetName())
	return s.maintenanceView(m, host), nil
}

// agentMaintenance reads an agent (NotFound if unknown) and its
// maintenance record (nil if it never had one).
func agentMaintenance(tx store.Tx, id string) (*storev1.Agent, *storev1.Maintenance, error) {
	a, err := getAgent(tx, id)
	if err != nil {
		return nil, nil, err
	}
	m, err := orNil(schema.GetMaintenance(tx, a.GetId()))
	return a, m, err
}

// parseLocal reads "2006-01-02 15:04" in zone.
func parseLocal(s, zone string) (time.Time, error) {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.UTC
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		return time.Time{}, apierr.Invalid("until_local", "%q: want YYYY-MM-DD HH:MM in the tenant's time zone (%s)", s, loc)
	}
	return t, nil
}

// StopMaintenance implements managev1.AlertServiceServer.
func (s *Server) StopMaintenance(ctx context.Context, req *managev1.StopMaintenanceRequest) (*managev1.MaintenanceView, error) {
	now := s.cfg.Now()
	var (
		m    *storev1.Maintenance
		host string
	)
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		a, cur, err := agentMaintenance(tx, req.GetAgentId())
		if err != nil {
			return err
		}
		host = a.GetHostname()
		if cur == nil || !alerting.UnderMaintenance(cur, now) {
			return status.Errorf(codes.FailedPrecondition, "agent %s is not under maintenance", a.GetId())
		}
		m = cur
		m.EndUnix = now.Unix()
		return schema.PutMaintenance(tx, m)
	})
	if err != nil {
		return nil, err
	}
	s.cfg.Logger.InfoContext(ctx, "maintenance stopped", "agent_id", m.GetAgent(), "by", auth.PrincipalFrom(ctx).GetName())
	s.nudgeAlerts()
	return s.maintenanceView(m, host), nil
}

// ListMaintenance implements managev1.AlertServiceServer.
func (s *Server) ListMaintenance(ctx context.Context, req *managev1.ListMaintenanceRequest) (*managev1.ListMaintenanceResponse, error) {
	p := auth.PrincipalFrom(ctx)
	out := &managev1.ListMaintenanceResponse{}
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		if err := checkTenant(tx, req.GetTenant()); err != nil {
			return err
		}
		ms, err := schema.ListMaintenance(tx)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if (req.GetTenant() != "" && m.GetTenant() != req.GetTenant()) || !auth.CanSeeTenant(p, m.GetTenant()) {
				continue
			}
			host := m.GetAgent()
			if a, err := schema.GetAgent(tx, m.GetAgent()); err == nil {
				host = a.GetHostname()
			}
			out.Maintenance = append(out.Maintenance, s.maintenanceView(m, host))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out.Maintenance, func(i, j int) bool {
		a, b := out.Maintenance[i], out.Maintenance[j]
		if a.Active != b.Active {
			return a.Active
		}
		return a.EndUnix > b.EndUnix
	})
	return out, nil
}

func (s *Server) maintenanceView(m *storev1.Maintenance, host string) *managev1.MaintenanceView {
	return &managev1.MaintenanceView{AgentId: m.GetAgent(), Hostname: host, Tenant: m.GetTenant(), StartUnix: m.GetStartUnix(),
		EndUnix: m.GetEndUnix(), Reason: m.GetReason(), By: m.GetBy(), Active: alerting.UnderMaintenance(m, s.cfg.Now()),
		VerifiedUnix: m.GetVerifiedUnix(), VerifyOk: m.GetVerifyOk(), VerifyDetail: m.GetVerifyDetail()}
}

// checkNote accepts at most maxAlertNote bytes of printable text.
func checkNote(field, s string) error {
	if len(s) > maxAlertNote {
		return apierr.Invalid(field, "%d bytes, limit %d", len(s), maxAlertNote)
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		return apierr.Invalid(field, "control characters are not allowed")
	}
	return nil
}

func alertView(r *storev1.AlertRecord) *managev1.AlertView {
	return &managev1.AlertView{Id: r.GetId(), Tenant: r.GetTenant(), Rule: r.GetRule(), RuleKind: r.GetRuleKind(), Agent: r.GetAgent(),
		Host: r.GetHost(), Item: r.GetItem(), Incident: r.GetIncident(), StartUnixMs: r.GetStartUnixMs(), EndUnixMs: r.GetEndUnixMs(),
		Summary: r.GetSummary(), AckedUnixMs: r.GetAckedUnixMs(), AckedBy: r.GetAckedBy(), Notified: r.GetNotified(),
		Suppressed: r.GetSuppressed(), LastUnixMs: r.GetLastUnixMs(), Value: r.GetValue(), Open: r.GetEndUnixMs() == 0}
}

// kindParams are the spec fields each kind may set.
var kindParams = map[string][]string{
	string(alert.KindMetric):         {"metric", "volume", "op", "threshold", "for_seconds"},
	string(alert.KindOffline):        {"after_seconds"},
	string(alert.KindUpdatesPending): {"after_seconds"},
	string(alert.KindRebootPending):  {"after_seconds"},
	string(alert.KindScanFailing):    {"scan_failures"},
	string(alert.KindCheckStatus):    {"check", "check_level", "check_unknown"},
	string(alert.KindTaskFailed):     {"task_plugin"},
	string(alert.KindVerifyFailed):   nil,
}

// paramFields are every kind-specific spec field.
var paramFields = []string{"metric", "volume", "op", "threshold", "for_seconds", "after_seconds", "scan_failures",
	"check", "check_level", "check_unknown", "task_plugin"}

// fieldNames maps alert.FieldError fields to the spec's field names.
var fieldNames = []struct{ from, to string }{
	{"metric.metric", "metric"}, {"metric.volume", "volume"}, {"metric.op", "op"}, {"metric.threshold", "threshold"},
	{"metric.for", "for_seconds"}, {"offline.after", "after_seconds"}, {"updates.after", "after_seconds"},
	{"reboot.after", "after_seconds"}, {"scan.failures", "scan_failures"}, {"check.check", "check"},
	{"check.level", "check_level"}, {"task.plugin", "task_plugin"}, {"repeat.interval", "repeat_interval_seconds"},
	{"repeat.count", "repeat_count"}, {"escalation.contact", "escalation_contact"},
	{"escalation.after", "escalation_after_seconds"}, {"activation.time_zone", "activation_timezone"},
	{"activation.days", "activation_days"}, {"activation.hours", "activation_hours"},
}

func specField(f string) string {
	for _, m := range fieldNames {
		if rest, ok := strings.CutPrefix(f, m.from); ok {
			return m.to + rest
		}
	}
	return f
}

// checkRule validates a rule about to be stored: only its kind's
// parameters, every field alert.Validate checks (each problem named by
// its spec field), contacts of the rule's tenant. An activation with days
// or hours and no zone gets the tenant's.
func checkRule(tx store.Tx, sr *storev1.AlertRule, spec *managev1.AlertRuleSpec) error {
	if own, ok := kindParams[sr.GetKind()]; ok {
		m := spec.ProtoReflect()
		for _, f := range paramFields {
			fd := m.Descriptor().Fields().ByName(protoreflectName(f))
			if m.Has(fd) && !slices.Contains(own, f) {
				return apierr.Invalid(f, "set for a rule of kind %s, which takes only %s", sr.GetKind(), orNone(own))
			}
		}
	}
	// Seconds are checked as given, before they become durations that a
	// huge value would wrap into a small valid-looking one.
	if field, err := alerting.CheckDurations(sr); err != nil {
		return apierr.Invalid(field, "%v", err)
	}
	for i, h := range sr.GetActivationHours() {
		if _, err := alert.ParseHours(h); err != nil {
			return apierr.Invalid(fmt.Sprintf("activation_hours[%d]", i), "%v", err)
		}
	}
	if _, err := alerting.ParseCheckLevel(sr.GetCheckLevel()); err != nil {
		return apierr.Invalid("check_level", "%v", err)
	}
	if sr.GetActivationTimezone() == "" && (len(sr.GetActivationDays()) > 0 || len(sr.GetActivationHours()) > 0) {
		t, err := schema.GetTenant(tx, sr.GetTenant())
		if err != nil {
			return err
		}
		sr.ActivationTimezone = t.GetTimezone()
	}
	r, err := alerting.RuleFromStore(sr)
	if err != nil {
		return apierr.Invalid("spec", "%v", err)
	}
	if err := r.Validate(); err != nil {
		return invalidRule(err)
	}
	contacts := slices.Clone(sr.GetContacts())
	if c := sr.GetEscalationContact(); c != "" {
		contacts = append(contacts, c)
	}
	for i, id := range contacts {
		field := fmt.Sprintf("contacts[%d]", i)
		if i >= len(sr.GetContacts()) {
			field = "escalation_contact"
		}
		c, err := schema.GetContact(tx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && c.GetTenant() != sr.GetTenant()) {
			return apierr.Invalid(field, "no contact %q in tenant %s (vigilctl contact list --tenant %s)", id, sr.GetTenant(), sr.GetTenant())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// invalidRule turns alert.Validate's joined FieldErrors into one
// InvalidArgument naming the first field and listing the others.
func invalidRule(err error) error {
	var fes []*alert.FieldError
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			var fe *alert.FieldError
			if errors.As(e, &fe) {
				fes = append(fes, fe)
			}
		}
	} else if fe := (*alert.FieldError)(nil); errors.As(err, &fe) {
		fes = append(fes, fe)
	}
	if len(fes) == 0 {
		return apierr.Invalid("spec", "%v", err)
	}
	msg := fes[0].Problem
	for _, fe := range fes[1:] {
		msg += "; " + specField(fe.Field) + ": " + fe.Problem
	}
	return apierr.Invalid(specField(fes[0].Field), "%s", msg)
}

func orNone(fields []string) string {
	if len(fields) == 0 {
		return "no parameters"
	}
	return strings.Join(fields, ", ")
}

// specToStore copies a spec into a stored rule (without id, tenant or
// audit fields).
func specToStore(sp *managev1.AlertRuleSpec) *storev1.AlertRule {
	return &storev1.AlertRule{
		Name: strings.TrimSpace(sp.GetName()), Kind: sp.GetKind(), Enabled: sp.GetEnabled(),
		Metric: sp.GetMetric(), Volume: sp.GetVolume(), Op: sp.GetOp(), Threshold: sp.GetThreshold(), ForSeconds: sp.GetForSeconds(),
		AfterSeconds: sp.GetAfterSeconds(), ScanFailures: sp.GetScanFailures(), Check: sp.GetCheck(), CheckLevel: sp.GetCheckLevel(),
		CheckUnknown: sp.GetCheckUnknown(), TaskPlugin: sp.GetTaskPlugin(), Consecutive: sp.GetConsecutive(),
		RepeatIntervalSeconds: sp.GetRepeatIntervalSeconds(), RepeatCount: sp.GetRepeatCount(),
		ActivationTimezone: sp.GetActivationTimezone(), ActivationDays: slices.Clone(sp.GetActivationDays()),
		ActivationHours: slices.Clone(sp.GetActivationHours()), EscalationContact: sp.GetEscalationContact(),
		EscalationAfterSeconds: sp.GetEscalationAfterSeconds(), Contacts: slices.Clone(sp.GetContacts()),
	}
}

// specOf is the spec of a stored rule.
func specOf(r *storev1.AlertRule) *managev1.AlertRuleSpec {
	return &managev1.AlertRuleSpec{
		Name: r.GetName(), Kind: r.GetKind(), Enabled: r.GetEnabled(),
		Metric: r.GetMetric(), Volume: r.GetVolume(), Op: r.GetOp(), Threshold: r.GetThreshold(), ForSeconds: r.GetForSeconds(),
		AfterSeconds: r.GetAfterSeconds(), ScanFailures: r.GetScanFailures(), Check: r.GetCheck(), CheckLevel: r.GetCheckLevel(),
		CheckUnknown: r.GetCheckUnknown(), TaskPlugin: r.GetTaskPlugin(), Consecutive: r.GetConsecutive(),
		RepeatIntervalSeconds: r.GetRepeatIntervalSeconds(), RepeatCount: r.GetRepeatCount(),
		ActivationTimezone: r.GetActivationTimezone(), ActivationDays: slices.Clone(r.GetActivationDays()),
		ActivationHours: slices.Clone(r.GetActivationHours()), EscalationContact: r.GetEscalationContact(),
		EscalationAfterSeconds: r.GetEscalationAfterSeconds(), Contacts: slices.Clone(r.GetContacts()),
	}
}

// mergeSpec copies the named fields of src into dst.
func mergeSpec(dst, src *managev1.AlertRuleSpec, fields []string) error {
	d, sm := dst.ProtoReflect(), src.ProtoReflect()
	if len(fields) > 64 {
		return apierr.Invalid("update_fields", "%d fields; a spec has %d", len(fields), d.Descriptor().Fields().Len())
	}
	for _, f := range fields {
		fd := d.Descriptor().Fields().ByName(protoreflectName(f))
		switch {
		case fd == nil:
			return apierr.Invalid("update_fields", "%q is not a rule field", f)
		case f == "kind":
			return apierr.Invalid("kind", "a rule's kind cannot change; create another rule")
		case fd.IsList():
			dl := d.Mutable(fd).List()
			dl.Truncate(0)
			sl := sm.Get(fd).List()
			for i := 0; i < sl.Len(); i++ {
				dl.Append(sl.Get(i))
			}
		default:
			d.Set(fd, sm.Get(fd))
		}
	}
	return nil
}

func ruleView(r *storev1.AlertRule) *managev1.AlertRuleView {
	v := &managev1.AlertRuleView{Id: r.GetId(), Tenant: r.GetTenant(), Spec: specOf(r), Condition: r.GetKind(),
		Activation: "always", Repeats: "none", CreatedUnix: r.GetCreatedUnix(), UpdatedUnix: r.GetUpdatedUnix(), UpdatedBy: r.GetUpdatedBy()}
	ar, err := alerting.RuleFromStore(r)
	if err != nil {
		return v
	}
	v.Condition = ar.Condition()
	v.Activation = ActivationText(ar.Activation)
	if rp := ar.Repeat; rp.Interval > 0 {
		v.Repeats = "every " + alert.FormatDuration(rp.Interval) + " until acknowledged"
		if rp.Count > 0 {
			v.Repeats = fmt.Sprintf("every %s, %d times", alert.FormatDuration(rp.Interval), rp.Count)
		}
	}
	return v
}

// ActivationText writes an activation as vigilctl shows it: "always",
// "mon,fri 08:00-18:00 (Europe/Paris)".
func ActivationText(a alert.Activation) string {
	if a.Always() {
		return "always"
	}
	var parts []string
	if len(a.Days) > 0 {
		var ds []string
		for _, d := range a.Days {
			ds = append(ds, strings.ToLower(d.String()[:3]))
		}
		parts = append(parts, strings.Join(ds, ","))
	}
	if len(a.Hours) > 0 {
		var hs []string
		for _, h := range a.Hours {
			hs = append(hs, h.String())
		}
		parts = append(parts, strings.Join(hs, ","))
	}
	return strings.Join(parts, " ") + " (" + a.TimeZone + ")"
}

func protoreflectName(f string) protoreflect.Name { return protoreflect.Name(f) }
