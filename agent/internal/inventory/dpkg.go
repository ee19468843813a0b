package inventory

import (
	"errors"
	"fmt"
	"strings"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// DpkgQueryArgs are the dpkg-query arguments whose output ParseDpkg reads:
// one package per line, tab-separated.
var DpkgQueryArgs = []string{"-W", "-f=${binary:Package}\t${Version}\t${Architecture}\t${db:Status-Abbrev}\n"}

// ErrNoPackages is returned by the package list parsers when the output
// has lines but not one of them is a package, which most likely means the
// output format changed.
var ErrNoPackages = errors.New("no package parsed")

// ParseDpkg parses dpkg-query output in the DpkgQueryArgs format.
//
// Only installed packages are kept: the second letter of the status
// abbreviation is 'i' (installed), 'W' (triggers awaited) or 't' (triggers
// pending), whatever the selection (so "ii", "hi" for held and "ri" for a
// package selected for removal but still there count; "rc", only
// configuration files left, and half-installed or unpacked packages do
// not). The name loses its ":arch" multiarch qualifier; the architecture is
// its own field. Lines without four fields are skipped.
func ParseDpkg(out []byte) ([]*agentv1.Software, error) {
	var sw []*agentv1.Software
	lines := 0
	for line := range strings.Lines(string(out)) {
		line = strings.TrimRight(line, "\r\n")
		if strings.TrimSpace(line) == "" {
			continue
		}
		lines++
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSpace(f[0]), ":")
		status := f[3]
		if name == "" || len(status) < 2 || !strings.ContainsRune("iWt", rune(status[1])) {
			continue
		}
		version := cleanString(f[1])
		if version == "" {
			continue
		}
		sw = append(sw, &agentv1.Software{Name: cleanString(name), Version: version, Arch: cleanString(f[2])})
	}
	if lines > 0 && len(sw) == 0 {
		return nil, fmt.Errorf("dpkg-query: %d lines: %w", lines, ErrNoPackages)
	}
	return sw, nil
}
