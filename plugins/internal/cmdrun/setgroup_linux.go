package cmdrun

import (
	"os/exec"
	"syscall"
)

// setGroup makes the command the leader of a new process group, killed by
// the kernel if the plugin dies first (the host kills the plugin's own
// group, which the command left).
func setGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
