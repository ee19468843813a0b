package inventory

import (
	"fmt"
	"strconv"
	"strings"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// RPMQueryArgs are the rpm arguments whose output ParseRPM reads: name,
// [epoch:]version-release, arch and install time, tab-separated.
var RPMQueryArgs = []string{"-qa", "--qf", `%{NAME}\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\t%{ARCH}\t%{INSTALLTIME}\n`}

// ParseRPM parses rpm -qa output in the RPMQueryArgs format. The
// gpg-pubkey pseudo-packages (imported signing keys) are skipped, as are
// lines without four fields. An architecture of "(none)" becomes empty; an
// unparsable install time becomes zero.
func ParseRPM(out []byte) ([]*agentv1.Software, error) {
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
		name, version := cleanString(f[0]), cleanString(f[1])
		if name == "" || version == "" || strings.ContainsRune(name, ' ') {
			continue
		}
		if name == "gpg-pubkey" {
			lines-- // a key, not a package: not a sign of a format change
			continue
		}
		arch := cleanString(f[2])
		if arch == "(none)" {
			arch = ""
		}
		at, err := strconv.ParseInt(strings.TrimSpace(f[3]), 10, 64)
		if err != nil || at < 0 {
			at = 0
		}
		sw = append(sw, &agentv1.Software{Name: name, Version: version, Arch: arch, InstallUnix: at})
	}
	if lines > 0 && len(sw) == 0 {
		return nil, fmt.Errorf("rpm: %d lines: %w", lines, ErrNoPackages)
	}
	return sw, nil
}
