package inventory

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

func winLoadJSON(t *testing.T, v any, elem ...string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"testdata", "windows"}, elem...)...))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", filepath.Join(elem...), err)
	}
}

// winLoadUninstall reads both views' fixtures and tags each entry with its
// view, as winReadView does.
func winLoadUninstall(t *testing.T) []winUninstallEntry {
	t.Helper()
	var all []winUninstallEntry
	for _, v := range []struct{ file, view string }{{"uninstall_64.json", winView64}, {"uninstall_32.json", winView32}} {
		var es []winUninstallEntry
		winLoadJSON(t, &es, v.file)
		for i := range es {
			es[i].View = v.view
		}
		all = append(all, es...)
	}
	return all
}

func winDay(y int, m time.Month, d int) int64 { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() }

func TestWinSoftwareFixture(t *testing.T) {
	want := []*agentv1.Software{
		{Name: "7-Zip 24.08 (x64)", Version: "24.08", Arch: "x64", Publisher: "Igor Pavlov"},
		{Name: "Google Chrome", Version: "130.0.6723.70", Arch: "x86", Publisher: "Google LLC", InstallUnix: winDay(2024, 10, 22)},
		{Name: "Microsoft Visual C++ 2015-2022 Redistributable (x86) - 14.40.33810", Version: "14.40.33810.0", Arch: "x86", Publisher: "Microsoft Corporation"},
		{Name: "Mozilla Firefox (x64 en-US)", Version: "131.0.3", Arch: "x64", Publisher: "Mozilla"},
		{Name: "PowerShell 7-x64", Version: "7.4.6.0", Arch: "x64", Publisher: "Microsoft Corporation", InstallUnix: winDay(2024, 10, 15)},
		{Name: "Teams Machine-Wide Installer", Version: "1.7.0.1864", Arch: "x64", Publisher: "Microsoft Corporation", InstallUnix: winDay(2024, 3, 2)},
	}
	got := winSoftware(winLoadUninstall(t))
	if len(got) != len(want) {
		t.Fatalf("got %d programs, want %d:\n%v", len(got), len(want), got)
	}
	for i := range want {
		if !proto.Equal(got[i], want[i]) {
			t.Errorf("[%d] got  %v\n    want %v", i, got[i], want[i])
		}
	}
}

// TestWinSoftwareOrderIndependent checks that the 64-bit entry wins the
// de-duplication whatever order the views were read in.
func TestWinSoftwareOrderIndependent(t *testing.T) {
	es := []winUninstallEntry{
		{KeyName: "b", View: winView32, DisplayName: "App", DisplayVersion: "1", Publisher: "32"},
		{KeyName: "a", View: winView64, DisplayName: "App", DisplayVersion: "1", Publisher: "64"},
		{KeyName: "c", View: winView32, DisplayName: "App", DisplayVersion: "2"},
	}
	got := winSoftware(es)
	if len(got) != 2 || got[0].GetArch() != "x64" || got[0].GetPublisher() != "64" || got[1].GetVersion() != "2" {
		t.Errorf("got %v", got)
	}
}

func TestWinSkipUninstall(t *testing.T) {
	tests := []struct {
		name string
		in   winUninstallEntry
		skip bool
	}{
		{"program", winUninstallEntry{DisplayName: "App"}, false},
		{"windows installer program", winUninstallEntry{DisplayName: "App", WindowsInstaller: 1}, false},
		{"blank name", winUninstallEntry{DisplayName: "  "}, true},
		{"system component", winUninstallEntry{DisplayName: "App", SystemComponent: 1}, true},
		{"system component 0", winUninstallEntry{DisplayName: "App", SystemComponent: 0}, false},
		{"parent key", winUninstallEntry{DisplayName: "KB1", ParentKeyName: "Office16.PROPLUS"}, true},
		{"security update", winUninstallEntry{DisplayName: "KB1", ReleaseType: "Security Update"}, true},
		{"update rollup lower case", winUninstallEntry{DisplayName: "KB1", ReleaseType: "update rollup"}, true},
		{"hotfix", winUninstallEntry{DisplayName: "KB1", ReleaseType: "Hotfix"}, true},
		{"update", winUninstallEntry{DisplayName: "KB1", ReleaseType: "Update"}, true},
		{"other release type", winUninstallEntry{DisplayName: "App", ReleaseType: "Product"}, false},
	}
	for _, tt := range tests {
		if got := winSkipUninstall(tt.in); got != tt.skip {
			t.Errorf("%s: skip = %v, want %v", tt.name, got, tt.skip)
		}
	}
}

func TestWinInstallDate(t *testing.T) {
	tests := map[string]int64{
		"20240611":   winDay(2024, 6, 11),
		" 20240611 ": winDay(2024, 6, 11),
		"":           0,
		"20241301":   0, // month 13
		"20240230":   0, // 30 February
		"2024-06-11": 0,
		"10/15/2024": 0,
		"2024611":    0,
		"+2024061":   0,
	}
	for in, want := range tests {
		if got := winInstallDate(in); got != want {
			t.Errorf("winInstallDate(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestWinClip(t *testing.T) {
	long := strings.Repeat("a", 255) + "é" // é is 2 bytes: 257 in all
	tests := []struct{ in, want string }{
		{"  x  ", "x"},
		{strings.Repeat("b", 300), strings.Repeat("b", 256)},
		{long, strings.Repeat("a", 255)},
		{"bad\xffutf8", "bad\uFFFDutf8"},
	}
	for _, tt := range tests {
		if got := winClip(tt.in); got != tt.want {
			t.Errorf("winClip(%.20q…) = %.20q… (%d bytes), want %d bytes", tt.in, got, len(got), len(tt.want))
		}
	}
}
