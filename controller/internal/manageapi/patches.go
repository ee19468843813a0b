package manageapi

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/apierr"
	"github.com/vigil-rmm/vigil/controller/internal/auth"
	"github.com/vigil-rmm/vigil/controller/internal/patch"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Limits on patch requests.
const (
	// MaxThresholdDays bounds the compliance thresholds (ten years).
	MaxThresholdDays = 3650
	// maxFilterValues bounds each filter list of ListPatchSummaries.
	maxFilterValues = 32
)

// visibleAgents returns the agents the caller may see, of one tenant when
// tenant is set (NotFound if it does not exist), revoked agents excluded.
func visibleAgents(ctx context.Context, tx store.Tx, tenant string) ([]*storev1.Agent, error) {
	if err := checkTenant(tx, tenant); err != nil {
		return nil, err
	}
	as, err := schema.ListAgents(tx)
	if err != nil {
		return nil, err
	}
	p := auth.PrincipalFrom(ctx)
	out := as[:0]
	for _, a := range as {
		if a.GetRevoked() || (tenant != "" && a.GetTenant() != tenant) || !auth.CanSeeTenant(p, a.GetTenant()) {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// checkTenant returns NotFound for a named tenant that does not exist.
func checkTenant(tx store.Tx, tenant string) error {
	if tenant == "" {
		return nil
	}
	_, err := schema.GetTenant(tx, tenant)
	if errors.Is(err, store.ErrNotFound) {
		return apierr.NotFound("tenant", tenant)
	}
	return err
}

// getAgent reads an agent in tx; an unknown agent is NotFound.
func getAgent(tx store.Tx, id string) (*storev1.Agent, error) {
	a, err := schema.GetAgent(tx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apierr.NotFound("agent", id)
	}
	return a, err
}

// orNil turns a missing record into nil: the agent has not reported it yet.
func orNil[T any](v *T, err error) (*T, error) {
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

func summaryOf(a *storev1.Agent, rec *storev1.PatchRecord, reboot *storev1.RebootRecord, f patch.Filter) *managev1.PatchSummary {
	s := patch.Summary(rec, reboot, f)
	s.AgentId, s.Tenant, s.Hostname = a.GetId(), a.GetTenant(), a.GetHostname()
	return s
}

func patchFilter(req *managev1.ListPatchSummariesRequest) (patch.Filter, error) {
	f := patch.Filter{Severities: req.GetSeverities(), Classifications: req.GetClassifications()}
	if len(f.Severities) > maxFilterValues {
		return f, apierr.Invalid("severities", "%d values, limit %d", len(f.Severities), maxFilterValues)
	}
	if len(f.Classifications) > maxFilterValues {
		return f, apierr.Invalid("classifications", "%d values, limit %d", len(f.Classifications), maxFilterValues)
	}
	for _, v := range f.Severities {
		if _, ok := agentv1.Severity_name[int32(v)]; !ok {
			return f, apierr.Invalid("severities", "%d is not a severity; use unspecified, low, moderate, important or critical", v)
		}
	}
	for _, v := range f.Classifications {
		if _, ok := agentv1.Classification_name[int32(v)]; !ok {
			return f, apierr.Invalid("classifications", "%d is not a classification", v)
		}
	}
	return f, nil
}

// ListPatchSummaries implements managev1.ManageServiceServer.
func (s *Server) ListPatchSummaries(ctx context.Context, req *managev1.ListPatchSummariesRequest) (*managev1.ListPatchSummariesResponse, error) {
	f, err := patchFilter(req)
	if err != nil {
		return nil, err
	}
	out := &managev1.ListPatchSummariesResponse{}
	err = s.cfg.Store.View(ctx, func(tx store.Tx) error {
		recs, err := visibleRecords(ctx, tx, req.GetTenant())
		if err != nil {
			return err
		}
		for _, r := range recs {
			sum := summaryOf(r.Agent, r.Patches, r.Reboot, f)
			if f.Active() && sum.Pending == 0 {
				continue
			}
			out.Summaries = append(out.Summaries, sum)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out.Summaries, func(i, j int) bool {
		a, b := out.Summaries[i], out.Summaries[j]
		if a.Tenant != b.Tenant {
			return a.Tenant < b.Tenant
		}
		if a.Hostname != b.Hostname {
			return a.Hostname < b.Hostname
		}
		return a.AgentId < b.AgentId
	})
	return out, nil
}

func trackedProto(list []*storev1.TrackedUpdate) []*managev1.TrackedUpdate {
	list = append([]*storev1.TrackedUpdate(nil), list...)
	patch.SortPending(list)
	out := make([]*managev1.TrackedUpdate, 0, len(list))
	for _, u := range list {
		out = append(out, &managev1.TrackedUpdate{Update: u.GetUpdate(), FirstSeenUnix: u.GetFirstSeenUnix()})
	}
	return out
}

// GetPatchState implements managev1.ManageServiceServer.
func (s *Server) GetPatchState(ctx context.Context, req *managev1.GetPatchStateRequest) (*managev1.PatchState, error) {
	var out *managev1.PatchState
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		a, err := getAgent(tx, req.GetAgentId())
		if err != nil {
			return err
		}
		rec, err := orNil(schema.GetPatchRecord(tx, a.GetId()))
		if err != nil {
			return err
		}
		reboot, err := orNil(schema.GetRebootRecord(tx, a.GetId()))
		if err != nil {
			return err
		}
		out = &managev1.PatchState{
			Summary:                 summaryOf(a, rec, reboot, patch.Filter{}),
			Pending:                 trackedProto(rec.GetPending()),
			InstalledAwaitingReboot: trackedProto(rec.GetInstalledAwaitingReboot()),
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkSince validates a since_unix field: not negative, not in the future.
func (s *Server) checkSince(since int64) error {
	if since < 0 {
		return apierr.Invalid("since", "%d is before 1970; use 0 for all kept history", since)
	}
	if now := s.cfg.Now(); since > now.Unix() {
		return apierr.Invalid("since", "%s is in the future (controller time %s)",
			time.Unix(since, 0).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

// ListPatchHistory implements managev1.ManageServiceServer.
func (s *Server) ListPatchHistory(ctx context.Context, req *managev1.ListPatchHistoryRequest) (*managev1.ListPatchHistoryResponse, error) {
	evs, err := agentHistory(ctx, s, req.GetAgentId(), req.GetSinceUnix(), schema.ListPatchEvents)
	if err != nil {
		return nil, err
	}
	out := &managev1.ListPatchHistoryResponse{Events: make([]*managev1.PatchEvent, 0, len(evs))}
	for _, e := range evs {
		u := e.GetUpdate()
		out.Events = append(out.Events, &managev1.PatchEvent{
			TimeUnix: e.GetTimeUnix(), Kind: managev1.PatchEvent_Kind(e.GetKind()), UpdateId: u.GetId(), Kb: u.GetKb(),
			Package: u.GetPackage(), Title: u.GetTitle(), Classification: u.GetClassification(), Severity: u.GetSeverity(),
			PendingSeconds: e.GetPendingSeconds(),
		})
	}
	return out, nil
}

// thresholdDays turns a request's day count into a duration; zero keeps
// the default.
func thresholdDays(field string, days uint32, def time.Duration) (time.Duration, uint32, error) {
	if days == 0 {
		return def, uint32(def / (24 * time.Hour)), nil
	}
	if days > MaxThresholdDays {
		return 0, 0, apierr.Invalid(field, "%d days, limit %d", days, MaxThresholdDays)
	}
	return time.Duration(days) * 24 * time.Hour, days, nil
}

// GetPatchCompliance implements managev1.ManageServiceServer.
func (s *Server) GetPatchCompliance(ctx context.Context, req *managev1.GetPatchComplianceRequest) (*managev1.GetPatchComplianceResponse, error) {
	var (
		th  patch.Thresholds
		out = &managev1.GetPatchComplianceResponse{}
		err error
	)
	if th.UpdateAge, out.UpdateDays, err = thresholdDays("update_days", req.GetUpdateDays(), patch.DefaultUpdateAge); err != nil {
		return nil, err
	}
	if th.RebootAge, out.RebootDays, err = thresholdDays("reboot_days", req.GetRebootDays(), patch.DefaultRebootAge); err != nil {
		return nil, err
	}
	if th.StaleScan, out.StaleScanDays, err = thresholdDays("stale_scan_days", req.GetStaleScanDays(), patch.DefaultStaleScan); err != nil {
		return nil, err
	}
	var (
		tenants []string
		agents  []patch.AgentRecords
	)
	err = s.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if agents, err = visibleRecords(ctx, tx, req.GetTenant()); err != nil {
			return err
		}
		ts, err := schema.ListTenants(tx)
		if err != nil {
			return err
		}
		p := auth.PrincipalFrom(ctx)
		for _, t := range ts {
			if (req.GetTenant() == "" || t.GetId() == req.GetTenant()) && auth.CanSeeTenant(p, t.GetId()) {
				tenants = append(tenants, t.GetId())
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.Tenants = patch.Compliance(tenants, agents, th, s.cfg.Now())
	return out, nil
}

// GetRebootState implements managev1.ManageServiceServer.
func (s *Server) GetRebootState(ctx context.Context, req *managev1.GetRebootStateRequest) (*managev1.RebootStateView, error) {
	var out *managev1.RebootStateView
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		a, err := getAgent(tx, req.GetAgentId())
		if err != nil {
			return err
		}
		rec, err := orNil(schema.GetRebootRecord(tx, a.GetId()))
		if err != nil {
			return err
		}
		out = &managev1.RebootStateView{AgentId: a.GetId(), State: rec.GetState(), ReportedUnixMs: rec.GetReportedUnixMs(),
			BootTimeUnix: a.GetFacts().GetBootTimeUnix()}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetInventory implements managev1.ManageServiceServer.
func (s *Server) GetInventory(ctx context.Context, req *managev1.GetInventoryRequest) (*managev1.InventoryView, error) {
	var out *managev1.InventoryView
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		a, err := getAgent(tx, req.GetAgentId())
		if err != nil {
			return err
		}
		rec, err := orNil(schema.GetInventoryRecord(tx, a.GetId()))
		if err != nil {
			return err
		}
		out = &managev1.InventoryView{AgentId: a.GetId(), Inventory: rec.GetInventory(), ReportedUnixMs: rec.GetReportedUnixMs(),
			CheckedUnixMs: rec.GetCheckedUnixMs()}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListInventoryChanges implements managev1.ManageServiceServer.
func (s *Server) ListInventoryChanges(ctx context.Context, req *managev1.ListInventoryChangesRequest) (*managev1.ListInventoryChangesResponse, error) {
	chs, err := agentHistory(ctx, s, req.GetAgentId(), req.GetSinceUnix(), schema.ListInventoryChanges)
	if err != nil {
		return nil, err
	}
	out := &managev1.ListInventoryChangesResponse{Changes: make([]*managev1.InventoryChange, 0, len(chs))}
	for _, c := range chs {
		out.Changes = append(out.Changes, &managev1.InventoryChange{TimeUnix: c.GetTimeUnix(), Kind: managev1.InventoryChange_Kind(c.GetKind()),
			Name: c.GetName(), Arch: c.GetArch(), OldVersion: c.GetOldVersion(), NewVersion: c.GetNewVersion()})
	}
	return out, nil
}

// visibleRecords returns the caller's visible agents in tenant (all when
// empty) with their patch and reboot records, read agent by agent so that
// a tenant-scoped caller costs only its own agents' records.
func visibleRecords(ctx context.Context, tx store.Tx, tenant string) ([]patch.AgentRecords, error) {
	as, err := visibleAgents(ctx, tx, tenant)
	if err != nil {
		return nil, err
	}
	out := make([]patch.AgentRecords, 0, len(as))
	for _, a := range as {
		r := patch.AgentRecords{Agent: a}
		if r.Patches, err = optional(schema.GetPatchRecord(tx, a.GetId())); err != nil {
			return nil, err
		}
		if r.Reboot, err = optional(schema.GetRebootRecord(tx, a.GetId())); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// optional turns a missing record into nil.
func optional[T any](v *T, err error) (*T, error) {
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return v, err
}

// agentHistory reads one agent's history since a time with list.
func agentHistory[T any](ctx context.Context, s *Server, agentID string, since int64,
	list func(store.Tx, string, int64) ([]T, error)) ([]T, error) {
	if err := s.checkSince(since); err != nil {
		return nil, err
	}
	var out []T
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		if _, err := getAgent(tx, agentID); err != nil {
			return err
		}
		var err error
		out, err = list(tx, agentID, since)
		return err
	})
	return out, err
}
