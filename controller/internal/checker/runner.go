package checker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/controller/internal/check"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	"github.com/vigil-rmm/vigil/internal/netcheck"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Defaults of Config.
const (
	DefaultWorkers   = 16
	DefaultRetention = 10 * 24 * time.Hour
	// MaxRetentionDays caps a check's own retention_days.
	MaxRetentionDays = 90
	// PruneEvery is how often Run deletes old results.
	PruneEvery = time.Hour
	// PruneBatch is how many results one retention transaction deletes;
	// the results of a deleted check go in batches of the same size.
	PruneBatch = 2000
	// LoadRetryMin and LoadRetryMax bound the wait between attempts to
	// load the checks when the store cannot be read at start.
	LoadRetryMin = time.Second
	LoadRetryMax = time.Minute
)

// Config wires a Runner. Zero values mean the defaults.
type Config struct {
	// Store holds checks, their state and results, and the notification
	// queue.
	Store store.Store
	// Agents runs checks on agent vantages; nil makes every agent
	// vantage unavailable.
	Agents AgentProber
	// Workers is how many checks run at once (default 16).
	Workers int
	// Retention is how long results are kept unless a check says
	// otherwise (default 10 days).
	Retention time.Duration
	// Wake tells the notification dispatcher something was queued; it
	// is called after the commit and must not block.
	Wake func()
	// Clock is the time source (default the system clock).
	Clock Clock
	// Probe builds the controller's probe for a check (default: the
	// netcheck probe of the spec's type).
	Probe  func(*storev1.Check) netcheck.Probe
	Logger *slog.Logger
}

// Runner runs every check on its schedule. Its methods are safe for
// concurrent use; Run is called once.
type Runner struct {
	cfg Config

	// commitMu serializes the steps that advance machines and commit
	// them (a run's end, Resume, a reload), so a resume between a run's
	// probes and its commit is never overwritten.
	commitMu sync.Mutex

	mu     sync.Mutex // guards what follows
	sched  *check.Scheduler
	checks map[string]*checkRT

	kick chan struct{}
	// purgeKick wakes the loop that deletes the results of deleted
	// checks.
	purgeKick chan struct{}
}

// checkRT is a check as the runner holds it.
type checkRT struct {
	def      *storev1.Check
	vantages map[string]*vantageRT
	// state holds the check-level figures last persisted.
	state *storev1.CheckState
}

// vantageRT is one vantage's machine and the persisted figures around it.
type vantageRT struct {
	m  *check.Machine
	st *storev1.VantageState // never holds pending and errs: those are m's
}

// New returns a runner; Run starts it.
func New(cfg Config) *Runner {
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Wake == nil {
		cfg.Wake = func() {}
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Probe == nil {
		cfg.Probe = func(c *storev1.Check) netcheck.Probe { return probeOf(c.GetSpec()) }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Logger = cfg.Logger.With("component", "checker")
	return &Runner{cfg: cfg, sched: check.NewScheduler(cfg.Workers), checks: map[string]*checkRT{}, kick: make(chan struct{}, 1),
		purgeKick: make(chan struct{}, 1)}
}

// Workers is the size of the pool.
func (r *Runner) Workers() int { return r.cfg.Workers }

// Retention is the default retention.
func (r *Runner) Retention() time.Duration { return r.cfg.Retention }

// Run loads every check and runs them until ctx ends; it returns after
// the runs in progress have committed. A load that fails is tried again,
// waiting from LoadRetryMin up to LoadRetryMax between attempts: a store
// busy or unreadable at start must not leave the checks unrun until the
// next controller restart.
func (r *Runner) Run(ctx context.Context) {
	if !r.loadRetrying(ctx) {
		return
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(2)
	go func() { defer wg.Done(); r.pruneLoop(ctx) }()
	go func() { defer wg.Done(); r.purgeLoop(ctx) }()
	for {
		now := r.cfg.Clock.Now()
		r.mu.Lock()
		due := r.sched.Due(now)
		next, waiting := r.sched.Next()
		r.mu.Unlock()
		for _, id := range due {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.runOnce(ctx, id, now)
				r.mu.Lock()
				r.sched.Done(id, r.cfg.Clock.Now())
				r.mu.Unlock()
				r.poke()
			}()
		}
		if len(due) > 0 {
			continue
		}
		// With every worker busy the earliest waiting check is already
		// due: only a run's end (a poke) can start it.
		var timer <-chan time.Time
		if waiting && next.After(now) {
			timer = r.cfg.Clock.At(next)
		}
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		case <-timer:
		}
	}
}

// loadRetrying calls load until it succeeds (true) or ctx ends (false).
func (r *Runner) loadRetrying(ctx context.Context) bool {
	wait := LoadRetryMin
	for {
		err := r.load(ctx)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		r.cfg.Logger.ErrorContext(ctx, "load checks; trying again", "err", err, "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return false
		case <-r.cfg.Clock.At(r.cfg.Clock.Now().Add(wait)):
		}
		wait = min(2*wait, LoadRetryMax)
	}
}

// poke wakes the loop.
func (r *Runner) poke() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// load reads every check and its state and schedules the runnable ones.
func (r *Runner) load(ctx context.Context) error {
	r.commitMu.Lock()
	defer r.commitMu.Unlock()
	var (
		defs   []*storev1.Check
		states = map[string]*storev1.CheckState{}
	)
	err := r.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if defs, err = schema.ListChecks(tx); err != nil {
			return err
		}
		for _, d := range defs {
			st, err := schema.GetCheckState(tx, d.GetId())
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			states[d.GetId()] = st
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load checks: %w", err)
	}
	now := r.cfg.Clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range defs {
		r.install(d, states[d.GetId()], now)
	}
	r.cfg.Logger.InfoContext(ctx, "checks loaded", "checks", len(defs), "workers", r.cfg.Workers)
	return nil
}

// Reload re-reads one check after the API created, updated, paused or
// deleted it, and reschedules it.
func (r *Runner) Reload(ctx context.Context, id string) error {
	r.commitMu.Lock()
	defer r.commitMu.Unlock()
	def, st, err := r.read(ctx, id)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if def == nil {
		delete(r.checks, id)
		r.sched.Remove(id)
		r.purgeSoon()
	} else {
		r.install(def, st, r.cfg.Clock.Now())
	}
	r.poke()
	return nil
}

// read returns a check and its state; a nil check when it is gone.
func (r *Runner) read(ctx context.Context, id string) (*storev1.Check, *storev1.CheckState, error) {
	var (
		def *storev1.Check
		st  *storev1.CheckState
	)
	err := r.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		def, err = schema.GetCheck(tx, id)
		if errors.Is(err, store.ErrNotFound) {
			def = nil
			return nil
		}
		if err != nil {
			return err
		}
		st, err = schema.GetCheckState(tx, id)
		if errors.Is(err, store.ErrNotFound) {
			st, err = nil, nil
		}
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read check %s: %w", id, err)
	}
	return def, st, nil
}

// install puts def in the runner, restoring machines from st for
// vantages it does not hold yet, and schedules it unless it is paused or
// suspended everywhere. A changed spec starts every machine afresh: the
// old state was about another target. Counters stay, so notice ids stay
// unique. Called with mu held.
func (r *Runner) install(def *storev1.Check, st *storev1.CheckState, now time.Time) {
	old := r.checks[def.GetId()]
	rt := &checkRT{def: def, vantages: map[string]*vantageRT{}, state: &storev1.CheckState{Check: def.GetId()}}
	persisted := map[string]*storev1.VantageState{}
	if st != nil {
		rt.state = proto.Clone(st).(*storev1.CheckState)
		for _, v := range st.GetVantages() {
			persisted[v.GetVantage()] = v
		}
	}
	respec := old != nil && !proto.Equal(old.def.GetSpec(), def.GetSpec())
	for _, name := range vantagesOf(def) {
		var v *vantageRT
		switch {
		case old != nil && old.vantages[name] != nil:
			v = old.vantages[name]
		case persisted[name] != nil:
			v = restoreVantage(def, persisted[name])
		default:
			v = &vantageRT{m: check.NewMachine(machineConfig(def)), st: &storev1.VantageState{Vantage: name, State: check.Unknown.String()}}
		}
		if respec {
			v = &vantageRT{m: check.NewMachine(machineConfig(def)), st: &storev1.VantageState{Vantage: name, State: check.Unknown.String(),
				Outage: v.st.GetOutage(), Suspensions: v.st.GetSuspensions()}}
		}
		rt.vantages[name] = v
	}
	r.checks[def.GetId()] = rt
	if def.GetPaused() || rt.allSuspended() {
		r.sched.Remove(def.GetId())
		return
	}
	r.sched.Add(def.GetId(), time.Duration(def.GetIntervalSeconds())*time.Second, now)
}

// vantagesOf is a check's vantages; none means the controller.
func vantagesOf(def *storev1.Check) []string {
	if len(def.GetVantages()) == 0 {
		return []string{VantageController}
	}
	return def.GetVantages()
}

func machineConfig(def *storev1.Check) check.MachineConfig {
	return check.MachineConfig{Confirm: int(def.GetConfirm()), SuspendErr: int(def.GetSuspendAfter())}
}

// restoreVantage rebuilds a vantage's machine from its persisted state.
func restoreVantage(def *storev1.Check, vs *storev1.VantageState) *vantageRT {
	snap := check.Snapshot{Suspended: vs.GetSuspended()}
	switch vs.GetState() {
	case check.Up.String():
		snap.State = check.Up
	case check.Down.String():
		snap.State = check.Down
	}
	for _, p := range vs.GetPending() {
		snap.Pending = append(snap.Pending, resultOf(p))
	}
	for _, e := range vs.GetErrs() {
		snap.Errs = append(snap.Errs, resultOf(e))
	}
	st := proto.Clone(vs).(*storev1.VantageState)
	st.Pending, st.Errs = nil, nil
	return &vantageRT{m: check.RestoreMachine(machineConfig(def), snap), st: st}
}

// allSuspended reports whether no vantage of the check can run.
func (c *checkRT) allSuspended() bool {
	for _, v := range c.vantages {
		if !v.m.Suspended() {
			return false
		}
	}
	return len(c.vantages) > 0
}

// Stretch returns how far behind the check's last run was; false when
// the check is not scheduled (paused, suspended, unknown).
func (r *Runner) Stretch(id string) (check.Stretch, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sched.Stretch(id)
}

// Backlog counts the checks due now that wait for a worker.
func (r *Runner) Backlog() int {
	now := r.cfg.Clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sched.Backlog(now)
}

// Scheduled reports whether the check is on the schedule.
func (r *Runner) Scheduled(id string) bool {
	_, ok := r.Stretch(id)
	return ok
}

// vantageNames returns the check's vantages in definition order.
func (c *checkRT) vantageNames() []string {
	names := vantagesOf(c.def)
	return slices.Clone(names)
}
