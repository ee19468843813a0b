//go:build !linux

package fdlimit

import "errors"

func raise(uint64) (uint64, error) { return 0, errors.ErrUnsupported }
