//go:build !linux

package pkgupdate

// nativeArch returns the rpm name of the architecture this binary was
// built for; dnf runs only on Linux, so this is for tests elsewhere.
func nativeArch() string { return goArch() }
