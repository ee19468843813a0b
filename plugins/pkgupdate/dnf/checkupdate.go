package dnf

import (
	"fmt"
	"strings"
)

// Update is one package with a newer version available.
type Update struct {
	// Name is the package name.
	Name string
	// Arch is the package architecture, such as x86_64 or noarch.
	Arch string
	// Version is the available [epoch:]version-release.
	Version string
	// Repo is the repository that provides Version.
	Repo string
	// Obsoletes lists the installed packages ("name.arch") this update
	// replaces, from the "Obsoleting Packages" section.
	Obsoletes []string
	// Obsoleting reports an update that appeared only in the "Obsoleting
	// Packages" section: a new package replacing an installed one.
	Obsoleting bool
}

// ParseCheckUpdate parses dnf check-update (dnf4) or check-upgrade (dnf5)
// output given its exit status. For status 0 it returns no updates; for
// 100 the listed updates in output order; for any other status an error
// wrapping ErrFailed that quotes out, which should then hold stderr.
func ParseCheckUpdate(out []byte, exitCode int) ([]Update, error) {
	switch exitCode {
	case 0:
		return nil, nil
	case 100:
	default:
		return nil, fmt.Errorf("dnf: check-update: exit status %d: %s: %w", exitCode, firstLines(out), ErrFailed)
	}
	var (
		updates  []Update
		index    = map[string]int{} // name.arch → position in updates
		obsolete bool               // inside "Obsoleting Packages"
		last     = -1               // update the next indented obsoleted row belongs to
		pending  string             // a wrapped name.arch waiting for its row
	)
	for line := range strings.Lines(string(out)) {
		line = strings.TrimRight(line, " \r\n")
		indented := strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")
		f := strings.Fields(line)
		if len(f) == 0 {
			pending = ""
			continue
		}
		if strings.EqualFold(line, "Obsoleting Packages") {
			obsolete, pending, last = true, "", -1
			continue
		}
		if pending != "" && indented && len(f) == 2 {
			f = append([]string{pending}, f...)
			indented = false
		}
		pending = ""
		if len(f) == 1 && !indented && isNameArch(f[0]) {
			pending = f[0]
			continue
		}
		// dnf5 prefixes obsoleted rows with the word "obsoleting".
		if indented && len(f) == 4 && f[0] == "obsoleting" {
			f = f[1:]
		}
		if len(f) != 3 || !isNameArch(f[0]) || !isEVR(f[1]) {
			continue // metadata, headings, security notices
		}
		if obsolete && indented {
			if last >= 0 {
				updates[last].Obsoletes = append(updates[last].Obsoletes, f[0])
			}
			continue
		}
		name, arch := splitNameArch(f[0])
		u := Update{Name: name, Arch: arch, Version: f[1], Repo: f[2]}
		if i, ok := index[f[0]]; ok && obsolete {
			last = i
			continue
		}
		u.Obsoleting = obsolete
		index[f[0]] = len(updates)
		last = len(updates)
		updates = append(updates, u)
	}
	if len(updates) == 0 {
		return nil, fmt.Errorf("dnf: check-update: exit status 100: %w", ErrUnparsed)
	}
	return updates, nil
}

// isNameArch reports whether s looks like "name.arch".
func isNameArch(s string) bool {
	i := strings.LastIndexByte(s, '.')
	return i > 0 && i < len(s)-1 && !strings.ContainsAny(s, ":/()")
}

// isEVR reports whether s looks like "[epoch:]version-release"; versions
// need not start with a digit (texlive's "svn54074-62.fc39").
func isEVR(s string) bool {
	return strings.Contains(s, "-") && strings.ContainsAny(s, "0123456789") &&
		!strings.HasPrefix(s, "-") && !strings.HasPrefix(s, "@")
}

func splitNameArch(s string) (name, arch string) {
	i := strings.LastIndexByte(s, '.')
	return s[:i], s[i+1:]
}

// firstLines returns the first few non-empty lines of b for an error.
func firstLines(b []byte) string {
	var lines []string
	for l := range strings.Lines(string(b)) {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
		if len(lines) == 3 {
			break
		}
	}
	s := strings.Join(lines, "; ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
