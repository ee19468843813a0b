package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/console/client"
	"github.com/vigil-rmm/vigil/internal/cli"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// maxRescanWait is the longest wait the controller accepts
// (RescanAgentRequest.wait_seconds).
const maxRescanWait = time.Hour

// rescanView is what `agents rescan -o json` prints.
type rescanView struct {
	AgentID   string    `json:"agent_id"`
	RequestID string    `json:"request_id"`
	Kinds     []string  `json:"kinds"`
	Completed bool      `json:"completed"`
	Scan      *scanView `json:"scan"`
}

func agentsRescan(e *env, args []string) error {
	fs := flag.NewFlagSet("agents rescan", flag.ContinueOnError)
	kind := fs.String("kind", "", "what to scan, comma-separated: patches, reboot, inventory (default all)")
	wait := fs.Bool("wait", false, "wait until every result is stored, then print the scan")
	timeout := fs.Duration("timeout", 10*time.Minute, "with --wait: how long to wait, 1s to 1h")
	pos, o, err := parse(fs, args, []string{"table", "json"}, "AGENT")
	if err != nil {
		return err
	}
	ks, err := parseEnumList("kind", *kind, agentv1.StateKind_value, "STATE_KIND_", "unspecified")
	if err != nil {
		return cli.Usagef("agents rescan: %v", err)
	}
	timeoutSet := false
	fs.Visit(func(f *flag.Flag) { timeoutSet = timeoutSet || f.Name == "timeout" })
	switch {
	case timeoutSet && !*wait:
		return cli.Usagef("agents rescan: --timeout applies only with --wait; add --wait or drop --timeout")
	case *wait && (*timeout < time.Second || *timeout > maxRescanWait):
		return cli.Usagef("agents rescan: --timeout %s: want from 1s to %s", *timeout, maxRescanWait)
	}
	agent := pos[0]
	req := &managev1.RescanAgentRequest{AgentId: agent}
	kinds := []string{}
	for _, k := range ks {
		req.Kinds = append(req.Kinds, agentv1.StateKind(k))
		kinds = append(kinds, stateKindLabel(agentv1.StateKind(k)))
	}
	if len(kinds) == 0 {
		_, kinds = enumValues(agentv1.StateKind_value, "STATE_KIND_", "unspecified")
	}
	callTimeout := e.timeout
	if *wait {
		req.WaitSeconds = uint32((*timeout + time.Second - 1) / time.Second)
		// The controller ends the wait; the call's own deadline allows for
		// that answer to arrive.
		callTimeout += *timeout
	}
	return callWithin(e, callTimeout, func(ctx context.Context, c *client.Client) error {
		var p peer.Peer
		r, err := c.RescanAgent(ctx, req, grpc.Peer(&p))
		if err != nil {
			return rescanError(agent, *wait, *timeout, p.Addr != nil, err)
		}
		v := rescanView{AgentID: agent, RequestID: r.GetRequestId(), Kinds: kinds, Completed: r.GetCompleted(), Scan: scanOf(r.GetScan())}
		if o == "json" {
			return writeJSON(e.stdout, v)
		}
		if !v.Completed {
			fmt.Fprintf(e.stdout, "rescan of %s requested (%s): request %s\n", agent, strings.Join(kinds, ", "), v.RequestID)
			return nil
		}
		fmt.Fprintf(e.stdout, "rescan of %s completed (%s): request %s\n", agent, strings.Join(kinds, ", "), v.RequestID)
		if v.Scan == nil {
			return nil
		}
		return table(e.stdout, []string{"FIELD", "VALUE"}, scanRows(v.Scan))
	})
}

// rescanError turns the controller's refusals into advice. reached is
// true when the call got as far as the controller.
func rescanError(agent string, wait bool, timeout time.Duration, reached bool, err error) error {
	s, _ := status.FromError(err)
	switch {
	case wait && s.Code() == codes.DeadlineExceeded:
		return fmt.Errorf("no result within %s; the scan may still be running — check `vigilctl patches show %s` later", timeout, agent)
	case s.Code() == codes.FailedPrecondition, s.Code() == codes.Unavailable && reached:
		return fmt.Errorf("agent %s cannot scan now (%s: %s); it must be online and connected — check `vigilctl agents list`, retry later, or wait for its next scheduled scan",
			agent, s.Code(), s.Message())
	}
	return err
}

// callWithin is call with its own deadline.
func callWithin(e *env, d time.Duration, f func(ctx context.Context, c *client.Client) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return f(ctx, c)
}

// signalView is one reboot-required check.
type signalView struct {
	Name      string     `json:"name"`
	Present   bool       `json:"present"`
	Strength  string     `json:"strength"`
	Counts    bool       `json:"counts"`
	Detail    string     `json:"detail"`
	FirstSeen *time.Time `json:"first_seen"`
}

// rebootStateView is one agent's reboot state.
type rebootStateView struct {
	AgentID      string       `json:"agent_id"`
	Reported     bool         `json:"reported"`
	Pending      bool         `json:"pending"`
	PendingSince *time.Time   `json:"pending_since"`
	ReportedAt   *time.Time   `json:"reported_at"`
	BootTime     *time.Time   `json:"boot_time"`
	Signals      []signalView `json:"signals"`
}

func rebootStateOf(r *managev1.RebootStateView) rebootStateView {
	st := r.GetState()
	v := rebootStateView{AgentID: r.GetAgentId(), Reported: st != nil, Pending: st.GetPending(), PendingSince: unixPtr(st.GetPendingSinceUnix()),
		ReportedAt: unixMsPtr(r.GetReportedUnixMs()), BootTime: unixPtr(r.GetBootTimeUnix()), Signals: []signalView{}}
	for _, s := range st.GetSignals() {
		strength := "strong"
		if s.GetWeak() {
			strength = "weak"
		}
		v.Signals = append(v.Signals, signalView{Name: s.GetName(), Present: s.GetPresent(), Strength: strength, Counts: s.GetCounts(),
			Detail: s.GetDetail(), FirstSeen: unixPtr(s.GetFirstSeenUnix())})
	}
	return v
}

func rebootStateCmd(e *env, args []string) error {
	fs := flag.NewFlagSet("reboot-state", flag.ContinueOnError)
	pos, o, err := parse(fs, args, []string{"table", "json"}, "AGENT")
	if err != nil {
		return err
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.GetRebootState(ctx, &managev1.GetRebootStateRequest{AgentId: pos[0]})
		if err != nil {
			return err
		}
		v := rebootStateOf(r)
		if o == "json" {
			return writeJSON(e.stdout, v)
		}
		if !v.Reported {
			fmt.Fprintf(e.stdout, "agent %s has not reported its reboot state yet\n", v.AgentID)
			return nil
		}
		verdict := "no reboot pending"
		if v.Pending {
			verdict = "reboot pending"
			if v.PendingSince != nil {
				verdict += " since " + ageSince(v.PendingSince)
			}
		}
		rows := [][]string{{"agent", v.AgentID}, {"verdict", verdict}, {"booted", ageSince(v.BootTime)}, {"reported", ageSince(v.ReportedAt)}}
		if err := table(e.stdout, []string{"FIELD", "VALUE"}, rows); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout)
		var sr [][]string
		for _, s := range v.Signals {
			present := "no"
			if s.Present {
				present = "yes"
			}
			sr = append(sr, []string{s.Name, present, s.Strength, strconv.FormatBool(s.Counts), ageSince(s.FirstSeen), dash(s.Detail)})
		}
		return table(e.stdout, []string{"SIGNAL", "PRESENT", "STRENGTH", "COUNTS", "FIRST SEEN", "DETAIL"}, sr)
	})
}
