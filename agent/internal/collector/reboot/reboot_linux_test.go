package reboot

import (
	"context"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

func TestLinuxSignals(t *testing.T) {
	tests := []struct {
		root    string
		running string
		pending bool
		reasons []string
	}{
		{"clean", "6.1.0-28-amd64", false, nil},
		{"clean", "6.1.0-27-amd64", true, []string{SignalNewerKernel + ": running 6.1.0-27-amd64, newest installed 6.1.0-28-amd64"}},
		{"pending", "6.8.0-45-generic", true, []string{
			SignalRebootRequiredFile + ": linux-image-6.8.0-48-generic, libc6",
			SignalNewerKernel + ": running 6.8.0-45-generic, newest installed 6.8.0-48-generic",
		}},
		{"newkernel", "6.9.12-amd64", true, []string{SignalNewerKernel + ": running 6.9.12-amd64, newest installed 6.10.3-amd64"}},
		{"newkernel", "6.10.3-amd64", false, nil},
		// No .pkgs and no /boot (containers): the flag file alone counts.
		{"noboot", "6.1.0-28-amd64", true, []string{SignalRebootRequiredFile}},
		{"missing", "6.1.0-28-amd64", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.root+"_"+tt.running, func(t *testing.T) {
			signals, err := LinuxSignals(filepath.Join("testdata", "linux", tt.root), tt.running)
			if err != nil {
				t.Fatal(err)
			}
			pending, reasons := Evaluate(signals, Policy{})
			if pending != tt.pending || !reflect.DeepEqual(reasons, tt.reasons) {
				t.Errorf("got %v %q, want %v %q", pending, reasons, tt.pending, tt.reasons)
			}
		})
	}
}

func TestSignalsLive(t *testing.T) {
	signals, err := Signals(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range signals {
		names = append(names, s.Name)
	}
	// The RPM checks are listed only where rpm or needs-restarting exist.
	if len(names) < 2 || names[0] != SignalRebootRequiredFile || names[1] != SignalNewerKernel {
		t.Errorf("signals %q, want %s and %s first", names, SignalRebootRequiredFile, SignalNewerKernel)
	}
	onPath := func(f string) bool { _, err := exec.LookPath(f); return err == nil }
	if !slices.ContainsFunc([]string{"rpm", "needs-restarting", "dnf"}, onPath) && len(names) != 2 {
		t.Errorf("signals %q on a host without rpm or dnf, want 2", names)
	}
}
