package inventory

import (
	"cmp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// Registry views of winUninstallEntry.View.
const (
	winView64 = "64"
	winView32 = "32"
)

// winUninstallEntry is one subkey of
// HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall in the 64-bit or
// 32-bit (WOW6432Node) registry view. Field names are the registry value
// names (MS "Uninstall Registry Key",
// https://learn.microsoft.com/windows/win32/msi/uninstall-registry-key).
// KeyName is the subkey's name, which PowerShell's Get-ItemProperty calls
// PSChildName, so fixtures in that shape load as they are. View is set by
// the reader, not read from the registry.
type winUninstallEntry struct {
	KeyName          string `json:"PSChildName"`
	View             string `json:"View"`
	DisplayName      string `json:"DisplayName"`
	DisplayVersion   string `json:"DisplayVersion"`
	Publisher        string `json:"Publisher"`
	InstallDate      string `json:"InstallDate"`
	SystemComponent  uint64 `json:"SystemComponent"`
	ParentKeyName    string `json:"ParentKeyName"`
	ReleaseType      string `json:"ReleaseType"`
	WindowsInstaller uint64 `json:"WindowsInstaller"`
}

// winUpdateReleaseTypes are ReleaseType values that mark an entry as an
// update to another program rather than a program. Salt's Windows package
// lister skips "Hotfix", "Security Update" and "Update Rollup"
// (saltstack/salt salt/modules/win_pkg.py _get_reg_software,
// skip_release_type); "Update" is the plain form Office and .NET patches use.
var winUpdateReleaseTypes = []string{"hotfix", "security update", "update rollup", "update"}

// winSkipUninstall reports whether an entry is not a program of its own,
// following what Programs and Features shows and Salt's lister skips:
// no DisplayName; SystemComponent=1 (MS: "prevents display of the
// application in the Programs List"); a ParentKeyName (the entry is an
// update listed under its parent program); an update ReleaseType.
// WindowsInstaller=1 entries are programs like any other.
func winSkipUninstall(e winUninstallEntry) bool {
	return strings.TrimSpace(e.DisplayName) == "" ||
		e.SystemComponent == 1 ||
		strings.TrimSpace(e.ParentKeyName) != "" ||
		slices.Contains(winUpdateReleaseTypes, strings.ToLower(strings.TrimSpace(e.ReleaseType)))
}

// winSoftware turns Uninstall entries of both views into software. An
// entry found in both views with the same name and version is listed once,
// from the 64-bit view. Arch is "x64" for the 64-bit view and "x86" for the
// 32-bit one. The result is sorted as Collect sorts it.
func winSoftware(entries []winUninstallEntry) []*agentv1.Software {
	sorted := slices.Clone(entries)
	// 64-bit view first, so it wins the de-duplication; then by key name,
	// so the result does not depend on enumeration order.
	slices.SortStableFunc(sorted, func(a, b winUninstallEntry) int {
		return cmp.Or(cmp.Compare(b.View, a.View), cmp.Compare(a.KeyName, b.KeyName))
	})
	type nameVersion struct{ name, version string }
	seen := make(map[nameVersion]bool, len(sorted))
	out := make([]*agentv1.Software, 0, len(sorted))
	for _, e := range sorted {
		if winSkipUninstall(e) {
			continue
		}
		sw := &agentv1.Software{
			Name:        winClip(e.DisplayName),
			Version:     winClip(e.DisplayVersion),
			Arch:        winArch(e.View),
			Publisher:   winClip(e.Publisher),
			InstallUnix: winInstallDate(e.InstallDate),
		}
		k := nameVersion{sw.Name, sw.Version}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, sw)
	}
	SortSoftware(out)
	return out
}

func winArch(view string) string {
	switch view {
	case winView64:
		return "x64"
	case winView32:
		return "x86"
	}
	return ""
}

// winInstallDate parses an InstallDate value, "YYYYMMDD" (MS "Uninstall
// Registry Key"), as midnight UTC. Anything else, including the
// locale-formatted dates some installers write, is zero.
func winInstallDate(s string) int64 {
	s = strings.TrimSpace(s)
	if len(s) != 8 || strings.Trim(s, "0123456789") != "" {
		return 0
	}
	t, err := time.Parse("20060102", s)
	if err != nil {
		return 0
	}
	return t.Unix()
}

// winMaxString is the longest string the Windows reader reports, in bytes.
const winMaxString = 256

// winClip trims s, makes it valid UTF-8 (proto strings must be) and cuts it
// to winMaxString bytes at a character boundary.
func winClip(s string) string {
	s = strings.ToValidUTF8(strings.TrimSpace(s), "\uFFFD")
	if len(s) <= winMaxString {
		return s
	}
	cut := winMaxString
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.TrimSpace(s[:cut])
}
