package reboot

import (
	"fmt"
	"strings"
)

// Signal names for Linux checks.
const (
	SignalRebootRequiredFile = "reboot_required_file"
	SignalNewerKernel        = "newer_kernel_installed"
)

// ParsePkgs parses /run/reboot-required.pkgs: one package per line,
// duplicates removed, order kept.
func ParsePkgs(data string) []string {
	var out []string
	seen := map[string]bool{}
	for _, line := range strings.Split(data, "\n") {
		p := strings.TrimSpace(line)
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	return out
}

// NewestKernel returns the highest kernel release among /boot file names of
// the form vmlinuz-<release>, by dpkg version ordering, or "" if none.
func NewestKernel(names []string) string {
	newest := ""
	for _, n := range names {
		rel, ok := strings.CutPrefix(n, "vmlinuz-")
		if !ok || rel == "" || strings.HasSuffix(rel, ".old") {
			continue
		}
		if newest == "" || CompareVersions(rel, newest) > 0 {
			newest = rel
		}
	}
	return newest
}

// RebootRequiredSignal is the /run/reboot-required check: present when the
// file exists, with the .pkgs packages as detail.
func RebootRequiredSignal(present bool, pkgs []string) Signal {
	return Signal{Name: SignalRebootRequiredFile, Present: present, Strength: Strong, Detail: strings.Join(pkgs, ", ")}
}

// KernelSignal is present when newest (the highest installed kernel
// release) sorts after running (uname -r).
func KernelSignal(running, newest string) Signal {
	s := Signal{Name: SignalNewerKernel, Strength: Strong}
	if running != "" && newest != "" && CompareVersions(newest, running) > 0 {
		s.Present = true
		s.Detail = fmt.Sprintf("running %s, newest installed %s", running, newest)
	}
	return s
}
