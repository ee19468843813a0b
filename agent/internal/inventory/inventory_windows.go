package inventory

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"github.com/yusufpapurcu/wmi"
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// winUninstallKey is the key whose subkeys list installed programs, read in
// the 64-bit and the 32-bit (WOW6432Node) registry views.
const winUninstallKey = `SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall`

// collect reads the Uninstall keys of both registry views and six WMI
// classes. The interpretation lives in winreg.go, winhw.go, wmi_parse.go
// and wmi_run.go.
func collect(ctx context.Context, opts Options) (*agentv1.Inventory, error) {
	inv := &agentv1.Inventory{SoftwareSource: "registry"}
	entries, regOK, regErrs := winReadUninstall()
	inv.Software = winSoftware(entries)
	inv.Errors = append(inv.Errors, regErrs...)
	inv.SoftwareIncomplete = len(regErrs) > 0

	var snap wmiSnapshot
	jobs := []wmiJob{
		wmiJobFor("Win32_ComputerSystem", wmiQuery[win32ComputerSystem], &snap.ComputerSystem),
		wmiJobFor("Win32_BIOS", wmiQuery[win32BIOS], &snap.BIOS),
		wmiJobFor("Win32_Processor", wmiQuery[win32Processor], &snap.Processor),
		wmiJobFor("Win32_PhysicalMemory", wmiQuery[win32PhysicalMemory], &snap.PhysicalMemory),
		wmiJobFor("Win32_DiskDrive", wmiQuery[win32DiskDrive], &snap.DiskDrive),
		wmiJobFor("Win32_OperatingSystem", wmiQuery[win32OperatingSystem], &snap.OS),
	}
	wmiErrs := runWMIJobs(ctx, opts.queryTimeout(), jobs)
	inv.Errors = append(inv.Errors, wmiErrs...)
	inv.Hardware = winHardware(snap)

	if !regOK && len(wmiErrs) == len(jobs) {
		return nil, fmt.Errorf("inventory: no source readable: %s", strings.Join(inv.Errors, "; "))
	}
	return inv, nil
}

// wmiQuery selects the fields of T from class. A field the class lacks is
// left zero rather than failing the class: the wmi package loads every
// other field and reports the mismatch afterwards (platform-notes §3.1).
func wmiQuery[T any](class string, dst *[]T) error {
	err := wmi.Query(wmi.CreateQuery(dst, "", class), dst)
	if _, ok := errors.AsType[*wmi.ErrFieldMismatch](err); ok {
		return nil
	}
	return err
}

// winReadUninstall reads both registry views (one on a 32-bit OS). ok is
// false when no view could be opened.
func winReadUninstall() (entries []winUninstallEntry, ok bool, errs []string) {
	views := []struct {
		name   string
		access uint32
	}{{winView64, registry.WOW64_64KEY}, {winView32, registry.WOW64_32KEY}}
	if !win64BitOS() {
		// The WOW64 flags are ignored on a 32-bit OS: both would open the
		// one native view.
		views = views[1:]
		views[0].access = 0
	}
	for _, v := range views {
		es, unreadable, err := winReadView(v.name, v.access)
		if err != nil {
			errs = append(errs, fmt.Sprintf("registry Uninstall (%s-bit view): %v", v.name, err))
			continue
		}
		ok = true
		if unreadable > 0 {
			errs = append(errs, fmt.Sprintf("registry Uninstall (%s-bit view): %d of %d subkeys unreadable",
				v.name, unreadable, unreadable+len(es)))
		}
		entries = append(entries, es...)
	}
	return entries, ok, errs
}

func win64BitOS() bool {
	if runtime.GOARCH != "386" {
		return true
	}
	var wow64 bool
	return windows.IsWow64Process(windows.CurrentProcess(), &wow64) == nil && wow64
}

// winReadView reads every subkey of winUninstallKey in one view. A subkey
// that cannot be opened (removed while listing, or access denied) is
// counted, not fatal.
func winReadView(view string, access uint32) (entries []winUninstallEntry, unreadable int, err error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, winUninstallKey, registry.ENUMERATE_SUB_KEYS|access)
	if err != nil {
		return nil, 0, err
	}
	defer k.Close()
	names, err := k.ReadSubKeyNames(-1)
	if err != nil {
		return nil, 0, err
	}
	for _, name := range names {
		sk, err := registry.OpenKey(k, name, registry.QUERY_VALUE|access)
		if err != nil {
			unreadable++
			continue
		}
		entries = append(entries, winUninstallEntry{
			KeyName:          name,
			View:             view,
			DisplayName:      winRegString(sk, "DisplayName"),
			DisplayVersion:   winRegString(sk, "DisplayVersion"),
			Publisher:        winRegString(sk, "Publisher"),
			InstallDate:      winRegString(sk, "InstallDate"),
			SystemComponent:  winRegInt(sk, "SystemComponent"),
			ParentKeyName:    winRegString(sk, "ParentKeyName"),
			ReleaseType:      winRegString(sk, "ReleaseType"),
			WindowsInstaller: winRegInt(sk, "WindowsInstaller"),
		})
		sk.Close()
	}
	return entries, unreadable, nil
}

// winRegString reads a string value; an installer that wrote a number is
// read as its decimal form, a missing value as "".
func winRegString(k registry.Key, name string) string {
	if s, _, err := k.GetStringValue(name); err == nil {
		return s
	}
	if n, _, err := k.GetIntegerValue(name); err == nil {
		return strconv.FormatUint(n, 10)
	}
	return ""
}

// winRegInt reads a DWORD or QWORD value; an installer that wrote a string
// is parsed, a missing or unparsable value is 0.
func winRegInt(k registry.Key, name string) uint64 {
	if n, _, err := k.GetIntegerValue(name); err == nil {
		return n
	}
	if s, _, err := k.GetStringValue(name); err == nil {
		n, _ := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		return n
	}
	return 0
}
