//go:build unix

package pluginhost

import (
	"os/exec"
	"syscall"
)

// setProcAttr starts the plugin as the leader of its own process group, so
// the group can be killed with every child it started, and (on Linux) so
// that it is killed if the agent dies without killing it.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setDeathSignal(cmd.SysProcAttr)
}

// procTree is a plugin's process group.
type procTree struct{ pgid int }

func newProcTree(pid int) (*procTree, error) {
	return &procTree{pgid: pid}, nil
}

// kill sends SIGKILL to the whole group.
func (t *procTree) kill() {
	if t.pgid > 1 {
		_ = syscall.Kill(-t.pgid, syscall.SIGKILL)
	}
}

func (t *procTree) close() {}

// minimalEnv is the environment a plugin starts with.
func minimalEnv() []string {
	return []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LANG=C.UTF-8",
	}
}
