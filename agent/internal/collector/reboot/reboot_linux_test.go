package reboot

import (
	"context"
	"path/filepath"
	"reflect"
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
	if len(signals) != 2 {
		t.Errorf("%d signals, want 2", len(signals))
	}
}
