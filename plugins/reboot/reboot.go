package reboot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/internal/version"
	"github.com/vigil-rmm/vigil/plugins/internal/cmdrun"
	"github.com/vigil-rmm/vigil/plugins/sdk"
)

// Name is the plugin's name.
const Name = "reboot"

// CommandEnv names the environment variable that replaces the OS reboot
// with a program (see the package comment).
const CommandEnv = "VIGIL_REBOOT_COMMAND"

// Parameter names and limits.
const (
	ParamMessage = "message"
	ParamDelay   = "delay"

	maxMessage   = 200
	defaultDelay = time.Minute
	// maxDelay stays well inside the controller's wait for the server to
	// come back (30 minutes from the report).
	maxDelay = 20 * time.Minute
)

// Config is the host a Plugin runs on; the zero value is the live host.
type Config struct {
	// Runner runs the reboot command; nil means cmdrun.Exec.
	Runner cmdrun.Runner
	// Getenv reads CommandEnv; nil means os.Getenv.
	Getenv func(string) string
	// Now is the clock for the due time; nil means time.Now.
	Now func() time.Time
	// GOOS picks the reboot method; "" means the running system.
	GOOS string
	// System reboots through the OS API where there is no command
	// (Windows); nil means the platform's.
	System func(delay time.Duration, message string) error
}

// Plugin reboots the host. It implements sdk.Plugin and sdk.Runner.
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
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.GOOS == "" {
		cfg.GOOS = goos
	}
	if cfg.System == nil {
		cfg.System = systemReboot
	}
	return &Plugin{cfg: cfg}
}

// Info describes the plugin.
func (p *Plugin) Info(context.Context) (*sdk.InfoResponse, error) {
	return &sdk.InfoResponse{
		Name:         Name,
		Version:      version.String(),
		Capabilities: []string{sdk.CapDowntime},
		Parameters: []*sdk.ParameterSpec{
			{Name: ParamMessage, Type: "string", Description: "shown to logged-in users, at most 200 characters"},
			{Name: ParamDelay, Type: "duration", Description: "grace period before the reboot, 0s to 20m; default 1m"},
		},
	}, nil
}

// params are validated Run parameters.
type params struct {
	message string
	delay   time.Duration
}

func parseParams(raw map[string]string) (params, error) {
	p := params{delay: defaultDelay}
	for _, k := range sdk.ParamKeys(raw) {
		v := raw[k]
		switch k {
		case ParamMessage:
			if !utf8.ValidString(v) {
				return p, sdk.InvalidParam(k, "not valid UTF-8")
			}
			if n := utf8.RuneCountInString(v); n > maxMessage {
				return p, sdk.InvalidParam(k, "%d characters, more than %d", n, maxMessage)
			}
			if strings.ContainsFunc(v, unicode.IsControl) {
				return p, sdk.InvalidParam(k, "contains a control character")
			}
			p.message = v
		case ParamDelay:
			d, err := sdk.DurationParam(k, v, 0, maxDelay)
			if err != nil {
				return p, err
			}
			p.delay = d
		default:
			return p, sdk.InvalidParam(k, "unknown parameter")
		}
	}
	return p, nil
}

// shutdownArgs are the arguments of shutdown(8) for p, and the delay it
// will really wait (whole minutes).
func shutdownArgs(p params) ([]string, time.Duration) {
	when, wait := "now", time.Duration(0)
	if p.delay > 0 {
		minutes := int(math.Ceil(p.delay.Minutes()))
		when, wait = "+"+strconv.Itoa(minutes), time.Duration(minutes)*time.Minute
	}
	// "--": shutdown(8) reorders its arguments, so a message such as "-P"
	// would otherwise turn the reboot into a power-off.
	args := []string{"-r", "--", when}
	if p.message != "" {
		args = append(args, p.message)
	}
	return args, wait
}

// detail is the Result detail.
type detail struct {
	Rebooting bool   `json:"rebooting"`
	At        string `json:"at,omitempty"`
	Error     string `json:"error,omitempty"`
}

// Run schedules the reboot.
func (p *Plugin) Run(ctx context.Context, req *sdk.RunRequest, emit func(*sdk.RunEvent) error) error {
	prm, err := parseParams(req.GetParameters())
	if err != nil {
		return err
	}
	cmd, wait := p.command(prm)
	now := p.cfg.Now()
	if cmd == nil && p.cfg.GOOS != "windows" {
		return finish(emit, false, 0, "reboot: unsupported on "+p.cfg.GOOS, detail{Error: "unsupported_os"})
	}
	if err := emit(sdk.Progress(0, fmt.Sprintf("scheduling a reboot in %s", wait))); err != nil {
		return err
	}
	at := now.Add(wait).UTC().Truncate(time.Second).Format(time.RFC3339)
	if cmd == nil {
		if err := p.cfg.System(wait, prm.message); err != nil {
			return finish(emit, false, 0, "reboot: "+oneLine(err.Error()), detail{Error: oneLine(err.Error())})
		}
		return finish(emit, true, 0, "reboot scheduled for "+at, detail{Rebooting: true, At: at})
	}
	var stderr []string
	code, err := p.cfg.Runner.Run(ctx, *cmd, func(l cmdrun.Line) error {
		if l.Stream == cmdrun.Stderr {
			stderr = append(stderr, l.Text)
			return emit(sdk.Stderr(l.Text))
		}
		return emit(sdk.Stdout(l.Text))
	})
	switch {
	case ctx.Err() != nil:
		return status.FromContextError(ctx.Err()).Err()
	case errors.Is(err, cmdrun.ErrStart), errors.Is(err, cmdrun.ErrSignaled):
		return finish(emit, false, int32(code), "reboot: "+oneLine(err.Error()), detail{Error: oneLine(err.Error())})
	case err != nil:
		return err // emit failed: the host is gone
	case code != 0:
		msg := fmt.Sprintf("%s exited %d", cmd.Path, code)
		if len(stderr) > 0 {
			msg += ": " + stderr[0]
		}
		return finish(emit, false, int32(code), "reboot: "+oneLine(msg), detail{Error: oneLine(msg)})
	}
	return finish(emit, true, 0, "reboot scheduled for "+at, detail{Rebooting: true, At: at})
}

// command returns the command to run for prm and the delay it applies,
// or nil when the reboot goes through the OS API.
func (p *Plugin) command(prm params) (*cmdrun.Cmd, time.Duration) {
	args, wait := shutdownArgs(prm)
	if override := p.cfg.Getenv(CommandEnv); override != "" {
		return &cmdrun.Cmd{Path: override, Args: args}, wait
	}
	switch p.cfg.GOOS {
	case "linux":
		return &cmdrun.Cmd{Path: "shutdown", Args: args}, wait
	case "windows":
		return nil, prm.delay.Truncate(time.Second)
	}
	return nil, wait
}

func finish(emit func(*sdk.RunEvent) error, ok bool, code int32, summary string, d detail) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return emit(sdk.Result(ok, code, summary, b))
}

// oneLine keeps the first line of s, at most 256 bytes.
func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 256 {
		s = strings.ToValidUTF8(s[:256], "")
	}
	return s
}
