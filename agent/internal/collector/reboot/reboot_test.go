package reboot

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestEvaluate(t *testing.T) {
	signals := []Signal{
		{Name: "a", Present: true, Strength: Strong},
		{Name: "b", Present: false, Strength: Strong},
		{Name: "c", Present: true, Strength: Weak, Detail: "3 entries"},
		{Name: "d", Present: true, Strength: Strong, Detail: "x"},
	}
	tests := []struct {
		name    string
		p       Policy
		pending bool
		reasons []string
	}{
		{"default strong only", Policy{}, true, []string{"a", "d: x"}},
		{"include weak", Policy{IncludeWeak: true}, true, []string{"a", "c: 3 entries", "d: x"}},
		{"ignore", Policy{Ignore: []string{"a", "d"}}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pending, reasons := Evaluate(signals, tt.p)
			if pending != tt.pending || !reflect.DeepEqual(reasons, tt.reasons) {
				t.Errorf("Evaluate = %v %q, want %v %q", pending, reasons, tt.pending, tt.reasons)
			}
		})
	}
	if pending, reasons := Evaluate(nil, Policy{}); pending || reasons != nil {
		t.Errorf("Evaluate(nil) = %v %q", pending, reasons)
	}
}

func loadSnapshot(t *testing.T, name string) RegistrySnapshot {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "windows", name))
	if err != nil {
		t.Fatal(err)
	}
	var s RegistrySnapshot
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

func TestWindowsSignals(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		file    string
		uptime  time.Duration
		grace   time.Duration
		p       Policy
		pending bool
		reasons []string
	}{
		{"clean.json", day, 0, Policy{IncludeWeak: true}, false, nil},
		{"wu_installed.json", day, 0, Policy{}, true, []string{
			SignalWUAutoUpdateRebootRequired, SignalWUARebootRequired, SignalCBSRebootPending, SignalCBSPackagesPending,
		}},
		{"wu_installed.json", day, 0, Policy{IncludeWeak: true}, true, []string{
			SignalWUAutoUpdateRebootRequired, SignalWUARebootRequired, SignalCBSRebootPending, SignalCBSPackagesPending,
			SignalWUUXRebootRequired, SignalPendingFileRename + ": 2 entries",
		}},
		// Antivirus cleanup alone must not flag a reboot under the default policy.
		{"av_rename_only.json", day, 0, Policy{}, false, nil},
		{"av_rename_only.json", day, 0, Policy{IncludeWeak: true}, true, []string{SignalPendingFileRename + ": 2 entries"}},
		{"computer_rename.json", day, 0, Policy{}, true, []string{SignalPendingComputerRename + ": DESKTOP-7H2K9QX -> WS-SALES-14"}},
		{"computer_name_case_only.json", day, 0, Policy{IncludeWeak: true}, false, nil},
		// CBS RebootPending lingers just after boot: weak within the grace.
		{"cbs_only.json", 3 * time.Minute, 0, Policy{}, false, nil},
		{"cbs_only.json", 3 * time.Minute, 0, Policy{IncludeWeak: true}, true, []string{SignalCBSRebootPending + ": uptime 3m0s within boot grace 10m0s"}},
		{"cbs_only.json", 11 * time.Minute, 0, Policy{}, true, []string{SignalCBSRebootPending}},
		{"cbs_only.json", 11 * time.Minute, 30 * time.Minute, Policy{}, false, nil},
		{"legacy_weak.json", day, 0, Policy{}, false, nil},
		{"legacy_weak.json", day, 0, Policy{IncludeWeak: true}, true, []string{SignalWUPostRebootReporting, SignalUpdateExeVolatile + ": value 1"}},
		{"domain_join.json", day, 0, Policy{}, true, []string{SignalPendingDomainJoin}},
		{"wu_installed.json", day, 0, Policy{Ignore: []string{SignalCBSRebootPending, SignalCBSPackagesPending, SignalWUARebootRequired}}, true, []string{SignalWUAutoUpdateRebootRequired}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			signals := WindowsSignals(loadSnapshot(t, tt.file), tt.uptime, tt.grace)
			pending, reasons := Evaluate(signals, tt.p)
			if pending != tt.pending || !reflect.DeepEqual(reasons, tt.reasons) {
				t.Errorf("uptime %s policy %+v: got %v %q, want %v %q", tt.uptime, tt.p, pending, reasons, tt.pending, tt.reasons)
			}
		})
	}
}

func TestWindowsSignalsReportsEveryCheck(t *testing.T) {
	signals := WindowsSignals(RegistrySnapshot{}, time.Hour, 0)
	seen := map[string]bool{}
	for _, s := range signals {
		if s.Present || seen[s.Name] {
			t.Errorf("signal %+v: present or duplicate on an empty snapshot", s)
		}
		seen[s.Name] = true
	}
	if len(seen) != 11 {
		t.Errorf("%d signals, want 11", len(seen))
	}
}

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"6.1.0-27-amd64", "6.1.0-28-amd64", -1},
		{"6.10", "6.9", 1},
		{"6.10.3-amd64", "6.9.12-amd64", 1},
		{"6.8.0-48-generic", "6.8.0-45-generic", 1},
		{"6.8.0-48-generic", "6.8.0-48-generic", 0},
		{"1.0", "1.00", 0},
		{"1.0~rc1", "1.0", -1},
		{"1.0~rc1", "1.0~rc2", -1},
		{"1.0", "1.0a", -1},
		{"1.0a", "1.0+", -1},
		{"1:0.9", "2.0", 1},
		{"1.0-1", "1.0-2", -1},
		{"6.11.4-301.fc41.x86_64", "6.11.10-200.fc41.x86_64", -1},
		{"", "0", 0},
		{"5.15.0-1051-azure", "5.15.0-105-generic", 1},
	}
	for _, tt := range tests {
		t.Run(tt.a+"_vs_"+tt.b, func(t *testing.T) {
			got, rev := CompareVersions(tt.a, tt.b), CompareVersions(tt.b, tt.a)
			if got != tt.want || rev != -tt.want {
				t.Errorf("CompareVersions = %d (reverse %d), want %d", got, rev, tt.want)
			}
		})
	}
}

func TestNewestKernel(t *testing.T) {
	tests := []struct {
		names []string
		want  string
	}{
		{nil, ""},
		{[]string{"config-6.1.0-28-amd64", "initrd.img-6.1.0-28-amd64"}, ""},
		{[]string{"vmlinuz-6.1.0-28-amd64", "vmlinuz-6.1.0-27-amd64"}, "6.1.0-28-amd64"},
		{[]string{"vmlinuz-6.9.12-amd64", "vmlinuz-6.10.3-amd64", "vmlinuz-6.11.0-amd64.old"}, "6.10.3-amd64"},
		{[]string{"vmlinuz-"}, ""},
	}
	for _, tt := range tests {
		if got := NewestKernel(tt.names); got != tt.want {
			t.Errorf("NewestKernel(%q) = %q, want %q", tt.names, got, tt.want)
		}
	}
}

func TestParsePkgs(t *testing.T) {
	got := ParsePkgs("linux-image-6.8.0-48-generic\n\nlibc6\n linux-image-6.8.0-48-generic \n")
	if want := []string{"linux-image-6.8.0-48-generic", "libc6"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ParsePkgs = %q, want %q", got, want)
	}
}
