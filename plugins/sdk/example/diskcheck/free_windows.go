//go:build windows

package main

import "golang.org/x/sys/windows"

// defaultPath is the path parameter's default.
const defaultPath = `C:\`

// freeSpace returns the bytes available to the plugin's account (quotas
// applied) and the size of the volume holding path.
func freeSpace(path string) (avail, total uint64, err error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return 0, 0, err
	}
	var free uint64
	if err := windows.GetDiskFreeSpaceEx(p, &avail, &total, &free); err != nil {
		return 0, 0, err
	}
	return avail, total, nil
}
