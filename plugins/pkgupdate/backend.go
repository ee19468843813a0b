package pkgupdate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vigil-rmm/vigil/plugins/pkgupdate/apt"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// Manager names a package manager family, as the "manager" parameter does.
type Manager string

// The managers.
const (
	// ManagerAuto lets Detect choose.
	ManagerAuto Manager = "auto"
	// ManagerApt is apt-get (Debian, Ubuntu).
	ManagerApt Manager = "apt"
	// ManagerDNF4 is the Python dnf (RHEL 8–10, Fedora up to 40).
	ManagerDNF4 Manager = "dnf4"
	// ManagerDNF5 is the C++ dnf (Fedora 41 and later).
	ManagerDNF5 Manager = "dnf5"
)

// Runner runs one command and returns its standard output and exit status.
// A non-zero status is also reported as an *apt.ExitError carrying the
// start of standard error. It has the shape of apt.Runner, and
// apt.ExecRunner implements it.
type Runner interface {
	Run(ctx context.Context, name string, args []string, env []string) (stdout []byte, exitCode int, err error)
}

var _ Runner = apt.ExecRunner{}

// Options is what one scan asks of a Backend.
type Options struct {
	// Refresh fetches fresh package metadata first (apt-get update, dnf
	// makecache).
	Refresh bool
	// SourceList, ListsDir and CacheDir point apt at another sources list
	// and state directories (apt only; see apt.Options).
	SourceList, ListsDir, CacheDir string
	// AptOptions are extra apt "Name=value" configuration items.
	AptOptions []string
}

// Result is what a successful scan found.
type Result struct {
	// Pending are the available updates, sorted by id.
	Pending []*agentv1.PendingUpdate
	// AwaitingReboot are installed updates that need a reboot, sorted by id.
	AwaitingReboot []*agentv1.PendingUpdate
	// RebootRequired is the package manager's own reboot verdict.
	RebootRequired bool
}

// Backend lists pending updates with one package manager family.
type Backend interface {
	// Source is the PatchScan.source value: "apt", "dnf4" or "dnf5".
	Source() string
	// Scan lists the pending updates. It never changes installed
	// packages. A failure is a *ScanError or an error of ctx.
	Scan(ctx context.Context, opts Options) (*Result, error)
}

// ScanError is a scan that ran and failed.
type ScanError struct {
	// Code is the PatchScan.error_code: "apt_exit_100", "dnf_exit_1",
	// "parse" or "exec".
	Code string
	// Message is one human-readable line.
	Message string
	// Err is the underlying error.
	Err error
}

func (e *ScanError) Error() string { return e.Code + ": " + e.Message }

func (e *ScanError) Unwrap() error { return e.Err }

// commandError classifies err from running a command of family ("apt" or
// "dnf"). Context errors are returned as they are.
func commandError(ctx context.Context, family string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ee *apt.ExitError
	if errors.As(err, &ee) {
		msg := FirstUsefulLine(ee.Stderr)
		if msg == "" {
			msg = fmt.Sprintf("exit status %d", ee.Code)
		}
		return &ScanError{Code: fmt.Sprintf("%s_exit_%d", family, ee.Code), Message: msg, Err: err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &ScanError{Code: "exec", Message: oneLine(err.Error()), Err: err}
}

// parseError wraps a parser error.
func parseError(err error) error {
	return &ScanError{Code: "parse", Message: oneLine(err.Error()), Err: err}
}

// FirstUsefulLine returns the line of a command's standard error that best
// explains a failure: the first apt "E:" or dnf "Error:" line, else the
// first line that is not a warning or notice, else the first non-empty
// line; trimmed and at most 256 bytes.
func FirstUsefulLine(stderr string) string {
	var first, plain string
	for line := range strings.Lines(stderr) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "E: ") || strings.HasPrefix(line, "Error:") || strings.HasPrefix(line, "error:") {
			return oneLine(line)
		}
		if first == "" {
			first = line
		}
		if plain == "" && !strings.HasPrefix(line, "W: ") && !strings.HasPrefix(line, "N: ") &&
			!strings.HasPrefix(line, "Warning:") && !strings.HasPrefix(line, "warning:") {
			plain = line
		}
	}
	if plain != "" {
		return oneLine(plain)
	}
	return oneLine(first)
}

// oneLine keeps the first line of s, trimmed to at most 256 bytes at a
// UTF-8 boundary.
func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	s = strings.TrimSpace(s)
	const limit = 256
	if len(s) <= limit {
		return s
	}
	i := limit
	for i > 0 && !isRuneStart(s[i]) {
		i--
	}
	return s[:i]
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// Detect returns the Backend for m on the host cfg describes, or an error
// wrapping ErrNoPackageManager. See the package comment for the order.
func Detect(ctx context.Context, cfg Config, m Manager) (Backend, error) {
	cfg = cfg.withDefaults()
	var dnfIs5 map[string]bool // "dnf --version" asked once per binary
	isDNF5 := func(bin string) bool {
		if v, ok := dnfIs5[bin]; ok {
			return v
		}
		if dnfIs5 == nil {
			dnfIs5 = map[string]bool{}
		}
		dnfIs5[bin] = isDNF5(ctx, cfg.Runner, bin)
		return dnfIs5[bin]
	}
	find := map[Manager]func() (Backend, bool){
		ManagerApt: func() (Backend, bool) {
			bin, err := cfg.LookPath("apt-get")
			if err != nil {
				return nil, false
			}
			return &aptBackend{bin: bin, run: cfg.Runner, root: cfg.Root, environ: cfg.Environ}, true
		},
		ManagerDNF5: func() (Backend, bool) {
			if bin, err := cfg.LookPath("dnf5"); err == nil {
				return newDNF(ManagerDNF5, bin, cfg), true
			}
			if bin, err := cfg.LookPath("dnf"); err == nil && isDNF5(bin) {
				return newDNF(ManagerDNF5, bin, cfg), true
			}
			return nil, false
		},
		ManagerDNF4: func() (Backend, bool) {
			if bin, err := cfg.LookPath("dnf"); err == nil && !isDNF5(bin) {
				return newDNF(ManagerDNF4, bin, cfg), true
			}
			for _, name := range []string{"dnf-3", "dnf4"} {
				if bin, err := cfg.LookPath(name); err == nil {
					return newDNF(ManagerDNF4, bin, cfg), true
				}
			}
			return nil, false
		},
	}
	order := []Manager{m}
	if m == ManagerAuto || m == "" {
		order = []Manager{ManagerApt, ManagerDNF5, ManagerDNF4}
	}
	for _, name := range order {
		f, ok := find[name]
		if !ok {
			return nil, fmt.Errorf("manager %q: %w", name, ErrNoPackageManager)
		}
		if b, ok := f(); ok {
			return b, nil
		}
	}
	if m == ManagerAuto || m == "" {
		return nil, fmt.Errorf("none of apt-get, dnf5, dnf found: %w", ErrNoPackageManager)
	}
	return nil, fmt.Errorf("%s not found: %w", m, ErrNoPackageManager)
}

// isDNF5 reports whether "bin --version" names dnf5. dnf5 prints
// "dnf5 version 5.2.5.0"; dnf4 prints its bare version ("4.14.0") and the
// installed packages. A dnf that cannot tell is taken for dnf4.
func isDNF5(ctx context.Context, r Runner, bin string) bool {
	out, _, err := r.Run(ctx, bin, []string{"--version"}, []string{"LC_ALL=C"})
	return err == nil && IsDNF5Version(out)
}

// IsDNF5Version reports whether the output of "dnf --version" is dnf5's.
func IsDNF5Version(out []byte) bool {
	for line := range strings.Lines(string(out)) {
		if f := strings.Fields(line); len(f) > 0 && (f[0] == "dnf5" || f[0] == "libdnf5") {
			return true
		}
	}
	return false
}
