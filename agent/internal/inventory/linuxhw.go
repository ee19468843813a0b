package inventory

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// queryFunc runs a package database query (dpkg-query or rpm) and returns
// its standard output. A missing command is an error wrapping
// exec.ErrNotFound.
type queryFunc func(ctx context.Context, name string, args []string) ([]byte, error)

// readLinux reads a Linux host under opts.root(): hardware from /sys,
// /proc and /etc, software with query (dpkg-query if present, else rpm).
// It never fails as a whole; each failed source is listed in Errors.
// Memory modules stay empty: only the SMBIOS type 17 table has them, and
// reading it needs root and dmidecode, which is not worth a dependency.
// os_install_unix is left to the caller (it is not in the fixture trees).
func readLinux(ctx context.Context, opts Options, query queryFunc) *agentv1.Inventory {
	root := opts.root()
	inv := &agentv1.Inventory{Hardware: &agentv1.Hardware{}}
	hw := inv.Hardware
	fail := func(source string, err error) {
		inv.Errors = append(inv.Errors, fmt.Sprintf("%s: %v", source, err))
	}

	d := ReadDMI(filepath.Join(root, "sys", "class", "dmi", "id"))
	hw.Manufacturer, hw.Model, hw.SerialNumber = d.SysVendor, d.ProductName, d.ProductSerial
	if hw.Model == "" {
		// Device-tree boards (ARM) have no DMI but name themselves.
		hw.Model = cleanString(strings.TrimRight(readTrim(filepath.Join(root, "proc", "device-tree", "model")), "\x00"))
	}
	hw.BiosVendor, hw.BiosVersion, hw.BiosReleaseUnix = d.BIOSVendor, d.BIOSVersion, ParseBIOSDate(d.BIOSDate)

	hypervisor, _ := os.ReadFile(filepath.Join(root, "sys", "hypervisor", "type"))
	cpuinfo, err := os.ReadFile(filepath.Join(root, "proc", "cpuinfo"))
	if err != nil {
		fail("/proc/cpuinfo", err)
	}
	hw.Processors = ParseCPUInfo(cpuinfo)
	setMaxMHz(hw.Processors, filepath.Join(root, "sys", "devices", "system", "cpu", "cpu0", "cpufreq", "cpuinfo_max_freq"))
	hw.Virtual = IsVirtual(d, string(hypervisor), CPUHasHypervisorFlag(cpuinfo))

	if meminfo, err := os.ReadFile(filepath.Join(root, "proc", "meminfo")); err != nil {
		fail("/proc/meminfo", err)
	} else {
		hw.MemoryTotalBytes = ParseMemTotal(meminfo)
	}

	if hw.Disks, err = ReadDisks(filepath.Join(root, "sys", "block")); err != nil {
		fail("/sys/block", err)
	}

	if osRelease, err := readFirst(filepath.Join(root, "etc", "os-release"), filepath.Join(root, "usr", "lib", "os-release")); err != nil {
		fail("os-release", err)
	} else {
		hw.OsName, hw.OsVersion = ParseOSRelease(osRelease)
	}

	inv.Software, inv.SoftwareSource, err = readPackages(ctx, opts, query)
	if err != nil {
		inv.SoftwareIncomplete = true
		fail("software", err)
	}
	return inv
}

// readPackages lists the installed packages with dpkg-query or, when it is
// absent, rpm, each bounded by the query timeout.
func readPackages(ctx context.Context, opts Options, query queryFunc) ([]*agentv1.Software, string, error) {
	sources := []struct {
		source, bin string
		args        []string
		parse       func([]byte) ([]*agentv1.Software, error)
	}{
		{"dpkg", "dpkg-query", DpkgQueryArgs, ParseDpkg},
		{"rpm", "rpm", RPMQueryArgs, ParseRPM},
	}
	for _, s := range sources {
		qctx, cancel := context.WithTimeout(ctx, opts.queryTimeout())
		out, err := query(qctx, s.bin, s.args)
		cancel()
		if errors.Is(err, exec.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, s.source, fmt.Errorf("%s: %w", s.bin, err)
		}
		sw, err := s.parse(out)
		return sw, s.source, err
	}
	return nil, "", errors.New("neither dpkg-query nor rpm found")
}

// readFirst returns the contents of the first of paths that exists.
func readFirst(paths ...string) ([]byte, error) {
	var err error
	for _, p := range paths {
		var b []byte
		if b, err = os.ReadFile(p); err == nil {
			return b, nil
		}
	}
	return nil, err
}

// cpuinfoBlocks splits /proc/cpuinfo into one key → value map per
// "processor" block; keys are lower-cased.
func cpuinfoBlocks(data []byte) []map[string]string {
	var blocks []map[string]string
	cur := map[string]string{}
	flush := func() {
		if len(cur) > 0 {
			blocks = append(blocks, cur)
		}
		cur = map[string]string{}
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if _, dup := cur[k]; dup && k == "processor" {
			flush() // blocks not separated by a blank line
		}
		cur[k] = strings.TrimSpace(v)
	}
	flush()
	return blocks
}

// ParseCPUInfo returns one Processor per CPU package in /proc/cpuinfo,
// ordered by physical id. On x86 a package is a "physical id"; its cores
// are "cpu cores" and its threads the logical processors listed for it
// ("siblings" when that is larger). ARM kernels print neither: all
// logical processors are taken as one package with as many cores as
// threads, named by "model name" (32-bit ARM) or by the CPU implementer
// and part. Blocks without a "processor" key (ARM's trailing Hardware,
// Revision, Serial lines) are ignored.
func ParseCPUInfo(data []byte) []*agentv1.Processor {
	type pkg struct {
		id               int
		model            string
		cores, siblings  int
		threads          int
		implementer, prt string
	}
	var order []int
	pkgs := map[int]*pkg{}
	for _, b := range cpuinfoBlocks(data) {
		if _, ok := b["processor"]; !ok {
			continue
		}
		id := -1
		if v, err := strconv.Atoi(b["physical id"]); err == nil {
			id = v
		}
		p := pkgs[id]
		if p == nil {
			p = &pkg{id: id}
			pkgs[id] = p
			order = append(order, id)
		}
		p.threads++
		if p.model == "" {
			p.model = cmp.Or(b["model name"], b["cpu model"], b["cpu"])
		}
		if n, err := strconv.Atoi(b["cpu cores"]); err == nil && n > p.cores {
			p.cores = n
		}
		if n, err := strconv.Atoi(b["siblings"]); err == nil && n > p.siblings {
			p.siblings = n
		}
		if p.implementer == "" {
			p.implementer, p.prt = b["cpu implementer"], b["cpu part"]
		}
	}
	slices.Sort(order)
	var out []*agentv1.Processor
	for _, id := range order {
		p := pkgs[id]
		threads := max(p.threads, p.siblings)
		cores := p.cores
		if cores == 0 {
			cores = threads
		}
		model := p.model
		if model == "" && p.implementer != "" {
			model = ArmCPUName(p.implementer, p.prt)
		}
		out = append(out, &agentv1.Processor{Model: cleanString(model), Cores: uint32(cores), Threads: uint32(threads)})
	}
	return out
}

// armParts names common ARM cores by implementer and part number, as
// lscpu does.
var armParts = map[string]string{
	"0x41/0xd03": "ARM Cortex-A53", "0x41/0xd04": "ARM Cortex-A35", "0x41/0xd05": "ARM Cortex-A55",
	"0x41/0xd07": "ARM Cortex-A57", "0x41/0xd08": "ARM Cortex-A72", "0x41/0xd09": "ARM Cortex-A73",
	"0x41/0xd0a": "ARM Cortex-A75", "0x41/0xd0b": "ARM Cortex-A76", "0x41/0xd0c": "ARM Neoverse-N1",
	"0x41/0xd0d": "ARM Cortex-A77", "0x41/0xd40": "ARM Neoverse-V1", "0x41/0xd41": "ARM Cortex-A78",
	"0x41/0xd49": "ARM Neoverse-N2", "0x41/0xd4f": "ARM Neoverse-V2", "0x41/0xc07": "ARM Cortex-A7",
	"0x41/0xc0f": "ARM Cortex-A15", "0x61/0x022": "Apple Icestorm", "0x61/0x023": "Apple Firestorm",
	"0xc0/0xac3": "Ampere-1", "0x51/0x805": "Qualcomm Kryo 4XX Silver",
}

// ArmCPUName names an ARM core from /proc/cpuinfo's "CPU implementer" and
// "CPU part" values.
func ArmCPUName(implementer, part string) string {
	if n, ok := armParts[strings.ToLower(implementer)+"/"+strings.ToLower(part)]; ok {
		return n
	}
	return fmt.Sprintf("ARM implementer %s part %s", implementer, part)
}

// CPUHasHypervisorFlag reports whether the first "flags" line of
// /proc/cpuinfo has the x86 "hypervisor" flag, which hypervisors set.
func CPUHasHypervisorFlag(cpuinfo []byte) bool {
	for _, b := range cpuinfoBlocks(cpuinfo) {
		if flags, ok := b["flags"]; ok {
			return slices.Contains(strings.Fields(flags), "hypervisor")
		}
	}
	return false
}

// setMaxMHz sets every processor's max_mhz from cpufreq's
// cpuinfo_max_freq (kHz), when the file exists.
func setMaxMHz(ps []*agentv1.Processor, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	khz, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
	if err != nil {
		return
	}
	for _, p := range ps {
		p.MaxMhz = uint32(khz / 1000)
	}
}

// ParseMemTotal returns MemTotal from /proc/meminfo in bytes, 0 if absent.
// (MemTotal is usable RAM: installed memory less what firmware and the
// kernel reserve.)
func ParseMemTotal(meminfo []byte) uint64 {
	for line := range strings.Lines(string(meminfo)) {
		rest, ok := strings.CutPrefix(line, "MemTotal:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0
		}
		if len(f) > 1 && strings.EqualFold(f[1], "kB") {
			n *= 1024
		}
		return n
	}
	return 0
}

// ParseOSRelease returns PRETTY_NAME (else NAME and VERSION) and
// VERSION_ID from os-release, unquoting shell-style values.
func ParseOSRelease(data []byte) (name, version string) {
	kv := map[string]string{}
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if u, err := strconv.Unquote(v); err == nil && strings.HasPrefix(v, `"`) {
			v = u
		} else if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		kv[k] = v
	}
	name = kv["PRETTY_NAME"]
	if name == "" {
		name = strings.TrimSpace(kv["NAME"] + " " + kv["VERSION"])
	}
	return cleanString(name), cleanString(kv["VERSION_ID"])
}

// skipBlock lists /sys/block name prefixes that are not physical disks:
// loop devices, RAM disks, compressed swap, device-mapper and software
// RAID volumes (their members are listed), network block devices, floppy
// and optical drives.
var skipBlock = []string{"loop", "ram", "zram", "dm-", "md", "nbd", "fd", "sr", "zd", "rbd"}

// diskInterfaces maps a device name prefix to its bus.
var diskInterfaces = []struct{ prefix, bus string }{
	{"nvme", "NVMe"}, {"xvd", "Xen"}, {"vd", "virtio"}, {"sd", "SCSI"},
	{"mmcblk", "MMC"}, {"hd", "IDE"},
}

// ReadDisks lists the physical disks under dir (/sys/block), sorted by
// name: entries with a device link, not in skipBlock, not MMC boot or
// RPMB partitions, and not empty. Size is the size file (512-byte
// sectors); rotational comes from queue/rotational; model from
// device/model (device/name for MMC); serial from device/serial, serial (virtio), the VPD page
// 0x80 or, last, device/wwid.
func ReadDisks(dir string) ([]*agentv1.Disk, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var disks []*agentv1.Disk
	for _, e := range entries {
		name := e.Name()
		if slices.ContainsFunc(skipBlock, func(p string) bool { return strings.HasPrefix(name, p) }) ||
			strings.HasPrefix(name, "mmcblk") && (strings.Contains(name, "boot") || strings.Contains(name, "rpmb")) {
			continue
		}
		base := filepath.Join(dir, name)
		if _, err := os.Stat(filepath.Join(base, "device")); err != nil {
			continue
		}
		sectors, err := strconv.ParseUint(readTrim(filepath.Join(base, "size")), 10, 64)
		if err != nil || sectors == 0 {
			continue
		}
		d := &agentv1.Disk{
			Name:       cleanString(name),
			Model:      cleanString(diskModel(base, name)),
			SizeBytes:  sectors * 512,
			Rotational: readTrim(filepath.Join(base, "queue", "rotational")) == "1",
		}
		d.SerialNumber = cleanString(cmp.Or(
			readTrim(filepath.Join(base, "device", "serial")),
			readTrim(filepath.Join(base, "serial")),
			vpdSerial(filepath.Join(base, "device", "vpd_pg80")),
			readTrim(filepath.Join(base, "device", "wwid")),
		))
		for _, di := range diskInterfaces {
			if strings.HasPrefix(name, di.prefix) {
				d.Interface = di.bus
				break
			}
		}
		disks = append(disks, d)
	}
	slices.SortFunc(disks, func(a, b *agentv1.Disk) int { return strings.Compare(a.GetName(), b.GetName()) })
	return disks, nil
}

// diskModel reads device/model; MMC cards have device/name instead.
func diskModel(base, name string) string {
	if m := readTrim(filepath.Join(base, "device", "model")); m != "" || !strings.HasPrefix(name, "mmcblk") {
		return m
	}
	return readTrim(filepath.Join(base, "device", "name"))
}

// vpdSerial returns the unit serial number from a SCSI VPD page 0x80:
// a 4-byte header whose last byte is the length, then ASCII.
func vpdSerial(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 4 || b[1] != 0x80 {
		return ""
	}
	n := min(int(b[3]), len(b)-4)
	return strings.TrimSpace(strings.Trim(string(b[4:4+n]), "\x00"))
}

// readTrim returns the trimmed contents of path, "" when unreadable.
func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
