package manageapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/apierr"
	"github.com/vigil-rmm/vigil/controller/internal/fleet"
	"github.com/vigil-rmm/vigil/controller/internal/patch"
	"github.com/vigil-rmm/vigil/controller/internal/rescan"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	"github.com/vigil-rmm/vigil/internal/version"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// MaxRescanWait bounds RescanAgent's wait_seconds.
const MaxRescanWait = time.Hour

// RescanAgent implements managev1.ManageServiceServer.
func (s *Server) RescanAgent(ctx context.Context, req *managev1.RescanAgentRequest) (*managev1.RescanAgentResponse, error) {
	if s.cfg.Scans == nil {
		return nil, fmt.Errorf("%w: rescans are not enabled on this controller", apierr.ErrInvalid)
	}
	if len(req.GetKinds()) > 8 {
		return nil, apierr.Invalid("kinds", "%d entries, at most 8", len(req.GetKinds()))
	}
	for _, k := range req.GetKinds() {
		if k == agentv1.StateKind_STATE_KIND_UNSPECIFIED || agentv1.StateKind_name[int32(k)] == "" {
			return nil, apierr.Invalid("kinds", "%d is not patches, reboot or inventory", k)
		}
	}
	wait := time.Duration(req.GetWaitSeconds()) * time.Second
	if wait > MaxRescanWait {
		return nil, apierr.Invalid("wait_seconds", "%d is more than %d", req.GetWaitSeconds(), int(MaxRescanWait.Seconds()))
	}
	a, _, seen, err := s.loadAgent(ctx, req.GetAgentId())
	if err != nil {
		return nil, err
	}
	if a.GetRevoked() {
		return nil, apierr.Invalid("agent_id", "agent %s is revoked", a.GetId())
	}
	kinds := req.GetKinds()
	if caps, online := s.cfg.Fleet.Capabilities(a.GetId()); online {
		// Ask only for what the agent reads (its config may disable some
		// kinds), so a wait ends when those results are in.
		if kinds, err = supported(a.GetId(), kinds, caps); err != nil {
			return nil, err
		}
	}
	w := s.cfg.Scans.Start(a.GetId(), kinds)
	defer s.cfg.Scans.Stop(w)
	msg := &agentv1.ControllerMessage{Msg: &agentv1.ControllerMessage_Scan{Scan: &agentv1.ScanRequest{
		RequestId: w.ID, Kinds: kinds}}}
	if err := s.cfg.Fleet.Send(a.GetId(), version.CapScanRequest, msg); err != nil {
		if online, last := s.cfg.Fleet.Online(a.GetId()); !online {
			seen = max(seen, last)
			when := "never connected"
			if seen > 0 {
				when = "last seen " + time.Unix(seen, 0).UTC().Format(time.RFC3339)
			}
			return nil, fmt.Errorf("%w: %s (%s); it scans on its own schedule when it reconnects", err, a.GetId(), when)
		}
		return nil, fmt.Errorf("%w: %s", err, a.GetId())
	}
	s.cfg.Logger.InfoContext(ctx, "rescan requested", "agent_id", a.GetId(), "request_id", w.ID, "kinds", fmt.Sprint(req.GetKinds()),
		"wait", wait)
	resp := &managev1.RescanAgentResponse{RequestId: w.ID}
	if wait == 0 {
		return resp, nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-w.Done():
	case <-t.C:
		return nil, fmt.Errorf("%w: no result from %s within %s (request %s); the scan may still be running",
			context.DeadlineExceeded, a.GetId(), wait, w.ID)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	resp.Completed = true
	if !slices.Contains(kinds, agentv1.StateKind_STATE_KIND_PATCHES) && len(kinds) > 0 {
		return resp, nil
	}
	err = s.cfg.Store.View(ctx, func(tx store.Tx) error {
		rec, err := schema.GetPatchRecord(tx, a.GetId())
		if err != nil {
			return err
		}
		resp.Scan = patch.ScanResult(rec)
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return resp, nil
}

// kindCapability is the Hello capability of an agent that reads a kind.
var kindCapability = map[agentv1.StateKind]string{
	agentv1.StateKind_STATE_KIND_PATCHES:   version.CapPatches,
	agentv1.StateKind_STATE_KIND_REBOOT:    version.CapReboot,
	agentv1.StateKind_STATE_KIND_INVENTORY: version.CapInventory,
}

// supported narrows kinds (empty: all) to those the agent announced; a kind
// asked for by name that the agent does not read is an error.
func supported(agentID string, kinds []agentv1.StateKind, caps []string) ([]agentv1.StateKind, error) {
	if len(kinds) == 0 {
		for _, k := range rescan.Kinds {
			if slices.Contains(caps, kindCapability[k]) {
				kinds = append(kinds, k)
			}
		}
		if len(kinds) == 0 {
			return nil, fmt.Errorf("%w: %s reads no patch, reboot or inventory state", fleet.ErrUnsupported, agentID)
		}
		return kinds, nil
	}
	for _, k := range kinds {
		if !slices.Contains(caps, kindCapability[k]) {
			return nil, fmt.Errorf("%w: %s does not read %s (disabled in its config, or an older agent)",
				fleet.ErrUnsupported, agentID, kindCapability[k])
		}
	}
	return kinds, nil
}
