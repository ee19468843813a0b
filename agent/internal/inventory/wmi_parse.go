package inventory

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

var errWMIDateTime = errors.New("not a CIM_DATETIME")

// wmiDateTime parses a CIM_DATETIME, "yyyymmddHHMMSS.mmmmmmsUUU" where sUUU
// is the offset from UTC in minutes ("20231015120000.000000+060"; MS "CIM_DATETIME",
// https://learn.microsoft.com/windows/win32/wmisdk/cim-datetime). Fields
// WMI leaves unknown are asterisks; such a value, an interval (":000") or
// any other shape is an error.
func wmiDateTime(s string) (time.Time, error) {
	if len(s) != 25 || s[14] != '.' || (s[21] != '+' && s[21] != '-') {
		return time.Time{}, fmt.Errorf("%q: %w", s, errWMIDateTime)
	}
	t, err := time.Parse("20060102150405", s[:14])
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: %w", s, errWMIDateTime)
	}
	micros, err1 := strconv.ParseUint(s[15:21], 10, 32)
	offset, err2 := strconv.ParseUint(s[22:25], 10, 32)
	if err1 != nil || err2 != nil || offset > 14*60 {
		return time.Time{}, fmt.Errorf("%q: %w", s, errWMIDateTime)
	}
	secs := int(offset) * 60
	if s[21] == '-' {
		secs = -secs
	}
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(),
		int(micros)*1000, time.FixedZone("", secs)), nil
}

// wmiUnix is wmiDateTime as Unix seconds, zero when s does not parse.
func wmiUnix(s string) int64 {
	t, err := wmiDateTime(s)
	if err != nil {
		return 0
	}
	return t.Unix()
}
