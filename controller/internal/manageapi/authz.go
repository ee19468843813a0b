package manageapi

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/vigil-rmm/vigil/controller/internal/apierr"
	"github.com/vigil-rmm/vigil/controller/internal/auth"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Role sets used by the table.
var (
	anyone   = []auth.Role{auth.RoleAdmin, auth.RoleTechnician, auth.RoleClientApprover, auth.RoleClientViewer}
	msp      = []auth.Role{auth.RoleAdmin, auth.RoleTechnician}
	admin    = []auth.Role{auth.RoleAdmin}
	approver = []auth.Role{auth.RoleAdmin, auth.RoleTechnician, auth.RoleClientApprover}
	// clientApprover approves downtime: only the client's own approver, so
	// the MSP can never approve its own downtime (an admin's signature
	// would not count on the agent either).
	clientApprover = []auth.Role{auth.RoleClientApprover}
)

// Rule authorizes one method.
type Rule struct {
	// Roles may call the method.
	Roles []auth.Role
	// Target names the tenant the request is about, if it is about one.
	// A tenant-scoped principal asking about another tenant gets NotFound,
	// checked before the role so nothing leaks about other tenants.
	Target func(ctx context.Context, tx store.Tx, req any) (tenant string, ok bool, err error)
}

func byTenantField(get func(req any) string) func(context.Context, store.Tx, any) (string, bool, error) {
	return func(_ context.Context, _ store.Tx, req any) (string, bool, error) {
		t := get(req)
		return t, t != "", nil
	}
}

func byAgent(get func(req any) string) func(context.Context, store.Tx, any) (string, bool, error) {
	return byObject(schema.GetAgent, get)
}

// byObject targets the tenant of the object the request names; lookup
// returns store.ErrNotFound when there is none.
func byObject[T interface{ GetTenant() string }](lookup func(store.Tx, string) (T, error), get func(req any) string) func(context.Context, store.Tx, any) (string, bool, error) {
	return func(_ context.Context, tx store.Tx, req any) (string, bool, error) {
		o, err := lookup(tx, get(req))
		if errors.Is(err, store.ErrNotFound) {
			// The same bare NotFound as for another tenant's object, so a
			// tenant-scoped caller cannot tell the two apart.
			return "", true, apierr.ErrNotFound
		}
		if err != nil {
			return "", true, err
		}
		return o.GetTenant(), true, nil
	}
}

// Rules is the authorization table: every method of every service on the
// API listener must have an entry; a method without one is refused. Each
// service's entries are kept next to its handlers (alertRules in
// alerts.go, ...) and merged here.
var Rules = merge(manageRules, alertRules, checkRules, notifyRules, reportRules)

func merge(tables ...map[string]Rule) map[string]Rule {
	out := map[string]Rule{}
	for _, t := range tables {
		for k, v := range t {
			if _, dup := out[k]; dup {
				panic("manageapi: two authorization rules for " + k)
			}
			out[k] = v
		}
	}
	return out
}

// manageRules authorizes ManageService.
var manageRules = map[string]Rule{
	managev1.ManageService_WhoAmI_FullMethodName:       {Roles: anyone},
	managev1.ManageService_CreateTenant_FullMethodName: {Roles: admin, Target: byTenantField(func(r any) string { return r.(*managev1.CreateTenantRequest).GetId() })},
	managev1.ManageService_GetTenant_FullMethodName:    {Roles: anyone, Target: byTenantField(func(r any) string { return r.(*managev1.GetTenantRequest).GetId() })},
	managev1.ManageService_ListTenants_FullMethodName:  {Roles: anyone},
	managev1.ManageService_CreateEnrollToken_FullMethodName: {Roles: msp,
		Target: byTenantField(func(r any) string { return r.(*managev1.CreateEnrollTokenRequest).GetTenant() })},
	managev1.ManageService_ListEnrollTokens_FullMethodName: {Roles: msp,
		Target: byTenantField(func(r any) string { return r.(*managev1.ListEnrollTokensRequest).GetTenant() })},
	managev1.ManageService_ListAgents_FullMethodName: {Roles: anyone,
		Target: byTenantField(func(r any) string { return r.(*managev1.ListAgentsRequest).GetTenant() })},
	managev1.ManageService_GetAgent_FullMethodName:    {Roles: anyone, Target: byAgent(func(r any) string { return r.(*managev1.GetAgentRequest).GetId() })},
	managev1.ManageService_RevokeAgent_FullMethodName: {Roles: msp, Target: byAgent(func(r any) string { return r.(*managev1.RevokeAgentRequest).GetId() })},
	managev1.ManageService_QueryMetrics_FullMethodName: {Roles: anyone,
		Target: byAgent(func(r any) string { return r.(*managev1.QueryMetricsRequest).GetAgentId() })},
	managev1.ManageService_CreatePrincipal_FullMethodName: {Roles: admin,
		Target: byTenantField(func(r any) string { return r.(*managev1.CreatePrincipalRequest).GetTenant() })},
	managev1.ManageService_RevokePrincipal_FullMethodName: {Roles: admin,
		Target: func(_ context.Context, tx store.Tx, req any) (string, bool, error) {
			p, err := schema.PrincipalByName(tx, req.(*managev1.RevokePrincipalRequest).GetName())
			if errors.Is(err, store.ErrNotFound) {
				return "", true, apierr.ErrNotFound
			}
			if err != nil {
				return "", true, err
			}
			return p.GetTenant(), true, nil
		}},
	managev1.ManageService_ListPrincipals_FullMethodName: {Roles: approver,
		Target: byTenantField(func(r any) string { return r.(*managev1.ListPrincipalsRequest).GetTenant() })},
	managev1.ManageService_ListPatchSummaries_FullMethodName: {Roles: anyone,
		Target: byTenantField(func(r any) string { return r.(*managev1.ListPatchSummariesRequest).GetTenant() })},
	managev1.ManageService_GetPatchState_FullMethodName: {Roles: anyone,
		Target: byAgent(func(r any) string { return r.(*managev1.GetPatchStateRequest).GetAgentId() })},
	managev1.ManageService_ListPatchHistory_FullMethodName: {Roles: anyone,
		Target: byAgent(func(r any) string { return r.(*managev1.ListPatchHistoryRequest).GetAgentId() })},
	managev1.ManageService_GetPatchCompliance_FullMethodName: {Roles: anyone,
		Target: byTenantField(func(r any) string { return r.(*managev1.GetPatchComplianceRequest).GetTenant() })},
	// A rescan reads state and changes nothing, but it costs the client's
	// server CPU and bandwidth: viewers may not ask for one.
	managev1.ManageService_RescanAgent_FullMethodName: {Roles: approver,
		Target: byAgent(func(r any) string { return r.(*managev1.RescanAgentRequest).GetAgentId() })},
	managev1.ManageService_GetRebootState_FullMethodName: {Roles: anyone,
		Target: byAgent(func(r any) string { return r.(*managev1.GetRebootStateRequest).GetAgentId() })},
	managev1.ManageService_GetInventory_FullMethodName: {Roles: anyone,
		Target: byAgent(func(r any) string { return r.(*managev1.GetInventoryRequest).GetAgentId() })},
	managev1.ManageService_ListInventoryChanges_FullMethodName: {Roles: anyone,
		Target: byAgent(func(r any) string { return r.(*managev1.ListInventoryChangesRequest).GetAgentId() })},

	// Signed tasks. The root and certificates are the MSP's to manage;
	// anyone may read the root fingerprint (a client checks its agents pin
	// the same one).
	managev1.ManageService_SetTrustRoot_FullMethodName:        {Roles: admin},
	managev1.ManageService_GetTrustRoot_FullMethodName:        {Roles: anyone},
	managev1.ManageService_RegisterCertificate_FullMethodName: {Roles: admin, Target: certTenant},
	managev1.ManageService_ListCertificates_FullMethodName: {Roles: approver,
		Target: principalTenant(func(r any) string { return r.(*managev1.ListCertificatesRequest).GetPrincipal() })},
	managev1.ManageService_CreateTask_FullMethodName: {Roles: msp, Target: signedTaskTenant},
	managev1.ManageService_ApproveTask_FullMethodName: {Roles: clientApprover,
		Target: taskTenant(func(r any) string { return r.(*managev1.ApproveTaskRequest).GetTaskId() })},
	managev1.ManageService_ListTasks_FullMethodName: {Roles: anyone, Target: listTasksTenant},
	managev1.ManageService_GetTask_FullMethodName: {Roles: anyone,
		Target: taskTenant(func(r any) string { return r.(*managev1.GetTaskRequest).GetTaskId() })},
	// A client approver may stop a task on its own servers; a viewer may not.
	managev1.ManageService_CancelTask_FullMethodName: {Roles: approver,
		Target: taskTenant(func(r any) string { return r.(*managev1.CancelTaskRequest).GetTaskId() })},
	managev1.ManageService_ListPlugins_FullMethodName: {Roles: anyone,
		Target: byAgent(func(r any) string { return r.(*managev1.ListPluginsRequest).GetAgentId() })},
}

// Unauthenticated lists the ManageService methods callable without a
// token. It is empty: on the manage API every call is authenticated (the
// agent API's Enroll is the only unauthenticated call in vigil).
var Unauthenticated = map[string]bool{}

// Authorizer is the one interceptor that authenticates and authorizes every
// manage call.
type Authorizer struct {
	Store  store.Store
	Logger *slog.Logger
}

// Unary returns the interceptor. It also maps handler errors through
// apierr.Status so every error a caller sees has a meaningful code.
func (a *Authorizer) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := a.authorize(ctx, info.FullMethod, req)
		if err != nil {
			a.Logger.InfoContext(ctx, "call refused", "method", info.FullMethod, "err", err)
			return nil, apierr.Status(err)
		}
		resp, err := handler(ctx, req)
		if err != nil {
			if !apierr.Known(err) {
				a.Logger.ErrorContext(ctx, "call failed", "method", info.FullMethod, "err", err)
			}
			return nil, apierr.Status(err)
		}
		return resp, nil
	}
}

func bearer(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if t, ok := strings.CutPrefix(v, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
	}
	return ""
}

func (a *Authorizer) authorize(ctx context.Context, method string, req any) (context.Context, error) {
	if Unauthenticated[method] {
		return ctx, nil
	}
	tok := bearer(ctx)
	if tok == "" || len(tok) > 256 {
		return ctx, auth.ErrUnauthenticated
	}
	rule, ok := Rules[method]
	var p *storev1.Principal
	err := a.Store.View(ctx, func(tx store.Tx) error {
		var err error
		p, err = schema.PrincipalByTokenHash(tx, auth.Hash(tok))
		if errors.Is(err, store.ErrNotFound) {
			return auth.ErrUnauthenticated
		}
		if err != nil || !ok {
			return err
		}
		if rule.Target != nil && auth.Role(p.GetRole()).TenantScoped() {
			tenant, has, err := rule.Target(ctx, tx, req)
			if err != nil {
				return err
			}
			if has && tenant != p.GetTenant() {
				return apierr.ErrNotFound
			}
		}
		return nil
	})
	if err != nil {
		return ctx, err
	}
	if !ok {
		return ctx, auth.ErrPermission
	}
	for _, r := range rule.Roles {
		if auth.Role(p.GetRole()) == r {
			return auth.WithPrincipal(ctx, p), nil
		}
	}
	return ctx, auth.ErrPermission
}
