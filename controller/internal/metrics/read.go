package metrics

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// raw is a sample copied out of a transaction, not yet decoded.
type raw struct {
	timeMS  int64
	seq     uint64
	metrics []byte
}

// Query returns the agent's samples taken in [from, to), oldest first, at
// most limit of them; truncated reports that more samples follow in the
// range (ask again from just after the last one). A range with from equal
// to to is empty. Samples older than the retention horizon may still be
// returned until Retain drops their day.
func (db *DB) Query(ctx context.Context, agentID string, from, to time.Time, limit int) (samples []Sample, truncated bool, err error) {
	if err := db.begin(ctx, "query metrics"); err != nil {
		return nil, false, err
	}
	switch err := checkAgentID(agentID); {
	case err != nil:
		return nil, false, fmt.Errorf("query metrics: agentID: %w", err)
	case limit <= 0:
		return nil, false, fmt.Errorf("query metrics: limit %d: must be positive: %w", limit, ErrInvalid)
	case to.Before(from):
		return nil, false, fmt.Errorf("query metrics: to %s is before from %s: %w", to.Format(time.RFC3339), from.Format(time.RFC3339), ErrInvalid)
	}
	fromMS := max(from.UnixMilli(), 0)
	toMS := min(to.UnixMilli(), maxTimeMS+1)
	if fromMS >= toMS {
		return nil, false, nil
	}

	var rows []raw
	err = db.bolt.View(func(tx *bolt.Tx) error {
		rows, truncated = scanRange(tx, agentID, fromMS, toMS, limit)
		return nil
	})
	if err != nil {
		return nil, false, txError("query metrics", err)
	}
	samples = make([]Sample, len(rows))
	for i, r := range rows {
		if samples[i], err = decode(agentID, r); err != nil {
			return nil, false, fmt.Errorf("query metrics: %w", err)
		}
	}
	return samples, truncated, nil
}

// scanRange copies up to limit samples of one agent in [fromMS, toMS) out
// of the day buckets, walking only the days that exist in the range.
func scanRange(tx *bolt.Tx, agentID string, fromMS, toMS int64, limit int) (rows []raw, truncated bool) {
	prefix := agentPrefix(agentID)
	start := sampleKey(agentID, fromMS, 0)
	lastDay := []byte(dayName(toMS - 1))
	days := tx.Cursor()
	for day, _ := days.Seek([]byte(dayName(fromMS))); day != nil && bytes.Compare(day, lastDay) <= 0; day, _ = days.Next() {
		if !isDay(day) {
			continue
		}
		b := tx.Bucket(day)
		if b == nil {
			continue
		}
		c := b.Cursor()
		for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			timeMS, seq, ok := parseSampleKey(prefix, k)
			switch {
			case !ok:
				continue
			case timeMS >= toMS:
				return rows, false
			case len(rows) == limit:
				return rows, true
			}
			rows = append(rows, raw{timeMS: timeMS, seq: seq, metrics: bytes.Clone(v)})
		}
	}
	return rows, false
}

// Latest returns the agent's newest sample, and false if it has none (or
// its newest is older than the retention horizon and Retain dropped it).
func (db *DB) Latest(ctx context.Context, agentID string) (Sample, bool, error) {
	if err := db.begin(ctx, "latest metrics"); err != nil {
		return Sample{}, false, err
	}
	if err := checkAgentID(agentID); err != nil {
		return Sample{}, false, fmt.Errorf("latest metrics: agentID: %w", err)
	}
	var value []byte
	err := db.bolt.View(func(tx *bolt.Tx) error {
		value = bytes.Clone(tx.Bucket(latestBucket).Get([]byte(agentID)))
		return nil
	})
	if err != nil {
		return Sample{}, false, txError("latest metrics", err)
	}
	if value == nil {
		return Sample{}, false, nil
	}
	timeMS, seq, metrics, ok := parseLatest(value)
	if !ok {
		return Sample{}, false, fmt.Errorf("latest metrics: agent %q: value of %d bytes: %w", agentID, len(value), ErrCorrupt)
	}
	s, err := decode(agentID, raw{timeMS: timeMS, seq: seq, metrics: metrics})
	if err != nil {
		return Sample{}, false, fmt.Errorf("latest metrics: %w", err)
	}
	return s, true, nil
}

// decode turns a copied row into a Sample.
func decode(agentID string, r raw) (Sample, error) {
	m := &agentv1.Metrics{}
	if err := proto.Unmarshal(r.metrics, m); err != nil {
		return Sample{}, fmt.Errorf("agent %q sample at %d seq %d: %w: %w", agentID, r.timeMS, r.seq, ErrCorrupt, err)
	}
	return Sample{AgentID: agentID, Seq: r.seq, TimeMS: r.timeMS, Metrics: m}, nil
}
