package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-rmm/vigil/internal/limits"
)

// DMI is what the kernel exports of the firmware's SMBIOS tables under
// /sys/class/dmi/id.
type DMI struct {
	SysVendor, ProductName, ProductSerial string
	BIOSVendor, BIOSVersion, BIOSDate     string
}

// ReadDMI reads dir (/sys/class/dmi/id). Missing or unreadable files
// (product_serial is readable by root only) leave their field empty, as do
// the placeholder strings vendors leave in unset fields.
func ReadDMI(dir string) DMI {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return ""
		}
		return dmiString(string(b))
	}
	return DMI{
		SysVendor:     read("sys_vendor"),
		ProductName:   read("product_name"),
		ProductSerial: read("product_serial"),
		BIOSVendor:    read("bios_vendor"),
		BIOSVersion:   read("bios_version"),
		BIOSDate:      read("bios_date"),
	}
}

// dmiPlaceholders are values firmware leaves in fields nobody filled in.
var dmiPlaceholders = []string{
	"to be filled by o.e.m.", "default string", "not specified", "not applicable",
	"none", "n/a", "system product name", "system manufacturer", "system serial number",
	"0123456789", "oem", "o.e.m.",
}

// dmiString trims s and returns "" for a placeholder.
func dmiString(s string) string {
	s = cleanString(s)
	for _, p := range dmiPlaceholders {
		if strings.EqualFold(s, p) {
			return ""
		}
	}
	return s
}

// ParseBIOSDate parses the SMBIOS BIOS release date, MM/DD/YYYY (some
// old firmware writes MM/DD/YY), as midnight UTC in Unix seconds; 0 when
// it does not parse.
func ParseBIOSDate(s string) int64 {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"01/02/2006", "1/2/2006", "01/02/06"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Unix()
		}
	}
	return 0
}

// virtualVendors are sys_vendor, product_name or bios_vendor values (by
// case-insensitive prefix) that name a hypervisor or a cloud's virtual
// machine.
var virtualVendors = []string{
	"QEMU", "KVM", "VMware", "VirtualBox", "innotek GmbH", "Xen", "Bochs",
	"Parallels", "Amazon EC2", "Google Compute Engine", "OpenStack",
	"RHEV Hypervisor", "oVirt", "DigitalOcean", "Droplet", "Hetzner vServer",
	"Nutanix AHV", "BHYVE", "Apple Virtualization", "Alibaba Cloud ECS",
	"SeaBIOS", "EFI Development Kit II / OVMF",
}

// IsVirtual reports whether the DMI strings, the contents of
// /sys/hypervisor/type or the CPU's hypervisor flag identify a virtual
// machine. Microsoft Hyper-V and Azure are "Microsoft Corporation" with
// product "Virtual Machine" (Surface devices share the vendor). An EC2
// bare-metal instance ("m5.metal") is not virtual.
func IsVirtual(d DMI, hypervisorType string, cpuHypervisorFlag bool) bool {
	if strings.HasSuffix(d.ProductName, ".metal") && strings.EqualFold(d.SysVendor, "Amazon EC2") {
		return false
	}
	if cpuHypervisorFlag || strings.TrimSpace(hypervisorType) != "" {
		return true
	}
	if strings.EqualFold(d.SysVendor, "Microsoft Corporation") && strings.EqualFold(d.ProductName, "Virtual Machine") {
		return true
	}
	for _, v := range []string{d.SysVendor, d.ProductName, d.BIOSVendor} {
		for _, p := range virtualVendors {
			if len(v) >= len(p) && strings.EqualFold(v[:len(p)], p) {
				return true
			}
		}
	}
	return false
}

// cleanString trims s and limits it to limits.MaxString bytes of clean
// UTF-8.
func cleanString(s string) string {
	// Trimmed again after the cut, which can end on a space.
	return strings.TrimSpace(limits.CleanString(strings.TrimSpace(s), limits.MaxString))
}
