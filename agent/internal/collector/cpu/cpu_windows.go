package cpu

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/sys/windows/registry"
)

// processorKey is where Windows records the first processor's description.
// gopsutil's cpu.Info also reads SMBIOS tables and power information and
// fails as a whole when either is missing (some VMs), so read the name directly.
const processorKey = `HARDWARE\DESCRIPTION\System\CentralProcessor\0`

// model returns the first processor's ProcessorNameString.
func model(_ context.Context) (string, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, processorKey, registry.QUERY_VALUE)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", processorKey, err)
	}
	defer k.Close()
	v, _, err := k.GetStringValue("ProcessorNameString")
	if err != nil {
		return "", fmt.Errorf("read ProcessorNameString: %w", err)
	}
	// Intel pads the name with spaces.
	return strings.TrimSpace(v), nil
}
