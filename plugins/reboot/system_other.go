//go:build !windows

package reboot

import (
	"errors"
	"time"
)

// systemReboot is the Windows API path; elsewhere a command is used.
func systemReboot(time.Duration, string) error { return errors.ErrUnsupported }
