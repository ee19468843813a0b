// Package reboot is the task-runner plugin that reboots the host after a
// grace period. It declares the "downtime" capability, so the agent runs it
// only from a task a client approver signed.
//
// # Parameters
//
// "message" (string, at most 200 characters, no control characters) is
// shown to logged-in users. "delay" (Go duration, default 1m, 0s to 20m) is
// the grace period.
//
// # Commands
//
// Linux runs
//
//	shutdown -r +<minutes> <message>    (delay > 0, rounded up to whole minutes)
//	shutdown -r now <message>           (delay 0)
//
// shutdown(8) schedules the reboot and returns; "now" keeps one command for
// both cases (systemctl reboot would not show the message). Windows calls
// InitiateSystemShutdownExW (forced, planned maintenance, the delay in
// seconds) after enabling SeShutdownPrivilege. Other systems are refused.
//
// The environment variable VIGIL_REBOOT_COMMAND, when set, names a program
// run instead on every system, with the Linux arguments above (-r,
// +<minutes> or now, the message); the agent's tests point it at a
// recorder.
//
// # Result
//
// When the command was accepted, Run ends with an ok Result whose detail is
//
//	{"rebooting":true,"at":"2026-11-22T09:01:00Z"}
//
// at being when the reboot is due (RFC 3339, UTC); the agent then waits for
// a new boot time. A command that fails gives ok=false, its exit code and
// {"rebooting":false,"error":"..."}; output lines are streamed as they come.
package reboot
