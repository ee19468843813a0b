//go:build !linux && !windows

package netcheck

// autoPrivileged: macOS and the BSDs offer unprivileged ICMP datagram
// sockets to every user.
func autoPrivileged() (bool, string) {
	return false, "unprivileged socket"
}
