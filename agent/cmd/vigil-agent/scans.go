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

// newScanner wires the scanner from the config. The returned host, if not
// nil, must be closed (it kills the plugins).
func newScanner(cfg config.Config, ob scanner.Appender, logger *slog.Logger) (*scanner.Scanner, *pluginhost.Host, error) {
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
	var host *pluginhost.Host
	if sc.Enabled("patches") {
		dir, manifest, err := pluginPaths(cfg.Plugins)
		if err != nil {
			return nil, nil, err
		}
		var plugins scanner.Inspector
		host, err = pluginhost.New(pluginhost.Config{Dir: dir, Manifest: manifest, Logger: logger,
			CallTimeout: max(time.Duration(sc.PatchTimeout), pluginhost.DefaultCallTimeout)})
		if err != nil {
			logger.Warn("no usable plugin manifest; patch scans will report no_plugin", "manifest", manifest, "err", err)
			plugins = noPlugins{err: err}
		} else {
			plugins = scanner.HostInspector{Host: host}
		}
		name := sc.PatchPlugin
		if name == "" {
			name = "pkgupdate"
			if runtime.GOOS == "windows" {
				name = "windowsupdate"
			}
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
	s, err := scanner.New(scfg)
	if err != nil {
		if host != nil {
			_ = host.Close()
		}
		return nil, nil, err
	}
	return s, host, nil
}

// capabilities are what this agent announces in Hello.
func capabilities(s *scanner.Scanner) []string {
	caps := []string{"metrics", "facts", "outbox-status"}
	for _, k := range s.Kinds() {
		switch k {
		case agentv1.StateKind_STATE_KIND_PATCHES:
			caps = append(caps, "patches")
		case agentv1.StateKind_STATE_KIND_REBOOT:
			caps = append(caps, "reboot")
		case agentv1.StateKind_STATE_KIND_INVENTORY:
			caps = append(caps, "inventory")
		}
	}
	if len(s.Kinds()) > 0 {
		caps = append(caps, "scan-request")
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
	s, host, err := newScanner(cfg, rec, logger)
	if err != nil {
		return nil, err
	}
	if host != nil {
		defer host.Close()
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
