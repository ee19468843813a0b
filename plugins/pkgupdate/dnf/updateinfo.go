package dnf

import (
	"fmt"
	"strings"
)

// Severity is an advisory's severity as dnf reports it.
type Severity string

// The severities dnf knows. SeverityNone also stands for a missing or
// unrecognised severity.
const (
	SeverityCritical  Severity = "Critical"
	SeverityImportant Severity = "Important"
	SeverityModerate  Severity = "Moderate"
	SeverityLow       Severity = "Low"
	SeverityNone      Severity = "None"
)

// Advisory is one (advisory, package) row of an advisory listing.
type Advisory struct {
	// ID is the advisory name, such as FEDORA-2021-83fdddca0f or RHSA-2024:0001.
	ID string
	// Type is "security", "bugfix", "enhancement", "newpackage" or
	// "unspecified".
	Type string
	// Severity is the advisory severity.
	Severity Severity
	// Package is the fixed package as printed, name-[epoch:]version-release.arch.
	Package string
	// Name and Arch are split from Package.
	Name, Arch string
	// Issued is the dnf5 "Issued" column ("2025-03-18 02:17:53"); empty for dnf4.
	Issued string
}

// ParseUpdateInfo parses dnf4 "updateinfo list" and dnf5 "advisory list"
// output, with or without --security, and returns the rows in output
// order. Headings and metadata lines are skipped; a dnf4 ".../Sec." line
// that does not have the expected shape is an error, as it most likely
// means the output format changed.
func ParseUpdateInfo(out []byte) ([]Advisory, error) {
	var advs []Advisory
	n := 0
	for line := range strings.Lines(string(out)) {
		n++
		f := strings.Fields(line)
		switch {
		case len(f) == 3 && isNEVRA(f[2]):
			// dnf4: ID  Type-or-Severity/Sec.  NEVRA
			a := Advisory{ID: f[0], Package: f[2], Severity: SeverityNone, Type: f[1]}
			if sev, ok := strings.CutSuffix(f[1], "/Sec."); ok {
				a.Type, a.Severity = "security", parseSeverity(sev)
			} else if f[1] == "security" {
				a.Type = "security"
			}
			a.Name, a.Arch = splitNEVRA(f[2])
			advs = append(advs, a)
		case len(f) >= 4 && isNEVRA(f[3]) && !strings.EqualFold(f[0], "Name"):
			// dnf5: Name  Type  Severity  Package  Issued (date time)
			a := Advisory{ID: f[0], Type: f[1], Severity: parseSeverity(f[2]), Package: f[3],
				Issued: strings.Join(f[4:], " ")}
			a.Name, a.Arch = splitNEVRA(f[3])
			advs = append(advs, a)
		case strings.Contains(line, "/Sec."):
			return nil, fmt.Errorf("dnf: updateinfo line %d %q: unexpected shape", n, strings.TrimSpace(line))
		}
	}
	return advs, nil
}

// parseSeverity maps dnf's severity words, case-insensitively; "Unknown",
// empty and anything unrecognised map to SeverityNone.
func parseSeverity(s string) Severity {
	for _, sev := range []Severity{SeverityCritical, SeverityImportant, SeverityModerate, SeverityLow} {
		if strings.EqualFold(s, string(sev)) {
			return sev
		}
	}
	return SeverityNone
}

// isNEVRA reports whether s looks like name-version-release.arch.
func isNEVRA(s string) bool {
	name, arch := splitNEVRA(s)
	return name != "" && arch != ""
}

// splitNEVRA splits name-[epoch:]version-release.arch into name and arch;
// both are empty if s does not have that shape.
func splitNEVRA(s string) (name, arch string) {
	dot := strings.LastIndexByte(s, '.')
	if dot <= 0 || dot == len(s)-1 || strings.ContainsAny(s, "/ ") {
		return "", ""
	}
	nvr := s[:dot]
	r := strings.LastIndexByte(nvr, '-')
	if r <= 0 {
		return "", ""
	}
	v := strings.LastIndexByte(nvr[:r], '-')
	if v <= 0 || v+1 >= r {
		return "", ""
	}
	return nvr[:v], s[dot+1:]
}
