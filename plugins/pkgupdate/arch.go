package pkgupdate

import "runtime"

// goArch maps GOARCH to rpm's architecture name.
func goArch() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "386":
		return "i686"
	}
	return runtime.GOARCH
}
