//go:build !linux && !darwin && !freebsd && !dragonfly && !windows

package main

import "errors"

// defaultPath is the path parameter's default.
const defaultPath = "/"

// freeSpace is not implemented here: Run reports a failed result and
// Inspect an error.
func freeSpace(string) (avail, total uint64, err error) {
	return 0, 0, errors.ErrUnsupported
}
