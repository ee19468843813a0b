//go:build unix

package cmdrun

import (
	"os/exec"
	"syscall"
)

// group is a command's process group.
type group struct{ pgid int }

func start(cmd *exec.Cmd) (*group, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &group{pgid: cmd.Process.Pid}, nil
}

// kill sends SIGKILL to the whole group.
func (g *group) kill() {
	if g.pgid > 1 {
		_ = syscall.Kill(-g.pgid, syscall.SIGKILL)
	}
}

func (g *group) close() {}
