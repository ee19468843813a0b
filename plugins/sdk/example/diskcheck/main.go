// Command diskcheck is the example plugin of
// docs/plugins/writing-a-plugin.md. Inspect reports the free space of the
// filesystem holding a path; Run checks it against a threshold and
// succeeds when there is more free space than that.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"strconv"

	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/plugins/sdk"
)

// Name is the plugin's name: its file name and its key in manifest.json.
const Name = "diskcheck"

// Version is the plugin's own version, reported by Info.
const Version = "1.0.0"

// Parameter names and defaults. defaultPath is "/" on Unix and `C:\` on
// Windows (see free_*.go).
const (
	ParamPath           = "path"
	ParamMinFreePercent = "min_free_percent"

	defaultMinFreePercent = 10
)

// Plugin checks free disk space. It implements sdk.Plugin, sdk.Inspector
// and sdk.Runner.
type Plugin struct {
	log *slog.Logger
	// free returns the bytes available to the plugin's account and the
	// size of the filesystem holding path.
	free func(path string) (avail, total uint64, err error)
}

var (
	_ sdk.Plugin    = (*Plugin)(nil)
	_ sdk.Inspector = (*Plugin)(nil)
	_ sdk.Runner    = (*Plugin)(nil)
)

// Info describes the plugin. The SDK adds "inspect" and "run" to
// Capabilities because Plugin implements sdk.Inspector and sdk.Runner.
func (p *Plugin) Info(context.Context) (*sdk.InfoResponse, error) {
	return &sdk.InfoResponse{
		Name:    Name,
		Version: Version,
		Parameters: []*sdk.ParameterSpec{
			{Name: ParamPath, Type: "string", Description: "absolute path on the filesystem to check; default " + defaultPath},
			{Name: ParamMinFreePercent, Type: "int", Description: "least free space in percent, 0 to 100, for Run to succeed; default 10"},
		},
	}, nil
}

// params are validated parameters.
type params struct {
	path           string
	minFreePercent int
}

// parseParams validates raw, in sorted order so the error is stable;
// sdk.InvalidParam is the InvalidArgument error naming the parameter.
func parseParams(raw map[string]string) (params, error) {
	p := params{path: defaultPath, minFreePercent: defaultMinFreePercent}
	for _, k := range sdk.ParamKeys(raw) {
		v := raw[k]
		switch k {
		case ParamPath:
			if !filepath.IsAbs(v) {
				return p, sdk.InvalidParam(k, "%q is not an absolute path", v)
			}
			p.path = filepath.Clean(v)
		case ParamMinFreePercent:
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 100 {
				return p, sdk.InvalidParam(k, "%q is not a whole number from 0 to 100", v)
			}
			p.minFreePercent = n
		default:
			return p, sdk.InvalidParam(k, "unknown parameter")
		}
	}
	return p, nil
}

// Usage is the JSON result of Inspect and the detail of Run's result.
type Usage struct {
	Path           string  `json:"path"`
	FreeBytes      uint64  `json:"free_bytes"`
	TotalBytes     uint64  `json:"total_bytes"`
	FreePercent    float64 `json:"free_percent"`
	MinFreePercent int     `json:"min_free_percent,omitempty"`
	Error          string  `json:"error,omitempty"`
}

// usage reads the free space of the filesystem holding path.
func (p *Plugin) usage(path string) (Usage, error) {
	avail, total, err := p.free(path)
	if err != nil {
		return Usage{Path: path}, fmt.Errorf("free space of %s: %w", path, err)
	}
	if total == 0 {
		return Usage{Path: path}, fmt.Errorf("free space of %s: the filesystem reports a size of 0", path)
	}
	pct := float64(avail) * 100 / float64(total)
	return Usage{Path: path, FreeBytes: avail, TotalBytes: total, FreePercent: math.Floor(pct*10) / 10}, nil
}

// Inspect reports the free space of the path parameter without changing
// anything. Its result is a Usage as JSON.
func (p *Plugin) Inspect(ctx context.Context, raw map[string]string) (*sdk.InspectResponse, error) {
	prm, err := parseParams(raw)
	if err != nil {
		return nil, err
	}
	u, err := p.usage(prm.path)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(u)
	if err != nil {
		return nil, err
	}
	return &sdk.InspectResponse{Result: b, Summary: fmt.Sprintf("%s: %.1f%% free", u.Path, u.FreePercent)}, nil
}

// Run checks that the path parameter's filesystem has more than
// min_free_percent free. It emits progress, one output line and, last, a
// result: ok when above the threshold, not ok below it or when the free
// space cannot be read. A bad parameter fails the call with
// InvalidArgument before anything is emitted.
func (p *Plugin) Run(ctx context.Context, req *sdk.RunRequest, emit func(*sdk.RunEvent) error) error {
	prm, err := parseParams(req.GetParameters())
	if err != nil {
		return err
	}
	if err := emit(sdk.Progress(0, "reading the free space of "+prm.path)); err != nil {
		return err // the host is gone: stop
	}
	if err := ctx.Err(); err != nil {
		return status.FromContextError(err).Err()
	}
	u, err := p.usage(prm.path)
	u.MinFreePercent = prm.minFreePercent
	if err != nil {
		u.Error = err.Error()
		return result(emit, false, err.Error(), u)
	}
	p.log.InfoContext(ctx, "free space read", "task_id", req.GetTaskId(), "path", u.Path, "free_percent", u.FreePercent)
	line := fmt.Sprintf("%s: %d of %d bytes free (%.1f%%)", u.Path, u.FreeBytes, u.TotalBytes, u.FreePercent)
	if err := emit(sdk.Stdout(line)); err != nil {
		return err
	}
	if err := emit(sdk.Progress(100, "checked")); err != nil {
		return err
	}
	if u.FreePercent <= float64(prm.minFreePercent) {
		return result(emit, false, fmt.Sprintf("%s: %.1f%% free, not above %d%%", u.Path, u.FreePercent, prm.minFreePercent), u)
	}
	return result(emit, true, fmt.Sprintf("%s: %.1f%% free, above %d%%", u.Path, u.FreePercent, prm.minFreePercent), u)
}

// result emits the final event, with u as its JSON detail.
func result(emit func(*sdk.RunEvent) error, ok bool, summary string, u Usage) error {
	b, err := json.Marshal(u)
	if err != nil {
		return err
	}
	return emit(sdk.Result(ok, 0, summary, b))
}

func main() {
	sdk.Serve(&Plugin{log: sdk.Logger(), free: freeSpace})
}
