package pluginhost

import "syscall"

// setDeathSignal has the kernel SIGKILL the plugin when the agent dies
// (kill -9, a crash), so a task's plugin does not run on unsupervised
// after the agent reported the task interrupted. Processes the plugin
// started are not covered; the agent's systemd unit (KillMode
// control-group, the default) ends those when the agent's process dies.
//
// The signal is tied to the thread that started the plugin. Go ends a
// thread only when a goroutine exits locked to it, which nothing in the
// agent does on Linux, so it fires only when the process dies.
func setDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
