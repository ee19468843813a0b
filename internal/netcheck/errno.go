//go:build unix || windows

package netcheck

import (
	"errors"
	"syscall"
)

// errnoClass is one row of the errno part of the mapping table; each
// system's errnoTable holds the rows (errno_unix.go, errno_windows.go).
type errnoClass struct {
	status Status
	why    string
}

// classifyErrno finds the errno in err's chain in errnoTable.
func classifyErrno(err error) (Status, string, bool) {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return 0, "", false
	}
	c, ok := errnoTable[errno]
	return c.status, c.why, ok
}
