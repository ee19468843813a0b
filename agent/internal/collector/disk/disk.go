// Package disk reports the size and use of every real, local mounted volume.
//
// Listing and measuring volumes is platform code (disk_linux.go,
// disk_windows.go); deciding which volumes count is the pure, portable Keep
// and Select, tested on Linux against fixtures of both platforms under
// testdata/.
//
// Kept: local filesystems that hold data. Skipped: pseudo and virtual
// filesystems (proc, tmpfs, cgroup, overlay, squashfs ...), optical media,
// network filesystems (nfs, cifs, sshfs ...: a file server is monitored on the
// file server, and a dead server's mount can hang statfs), container and
// credential mounts, ZFS snapshots, repeated mounts of one device (bind
// mounts, btrfs subvolumes: the shortest mount path is kept), volumes of
// size 0, and on Windows every drive that is not a fixed local drive
// (removable, network, optical, RAM disk).
package disk

import (
	"github.com/vigil-rmm/vigil/internal/duration"

	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-rmm/vigil/agent/internal/collector/sample"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// Name is the collector's name in the registry and in configuration.
const Name = "disk"

// Config configures the disk collector.
type Config struct {
	// Enabled turns the collector on.
	Enabled bool `json:"enabled"`
	// Timeout bounds one Collect.
	Timeout duration.Duration `json:"timeout"`
	// ExcludeFstypes names filesystem types to skip on top of the built-in
	// list. Matching ignores case.
	ExcludeFstypes []string `json:"exclude_fstypes"`
	// ExcludeMountPrefixes names mount points to skip on top of the built-in
	// list. A prefix skips that mount point and every mount under it; a
	// prefix ending in a separator ("/var/lib/docker/") skips only the
	// mounts under it.
	ExcludeMountPrefixes []string `json:"exclude_mount_prefixes"`
}

// DefaultConfig returns the collector enabled with a 5 s timeout and no
// exclusions beyond the built-in ones.
func DefaultConfig() Config {
	return Config{Enabled: true, Timeout: duration.Duration(5 * time.Second)}
}

// Validate checks the disk-specific fields. Errors name the field relative
// to the disk section ("exclude_fstypes[1]: must not be empty").
func (c Config) Validate() error {
	var errs []error
	for i, t := range c.ExcludeFstypes {
		if strings.TrimSpace(t) == "" {
			errs = append(errs, fmt.Errorf("exclude_fstypes[%d]: must not be empty", i))
		}
	}
	for i, p := range c.ExcludeMountPrefixes {
		if !isAbs(p) {
			errs = append(errs, fmt.Errorf("exclude_mount_prefixes[%d]: %q must be an absolute path", i, p))
		}
	}
	return errors.Join(errs...)
}

// Kind is what kind of drive holds a volume. Only Windows reports it.
type Kind uint8

// The kinds of drive, after Windows' GetDriveType.
const (
	// KindUnspecified means the OS gives no drive kind (Linux); the
	// filesystem type and mount point decide.
	KindUnspecified Kind = iota
	// KindFixed is a local disk.
	KindFixed
	// KindRemovable is a USB stick, card reader or floppy.
	KindRemovable
	// KindRemote is a network drive.
	KindRemote
	// KindOptical is a CD, DVD or Blu-ray drive.
	KindOptical
	// KindRAMDisk is a RAM disk.
	KindRAMDisk
	// KindOther is a drive Windows cannot classify or that has no root.
	KindOther
)

// Partition is one mounted filesystem as the OS lists it, before filtering.
type Partition struct {
	// Device is what is mounted: "/dev/sda1", "tank/home", "C:".
	Device string
	// Mount is where: "/", "/home", "C:".
	Mount string
	// Fstype is the filesystem type: "ext4", "NTFS". On Windows it is read
	// only for fixed drives.
	Fstype string
	// Kind is the drive kind on Windows, KindUnspecified elsewhere.
	Kind Kind
}

// Usage is the size and use of one volume, in bytes.
type Usage struct {
	// Total is the filesystem's size.
	Total uint64
	// Used is the space in use.
	Used uint64
	// Free is the space available to an unprivileged user, which on Linux
	// excludes the blocks reserved for root.
	Free uint64
}

// excludedFstypes are the filesystem types that never hold a volume worth
// reporting. It starts from node_exporter's default
// --collector.filesystem.fs-types-exclude and adds tmpfs and ramfs (memory,
// already reported), udf and Windows' CDFS (optical), more kernel pseudo
// filesystems, FUSE pseudo filesystems, and network filesystems.
var excludedFstypes = setOf(
	// node_exporter's default list.
	"autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs",
	"devpts", "devtmpfs", "fusectl", "hugetlbfs", "iso9660", "mqueue", "nsfs",
	"overlay", "proc", "procfs", "pstore", "rpc_pipefs", "securityfs",
	"selinuxfs", "squashfs", "erofs", "sysfs", "tracefs",
	// Memory, images and optical media.
	"tmpfs", "ramfs", "rootfs", "aufs", "udf", "cdfs",
	// More kernel and FUSE pseudo filesystems.
	"efivarfs", "nfsd", "cpuset", "pipefs", "sockfs", "devfs", "fuse.lxcfs",
	"fuse.portal", "fuse.gvfsd-fuse", "fuse.snapfuse", "fuse.squashfuse",
	// Network filesystems.
	"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "virtiofs", "ceph", "fuse.ceph",
	"fuse.ceph-fuse", "glusterfs", "fuse.glusterfs", "lustre", "afs", "ncpfs",
	"davfs", "fuse.davfs2", "fuse.sshfs", "fuse.s3fs", "fuse.rclone",
)

// excludedMountPrefixes follows node_exporter's default
// --collector.filesystem.mount-points-exclude,
// ^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/),
// where "/.+" becomes a trailing "/" (only what is under the prefix).
var excludedMountPrefixes = []string{
	"/dev", "/proc", "/sys",
	"/run/credentials/", "/var/lib/docker/", "/var/lib/containers/storage/",
}

// Keep reports whether a partition is a real, local volume worth reporting,
// judged on what the OS listed (the size is judged after measuring).
func Keep(p Partition, cfg Config) bool {
	switch {
	case p.Mount == "":
		return false
	case p.Kind != KindUnspecified && p.Kind != KindFixed:
		return false
	case excludedFstypes[strings.ToLower(p.Fstype)]:
		return false
	case containsFold(cfg.ExcludeFstypes, p.Fstype):
		return false
	case zfsSnapshot(p):
		return false
	case underAny(p.Mount, excludedMountPrefixes), underAny(p.Mount, cfg.ExcludeMountPrefixes):
		return false
	}
	return true
}

// Select returns the partitions Keep accepts, in their listed order, with
// repeated mounts of one device (bind mounts, btrfs subvolumes: statfs gives
// the same figures for each) reduced to the one with the shortest mount path.
func Select(parts []Partition, cfg Config) []Partition {
	kept := make([]Partition, 0, len(parts))
	at := make(map[string]int) // device -> index in kept
	for _, p := range parts {
		if !Keep(p, cfg) {
			continue
		}
		i, seen := at[p.Device]
		if !seen || p.Device == "" || p.Device == "none" {
			at[p.Device] = len(kept)
			kept = append(kept, p)
			continue
		}
		if shorter(p.Mount, kept[i].Mount) {
			kept[i] = p
		}
	}
	return kept
}

// Collector reports volumes. It holds no state.
type Collector struct {
	cfg Config
}

// New returns a disk collector.
func New(cfg Config) *Collector { return &Collector{cfg: cfg} }

// Name returns Name.
func (*Collector) Name() string { return Name }

// Collect sets Metrics.Volumes. A volume that cannot be measured is left out
// and its error returned; the others are still reported.
func (c *Collector) Collect(ctx context.Context, s *sample.Sample) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	parts, listErr := partitions(ctx)
	if listErr != nil && len(parts) == 0 {
		return fmt.Errorf("partitions: %w", listErr)
	}
	vols, err := measure(ctx, Select(parts, c.cfg), usage)
	s.Metrics.Volumes = vols
	if listErr != nil {
		err = errors.Join(fmt.Errorf("partitions: %w", listErr), err)
	}
	return err
}

// measure returns a Volume for each partition the usage function can
// measure, skipping those of size 0 (an empty card reader, an unformatted
// volume). It stops early when ctx ends.
func measure(ctx context.Context, parts []Partition, usage func(context.Context, string) (Usage, error)) ([]*agentv1.Volume, error) {
	vols := make([]*agentv1.Volume, 0, len(parts))
	var errs []error
	for _, p := range parts {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		u, err := usage(ctx, p.Mount)
		if err != nil {
			errs = append(errs, fmt.Errorf("usage %s: %w", p.Mount, err))
			continue
		}
		if u.Total == 0 {
			continue
		}
		vols = append(vols, &agentv1.Volume{
			Mount: p.Mount, Fstype: p.Fstype, Total: u.Total, Used: u.Used, Free: u.Free,
		})
	}
	return vols, errors.Join(errs...)
}

// zfsSnapshot reports whether p is a mounted ZFS snapshot (pool/fs@snap,
// auto-mounted under .zfs/snapshot): read-only copies of a dataset already
// reported.
func zfsSnapshot(p Partition) bool {
	return strings.EqualFold(p.Fstype, "zfs") &&
		(strings.Contains(p.Device, "@") || strings.Contains(p.Mount, "/.zfs/snapshot/"))
}

// underAny reports whether mount is one of the prefixes or under one of them.
// A prefix ending in a separator matches only what is strictly under it.
func underAny(mount string, prefixes []string) bool {
	for _, pre := range prefixes {
		if under(mount, pre) {
			return true
		}
	}
	return false
}

func under(mount, prefix string) bool {
	if prefix == "" || !strings.HasPrefix(mount, prefix) {
		return false
	}
	if isSep(prefix[len(prefix)-1]) {
		return len(mount) > len(prefix)
	}
	return len(mount) == len(prefix) || isSep(mount[len(prefix)])
}

func isSep(b byte) bool { return b == '/' || b == '\\' }

// isAbs reports whether p is absolute on Linux ("/srv") or Windows ("D:",
// `D:\backup`, `\\?\Volume{...}`), whichever platform checks it.
func isAbs(p string) bool {
	if p == "" {
		return false
	}
	if isSep(p[0]) {
		return true
	}
	c := p[0] | 0x20 // lower case for ASCII letters
	return len(p) >= 2 && c >= 'a' && c <= 'z' && p[1] == ':' && (len(p) == 2 || isSep(p[2]))
}

// shorter orders mount paths: fewer bytes first, then lexically.
func shorter(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(strings.TrimSpace(x), s) {
			return true
		}
	}
	return false
}

func setOf(xs ...string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}
