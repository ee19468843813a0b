package inventory

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/internal/golden"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

func winLoadSnapshot(t *testing.T) wmiSnapshot {
	t.Helper()
	var s wmiSnapshot
	winLoadJSON(t, &s.ComputerSystem, "wmi", "Win32_ComputerSystem.json")
	winLoadJSON(t, &s.BIOS, "wmi", "Win32_BIOS.json")
	winLoadJSON(t, &s.Processor, "wmi", "Win32_Processor.json")
	winLoadJSON(t, &s.PhysicalMemory, "wmi", "Win32_PhysicalMemory.json")
	winLoadJSON(t, &s.DiskDrive, "wmi", "Win32_DiskDrive.json")
	winLoadJSON(t, &s.OS, "wmi", "Win32_OperatingSystem.json")
	return s
}

func TestWinHardwareFixture(t *testing.T) {
	hw := winHardware(winLoadSnapshot(t))
	// The points the golden file would hide in a diff.
	if hw.GetProcessors()[0].GetModel() != "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz" ||
		hw.GetMemoryModules()[0].GetSlot() != "A1" || hw.GetMemoryModules()[0].GetPartNumber() != "HMAA8GR7CJR4N-XN" ||
		hw.GetMemoryTotalBytes() != 2*137438953472 ||
		hw.GetDisks()[0].GetName() != `\\.\PHYSICALDRIVE0` ||
		hw.GetOsInstallUnix() != 1697367600 || hw.GetBiosReleaseUnix() != 1705622400 || hw.GetVirtual() {
		t.Errorf("hardware = %v", hw)
	}
	b, err := protojson.Marshal(hw)
	if err != nil {
		t.Fatal(err)
	}
	golden.JSON(t, filepath.Join("testdata", "windows", "hardware.golden.json"), json.RawMessage(b))
}

func TestWinHardwareSparse(t *testing.T) {
	tests := []struct {
		name string
		in   wmiSnapshot
		want *agentv1.Hardware
	}{
		{"nothing read", wmiSnapshot{}, &agentv1.Hardware{}},
		{
			"no modules: visible memory; bank label when no locator; bad dates",
			wmiSnapshot{
				ComputerSystem: []win32ComputerSystem{{Manufacturer: "Microsoft Corporation", Model: "Virtual Machine", TotalPhysicalMemory: 8589398016}},
				BIOS:           []win32BIOS{{ReleaseDate: "********000000.000000+000"}},
				OS:             []win32OperatingSystem{{Caption: "Microsoft Windows Server 2022 Datacenter ", InstallDate: "garbage"}},
			},
			&agentv1.Hardware{Manufacturer: "Microsoft Corporation", Model: "Virtual Machine", MemoryTotalBytes: 8589398016,
				OsName: "Microsoft Windows Server 2022 Datacenter", Virtual: true},
		},
		{
			"modules without capacity fall back to visible memory",
			wmiSnapshot{
				ComputerSystem: []win32ComputerSystem{{TotalPhysicalMemory: 4096}},
				PhysicalMemory: []win32PhysicalMemory{{BankLabel: "BANK 0"}},
			},
			&agentv1.Hardware{MemoryTotalBytes: 4096, MemoryModules: []*agentv1.MemoryModule{{Slot: "BANK 0"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := winHardware(tt.in); !proto.Equal(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestWinVirtual(t *testing.T) {
	tests := []struct {
		manufacturer, model string
		want                bool
	}{
		{"VMware, Inc.", "VMware Virtual Platform", true},
		{"VMware, Inc.", "VMware7,1", true},
		{"QEMU", "Standard PC (Q35 + ICH9, 2009)", true},
		{"Red Hat", "KVM", true},
		{"Microsoft Corporation", "Virtual Machine", true},
		{"innotek GmbH", "VirtualBox", true},
		{"Oracle Corporation", "VirtualBox", true},
		{"Xen", "HVM domU", true},
		{"Amazon EC2", "m5.large", true},
		{"Google", "Google Compute Engine", true},
		{"Parallels Software International Inc.", "Parallels Virtual Platform", true},
		{"Microsoft Corporation", "Surface Pro 9", false},
		{"Dell Inc.", "PowerEdge R650", false},
		{"LENOVO", "20XW0026GE", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := winVirtual(tt.manufacturer, tt.model); got != tt.want {
			t.Errorf("winVirtual(%q, %q) = %v, want %v", tt.manufacturer, tt.model, got, tt.want)
		}
	}
}
