package reboot

import (
	"fmt"
	"strings"
	"time"
)

// Signal names for Windows checks (numbers refer to platform-notes §2).
const (
	SignalWUAutoUpdateRebootRequired = "wu_auto_update_reboot_required" // #1
	SignalWUPostRebootReporting      = "wu_post_reboot_reporting"       // #2
	SignalWUUXRebootRequired         = "wu_ux_reboot_required"
	SignalWUARebootRequired          = "wua_system_info_reboot_required" // #4
	SignalCBSRebootPending           = "cbs_reboot_pending"              // #5
	SignalCBSRebootInProgress        = "cbs_reboot_in_progress"          // #6
	SignalCBSPackagesPending         = "cbs_packages_pending"            // #6
	SignalPendingFileRename          = "pending_file_rename_operations"  // #7
	SignalUpdateExeVolatile          = "update_exe_volatile"             // #8
	SignalPendingComputerRename      = "pending_computer_rename"         // #11
	SignalPendingDomainJoin          = "pending_domain_join"             // #12
)

// DefaultCBSGrace is how long after boot the Component Based Servicing
// RebootPending key counts only as weak: it lingers for a few minutes after
// a reboot (osconfig skips it for that reason).
const DefaultCBSGrace = 10 * time.Minute

// RegistrySnapshot holds the registry state the Windows checks look at,
// read by reboot_windows.go and written as JSON fixtures for tests. A bool
// "key" field means the key exists; absent values are zero.
type RegistrySnapshot struct {
	// HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired exists.
	AutoUpdateRebootRequired bool `json:"auto_update_reboot_required"`
	// …\WindowsUpdate\Auto Update\PostRebootReporting exists.
	PostRebootReporting bool `json:"post_reboot_reporting"`
	// HKLM\SOFTWARE\Microsoft\WindowsUpdate\UX\StateVariables value RebootRequired.
	UXRebootRequired uint64 `json:"ux_reboot_required"`
	// HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending exists.
	CBSRebootPending bool `json:"cbs_reboot_pending"`
	// …\Component Based Servicing\RebootInProgress exists.
	CBSRebootInProgress bool `json:"cbs_reboot_in_progress"`
	// …\Component Based Servicing\PackagesPending exists.
	CBSPackagesPending bool `json:"cbs_packages_pending"`
	// HKLM\SYSTEM\CurrentControlSet\Control\Session Manager values
	// PendingFileRenameOperations and PendingFileRenameOperations2 (REG_MULTI_SZ).
	PendingFileRenameOperations  []string `json:"pending_file_rename_operations"`
	PendingFileRenameOperations2 []string `json:"pending_file_rename_operations2"`
	// HKLM\SOFTWARE\Microsoft\Updates value UpdateExeVolatile.
	UpdateExeVolatile uint64 `json:"update_exe_volatile"`
	// HKLM\SYSTEM\CurrentControlSet\Control\ComputerName\ActiveComputerName value ComputerName.
	ActiveComputerName string `json:"active_computer_name"`
	// HKLM\SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName value ComputerName.
	ComputerName string `json:"computer_name"`
	// HKLM\SYSTEM\CurrentControlSet\Services\Netlogon JoinDomain or
	// AvoidSpnSet, as a subkey or a value (tools disagree; both are read).
	NetlogonJoinDomain  bool `json:"netlogon_join_domain"`
	NetlogonAvoidSpnSet bool `json:"netlogon_avoid_spn_set"`
	// WUARebootRequired is ISystemInformation.RebootRequired (COM, not
	// registry), supplied by the caller.
	WUARebootRequired bool `json:"wua_reboot_required"`
}

// WindowsSignals classifies a registry snapshot. uptime is time since boot;
// while it is at most cbsGrace (0 means DefaultCBSGrace) the CBS
// RebootPending key is reported as a weak signal.
func WindowsSignals(s RegistrySnapshot, uptime, cbsGrace time.Duration) []Signal {
	if cbsGrace <= 0 {
		cbsGrace = DefaultCBSGrace
	}
	cbsStrength, cbsDetail := Strong, ""
	if s.CBSRebootPending && uptime <= cbsGrace {
		cbsStrength = Weak
		cbsDetail = fmt.Sprintf("uptime %s within boot grace %s", uptime.Round(time.Second), cbsGrace)
	}
	renames := len(nonEmpty(s.PendingFileRenameOperations)) + len(nonEmpty(s.PendingFileRenameOperations2))
	rename := s.ActiveComputerName != "" && s.ComputerName != "" && !strings.EqualFold(s.ActiveComputerName, s.ComputerName)
	return []Signal{
		{Name: SignalWUAutoUpdateRebootRequired, Present: s.AutoUpdateRebootRequired, Strength: Strong},
		{Name: SignalWUARebootRequired, Present: s.WUARebootRequired, Strength: Strong},
		{Name: SignalCBSRebootPending, Present: s.CBSRebootPending, Strength: cbsStrength, Detail: cbsDetail},
		{Name: SignalCBSRebootInProgress, Present: s.CBSRebootInProgress, Strength: Strong},
		{Name: SignalCBSPackagesPending, Present: s.CBSPackagesPending, Strength: Strong},
		{Name: SignalPendingComputerRename, Present: rename, Strength: Strong, Detail: detailIf(rename, fmt.Sprintf("%s -> %s", s.ActiveComputerName, s.ComputerName))},
		{Name: SignalPendingDomainJoin, Present: s.NetlogonJoinDomain || s.NetlogonAvoidSpnSet, Strength: Strong},
		{Name: SignalWUUXRebootRequired, Present: s.UXRebootRequired != 0, Strength: Weak},
		{Name: SignalWUPostRebootReporting, Present: s.PostRebootReporting, Strength: Weak},
		{Name: SignalPendingFileRename, Present: renames > 0, Strength: Weak, Detail: detailIf(renames > 0, fmt.Sprintf("%d entries", renames))},
		{Name: SignalUpdateExeVolatile, Present: s.UpdateExeVolatile != 0, Strength: Weak, Detail: detailIf(s.UpdateExeVolatile != 0, fmt.Sprintf("value %d", s.UpdateExeVolatile))},
	}
}

// nonEmpty drops the empty strings a REG_MULTI_SZ carries (each rename is a
// source/destination pair and a delete has an empty destination, so this
// counts strings, not operations).
func nonEmpty(v []string) []string {
	out := make([]string, 0, len(v))
	for _, s := range v {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func detailIf(ok bool, s string) string {
	if !ok {
		return ""
	}
	return s
}
