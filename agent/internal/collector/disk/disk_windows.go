package disk

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/windows"
)

// partitions lists the drive letters with their drive kind, and the
// filesystem type of the fixed ones.
//
// This uses golang.org/x/sys/windows rather than gopsutil's disk.Partitions:
// gopsutil drops the drive type (which is how fixed drives are told from
// removable, network and optical ones), calls GetVolumeInformation on every
// drive (which can block on a disconnected network drive), and its disk
// package writes to the registry in init. Volumes mounted only in folders
// (no drive letter) are not listed.
func partitions(ctx context.Context) ([]Partition, error) {
	mask, err := windows.GetLogicalDrives()
	if err != nil {
		return nil, fmt.Errorf("logical drives: %w", err)
	}
	var parts []Partition
	var errs []error
	for i := range 26 {
		if mask&(1<<i) == 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return parts, errors.Join(append(errs, err)...)
		}
		drive := string(rune('A'+i)) + ":"
		root, err := windows.UTF16PtrFromString(drive + `\`)
		if err != nil {
			errs = append(errs, fmt.Errorf("drive %s: %w", drive, err))
			continue
		}
		p := Partition{Device: drive, Mount: drive, Kind: kindOf(windows.GetDriveType(root))}
		if p.Kind == KindFixed {
			if p.Fstype, err = fstype(root); err != nil {
				errs = append(errs, fmt.Errorf("volume information %s: %w", drive, err))
				continue
			}
		}
		parts = append(parts, p)
	}
	return parts, errors.Join(errs...)
}

func kindOf(t uint32) Kind {
	switch t {
	case windows.DRIVE_FIXED:
		return KindFixed
	case windows.DRIVE_REMOVABLE:
		return KindRemovable
	case windows.DRIVE_REMOTE:
		return KindRemote
	case windows.DRIVE_CDROM:
		return KindOptical
	case windows.DRIVE_RAMDISK:
		return KindRAMDisk
	}
	return KindOther
}

// fstype returns the filesystem name of the volume at root ("NTFS", "ReFS").
func fstype(root *uint16) (string, error) {
	var name [windows.MAX_PATH + 1]uint16
	if err := windows.GetVolumeInformation(root, nil, 0, nil, nil, nil, &name[0], uint32(len(name))); err != nil {
		return "", err
	}
	return windows.UTF16ToString(name[:]), nil
}

// usage measures the drive with GetDiskFreeSpaceEx. Free is the space
// available to the calling user (it honours quotas), like f_bavail on Linux;
// Used is the size minus all free space.
func usage(_ context.Context, mount string) (Usage, error) {
	root, err := windows.UTF16PtrFromString(mount + `\`)
	if err != nil {
		return Usage{}, err
	}
	var avail, total, free uint64
	if err := windows.GetDiskFreeSpaceEx(root, &avail, &total, &free); err != nil {
		return Usage{}, err
	}
	return Usage{Total: total, Used: total - min(free, total), Free: avail}, nil
}
