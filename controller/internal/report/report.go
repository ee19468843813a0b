package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/apierr"
	"github.com/vigil-rmm/vigil/controller/internal/metrics"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Limits of one report.
const (
	// DefaultPeriod is the period when the request names none.
	DefaultPeriod = 10 * 24 * time.Hour
	// MaxPeriod is the longest period, whatever the retention.
	MaxPeriod = 90 * 24 * time.Hour
	// MaxAgents is the most agents one report covers.
	MaxAgents = 500
	// MaxChecks is the most checks one report covers.
	MaxChecks = 500
	// MaxAlerts is the most alerts one report lists; the latest are kept.
	MaxAlerts = 10000
	// BatchSize is how many samples are read from the metrics database
	// at a time: a day's worth at one sample a minute.
	BatchSize = 1440
	// GapTolerance is the longest gap between two samples whose minutes
	// in between still count as online.
	GapTolerance = 90 * time.Second
	// maxVolumes bounds the volumes tracked per agent and day.
	maxVolumes = 64
	// concurrentReports is how many reports are built at once.
	concurrentReports = 2
)

// ErrTooLarge is returned when a tenant has more agents or checks than
// one report covers.
var ErrTooLarge = errors.New("report: too large")

// MetricsReader reads stored samples; *metrics.DB implements it.
type MetricsReader interface {
	Query(ctx context.Context, agentID string, from, to time.Time, limit int) ([]metrics.Sample, bool, error)
}

var _ MetricsReader = (*metrics.DB)(nil)

// Options configure a Generator.
type Options struct {
	// Store is the control store; required.
	Store store.Store
	// Metrics is the metrics database; required.
	Metrics MetricsReader
	// Retention is the metrics retention: a period may not start before
	// now minus Retention. Zero means metrics.DefaultRetention.
	Retention time.Duration
	// Parallel is how many agents' samples are read at once; zero means 4.
	Parallel int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives one line per report; nil discards.
	Logger *slog.Logger
}

// Generator builds reports. It is safe for concurrent use.
type Generator struct {
	opts Options
	sem  chan struct{}
}

// New returns a Generator.
func New(opts Options) *Generator {
	if opts.Retention <= 0 {
		opts.Retention = metrics.DefaultRetention
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Logger = opts.Logger.With("component", "report")
	return &Generator{opts: opts, sem: make(chan struct{}, concurrentReports)}
}

// Request asks for one tenant's report.
type Request struct {
	// Tenant is required.
	Tenant string
	// Since starts the period; zero means Until minus Period.
	Since time.Time
	// Until ends the period (exclusive); zero means now.
	Until time.Time
	// Period is the length when Since is zero; zero means DefaultPeriod
	// or the retention, whichever is shorter.
	Period time.Duration
}

// period is a resolved request: minute-aligned bounds and the days.
type period struct {
	since, until time.Time
	loc          *time.Location
	days         []day
}

// day is one calendar day clipped to the period.
type day struct {
	name       string
	start, end int64 // Unix ms, [start, end)
}

// Generate builds the report: every section but compliance, which the
// caller adds. Errors from bad input wrap apierr.ErrInvalid and name the
// field; a tenant that does not exist is apierr.ErrNotFound.
func (g *Generator) Generate(ctx context.Context, req Request) (*managev1.Report, error) {
	select {
	case g.sem <- struct{}{}:
		defer func() { <-g.sem }()
	case <-ctx.Done():
		return nil, fmt.Errorf("report: waiting for another report to finish: %w", ctx.Err())
	}
	started := time.Now()
	now := g.opts.Now()
	var (
		tenant *storev1.Tenant
		agents []*storev1.Agent
		checks []*storev1.Check
	)
	err := g.opts.Store.View(ctx, func(tx store.Tx) error {
		var err error
		tenant, err = schema.GetTenant(tx, req.Tenant)
		if errors.Is(err, store.ErrNotFound) {
			return apierr.NotFound("tenant", req.Tenant)
		}
		if err != nil {
			return err
		}
		if agents, err = schema.ListAgents(tx); err != nil {
			return err
		}
		checks, err = schema.ListChecks(tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	p, err := g.resolve(req, now, tenant.GetTimezone())
	if err != nil {
		return nil, err
	}
	agents = agentsIn(agents, tenant.GetId(), p)
	checks = slices.DeleteFunc(checks, func(c *storev1.Check) bool { return c.GetTenant() != tenant.GetId() })
	if len(agents) > MaxAgents {
		return nil, fmt.Errorf("%w: tenant %q has %d agents in the period; a report covers at most %d", ErrTooLarge, tenant.GetId(), len(agents), MaxAgents)
	}
	if len(checks) > MaxChecks {
		return nil, fmt.Errorf("%w: tenant %q has %d checks; a report covers at most %d", ErrTooLarge, tenant.GetId(), len(checks), MaxChecks)
	}

	out := &managev1.Report{Tenant: tenant.GetId(), Timezone: p.loc.String(), SinceUnix: p.since.Unix(),
		UntilUnix: p.until.Unix(), GeneratedUnix: now.Unix()}
	if out.Agents, out.Metrics, err = g.agentSections(ctx, agents, p); err != nil {
		return nil, err
	}
	if out.Checks, err = g.checkSection(ctx, checks, p); err != nil {
		return nil, err
	}
	if out.Alerts, out.AlertsTruncated, err = g.alertSection(ctx, tenant.GetId(), p); err != nil {
		return nil, err
	}
	g.opts.Logger.InfoContext(ctx, "report built", "tenant", tenant.GetId(), "since", p.since, "until", p.until,
		"agents", len(agents), "checks", len(checks), "alerts", len(out.Alerts), "took", time.Since(started).Round(time.Millisecond))
	return out, nil
}

// resolve applies the defaults and limits to the request's period and
// cuts it into days of the tenant's zone.
func (g *Generator) resolve(req Request, now time.Time, zone string) (period, error) {
	loc, err := time.LoadLocation(cmp.Or(zone, "UTC"))
	if err != nil || zone == "Local" {
		loc = time.UTC
	}
	until := now
	if !req.Until.IsZero() {
		if req.Until.After(now.Add(time.Minute)) {
			return period{}, apierr.Invalid("until", "%s is in the future (controller time %s); omit it for now",
				req.Until.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
		until = minTime(req.Until, now)
	}
	until = until.Truncate(time.Minute)
	// Retention drops whole UTC days before the horizon's day, so the
	// horizon's own minute is still there: a period of exactly the
	// retention, counted back from until rounded down, fits.
	horizon := now.Add(-g.opts.Retention).Truncate(time.Minute)
	since := req.Since
	switch {
	case !since.IsZero() && req.Period != 0:
		return period{}, apierr.Invalid("period", "give a start time or a period, not both")
	case req.Period < 0:
		return period{}, apierr.Invalid("period", "%s is negative", req.Period)
	case since.IsZero() && req.Period > 0:
		since = until.Add(-req.Period)
	case since.IsZero():
		since = maxTime(until.Add(-DefaultPeriod), horizon)
	}
	since = ceilMinute(since)
	switch {
	case since.Before(horizon):
		return period{}, apierr.Invalid("since", "%s is before the metrics retention horizon %s (metrics are kept %s); start later",
			since.UTC().Format(time.RFC3339), horizon.UTC().Format(time.RFC3339), days(g.opts.Retention))
	case !since.Before(until):
		return period{}, apierr.Invalid("since", "%s is not before until %s; the period must cover at least one minute",
			since.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339))
	case until.Sub(since) > MaxPeriod:
		return period{}, apierr.Invalid("since", "the period is %s long, limit %s", days(until.Sub(since)), days(MaxPeriod))
	}
	return period{since: since, until: until, loc: loc, days: cutDays(since, until, loc)}, nil
}

// cutDays lists the calendar days of loc that [since, until) touches,
// each clipped to the period.
func cutDays(since, until time.Time, loc *time.Location) []day {
	var out []day
	t := since.In(loc)
	start := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	for start.Before(until) {
		next := time.Date(start.Year(), start.Month(), start.Day()+1, 0, 0, 0, 0, loc)
		out = append(out, day{name: start.Format(time.DateOnly),
			start: maxTime(start, since).UnixMilli(), end: minTime(next, until).UnixMilli()})
		start = next
	}
	return out
}

// dayIndex returns the index of the day holding ms, or -1 outside the
// period.
func (p period) dayIndex(ms int64) int {
	i, found := slices.BinarySearchFunc(p.days, ms, func(d day, ms int64) int {
		switch {
		case ms < d.start:
			return 1
		case ms >= d.end:
			return -1
		}
		return 0
	})
	if !found {
		return -1
	}
	return i
}

// agentsIn keeps the tenant's agents whose enrolled life overlaps the
// period, ordered by hostname then id.
func agentsIn(all []*storev1.Agent, tenant string, p period) []*storev1.Agent {
	var out []*storev1.Agent
	for _, a := range all {
		if a.GetTenant() != tenant {
			continue
		}
		from, to := agentWindow(a, p)
		if from < to {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b *storev1.Agent) int {
		return cmp.Or(strings.Compare(a.GetHostname(), b.GetHostname()), strings.Compare(a.GetId(), b.GetId()))
	})
	return out
}

// agentWindow is the part of the period in the agent's enrolled life, in
// Unix ms, on minute boundaries: from the first whole minute after
// enrollment to the minute of revocation.
func agentWindow(a *storev1.Agent, p period) (from, to int64) {
	from, to = p.since.UnixMilli(), p.until.UnixMilli()
	if e := a.GetEnrolledUnix(); e > 0 {
		from = max(from, ceilMinute(time.Unix(e, 0)).UnixMilli())
	}
	if a.GetRevoked() && a.GetRevokedUnix() > 0 {
		to = min(to, time.Unix(a.GetRevokedUnix(), 0).Truncate(time.Minute).UnixMilli())
	}
	return from, to
}

// parallel runs f(i) for i in [0, n) on at most workers goroutines and
// returns the first error; after an error no new call starts.
func parallel(ctx context.Context, n, workers int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(ctx, i); err != nil {
					cancel(err)
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

func ceilMinute(t time.Time) time.Time {
	if r := t.Truncate(time.Minute); r.Before(t) {
		return r.Add(time.Minute)
	}
	return t.Truncate(time.Minute)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// days prints a duration in days when it is a whole number of them.
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// round2 rounds to two decimals.
func round2(v float64) float64 { return math.Round(v*100) / 100 }

// percent is part / whole × 100 rounded to two decimals; zero when whole
// is zero.
func percent(part, whole float64) float64 {
	if whole <= 0 {
		return 0
	}
	return round2(part / whole * 100)
}
