// Package checkrunner runs network checks on this agent when the
// controller names it as a check's vantage point: a CheckRun arrives on
// the stream, the run's result goes back as a CheckRunResult report
// through the outbox, so the agent's sequencing and acks apply to it.
//
// A check only reads: it sends a ping, opens and closes a connection,
// fetches a page or asks a DNS server. So, unlike a task, it needs no
// signature; the risk is reconnaissance of the client's network through a
// compromised controller (docs/adr/0012). The agent's local policy bounds
// it, and the controller cannot change that policy:
//
//   - checks.vantage turns vantage checks off (the agent then does not
//     announce the "checks" capability and refuses every run);
//   - checks.allow and checks.deny list addresses, CIDR prefixes and host
//     name patterns; a name is resolved first when an address rule could
//     decide, and the run then reaches the address that was checked;
//   - at most checks.max_concurrent runs at once, one run per check per
//     PerCheckEvery, PerMinute runs a minute;
//   - every run and every refusal is logged.
//
// A refused run is reported as ERR with refused_reason set, and nothing is
// sent to its target. The probes are internal/netcheck's, built from the
// spec by netcheck.FromSpec, which refuses a malformed spec; a run stops
// at the spec's timeout (netcheck.SpecTimeout: 10 s by default, at most
// 60 s).
package checkrunner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/vigil-rmm/vigil/internal/limits"
	"github.com/vigil-rmm/vigil/internal/netcheck"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// Appender persists reports in the outbox.
type Appender interface {
	Append(ctx context.Context, r *agentv1.Report) (uint64, error)
}

// Defaults.
const (
	// DefaultMaxConcurrent is the runs at once when the config sets none.
	DefaultMaxConcurrent = 4
	// DefaultSlotWait is how long a run may wait for a free slot before
	// it is refused as busy.
	DefaultSlotWait = 5 * time.Second
	// queueLen bounds the requests waiting for the runner's loop; more
	// are dropped (and logged) without an answer.
	queueLen = 64
)

// Config wires a Runner.
type Config struct {
	// Outbox receives the results.
	Outbox Appender
	// Policy is the agent's local policy.
	Policy Policy
	// Resolver resolves names for address rules; nil means the system
	// resolver.
	Resolver netcheck.Resolver
	// SlotWait bounds the wait for a free slot; zero means
	// DefaultSlotWait.
	SlotWait time.Duration
	// Now is the clock of the rate limits; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Runner admits, runs and reports check runs.
type Runner struct {
	cfg    Config
	logger *slog.Logger
	queue  chan *agentv1.CheckRun
	slots  chan struct{}
	lim    *limiter
}

// New returns a runner; call Run.
func New(cfg Config) (*Runner, error) {
	if cfg.Outbox == nil {
		return nil, errors.New("checkrunner: no outbox")
	}
	if cfg.Policy.MaxConcurrent <= 0 {
		cfg.Policy.MaxConcurrent = DefaultMaxConcurrent
	}
	if cfg.SlotWait <= 0 {
		cfg.SlotWait = DefaultSlotWait
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{cfg: cfg, logger: cfg.Logger.With("component", "checkrunner"), queue: make(chan *agentv1.CheckRun, queueLen),
		slots: make(chan struct{}, cfg.Policy.MaxConcurrent), lim: newLimiter()}, nil
}

// Request queues a run. It never blocks: when queueLen requests already
// wait, the run is dropped and logged, and the controller's wait for it
// times out.
func (r *Runner) Request(run *agentv1.CheckRun) {
	select {
	case r.queue <- run:
	default:
		r.logger.Warn("check run dropped: too many waiting", "check_id", limits.CleanString(run.GetCheckId(), limits.MaxString),
			"run_id", limits.CleanString(run.GetRunId(), limits.MaxCheckRunID))
	}
}

// Run admits queued runs until ctx ends, then waits for the runs it
// started (they stop at ctx's end too).
func (r *Runner) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case run := <-r.queue:
			probe, ok := r.admit(ctx, run)
			if !ok {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.execute(ctx, run, probe)
			}()
		}
	}
}

// admit decides, without waiting, whether run may start: its ids are
// sane, vantage checks are on, the spec is valid and the rate limits
// allow it. It reports a refusal itself.
func (r *Runner) admit(ctx context.Context, run *agentv1.CheckRun) (netcheck.Probe, bool) {
	id := run.GetRunId()
	if id == "" || limits.CleanString(id, limits.MaxCheckRunID) != id {
		// No answer could be matched with the request.
		r.logger.WarnContext(ctx, "check run ignored: bad run id", "run_id", limits.CleanString(id, limits.MaxCheckRunID))
		return nil, false
	}
	if !r.cfg.Policy.Vantage {
		r.refuse(ctx, run, "vantage checks are disabled in this agent's config (checks.vantage)")
		return nil, false
	}
	if c := run.GetCheckId(); limits.CleanString(c, limits.MaxString) != c {
		r.refuse(ctx, run, "invalid check_id: too long or not clean text")
		return nil, false
	}
	probe, err := netcheck.FromSpec(run.GetSpec())
	if err != nil {
		r.refuse(ctx, run, err.Error())
		return nil, false
	}
	if why := r.lim.allow(r.cfg.Now(), run.GetCheckId()); why != "" {
		r.refuse(ctx, run, why)
		return nil, false
	}
	return probe, true
}

// execute waits for a slot, applies the target policy, runs the probe
// under the spec's timeout and reports the result.
func (r *Runner) execute(ctx context.Context, run *agentv1.CheckRun, probe netcheck.Probe) {
	wait := time.NewTimer(r.cfg.SlotWait)
	select {
	case r.slots <- struct{}{}:
		wait.Stop()
	case <-wait.C:
		r.refuse(ctx, run, fmt.Sprintf("busy: %d checks already running (checks.max_concurrent)", r.cfg.Policy.MaxConcurrent))
		return
	case <-ctx.Done():
		wait.Stop()
		return
	}
	defer func() { <-r.slots }()
	spec := run.GetSpec()
	rctx, cancel := context.WithTimeout(ctx, netcheck.SpecTimeout(spec))
	defer cancel()
	pins := map[string][]netip.Addr{}
	for _, host := range netcheck.SpecHosts(spec) {
		addrs, why := r.cfg.Policy.decide(rctx, r.cfg.Resolver, host)
		if why != "" {
			r.refuse(ctx, run, why)
			return
		}
		if _, err := netip.ParseAddr(host); err != nil && len(addrs) > 0 {
			pins[nameKey(host)] = addrs
		}
	}
	pin(probe, pins)
	res := probe.Run(rctx)
	out := netcheck.ToRunResult(run.GetRunId(), run.GetCheckId(), res)
	r.logger.InfoContext(ctx, "check run", "check_id", run.GetCheckId(), "run_id", run.GetRunId(),
		"type", spec.GetType().String(), "target", spec.GetTarget(), "status", res.Status.String(),
		"latency_ms", res.Latency.Milliseconds(), "detail", out.GetDetail())
	r.report(ctx, out)
}

// refuse reports run as refused (ERR, refused_reason set) within the
// refusal budget, and logs it either way.
func (r *Runner) refuse(ctx context.Context, run *agentv1.CheckRun, why string) {
	why = limits.CleanString(why, limits.MaxCheckDetail)
	r.logger.WarnContext(ctx, "check run refused", "check_id", limits.CleanString(run.GetCheckId(), limits.MaxString),
		"run_id", run.GetRunId(), "target", limits.CleanString(run.GetSpec().GetTarget(), limits.MaxString), "reason", why)
	if !r.lim.refusalOK(r.cfg.Now()) {
		return
	}
	r.report(ctx, &agentv1.CheckRunResult{RunId: run.GetRunId(), CheckId: run.GetCheckId(),
		Status: agentv1.CheckStatus_CHECK_STATUS_ERR, StartUnixMs: r.cfg.Now().UnixMilli(), Detail: why, RefusedReason: why})
}

// report queues res in the outbox. At shutdown the append still gets a
// moment: the result is the controller's to see after the restart.
func (r *Runner) report(ctx context.Context, res *agentv1.CheckRunResult) {
	limits.CleanCheckResult(res)
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := r.cfg.Outbox.Append(actx, &agentv1.Report{Body: &agentv1.Report_Check{Check: res}}); err != nil {
		r.logger.ErrorContext(ctx, "check result not queued", "run_id", res.GetRunId(), "err", err)
	}
}
