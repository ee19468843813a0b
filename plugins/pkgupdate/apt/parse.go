package apt

import (
	"fmt"
	"strings"
)

// Update is one package that a dist-upgrade would install or upgrade.
type Update struct {
	// Name is the package name without any ":arch" qualifier.
	Name string
	// Arch is the architecture of the candidate, such as amd64 or all.
	Arch string
	// Foreign reports that apt-get printed the name with a ":arch"
	// qualifier, which it does only for a package of a foreign (multiarch)
	// architecture, such as libc6:i386 on amd64.
	Foreign bool
	// Installed is the installed version; empty when New is set.
	Installed string
	// Candidate is the version the upgrade would install.
	Candidate string
	// Origins lists the archives that provide Candidate, as
	// "Origin:Release/Suite", for example "Debian-Security:12/oldstable-security".
	Origins []string
	// Security reports whether any origin is a security archive.
	Security bool
	// New reports a package that is not installed and that the upgrade
	// pulls in as a dependency.
	New bool
}

// Removal is one package that a dist-upgrade would remove.
type Removal struct {
	// Name is the package name without any ":arch" qualifier.
	Name string
	// Installed is the installed version, when apt-get prints it.
	Installed string
}

// ParseSimulate parses the output of "apt-get -s dist-upgrade" (or
// upgrade) and returns one Update per Inst line, in output order. Lines
// other than Inst lines are ignored. A malformed Inst line is an error
// wrapping ErrMalformed.
func ParseSimulate(out []byte) ([]Update, error) {
	var updates []Update
	err := eachLine(out, "Inst ", func(n int, rest string) error {
		u, ok := parseInst(rest)
		if !ok {
			return fmt.Errorf("apt: line %d %q: %w", n, clip(rest), ErrMalformed)
		}
		updates = append(updates, u)
		return nil
	})
	return updates, err
}

// ParseRemovals parses the output of "apt-get -s dist-upgrade" and returns
// one Removal per Remv line, in output order.
func ParseRemovals(out []byte) ([]Removal, error) {
	var removals []Removal
	err := eachLine(out, "Remv ", func(n int, rest string) error {
		name, rest := cutField(rest)
		r := Removal{Name: stripArch(name)}
		if r.Name == "" {
			return fmt.Errorf("apt: line %d %q: %w", n, clip(rest), ErrMalformed)
		}
		if strings.HasPrefix(rest, "[") {
			v, _, ok := strings.Cut(rest[1:], "]")
			if !ok {
				return fmt.Errorf("apt: line %d %q: %w", n, clip(rest), ErrMalformed)
			}
			r.Installed = v
		}
		removals = append(removals, r)
		return nil
	})
	return removals, err
}

// eachLine calls fn with the 1-based line number and the remainder of each
// line that starts with prefix.
func eachLine(out []byte, prefix string, fn func(n int, rest string) error) error {
	n := 0
	for line := range strings.Lines(string(out)) {
		n++
		rest, ok := strings.CutPrefix(strings.TrimRight(line, " \r\n"), prefix)
		if !ok {
			continue
		}
		if err := fn(n, strings.TrimLeft(rest, " ")); err != nil {
			return err
		}
	}
	return nil
}

// parseInst parses what follows "Inst ":
//
//	<pkg> [<installed>] (<candidate> <origin>[, <origin>…] [<arch>])[ trailing]
func parseInst(s string) (Update, bool) {
	var u Update
	name, rest := cutField(s)
	u.Name = stripArch(name)
	u.Foreign = u.Name != name
	if u.Name == "" || strings.ContainsAny(name, "[]()") {
		return u, false
	}
	if strings.HasPrefix(rest, "[") {
		v, after, ok := strings.Cut(rest[1:], "]")
		if !ok || v == "" || strings.ContainsAny(v, " ()") {
			return u, false
		}
		u.Installed = v
		rest = strings.TrimLeft(after, " ")
	} else {
		u.New = true
	}
	if !strings.HasPrefix(rest, "(") {
		return u, false
	}
	inner, _, ok := strings.Cut(rest[1:], ")")
	if !ok {
		return u, false
	}
	cand, inner := cutField(inner)
	if cand == "" || strings.ContainsAny(cand, "[]") {
		return u, false
	}
	u.Candidate = cand
	// The architecture is the last bracketed word inside the parentheses.
	i := strings.LastIndex(inner, "[")
	if i < 0 || !strings.HasSuffix(inner, "]") {
		return u, false
	}
	u.Arch = inner[i+1 : len(inner)-1]
	if u.Arch == "" || strings.ContainsAny(u.Arch, " []") {
		return u, false
	}
	for o := range strings.SplitSeq(inner[:i], ",") {
		if o = strings.TrimSpace(o); o != "" {
			u.Origins = append(u.Origins, o)
		}
	}
	u.Security = anySecurity(u.Origins)
	return u, true
}

// anySecurity reports whether any origin is a security archive: a suite
// ending in "-security" or an origin label ending in "-Security".
func anySecurity(origins []string) bool {
	for _, o := range origins {
		label, relSuite, _ := strings.Cut(o, ":")
		suite := relSuite[strings.LastIndex(relSuite, "/")+1:]
		if hasSuffixFold(suite, "-security") || hasSuffixFold(label, "-security") {
			return true
		}
	}
	return false
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// cutField returns the first space-separated field of s and the rest with
// leading spaces removed.
func cutField(s string) (field, rest string) {
	field, rest, _ = strings.Cut(strings.TrimLeft(s, " "), " ")
	return field, strings.TrimLeft(rest, " ")
}

// stripArch removes a ":arch" qualifier, as in "libc6:i386".
func stripArch(name string) string {
	n, _, _ := strings.Cut(name, ":")
	return n
}

// clip shortens s for an error message.
func clip(s string) string {
	const limit = 120
	if len(s) > limit {
		return s[:limit] + "…"
	}
	return s
}

// IsSecurityOrigin reports whether one origin entry ("Origin:Release/Suite")
// names a security archive, by the rule Update.Security uses.
func IsSecurityOrigin(origin string) bool { return anySecurity([]string{origin}) }
