package windowsupdate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"time"
)

// rawVariant is the first 16 bytes of an OLE VARIANT: vt (uint16), three
// reserved uint16s, then the 8-byte value. A VT_DECIMAL overlays all 16
// bytes (its wReserved shares the vt field). The layout is the same on
// 386, amd64 and arm64 (oaidl.h; go-ole variant_*.go). search_windows.go
// copies these bytes out of an *ole.VARIANT; decoding them here keeps the
// logic portable.
type rawVariant [16]byte

// VARTYPE values read here (wtypes.h).
const (
	vtEmpty   = 0x0
	vtNull    = 0x1
	vtI2      = 0x2
	vtI4      = 0x3
	vtR4      = 0x4
	vtR8      = 0x5
	vtDate    = 0x7
	vtBool    = 0xb
	vtDecimal = 0xe
	vtI1      = 0x10
	vtUI1     = 0x11
	vtUI2     = 0x12
	vtUI4     = 0x13
	vtI8      = 0x14
	vtUI8     = 0x15
	vtInt     = 0x16
	vtUint    = 0x17
)

var errVariantType = errors.New("unexpected VARIANT type")

func (v rawVariant) vt() uint16   { return binary.LittleEndian.Uint16(v[0:2]) }
func (v rawVariant) val() uint64  { return binary.LittleEndian.Uint64(v[8:16]) }
func (v rawVariant) f64() float64 { return math.Float64frombits(v.val()) }

// int64 decodes an integer-valued VARIANT. MaxDownloadSize is a DECIMAL
// (IUpdate::get_MaxDownloadSize returns DECIMAL*; MS wuapi.h), which go-ole's
// VARIANT.Value does not decode, so it is read from the raw bytes. EMPTY and
// NULL are zero.
func (v rawVariant) int64() (int64, error) {
	switch v.vt() {
	case vtEmpty, vtNull:
		return 0, nil
	case vtI1:
		return int64(int8(v[8])), nil
	case vtUI1:
		return int64(v[8]), nil
	case vtI2:
		return int64(int16(binary.LittleEndian.Uint16(v[8:10]))), nil
	case vtUI2:
		return int64(binary.LittleEndian.Uint16(v[8:10])), nil
	case vtI4, vtInt:
		return int64(int32(binary.LittleEndian.Uint32(v[8:12]))), nil
	case vtUI4, vtUint:
		return int64(binary.LittleEndian.Uint32(v[8:12])), nil
	case vtI8:
		return int64(v.val()), nil
	case vtUI8:
		if v.val() > math.MaxInt64 {
			return 0, fmt.Errorf("VT_UI8 %d overflows int64", v.val())
		}
		return int64(v.val()), nil
	case vtR8:
		f := v.f64()
		if math.IsNaN(f) || f < math.MinInt64 || f >= math.MaxInt64 {
			return 0, fmt.Errorf("VT_R8 %v out of int64 range", f)
		}
		return int64(f), nil
	case vtDecimal:
		return v.decimal()
	}
	return 0, fmt.Errorf("%w 0x%x for an integer", errVariantType, v.vt())
}

// decimal decodes a DECIMAL (wtypes.h): wReserved uint16, scale byte, sign
// byte (0x80 negative), Hi32 uint32, Lo64 uint64; the value is
// ±(Hi32<<64 | Lo64) / 10^scale, truncated towards zero here.
func (v rawVariant) decimal() (int64, error) {
	scale, sign := v[2], v[3]
	if scale > 28 {
		return 0, fmt.Errorf("DECIMAL scale %d > 28", scale)
	}
	n := new(big.Int).SetUint64(uint64(binary.LittleEndian.Uint32(v[4:8])))
	n.Lsh(n, 64)
	n.Or(n, new(big.Int).SetUint64(v.val()))
	if scale > 0 {
		n.Quo(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
	}
	if sign&0x80 != 0 {
		n.Neg(n)
	}
	if !n.IsInt64() {
		return 0, fmt.Errorf("DECIMAL %s overflows int64", n)
	}
	return n.Int64(), nil
}

// bool decodes a VT_BOOL (VARIANT_TRUE is -1, VARIANT_FALSE 0). EMPTY and
// NULL are false.
func (v rawVariant) bool() (bool, error) {
	switch v.vt() {
	case vtEmpty, vtNull:
		return false, nil
	case vtBool:
		return binary.LittleEndian.Uint16(v[8:10]) != 0, nil
	}
	return false, fmt.Errorf("%w 0x%x for a bool", errVariantType, v.vt())
}

// oleEpoch is day zero of an OLE Automation DATE.
var oleEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

// time decodes a VT_DATE: days since 1899-12-30 as a float64 whose
// fraction is the time of day, taken as an absolute value for dates before
// the epoch (MS "DATE type", VariantTimeToSystemTime). WUA's dates carry no
// zone; they are read as UTC. The result is rounded to the second, as
// VariantTimeToSystemTime does. EMPTY and NULL are the zero time.
func (v rawVariant) time() (time.Time, error) {
	switch v.vt() {
	case vtEmpty, vtNull:
		return time.Time{}, nil
	case vtDate:
		return oleDate(v.f64())
	}
	return time.Time{}, fmt.Errorf("%w 0x%x for a date", errVariantType, v.vt())
}

// oleDate converts an OLE Automation date. The valid range is the one
// VariantTimeToSystemTime accepts: years 100 to 9999.
func oleDate(d float64) (time.Time, error) {
	const minDate, maxDate = -657434.0, 2958466.0 // 0100-01-01, 9999-12-31 (+1 day)
	if math.IsNaN(d) || d < minDate || d >= maxDate {
		return time.Time{}, fmt.Errorf("DATE %v out of range", d)
	}
	days, frac := math.Modf(d)
	secs := math.Round(math.Abs(frac) * 86400)
	return oleEpoch.AddDate(0, 0, int(days)).Add(time.Duration(secs) * time.Second), nil
}
