package script

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/internal/version"
	"github.com/vigil-rmm/vigil/plugins/internal/cmdrun"
	"github.com/vigil-rmm/vigil/plugins/sdk"
)

// Name is the plugin's name.
const Name = "script"

// Parameter names.
const (
	ParamScript      = "script"
	ParamInterpreter = "interpreter"
	ParamTimeout     = "timeout"
	ParamOutputLimit = "output_limit"
)

// Limits and defaults.
const (
	MaxScript          = 128 << 10
	DefaultTimeout     = 10 * time.Minute
	MaxTimeout         = 24 * time.Hour
	DefaultOutputLimit = 1 << 20
	MaxOutputLimit     = 1 << 20
	truncatedLine      = "[output truncated]"
)

// interpreter is how one interpreter runs a script file.
type interpreter struct {
	program string
	ext     string
	args    func(file string) []string
}

func psArgs(file string) []string {
	return []string{"-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File", file}
}

// interpreters per GOOS; the first listed is the default.
var interpreters = map[string][]string{
	"windows": {"powershell", "pwsh", "cmd"},
	"other":   {"sh", "bash"},
}

var byName = map[string]interpreter{
	"sh":         {"sh", ".sh", func(f string) []string { return []string{f} }},
	"bash":       {"bash", ".sh", func(f string) []string { return []string{f} }},
	"powershell": {"powershell.exe", ".ps1", psArgs},
	"pwsh":       {"pwsh.exe", ".ps1", psArgs},
	"cmd":        {"cmd.exe", ".cmd", func(f string) []string { return []string{"/D", "/C", f} }},
}

// Config is the host a Plugin runs on; the zero value is the live host.
type Config struct {
	// Runner runs the interpreter; nil means cmdrun.Exec.
	Runner cmdrun.Runner
	// GOOS picks the interpreters; "" means the running system.
	GOOS string
	// TempDir is where the private directories are made; "" means
	// os.TempDir.
	TempDir string
	// Environ is the plugin's environment the minimal one is taken from;
	// nil means os.Environ.
	Environ func() []string
	// Now is the clock for duration_ms; nil means time.Now.
	Now func() time.Time
}

// Plugin runs scripts. It implements sdk.Plugin and sdk.Runner.
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
	if cfg.GOOS == "" {
		cfg.GOOS = runtime.GOOS
	}
	if cfg.Environ == nil {
		cfg.Environ = os.Environ
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Plugin{cfg: cfg}
}

func (p *Plugin) interpreters() []string {
	if p.cfg.GOOS == "windows" {
		return interpreters["windows"]
	}
	return interpreters["other"]
}

// Info describes the plugin.
func (p *Plugin) Info(context.Context) (*sdk.InfoResponse, error) {
	names := p.interpreters()
	return &sdk.InfoResponse{
		Name:    Name,
		Version: version.String(),
		Parameters: []*sdk.ParameterSpec{
			{Name: ParamScript, Type: "string", Required: true, Description: "the script text, at most 128 KiB"},
			{Name: ParamInterpreter, Type: "string", Description: strings.Join(names, ", ") + "; default " + names[0]},
			{Name: ParamTimeout, Type: "duration", Description: "kill the script after this long, 1s to 24h; default 10m"},
			{Name: ParamOutputLimit, Type: "int", Description: "bytes of output forwarded, 0 to 1048576; default 1048576"},
		},
	}, nil
}

// params are validated Run parameters.
type params struct {
	script      string
	interp      string
	timeout     time.Duration
	outputLimit int
}

func (p *Plugin) parseParams(raw map[string]string) (params, error) {
	names := p.interpreters()
	prm := params{interp: names[0], timeout: DefaultTimeout, outputLimit: DefaultOutputLimit}
	for _, k := range sdk.ParamKeys(raw) {
		v := raw[k]
		switch k {
		case ParamScript:
			switch {
			case strings.TrimSpace(v) == "":
				return prm, sdk.InvalidParam(k, "empty")
			case len(v) > MaxScript:
				return prm, sdk.InvalidParam(k, "%d bytes, more than %d", len(v), MaxScript)
			case !utf8.ValidString(v) || strings.ContainsRune(v, 0):
				return prm, sdk.InvalidParam(k, "not text (invalid UTF-8 or a NUL byte)")
			}
			prm.script = v
		case ParamInterpreter:
			if !slices.Contains(names, v) {
				return prm, sdk.InvalidParam(k, "%q is not one of %s", v, strings.Join(names, ", "))
			}
			prm.interp = v
		case ParamTimeout:
			d, err := sdk.DurationParam(k, v, time.Second, MaxTimeout)
			if err != nil {
				return prm, err
			}
			prm.timeout = d
		case ParamOutputLimit:
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > MaxOutputLimit {
				return prm, sdk.InvalidParam(k, "%q is not a number of bytes between 0 and %d", v, MaxOutputLimit)
			}
			prm.outputLimit = n
		default:
			return prm, sdk.InvalidParam(k, "unknown parameter")
		}
	}
	if prm.script == "" {
		return prm, sdk.InvalidParam(ParamScript, "required")
	}
	return prm, nil
}

// detail is the Result detail.
type detail struct {
	ExitCode    int    `json:"exit_code"`
	DurationMS  int64  `json:"duration_ms"`
	OutputBytes int    `json:"output_bytes"`
	Truncated   bool   `json:"truncated"`
	TimedOut    bool   `json:"timed_out"`
	Error       string `json:"error,omitempty"`
}

// limiter forwards lines until limit bytes have gone out, then one
// truncation notice, then nothing.
type limiter struct {
	emit      func(*sdk.RunEvent) error
	limit     int
	sent      int
	truncated bool
}

func (l *limiter) line(ln cmdrun.Line) error {
	if l.truncated {
		return nil
	}
	n := len(ln.Text) + 1
	if l.sent+n > l.limit {
		l.truncated = true
		return l.emit(sdk.Stderr(truncatedLine))
	}
	l.sent += n
	if ln.Stream == cmdrun.Stderr {
		return l.emit(sdk.Stderr(ln.Text))
	}
	return l.emit(sdk.Stdout(ln.Text))
}

// Run runs the script.
func (p *Plugin) Run(ctx context.Context, req *sdk.RunRequest, emit func(*sdk.RunEvent) error) error {
	prm, err := p.parseParams(req.GetParameters())
	if err != nil {
		return err
	}
	in := byName[prm.interp]
	dir, err := os.MkdirTemp(p.cfg.TempDir, "vigil-script-")
	if err != nil {
		return finish(emit, false, -1, "script: "+err.Error(), detail{ExitCode: -1, Error: err.Error()})
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "script"+in.ext)
	body := prm.script
	if in.ext == ".cmd" {
		body = strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n")
	}
	// MkdirTemp makes the directory 0700 already; Chmod makes sure on
	// systems where it does not.
	err = os.Chmod(dir, 0o700)
	if err == nil {
		err = os.WriteFile(file, []byte(body), 0o700)
	}
	if err != nil {
		return finish(emit, false, -1, "script: write script: "+err.Error(), detail{ExitCode: -1, Error: err.Error()})
	}
	if err := emit(sdk.Progress(-1, "running "+prm.interp+" script")); err != nil {
		return err
	}
	runCtx, cancel := context.WithTimeout(ctx, prm.timeout)
	defer cancel()
	lim := &limiter{emit: emit, limit: prm.outputLimit}
	start := p.cfg.Now()
	code, err := p.cfg.Runner.Run(runCtx, cmdrun.Cmd{
		Path: in.program,
		Args: in.args(file),
		Env:  p.env(dir),
		Dir:  dir,
	}, lim.line)
	d := detail{ExitCode: code, DurationMS: p.cfg.Now().Sub(start).Milliseconds(), OutputBytes: lim.sent, Truncated: lim.truncated}
	switch {
	case ctx.Err() != nil:
		return status.FromContextError(ctx.Err()).Err()
	case errors.Is(err, context.DeadlineExceeded) && runCtx.Err() != nil:
		d.TimedOut = true
		return finish(emit, false, int32(code), fmt.Sprintf("script: killed after the %s timeout", prm.timeout), d)
	case errors.Is(err, cmdrun.ErrStart), errors.Is(err, cmdrun.ErrSignaled):
		d.Error = err.Error()
		return finish(emit, false, int32(code), "script: "+err.Error(), d)
	case err != nil:
		return err // emit failed: the host is gone
	case code != 0:
		return finish(emit, false, int32(code), fmt.Sprintf("script exited %d", code), d)
	}
	return finish(emit, true, 0, "script exited 0", d)
}

// env is the script's minimal environment.
func (p *Plugin) env(dir string) []string {
	own := map[string]string{}
	for _, kv := range p.cfg.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			own[strings.ToUpper(k)] = k + "=" + v
		}
	}
	var env []string
	if p.cfg.GOOS == "windows" {
		for _, k := range []string{"PATH", "PATHEXT", "SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PROGRAMDATA", "PROGRAMFILES", "PSMODULEPATH"} {
			if kv, ok := own[k]; ok {
				env = append(env, kv)
			}
		}
		return append(env, "TEMP="+dir, "TMP="+dir)
	}
	path, ok := own["PATH"]
	if !ok {
		path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	return []string{path, "LANG=C.UTF-8"}
}

func finish(emit func(*sdk.RunEvent) error, ok bool, code int32, summary string, d detail) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	summary, _, _ = strings.Cut(summary, "\n")
	return emit(sdk.Result(ok, code, summary, b))
}
