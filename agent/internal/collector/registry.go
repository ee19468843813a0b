package collector

import (
	"time"

	"github.com/vigil-rmm/vigil/agent/internal/collector/cpu"
	"github.com/vigil-rmm/vigil/agent/internal/collector/disk"
	"github.com/vigil-rmm/vigil/agent/internal/collector/host"
	"github.com/vigil-rmm/vigil/agent/internal/collector/load"
	"github.com/vigil-rmm/vigil/agent/internal/collector/memory"
)

// Every collector implements Collector.
var (
	_ Collector = (*cpu.Collector)(nil)
	_ Collector = (*memory.Collector)(nil)
	_ Collector = (*load.Collector)(nil)
	_ Collector = (*disk.Collector)(nil)
	_ Collector = (*host.Collector)(nil)
)

// entry is one collector's view of a Config.
type entry struct {
	enabled bool
	timeout time.Duration
	// validate checks the collector's own fields; nil if it has none.
	validate func() error
	build    func() Collector
}

// registry is the one list of collectors, by name.
var registry = map[string]func(Config) entry{
	cpu.Name: func(c Config) entry {
		return entry{enabled: c.CPU.Enabled, timeout: c.CPU.Timeout.Std(),
			build: func() Collector { return cpu.New(c.CPU) }}
	},
	memory.Name: func(c Config) entry {
		return entry{enabled: c.Memory.Enabled, timeout: c.Memory.Timeout.Std(),
			build: func() Collector { return memory.New(c.Memory) }}
	},
	load.Name: func(c Config) entry {
		return entry{enabled: c.Load.Enabled, timeout: c.Load.Timeout.Std(),
			build: func() Collector { return load.New(c.Load) }}
	},
	disk.Name: func(c Config) entry {
		return entry{enabled: c.Disk.Enabled, timeout: c.Disk.Timeout.Std(), validate: c.Disk.Validate,
			build: func() Collector { return disk.New(c.Disk) }}
	},
	host.Name: func(c Config) entry {
		return entry{enabled: c.Host.Enabled, timeout: c.Host.Timeout.Std(),
			build: func() Collector { return host.New(c.Host) }}
	},
}
