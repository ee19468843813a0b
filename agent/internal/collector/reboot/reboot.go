// Package reboot decides whether a host has a reboot pending.
//
// Each platform check becomes a Signal, reported individually whether or not
// it fired, and Evaluate derives a verdict under a Policy. Signals are
// Strong (reliable: Windows Update's RebootRequired key, WUA SystemInfo, CBS
// after the boot grace, a pending rename, /run/reboot-required, a newer
// kernel) or Weak (known false positives: PendingFileRenameOperations, which
// antivirus products use for cleanup, UpdateExeVolatile, PostRebootReporting).
// The default policy counts only Strong signals. See platform-notes §2 and
// §4.3 for the sources of each check.
//
// The classification (WindowsSignals, the Linux helpers and the dpkg version
// comparator) is portable and tested on Linux from fixtures; reboot_windows.go
// reads the registry into a RegistrySnapshot, reboot_linux.go reads files.
package reboot

import (
	"slices"
	"time"
)

// Strength says how far a signal can be trusted on its own.
type Strength int

// Strengths.
const (
	// Strong signals are reliable indications of a pending reboot.
	Strong Strength = iota
	// Weak signals have known false positives.
	Weak
)

// String returns "strong" or "weak".
func (s Strength) String() string {
	if s == Weak {
		return "weak"
	}
	return "strong"
}

// Signal is the result of one check.
type Signal struct {
	// Name identifies the check (one of the Signal* constants).
	Name string
	// Present is true when the check fired.
	Present bool
	// Strength is how far the check can be trusted.
	Strength Strength
	// Detail explains a present signal (packages, names, counts); may be "".
	Detail string
}

// Policy selects which present signals count towards a pending reboot. The
// zero value counts Strong signals only.
type Policy struct {
	// IncludeWeak also counts Weak signals.
	IncludeWeak bool
	// Ignore lists signal names that never count.
	Ignore []string
}

// Evaluate reports whether any counting signal is present, with one reason
// ("name" or "name: detail") per counting signal, in input order.
func Evaluate(signals []Signal, p Policy) (pending bool, reasons []string) {
	for _, s := range signals {
		if !s.Present || (s.Strength == Weak && !p.IncludeWeak) || slices.Contains(p.Ignore, s.Name) {
			continue
		}
		r := s.Name
		if s.Detail != "" {
			r += ": " + s.Detail
		}
		reasons = append(reasons, r)
	}
	return len(reasons) > 0, reasons
}

// Options configures Signals.
type Options struct {
	// CBSGrace is how long after boot the CBS RebootPending key is only a
	// weak signal; 0 means DefaultCBSGrace.
	CBSGrace time.Duration
	// WUARebootRequired is ISystemInformation.RebootRequired when the caller
	// has it (the COM call is not made here).
	WUARebootRequired bool
}
