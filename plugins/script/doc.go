// Package script is the task-runner plugin that runs an inline script.
//
// # Parameters
//
//	script        the script text, required, at most 128 KiB
//	interpreter   Linux: sh (default) or bash; Windows: powershell (default), pwsh or cmd
//	timeout       Go duration, default 10m, 1s to 24h
//	output_limit  bytes of output forwarded, default and at most 1 MiB (the
//	              agent keeps no more per task); 0 forwards nothing
//
// # Running
//
// The script is written to a file (mode 0700) in a private directory
// (os.MkdirTemp, 0700), run, and removed with the directory afterwards. It
// runs as
//
//	sh <file>   bash <file>
//	powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -File <file.ps1>
//	pwsh       -NoProfile -NonInteractive -ExecutionPolicy Bypass -File <file.ps1>
//	cmd /D /C <file.cmd>
//
// in the private directory, with a minimal environment: PATH (the
// plugin's, or a default) and LANG=C.UTF-8 on Unix; on Windows PATH,
// PATHEXT, SystemRoot, SystemDrive, windir, ComSpec, ProgramData,
// ProgramFiles, PSModulePath as the plugin has them, and TEMP/TMP pointing
// at the private directory. Standard input is empty.
//
// Standard output and standard error are streamed line by line as Stdout
// and Stderr events (a line longer than 4 KiB is cut). Once output_limit
// bytes (counting one byte per line ending) have been forwarded, one
// "[output truncated]" line is sent on standard error and the rest is
// dropped while the script keeps running. The script and every process it
// started are killed at the timeout or when the task is cancelled (process
// group on Unix, Job Object on Windows).
//
// # Result
//
// ok only when the script exited 0. exit_code is the script's (-1 when it
// was killed or could not start). detail is
//
//	{"exit_code":0,"duration_ms":12,"output_bytes":345,"truncated":false,"timed_out":false}
//
// with "error" added when the script could not be run. A task cancelled by
// the agent ends with the gRPC status of its context instead of a Result.
package script
