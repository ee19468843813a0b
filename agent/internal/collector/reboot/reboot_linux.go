package reboot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Signals runs the Linux checks against the live system: the file and
// kernel checks of LinuxSignals, then the RPM checks of RPMSignals where
// rpm or needs-restarting exist.
func Signals(ctx context.Context, _ Options) ([]Signal, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return nil, fmt.Errorf("reboot: uname: %w", err)
	}
	signals, err := LinuxSignals("/", unix.ByteSliceToString(u.Release[:]))
	if err != nil {
		return nil, err
	}
	return append(signals, RPMSignals(ctx, "/", execRunner{})...), nil
}

// execRunner runs commands with os/exec under LC_ALL=C.
type execRunner struct{}

var _ CommandRunner = execRunner{}

func (execRunner) LookPath(file string) (string, error) { return exec.LookPath(file) }

func (execRunner) Run(ctx context.Context, name string, args ...string) ([]byte, int, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, -1, ctx.Err()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return stdout.Bytes(), ee.ExitCode(), nil
	}
	if err != nil {
		return nil, -1, err
	}
	return stdout.Bytes(), 0, nil
}

// LinuxSignals checks root/run/reboot-required (with .pkgs as the detail)
// and whether root/boot holds a vmlinuz newer than runningKernel (uname -r).
// root is "/" on a live system and a fixture tree in tests.
func LinuxSignals(root string, runningKernel string) ([]Signal, error) {
	present := true
	if _, err := os.Stat(filepath.Join(root, "run", "reboot-required")); errors.Is(err, fs.ErrNotExist) {
		present = false
	} else if err != nil {
		return nil, fmt.Errorf("reboot: stat reboot-required: %w", err)
	}
	var pkgs []string
	if present {
		b, err := os.ReadFile(filepath.Join(root, "run", "reboot-required.pkgs"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("reboot: read reboot-required.pkgs: %w", err)
		}
		pkgs = ParsePkgs(string(b))
	}
	entries, err := os.ReadDir(filepath.Join(root, "boot"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reboot: read boot: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return []Signal{RebootRequiredSignal(present, pkgs), KernelSignal(runningKernel, NewestKernel(names))}, nil
}
