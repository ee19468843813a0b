//go:build windows

package reboot

import (
	"fmt"
	"time"

	"golang.org/x/sys/windows"
)

// systemReboot enables SeShutdownPrivilege and asks Windows to reboot after
// delay, forcing applications closed, with message shown to users.
func systemReboot(delay time.Duration, message string) error {
	var token windows.Token
	if err := windows.OpenProcessToken(windows.CurrentProcess(), windows.TOKEN_ADJUST_PRIVILEGES|windows.TOKEN_QUERY, &token); err != nil {
		return fmt.Errorf("open process token: %w", err)
	}
	defer token.Close()
	name, err := windows.UTF16PtrFromString("SeShutdownPrivilege")
	if err != nil {
		return err
	}
	privs := windows.Tokenprivileges{PrivilegeCount: 1}
	privs.Privileges[0].Attributes = windows.SE_PRIVILEGE_ENABLED
	if err := windows.LookupPrivilegeValue(nil, name, &privs.Privileges[0].Luid); err != nil {
		return fmt.Errorf("look up SeShutdownPrivilege: %w", err)
	}
	if err := windows.AdjustTokenPrivileges(token, false, &privs, 0, nil, nil); err != nil {
		return fmt.Errorf("enable SeShutdownPrivilege: %w", err)
	}
	msg, err := windows.UTF16PtrFromString(message)
	if err != nil {
		return err
	}
	reason := uint32(windows.SHTDN_REASON_MAJOR_APPLICATION | windows.SHTDN_REASON_MINOR_MAINTENANCE | windows.SHTDN_REASON_FLAG_PLANNED)
	if err := windows.InitiateSystemShutdownEx(nil, msg, uint32(delay/time.Second), true, true, reason); err != nil {
		return fmt.Errorf("InitiateSystemShutdownEx: %w", err)
	}
	return nil
}
