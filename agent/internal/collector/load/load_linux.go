package load

import (
	"context"

	"github.com/shirou/gopsutil/v4/load"
)

// avg reads /proc/loadavg.
func avg(ctx context.Context) (*load.AvgStat, error) {
	return load.AvgWithContext(ctx)
}
