package load

import (
	"context"

	"github.com/shirou/gopsutil/v4/load"
)

// avg returns gopsutil's emulated load averages.
//
// The first call starts gopsutil's sampling goroutine with the context it is
// given and the goroutine stops when that context ends. Passing the
// per-collection context (cancelled seconds later) would freeze the figures
// after one sample, so the goroutine gets a context that is never cancelled:
// it lives as long as the agent process, sampling every 5 s.
func avg(ctx context.Context) (*load.AvgStat, error) {
	return load.AvgWithContext(context.WithoutCancel(ctx))
}
