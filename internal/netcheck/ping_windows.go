package netcheck

// autoPrivileged: pro-bing on Windows needs its privileged mode.
func autoPrivileged() (bool, string) {
	return true, "raw socket: Windows"
}
