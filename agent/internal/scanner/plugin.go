package scanner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/agent/internal/pluginhost"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// DefaultPatchTimeout bounds a patch scan. A Windows Update search against
// a slow WSUS can take many minutes; one that takes longer is hung.
const DefaultPatchTimeout = 30 * time.Minute

// Inspector runs a plugin's Inspect call (pluginhost.Host in production).
type Inspector interface {
	Inspect(ctx context.Context, plugin string, params map[string]string) ([]byte, error)
}

// HostInspector adapts a pluginhost.Host.
type HostInspector struct{ Host *pluginhost.Host }

// Inspect starts the plugin if needed and calls Inspect.
func (h HostInspector) Inspect(ctx context.Context, plugin string, params map[string]string) ([]byte, error) {
	c, err := h.Host.Client(ctx, plugin)
	if err != nil {
		return nil, err
	}
	resp, err := c.Inspect(ctx, params)
	if err != nil {
		return nil, err
	}
	return resp.GetResult(), nil
}

// PluginPatches scans through a scanner plugin ("windowsupdate" or
// "pkgupdate") whose Inspect result is a vigil.agent.v1.PatchScan. The
// plugin runs out of process under Timeout; the host kills it (and its
// children) when the deadline passes or it hangs.
type PluginPatches struct {
	Plugins Inspector
	// Plugin is the plugin's name in the manifest.
	Plugin string
	// Params are passed to Inspect (from the agent's config file).
	Params map[string]string
	// Timeout bounds the scan; zero means DefaultPatchTimeout.
	Timeout time.Duration
}

// ScanPatches runs the scan. Every failure becomes a PatchScan whose status
// and error code say what went wrong.
func (p PluginPatches) ScanPatches(ctx context.Context) *agentv1.PatchScan {
	timeout := cmpOr(p.Timeout, DefaultPatchTimeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	b, err := p.Plugins.Inspect(ctx, p.Plugin, p.Params)
	if err != nil {
		return FailedScan(p.Plugin, err, timeout)
	}
	var scan agentv1.PatchScan
	if err := proto.Unmarshal(b, &scan); err != nil {
		return &agentv1.PatchScan{Source: p.Plugin, Status: agentv1.ScanStatus_SCAN_STATUS_FAILED, ErrorCode: "bad_result",
			ErrorMessage: fmt.Sprintf("the %s plugin returned an unreadable result: %v", p.Plugin, err)}
	}
	if scan.GetStatus() == agentv1.ScanStatus_SCAN_STATUS_UNSPECIFIED {
		scan.Status = agentv1.ScanStatus_SCAN_STATUS_FAILED
		scan.ErrorCode = "bad_result"
		scan.ErrorMessage = fmt.Sprintf("the %s plugin returned no scan status", p.Plugin)
	}
	return &scan
}

// FailedScan maps a plugin call error to a typed scan failure.
func FailedScan(plugin string, err error, timeout time.Duration) *agentv1.PatchScan {
	s := &agentv1.PatchScan{Source: plugin}
	switch {
	case errors.Is(err, pluginhost.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		s.Status, s.ErrorCode = agentv1.ScanStatus_SCAN_STATUS_TIMEOUT, "timeout"
		s.ErrorMessage = fmt.Sprintf("the scan ran past its %s deadline; the %s plugin was killed", timeout, plugin)
	case errors.Is(err, pluginhost.ErrCrashed):
		s.Status, s.ErrorCode = agentv1.ScanStatus_SCAN_STATUS_CRASHED, "crashed"
		s.ErrorMessage = fmt.Sprintf("the %s plugin exited during the scan; the next scan starts it again", plugin)
	case errors.Is(err, pluginhost.ErrUnknownPlugin):
		s.Status, s.ErrorCode = agentv1.ScanStatus_SCAN_STATUS_UNAVAILABLE, "no_plugin"
		s.ErrorMessage = fmt.Sprintf("the %s plugin is not in the agent's plugin manifest", plugin)
	case errors.Is(err, pluginhost.ErrChecksum):
		s.Status, s.ErrorCode = agentv1.ScanStatus_SCAN_STATUS_UNAVAILABLE, "checksum"
		s.ErrorMessage = fmt.Sprintf("the %s plugin binary does not match its manifest checksum; it was not started", plugin)
	case errors.Is(err, pluginhost.ErrClosed), errors.Is(err, context.Canceled):
		s.Status, s.ErrorCode = agentv1.ScanStatus_SCAN_STATUS_FAILED, "cancelled"
		s.ErrorMessage = "the agent stopped during the scan"
	default:
		s.Status, s.ErrorCode = agentv1.ScanStatus_SCAN_STATUS_FAILED, "plugin_error"
		msg := err.Error()
		if st, ok := status.FromError(err); ok {
			msg = st.Message()
		}
		s.ErrorMessage = fmt.Sprintf("the %s plugin failed: %s", plugin, msg)
	}
	return s
}
