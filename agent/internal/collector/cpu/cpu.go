// Package cpu reports how busy the host's CPUs are (Metrics.CpuPercent) and
// the logical CPU count and model (Facts).
//
// CPU busy time is a difference between two readings of the cumulative CPU
// times. The Collector keeps its own previous reading rather than using
// gopsutil's cpu.Percent(0), whose state is a package global shared with any
// other caller in the process. The first Collect has no previous reading, so
// it takes two readings half a second apart (bounded by ctx); every later
// Collect reports the share of CPU time that was busy since the one before.
package cpu

import (
	"github.com/vigil-rmm/vigil/internal/duration"

	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"

	"github.com/vigil-rmm/vigil/agent/internal/collector/sample"
)

// Name is the collector's name in the registry and in configuration.
const Name = "cpu"

// primeInterval is how long the first Collect measures over.
const primeInterval = 500 * time.Millisecond

// Config configures the cpu collector.
type Config struct {
	// Enabled turns the collector on.
	Enabled bool `json:"enabled"`
	// Timeout bounds one Collect, including the first one's priming interval.
	Timeout duration.Duration `json:"timeout"`
}

// DefaultConfig returns the collector enabled with a 5 s timeout.
func DefaultConfig() Config {
	return Config{Enabled: true, Timeout: duration.Duration(5 * time.Second)}
}

// Collector measures CPU use between calls. It is safe for concurrent use.
type Collector struct {
	prime time.Duration

	mu     sync.Mutex
	prev   cpu.TimesStat
	primed bool
	model  string // cached after the first successful read; it never changes while running
}

// New returns a cpu collector. The configuration holds nothing the collector
// itself needs; the caller uses its Enabled and Timeout.
func New(Config) *Collector {
	return &Collector{prime: primeInterval}
}

// Name returns Name.
func (c *Collector) Name() string { return Name }

// Collect sets Metrics.CpuPercent and Facts.CpuCount and Facts.CpuModel. It
// fills what it can and returns the errors of the parts that failed.
func (c *Collector) Collect(ctx context.Context, s *sample.Sample) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var errs []error
	if pct, err := c.percent(ctx); err != nil {
		errs = append(errs, err)
	} else {
		s.Metrics.CpuPercent = float32(pct)
	}
	if n, err := cpu.CountsWithContext(ctx, true); err != nil {
		errs = append(errs, fmt.Errorf("count: %w", err))
	} else {
		s.Facts.CpuCount = uint32(n)
	}
	if m, err := c.cachedModel(ctx); err != nil {
		errs = append(errs, fmt.Errorf("model: %w", err))
	} else {
		s.Facts.CpuModel = m
	}
	return errors.Join(errs...)
}

// percent returns the busy share of all CPUs since the previous call, or over
// the priming interval on the first call.
func (c *Collector) percent(ctx context.Context) (float64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.primed {
		first, err := total(ctx)
		if err != nil {
			return 0, err
		}
		// Even if the wait below is cut short, the next call measures from
		// this reading, so a timeout shorter than the priming interval
		// costs one sample, not every sample.
		c.prev, c.primed = first, true
		t := time.NewTimer(c.prime)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("prime: %w", ctx.Err())
		case <-t.C:
		}
	}
	cur, err := total(ctx)
	if err != nil {
		return 0, err
	}
	pct := busy(c.prev, cur)
	c.prev = cur
	return pct, nil
}

func (c *Collector) cachedModel(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.model != "" {
		return c.model, nil
	}
	m, err := model(ctx)
	if err != nil {
		return "", err
	}
	c.model = m
	return m, nil
}

// total reads the cumulative times of all CPUs together.
func total(ctx context.Context) (cpu.TimesStat, error) {
	ts, err := cpu.TimesWithContext(ctx, false)
	if err != nil {
		return cpu.TimesStat{}, fmt.Errorf("times: %w", err)
	}
	if len(ts) == 0 {
		return cpu.TimesStat{}, errors.New("times: no total returned")
	}
	return ts[0], nil
}

// busy returns the percentage of CPU time that was busy between two readings
// of cumulative times, as gopsutil and top compute it: idle and iowait are
// not busy, and guest time is already counted in user time (Linux) so it is
// left out of the total. It returns 0 when the counters did not advance or
// went backwards (a counter reset), and never more than 100.
func busy(prev, cur cpu.TimesStat) float64 {
	prevAll, prevBusy := split(prev)
	curAll, curBusy := split(cur)
	if curBusy <= prevBusy || curAll <= prevAll {
		return 0
	}
	return math.Min(100, (curBusy-prevBusy)/(curAll-prevAll)*100)
}

func split(t cpu.TimesStat) (all, busy float64) {
	all = t.User + t.System + t.Idle + t.Nice + t.Iowait + t.Irq + t.Softirq + t.Steal
	return all, all - t.Idle - t.Iowait
}
