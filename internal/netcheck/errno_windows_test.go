package netcheck_test

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// errnos names the errors the tests build fixtures from.
var errnos = map[string]syscall.Errno{
	"ECONNREFUSED": windows.WSAECONNREFUSED,
	"ECONNRESET":   windows.WSAECONNRESET,
	"ETIMEDOUT":    windows.WSAETIMEDOUT,
	"EHOSTUNREACH": windows.WSAEHOSTUNREACH,
	"ENETUNREACH":  windows.WSAENETUNREACH,
	"EACCES":       windows.WSAEACCES,
	"EMFILE":       windows.WSAEMFILE,
}
