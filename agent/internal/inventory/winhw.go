package inventory

import (
	"cmp"
	"slices"
	"strings"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// WMI classes the Windows reader queries. Field names are the WMI property
// names, which github.com/yusufpapurcu/wmi maps by exact name
// (platform-notes §3.1); types follow the classes' MOF
// (https://learn.microsoft.com/windows/win32/cimwin32prov/<class>). uint64
// properties reach WMI scripting as strings and the wmi package parses them
// into the integer fields. Dates stay strings and are parsed by wmiDateTime.

type win32ComputerSystem struct {
	Manufacturer        string
	Model               string
	TotalPhysicalMemory uint64
}

type win32BIOS struct {
	Manufacturer      string
	SMBIOSBIOSVersion string
	ReleaseDate       string
	SerialNumber      string
}

type win32Processor struct {
	DeviceID                  string
	Name                      string
	NumberOfCores             uint32
	NumberOfLogicalProcessors uint32
	MaxClockSpeed             uint32
}

type win32PhysicalMemory struct {
	BankLabel     string
	DeviceLocator string
	Capacity      uint64
	Speed         uint32
	Manufacturer  string
	PartNumber    string
}

type win32DiskDrive struct {
	DeviceID      string
	Model         string
	SerialNumber  string
	Size          uint64
	InterfaceType string
	MediaType     string
}

type win32OperatingSystem struct {
	Caption     string
	Version     string
	InstallDate string
}

// wmiSnapshot is what the WMI queries returned, one slice per class; a
// class whose query failed stays empty.
type wmiSnapshot struct {
	ComputerSystem []win32ComputerSystem  `json:"Win32_ComputerSystem"`
	BIOS           []win32BIOS            `json:"Win32_BIOS"`
	Processor      []win32Processor       `json:"Win32_Processor"`
	PhysicalMemory []win32PhysicalMemory  `json:"Win32_PhysicalMemory"`
	DiskDrive      []win32DiskDrive       `json:"Win32_DiskDrive"`
	OS             []win32OperatingSystem `json:"Win32_OperatingSystem"`
}

// winHardware builds Hardware from a snapshot. Strings are trimmed (WMI pads
// CPU names and part numbers) and cut to winMaxString bytes; lists are
// sorted so equal hardware encodes equally.
//
// memory_total_bytes is the sum of the modules' Capacity (the installed
// memory, as the field's contract says) and falls back to
// Win32_ComputerSystem.TotalPhysicalMemory, which is the memory visible to
// Windows and slightly less, when no module is reported.
//
// Win32_DiskDrive cannot tell a spinning disk from an SSD (MediaType is
// "Fixed hard disk media" for both), so rotational stays false, which the
// contract allows for unknown.
func winHardware(s wmiSnapshot) *agentv1.Hardware {
	hw := &agentv1.Hardware{}
	var visibleMemory uint64
	if len(s.ComputerSystem) > 0 {
		cs := s.ComputerSystem[0]
		hw.Manufacturer, hw.Model = winClip(cs.Manufacturer), winClip(cs.Model)
		visibleMemory = cs.TotalPhysicalMemory
	}
	if len(s.BIOS) > 0 {
		b := s.BIOS[0]
		hw.BiosVendor, hw.BiosVersion = winClip(b.Manufacturer), winClip(b.SMBIOSBIOSVersion)
		hw.BiosReleaseUnix = wmiUnix(strings.TrimSpace(b.ReleaseDate))
		hw.SerialNumber = winClip(b.SerialNumber)
	}
	for _, p := range slices.SortedFunc(slices.Values(s.Processor), func(a, b win32Processor) int {
		return cmp.Compare(a.DeviceID, b.DeviceID)
	}) {
		hw.Processors = append(hw.Processors, &agentv1.Processor{
			Model: winClip(p.Name), Cores: p.NumberOfCores, Threads: p.NumberOfLogicalProcessors, MaxMhz: p.MaxClockSpeed,
		})
	}
	for _, m := range s.PhysicalMemory {
		slot := winClip(m.DeviceLocator)
		if slot == "" {
			slot = winClip(m.BankLabel)
		}
		hw.MemoryModules = append(hw.MemoryModules, &agentv1.MemoryModule{
			Slot: slot, CapacityBytes: m.Capacity, SpeedMhz: m.Speed,
			Manufacturer: winClip(m.Manufacturer), PartNumber: winClip(m.PartNumber),
		})
		hw.MemoryTotalBytes += m.Capacity
	}
	slices.SortStableFunc(hw.MemoryModules, func(a, b *agentv1.MemoryModule) int { return cmp.Compare(a.GetSlot(), b.GetSlot()) })
	if hw.MemoryTotalBytes == 0 {
		hw.MemoryTotalBytes = visibleMemory
	}
	for _, d := range s.DiskDrive {
		hw.Disks = append(hw.Disks, &agentv1.Disk{
			Name: winClip(d.DeviceID), Model: winClip(d.Model), SerialNumber: winClip(d.SerialNumber),
			SizeBytes: d.Size, Interface: winClip(d.InterfaceType),
		})
	}
	// By length first, so PHYSICALDRIVE2 sorts before PHYSICALDRIVE10.
	slices.SortStableFunc(hw.Disks, func(a, b *agentv1.Disk) int {
		return cmp.Or(cmp.Compare(len(a.GetName()), len(b.GetName())), cmp.Compare(a.GetName(), b.GetName()))
	})
	if len(s.OS) > 0 {
		o := s.OS[0]
		hw.OsName, hw.OsVersion = winClip(o.Caption), winClip(o.Version)
		hw.OsInstallUnix = wmiUnix(strings.TrimSpace(o.InstallDate))
	}
	hw.Virtual = winVirtual(hw.Manufacturer, hw.Model)
	return hw
}

// winHypervisors are the Win32_ComputerSystem Manufacturer and Model
// substrings (lower case; "" matches anything) that hypervisors report in
// SMBIOS. Both must match. Values as the vendors document or commonly
// report them: VMware ("VMware, Inc." / "VMware Virtual Platform",
// "VMware7,1"), QEMU/KVM ("QEMU" / "Standard PC (Q35 + ICH9, 2009)"),
// Hyper-V and Azure ("Microsoft Corporation" / "Virtual Machine"; a Surface
// is "Microsoft Corporation" too, hence the model), VirtualBox
// ("innotek GmbH" / "VirtualBox"), Xen and older EC2 ("Xen" / "HVM domU"),
// EC2 Nitro ("Amazon EC2" / the instance type), Google ("Google" /
// "Google Compute Engine"), Parallels ("Parallels Software International
// Inc."). Win32_ComputerSystem.HypervisorPresent is not used: it is also
// true on a physical host running Hyper-V or virtualization-based security.
var winHypervisors = []struct{ manufacturer, model string }{
	{"vmware", ""},
	{"qemu", ""},
	{"", "kvm"},
	{"microsoft corporation", "virtual machine"},
	{"innotek", ""},
	{"", "virtualbox"},
	{"xen", ""},
	{"amazon ec2", ""},
	{"google", "google compute engine"},
	{"parallels", ""},
}

// winVirtual reports whether the system manufacturer and model name a
// hypervisor.
func winVirtual(manufacturer, model string) bool {
	manufacturer, model = strings.ToLower(manufacturer), strings.ToLower(model)
	for _, h := range winHypervisors {
		if (h.manufacturer != "" || h.model != "") &&
			strings.Contains(manufacturer, h.manufacturer) && strings.Contains(model, h.model) {
			return true
		}
	}
	return false
}
