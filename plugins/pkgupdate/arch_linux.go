package pkgupdate

import "golang.org/x/sys/unix"

// nativeArch returns the kernel's machine name (uname -m), which is how rpm
// names the native architecture on x86_64 and aarch64.
func nativeArch() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return goArch()
	}
	return unix.ByteSliceToString(u.Machine[:])
}
