//go:build unix

package netcheck_test

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// errnos names the errors the tests build fixtures from.
var errnos = map[string]syscall.Errno{
	"ECONNREFUSED": unix.ECONNREFUSED,
	"ECONNRESET":   unix.ECONNRESET,
	"ETIMEDOUT":    unix.ETIMEDOUT,
	"EHOSTUNREACH": unix.EHOSTUNREACH,
	"ENETUNREACH":  unix.ENETUNREACH,
	"EACCES":       unix.EACCES,
	"EMFILE":       unix.EMFILE,
}
