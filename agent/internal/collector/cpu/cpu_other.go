//go:build !windows && !linux

package cpu

import (
	"context"
	"errors"
)

func model(context.Context) (string, error) { return "", errors.ErrUnsupported }
