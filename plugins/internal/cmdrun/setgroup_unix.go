//go:build unix && !linux

package cmdrun

import (
	"os/exec"
	"syscall"
)

// setGroup makes the command the leader of a new process group.
func setGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
