package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vigil-rmm/vigil/plugins/internal/cmdrun"
	"github.com/vigil-rmm/vigil/plugins/sdk"
)

// unitState is what systemctl show reports.
type unitState struct {
	load, active, sub string
}

func (s unitState) String() string {
	if s.sub == "" {
		return s.active
	}
	return s.active + "/" + s.sub
}

// parseShow parses "systemctl show --property=..." output.
func parseShow(out string) unitState {
	var s unitState
	for line := range strings.Lines(out) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch k {
		case "LoadState":
			s.load = v
		case "ActiveState":
			s.active = v
		case "SubState":
			s.sub = v
		}
	}
	return s
}

// systemd performs prm with systemctl (or its stand-in bin). Its error is
// only an emit failure.
func (p *Plugin) systemd(ctx context.Context, bin string, prm params, emit func(*sdk.RunEvent) error) (outcome, error) {
	var o outcome
	before, err := p.show(ctx, bin, prm.name)
	if err != nil {
		o.detail.Error = err.Error()
		return o, nil
	}
	o.detail.StateBefore = before.String()
	if before.load == "not-found" {
		o.detail.StateAfter = o.detail.StateBefore
		o.detail.Error = ErrNotFound.Error()
		return o, nil
	}
	if prm.action == ActionStatus {
		o.ok, o.detail.StateAfter = true, o.detail.StateBefore
		return o, nil
	}
	var stderr string
	code, err := p.cfg.Runner.Run(ctx, cmdrun.Cmd{Path: bin, Args: []string{prm.action, "--", prm.name}, Env: systemdEnv},
		func(l cmdrun.Line) error {
			if l.Stream == cmdrun.Stderr {
				if stderr == "" {
					stderr = l.Text
				}
				return emit(sdk.Stderr(l.Text))
			}
			return emit(sdk.Stdout(l.Text))
		})
	o.exitCode = int32(code)
	switch {
	case ctx.Err() != nil:
		o.detail.Error = bin + " " + prm.action + " did not finish"
		// Read the state after the deadline with a fresh, short budget.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), showTimeout)
		defer cancel()
		if after, err := p.show(sctx, bin, prm.name); err == nil {
			o.detail.StateAfter = after.String()
		}
		return o, nil
	case err != nil && !errors.Is(err, cmdrun.ErrStart) && !errors.Is(err, cmdrun.ErrSignaled):
		return o, err
	case err != nil:
		o.detail.Error = err.Error()
		return o, nil
	}
	after, serr := p.show(ctx, bin, prm.name)
	if serr != nil {
		o.detail.Error = serr.Error()
		return o, nil
	}
	o.detail.StateAfter = after.String()
	want := after.active == "active"
	if prm.action == ActionStop {
		want = after.active == "inactive" || after.active == "failed"
	}
	switch {
	case code != 0:
		o.detail.Error = fmt.Sprintf("%s exited %d", bin, code)
		if stderr != "" {
			o.detail.Error += ": " + stderr
		}
	case !want:
		o.detail.Error = "unit is " + after.String() + " afterwards"
	default:
		o.ok = true
	}
	return o, nil
}

// systemdEnv keeps systemctl's output plain and free of a pager.
var systemdEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0"}

// show reads the unit's state.
func (p *Plugin) show(ctx context.Context, bin, name string) (unitState, error) {
	var lines []cmdrun.Line
	code, err := p.cfg.Runner.Run(ctx, cmdrun.Cmd{Path: bin,
		Args: []string{"show", "--property=LoadState,ActiveState,SubState", "--", name}, Env: systemdEnv}, cmdrun.Collect(&lines))
	if err != nil {
		return unitState{}, fmt.Errorf("%s show: %w", bin, err)
	}
	if code != 0 {
		msg := strings.TrimSpace(cmdrun.Text(lines, cmdrun.Stderr))
		msg, _, _ = strings.Cut(msg, "\n")
		return unitState{}, fmt.Errorf("%s show exited %d: %s", bin, code, msg)
	}
	s := parseShow(cmdrun.Text(lines, cmdrun.Stdout))
	if s.load == "" || s.active == "" {
		return s, fmt.Errorf("%s show: no LoadState or ActiveState in its output", bin)
	}
	return s, nil
}
