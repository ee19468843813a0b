//go:build !unix && !windows

package netcheck

// classifyErrno knows no errno here: Classify falls back to timeouts and
// ERR.
func classifyErrno(error) (Status, string, bool) { return 0, "", false }

// isUnreachable is false: there is no errno to tell.
func isUnreachable(error) bool { return false }
