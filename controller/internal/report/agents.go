package report

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/metrics"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

const minuteMS = int64(time.Minute / time.Millisecond)

// agentSections reads every agent's samples once and returns the
// availability and metrics sections, in the agents' order.
func (g *Generator) agentSections(ctx context.Context, agents []*storev1.Agent, p period) ([]*managev1.ReportAgentAvailability, []*managev1.ReportAgentMetrics, error) {
	avail := make([]*managev1.ReportAgentAvailability, len(agents))
	mets := make([]*managev1.ReportAgentMetrics, len(agents))
	err := parallel(ctx, len(agents), g.opts.Parallel, func(ctx context.Context, i int) error {
		var err error
		avail[i], mets[i], err = g.agent(ctx, agents[i], p)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("report: %w", err)
	}
	return avail, mets, nil
}

// agent streams one agent's samples in its window through the
// accumulators.
func (g *Generator) agent(ctx context.Context, a *storev1.Agent, p period) (*managev1.ReportAgentAvailability, *managev1.ReportAgentMetrics, error) {
	from, to := agentWindow(a, p)
	acc := newAgentAcc(p, from, to)
	for cursor := from; cursor < to; {
		batch, more, err := g.opts.Metrics.Query(ctx, a.GetId(), time.UnixMilli(cursor), time.UnixMilli(to), BatchSize)
		if err != nil {
			return nil, nil, fmt.Errorf("agent %s: %w", a.GetId(), err)
		}
		for _, s := range batch {
			acc.add(s)
		}
		if !more || len(batch) == 0 {
			break
		}
		// Samples are keyed by time then sequence; two samples in the
		// same millisecond at a batch boundary are the only ones that can
		// be skipped, and they count for the same minute anyway.
		cursor = batch[len(batch)-1].TimeMS + 1
	}
	acc.flushMetrics()
	av := &managev1.ReportAgentAvailability{AgentId: a.GetId(), Hostname: a.GetHostname(), Total: acc.total.proto(""), Days: []*managev1.ReportAvailability{}}
	for i, d := range p.days {
		if acc.days[i].expected > 0 {
			av.Days = append(av.Days, acc.days[i].proto(d.name))
		}
	}
	return av, &managev1.ReportAgentMetrics{AgentId: a.GetId(), Hostname: a.GetHostname(), Days: acc.metricDays}, nil
}

// presence counts online minutes of one day or of the period.
type presence struct {
	expected, online uint32
	firstMS, lastMS  int64
}

func (c *presence) seen(ms int64) {
	if c.firstMS == 0 || ms < c.firstMS {
		c.firstMS = ms
	}
	c.lastMS = max(c.lastMS, ms)
}

func (c *presence) proto(name string) *managev1.ReportAvailability {
	return &managev1.ReportAvailability{Day: name, ExpectedMinutes: c.expected, OnlineMinutes: c.online,
		Percent: percent(float64(c.online), float64(c.expected)), FirstSeenUnixMs: c.firstMS, LastSeenUnixMs: c.lastMS}
}

// agentAcc folds one agent's samples, in time order, into presence per
// day and metric summaries per day.
type agentAcc struct {
	p          period
	from, to   int64 // the agent's window, Unix ms on minute boundaries
	days       []presence
	total      presence
	lastSample int64 // time of the previous sample; 0 before the first
	lastMarked int64 // start of the last minute counted online; -1 before
	cur        *dayMetrics
	metricDays []*managev1.ReportMetricsDay
}

func newAgentAcc(p period, from, to int64) *agentAcc {
	acc := &agentAcc{p: p, from: from, to: to, days: make([]presence, len(p.days)), lastMarked: -1,
		metricDays: []*managev1.ReportMetricsDay{}}
	for i, d := range p.days {
		lo, hi := max(d.start, from), min(d.end, to)
		if lo < hi {
			acc.days[i].expected = uint32((hi - lo) / minuteMS)
			acc.total.expected += acc.days[i].expected
		}
	}
	return acc
}

// add folds one sample in; samples outside the window are ignored.
func (acc *agentAcc) add(s metrics.Sample) {
	t := s.TimeMS
	i := acc.p.dayIndex(t)
	if t < acc.from || t >= acc.to || i < 0 {
		return
	}
	minute := t - t%minuteMS
	if prev := acc.lastSample; prev != 0 && t-prev <= GapTolerance.Milliseconds() {
		for m := prev - prev%minuteMS + minuteMS; m < minute; m += minuteMS {
			acc.mark(m)
		}
	}
	acc.mark(minute)
	acc.lastSample = t
	acc.days[i].seen(t)
	acc.total.seen(t)
	acc.metric(i, s)
}

// mark counts the minute starting at m online once.
func (acc *agentAcc) mark(m int64) {
	if m <= acc.lastMarked || m < acc.from || m >= acc.to {
		return
	}
	acc.lastMarked = m
	if i := acc.p.dayIndex(m); i >= 0 {
		acc.days[i].online++
		acc.total.online++
	}
}

// dayMetrics accumulates one day's samples.
type dayMetrics struct {
	index                 int
	cpu                   []float64
	cpuSum, memSum        float64
	memN                  int
	memMax, swapMax, load float64
	volumes               map[string]float64
}

func (acc *agentAcc) metric(i int, s metrics.Sample) {
	if acc.cur != nil && acc.cur.index != i {
		acc.flushMetrics()
	}
	if acc.cur == nil {
		acc.cur = &dayMetrics{index: i, volumes: map[string]float64{}}
	}
	d, m := acc.cur, s.Metrics
	cpu := float64(m.GetCpuPercent())
	d.cpu = append(d.cpu, cpu)
	d.cpuSum += cpu
	if m.GetMemTotal() > 0 {
		mem := float64(m.GetMemUsed()) / float64(m.GetMemTotal()) * 100
		d.memSum += mem
		d.memN++
		d.memMax = max(d.memMax, mem)
	}
	if m.GetSwapTotal() > 0 {
		d.swapMax = max(d.swapMax, float64(m.GetSwapUsed())/float64(m.GetSwapTotal())*100)
	}
	d.load = max(d.load, float64(m.GetLoad1()))
	for _, v := range m.GetVolumes() {
		if v.GetTotal() == 0 {
			continue
		}
		free := float64(v.GetFree()) / float64(v.GetTotal()) * 100
		old, ok := d.volumes[v.GetMount()]
		switch {
		case ok:
			d.volumes[v.GetMount()] = math.Min(old, free)
		case len(d.volumes) < maxVolumes:
			d.volumes[v.GetMount()] = free
		}
	}
}

// flushMetrics turns the current day's accumulator into its summary.
func (acc *agentAcc) flushMetrics() {
	d := acc.cur
	if d == nil {
		return
	}
	acc.cur = nil
	n := len(d.cpu)
	slices.Sort(d.cpu)
	out := &managev1.ReportMetricsDay{
		Day:              acc.p.days[d.index].name,
		Samples:          uint32(n),
		CpuAvg:           round2(d.cpuSum / float64(n)),
		CpuP95:           round2(d.cpu[nearestRank(n, 0.95)]),
		CpuMax:           round2(d.cpu[n-1]),
		MemoryMaxPercent: round2(d.memMax),
		SwapMaxPercent:   round2(d.swapMax),
		Load1Max:         round2(d.load),
		Volumes:          []*managev1.ReportVolume{},
	}
	if d.memN > 0 {
		out.MemoryAvgPercent = round2(d.memSum / float64(d.memN))
	}
	for _, mount := range slices.SortedFunc(maps.Keys(d.volumes), strings.Compare) {
		out.Volumes = append(out.Volumes, &managev1.ReportVolume{Mount: mount, MinFreePercent: round2(d.volumes[mount])})
	}
	acc.metricDays = append(acc.metricDays, out)
}

// nearestRank is the index in n sorted values of the q quantile by the
// nearest-rank method: the ceil(q×n)-th smallest value.
func nearestRank(n int, q float64) int {
	return min(max(int(math.Ceil(q*float64(n)))-1, 0), n-1)
}
