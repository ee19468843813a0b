package report

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// defaultCheckInterval is a check's interval when its record says 0
// (storev1.Check.interval_seconds).
const defaultCheckInterval = 300 * time.Second

// controllerVantage is the vantage of a check without any.
const controllerVantage = "controller"

// checkSection reads each check's results in its own transaction, so no
// transaction holds more than one check's results, and computes its
// availability per vantage point.
func (g *Generator) checkSection(ctx context.Context, checks []*storev1.Check, p period) ([]*managev1.ReportCheckAvailability, error) {
	slices.SortFunc(checks, func(a, b *storev1.Check) int {
		return cmp.Or(strings.Compare(a.GetName(), b.GetName()), strings.Compare(a.GetId(), b.GetId()))
	})
	out := []*managev1.ReportCheckAvailability{}
	for _, c := range checks {
		var results []*storev1.CheckResultRecord
		err := g.opts.Store.View(ctx, func(tx store.Tx) error {
			var err error
			results, err = schema.ListCheckResults(tx, c.GetId(), p.since.Unix())
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("report: check %s results: %w", c.GetId(), err)
		}
		out = append(out, checkAvailability(c, results, p)...)
	}
	return out, nil
}

// checkAvailability computes one check's availability per vantage point
// from its results, as docs/reports.md defines it. Every vantage the
// check names gets an entry, with or without results; a vantage seen
// only in results (since removed from the check) gets one too.
func checkAvailability(c *storev1.Check, results []*storev1.CheckResultRecord, p period) []*managev1.ReportCheckAvailability {
	byVantage := map[string][]*storev1.CheckResultRecord{}
	for _, v := range c.GetVantages() {
		byVantage[v] = nil
	}
	if len(byVantage) == 0 {
		byVantage[controllerVantage] = nil
	}
	since, until := p.since.UnixMilli(), p.until.UnixMilli()
	for _, r := range results {
		if t := r.GetStartUnixMs(); t >= since && t < until {
			v := cmp.Or(r.GetVantage(), controllerVantage)
			byVantage[v] = append(byVantage[v], r)
		}
	}
	interval := time.Duration(c.GetIntervalSeconds()) * time.Second
	if interval <= 0 {
		interval = defaultCheckInterval
	}
	var out []*managev1.ReportCheckAvailability
	for _, v := range slices.Sorted(maps.Keys(byVantage)) {
		rs := byVantage[v]
		slices.SortStableFunc(rs, func(a, b *storev1.CheckResultRecord) int { return cmp.Compare(a.GetStartUnixMs(), b.GetStartUnixMs()) })
		out = append(out, vantageAvailability(c, v, rs, interval, p))
	}
	return out
}

// checkAcc counts one day's (or the period's) results.
type checkAcc struct {
	ok, ng, wr, err, outages uint32
	downMS                   int64
}

func (a *checkAcc) proto(name string) *managev1.ReportCheckDay {
	d := &managev1.ReportCheckDay{Day: name, Ok: a.ok, Ng: a.ng, Wr: a.wr, Err: a.err, Outages: a.outages, DownSeconds: a.downMS / 1000}
	if n := a.ok + a.ng + a.wr; n > 0 {
		u := percent(float64(a.ok), float64(n))
		d.UptimePercent = &u
	}
	return d
}

// vantageAvailability walks one vantage's results in time order.
func vantageAvailability(c *storev1.Check, vantage string, rs []*storev1.CheckResultRecord, interval time.Duration, p period) *managev1.ReportCheckAvailability {
	days := make([]checkAcc, len(p.days))
	var total checkAcc
	// down adds the interval [from, to) to the down time of the days it
	// overlaps and of the period.
	down := func(from, to int64) {
		to = min(to, p.until.UnixMilli())
		for i, d := range p.days {
			if lo, hi := max(from, d.start), min(to, d.end); lo < hi {
				days[i].downMS += hi - lo
				total.downMS += hi - lo
			}
		}
	}
	const noRun = -1
	var (
		upBefore  bool  // the last OK/NG/WR result was OK
		runStart  int64 = noRun
		lastCount int64 // start of the last OK/NG/WR result
	)
	for _, r := range rs {
		t := r.GetStartUnixMs()
		i := p.dayIndex(t)
		if i < 0 {
			continue
		}
		d := &days[i]
		switch r.GetStatus() {
		case agentv1.CheckStatus_CHECK_STATUS_OK:
			d.ok++
			total.ok++
			if runStart != noRun {
				down(runStart, t)
				runStart = noRun
			}
			upBefore, lastCount = true, t
		case agentv1.CheckStatus_CHECK_STATUS_NG, agentv1.CheckStatus_CHECK_STATUS_WR:
			if r.GetStatus() == agentv1.CheckStatus_CHECK_STATUS_NG {
				d.ng++
				total.ng++
			} else {
				d.wr++
				total.wr++
			}
			if runStart == noRun {
				runStart = t
				if upBefore {
					d.outages++
					total.outages++
				}
			}
			upBefore, lastCount = false, t
		case agentv1.CheckStatus_CHECK_STATUS_ERR:
			d.err++
			total.err++
		}
	}
	if runStart != noRun {
		down(runStart, lastCount+interval.Milliseconds())
	}
	out := &managev1.ReportCheckAvailability{CheckId: c.GetId(), Name: c.GetName(), Target: c.GetSpec().GetTarget(),
		Vantage: vantage, Total: total.proto(""), Days: make([]*managev1.ReportCheckDay, 0, len(p.days))}
	for i, d := range p.days {
		out.Days = append(out.Days, days[i].proto(d.name))
	}
	return out
}
