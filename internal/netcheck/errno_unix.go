//go:build unix

package netcheck

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// errnoTable is the errno part of the mapping table (doc.go).
var errnoTable = map[syscall.Errno]errnoClass{
	unix.ECONNREFUSED:  {NG, "connection refused"},
	unix.ECONNRESET:    {NG, "connection reset"},
	unix.ECONNABORTED:  {NG, "connection aborted"},
	unix.ETIMEDOUT:     {WR, "no reply within the timeout"},
	unix.EHOSTUNREACH:  {ERR, "no route to host"},
	unix.ENETUNREACH:   {ERR, "network unreachable"},
	unix.ENETDOWN:      {ERR, "network down"},
	unix.EHOSTDOWN:     {ERR, "host down"},
	unix.EACCES:        {ERR, "not permitted (local firewall or socket permission)"},
	unix.EPERM:         {ERR, "not permitted (local firewall or socket permission)"},
	unix.EADDRNOTAVAIL: {ERR, "no local address available"},
	unix.EMFILE:        {ERR, "out of file descriptors"},
	unix.ENFILE:        {ERR, "out of file descriptors"},
	unix.ENOBUFS:       {ERR, "out of buffer space"},
	unix.EINVAL:        {ERR, "invalid argument (blackhole route?)"},
}

// isUnreachable reports whether err is a host or network unreachable
// error, which Classify maps to ERR and the TCP probe refines.
func isUnreachable(err error) bool {
	return errors.Is(err, unix.EHOSTUNREACH) || errors.Is(err, unix.ENETUNREACH)
}
