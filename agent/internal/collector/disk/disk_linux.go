package disk

import (
	"context"

	"github.com/shirou/gopsutil/v4/disk"
)

// partitions lists every mount from /proc/1/mountinfo (falling back to
// /proc/self/mountinfo; HOST_PROC moves /proc for an agent in a container).
// It asks gopsutil for all mounts, not only those of "real" filesystem types
// per /proc/filesystems, so that Select alone decides what is reported.
// gopsutil gives a bind mount the device of the first mount of the same
// filesystem, which is what lets Select drop it.
func partitions(ctx context.Context) ([]Partition, error) {
	ps, err := disk.PartitionsWithContext(ctx, true)
	parts := make([]Partition, 0, len(ps))
	for _, p := range ps {
		parts = append(parts, Partition{Device: p.Device, Mount: p.Mountpoint, Fstype: p.Fstype})
	}
	return parts, err
}

// usage measures the filesystem at mount with statfs(2). Free is the space
// available to unprivileged users (f_bavail). statfs cannot be interrupted:
// ctx only bounds the caller's wait.
func usage(ctx context.Context, mount string) (Usage, error) {
	u, err := disk.UsageWithContext(ctx, mount)
	if err != nil {
		return Usage{}, err
	}
	return Usage{Total: u.Total, Used: u.Used, Free: u.Free}, nil
}
