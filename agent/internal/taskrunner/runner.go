package taskrunner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/agent/internal/config"
	"github.com/vigil-rmm/vigil/agent/internal/journal"
	"github.com/vigil-rmm/vigil/agent/internal/pluginhost"
	"github.com/vigil-rmm/vigil/internal/envelope"
	"github.com/vigil-rmm/vigil/internal/limits"
	"github.com/vigil-rmm/vigil/plugins/sdk"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	trustv1 "github.com/vigil-rmm/vigil/proto/vigil/trust/v1"
)

// Defaults for Config.
const (
	DefaultTimeout   = time.Hour
	DefaultOutputCap = 1 << 20
	// DefaultQueue bounds the offers waiting to run.
	DefaultQueue = 32
	// InfoTimeout bounds a plugin's start and Info call; a plugin that
	// hangs there must not hold up the tasks behind it.
	InfoTimeout = 30 * time.Second
)

// Batching of output into RUNNING updates.
const (
	// FlushInterval is the longest output and progress wait before they
	// are queued.
	FlushInterval = time.Second
	// FlushLines and FlushBytes flush a batch early.
	FlushLines = 100
	FlushBytes = 64 << 10
	// MaxLine bounds one output line; a longer one is cut (the
	// controller's limit, internal/limits).
	MaxLine = limits.MaxTaskOutputLine
	// MaxDetail bounds a result's detail (TaskResult.detail).
	MaxDetail = limits.MaxTaskDetail
)

// Reasons reported with REFUSED, INTERRUPTED and FAILED updates.
const (
	ReasonNoTrustRoot = "no trust root pinned; set trust_root in the agent config"
	ReasonMonitorOnly = "monitor-only"
	ReasonReplayed    = "replayed"
	ReasonInterrupted = "the agent stopped while the task ran; it is not run again"
	ReasonNoReboot    = "the reboot did not happen"
)

// Appender persists reports in the outbox.
type Appender interface {
	Append(ctx context.Context, r *agentv1.Report) (uint64, error)
}

// Config wires a Runner.
type Config struct {
	// Journal records accepted tasks.
	Journal *journal.Journal
	// Plugins runs plugins; nil means there is no usable manifest.
	Plugins Plugins
	// Outbox receives every TaskUpdate and the plugin list.
	Outbox Appender
	// Tier is config.TierProactive or config.TierMonitorOnly; anything
	// else is treated as monitor-only.
	Tier string
	// RootPin is the pinned trust root digest; nil refuses every task.
	RootPin []byte
	// AgentID and Tenant are this agent's; a task must name both.
	AgentID, Tenant string
	// BootTime returns the host's boot time (Unix seconds).
	BootTime func() int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives the runner's log lines; nil discards them.
	Logger *slog.Logger
	// DefaultTimeout bounds a task without timeout_seconds (default 1h).
	DefaultTimeout time.Duration
	// OutputCap bounds the output forwarded per task (default 1 MiB).
	OutputCap int
	// Queue bounds the offers waiting to run (default DefaultQueue).
	Queue int
	// ScannerPlugins are started in monitor-only too (for the plugin
	// list); every other plugin is not.
	ScannerPlugins []string
	// PluginsFile keeps the hash of the last plugin list queued.
	PluginsFile string
}

// Runner verifies, journals and runs tasks. Offer and Cancel may be called
// from any goroutine; Run processes the offers.
type Runner struct {
	cfg    Config
	log    *slog.Logger
	offers chan []byte

	mu        sync.Mutex
	cur       *running
	cancelled map[string]string // cancels that arrived before their task ran
	infos     map[string]*sdk.InfoResponse
}

// running is the task being run.
type running struct {
	Current
	cancel context.CancelCauseFunc
}

// Current describes the running task, for `vigil-agent status`.
type Current struct {
	TaskID string    `json:"task_id"`
	Plugin string    `json:"plugin"`
	Since  time.Time `json:"since"`
}

// New returns a Runner; call Run.
func New(cfg Config) (*Runner, error) {
	if cfg.Journal == nil || cfg.Outbox == nil {
		return nil, errors.New("taskrunner: a journal and an outbox are required")
	}
	if cfg.BootTime == nil {
		return nil, errors.New("taskrunner: BootTime is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.DefaultTimeout <= 0 {
		cfg.DefaultTimeout = DefaultTimeout
	}
	if cfg.OutputCap <= 0 {
		cfg.OutputCap = DefaultOutputCap
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	return &Runner{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "taskrunner"),
		offers:    make(chan []byte, cfg.Queue),
		cancelled: map[string]string{},
		infos:     map[string]*sdk.InfoResponse{},
	}, nil
}

func (r *Runner) tier() string {
	if r.cfg.Tier == config.TierProactive {
		return config.TierProactive
	}
	return config.TierMonitorOnly
}

func (r *Runner) monitorOnly() bool { return r.tier() != config.TierProactive }

// Current returns the running task, or nil.
func (r *Runner) Current() *Current {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur == nil {
		return nil
	}
	c := r.cur.Current
	return &c
}

// Offer queues a serialized SignedTask (TaskOffer.signed_task). It never
// blocks: when the queue is full the offer is dropped and logged, and the
// controller offers it again when the agent reconnects.
func (r *Runner) Offer(signedTask []byte) {
	select {
	case r.offers <- signedTask:
	default:
		r.log.Warn("task offer dropped: queue full; the controller offers it again on reconnect", "queue", cap(r.offers))
	}
}

// Cancel stops task id if it is running, or before it runs if it is
// queued. It never blocks.
func (r *Runner) Cancel(id, reason string) {
	reason = limits.CleanString(reason, limits.MaxText)
	if reason == "" {
		reason = "cancelled"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur != nil && r.cur.TaskID == id {
		r.log.Info("cancelling the running task", "task_id", id, "reason", reason)
		r.cur.cancel(&cancelled{reason: reason})
		return
	}
	if len(r.cancelled) >= cap(r.offers)*2 {
		clear(r.cancelled) // bounded: old cancels for offers never seen go
	}
	r.cancelled[id] = reason
}

// cancelled is the cause of a task context ended by Cancel.
type cancelled struct{ reason string }

func (c *cancelled) Error() string { return "cancelled: " + c.reason }

// takeCancel returns and forgets a cancel that arrived before task id ran.
func (r *Runner) takeCancel(id string) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	reason, ok := r.cancelled[id]
	delete(r.cancelled, id)
	return reason, ok
}

// Run settles the journal left by a previous run, reports the plugin list,
// and then runs offers one at a time until ctx ends. It returns an error
// only when the journal cannot be read at start.
func (r *Runner) Run(ctx context.Context) error {
	if err := r.recoverJournal(ctx); err != nil {
		return err
	}
	if err := r.ReportPlugins(ctx); err != nil && ctx.Err() == nil {
		r.log.WarnContext(ctx, "plugin list", "err", err)
	}
	r.prune(ctx)
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	lastPrune := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case raw := <-r.offers:
			r.handle(ctx, raw)
		case <-tick.C:
			r.checkReboots(ctx)
			if time.Since(lastPrune) >= time.Hour {
				r.prune(ctx)
				lastPrune = time.Now()
			}
		}
	}
}

func (r *Runner) prune(ctx context.Context) {
	n, err := r.cfg.Journal.Prune(ctx, r.cfg.Now())
	if err != nil {
		r.log.WarnContext(ctx, "journal prune", "err", err)
	} else if n > 0 {
		r.log.InfoContext(ctx, "journal pruned", "tasks", n)
	}
}

// handle takes one offer through the checks in the package doc.
func (r *Runner) handle(ctx context.Context, raw []byte) {
	var st trustv1.SignedTask
	if len(raw) > envelope.MaxSignedTask+1024 {
		r.log.WarnContext(ctx, "task offer ignored: too large to read", "bytes", len(raw))
		return
	}
	if err := proto.Unmarshal(raw, &st); err != nil {
		r.log.WarnContext(ctx, "task offer ignored: not a signed task", "err", err)
		return
	}
	id := unverifiedID(&st)
	if id == "" {
		r.log.WarnContext(ctx, "task offer ignored: no readable task id")
		return
	}
	if r.cfg.RootPin == nil {
		r.refuse(ctx, id, ReasonNoTrustRoot)
		return
	}
	v, err := envelope.Verify(&st, envelope.Policy{RootPin: r.cfg.RootPin, AgentID: r.cfg.AgentID, Tenant: r.cfg.Tenant, Now: r.cfg.Now()})
	if err != nil {
		// A task already run may be offered again after its window (the
		// controller missed the final update): its signatures were all
		// good, so answer with what happened.
		if errors.Is(err, envelope.ErrExpired) && r.repeat(ctx, unverifiedTask(&st)) {
			return
		}
		r.refuse(ctx, id, err.Error())
		return
	}
	t := v.Task
	if r.repeat(ctx, t) {
		return
	}
	if r.monitorOnly() {
		r.refuse(ctx, id, ReasonMonitorOnly)
		return
	}
	if reason := r.checkPlugin(ctx, t); reason != "" {
		r.refuse(ctx, id, reason)
		return
	}
	timeout := r.cfg.DefaultTimeout
	if t.GetTimeoutSeconds() > 0 {
		timeout = time.Duration(t.GetTimeoutSeconds()) * time.Second
	}
	now := r.cfg.Now()
	err = r.cfg.Journal.Accept(ctx, journal.Entry{ID: t.GetTaskId(), Nonce: t.GetNonce(), Plugin: t.GetPlugin(),
		AcceptedAt: now.Unix(), BootTime: r.cfg.BootTime(), NotAfter: t.GetNotAfterUnix(), Timeout: int64(timeout / time.Second)})
	switch {
	case errors.Is(err, journal.ErrSeen):
		r.log.WarnContext(ctx, "task refused: replayed", "task_id", id, "err", err)
		r.refuse(ctx, id, ReasonReplayed)
		return
	case err != nil:
		if ctx.Err() == nil {
			r.log.ErrorContext(ctx, "task refused: journal", "task_id", id, "err", err)
			r.refuse(ctx, id, "the agent could not record the task in its journal: "+err.Error())
		}
		return
	}
	r.execute(ctx, t, timeout)
}

// unverifiedTask reads the task inside st without checking anything; for
// naming a refused task and for repeats only.
func unverifiedTask(st *trustv1.SignedTask) *trustv1.Task {
	var t trustv1.Task
	_ = proto.Unmarshal(st.GetTask(), &t) // what could be read, if anything
	return &t
}

// unverifiedID is the task id a refusal is reported under, cleaned.
func unverifiedID(st *trustv1.SignedTask) string {
	return limits.CleanString(unverifiedTask(st).GetTaskId(), 64)
}

// repeat handles an offer of a task the journal holds with the same
// nonce: the last update is sent again (a finished or rebooting task) or
// the offer is ignored (the running task). It reports whether t was one.
func (r *Runner) repeat(ctx context.Context, t *trustv1.Task) bool {
	e, err := r.cfg.Journal.Get(ctx, t.GetTaskId())
	if err != nil || !bytes.Equal(e.Nonce, t.GetNonce()) {
		return false
	}
	if cur := r.Current(); cur != nil && cur.TaskID == e.ID {
		r.log.InfoContext(ctx, "task offered again while it runs; ignored", "task_id", e.ID)
		return true
	}
	last := e.LastUpdate()
	if last == nil {
		// Accepted, never finished, not running: only between a crash and
		// recovery, which runs before any offer. Say so rather than run it.
		last = &agentv1.TaskUpdate{TaskId: e.ID, State: agentv1.TaskState_TASK_STATE_INTERRUPTED, Reason: ReasonInterrupted}
	}
	r.log.InfoContext(ctx, "task offered again; sending its last update", "task_id", e.ID, "state", last.GetState().String())
	r.send(ctx, last)
	return true
}

// checkPlugin returns why t's plugin may not run it, or "".
func (r *Runner) checkPlugin(ctx context.Context, t *trustv1.Task) string {
	name := t.GetPlugin()
	if r.cfg.Plugins == nil || !slices.Contains(r.cfg.Plugins.Names(), name) {
		return "unknown plugin " + name
	}
	info, err := r.info(ctx, name)
	switch {
	case errors.Is(err, pluginhost.ErrChecksum):
		return fmt.Sprintf("plugin %s: its binary does not match the manifest checksum; not started", name)
	case err != nil:
		return fmt.Sprintf("plugin %s could not be started: %s", name, pluginError(err))
	}
	caps := info.GetCapabilities()
	if !slices.Contains(caps, sdk.CapRun) {
		return fmt.Sprintf("plugin %s does not run tasks", name)
	}
	if (slices.Contains(caps, sdk.CapDowntime) || name == "reboot") && !t.GetDowntime() {
		return fmt.Sprintf("plugin %s may interrupt service: it runs only from a downtime task approved by the client", name)
	}
	return ""
}

// info returns the plugin's Info, asked once per run of the agent.
func (r *Runner) info(ctx context.Context, name string) (*sdk.InfoResponse, error) {
	r.mu.Lock()
	info, ok := r.infos[name]
	r.mu.Unlock()
	if ok {
		return info, nil
	}
	ictx, cancel := context.WithTimeout(ctx, InfoTimeout)
	defer cancel()
	info, err := r.cfg.Plugins.Info(ictx, name)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.infos[name] = info
	r.mu.Unlock()
	return info, nil
}

// refuse reports a refusal. Nothing is journaled: the task never ran.
func (r *Runner) refuse(ctx context.Context, id, reason string) {
	reason = limits.CleanString(reason, limits.MaxText)
	r.log.WarnContext(ctx, "task refused", "task_id", id, "reason", reason)
	r.send(ctx, &agentv1.TaskUpdate{TaskId: id, State: agentv1.TaskState_TASK_STATE_REFUSED, Reason: reason})
}

// send queues one update in the outbox, stamped.
func (r *Runner) send(ctx context.Context, u *agentv1.TaskUpdate) {
	r.stamp(u)
	r.queue(ctx, u)
}

// stamp sets an update's boot time, and its progress to -1 (none) when
// it carries no progress.
func (r *Runner) stamp(u *agentv1.TaskUpdate) {
	u.BootTimeUnix = r.cfg.BootTime()
	if u.ProgressPercent == 0 && u.ProgressMessage == "" {
		u.ProgressPercent = -1
	}
}

// queue appends a stamped update to the outbox. An update that cannot be
// queued is logged: the journal still has the task's state, and a
// repeated offer gets it again.
func (r *Runner) queue(ctx context.Context, u *agentv1.TaskUpdate) {
	rep := &agentv1.Report{TimeUnixMs: r.cfg.Now().UnixMilli(), Body: &agentv1.Report_Task{Task: u}}
	if _, err := r.cfg.Outbox.Append(context.WithoutCancel(ctx), rep); err != nil {
		r.log.ErrorContext(ctx, "task update not queued", "task_id", u.GetTaskId(), "state", u.GetState().String(), "err", err)
	}
}
