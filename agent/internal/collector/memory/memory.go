// Package memory reports physical memory and swap use. On Windows, swap is
// the page file as gopsutil's mem.SwapMemory measures it.
package memory

import (
	"github.com/vigil-rmm/vigil/internal/duration"

	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shirou/gopsutil/v4/mem"

	"github.com/vigil-rmm/vigil/agent/internal/collector/sample"
)

// Name is the collector's name in the registry and in configuration.
const Name = "memory"

// Config configures the memory collector.
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

// Collector reads memory figures. It holds no state.
type Collector struct{}

// New returns a memory collector.
func New(Config) *Collector { return &Collector{} }

// Name returns Name.
func (*Collector) Name() string { return Name }

// Collect sets the Metrics mem_* and swap_* fields. A failing swap reading
// does not lose the physical memory figures.
func (*Collector) Collect(ctx context.Context, s *sample.Sample) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var errs []error
	if vm, err := mem.VirtualMemoryWithContext(ctx); err != nil {
		errs = append(errs, fmt.Errorf("virtual memory: %w", err))
	} else {
		s.Metrics.MemTotal = vm.Total
		s.Metrics.MemAvailable = vm.Available
		s.Metrics.MemUsed = used(vm.Total, vm.Available)
	}
	if sw, err := mem.SwapMemoryWithContext(ctx); err != nil {
		errs = append(errs, fmt.Errorf("swap: %w", err))
	} else {
		s.Metrics.SwapTotal = sw.Total
		s.Metrics.SwapUsed = min(sw.Used, sw.Total)
	}
	return errors.Join(errs...)
}

// used is total minus available, as the wire contract defines mem_used,
// whatever the platform's own notion of "used".
func used(total, available uint64) uint64 {
	if available > total {
		return 0
	}
	return total - available
}
