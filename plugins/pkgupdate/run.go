package pkgupdate

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/plugins/internal/cmdrun"
	"github.com/vigil-rmm/vigil/plugins/sdk"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

var _ sdk.Runner = (*Plugin)(nil)

// Run parameter names (with the Inspect ones, which Run accepts too).
const (
	ParamPackages     = "packages"
	ParamSecurityOnly = "security_only"
	ParamAll          = "all"
)

// maxPackages bounds the "packages" list.
const maxPackages = 500

// runParameterSpecs are the parameters only Run accepts.
var runParameterSpecs = []*sdk.ParameterSpec{
	{Name: ParamPackages, Type: "list", Description: "Run: packages to upgrade (comma-separated); exactly one of packages, security_only, all"},
	{Name: ParamSecurityOnly, Type: "bool", Description: "Run: upgrade every pending security update"},
	{Name: ParamAll, Type: "bool", Description: "Run: upgrade every pending update"},
}

// selection is what Run upgrades.
type selection int

const (
	selPackages selection = iota + 1
	selSecurity
	selAll
)

// runParams are validated Run parameters.
type runParams struct {
	params
	sel      selection
	packages []string
}

// parseRunParams validates raw: the Inspect parameters plus exactly one
// selection.
func parseRunParams(raw map[string]string) (runParams, error) {
	var rp runParams
	rest := map[string]string{}
	n := 0
	for _, k := range sdk.ParamKeys(raw) {
		v := raw[k]
		switch k {
		case ParamPackages:
			pkgs, err := parsePackages(v)
			if err != nil {
				return rp, err
			}
			rp.sel, rp.packages = selPackages, pkgs
			n++
		case ParamSecurityOnly, ParamAll:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return rp, &ParamError{k, fmt.Sprintf("%q is not a bool", v)}
			}
			if b {
				rp.sel = map[string]selection{ParamSecurityOnly: selSecurity, ParamAll: selAll}[k]
				n++
			}
		default:
			rest[k] = v
		}
	}
	if n != 1 {
		name := ParamPackages
		if n > 1 {
			// Name one that is set.
			for _, k := range []string{ParamAll, ParamSecurityOnly} {
				if _, ok := raw[k]; ok {
					name = k
				}
			}
		}
		return rp, &ParamError{name, "give exactly one of packages, security_only=true, all=true"}
	}
	var err error
	rp.params, err = parseParams(rest)
	return rp, err
}

// parsePackages parses a comma-separated list of package names, each
// possibly with an ":arch" qualifier, de-duplicated in order.
func parsePackages(v string) ([]string, error) {
	var pkgs []string
	for p := range strings.SplitSeq(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !validPackageName(p) || strings.Count(p, ":") > 1 {
			return nil, &ParamError{ParamPackages, fmt.Sprintf("%q is not a package name", p)}
		}
		if !slices.Contains(pkgs, p) {
			pkgs = append(pkgs, p)
		}
	}
	switch {
	case len(pkgs) == 0:
		return nil, &ParamError{ParamPackages, "empty list"}
	case len(pkgs) > maxPackages:
		return nil, &ParamError{ParamPackages, fmt.Sprintf("%d packages, more than %d", len(pkgs), maxPackages)}
	}
	return pkgs, nil
}

// target is one package Run upgrades.
type target struct {
	// id is the package as reported: name, or name:arch for a foreign
	// architecture.
	id string
	// name and arch split id; arch is "" when not qualified.
	name, arch string
	// before is the installed version before the upgrade.
	before string
	// candidate is the version the scan offered.
	candidate string
}

func splitID(id string) (name, arch string) {
	name, arch, _ = strings.Cut(id, ":")
	return name, arch
}

// upgrader is a Backend that can also upgrade.
type upgrader interface {
	Backend
	// upgradeCmd is the command that upgrades targets for sel.
	upgradeCmd(sel selection, targets []target, opts Options) cmdrun.Cmd
	// versions returns the installed version of each id ("" when it is not
	// installed).
	versions(ctx context.Context, ids []string) (map[string]string, error)
}

// Upgraded is one package whose version changed.
type Upgraded struct {
	Package string `json:"package"`
	From    string `json:"from"`
	To      string `json:"to"`
}

// Failed is one package that was not upgraded.
type Failed struct {
	Package string `json:"package"`
	Version string `json:"version,omitempty"`
	Reason  string `json:"reason"`
}

// Current is one requested package that had no update pending.
type Current struct {
	Package string `json:"package"`
	Version string `json:"version"`
}

// RunDetail is the Result detail of Run.
type RunDetail struct {
	Source   string     `json:"source"`
	Upgraded []Upgraded `json:"upgraded"`
	Failed   []Failed   `json:"failed"`
	Current  []Current  `json:"current,omitempty"`
	Error    string     `json:"error,omitempty"`
}

// Run upgrades packages; see the package comment.
func (p *Plugin) Run(ctx context.Context, req *sdk.RunRequest, emit func(*sdk.RunEvent) error) error {
	rp, err := parseRunParams(req.GetParameters())
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	d, code, err := p.upgrade(ctx, rp, emit)
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	if err != nil {
		return err // emit failed: the host is gone
	}
	ok := d.Error == "" && len(d.Failed) == 0 && code == 0
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if len(b) > maxDetail {
		d.Current = nil
		d.Upgraded = d.Upgraded[:min(len(d.Upgraded), 100)]
		d.Failed = d.Failed[:min(len(d.Failed), 100)]
		d.Error = cmp.Or(d.Error, "detail cut to fit 64 KiB")
		if b, err = json.Marshal(d); err != nil {
			return err
		}
	}
	return emit(sdk.Result(ok, int32(code), runSummary(d), b))
}

// maxDetail is the largest Result detail, in bytes.
const maxDetail = 64 << 10

// upgrade does the work of Run. Its error is an emit failure; everything
// else is in the detail.
func (p *Plugin) upgrade(ctx context.Context, rp runParams, emit func(*sdk.RunEvent) error) (RunDetail, int, error) {
	d := RunDetail{Source: Name, Upgraded: []Upgraded{}, Failed: []Failed{}}
	b, err := Detect(ctx, p.cfg, rp.manager)
	if err != nil {
		d.Error = err.Error()
		return d, 0, nil
	}
	d.Source = b.Source()
	up, ok := b.(upgrader)
	if !ok {
		d.Error = "backend " + b.Source() + " cannot upgrade"
		return d, 0, nil
	}
	if err := emit(sdk.Progress(0, "scanning with "+b.Source())); err != nil {
		return d, 0, err
	}
	opts := rp.opts
	opts.AptOptions = p.cfg.AptOptions
	res, err := b.Scan(ctx, opts)
	if err != nil {
		d.Error = "scan: " + failed(&agentv1.PatchScan{}, err).GetErrorMessage()
		if d.Error == "scan: " {
			d.Error += failed(&agentv1.PatchScan{}, err).GetErrorCode()
		}
		return d, 0, nil
	}
	targets, err := p.targets(ctx, up, rp, res.Pending, &d)
	if err != nil {
		d.Error = err.Error()
		return d, 0, nil
	}
	if len(targets) == 0 {
		return d, 0, emit(sdk.Progress(100, "nothing to upgrade"))
	}
	if err := emit(sdk.Progress(10, fmt.Sprintf("upgrading %d packages", len(targets)))); err != nil {
		return d, 0, err
	}
	cmd := up.upgradeCmd(rp.sel, targets, opts)
	var firstErr string
	code, err := p.cfg.Exec.Run(ctx, cmd, func(l cmdrun.Line) error {
		if l.Stream == cmdrun.Stderr {
			if firstErr == "" && (strings.HasPrefix(l.Text, "E: ") || strings.HasPrefix(l.Text, "Error")) {
				firstErr = l.Text
			}
			return emit(sdk.Stderr(l.Text))
		}
		return emit(sdk.Stdout(l.Text))
	})
	switch {
	case ctx.Err() != nil:
		return d, code, nil
	case errors.Is(err, cmdrun.ErrStart), errors.Is(err, cmdrun.ErrSignaled):
		d.Error = err.Error()
	case err != nil:
		return d, code, err
	case code != 0:
		d.Error = fmt.Sprintf("%s exited %d", cmd.Path, code)
		if firstErr != "" {
			d.Error += ": " + oneLine(firstErr)
		}
	}
	if err := emit(sdk.Progress(90, "reading installed versions")); err != nil {
		return d, code, err
	}
	ids := make([]string, len(targets))
	for i, t := range targets {
		ids[i] = t.id
	}
	after, verr := up.versions(ctx, ids)
	if verr != nil {
		d.Error = cmp.Or(d.Error, "read versions: "+verr.Error())
	}
	for _, t := range targets {
		v := after[t.id]
		switch {
		case verr != nil:
			d.Failed = append(d.Failed, Failed{Package: t.id, Version: t.before, Reason: "installed version unknown"})
		case v == "":
			d.Failed = append(d.Failed, Failed{Package: t.id, Reason: "not installed after the upgrade"})
		case v == t.before:
			d.Failed = append(d.Failed, Failed{Package: t.id, Version: v, Reason: "still at " + v + ", " + t.candidate + " was available"})
		default:
			d.Upgraded = append(d.Upgraded, Upgraded{Package: t.id, From: t.before, To: v})
		}
	}
	return d, code, emit(sdk.Progress(100, fmt.Sprintf("%d upgraded, %d failed", len(d.Upgraded), len(d.Failed))))
}

// targets picks the packages to upgrade from the pending updates. A
// requested package with nothing pending is reported current (or failed
// when it is not installed).
func (p *Plugin) targets(ctx context.Context, up upgrader, rp runParams, pending []*agentv1.PendingUpdate, d *RunDetail) ([]target, error) {
	var out []target
	add := func(u *agentv1.PendingUpdate) {
		name, arch := splitID(u.GetId())
		out = append(out, target{id: u.GetId(), name: name, arch: arch, before: u.GetCurrentVersion(), candidate: u.GetAvailableVersion()})
	}
	if rp.sel != selPackages {
		for _, u := range pending {
			if rp.sel == selAll || u.GetClassification() == agentv1.Classification_CLASSIFICATION_SECURITY {
				add(u)
			}
		}
		return out, nil
	}
	var idle []string
	for _, pkg := range rp.packages {
		i := slices.IndexFunc(pending, func(u *agentv1.PendingUpdate) bool { return u.GetId() == pkg })
		if i < 0 {
			idle = append(idle, pkg)
			continue
		}
		add(pending[i])
	}
	if len(idle) == 0 {
		return out, nil
	}
	vs, err := up.versions(ctx, idle)
	if err != nil {
		return nil, fmt.Errorf("read versions: %w", err)
	}
	for _, pkg := range idle {
		if v := vs[pkg]; v != "" {
			d.Current = append(d.Current, Current{Package: pkg, Version: v})
		} else {
			d.Failed = append(d.Failed, Failed{Package: pkg, Reason: "not installed"})
		}
	}
	return out, nil
}

func runSummary(d RunDetail) string {
	var s string
	switch {
	case d.Error != "" && len(d.Upgraded) == 0 && len(d.Failed) == 0:
		s = d.Source + ": " + d.Error
	case len(d.Upgraded) == 0 && len(d.Failed) == 0:
		s = fmt.Sprintf("%s: nothing to upgrade", d.Source)
		if len(d.Current) > 0 {
			s += fmt.Sprintf(" (%d already current)", len(d.Current))
		}
	default:
		s = fmt.Sprintf("%s: %d upgraded, %d failed", d.Source, len(d.Upgraded), len(d.Failed))
		if len(d.Failed) > 0 {
			s += " (" + d.Failed[0].Package + ": " + d.Failed[0].Reason + ")"
		} else if d.Error != "" {
			s += ": " + d.Error
		}
	}
	return oneLine(s)
}
