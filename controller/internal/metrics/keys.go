package metrics

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

const (
	dayMS     = 24 * 60 * 60 * 1000
	dayLayout = "2006-01-02"
	// maxTimeMS is the last millisecond of year 9999: day names have four
	// year digits, so later days would not sort.
	maxTimeMS = 253402300799999
)

// dayName is the bucket of a sample time: its UTC day.
func dayName(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(dayLayout)
}

// dayStartMS is the first millisecond of ms's UTC day (ms >= 0).
func dayStartMS(ms int64) int64 { return ms - ms%dayMS }

// isDay reports whether a root bucket name is a day bucket.
func isDay(name []byte) bool {
	return len(name) == len(dayLayout) && name[4] == '-' && name[7] == '-' &&
		name[0] >= '0' && name[0] <= '9'
}

// checkAgentID reports what is wrong with an agent ID, if anything.
func checkAgentID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("empty: %w", ErrInvalid)
	case len(id) > MaxAgentIDLen:
		return fmt.Errorf("%d bytes, max %d: %w", len(id), MaxAgentIDLen, ErrInvalid)
	case strings.IndexByte(id, 0) >= 0:
		return fmt.Errorf("%q contains a 0x00 byte: %w", id, ErrInvalid)
	}
	return nil
}

// agentPrefix is the start of every key of the agent in a day bucket.
func agentPrefix(agentID string) []byte {
	p := make([]byte, 0, len(agentID)+1+16)
	p = append(p, agentID...)
	return append(p, 0)
}

// sampleKey is agentID 0x00 be64(timeMS) be64(seq).
func sampleKey(agentID string, timeMS int64, seq uint64) []byte {
	k := agentPrefix(agentID)
	k = binary.BigEndian.AppendUint64(k, uint64(timeMS))
	return binary.BigEndian.AppendUint64(k, seq)
}

// parseSampleKey returns the time and sequence of a key that starts with
// prefix.
func parseSampleKey(prefix, key []byte) (timeMS int64, seq uint64, ok bool) {
	rest := key[len(prefix):]
	if len(rest) != 16 {
		return 0, 0, false
	}
	return int64(binary.BigEndian.Uint64(rest)), binary.BigEndian.Uint64(rest[8:]), true
}

// latestValue is be64(timeMS) be64(seq) Metrics.
func latestValue(timeMS int64, seq uint64, metrics []byte) []byte {
	v := make([]byte, 0, 16+len(metrics))
	v = binary.BigEndian.AppendUint64(v, uint64(timeMS))
	v = binary.BigEndian.AppendUint64(v, seq)
	return append(v, metrics...)
}

// parseLatest splits a latest value.
func parseLatest(v []byte) (timeMS int64, seq uint64, metrics []byte, ok bool) {
	if len(v) < 16 {
		return 0, 0, nil, false
	}
	return int64(binary.BigEndian.Uint64(v)), binary.BigEndian.Uint64(v[8:]), v[16:], true
}

// newer reports whether sample (timeMS, seq) is newer than (oldMS, oldSeq).
func newer(timeMS int64, seq uint64, oldMS int64, oldSeq uint64) bool {
	return timeMS > oldMS || (timeMS == oldMS && seq > oldSeq)
}
