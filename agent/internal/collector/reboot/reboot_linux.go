package reboot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Signals runs the Linux checks against the live system.
func Signals(ctx context.Context, _ Options) ([]Signal, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return nil, fmt.Errorf("reboot: uname: %w", err)
	}
	return LinuxSignals("/", unix.ByteSliceToString(u.Release[:]))
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
