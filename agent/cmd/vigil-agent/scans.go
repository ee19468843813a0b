package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/agent/internal/collector/reboot"
	"github.com/vigil-rmm/vigil/agent/internal/config"
	"github.com/vigil-rmm/vigil/agent/internal/inventory"
	"github.com/vigil-rmm/vigil/agent/internal/pluginhost"
	"github.com/vigil-rmm/vigil/agent/internal/scanner"
	"github.com/vigil-rmm/vigil/internal/version"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// pluginPaths resolves the plugin directory and manifest: the config's, or
// the "plugins" directory next to the executable.
func pluginPaths(p config.Plugins) (dir, manifest string, err error) {
	dir = p.Dir
	if dir == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", "", fmt.Errorf("locate plugins: %w", err)
		}
		if exe, err = filepath.EvalSymlinks(exe); err != nil {
			return "", "", fmt.Errorf("locate plugins: %w", err)
		}
		dir = filepath.Join(filepath.Dir(exe), "plugins")
	}
	manifest = p.Manifest
	if manifest == "" {
		manifest = filepath.Join(dir, "manifest.json")
	}
	return dir, manifest, nil
}

// noPlugins stands in for the plugin host when there is no usable manifest:
// every scan then reports "no_plugin" with the reason.
type noPlugins struct{ err error }

func (n noPlugins) Inspect(context.Context, string, map[string]string) ([]byte, error) {
	return nil, fmt.Errorf("%w (%v)", pluginhost.ErrUnknownPlugin, n.err)
}

// patchPlugin names the configured patch scanner plugin, or "" when patch
// scans are disabled.
func patchPlugin(cfg config.Config) string {
	sc := cfg.Scans
	if !sc.Enabled("patches") {
		return ""
	}
	if sc.PatchPlugin != "" {
		return sc.PatchPlugin
	}
	if runtime.GOOS == "windows" {
		return "windowsupdate"
	}
	return "pkgupdate"
}

// newPluginHost returns the plugin host from the config, or nil (and why)
// when there is no usable manifest. In monitor-only it may start the
// patch scanner plugin only.
func newPluginHost(cfg config.Config, logger *slog.Logger) (*pluginhost.Host, error) {
	dir, manifest, err := pluginPaths(cfg.Plugins)
	if err != nil {
		return nil, err
	}
	hc := pluginhost.Config{Dir: dir, Manifest: manifest, Logger: logger, Env: cfg.Plugins.Env,
		CallTimeout: max(time.Duration(cfg.Scans.PatchTimeout), pluginhost.DefaultCallTimeout)}
	if cfg.Tier != config.TierProactive {
		hc.Only = []string{}
		if p := patchPlugin(cfg); p != "" {
			hc.Only = append(hc.Only, p)
		}
	}
	host, err := pluginhost.New(hc)
	if err != nil {
		return nil, fmt.Errorf("plugin manifest %s: %w", manifest, err)
	}
	return host, nil
}

// newScanner wires the scanner from the config. host may be nil (no usable
// manifest; hostErr says why): patch scans then report no_plugin.
func newScanner(cfg config.Config, ob scanner.Appender, host *pluginhost.Host, hostErr error, logger *slog.Logger) (*scanner.Scanner, error) {
	sc := cfg.Scans
	scfg := scanner.Config{
		Outbox:            ob,
		StateFile:         filepath.Join(cfg.StateDir, config.ScanFile),
		PatchInterval:     time.Duration(sc.PatchInterval),
		RebootInterval:    time.Duration(sc.RebootInterval),
		InventoryInterval: time.Duration(sc.InventoryInterval),
		RebootPolicy:      reboot.Policy{IncludeWeak: sc.RebootIncludeWeak, Ignore: sc.RebootIgnore},
		Logger:            logger,
	}
	if name := patchPlugin(cfg); name != "" {
		var plugins scanner.Inspector = scanner.HostInspector{Host: host}
		if host == nil {
			logger.Warn("no usable plugin manifest; patch scans will report no_plugin", "err", hostErr)
			plugins = noPlugins{err: hostErr}
		}
		scfg.Patches = scanner.PluginPatches{Plugins: plugins, Plugin: name, Params: sc.PatchParams, Timeout: time.Duration(sc.PatchTimeout)}
	}
	if sc.Enabled("reboot") {
		scfg.Reboot = func(ctx context.Context, wua bool) ([]reboot.Signal, error) {
			return reboot.Signals(ctx, reboot.Options{WUARebootRequired: wua})
		}
	}
	if sc.Enabled("inventory") {
		opts := inventory.Options{QueryTimeout: time.Duration(sc.InventoryQueryTimeout)}
		scfg.Inventory = func(ctx context.Context) (*agentv1.Inventory, error) { return inventory.Collect(ctx, opts) }
	}
	return scanner.New(scfg)
}

// capabilities are what this agent announces in Hello. "tasks" goes with a
// pinned trust root, in either tier: a monitor-only agent takes offers
// only to refuse and report them (the controller refuses to create tasks
// for it anyway, from Hello.tier); without a trust root no task could be
// verified, so none is asked for. "checks" goes with vantage checks
// enabled in the local config, in either tier: a check only reads.
func capabilities(s *scanner.Scanner, tasks, checks bool) []string {
	caps := []string{version.CapMetrics, version.CapFacts, version.CapOutboxStatus}
	for _, k := range s.Kinds() {
		switch k {
		case agentv1.StateKind_STATE_KIND_PATCHES:
			caps = append(caps, version.CapPatches)
		case agentv1.StateKind_STATE_KIND_REBOOT:
			caps = append(caps, version.CapReboot)
		case agentv1.StateKind_STATE_KIND_INVENTORY:
			caps = append(caps, version.CapInventory)
		}
	}
	if len(s.Kinds()) > 0 {
		caps = append(caps, version.CapScanRequest)
	}
	if tasks {
		caps = append(caps, version.CapTasks)
	}
	if checks {
		caps = append(caps, version.CapChecks)
	}
	return caps
}

// collectState reads every state kind once with the default configuration,
// as `vigil-agent collect --once --state-reports` shows them: nothing is
// queued or sent.
func collectState(ctx context.Context, pluginDir string, logger *slog.Logger) (map[string]proto.Message, error) {
	cfg := config.Default()
	if pluginDir != "" {
		abs, err := filepath.Abs(pluginDir)
		if err != nil {
			return nil, err
		}
		cfg.Plugins.Dir = abs
	}
	rec := &recorder{}
	// A throwaway state directory: nothing is remembered between runs.
	dir, err := os.MkdirTemp("", "vigil-collect-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cfg.StateDir = dir
	host, hostErr := newPluginHost(cfg, logger)
	if host != nil {
		defer host.Close()
	}
	s, err := newScanner(cfg, rec, host, hostErr, logger)
	if err != nil {
		return nil, err
	}
	out := map[string]proto.Message{}
	for _, k := range s.Kinds() {
		if err := s.Scan(ctx, k, nil, true); err != nil {
			return nil, err
		}
	}
	for _, r := range rec.reports {
		switch b := r.GetBody().(type) {
		case *agentv1.Report_Patches:
			out["patches"] = b.Patches
		case *agentv1.Report_Reboot:
			out["reboot"] = b.Reboot
		case *agentv1.Report_Inventory:
			out["inventory"] = b.Inventory
		}
	}
	return out, nil
}

// recorder keeps reports instead of queueing them.
type recorder struct{ reports []*agentv1.Report }

func (r *recorder) Append(_ context.Context, rep *agentv1.Report) (uint64, error) {
	r.reports = append(r.reports, rep)
	return uint64(len(r.reports)), nil
}
