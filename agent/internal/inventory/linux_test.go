package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/vigil-rmm/vigil/internal/golden"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// fixtureQuery answers a package query from dir/<command>.txt and reports
// any other command as not installed.
func fixtureQuery(dir string) queryFunc {
	return func(ctx context.Context, name string, args []string) ([]byte, error) {
		if _, ok := ctx.Deadline(); !ok {
			return nil, errors.New("query without a deadline")
		}
		b, err := os.ReadFile(filepath.Join(dir, name+".txt"))
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", name, exec.ErrNotFound)
		}
		return b, err
	}
}

// plain turns a message into plain JSON values for a golden file
// (protojson's own spacing is not stable).
func plain(t *testing.T, inv *agentv1.Inventory) any {
	t.Helper()
	b, err := protojson.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestReadLinuxFixtures(t *testing.T) {
	for _, name := range []string{"debian-vm", "dell-r740", "rpi4-arm64"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", "linux", name)
			inv := readLinux(t.Context(), Options{Root: filepath.Join(dir, "root")}, fixtureQuery(dir))
			SortSoftware(inv.Software)
			golden.JSON(t, dir+".golden.json", plain(t, inv))
		})
	}
}

func TestReadLinuxMissingSources(t *testing.T) {
	inv := readLinux(t.Context(), Options{Root: t.TempDir()}, fixtureQuery(t.TempDir()))
	want := []string{"/proc/cpuinfo", "/proc/meminfo", "os-release", "software"}
	var got []string
	for _, e := range inv.GetErrors() {
		source, _, _ := cutColon(e)
		got = append(got, source)
	}
	if !slices.Equal(got, want) {
		t.Errorf("errors %q, want sources %q", inv.GetErrors(), want)
	}
	if inv.GetHardware() == nil || inv.GetHardware().GetVirtual() {
		t.Errorf("hardware = %v", inv.GetHardware())
	}
}

func TestReadLinuxQueryFails(t *testing.T) {
	failing := func(context.Context, string, []string) ([]byte, error) {
		return nil, errors.New("exit status 2: dpkg-query: error: parsing file '/var/lib/dpkg/status'")
	}
	inv := readLinux(t.Context(), Options{Root: t.TempDir()}, failing)
	if inv.GetSoftwareSource() != "dpkg" || len(inv.GetSoftware()) != 0 ||
		!slices.Contains(inv.GetErrors(), "software: dpkg-query: exit status 2: dpkg-query: error: parsing file '/var/lib/dpkg/status'") {
		t.Errorf("inventory = %v", inv)
	}
}

func cutColon(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == ':' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func TestParseBIOSDate(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"04/01/2014", 1396310400},
		{"08/08/2023\n", 1691452800},
		{"1/2/2020", 1577923200},
		{"12/31/99", 946598400},
		{"2023-08-08", 0},
		{"", 0},
	}
	for _, tt := range tests {
		if got := ParseBIOSDate(tt.in); got != tt.want {
			t.Errorf("ParseBIOSDate(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestIsVirtual(t *testing.T) {
	tests := []struct {
		name string
		dmi  DMI
		hyp  string
		flag bool
		want bool
	}{
		{"qemu", DMI{SysVendor: "QEMU", ProductName: "Standard PC (Q35 + ICH9, 2009)"}, "", false, true},
		{"kvm product", DMI{SysVendor: "Red Hat", ProductName: "KVM"}, "", false, true},
		{"vmware", DMI{SysVendor: "VMware, Inc.", ProductName: "VMware7,1"}, "", false, true},
		{"virtualbox", DMI{SysVendor: "innotek GmbH", ProductName: "VirtualBox"}, "", false, true},
		{"xen hvm", DMI{SysVendor: "Xen", ProductName: "HVM domU"}, "", false, true},
		{"xen pv by sysfs", DMI{}, "xen\n", false, true},
		{"hyper-v", DMI{SysVendor: "Microsoft Corporation", ProductName: "Virtual Machine"}, "", false, true},
		{"surface", DMI{SysVendor: "Microsoft Corporation", ProductName: "Surface Pro 9"}, "", false, false},
		{"ec2", DMI{SysVendor: "Amazon EC2", ProductName: "t3.micro"}, "", true, true},
		{"ec2 metal", DMI{SysVendor: "Amazon EC2", ProductName: "m5.metal"}, "", false, false},
		{"gce", DMI{SysVendor: "Google", ProductName: "Google Compute Engine"}, "", false, true},
		{"chromebook", DMI{SysVendor: "Google", ProductName: "Eve"}, "", false, false},
		{"ovmf bios", DMI{BIOSVendor: "EFI Development Kit II / OVMF"}, "", false, true},
		{"cpu flag only", DMI{}, "", true, true},
		{"dell", DMI{SysVendor: "Dell Inc.", ProductName: "PowerEdge R740", BIOSVendor: "Dell Inc."}, "", false, false},
		{"nothing", DMI{}, "", false, false},
	}
	for _, tt := range tests {
		if got := IsVirtual(tt.dmi, tt.hyp, tt.flag); got != tt.want {
			t.Errorf("%s: IsVirtual = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestDMIPlaceholders(t *testing.T) {
	dir := t.TempDir()
	for name, v := range map[string]string{"sys_vendor": "System manufacturer\n", "product_name": "To Be Filled By O.E.M.\n", "product_serial": "Default string", "bios_vendor": " American Megatrends Inc. \n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := ReadDMI(dir)
	if got != (DMI{BIOSVendor: "American Megatrends Inc."}) {
		t.Errorf("ReadDMI = %+v", got)
	}
}

func TestParseOSRelease(t *testing.T) {
	tests := []struct{ in, name, version string }{
		{"PRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\nVERSION_ID=\"24.04\"\n", "Ubuntu 24.04.1 LTS", "24.04"},
		{"NAME=Alpine\nVERSION=3.20.3\nVERSION_ID=3.20.3\n", "Alpine 3.20.3", "3.20.3"},
		{"# comment\nPRETTY_NAME='Arch Linux'\n", "Arch Linux", ""},
		{"PRETTY_NAME=\"Quoted \\\"name\\\"\"\n", `Quoted "name"`, ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		if n, v := ParseOSRelease([]byte(tt.in)); n != tt.name || v != tt.version {
			t.Errorf("ParseOSRelease(%q) = %q, %q; want %q, %q", tt.in, n, v, tt.name, tt.version)
		}
	}
}

func TestParseMemTotal(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
	}{
		{"MemTotal:        4020164 kB\n", 4020164 * 1024},
		{"MemFree: 1 kB\nMemTotal: 2048\n", 2048},
		{"MemTotal: lots kB\n", 0},
		{"MemTotal:\n", 0},
		{"", 0},
	}
	for _, tt := range tests {
		if got := ParseMemTotal([]byte(tt.in)); got != tt.want {
			t.Errorf("ParseMemTotal(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestParseCPUInfoEdgeCases(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []*agentv1.Processor
	}{
		{"empty", "", nil},
		{"no physical id", "processor : 0\nmodel name : X\n\nprocessor : 1\nmodel name : X\n", []*agentv1.Processor{{Model: "X", Cores: 2, Threads: 2}}},
		{"no blank line between blocks", "processor : 0\nmodel name : Y\nprocessor : 1\nmodel name : Y\n", []*agentv1.Processor{{Model: "Y", Cores: 2, Threads: 2}}},
		{"unknown arm part", "processor : 0\nCPU implementer : 0x48\nCPU part : 0xd01\n", []*agentv1.Processor{{Model: "ARM implementer 0x48 part 0xd01", Cores: 1, Threads: 1}}},
		{"armv7 model name", "processor : 0\nmodel name : ARMv7 Processor rev 4 (v7l)\n\nHardware : BCM2835\n", []*agentv1.Processor{{Model: "ARMv7 Processor rev 4 (v7l)", Cores: 1, Threads: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseCPUInfo([]byte(tt.in))
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i].String() != tt.want[i].String() {
					t.Errorf("got %v, want %v", got[i], tt.want[i])
				}
			}
		})
	}
}
