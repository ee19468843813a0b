package inventory

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"

	"golang.org/x/sys/unix"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// collect reads the Linux host under opts.Root. The package list comes
// from dpkg-query or rpm run with LC_ALL=C. os_install_unix is the birth
// time of the root directory (the file system's creation, which is the
// installation for almost every install), zero when the file system does
// not record it.
func collect(ctx context.Context, opts Options) (*agentv1.Inventory, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	inv := readLinux(ctx, opts, execQuery)
	inv.Hardware.OsInstallUnix = birthTime(opts.root())
	return inv, nil
}

// execQuery runs name with args under ctx with LC_ALL=C and returns its
// standard output. A command that exits non-zero is an error quoting the
// start of its standard error.
func execQuery(ctx context.Context, name string, args []string) ([]byte, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		msg, _, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n")
		return nil, errors.New(ee.Error() + ": " + cleanString(msg))
	}
	return out, err
}

// birthTime returns the birth time of dir in Unix seconds, 0 if unknown.
func birthTime(dir string) int64 {
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, dir, 0, unix.STATX_BTIME, &st); err != nil || st.Mask&unix.STATX_BTIME == 0 {
		return 0
	}
	return st.Btime.Sec
}
