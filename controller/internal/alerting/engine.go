package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/alert"
	"github.com/vigil-rmm/vigil/controller/internal/metrics"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// MetricsReader reads stored samples; *metrics.DB is one.
type MetricsReader interface {
	Query(ctx context.Context, agentID string, from, to time.Time, limit int) ([]metrics.Sample, bool, error)
	Latest(ctx context.Context, agentID string) (metrics.Sample, bool, error)
}

// Presence says whether an agent's stream is open; *fleet.Fleet is one.
type Presence interface {
	// Online returns true while the agent is connected, and its last-seen
	// time (unix seconds) if the fleet still remembers one.
	Online(agentID string) (bool, int64)
}

var _ MetricsReader = (*metrics.DB)(nil)

// Defaults.
const (
	// DefaultInterval is the time between evaluations.
	DefaultInterval = time.Minute
	// DefaultVerifyGrace is how long after a maintenance ends its
	// verification may wait for the agent to come back before it fails.
	DefaultVerifyGrace = 15 * time.Minute
	// DefaultBatchAgents is how many agents one transaction evaluates.
	DefaultBatchAgents = 100
	// verifyRetry is how long after a maintenance ended a failed
	// verification is still tried again.
	verifyRetry = 7 * 24 * time.Hour
	// maxLookback bounds how far back an evaluation reads samples (a
	// controller that was down for days does not replay them all).
	maxLookback = 24 * time.Hour
	// sampleBatch bounds the samples read per agent and evaluation; the
	// rest are read by the next evaluations.
	sampleBatch = 1500
	// DefaultRetention is how long closed alert records are kept, like
	// patch history: long enough for a yearly report with margin.
	DefaultRetention = 400 * 24 * time.Hour
	// PruneEvery is how often Run deletes expired alert records.
	PruneEvery = time.Hour
	// PruneBatch is how many alert records one retention transaction
	// deletes.
	PruneBatch = 1000
	// pruneScan bounds the ids one read of a tenant's records collects;
	// a longer backlog is read again.
	pruneScan = 100 * PruneBatch
)

// Config wires an Engine.
type Config struct {
	Store    store.Store
	Metrics  MetricsReader
	Presence Presence
	// Wake tells the notification dispatcher something was queued; nil
	// does nothing.
	Wake   func()
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Interval is the time between evaluations; 0 means DefaultInterval.
	Interval time.Duration
	// SampleInterval is the agents' metrics interval (alert.Options).
	SampleInterval time.Duration
	// VerifyGrace: see DefaultVerifyGrace.
	VerifyGrace time.Duration
	// BatchAgents: see DefaultBatchAgents.
	BatchAgents int
	// Retention is how long a closed alert record is kept after it
	// closed; 0 means DefaultRetention. Open alerts are never deleted.
	Retention time.Duration
}

// Engine evaluates every enabled rule of every tenant about once an
// interval, persists the alert states, records incidents and queues the
// notices. It is safe to run once per store.
type Engine struct {
	cfg Config
	// evalMu makes evaluations one at a time; cache is theirs.
	evalMu  sync.Mutex
	cache   *recordCache
	started time.Time
	nudge   chan struct{}
	// pruned is when Run last deleted expired records (zero: never).
	pruned time.Time
}

// New returns an engine; Run starts it.
func New(cfg Config) *Engine {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.SampleInterval <= 0 {
		cfg.SampleInterval = alert.DefaultSampleInterval
	}
	if cfg.VerifyGrace <= 0 {
		cfg.VerifyGrace = DefaultVerifyGrace
	}
	if cfg.BatchAgents <= 0 {
		cfg.BatchAgents = DefaultBatchAgents
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Wake == nil {
		cfg.Wake = func() {}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Logger = cfg.Logger.With("component", "alerting")
	return &Engine{cfg: cfg, started: cfg.Now(), nudge: make(chan struct{}, 1), cache: newRecordCache()}
}

// Nudge asks for an evaluation soon (a rule changed, a maintenance
// stopped) without waiting for the interval.
func (e *Engine) Nudge() {
	select {
	case e.nudge <- struct{}{}:
	default:
	}
}

// Run evaluates at once, then every interval or nudge, until ctx ends.
// After the first evaluation, and then every PruneEvery, it deletes the
// alert records closed longer ago than the retention.
func (e *Engine) Run(ctx context.Context) {
	t := time.NewTicker(e.cfg.Interval)
	defer t.Stop()
	for {
		st, err := e.Evaluate(ctx)
		if err != nil && ctx.Err() == nil {
			e.cfg.Logger.ErrorContext(ctx, "alert evaluation", "err", err)
		} else if st.Queued > 0 {
			e.cfg.Logger.InfoContext(ctx, "alert notices queued", "notices", st.Queued, "tenants", st.Tenants)
		}
		if now := e.cfg.Now(); e.pruned.IsZero() || now.Sub(e.pruned) >= PruneEvery {
			e.pruned = now
			if n, err := e.Prune(ctx); err != nil && ctx.Err() == nil {
				e.cfg.Logger.ErrorContext(ctx, "delete expired alert records", "err", err)
			} else if n > 0 {
				e.cfg.Logger.InfoContext(ctx, "expired alert records deleted", "alerts", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-e.nudge:
		}
	}
}

// Stats count what one evaluation did.
type Stats struct {
	// Tenants and Rules evaluated.
	Tenants, Rules int
	// Observations applied (samples and checks).
	Observations int
	// Queued is how many notices were newly queued.
	Queued int
	// Verified is how many post-maintenance verifications concluded.
	Verified int
}

// Evaluate runs one evaluation of every tenant, one tenant at a time. A
// tenant that fails is logged and the others still run; the error joins
// every tenant's.
func (e *Engine) Evaluate(ctx context.Context) (Stats, error) {
	e.evalMu.Lock()
	defer e.evalMu.Unlock()
	e.cache.next()
	now := e.cfg.Now().Truncate(time.Millisecond)
	var (
		tenants []*storev1.Tenant
		fv      *fleetView
	)
	if err := e.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if tenants, err = schema.ListTenants(tx); err != nil {
			return err
		}
		fv, err = readFleet(tx)
		return err
	}); err != nil {
		return Stats{}, fmt.Errorf("read tenants and agents: %w", err)
	}
	var (
		st    Stats
		errs  []error
		tasks *taskOutcomes
	)
	for _, t := range tenants {
		if ctx.Err() != nil {
			return st, ctx.Err()
		}
		if err := e.evalTenant(ctx, t, fv, now, &tasks, &st); err != nil {
			e.cfg.Logger.ErrorContext(ctx, "alert evaluation of a tenant", "tenant", t.GetId(), "err", err)
			errs = append(errs, fmt.Errorf("tenant %s: %w", t.GetId(), err))
		}
	}
	return st, errors.Join(errs...)
}

// fleetView is what one evaluation reads once for every tenant: the
// agents that are not revoked by tenant, the flushed last-seen times and
// the maintenance records, and the network checks by tenant (read by the
// first tenant with a check_status rule, so a pass decodes every check
// once, not once per tenant).
type fleetView struct {
	agents   map[string][]*storev1.Agent
	lastSeen map[string]int64
	maint    map[string]*storev1.Maintenance

	checks     map[string][]*storev1.Check
	checksRead bool
}

// tenantChecks returns tenant's checks, reading every tenant's in tx the
// first time it is asked.
func (fv *fleetView) tenantChecks(tx store.Tx, tenant string) ([]*storev1.Check, error) {
	if !fv.checksRead {
		all, err := schema.ListChecks(tx)
		if err != nil {
			return nil, err
		}
		fv.checks = map[string][]*storev1.Check{}
		for _, c := range all {
			fv.checks[c.GetTenant()] = append(fv.checks[c.GetTenant()], c)
		}
		fv.checksRead = true
	}
	return fv.checks[tenant], nil
}

func readFleet(tx store.Tx) (*fleetView, error) {
	fv := &fleetView{agents: map[string][]*storev1.Agent{}, maint: map[string]*storev1.Maintenance{}}
	all, err := schema.ListAgents(tx)
	if err != nil {
		return nil, err
	}
	for _, a := range all {
		if !a.GetRevoked() {
			fv.agents[a.GetTenant()] = append(fv.agents[a.GetTenant()], a)
		}
	}
	if fv.lastSeen, err = schema.AllLastSeen(tx); err != nil {
		return nil, err
	}
	ms, err := schema.ListMaintenance(tx)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		fv.maint[m.GetAgent()] = m
	}
	return fv, nil
}

// evalTenant reads what the tenant's rules need, then evaluates them in
// transactions of at most BatchAgents agents, then the checks.
func (e *Engine) evalTenant(ctx context.Context, t *storev1.Tenant, fv *fleetView, now time.Time, tasks **taskOutcomes, st *Stats) error {
	snap, err := e.snapshot(ctx, t, fv, now)
	if err != nil {
		return err
	}
	if snap.needTasks && *tasks == nil {
		if *tasks, err = e.loadTasks(ctx); err != nil {
			return err
		}
	}
	snap.tasks = *tasks
	if len(snap.rules) > 0 {
		st.Tenants++
		st.Rules += len(snap.rules)
	}
	// Inputs that are not in the control store are read before any write
	// transaction: presence, samples and the verifications' latest samples.
	verified, err := e.verifyAll(ctx, snap, now)
	if err != nil {
		return err
	}
	if err := e.readInputs(ctx, snap, now); err != nil {
		return err
	}
	queued := 0
	commit := func(fn func(b *batch) error) error {
		b := &batch{e: e, snap: snap, now: now}
		// In a steady fleet most batches change nothing. Each is tried in
		// a read transaction first, stopped at its first write, so a
		// quiet minute costs no write transaction (and no fsync) per
		// batch for ingest to wait behind; a batch that writes runs again,
		// from the start, in a write transaction. It is deterministic:
		// the inputs were read before and the clock is fixed.
		err := e.cfg.Store.View(ctx, func(tx store.Tx) error {
			b.tx, b.queued, b.observed, b.verified = dryTx{tx}, 0, 0, 0
			return fn(b)
		})
		if errors.Is(err, errWouldWrite) {
			err = e.cfg.Store.Update(ctx, func(tx store.Tx) error {
				b.tx, b.queued, b.observed, b.verified = tx, 0, 0, 0
				return fn(b)
			})
		}
		if err != nil {
			return err
		}
		queued += b.queued
		st.Observations += b.observed
		st.Verified += b.verified
		return nil
	}
	defer func() {
		st.Queued += queued
		if queued > 0 {
			e.cfg.Wake()
		}
	}()
	// Orphans go first: a state whose agent, rule or check is gone must
	// not be ticked into one more repeat or escalation on its way out.
	if len(snap.orphans) > 0 {
		if err := commit(func(b *batch) error { return b.dropOrphans() }); err != nil {
			return err
		}
	}
	for i := 0; i < len(snap.agents); i += e.cfg.BatchAgents {
		chunk := snap.agents[i:min(i+e.cfg.BatchAgents, len(snap.agents))]
		start := time.Now()
		if err := commit(func(b *batch) error { return b.agents(chunk, verified) }); err != nil {
			return err
		}
		// Rest as long as the batch took before the next one: a large
		// tenant's evaluation then takes at most half of a core while it
		// runs, and agents' reports keep being committed and acknowledged
		// in between (at 10,000 agents a whole evaluation is about half a
		// second of CPU). The engine's own clock is not used: this paces
		// real work.
		if i+e.cfg.BatchAgents < len(snap.agents) {
			if err := pause(ctx, time.Since(start)); err != nil {
				return err
			}
		}
	}
	if len(snap.checks) > 0 || snap.hasKind(alert.KindCheckStatus) {
		if err := commit(func(b *batch) error { return b.checks() }); err != nil {
			return err
		}
	}
	return nil
}

// compiled is one enabled rule ready to evaluate.
type compiled struct {
	stored *storev1.AlertRule
	rule   alert.Rule
	ev     *alert.Evaluator
}

// snapshot is what a tenant's evaluation reads from the control store
// before evaluating, plus (after readInputs) what it reads elsewhere.
type snapshot struct {
	// cache holds the records decoded at earlier evaluations.
	cache    *recordCache
	tenant   *storev1.Tenant
	rules    []*compiled
	agents   []*storev1.Agent
	hosts    map[string]string
	lastSeen map[string]int64
	maint    map[string]*storev1.Maintenance
	// patches and reboots are what the rules read of the agents' records
	// (alert.PatchStateOf, alert.SlimRebootRecord), shared with the
	// cache: read-only.
	patches map[string]*alert.PatchState
	reboots map[string]*storev1.RebootRecord
	checks  []checkInput
	// vantages holds, for each of the tenant's checks, its vantage
	// points ("controller", "agent:<id>"); read only when a check_status
	// rule runs.
	vantages  map[string]map[string]bool
	from      map[string]time.Time
	orphans   []schema.AlertStateRef
	needTasks bool
	tasks     *taskOutcomes

	// Filled by readInputs.
	seen    map[string]time.Time
	samples map[string][]metrics.Sample
}

func (s *snapshot) hasKind(k alert.Kind) bool {
	for _, r := range s.rules {
		if r.rule.Kind == k {
			return true
		}
	}
	return false
}

// quiet reports whether t's agent is under maintenance at at.
func (s *snapshot) quiet(t alert.Target, at time.Time) bool {
	m := s.maint[t.Agent]
	return m != nil && UnderMaintenance(m, at)
}

// UnderMaintenance reports whether m covers at: start <= at < end.
func UnderMaintenance(m *storev1.Maintenance, at time.Time) bool {
	return !at.Before(time.Unix(m.GetStartUnix(), 0)) && at.Before(time.Unix(m.GetEndUnix(), 0))
}

// checkInput is one check as seen from one vantage point.
type checkInput struct {
	target alert.Target
	result alert.CheckResult
}

func (e *Engine) snapshot(ctx context.Context, t *storev1.Tenant, fv *fleetView, now time.Time) (*snapshot, error) {
	s := &snapshot{cache: e.cache, tenant: t, hosts: map[string]string{}, maint: map[string]*storev1.Maintenance{},
		patches: map[string]*alert.PatchState{}, reboots: map[string]*storev1.RebootRecord{}, from: map[string]time.Time{}}
	err := e.cfg.Store.View(ctx, func(tx store.Tx) error {
		rules, err := schema.ListAlertRules(tx, t.GetId())
		if err != nil {
			return err
		}
		known := map[string]bool{}
		for _, sr := range rules {
			if !sr.GetEnabled() {
				continue
			}
			known[sr.GetId()] = true
			c, err := e.compile(sr, s, now)
			if err != nil {
				// A stored rule that no longer validates is skipped, not
				// fatal: the tenant's other rules still run.
				e.cfg.Logger.WarnContext(ctx, "alert rule skipped", "tenant", t.GetId(), "rule", sr.GetId(), "err", err)
				continue
			}
			s.rules = append(s.rules, c)
			s.needTasks = s.needTasks || c.rule.Kind == alert.KindTaskFailed
		}
		s.readAgents(fv)
		if err := s.readRecords(tx); err != nil {
			return err
		}
		if err := s.readChecks(tx, fv); err != nil {
			return err
		}
		if err := s.readFrom(tx, now, e.cfg.SampleInterval); err != nil {
			return err
		}
		return s.findOrphans(tx, known)
	})
	if err != nil {
		return nil, fmt.Errorf("read tenant: %w", err)
	}
	return s, nil
}

func (e *Engine) compile(sr *storev1.AlertRule, s *snapshot, now time.Time) (*compiled, error) {
	r, err := RuleFromStore(sr)
	if err != nil {
		return nil, err
	}
	ev, err := alert.New(r, alert.Options{Now: func() time.Time { return now }, SampleInterval: e.cfg.SampleInterval, Quiet: s.quiet})
	if err != nil {
		return nil, err
	}
	return &compiled{stored: sr, rule: r, ev: ev}, nil
}

// readAgents takes the tenant's agents, their last-seen times and
// maintenance records from the evaluation's fleet view.
func (s *snapshot) readAgents(fv *fleetView) {
	s.lastSeen = fv.lastSeen
	for _, a := range fv.agents[s.tenant.GetId()] {
		s.agents = append(s.agents, a)
		s.hosts[a.GetId()] = a.GetHostname()
		if m := fv.maint[a.GetId()]; m != nil && m.GetTenant() == s.tenant.GetId() {
			// Shared with the other tenants' snapshots: verifyAll replaces
			// this map's entry and never changes the record itself.
			s.maint[a.GetId()] = m
		}
	}
}

// readRecords reads the patch and reboot records the rules (and the
// verifications) need.
func (s *snapshot) readRecords(tx store.Tx) error {
	patches := len(s.maint) > 0 || s.hasKind(alert.KindUpdatesPending) || s.hasKind(alert.KindScanFailing)
	reboots := s.hasKind(alert.KindRebootPending)
	for _, a := range s.agents {
		if patches {
			r, err := cachedRecord(s.cache, "p/"+a.GetId(), tx, schema.PatchRecordBytes, a.GetId(), func() *storev1.PatchRecord { return &storev1.PatchRecord{} },
				alert.PatchStateOf)
			if err != nil {
				return err
			}
			if r != nil {
				s.patches[a.GetId()] = r
			}
		}
		if reboots {
			r, err := cachedRecord(s.cache, "r/"+a.GetId(), tx, schema.RebootRecordBytes, a.GetId(), func() *storev1.RebootRecord { return &storev1.RebootRecord{} },
				alert.SlimRebootRecord)
			if err != nil {
				return err
			}
			if r != nil {
				s.reboots[a.GetId()] = r
			}
		}
	}
	return nil
}

// readChecks turns the tenant's network checks into one input per check
// and vantage point: a vantage that is down is critical, a suspended one
// unknown (the check cannot run), an up one OK; a vantage with no verdict
// yet, or a paused check, says nothing. Each input is keyed by the check's
// id and carries its name for the notices.
func (s *snapshot) readChecks(tx store.Tx, fv *fleetView) error {
	if !s.hasKind(alert.KindCheckStatus) {
		return nil
	}
	checks, err := fv.tenantChecks(tx, s.tenant.GetId())
	if err != nil {
		return err
	}
	s.vantages = map[string]map[string]bool{}
	for _, c := range checks {
		vs := map[string]bool{}
		for _, v := range c.GetVantages() {
			vs[v] = true
		}
		if len(vs) == 0 {
			vs[controllerVantage] = true
		}
		s.vantages[c.GetId()] = vs
		if c.GetPaused() {
			continue
		}
		cs, err := schema.GetCheckState(tx, c.GetId())
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		name := c.GetName()
		if name == "" {
			name = c.GetId()
		}
		for _, v := range cs.GetVantages() {
			if !vs[v.GetVantage()] {
				continue // a vantage removed since the check last ran
			}
			res := alert.CheckResult{ID: c.GetId(), Check: name, Output: v.GetLastDetail()}
			switch {
			case v.GetSuspended():
				res.Unknown = true
			case v.GetState() == "down":
				res.Level = alert.CheckCritical
			case v.GetState() == "up":
				res.Level = alert.CheckOK
			default:
				continue
			}
			t := alert.Target{Host: controllerVantage}
			if id, ok := strings.CutPrefix(v.GetVantage(), agentVantagePrefix); ok {
				t.Agent, t.Host = id, s.hosts[id]
				if t.Host == "" {
					t.Host = id
				}
			}
			s.checks = append(s.checks, checkInput{target: t, result: res})
		}
	}
	return nil
}

// The vantage points of a network check, as the checker names them.
const (
	controllerVantage  = "controller"
	agentVantagePrefix = "agent:"
)

// readFrom decides, per agent, from when samples are read: just after the
// oldest last sample of the agent's metric states, or, for a target never
// evaluated, far enough back for the longest "for" to be judged on real
// samples.
func (s *snapshot) readFrom(tx store.Tx, now time.Time, interval time.Duration) error {
	floor := now.Add(-maxLookback)
	for _, c := range s.rules {
		if c.rule.Kind != alert.KindMetric {
			continue
		}
		fresh := now.Add(-c.rule.Metric.For - 5*interval)
		for _, a := range s.agents {
			sts, err := schema.ListAlertStates(tx, s.tenant.GetId(), c.rule.ID, a.GetId())
			if err != nil {
				return err
			}
			from := fresh
			for _, st := range sts {
				if ls := st.GetLastSampleUnixMs(); ls != 0 && time.UnixMilli(ls+1).Before(from) {
					from = time.UnixMilli(ls + 1)
				}
			}
			if from.Before(floor) {
				from = floor
			}
			if cur, ok := s.from[a.GetId()]; !ok || from.Before(cur) {
				s.from[a.GetId()] = from
			}
		}
	}
	return nil
}

// findOrphans lists the states of rules that no longer run, of agents
// that are gone or revoked, and of check_status rules on checks that were
// deleted or no longer run from that vantage point; dropOrphans deletes
// them and closes their open alerts without a recovery notice, as for a
// rule disabled or deleted: nobody can see the check recover.
func (s *snapshot) findOrphans(tx store.Tx, enabled map[string]bool) error {
	refs, err := schema.ListAlertStateRefs(tx, s.tenant.GetId())
	if err != nil {
		return err
	}
	checkRules := map[string]bool{}
	for _, c := range s.rules {
		if c.rule.Kind == alert.KindCheckStatus {
			checkRules[c.rule.ID] = true
		}
	}
	for _, r := range refs {
		agent, item, _ := strings.Cut(r.Target, "|")
		_, active := s.hosts[agent]
		switch {
		case !enabled[r.Rule], agent != "" && !active:
			s.orphans = append(s.orphans, r)
		case checkRules[r.Rule] && !s.checkRuns(item, agent):
			s.orphans = append(s.orphans, r)
		}
	}
	return nil
}

// checkRuns reports whether check id exists and runs from agent's vantage
// point (the controller's for an empty agent). A state keyed by anything
// else (a check's name, as before checks were keyed by id) has no check.
func (s *snapshot) checkRuns(id, agent string) bool {
	vantage := controllerVantage
	if agent != "" {
		vantage = agentVantagePrefix + agent
	}
	return s.vantages[id][vantage]
}

// readInputs reads presence and samples, outside any transaction.
func (e *Engine) readInputs(ctx context.Context, s *snapshot, now time.Time) error {
	s.seen = map[string]time.Time{}
	s.samples = map[string][]metrics.Sample{}
	for _, a := range s.agents {
		id := a.GetId()
		online, fleetSeen := e.cfg.Presence.Online(id)
		if online {
			s.seen[id] = now
		} else {
			// The controller's own downtime does not count against an
			// agent: nobody could see it then.
			ls := max(fleetSeen, s.lastSeen[id], a.GetEnrolledUnix(), a.GetLastSeenUnix(), e.started.Unix())
			s.seen[id] = time.Unix(ls, 0)
		}
		from, ok := s.from[id]
		if !ok {
			continue
		}
		samples, _, err := e.cfg.Metrics.Query(ctx, id, from, now.Add(time.Millisecond), sampleBatch)
		if err != nil {
			return fmt.Errorf("samples of %s: %w", id, err)
		}
		sort.SliceStable(samples, func(i, j int) bool { return samples[i].TimeMS < samples[j].TimeMS })
		s.samples[id] = samples
	}
	return nil
}

// errWouldWrite stops a batch tried in a read transaction at its first
// write.
var errWouldWrite = errors.New("alerting: the batch writes")

// dryTx is a read transaction that refuses every write with errWouldWrite.
type dryTx struct{ store.Tx }

func (dryTx) Put(string, []byte) error                   { return errWouldWrite }
func (dryTx) Delete(string) error                        { return errWouldWrite }
func (dryTx) CompareAndPut(string, []byte, []byte) error { return errWouldWrite }

// pause waits d, or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
