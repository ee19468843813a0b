//go:build !unix && !windows

package cmdrun

import "os/exec"

func setGroup(*exec.Cmd) {}

// group is only the command itself on systems without process groups.
type group struct{ cmd *exec.Cmd }

func start(cmd *exec.Cmd) (*group, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &group{cmd: cmd}, nil
}

func (g *group) kill()  { _ = g.cmd.Process.Kill() }
func (g *group) close() {}
