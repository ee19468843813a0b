package windowsupdate

import (
	"encoding/binary"
	"math"
	"testing"
	"time"
)

// variant builds raw VARIANT bytes: vt, then val at offset 8.
func variant(vt uint16, val uint64) rawVariant {
	var v rawVariant
	binary.LittleEndian.PutUint16(v[0:2], vt)
	binary.LittleEndian.PutUint64(v[8:16], val)
	return v
}

// decimal builds a VT_DECIMAL as oleaut32 lays it out over a VARIANT.
func decimal(scale, sign byte, hi32 uint32, lo64 uint64) rawVariant {
	v := variant(vtDecimal, lo64)
	v[2], v[3] = scale, sign
	binary.LittleEndian.PutUint32(v[4:8], hi32)
	return v
}

func TestRawVariantInt64(t *testing.T) {
	tests := []struct {
		name    string
		in      rawVariant
		want    int64
		wantErr bool
	}{
		{"empty", variant(vtEmpty, 0), 0, false},
		{"null", variant(vtNull, 0), 0, false},
		{"I4 negative", variant(vtI4, 0xFFFFFFFF), -1, false},
		{"I4 ignores upper bytes", variant(vtI4, 0xDEADBEEF_00000007), 7, false},
		{"UI4", variant(vtUI4, 0xFFFFFFFF), 0xFFFFFFFF, false},
		{"I2", variant(vtI2, 0xFFFE), -2, false},
		{"UI1", variant(vtUI1, 0xFF), 255, false},
		{"I8", variant(vtI8, math.MaxUint64), -1, false},
		{"UI8 overflow", variant(vtUI8, math.MaxUint64), 0, true},
		{"R8", variant(vtR8, math.Float64bits(86000000)), 86000000, false},
		{"R8 NaN", variant(vtR8, math.Float64bits(math.NaN())), 0, true},
		// MaxDownloadSize of the cumulative update in wua/testdata/updates.json.
		{"DECIMAL 4123456789", decimal(0, 0, 0, 4123456789), 4123456789, false},
		{"DECIMAL scaled truncates", decimal(2, 0, 0, 12345), 123, false},
		{"DECIMAL negative", decimal(0, 0x80, 0, 5), -5, false},
		{"DECIMAL Hi32 overflows", decimal(0, 0, 1, 0), 0, true},
		{"DECIMAL Hi32 scaled back into range", decimal(10, 0, 1, 0), 1844674407, false},
		{"DECIMAL bad scale", decimal(29, 0, 0, 1), 0, true},
		{"BSTR is not an integer", variant(0x8, 0), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.int64()
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("int64() = %d, %v; want %d, err %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestRawVariantBool(t *testing.T) {
	tests := []struct {
		name    string
		in      rawVariant
		want    bool
		wantErr bool
	}{
		{"VARIANT_TRUE", variant(vtBool, 0xFFFF), true, false},
		{"VARIANT_FALSE", variant(vtBool, 0), false, false},
		{"null", variant(vtNull, 0), false, false},
		{"I4", variant(vtI4, 1), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.bool()
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("bool() = %v, %v; want %v, err %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestRawVariantTime(t *testing.T) {
	date := func(f float64) rawVariant { return variant(vtDate, math.Float64bits(f)) }
	tests := []struct {
		name    string
		in      rawVariant
		want    time.Time
		wantErr bool
	}{
		// Values from MS "DATE type" examples and Excel serial dates.
		{"epoch", date(0), time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC), false},
		{"noon", date(45000.5), time.Date(2023, 3, 15, 12, 0, 0, 0, time.UTC), false},
		{"patch tuesday", date(46309), time.Date(2026, 10, 14, 0, 0, 0, 0, time.UTC), false},
		{"before epoch, fraction is absolute", date(-1.25), time.Date(1899, 12, 29, 6, 0, 0, 0, time.UTC), false},
		{"rounds to the second", date(2.0 + 0.4999999/86400), time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"empty", variant(vtEmpty, 0), time.Time{}, false},
		{"out of range", date(1e10), time.Time{}, true},
		{"NaN", date(math.NaN()), time.Time{}, true},
		{"not a date", variant(vtR8, 0), time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.time()
			if !got.Equal(tt.want) || (err != nil) != tt.wantErr {
				t.Errorf("time() = %v, %v; want %v, err %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestReportedHRESULT(t *testing.T) {
	tests := []struct {
		name      string
		hr, scode uint32
		want      uint32
	}{
		{"DISP_E_EXCEPTION carries the WU code", 0x80020009, 0x8024402C, 0x8024402C},
		{"exception with wCode only", 0x80020009, 0, 0x80020009},
		{"plain failure", 0x80070005, 0, 0x80070005},
	}
	for _, tt := range tests {
		if got := reportedHRESULT(tt.hr, tt.scode); got != tt.want {
			t.Errorf("%s: reportedHRESULT(0x%08X, 0x%08X) = 0x%08X, want 0x%08X", tt.name, tt.hr, tt.scode, got, tt.want)
		}
	}
}

func TestCoInitSucceeded(t *testing.T) {
	tests := map[uint32]bool{0: true, 1: true, 0x80010106: false} // S_OK, S_FALSE, RPC_E_CHANGED_MODE
	for hr, want := range tests {
		if got := coInitSucceeded(hr); got != want {
			t.Errorf("coInitSucceeded(0x%08X) = %v", hr, got)
		}
	}
}

// FuzzRawVariant checks that decoding arbitrary VARIANT bytes never panics
// and that a plain DECIMAL (scale 0, Hi32 0, positive) is its Lo64.
func FuzzRawVariant(f *testing.F) {
	f.Add([]byte{0x0e, 0, 0, 0, 0, 0, 0, 0, 0x15, 0xcd, 0x5b, 0x07, 0, 0, 0, 0})
	f.Add([]byte{0x07, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0xe6, 0x40})
	f.Fuzz(func(t *testing.T, b []byte) {
		var v rawVariant
		copy(v[:], b)
		_, _ = v.int64()
		_, _ = v.bool()
		_, _ = v.time()
		if v.vt() == vtDecimal && v[2] == 0 && v[3] == 0 && binary.LittleEndian.Uint32(v[4:8]) == 0 && v.val() <= math.MaxInt64 {
			if n, err := v.int64(); err != nil || uint64(n) != v.val() {
				t.Fatalf("DECIMAL %x = %d, %v; want %d", v, n, err, v.val())
			}
		}
	})
}
