package pkgupdate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/internal/version"
	"github.com/vigil-rmm/vigil/plugins/internal/cmdrun"
	"github.com/vigil-rmm/vigil/plugins/pkgupdate/apt"
	"github.com/vigil-rmm/vigil/plugins/sdk"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// Name is the plugin's name.
const Name = "pkgupdate"

// Config is the host a Plugin runs on. The zero value is the live host;
// tests replace the edges.
type Config struct {
	// Runner runs commands; nil means apt.ExecRunner.
	Runner Runner
	// LookPath finds a command on PATH; nil means exec.LookPath.
	LookPath func(file string) (string, error)
	// Root is where run/reboot-required is read; "" means "/".
	Root string
	// Arch is the native architecture as rpm names it; "" means the
	// kernel's machine name (uname -m).
	Arch string
	// Now is the clock for duration_ms; nil means time.Now.
	Now func() time.Time
	// AptOptions are extra apt "Name=value" configuration items passed to
	// every apt-get call.
	AptOptions []string
	// Exec runs the upgrade commands of Run, streaming their output; nil
	// means cmdrun.Exec.
	Exec cmdrun.Runner
	// Environ is the environment upgrade commands start from; nil means
	// os.Environ.
	Environ func() []string
}

func (c Config) withDefaults() Config {
	if c.Runner == nil {
		c.Runner = apt.ExecRunner{}
	}
	if c.LookPath == nil {
		c.LookPath = exec.LookPath
	}
	if c.Root == "" {
		c.Root = "/"
	}
	if c.Arch == "" {
		c.Arch = nativeArch()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Exec == nil {
		c.Exec = cmdrun.Exec{}
	}
	if c.Environ == nil {
		c.Environ = os.Environ
	}
	return c
}

// Plugin is the pkgupdate plugin: sdk.Plugin, sdk.Inspector and sdk.Runner.
type Plugin struct {
	cfg Config
}

var (
	_ sdk.Plugin    = (*Plugin)(nil)
	_ sdk.Inspector = (*Plugin)(nil)
)

// New returns the plugin for the host cfg describes.
func New(cfg Config) *Plugin { return &Plugin{cfg: cfg.withDefaults()} }

// Info describes the plugin and its parameters.
func (p *Plugin) Info(context.Context) (*sdk.InfoResponse, error) {
	specs := append(slices.Clone(parameterSpecs), runParameterSpecs...)
	return &sdk.InfoResponse{Name: Name, Version: version.String(), Parameters: specs}, nil
}

// Inspect scans for pending updates. Its Result is a proto-encoded
// agentv1.PatchScan; a failed scan is a PatchScan with a failure status,
// not an error. Only invalid parameters fail the call, with
// codes.InvalidArgument.
func (p *Plugin) Inspect(ctx context.Context, raw map[string]string) (*sdk.InspectResponse, error) {
	prm, err := parseParams(raw)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	start := p.cfg.Now()
	scan := p.scan(ctx, prm)
	scan.DurationMs = uint32(min(p.cfg.Now().Sub(start).Milliseconds(), int64(^uint32(0))))
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(scan)
	if err != nil {
		return nil, status.Error(codes.Internal, fmt.Sprintf("encode scan: %v", err))
	}
	return &sdk.InspectResponse{Result: b, Summary: Summary(scan)}, nil
}

// scan detects the backend and runs it.
func (p *Plugin) scan(ctx context.Context, prm params) *agentv1.PatchScan {
	b, err := Detect(ctx, p.cfg, prm.manager)
	if err != nil {
		return failed(&agentv1.PatchScan{Source: Name}, err)
	}
	scan := &agentv1.PatchScan{Source: b.Source()}
	opts := prm.opts
	opts.AptOptions = p.cfg.AptOptions
	res, err := b.Scan(ctx, opts)
	if err != nil {
		return failed(scan, err)
	}
	scan.Status = agentv1.ScanStatus_SCAN_STATUS_OK
	scan.Pending = res.Pending
	scan.InstalledAwaitingReboot = res.AwaitingReboot
	scan.RebootRequired = res.RebootRequired
	return scan
}

// failed fills scan's status and error from err.
func failed(scan *agentv1.PatchScan, err error) *agentv1.PatchScan {
	var se *ScanError
	switch {
	case errors.Is(err, ErrNoPackageManager):
		scan.Status = agentv1.ScanStatus_SCAN_STATUS_UNAVAILABLE
		scan.ErrorCode = "no_package_manager"
	case errors.Is(err, context.DeadlineExceeded):
		scan.Status = agentv1.ScanStatus_SCAN_STATUS_TIMEOUT
		scan.ErrorCode = "timeout"
	case errors.Is(err, context.Canceled):
		scan.Status = agentv1.ScanStatus_SCAN_STATUS_FAILED
		scan.ErrorCode = "cancelled"
	case errors.As(err, &se):
		scan.Status = agentv1.ScanStatus_SCAN_STATUS_FAILED
		scan.ErrorCode = se.Code
		scan.ErrorMessage = se.Message
		return scan
	default:
		scan.Status = agentv1.ScanStatus_SCAN_STATUS_FAILED
		scan.ErrorCode = "internal"
	}
	scan.ErrorMessage = oneLine(err.Error())
	return scan
}

// Summary is the one-line summary of scan.
func Summary(scan *agentv1.PatchScan) string {
	src := scan.GetSource()
	if scan.GetStatus() != agentv1.ScanStatus_SCAN_STATUS_OK {
		s := fmt.Sprintf("%s: %s (%s)", src, statusWord(scan.GetStatus()), scan.GetErrorCode())
		if m := scan.GetErrorMessage(); m != "" {
			s += ": " + m
		}
		return s
	}
	sec := 0
	for _, u := range scan.GetPending() {
		if u.GetClassification() == agentv1.Classification_CLASSIFICATION_SECURITY {
			sec++
		}
	}
	s := fmt.Sprintf("%s: %d pending (%d security)", src, len(scan.GetPending()), sec)
	if n := len(scan.GetInstalledAwaitingReboot()); n > 0 || scan.GetRebootRequired() {
		s += fmt.Sprintf(", reboot required (%d installed awaiting reboot)", n)
	}
	return s
}

func statusWord(s agentv1.ScanStatus) string {
	switch s {
	case agentv1.ScanStatus_SCAN_STATUS_UNAVAILABLE:
		return "unavailable"
	case agentv1.ScanStatus_SCAN_STATUS_TIMEOUT:
		return "timed out"
	}
	return "failed"
}
