// Package pluginhost launches and supervises the agent's task-runner plugins
// (hashicorp/go-plugin over gRPC). A plugin runs only if its binary's
// SHA-256 matches the manifest; it gets AutoMTLS, no inherited environment,
// and its own process group (Unix) or Job Object (Windows), so a call that
// runs past its deadline kills the plugin and every process it started. A
// plugin that crashes is forgotten and started again on the next call.
package pluginhost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/plugins/sdk"
)

// DefaultCallTimeout applies when Config.CallTimeout is zero.
const DefaultCallTimeout = 10 * time.Minute

// startTimeout bounds a plugin's launch and handshake.
const startTimeout = 30 * time.Second

// exitWait is how long a failed call waits for the process to be seen
// exiting before it is told apart from a plain error.
const exitWait = 2 * time.Second

// Config configures a Host.
type Config struct {
	// Dir holds the plugin binaries, named after the plugin (plus .exe on
	// Windows). It must be writable only by the agent's account: the
	// checksum is verified before exec, not atomically with it.
	Dir string
	// Manifest is the path of the manifest JSON file (see Manifest).
	Manifest string
	// Logger receives the host's and the plugins' logs. Nil discards.
	Logger *slog.Logger
	// CallTimeout bounds every call; the ctx passed to a call may be
	// shorter. Zero means DefaultCallTimeout.
	CallTimeout time.Duration
	// Env is added to the plugins' minimal environment (KEY=value).
	Env []string
	// Only, when not nil, lists the only plugins that may start; any
	// other fails with ErrNotAllowed before anything is executed. A
	// monitor-only agent lists its scanner plugins.
	Only []string
}

// Info is what Discover learned about one plugin.
type Info struct {
	// Name is the plugin's manifest name.
	Name string
	// Info is the plugin's own description.
	Info *sdk.InfoResponse
}

// Host starts plugins on demand and supervises them.
type Host struct {
	cfg      Config
	log      *slog.Logger
	manifest Manifest

	mu     sync.Mutex
	procs  map[string]*proc
	closed bool
}

// proc is one running plugin process.
type proc struct {
	client *plugin.Client
	rpc    *sdk.Client
	tree   *procTree
	pid    int
}

// New loads the manifest and returns a Host. No plugin is started.
func New(cfg Config) (*Host, error) {
	if cfg.Dir == "" {
		return nil, errors.New("pluginhost: no plugin dir")
	}
	m, err := LoadManifest(cfg.Manifest)
	if err != nil {
		return nil, err
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Host{
		cfg:      cfg,
		log:      log.With("component", "pluginhost"),
		manifest: m,
		procs:    make(map[string]*proc),
	}, nil
}

// Names lists the plugins in the manifest, sorted. Nothing is started.
func (h *Host) Names() []string {
	names := make([]string, 0, len(h.manifest))
	for name := range h.manifest {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Check verifies the named plugin's binary against the manifest without
// starting it: ErrUnknownPlugin, ErrChecksum or the error reading the file.
func (h *Host) Check(name string) error {
	path, err := h.path(name)
	if err != nil {
		return err
	}
	if err := verify(path, h.manifest[name]); err != nil {
		return fmt.Errorf("plugin %s: %w", name, err)
	}
	return nil
}

// binaryName is the file name of the named plugin's binary.
func binaryName(name string) string {
	if runtime.GOOS == "windows" {
		return name + ".exe"
	}
	return name
}

// path returns the absolute path of the named plugin's binary.
func (h *Host) path(name string) (string, error) {
	if _, ok := h.manifest[name]; !ok {
		return "", fmt.Errorf("%s: %w", name, ErrUnknownPlugin)
	}
	path, err := filepath.Abs(filepath.Join(h.cfg.Dir, binaryName(name)))
	if err != nil {
		return "", fmt.Errorf("plugin %s: %w", name, err)
	}
	return path, nil
}

// Discover starts every plugin in the manifest and asks for its Info. It
// returns what it could learn and the errors of the plugins it could not.
func (h *Host) Discover(ctx context.Context) ([]Info, error) {
	names := h.Names()
	var infos []Info
	var errs []error
	for _, name := range names {
		c, err := h.Client(ctx, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		info, err := c.Info(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("info %s: %w", name, err))
			continue
		}
		infos = append(infos, Info{Name: name, Info: info})
	}
	return infos, errors.Join(errs...)
}

// Client starts the named plugin if it is not running (verifying its
// checksum first) and returns a client for it. The client also implements
// sdk.Inspector and sdk.Runner; a capability the plugin lacks fails with
// codes.Unimplemented. Every call has a deadline (Config.CallTimeout or
// ctx's, whichever is first); a call that ends with ctx done kills the
// plugin and its children, and a call during which the plugin exits
// returns ErrCrashed. Either way the next call starts it again.
func (h *Host) Client(ctx context.Context, name string) (*Client, error) {
	if _, err := h.get(ctx, name); err != nil {
		return nil, err
	}
	return &Client{h: h, name: name}, nil
}

// Close kills every plugin and its children. Later calls fail with
// ErrClosed.
func (h *Host) Close() error {
	h.mu.Lock()
	h.closed = true
	procs := h.procs
	h.procs = make(map[string]*proc)
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Go(func() {
			p.client.Kill() // graceful Shutdown, then force after 2 s
			p.killTree()
		})
	}
	wg.Wait()
	return nil
}

// get returns the running process for name, starting it if needed.
func (h *Host) get(_ context.Context, name string) (*proc, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	if p, ok := h.procs[name]; ok {
		if !p.client.Exited() {
			return p, nil
		}
		delete(h.procs, name)
		p.killTree()
		p.client.Kill()
	}
	p, err := h.launch(name)
	if err != nil {
		return nil, err
	}
	h.procs[name] = p
	return p, nil
}

// launch verifies and starts the named plugin. h.mu is held.
func (h *Host) launch(name string) (*proc, error) {
	path, err := h.path(name)
	if err != nil {
		return nil, err
	}
	if h.cfg.Only != nil && !slices.Contains(h.cfg.Only, name) {
		return nil, fmt.Errorf("%s: %w", name, ErrNotAllowed)
	}
	sum := h.manifest[name]
	// Checked here for a clear error, and again by go-plugin just before exec.
	if err := verify(path, sum); err != nil {
		return nil, fmt.Errorf("plugin %s: %w", name, err)
	}

	cmd := exec.Command(path)
	cmd.Dir = h.cfg.Dir
	cmd.Env = append(minimalEnv(), h.cfg.Env...)
	setProcAttr(cmd)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          sdk.PluginMap(nil),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		SecureConfig:     &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()},
		StartTimeout:     startTimeout,
		Logger:           sdk.NewHCLogger(h.log.With("plugin", name)),
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			return nil, fmt.Errorf("plugin %s: %w", name, ErrChecksum)
		}
		return nil, fmt.Errorf("start plugin %s: %w", name, err)
	}
	p := &proc{client: client}
	if rc := client.ReattachConfig(); rc != nil {
		p.pid = rc.Pid
	}
	if p.tree, err = newProcTree(p.pid); err != nil {
		client.Kill()
		return nil, fmt.Errorf("start plugin %s: %w", name, err)
	}
	raw, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		p.killTree()
		client.Kill()
		return nil, fmt.Errorf("dispense plugin %s: %w", name, err)
	}
	c, ok := raw.(*sdk.Client)
	if !ok {
		p.killTree()
		client.Kill()
		return nil, fmt.Errorf("dispense plugin %s: got %T", name, raw)
	}
	p.rpc = c
	h.log.Info("plugin started", "plugin", name, "pid", p.pid)
	return p, nil
}

// verify compares the SHA-256 of the file at path with want.
func verify(path string, want []byte) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	hash := sha256.New()
	if _, err := io.Copy(hash, f); err != nil {
		return fmt.Errorf("hash: %w", err)
	}
	if !bytes.Equal(hash.Sum(nil), want) {
		return ErrChecksum
	}
	return nil
}

func (p *proc) killTree() {
	if p.tree == nil {
		return
	}
	p.tree.kill()
	p.tree.close()
}

// forget removes p if it is still the running process for name and kills
// it with its children. The plugin is first asked to shut down (go-plugin
// waits up to 2 s for it): a plugin whose call was cancelled is then still
// killing the commands it started, which may sit in process groups of
// their own. Then its whole process group is killed, whatever is left.
func (h *Host) forget(name string, p *proc) {
	h.mu.Lock()
	if h.procs[name] == p {
		delete(h.procs, name)
	}
	h.mu.Unlock()
	p.client.Kill()
	p.killTree()
}

// call runs fn against the named plugin under the call deadline and deals
// with timeouts and crashes. With own set, a deadline already on ctx
// replaces CallTimeout (a task's own timeout may be longer).
func (h *Host) call(ctx context.Context, name string, own bool, fn func(context.Context, *sdk.Client) error) error {
	p, err := h.get(ctx, name)
	if err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !own || !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.cfg.CallTimeout)
		defer cancel()
	}
	err = fn(ctx, p.rpc)
	if err == nil {
		return nil
	}
	ctxErr := ctx.Err()
	if ctxErr == nil && status.Code(err) == codes.DeadlineExceeded {
		// gRPC's own deadline timer can fire before ctx's.
		ctxErr = context.DeadlineExceeded
	}
	if ctxErr != nil {
		h.log.Warn("plugin call ended by its context; killing the plugin", "plugin", name, "pid", p.pid, "err", ctxErr)
		h.forget(name, p)
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return fmt.Errorf("%s: %w", name, ErrTimeout)
		}
		return fmt.Errorf("%s: %w", name, ctxErr)
	}
	if h.crashed(p, err) {
		h.log.Error("plugin crashed", "plugin", name, "pid", p.pid, "err", err)
		h.forget(name, p)
		return fmt.Errorf("%s: %w: %w", name, ErrCrashed, err)
	}
	return err
}

// crashed reports whether err means the plugin process is gone.
func (h *Host) crashed(p *proc, err error) bool {
	if p.client.Exited() {
		return true
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.Canceled:
	default:
		return false
	}
	deadline := time.Now().Add(exitWait)
	for time.Now().Before(deadline) {
		if p.client.Exited() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The connection broke but the process lives on: unusable either way.
	return true
}

// Client is a running plugin as seen by the host. It implements sdk.Plugin,
// sdk.Inspector and sdk.Runner.
type Client struct {
	h    *Host
	name string
}

var (
	_ sdk.Plugin    = (*Client)(nil)
	_ sdk.Inspector = (*Client)(nil)
	_ sdk.Runner    = (*Client)(nil)
)

// Info calls the plugin's Info.
func (c *Client) Info(ctx context.Context) (*sdk.InfoResponse, error) {
	var out *sdk.InfoResponse
	err := c.h.call(ctx, c.name, false, func(ctx context.Context, p *sdk.Client) error {
		var err error
		out, err = p.Info(ctx)
		return err
	})
	return out, err
}

// Inspect calls the plugin's Inspect.
func (c *Client) Inspect(ctx context.Context, params map[string]string) (*sdk.InspectResponse, error) {
	var out *sdk.InspectResponse
	err := c.h.call(ctx, c.name, false, func(ctx context.Context, p *sdk.Client) error {
		var err error
		out, err = p.Inspect(ctx, params)
		return err
	})
	return out, err
}

// Run calls the plugin's Run, passing every event to emit. A deadline on
// ctx (the task's timeout) bounds the call instead of Config.CallTimeout.
func (c *Client) Run(ctx context.Context, req *sdk.RunRequest, emit func(*sdk.RunEvent) error) error {
	return c.h.call(ctx, c.name, true, func(ctx context.Context, p *sdk.Client) error {
		return p.Run(ctx, req, emit)
	})
}
