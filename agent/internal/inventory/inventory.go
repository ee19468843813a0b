// Package inventory reads a host's hardware and installed software.
//
// The platform readers are thin: inventory_linux.go reads dpkg or rpm and
// /sys and /proc, inventory_windows.go reads the registry Uninstall keys
// (64- and 32-bit views) and WMI. Everything that interprets what they
// read (package list parsing, registry value parsing, WMI dates, DMI
// strings) is portable and tested on fixtures. Collect never fails as a
// whole for one bad source: the source is named in Inventory.Errors and
// what it would have filled stays empty.
package inventory

import (
	"cmp"
	"context"
	"slices"
	"time"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// DefaultQueryTimeout bounds each slow query (one WMI class, one package
// database read).
const DefaultQueryTimeout = 30 * time.Second

// Options configures Collect.
type Options struct {
	// QueryTimeout bounds each query; zero means DefaultQueryTimeout.
	QueryTimeout time.Duration
	// Root is the filesystem root the Linux reader reads /sys, /proc and
	// /etc under; "" means "/". Tests point it at a fixture tree.
	Root string
}

func (o Options) queryTimeout() time.Duration {
	if o.QueryTimeout <= 0 {
		return DefaultQueryTimeout
	}
	return o.QueryTimeout
}

func (o Options) root() string {
	if o.Root == "" {
		return "/"
	}
	return o.Root
}

// Collect reads the inventory. It returns an error only when nothing at all
// could be read (for example on an unsupported OS); partial failures are
// listed in Inventory.Errors. Software is sorted by name, arch, version.
func Collect(ctx context.Context, opts Options) (*agentv1.Inventory, error) {
	inv, err := collect(ctx, opts)
	if err != nil {
		return nil, err
	}
	SortSoftware(inv.Software)
	return inv, nil
}

// SortSoftware orders software by name, arch, then version.
func SortSoftware(sw []*agentv1.Software) {
	slices.SortStableFunc(sw, func(a, b *agentv1.Software) int {
		return cmp.Or(cmp.Compare(a.GetName(), b.GetName()), cmp.Compare(a.GetArch(), b.GetArch()),
			cmp.Compare(a.GetVersion(), b.GetVersion()))
	})
}
