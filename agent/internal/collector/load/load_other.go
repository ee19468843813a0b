//go:build !windows && !linux

package load

import (
	"context"
	"errors"

	"github.com/shirou/gopsutil/v4/load"
)

func avg(context.Context) (*load.AvgStat, error) { return nil, errors.ErrUnsupported }
