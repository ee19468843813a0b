package apt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// Runner runs one command and returns its standard output and exit code.
// A non-zero exit is reported through exitCode and, by ExecRunner, also as
// an *ExitError carrying the start of standard error.
type Runner interface {
	Run(ctx context.Context, name string, args []string, env []string) (stdout []byte, exitCode int, err error)
}

// ExitError reports a command that ran and exited with a non-zero status.
type ExitError struct {
	// Code is the exit status.
	Code int
	// Stderr is the start of the command's standard error.
	Stderr string
}

func (e *ExitError) Error() string {
	if e.Stderr == "" {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return fmt.Sprintf("exit status %d: %s", e.Code, e.Stderr)
}

// ExecRunner runs commands with os/exec. The env entries are appended to
// the current process environment, so they override it.
type ExecRunner struct{}

var _ Runner = ExecRunner{}

// Run runs name with args. err is nil when the command exits 0, an
// *ExitError when it exits non-zero, and any other error when it could
// not be started or ctx ended first.
func (ExecRunner) Run(ctx context.Context, name string, args []string, env []string) ([]byte, int, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(cmd.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return stdout.Bytes(), -1, ctx.Err()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2048 {
			msg = msg[:2048] + "…"
		}
		return stdout.Bytes(), ee.ExitCode(), &ExitError{Code: ee.ExitCode(), Stderr: msg}
	}
	if err != nil {
		return stdout.Bytes(), -1, err
	}
	return stdout.Bytes(), 0, nil
}

// Options configures Scan. The zero value scans with the system's apt
// configuration and cached package lists.
type Options struct {
	// AptGet is the apt-get binary; "apt-get" when empty.
	AptGet string
	// Update runs "apt-get update" before the simulation.
	Update bool
	// SourceList, when set, replaces /etc/apt/sources.list and disables
	// /etc/apt/sources.list.d (Dir::Etc::SourceParts=-).
	SourceList string
	// ListsDir, when set, replaces /var/lib/apt/lists (Dir::State::Lists).
	ListsDir string
	// CacheDir, when set, replaces /var/cache/apt (Dir::Cache).
	CacheDir string
	// ExtraOptions are more "Name=value" apt configuration items, each
	// passed as -o.
	ExtraOptions []string
}

// Scan optionally refreshes the package lists and then simulates a
// dist-upgrade, returning the updates it would make. It never changes
// installed packages.
func Scan(ctx context.Context, r Runner, opts Options) ([]Update, error) {
	bin := opts.AptGet
	if bin == "" {
		bin = "apt-get"
	}
	env := []string{"LC_ALL=C", "DEBIAN_FRONTEND=noninteractive"}
	common := opts.args()
	if opts.Update {
		args := append(append([]string{}, common...), "-q", "update")
		if _, _, err := r.Run(ctx, bin, args, env); err != nil {
			return nil, fmt.Errorf("apt: update: %w", err)
		}
	}
	args := append(append([]string{}, common...), "-s", "-o", "Debug::NoLocking=1", "dist-upgrade")
	out, code, err := r.Run(ctx, bin, args, env)
	if err != nil {
		return nil, fmt.Errorf("apt: simulate dist-upgrade: %w", err)
	}
	if code != 0 {
		return nil, fmt.Errorf("apt: simulate dist-upgrade: %w", &ExitError{Code: code})
	}
	return ParseSimulate(out)
}

// args returns the -o options that Options selects.
func (o Options) args() []string {
	var args []string
	add := func(kv string) { args = append(args, "-o", kv) }
	if o.SourceList != "" {
		add("Dir::Etc::SourceList=" + o.SourceList)
		add("Dir::Etc::SourceParts=-")
	}
	if o.ListsDir != "" {
		add("Dir::State::Lists=" + o.ListsDir)
		// apt-get update deletes what it does not know in its lists
		// directory; a directory named in a parameter may hold other files.
		add("APT::Get::List-Cleanup=false")
	}
	if o.CacheDir != "" {
		add("Dir::Cache=" + o.CacheDir)
	}
	for _, kv := range o.ExtraOptions {
		add(kv)
	}
	return args
}
