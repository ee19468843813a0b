package taskrunner

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"slices"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/agent/internal/config"
	"github.com/vigil-rmm/vigil/agent/internal/pluginhost"
	"github.com/vigil-rmm/vigil/internal/limits"
	"github.com/vigil-rmm/vigil/plugins/sdk"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// Plugins is what the runner needs from the plugin host.
type Plugins interface {
	// Names lists the manifest's plugins without starting any.
	Names() []string
	// Check verifies a plugin's checksum without starting it.
	Check(name string) error
	// Info starts the plugin if needed and describes it.
	Info(ctx context.Context, name string) (*sdk.InfoResponse, error)
	// Run starts the plugin if needed and runs a task, passing each event
	// to emit. ctx's deadline is the task's timeout.
	Run(ctx context.Context, name string, req *sdk.RunRequest, emit func(*sdk.RunEvent) error) error
}

// HostPlugins adapts a pluginhost.Host.
type HostPlugins struct{ Host *pluginhost.Host }

var _ Plugins = HostPlugins{}

// Names lists the manifest's plugins.
func (h HostPlugins) Names() []string { return h.Host.Names() }

// Check verifies a plugin's checksum.
func (h HostPlugins) Check(name string) error { return h.Host.Check(name) }

// Info starts the plugin if needed and calls Info.
func (h HostPlugins) Info(ctx context.Context, name string) (*sdk.InfoResponse, error) {
	c, err := h.Host.Client(ctx, name)
	if err != nil {
		return nil, err
	}
	return c.Info(ctx)
}

// Run starts the plugin if needed and calls Run.
func (h HostPlugins) Run(ctx context.Context, name string, req *sdk.RunRequest, emit func(*sdk.RunEvent) error) error {
	c, err := h.Host.Client(ctx, name)
	if err != nil {
		return err
	}
	return c.Run(ctx, req, emit)
}

// ReasonNotStarted is a PluginInfo error for a plugin a monitor-only agent
// does not start.
const ReasonNotStarted = "not started: monitor-only"

// PluginList describes every plugin in the manifest. In monitor-only only
// the scanner plugins are started (for their Info); the others are listed
// with their checksum checked and ReasonNotStarted.
func (r *Runner) PluginList(ctx context.Context) *agentv1.PluginList {
	list := &agentv1.PluginList{Tier: r.tier()}
	if r.cfg.Plugins == nil {
		return list
	}
	for _, name := range r.cfg.Plugins.Names() {
		pi := &agentv1.PluginInfo{Name: name}
		list.Plugins = append(list.Plugins, pi)
		if r.monitorOnly() && !slices.Contains(r.cfg.ScannerPlugins, name) {
			err := r.cfg.Plugins.Check(name)
			pi.ChecksumOk = err == nil
			pi.Error = ReasonNotStarted
			if err != nil {
				pi.Error = ReasonNotStarted + "; " + pluginError(err)
			}
			continue
		}
		info, err := r.info(ctx, name)
		if err != nil {
			pi.ChecksumOk = !errors.Is(err, pluginhost.ErrChecksum) && r.cfg.Plugins.Check(name) == nil
			pi.Error = pluginError(err)
			continue
		}
		pi.ChecksumOk = true
		pi.Version = limits.CleanString(info.GetVersion(), limits.MaxString)
		for _, c := range info.GetCapabilities() {
			if len(pi.Capabilities) < limits.MaxItems {
				pi.Capabilities = append(pi.Capabilities, limits.CleanString(c, limits.MaxString))
			}
		}
	}
	list.Hash = listHash(list)
	return list
}

// pluginError is one clean line about a plugin failure.
func pluginError(err error) string {
	msg := err.Error()
	if st, ok := status.FromError(err); ok {
		msg = st.Message()
	}
	return limits.CleanString(msg, limits.MaxText)
}

// listHash is the first 16 bytes of SHA-256 over the list's deterministic
// encoding with hash cleared (as PatchScan.hash).
func listHash(l *agentv1.PluginList) []byte {
	c := proto.Clone(l).(*agentv1.PluginList)
	c.Hash = nil
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("taskrunner: marshal plugin list: %v", err)) // only on a generated-code bug
	}
	sum := sha256.Sum256(b)
	return sum[:16]
}

// ReportPlugins queues the plugin list when its hash differs from the one
// in Config.PluginsFile, and then remembers the new hash there.
func (r *Runner) ReportPlugins(ctx context.Context) error {
	list := r.PluginList(ctx)
	if r.cfg.PluginsFile != "" {
		if old, err := os.ReadFile(r.cfg.PluginsFile); err == nil && bytes.Equal(old, list.GetHash()) {
			return nil
		}
	}
	if _, err := r.cfg.Outbox.Append(ctx, &agentv1.Report{TimeUnixMs: r.cfg.Now().UnixMilli(),
		Body: &agentv1.Report_Plugins{Plugins: list}}); err != nil {
		return fmt.Errorf("append plugin list: %w", err)
	}
	if r.cfg.PluginsFile != "" {
		if err := config.WriteFileAtomic(r.cfg.PluginsFile, list.GetHash(), 0o600); err != nil {
			r.log.WarnContext(ctx, "remember plugin list hash", "err", err)
		}
	}
	r.log.InfoContext(ctx, "plugin list reported", "plugins", len(list.GetPlugins()), "tier", list.GetTier())
	return nil
}
