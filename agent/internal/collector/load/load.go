// Package load reports the 1, 5 and 15 minute load averages. Linux reads
// them from the kernel; Windows has none, so gopsutil emulates them from the
// processor queue length sampled every 5 s, starting at 0 on the first call
// and converging over the following minutes.
package load

import (
	"github.com/vigil-rmm/vigil/internal/duration"

	"context"
	"fmt"
	"time"

	"github.com/vigil-rmm/vigil/agent/internal/collector/sample"
)

// Name is the collector's name in the registry and in configuration.
const Name = "load"

// Config configures the load collector.
type Config struct {
	// Enabled turns the collector on.
	Enabled bool `json:"enabled"`
	// Timeout bounds one Collect.
	Timeout duration.Duration `json:"timeout"`
}

// DefaultConfig returns the collector enabled with a 5 s timeout.
func DefaultConfig() Config {
	return Config{Enabled: true, Timeout: duration.Duration(5 * time.Second)}
}

// Collector reads load averages. It holds no state.
type Collector struct{}

// New returns a load collector.
func New(Config) *Collector { return &Collector{} }

// Name returns Name.
func (*Collector) Name() string { return Name }

// Collect sets Metrics.Load1, Load5 and Load15.
func (*Collector) Collect(ctx context.Context, s *sample.Sample) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a, err := avg(ctx)
	if err != nil {
		return fmt.Errorf("average: %w", err)
	}
	s.Metrics.Load1 = float32(a.Load1)
	s.Metrics.Load5 = float32(a.Load5)
	s.Metrics.Load15 = float32(a.Load15)
	return nil
}
