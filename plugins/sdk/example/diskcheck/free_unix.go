//go:build linux || darwin || freebsd || dragonfly

package main

import "golang.org/x/sys/unix"

// defaultPath is the path parameter's default.
const defaultPath = "/"

// freeSpace returns the bytes available to unprivileged users and the size
// of the filesystem holding path.
func freeSpace(path string) (avail, total uint64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, 0, err
	}
	// The field types differ between systems; Bavail may be negative on
	// BSD when the reserved blocks are in use.
	bsize := uint64(st.Bsize)
	return uint64(max(st.Bavail, 0)) * bsize, uint64(st.Blocks) * bsize, nil
}
