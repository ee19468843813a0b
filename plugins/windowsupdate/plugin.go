package windowsupdate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/internal/version"
	"github.com/vigil-rmm/vigil/plugins/sdk"
	"github.com/vigil-rmm/vigil/plugins/windowsupdate/wua"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// Name is the plugin's name and PatchScan.source.
const Name = "windowsupdate"

// Options configures a Plugin. The zero value is the production plugin.
type Options struct {
	// Searcher is the OS edge; nil means the platform's WUA searcher.
	Searcher Searcher
	// Installer is Run's OS edge; nil means the platform's WUA installer.
	Installer Installer
	// Logger receives warnings (WUA search warnings); nil discards them.
	Logger *slog.Logger
	// Now is the clock for PatchScan.duration_ms; nil means time.Now.
	Now func() time.Time
}

// Plugin lists and installs Windows updates. It implements sdk.Plugin,
// sdk.Inspector and sdk.Runner, and declares the "downtime" capability.
type Plugin struct {
	searcher  Searcher
	installer Installer
	log       *slog.Logger
	now       func() time.Time
}

var (
	_ sdk.Plugin    = (*Plugin)(nil)
	_ sdk.Inspector = (*Plugin)(nil)
)

// New returns a Plugin.
func New(o Options) *Plugin {
	p := &Plugin{searcher: o.Searcher, installer: o.Installer, log: o.Logger, now: o.Now}
	if p.searcher == nil {
		p.searcher = newSearcher()
	}
	if p.installer == nil {
		p.installer = newInstaller()
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now = time.Now
	}
	return p
}

// Info describes the plugin.
func (p *Plugin) Info(context.Context) (*sdk.InfoResponse, error) {
	return &sdk.InfoResponse{Name: Name, Version: version.String(), Capabilities: []string{sdk.CapDowntime},
		Parameters: append(parameterSpecs(), runParameterSpecs()...)}, nil
}

// Inspect scans for updates. Its Result is a marshalled agentv1.PatchScan.
// It fails only for invalid parameters (InvalidArgument) or when ctx ends
// between two steps of the scan; every WUA failure is reported inside the
// PatchScan.
func (p *Plugin) Inspect(ctx context.Context, params map[string]string) (*sdk.InspectResponse, error) {
	cfg, err := parseParams(params)
	if err != nil {
		return nil, err
	}
	start := p.now()
	scan, err := p.scan(ctx, cfg)
	if err != nil {
		return nil, status.FromContextError(err).Err()
	}
	scan.DurationMs = durationMS(p.now().Sub(start))
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(scan)
	if err != nil {
		return nil, fmt.Errorf("marshal patch scan: %w", err)
	}
	return &sdk.InspectResponse{Result: b, Summary: Summary(scan)}, nil
}

func durationMS(d time.Duration) uint32 {
	ms := d.Milliseconds()
	if ms < 0 {
		return 0
	}
	return uint32(min(ms, int64(^uint32(0))))
}

// queries returns the pending and installed-awaiting-reboot searches.
func (c config) queries() (pending, awaiting Query, err error) {
	crit, err := wua.Criteria(wua.SearchOptions{SoftwareOnly: !c.includeDrivers})
	if err != nil {
		return Query{}, Query{}, err
	}
	awaitingCrit := wua.InstalledAwaitingReboot
	if !c.includeDrivers {
		awaitingCrit += " and Type='Software'"
	}
	q := Query{Online: c.online, Server: c.server, ServiceID: c.serviceID}
	pending, awaiting = q, q
	pending.Criteria, awaiting.Criteria = crit, awaitingCrit
	return pending, awaiting, nil
}

// scan runs both searches and reads the reboot flag. It returns an error
// only when ctx ends; every other failure is in the PatchScan.
func (p *Plugin) scan(ctx context.Context, cfg config) (*agentv1.PatchScan, error) {
	pendingQ, awaitingQ, err := cfg.queries()
	if err != nil {
		return failedScan(err), nil
	}
	var lists [2][]wua.Update
	for i, q := range []Query{pendingQ, awaitingQ} {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res, err := p.searcher.Search(ctx, q)
		if err == nil {
			err = p.checkResult(ctx, q, res)
		}
		if err != nil {
			return failedScan(err), nil
		}
		lists[i] = res.Updates
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	reboot, err := p.searcher.RebootRequired(ctx)
	if err != nil {
		return failedScan(err), nil
	}
	return &agentv1.PatchScan{
		Source:                  Name,
		Status:                  agentv1.ScanStatus_SCAN_STATUS_OK,
		Pending:                 PendingUpdates(lists[0]),
		InstalledAwaitingReboot: PendingUpdates(lists[1]),
		RebootRequired:          reboot,
	}, nil
}

func firstFailure(ws []Warning) (Warning, bool) {
	for _, w := range ws {
		if w.HResult&0x80000000 != 0 {
			return w, true
		}
	}
	return Warning{}, false
}

// checkResult judges an ISearchResult. Succeeded is fine. SucceededWithErrors
// still returns usable updates: its warnings are logged and the lists kept,
// as ansible.windows win_updates does (platform-notes §1.2). Anything else
// (Failed, Aborted, or a job that never finished) is a *ResultError.
func (p *Plugin) checkResult(ctx context.Context, q Query, res *SearchResult) error {
	switch res.ResultCode {
	case wua.Succeeded:
		return nil
	case wua.SucceededWithErrors:
		for _, w := range res.Warnings {
			p.log.WarnContext(ctx, "search warning", "criteria", q.Criteria,
				"hresult", wua.HRESULT(w.HResult).String(), "message", w.Message, "context", w.Context)
		}
		if len(res.Warnings) == 0 {
			p.log.WarnContext(ctx, "search succeeded with errors", "criteria", q.Criteria)
		}
		return nil
	}
	return &ResultError{Code: res.ResultCode, Warnings: res.Warnings}
}

// failedScan maps a search failure to a PatchScan: FAILED with the WU_E_*
// name (or the hex value) of the HRESULT, or UNAVAILABLE on an OS without
// WUA.
func failedScan(err error) *agentv1.PatchScan {
	s := &agentv1.PatchScan{Source: Name, Status: agentv1.ScanStatus_SCAN_STATUS_FAILED}
	var he *HRESULTError
	var re *ResultError
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		s.Status = agentv1.ScanStatus_SCAN_STATUS_UNAVAILABLE
		s.ErrorCode, s.ErrorMessage = CodeUnsupportedOS, err.Error()
	case errors.As(err, &he):
		s.ErrorCode, s.ErrorMessage = codeAndMessage(he.Code, he.Description)
	case errors.As(err, &re):
		if w, ok := firstFailure(re.Warnings); ok {
			s.ErrorCode, s.ErrorMessage = codeAndMessage(w.HResult, w.Message)
		} else {
			s.ErrorCode, s.ErrorMessage = "search_"+snake(re.Code.String()), re.Error()
		}
	default:
		s.ErrorCode, s.ErrorMessage = CodeUnexpected, err.Error()
	}
	return s
}

// codeAndMessage names an HRESULT: the WU_E_* name and its message from the
// table, or the hex value and the COM description when the table lacks it.
func codeAndMessage(hr uint32, description string) (code, message string) {
	c := wua.HRESULT(hr)
	if c.Name != "" {
		return c.Name, c.Message
	}
	if description != "" {
		return c.Hex(), description
	}
	return c.Hex(), "Windows Update returned " + c.Hex() + "."
}

// snake turns "SucceededWithErrors" into "succeeded_with_errors".
func snake(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			if i > 0 {
				b = append(b, '_')
			}
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return string(b)
}
