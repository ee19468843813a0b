//go:build !windows && !linux

package reboot

import (
	"context"
	"errors"
)

// Signals is not implemented on this platform.
func Signals(context.Context, Options) ([]Signal, error) { return nil, errors.ErrUnsupported }
