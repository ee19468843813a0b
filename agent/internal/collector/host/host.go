// Package host reports the host's static facts (name, OS, platform, kernel,
// architecture, boot time) and its uptime.
package host

import (
	"github.com/vigil-rmm/vigil/internal/duration"

	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/shirou/gopsutil/v4/host"

	"github.com/vigil-rmm/vigil/agent/internal/collector/sample"
)

// Name is the collector's name in the registry and in configuration.
const Name = "host"

// Config configures the host collector.
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

// Collector reads host facts. It holds no state.
type Collector struct{}

// New returns a host collector.
func New(Config) *Collector {
	// On Windows the boot time is computed as now minus uptime and can
	// shift by a second between calls, which would change the facts hash
	// and resend facts; cache it (it cannot change without a reboot,
	// which restarts the agent).
	host.EnableBootTimeCache(true)
	return &Collector{}
}

// Name returns Name.
func (*Collector) Name() string { return Name }

// Collect sets Facts (all but the CPU fields and AgentVersion) and
// Metrics.UptimeSeconds. It calls gopsutil's individual readers rather than
// host.Info, which also probes virtualization, counts processes and reads
// the host ID; one failing reader does not lose the others' facts.
func (*Collector) Collect(ctx context.Context, s *sample.Sample) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f := s.Facts
	f.Os = runtime.GOOS
	var errs []error
	var err error
	if f.Hostname, err = os.Hostname(); err != nil {
		errs = append(errs, fmt.Errorf("hostname: %w", err))
	}
	if f.Platform, _, f.PlatformVersion, err = host.PlatformInformationWithContext(ctx); err != nil {
		errs = append(errs, fmt.Errorf("platform: %w", err))
	}
	if f.KernelVersion, err = host.KernelVersionWithContext(ctx); err != nil {
		errs = append(errs, fmt.Errorf("kernel version: %w", err))
	}
	if f.Arch, err = host.KernelArch(); err != nil {
		errs = append(errs, fmt.Errorf("arch: %w", err))
	}
	if boot, err := host.BootTimeWithContext(ctx); err != nil {
		errs = append(errs, fmt.Errorf("boot time: %w", err))
	} else {
		f.BootTimeUnix = int64(boot)
	}
	if up, err := host.UptimeWithContext(ctx); err != nil {
		errs = append(errs, fmt.Errorf("uptime: %w", err))
	} else {
		s.Metrics.UptimeSeconds = up
	}
	return errors.Join(errs...)
}
