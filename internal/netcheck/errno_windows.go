//go:build windows

package netcheck

import (
	"errors"
	"syscall"

	"golang.org/x/sys/windows"
)

// errnoTable is the Winsock part of the mapping table (doc.go).
var errnoTable = map[syscall.Errno]errnoClass{
	windows.WSAECONNREFUSED:  {NG, "connection refused"},
	windows.WSAECONNRESET:    {NG, "connection reset"},
	windows.WSAECONNABORTED:  {NG, "connection aborted"},
	windows.WSAETIMEDOUT:     {WR, "no reply within the timeout"},
	windows.WSAEHOSTUNREACH:  {ERR, "no route to host"},
	windows.WSAENETUNREACH:   {ERR, "network unreachable"},
	windows.WSAENETDOWN:      {ERR, "network down"},
	windows.WSAEHOSTDOWN:     {ERR, "host down"},
	windows.WSAEACCES:        {ERR, "not permitted (local firewall or socket permission)"},
	windows.WSAEADDRNOTAVAIL: {ERR, "no local address available"},
	windows.WSAEMFILE:        {ERR, "out of sockets"},
	windows.WSAENOBUFS:       {ERR, "out of buffer space"},
}

// isUnreachable reports whether err is a host or network unreachable
// error, which Classify maps to ERR and the TCP probe refines.
func isUnreachable(err error) bool {
	return errors.Is(err, windows.WSAEHOSTUNREACH) || errors.Is(err, windows.WSAENETUNREACH)
}
