package main

import (
	"log/slog"
	"time"

	"golang.org/x/sys/unix"
)

func nowMS() int64 { return time.Now().UnixMilli() }

// raiseFileLimit lifts the soft open-file limit to the hard one: every
// simulated agent holds a socket (and, with the bolt outbox, a file).
func raiseFileLimit(logger *slog.Logger) {
	var l unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &l); err != nil {
		return
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &l); err != nil {
			logger.Warn("raise open-file limit", "err", err)
		}
	}
}
