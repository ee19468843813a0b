package reboot

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Signal names for the RPM checks (platform-notes §4.3).
const (
	// SignalRPMInstalledAfterBoot is present when a package that needs a
	// reboot to take effect was installed after the running system booted.
	SignalRPMInstalledAfterBoot = "rpm_installed_after_boot"
	// SignalNeedsRestarting is dnf's own reboot hint, needs-restarting -r.
	SignalNeedsRestarting = "needs_restarting"
)

// RebootPackages are the capabilities whose update needs a reboot: the
// core list of dnf's needs-restarting -r (kernel, glibc, linux-firmware,
// systemd, dbus) plus the SUSE names osconfig also asks for
// (kernel-firmware, dbus-1). Libraries such as openssl-libs only need the
// services using them restarted, so they are left out: a false negative
// is preferred to a false positive.
var RebootPackages = []string{"kernel", "glibc", "linux-firmware", "systemd", "dbus", "kernel-firmware", "dbus-1"}

// rpmInstallTimeFormat is the rpm --qf format ParseRPMInstallTimes reads.
const rpmInstallTimeFormat = `%{NAME}\t%{INSTALLTIME}\n`

// commandTimeout bounds each command the RPM checks run.
const commandTimeout = time.Minute

// CommandRunner runs commands for the RPM checks. Run returns standard
// output and the exit status; err is set only when the command could not
// be run (or ctx ended), not for a non-zero exit.
type CommandRunner interface {
	LookPath(file string) (string, error)
	Run(ctx context.Context, name string, args ...string) (stdout []byte, exitCode int, err error)
}

// Install is one installed package and when it was installed.
type Install struct {
	Name string
	Unix int64
}

// ParseRPMInstallTimes parses rpm output in rpmInstallTimeFormat. Other
// lines ("no package provides dbus-1") are skipped.
func ParseRPMInstallTimes(out []byte) []Install {
	var ins []Install
	for line := range strings.Lines(string(out)) {
		name, at, ok := strings.Cut(strings.TrimRight(line, "\r\n"), "\t")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			continue
		}
		t, err := strconv.ParseInt(strings.TrimSpace(at), 10, 64)
		if err != nil || t <= 0 {
			continue
		}
		ins = append(ins, Install{Name: name, Unix: t})
	}
	return ins
}

// ParseBootTime returns btime, the boot time in Unix seconds, from
// /proc/stat.
func ParseBootTime(procStat []byte) (int64, bool) {
	for line := range strings.Lines(string(procStat)) {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "btime" {
			t, err := strconv.ParseInt(f[1], 10, 64)
			return t, err == nil && t > 0
		}
	}
	return 0, false
}

// InstalledAfterBootSignal is present when any install is later than
// boot (Unix seconds), with the package names, sorted, as detail. It is
// Strong: it is the same test dnf's needs-restarting -r makes, on the
// same packages.
func InstalledAfterBootSignal(installs []Install, boot int64) Signal {
	s := Signal{Name: SignalRPMInstalledAfterBoot, Strength: Strong}
	var names []string
	for _, in := range installs {
		if in.Unix > boot && !slices.Contains(names, in.Name) {
			names = append(names, in.Name)
		}
	}
	if len(names) > 0 {
		slices.Sort(names)
		s.Present = true
		s.Detail = strings.Join(names, ", ") + " installed after boot at " + time.Unix(boot, 0).UTC().Format(time.RFC3339)
	}
	return s
}

// NeedsRestartingSignal interprets needs-restarting -r. dnf4 and dnf5 exit
// 1 when a reboot is needed and 0 when not, but both also exit 1 on
// failures (a missing plugin, unreadable metadata), so exit 1 counts only
// when the output says "Reboot is required". ok is false when the run says
// neither (the signal is then absent, not an error).
func NeedsRestartingSignal(stdout []byte, exitCode int) (s Signal, ok bool) {
	s = Signal{Name: SignalNeedsRestarting, Strength: Strong}
	switch {
	case exitCode == 0:
		return s, true
	case exitCode == 1 && bytes.Contains(stdout, []byte("Reboot is required")):
		s.Present = true
		var pkgs []string
		for line := range strings.Lines(string(stdout)) {
			if p, ok := strings.CutPrefix(strings.TrimSpace(line), "* "); ok && p != "" {
				pkgs = append(pkgs, strings.TrimSpace(p))
			}
		}
		s.Detail = strings.Join(pkgs, ", ")
		return s, true
	}
	return s, false
}

// RPMSignals runs the RPM checks on a host whose /proc is under root:
// rpm install times of RebootPackages against the boot time, when rpm is
// present and lists any of them, and needs-restarting -r (standalone, or
// as a dnf command), when available. A check that cannot run or gives no
// clear answer is left out or reported absent; it is never an error.
func RPMSignals(ctx context.Context, root string, r CommandRunner) []Signal {
	var out []Signal
	if s, ok := rpmInstalledAfterBoot(ctx, root, r); ok {
		out = append(out, s)
	}
	if s, ok := needsRestarting(ctx, r); ok {
		out = append(out, s)
	}
	return out
}

func rpmInstalledAfterBoot(ctx context.Context, root string, r CommandRunner) (Signal, bool) {
	rpm, err := r.LookPath("rpm")
	if err != nil {
		return Signal{}, false
	}
	stat, err := os.ReadFile(filepath.Join(root, "proc", "stat"))
	if err != nil {
		return Signal{}, false
	}
	boot, ok := ParseBootTime(stat)
	if !ok {
		return Signal{}, false
	}
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	args := append([]string{"-q", "--qf", rpmInstallTimeFormat, "--whatprovides"}, RebootPackages...)
	// rpm exits non-zero when some capability has no provider; the
	// packages it found are still printed.
	stdout, _, err := r.Run(ctx, rpm, args...)
	if err != nil {
		return Signal{}, false
	}
	installs := ParseRPMInstallTimes(stdout)
	if len(installs) == 0 {
		return Signal{}, false // not an RPM system (rpm on Debian) or an empty database
	}
	return InstalledAfterBootSignal(installs, boot), true
}

func needsRestarting(ctx context.Context, r CommandRunner) (Signal, bool) {
	var name string
	var args []string
	if p, err := r.LookPath("needs-restarting"); err == nil {
		name, args = p, []string{"-r"}
	} else if p, err := r.LookPath("dnf"); err == nil {
		name, args = p, []string{"needs-restarting", "-r"}
	} else {
		return Signal{}, false
	}
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	stdout, code, err := r.Run(ctx, name, args...)
	if err != nil {
		code = -1 // could not run: absent
	}
	// An unclear answer is reported as absent: the check ran.
	s, _ := NeedsRestartingSignal(stdout, code)
	return s, true
}
