package service

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/internal/version"
	"github.com/vigil-rmm/vigil/plugins/internal/cmdrun"
	"github.com/vigil-rmm/vigil/plugins/sdk"
)

// Name is the plugin's name.
const Name = "service"

// CommandEnv names the environment variable that replaces systemctl (and
// the Windows SCM) with a program; see the package comment.
const CommandEnv = "VIGIL_SERVICE_COMMAND"

// Parameter names.
const (
	ParamName    = "name"
	ParamAction  = "action"
	ParamTimeout = "timeout"
)

// Limits and defaults.
const (
	DefaultTimeout = 2 * time.Minute
	MaxTimeout     = 30 * time.Minute
)

// Actions.
const (
	ActionStart   = "start"
	ActionStop    = "stop"
	ActionRestart = "restart"
	ActionStatus  = "status"
)

var actions = []string{ActionStart, ActionStop, ActionRestart, ActionStatus}

// isService reports whether a systemd unit name names a service: no unit
// suffix (systemctl then assumes .service) or ".service". Windows service
// names never contain a dot-suffix of another unit type.
func isService(name string) bool {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return true
	}
	switch name[i:] {
	case ".target", ".socket", ".mount", ".automount", ".swap", ".path", ".timer", ".slice", ".scope", ".device":
		return false
	}
	return true
}

// validName is what a service name may look like.
var validName = regexp.MustCompile(`^[A-Za-z0-9_@:+][A-Za-z0-9_.@:+-]{0,255}$`)

// Config is the host a Plugin runs on; the zero value is the live host.
type Config struct {
	// Runner runs systemctl; nil means cmdrun.Exec.
	Runner cmdrun.Runner
	// Manager is the Windows service control manager; nil means the
	// platform's.
	Manager Manager
	// Getenv reads CommandEnv; nil means os.Getenv.
	Getenv func(string) string
	// GOOS picks the backend; "" means the running system.
	GOOS string
	// Poll is how often a Windows state is re-read while waiting; zero
	// means 250ms.
	Poll time.Duration
}

// Plugin controls services. It implements sdk.Plugin and sdk.Runner.
type Plugin struct{ cfg Config }

var (
	_ sdk.Plugin = (*Plugin)(nil)
	_ sdk.Runner = (*Plugin)(nil)
)

// New returns the plugin for the host cfg describes.
func New(cfg Config) *Plugin {
	if cfg.Runner == nil {
		cfg.Runner = cmdrun.Exec{}
	}
	if cfg.Manager == nil {
		cfg.Manager = systemManager{}
	}
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	if cfg.GOOS == "" {
		cfg.GOOS = runtime.GOOS
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 250 * time.Millisecond
	}
	return &Plugin{cfg: cfg}
}

// Info describes the plugin.
func (p *Plugin) Info(context.Context) (*sdk.InfoResponse, error) {
	return &sdk.InfoResponse{
		Name:    Name,
		Version: version.String(),
		Parameters: []*sdk.ParameterSpec{
			{Name: ParamName, Type: "string", Required: true, Description: "systemd unit or Windows service name"},
			{Name: ParamAction, Type: "string", Required: true, Description: "start, stop, restart or status"},
			{Name: ParamTimeout, Type: "duration", Description: "how long the action may take, 1s to 30m; default 2m"},
		},
	}, nil
}

// params are validated Run parameters.
type params struct {
	name, action string
	timeout      time.Duration
}

func parseParams(raw map[string]string) (params, error) {
	p := params{timeout: DefaultTimeout}
	for _, k := range sdk.ParamKeys(raw) {
		v := raw[k]
		switch k {
		case ParamName:
			if !validName.MatchString(v) {
				return p, sdk.InvalidParam(k, "%q is not a service name (letters, digits, _ . @ : + -)", v)
			}
			if !isService(v) {
				// Starting reboot.target or poweroff.target would take the
				// server down without the client approval that downtime
				// tasks need: only services.
				return p, sdk.InvalidParam(k, "%q is not a service: only service units (name or name.service)", v)
			}
			p.name = v
		case ParamAction:
			if !slices.Contains(actions, v) {
				return p, sdk.InvalidParam(k, "%q is not one of %s", v, strings.Join(actions, ", "))
			}
			p.action = v
		case ParamTimeout:
			d, err := sdk.DurationParam(k, v, time.Second, MaxTimeout)
			if err != nil {
				return p, err
			}
			p.timeout = d
		default:
			return p, sdk.InvalidParam(k, "unknown parameter")
		}
	}
	switch {
	case p.name == "":
		return p, sdk.InvalidParam(ParamName, "required")
	case p.action == "":
		return p, sdk.InvalidParam(ParamAction, "required")
	}
	return p, nil
}

// Detail is the Result detail.
type Detail struct {
	Name        string `json:"name"`
	Action      string `json:"action"`
	StateBefore string `json:"state_before"`
	StateAfter  string `json:"state_after"`
	Error       string `json:"error,omitempty"`
}

// outcome is what a backend did.
type outcome struct {
	ok       bool
	exitCode int32
	detail   Detail
}

// Run performs the action.
func (p *Plugin) Run(ctx context.Context, req *sdk.RunRequest, emit func(*sdk.RunEvent) error) error {
	prm, err := parseParams(req.GetParameters())
	if err != nil {
		return err
	}
	if err := emit(sdk.Progress(-1, prm.action+" "+prm.name)); err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, prm.timeout)
	defer cancel()
	var out outcome
	switch override := p.cfg.Getenv(CommandEnv); {
	case override != "":
		out, err = p.systemd(actx, override, prm, emit)
	case p.cfg.GOOS == "linux":
		out, err = p.systemd(actx, "systemctl", prm, emit)
	case p.cfg.GOOS == "windows":
		out, err = p.scm(actx, prm)
	default:
		out = outcome{detail: Detail{Error: "unsupported on " + p.cfg.GOOS}}
	}
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	if err != nil {
		return err // emit failed: the host is gone
	}
	out.detail.Name, out.detail.Action = prm.name, prm.action
	if !out.ok && out.detail.Error == "" {
		out.detail.Error = "failed"
	}
	if actx.Err() != nil && !out.ok {
		out.detail.Error = fmt.Sprintf("timed out after %s: %s", prm.timeout, out.detail.Error)
	}
	b, err := json.Marshal(out.detail)
	if err != nil {
		return err
	}
	return emit(sdk.Result(out.ok, out.exitCode, summary(out), b))
}

func summary(o outcome) string {
	d := o.detail
	var s string
	switch {
	case !o.ok:
		s = fmt.Sprintf("%s %s failed: %s", d.Action, d.Name, d.Error)
	case d.Action == ActionStatus:
		s = fmt.Sprintf("%s is %s", d.Name, d.StateAfter)
	default:
		s = fmt.Sprintf("%s %s: %s -> %s", d.Action, d.Name, d.StateBefore, d.StateAfter)
	}
	s, _, _ = strings.Cut(s, "\n")
	return s
}
