package inventory

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestWMIDateTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		// Examples in the shape of MS "CIM_DATETIME".
		{"20231015120000.000000+060", time.Date(2023, 10, 15, 11, 0, 0, 0, time.UTC)},
		{"20240119000000.000000+000", time.Date(2024, 1, 19, 0, 0, 0, 0, time.UTC)},
		{"20231015120000.123456-300", time.Date(2023, 10, 15, 17, 0, 0, 123456000, time.UTC)},
		{"19991231235959.999999+840", time.Date(1999, 12, 31, 9, 59, 59, 999999000, time.UTC)},
	}
	for _, tt := range tests {
		got, err := wmiDateTime(tt.in)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("wmiDateTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	_, offset := mustWMI(t, "20231015120000.000000+060").Zone()
	if offset != 3600 {
		t.Errorf("zone offset %d, want 3600", offset)
	}
}

func mustWMI(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := wmiDateTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestWMIDateTimeInvalid(t *testing.T) {
	bad := []string{
		"",
		"20231015",
		"20231015120000.000000",
		"20231015120000.000000+06",
		"2023101512000.0000000+060",
		"********120000.000000+000", // unknown date fields
		"00000001000000.000000:000", // an interval
		"20231315120000.000000+000", // month 13
		"20231015120000.00000x+000",
		"20231015120000.000000+9x9",
		"20231015120000.000000+999", // beyond ±14 h
	}
	for _, s := range bad {
		if _, err := wmiDateTime(s); !errors.Is(err, errWMIDateTime) {
			t.Errorf("wmiDateTime(%q) err = %v, want errWMIDateTime", s, err)
		}
		if got := wmiUnix(s); got != 0 {
			t.Errorf("wmiUnix(%q) = %d, want 0", s, got)
		}
	}
}

// FuzzWMIDateTime checks that wmiDateTime either rejects a string or parses
// it into a time that formats back to the same CIM_DATETIME.
func FuzzWMIDateTime(f *testing.F) {
	f.Add("20231015120000.000000+060")
	f.Add("20231015120000.123456-300")
	f.Add("********120000.000000+000")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := wmiDateTime(s)
		if err != nil {
			return
		}
		_, off := got.Zone()
		sign := byte('+')
		if off < 0 || s[21] == '-' && off == 0 {
			sign, off = '-', -off
		}
		back := got.Format("20060102150405.000000") + string(sign) + fmt.Sprintf("%03d", off/60)
		if back != s {
			t.Fatalf("wmiDateTime(%q) = %v, formats back as %q", s, got, back)
		}
	})
}
