package collector

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/vigil-rmm/vigil/agent/internal/collector/cpu"
	"github.com/vigil-rmm/vigil/agent/internal/collector/disk"
	"github.com/vigil-rmm/vigil/agent/internal/collector/host"
	"github.com/vigil-rmm/vigil/agent/internal/collector/load"
	"github.com/vigil-rmm/vigil/agent/internal/collector/memory"
)

// MaxTimeout is the longest timeout a collector may have. A round takes as
// long as its slowest collector, and these are figures sent every interval.
const MaxTimeout = time.Minute

// Config selects and configures the collectors, one section per collector.
type Config struct {
	// CPU configures the cpu collector.
	CPU cpu.Config `json:"cpu"`
	// Memory configures the memory collector.
	Memory memory.Config `json:"memory"`
	// Load configures the load collector.
	Load load.Config `json:"load"`
	// Disk configures the disk collector.
	Disk disk.Config `json:"disk"`
	// Host configures the host collector.
	Host host.Config `json:"host"`
}

// Default returns every collector enabled with its default settings.
func Default() Config {
	return Config{
		CPU:    cpu.DefaultConfig(),
		Memory: memory.DefaultConfig(),
		Load:   load.DefaultConfig(),
		Disk:   disk.DefaultConfig(),
		Host:   host.DefaultConfig(),
	}
}

// Validate checks every collector's section, enabled or not, and returns
// all problems found. Each error names its field by its path in the agent
// configuration, e.g. "collectors.disk.timeout: must be > 0".
func (c Config) Validate() error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(registry)) {
		e := registry[name](c)
		switch {
		case e.timeout <= 0:
			errs = append(errs, fmt.Errorf("collectors.%s.timeout: must be > 0", name))
		case e.timeout > MaxTimeout:
			errs = append(errs, fmt.Errorf("collectors.%s.timeout: must be at most %s", name, MaxTimeout))
		}
		if e.validate == nil {
			continue
		}
		if err := e.validate(); err != nil {
			errs = append(errs, prefixed("collectors."+name+".", err))
		}
	}
	return errors.Join(errs...)
}

// prefixed puts prefix before each error's message, keeping the chain.
func prefixed(prefix string, err error) error {
	var out []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, fmt.Errorf("%s%w", prefix, e))
		}
		return errors.Join(out...)
	}
	return fmt.Errorf("%s%w", prefix, err)
}
