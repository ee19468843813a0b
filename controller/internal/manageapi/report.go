package manageapi

import (
	"context"
	"errors"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/controller/internal/apierr"
	"github.com/vigil-rmm/vigil/controller/internal/auth"
	"github.com/vigil-rmm/vigil/controller/internal/patch"
	"github.com/vigil-rmm/vigil/controller/internal/report"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// reportRules authorizes the report service's methods. Anyone in the
// tenant may download its report: clients send it on to their own
// management, and it shows nothing the client cannot already list.
var reportRules = map[string]Rule{
	managev1.ReportService_GetReport_FullMethodName: {Roles: anyone,
		Target: byTenantField(func(r any) string { return r.(*managev1.GetReportRequest).GetTenant() })},
}

// Reporter builds reports; *report.Generator implements it.
type Reporter interface {
	Generate(ctx context.Context, req report.Request) (*managev1.Report, error)
}

var _ Reporter = (*report.Generator)(nil)

// ReportDeps is what the report service's handlers need beyond the store.
type ReportDeps struct {
	// Reports builds the reports; nil makes GetReport Unavailable.
	Reports Reporter
}

// maxReportSeconds bounds the request's time fields before they become
// time values (year 9999), so no arithmetic on them can overflow.
const maxReportSeconds = 253402300799

// maxReportPeriodSeconds bounds period_seconds (ten years) before it
// becomes a time.Duration: seconds times time.Second wraps around int64
// beyond about 292 years, and 18446744674 s would come back as about ten
// minutes and pass every later check.
const maxReportPeriodSeconds = 10 * 365 * 24 * 60 * 60

// GetReport implements managev1.ReportServiceServer.
func (s *Server) GetReport(ctx context.Context, req *managev1.GetReportRequest) (*managev1.Report, error) {
	if s.cfg.Report.Reports == nil {
		return nil, status.Error(codes.Unavailable, "reports are not enabled on this controller")
	}
	r, err := reportRequest(ctx, req)
	if err != nil {
		return nil, err
	}
	out, err := s.cfg.Report.Reports.Generate(ctx, r)
	if errors.Is(err, report.ErrTooLarge) {
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	}
	if err != nil {
		return nil, err
	}
	if out.Compliance, err = s.reportCompliance(ctx, out.GetTenant()); err != nil {
		return nil, err
	}
	s.cfg.Logger.InfoContext(ctx, "report downloaded", "tenant", out.GetTenant(), "by", auth.PrincipalFrom(ctx).GetName())
	return out, nil
}

// reportRequest checks the request's fields. A tenant-scoped caller who
// names no tenant gets its own.
func reportRequest(ctx context.Context, req *managev1.GetReportRequest) (report.Request, error) {
	tenant := ruleScope(ctx, req.GetTenant())
	switch {
	case tenant == "":
		return report.Request{}, apierr.Invalid("tenant", "required")
	case !slugRE.MatchString(tenant):
		return report.Request{}, apierr.Invalid("tenant", "%q is not a tenant id", strings.ToValidUTF8(tenant[:min(len(tenant), 64)], "?"))
	}
	r := report.Request{Tenant: tenant}
	for _, f := range []struct {
		name string
		v    int64
		max  int64
		set  func(int64)
	}{
		{"since_unix", req.GetSinceUnix(), maxReportSeconds, func(v int64) { r.Since = time.Unix(v, 0) }},
		{"until_unix", req.GetUntilUnix(), maxReportSeconds, func(v int64) { r.Until = time.Unix(v, 0) }},
		{"period_seconds", req.GetPeriodSeconds(), maxReportPeriodSeconds, func(v int64) { r.Period = time.Duration(v) * time.Second }},
	} {
		if f.v < 0 || f.v > f.max {
			return report.Request{}, apierr.Invalid(f.name, "%d is out of range (0 to %d); use 0 for the default", f.v, f.max)
		}
		if f.v != 0 {
			f.set(f.v)
		}
	}
	return r, nil
}

// reportCompliance is the compliance section: the tenant's findings from
// GetPatchCompliance with its default thresholds, and each agent's
// pending counts from ListPatchSummaries, so the report says exactly what
// `vigilctl patches compliance` and `patches list` say.
func (s *Server) reportCompliance(ctx context.Context, tenant string) (*managev1.ReportCompliance, error) {
	comp, err := s.GetPatchCompliance(ctx, &managev1.GetPatchComplianceRequest{Tenant: tenant})
	if err != nil {
		return nil, err
	}
	out := &managev1.ReportCompliance{Tenant: &managev1.TenantCompliance{Tenant: tenant}, UpdateDays: comp.GetUpdateDays(),
		RebootDays: comp.GetRebootDays(), StaleScanDays: comp.GetStaleScanDays(), Agents: []*managev1.ReportAgentPatches{}}
	for _, tc := range comp.GetTenants() {
		if tc.GetTenant() == tenant {
			out.Tenant = tc
		}
	}
	sums, err := s.ListPatchSummaries(ctx, &managev1.ListPatchSummariesRequest{Tenant: tenant})
	if err != nil {
		return nil, err
	}
	critical := patch.SeverityLabel(agentv1.Severity_SEVERITY_CRITICAL)
	security := patch.ClassificationLabel(agentv1.Classification_CLASSIFICATION_SECURITY)
	for _, sm := range sums.GetSummaries() {
		a := &managev1.ReportAgentPatches{AgentId: sm.GetAgentId(), Hostname: sm.GetHostname(), Pending: sm.GetPending(),
			AwaitingReboot: sm.GetAwaitingReboot(), RebootPending: sm.GetRebootPending()}
		for _, c := range sm.GetBySeverity() {
			if c.GetLabel() == critical {
				a.Critical = c.GetCount()
			}
		}
		for _, c := range sm.GetByClassification() {
			if c.GetLabel() == security {
				a.Security = c.GetCount()
			}
		}
		out.Agents = append(out.Agents, a)
	}
	return out, nil
}
