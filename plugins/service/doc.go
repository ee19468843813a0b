// Package service is the task-runner plugin that starts, stops, restarts
// or reports a system service.
//
// # Parameters
//
//	name     the service: a systemd unit name or a Windows service (key)
//	         name; letters, digits and _ . @ : + - only, not starting with
//	         "-" or ".", at most 256 bytes (no spaces, path separators or
//	         shell metacharacters; systemd's \x escapes are not accepted)
//	action   start, stop, restart or status
//	timeout  Go duration, default 2m, 1s to 30m: how long the action may
//	         take before it is reported as failed
//
// # Linux
//
// systemd through systemctl:
//
//	systemctl show --property=LoadState,ActiveState,SubState -- <name>   (before and after)
//	systemctl <action> -- <name>                                        (start, stop, restart)
//
// systemctl waits for the job to finish; its output is streamed. A state
// reads "ActiveState/SubState", such as "active/running". start and
// restart succeed when systemctl exits 0 and the unit is then active; stop
// when it exits 0 and the unit is inactive or failed; status whenever the
// unit could be read. A unit whose LoadState is not-found fails every
// action.
//
// # Windows
//
// The service control manager through golang.org/x/sys/windows/svc/mgr: the
// OS layer (scm_windows.go) only opens, queries, starts and sends stop; the
// state machine that waits out pending states, detects a service that died
// while starting, and applies the timeout is portable (scm.go) and tested
// with a fake. States are the SCM's in snake case: "stopped",
// "start_pending", "running", ... A restart is a stop then a start.
//
// # Tests
//
// The environment variable VIGIL_SERVICE_COMMAND, when set, names a program
// used instead of systemctl on every system (same arguments, and "show"
// must print LoadState=, ActiveState= and SubState= lines), so the agent's
// tests never touch real services.
//
// # Result
//
// detail is
//
//	{"name":"nginx.service","action":"restart","state_before":"active/running","state_after":"active/running"}
//
// with "error" added on failure. exit_code is systemctl's for the action.
package service
