package disk

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSelectFixtures(t *testing.T) {
	server := mounts(t, "linux-server.mounts")
	drives, _ := windowsDrives(t, "windows-server.drives")
	tests := []struct {
		name  string
		parts []Partition
		cfg   Config
		want  []string
	}{
		{
			name:  "this machine",
			parts: mounts(t, "linux-dev-vm.mounts"),
			cfg:   DefaultConfig(),
			want:  []string{"/"},
		},
		{
			name:  "linux server",
			parts: server,
			cfg:   DefaultConfig(),
			want:  []string{"/", "/boot", "/boot/efi", "/home", "/srv/backup", "/tank", "/tank/vm", "/media/usb disk"},
		},
		{
			name:  "linux server with extra exclusions",
			parts: server,
			cfg: Config{
				ExcludeFstypes:       []string{"VFAT", " exfat "},
				ExcludeMountPrefixes: []string{"/tank/", "/srv"},
			},
			want: []string{"/", "/boot", "/home", "/tank"},
		},
		{
			// F: is fixed but empty; measure drops it once its size is known.
			name:  "windows server",
			parts: drives,
			cfg:   DefaultConfig(),
			want:  []string{"C:", "F:", "G:"},
		},
		{
			name:  "windows server with an excluded drive",
			parts: drives,
			cfg:   Config{ExcludeMountPrefixes: []string{"G:"}},
			want:  []string{"C:", "F:"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := mountsOf(Select(tc.parts, tc.cfg)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Select = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestKeep(t *testing.T) {
	tests := []struct {
		name string
		p    Partition
		cfg  Config
		want bool
	}{
		{"ext4 root", Partition{Device: "/dev/sda1", Mount: "/", Fstype: "ext4"}, Config{}, true},
		{"no mount point", Partition{Device: "/dev/sda1", Fstype: "ext4"}, Config{}, false},
		{"tmpfs", Partition{Device: "tmpfs", Mount: "/tmp", Fstype: "tmpfs"}, Config{}, false},
		{"cgroup2", Partition{Device: "cgroup2", Mount: "/sys/fs/cgroup", Fstype: "cgroup2"}, Config{}, false},
		{"fuse.lxcfs", Partition{Device: "lxcfs", Mount: "/var/lib/lxcfs", Fstype: "fuse.lxcfs"}, Config{}, false},
		{"nfs share", Partition{Device: "nas:/x", Mount: "/mnt/x", Fstype: "nfs"}, Config{}, false},
		{"fuseblk ntfs-3g", Partition{Device: "/dev/sdb1", Mount: "/mnt/win", Fstype: "fuseblk"}, Config{}, true},
		{"fstype ignores case", Partition{Device: "D:", Mount: "D:", Fstype: "CDFS"}, Config{}, false},
		{"extra fstype ignores case", Partition{Device: "/dev/sdb1", Mount: "/data", Fstype: "xfs"}, Config{ExcludeFstypes: []string{"XFS"}}, false},
		{"zfs dataset", Partition{Device: "tank/home", Mount: "/home", Fstype: "zfs"}, Config{}, true},
		{"zfs snapshot by name", Partition{Device: "tank/home@daily", Mount: "/snap-view", Fstype: "zfs"}, Config{}, false},
		{"zfs snapshot by path", Partition{Device: "tank/home", Mount: "/home/.zfs/snapshot/daily", Fstype: "zfs"}, Config{}, false},
		{"mount /dev itself", Partition{Device: "/dev/sdz", Mount: "/dev", Fstype: "ext4"}, Config{}, false},
		{"prefix is a path component", Partition{Device: "/dev/sdb1", Mount: "/devdata", Fstype: "ext4"}, Config{}, true},
		{"docker's own disk", Partition{Device: "/dev/sdb1", Mount: "/var/lib/docker", Fstype: "ext4"}, Config{}, true},
		{"inside docker", Partition{Device: "/dev/sda1", Mount: "/var/lib/docker/plugins", Fstype: "ext4"}, Config{}, false},
		{"systemd credentials", Partition{Device: "ramfs", Mount: "/run/credentials/x.service", Fstype: "ext4"}, Config{}, false},
		{"extra prefix, windows folder", Partition{Device: "C:", Mount: `C:\mnt\data`, Fstype: "NTFS", Kind: KindFixed}, Config{ExcludeMountPrefixes: []string{`C:\mnt`}}, false},
		{"windows fixed", Partition{Device: "C:", Mount: "C:", Fstype: "NTFS", Kind: KindFixed}, Config{}, true},
		{"windows removable", Partition{Device: "E:", Mount: "E:", Fstype: "FAT32", Kind: KindRemovable}, Config{}, false},
		{"windows network", Partition{Device: "Z:", Mount: "Z:", Fstype: "NTFS", Kind: KindRemote}, Config{}, false},
		{"windows optical", Partition{Device: "D:", Mount: "D:", Kind: KindOptical}, Config{}, false},
		{"windows ram disk", Partition{Device: "R:", Mount: "R:", Fstype: "NTFS", Kind: KindRAMDisk}, Config{}, false},
		{"windows unknown", Partition{Device: "Q:", Mount: "Q:", Kind: KindOther}, Config{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Keep(tc.p, tc.cfg); got != tc.want {
				t.Errorf("Keep(%+v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}

func TestSelectDuplicates(t *testing.T) {
	tests := []struct {
		name  string
		parts []Partition
		want  []string
	}{
		{
			name: "bind after the original",
			parts: []Partition{
				{Device: "/dev/sda1", Mount: "/srv", Fstype: "ext4"},
				{Device: "/dev/sda1", Mount: "/srv/www/shared", Fstype: "ext4"},
			},
			want: []string{"/srv"},
		},
		{
			name: "shorter mount listed later replaces, in place",
			parts: []Partition{
				{Device: "/dev/sdb1", Mount: "/data/sub", Fstype: "btrfs"},
				{Device: "/dev/sda1", Mount: "/", Fstype: "ext4"},
				{Device: "/dev/sdb1", Mount: "/data", Fstype: "btrfs"},
			},
			want: []string{"/data", "/"},
		},
		{
			name: "equal length keeps the lexically first",
			parts: []Partition{
				{Device: "/dev/sdb1", Mount: "/b", Fstype: "ext4"},
				{Device: "/dev/sdb1", Mount: "/a", Fstype: "ext4"},
			},
			want: []string{"/a"},
		},
		{
			name: "an excluded mount does not hide the kept one",
			parts: []Partition{
				{Device: "/dev/sda1", Mount: "/var/lib/docker/x", Fstype: "ext4"},
				{Device: "/dev/sda1", Mount: "/var/lib/docker/x/y/z/very/long", Fstype: "ext4"},
				{Device: "/dev/sda1", Mount: "/opt/longer/path", Fstype: "ext4"},
			},
			want: []string{"/opt/longer/path"},
		},
		{
			name: "unnamed devices are not merged",
			parts: []Partition{
				{Device: "none", Mount: "/a", Fstype: "myfs"},
				{Device: "none", Mount: "/b", Fstype: "myfs"},
				{Device: "", Mount: "/c", Fstype: "myfs"},
				{Device: "", Mount: "/d", Fstype: "myfs"},
			},
			want: []string{"/a", "/b", "/c", "/d"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := mountsOf(Select(tc.parts, DefaultConfig())); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Select = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMeasureWindowsFixture(t *testing.T) {
	parts, usages := windowsDrives(t, "windows-server.drives")
	vols, err := measure(context.Background(), Select(parts, DefaultConfig()), fakeUsage(usages))
	if err != nil {
		t.Fatalf("measure: %v", err)
	}
	var got []string
	for _, v := range vols {
		got = append(got, v.Mount+" "+v.Fstype+" "+strconv.FormatUint(v.Total, 10)+" "+
			strconv.FormatUint(v.Used, 10)+" "+strconv.FormatUint(v.Free, 10))
	}
	want := []string{
		"C: NTFS 160482455552 99197321216 61285134336",
		"G: ReFS 2199023255552 824633720832 1374389534720",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("volumes = %q, want %q", got, want)
	}
}

func TestMeasureErrorKeepsOthers(t *testing.T) {
	parts := []Partition{{Mount: "/"}, {Mount: "/broken"}, {Mount: "/data"}}
	vols, err := measure(context.Background(), parts, fakeUsage(map[string]Usage{
		"/":     {Total: 10, Used: 4, Free: 5},
		"/data": {Total: 20, Used: 1, Free: 19},
	}))
	if got, want := mountsOfVolumes(vols), []string{"/", "/data"}; !reflect.DeepEqual(got, want) {
		t.Errorf("volumes = %q, want %q", got, want)
	}
	if err == nil || !strings.Contains(err.Error(), "usage /broken: ") {
		t.Errorf("err = %v, want one naming /broken", err)
	}
}

func TestMeasureStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	vols, err := measure(ctx, []Partition{{Mount: "/"}}, fakeUsage(map[string]Usage{"/": {Total: 1}}))
	if len(vols) != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("measure(cancelled) = %d volumes, %v; want none, context.Canceled", len(vols), err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"empty fstype", Config{ExcludeFstypes: []string{"ext4", " "}}, "exclude_fstypes[1]: must not be empty"},
		{"relative prefix", Config{ExcludeMountPrefixes: []string{"/ok", `D:\ok`, "mnt"}}, `exclude_mount_prefixes[2]: "mnt" must be an absolute path`},
		{"drive without colon", Config{ExcludeMountPrefixes: []string{"D"}}, `exclude_mount_prefixes[0]: "D" must be an absolute path`},
		{
			"every problem",
			Config{ExcludeFstypes: []string{""}, ExcludeMountPrefixes: []string{"x"}},
			"exclude_fstypes[0]: must not be empty\n" + `exclude_mount_prefixes[0]: "x" must be an absolute path`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := errString(tc.cfg.Validate()); got != tc.want {
				t.Errorf("Validate() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestConfigValidateAccepts(t *testing.T) {
	cfg := Config{ExcludeFstypes: []string{"zfs"}, ExcludeMountPrefixes: []string{"/srv/", "D:", `E:\backup`, `\\?\Volume{1}`}}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate() = %v, want nil", err)
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v, want nil", err)
	}
}

// mounts reads a /proc/self/mounts fixture as gopsutil's disk.Partitions
// reports it: device, unescaped mount point, fstype.
func mounts(t *testing.T, name string) []Partition {
	t.Helper()
	var parts []Partition
	for _, f := range fixtureLines(t, name) {
		if len(f) < 4 {
			t.Fatalf("%s: short line %q", name, f)
		}
		mount, err := strconv.Unquote(`"` + f[1] + `"`)
		if err != nil {
			t.Fatalf("%s: mount point %q: %v", name, f[1], err)
		}
		parts = append(parts, Partition{Device: f[0], Mount: mount, Fstype: f[2]})
	}
	return parts
}

var kinds = map[string]Kind{
	"fixed": KindFixed, "removable": KindRemovable, "remote": KindRemote,
	"optical": KindOptical, "ramdisk": KindRAMDisk,
}

// windowsDrives reads a drive list fixture: drive kind fstype total used free.
func windowsDrives(t *testing.T, name string) ([]Partition, map[string]Usage) {
	t.Helper()
	var parts []Partition
	usages := make(map[string]Usage)
	for _, f := range fixtureLines(t, name) {
		kind, ok := kinds[f[1]]
		if len(f) != 6 || !ok {
			t.Fatalf("%s: bad line %q", name, f)
		}
		parts = append(parts, Partition{Device: f[0], Mount: f[0], Fstype: f[2], Kind: kind})
		usages[f[0]] = Usage{Total: atou(t, f[3]), Used: atou(t, f[4]), Free: atou(t, f[5])}
	}
	return parts, usages
}

// fixtureLines returns the fields of each line of testdata/name, after
// checking that the first line says where the fixture came from.
func fixtureLines(t *testing.T, name string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines [][]string
	sc := bufio.NewScanner(f)
	for n := 0; sc.Scan(); n++ {
		line := sc.Text()
		if n == 0 && !strings.HasPrefix(line, "# ") {
			t.Fatalf("%s: first line must say where the fixture came from", name)
		}
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		lines = append(lines, strings.Fields(line))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

func fakeUsage(m map[string]Usage) func(context.Context, string) (Usage, error) {
	return func(_ context.Context, mount string) (Usage, error) {
		u, ok := m[mount]
		if !ok {
			return Usage{}, os.ErrNotExist
		}
		return u, nil
	}
}

func atou(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func mountsOf(parts []Partition) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p.Mount)
	}
	return out
}

func mountsOfVolumes(vols []*agentv1.Volume) []string {
	var out []string
	for _, v := range vols {
		out = append(out, v.Mount)
	}
	return out
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
