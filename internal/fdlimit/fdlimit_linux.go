package fdlimit

import "golang.org/x/sys/unix"

func raise(want uint64) (uint64, error) {
	var l unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if l.Cur >= want {
		return l.Cur, nil
	}
	if want > l.Max {
		// Privileged processes may raise the hard limit; try, then fall back.
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: want, Max: want}); err == nil {
			return want, nil
		}
		want = l.Max
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: want, Max: l.Max}); err != nil {
		return l.Cur, err
	}
	return want, nil
}
