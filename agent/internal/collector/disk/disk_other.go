//go:build !windows && !linux

package disk

import (
	"context"
	"errors"
)

func partitions(context.Context) ([]Partition, error) { return nil, errors.ErrUnsupported }

func usage(context.Context, string) (Usage, error) { return Usage{}, errors.ErrUnsupported }
