package metrics

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
)

// record is a sample encoded for its day bucket.
type record struct {
	day    string
	key    []byte
	value  []byte
	sample *Sample
}

// Put stores samples in one transaction and one commit: all of them or,
// on error, none. It returns how many it stored.
//
// Storing is idempotent: a sample with the same AgentID, TimeMS and Seq as
// a stored one replaces it, so a resent report leaves no duplicates (and
// counts as stored again). Samples older than the retention horizon, or
// stamped more than Options.MaxSkew ahead of now, are skipped and not
// counted. A sample becomes its agent's latest only if it is newer (by
// TimeMS, then Seq) than the one there.
//
// Every sample is checked before anything is written: an empty or
// malformed AgentID or a nil Metrics fails the whole call with ErrInvalid,
// naming the sample and field.
func (db *DB) Put(ctx context.Context, samples []Sample) (stored int, err error) {
	if err := db.begin(ctx, "put metrics"); err != nil {
		return 0, err
	}
	if err := checkSamples(samples); err != nil {
		return 0, fmt.Errorf("put metrics: %w", err)
	}
	recs, err := db.encode(ctx, samples)
	if err != nil {
		return 0, fmt.Errorf("put metrics: %w", err)
	}
	if len(recs) == 0 {
		return 0, nil
	}
	if err := db.bolt.Update(func(tx *bolt.Tx) error { return writeRecords(tx, recs) }); err != nil {
		return 0, txError("put metrics", err)
	}
	return len(recs), nil
}

// checkSamples rejects the whole batch if any sample is malformed.
func checkSamples(samples []Sample) error {
	for i := range samples {
		s := &samples[i]
		if err := checkAgentID(s.AgentID); err != nil {
			return fmt.Errorf("samples[%d].AgentID: %w", i, err)
		}
		if s.Metrics == nil {
			return fmt.Errorf("samples[%d].Metrics (agent %q): missing: %w", i, s.AgentID, ErrInvalid)
		}
	}
	return nil
}

// encode marshals the samples inside the time window, outside any
// transaction, and sorts them by bucket and key so bbolt inserts in order.
func (db *DB) encode(ctx context.Context, samples []Sample) ([]record, error) {
	now := db.now()
	oldest := max(now.Add(-db.retention).UnixMilli(), 0)
	newest := min(now.Add(db.maxSkew).UnixMilli(), maxTimeMS)

	recs := make([]record, 0, len(samples))
	var tooOld, tooNew int
	var lastDayStart int64 = -1
	var lastDay string
	marshal := proto.MarshalOptions{Deterministic: true}
	for i := range samples {
		s := &samples[i]
		switch {
		case s.TimeMS < oldest:
			tooOld++
			continue
		case s.TimeMS > newest:
			tooNew++
			continue
		}
		value, err := marshal.Marshal(s.Metrics)
		if err != nil {
			return nil, fmt.Errorf("samples[%d].Metrics (agent %q): %w", i, s.AgentID, err)
		}
		if start := dayStartMS(s.TimeMS); start != lastDayStart {
			lastDayStart, lastDay = start, dayName(s.TimeMS)
		}
		recs = append(recs, record{
			day:    lastDay,
			key:    sampleKey(s.AgentID, s.TimeMS, s.Seq),
			value:  value,
			sample: s,
		})
	}
	if tooOld > 0 {
		db.log.DebugContext(ctx, "skipped samples older than retention", "count", tooOld, "retention", db.retention)
	}
	if tooNew > 0 {
		db.log.WarnContext(ctx, "skipped samples stamped in the future; check the agents' clocks",
			"count", tooNew, "max_skew", db.maxSkew)
	}
	slices.SortFunc(recs, func(a, b record) int {
		return cmp.Or(cmp.Compare(a.day, b.day), bytes.Compare(a.key, b.key))
	})
	return recs, nil
}

// dayFillPercent is how full bbolt packs a day bucket's pages when it
// splits them. Each agent's samples arrive in time order at the end of its
// key range, so the left half of a split is never written again: the
// default 0.5 would leave day buckets half empty.
const dayFillPercent = 0.9

// writeRecords puts recs (sorted) into their day buckets and moves each
// agent's latest sample forward.
func writeRecords(tx *bolt.Tx, recs []record) error {
	var b *bolt.Bucket
	for i := range recs {
		r := &recs[i]
		if b == nil || r.day != recs[i-1].day {
			var err error
			if b, err = tx.CreateBucketIfNotExists([]byte(r.day)); err != nil {
				return fmt.Errorf("bucket %s: %w", r.day, err)
			}
			b.FillPercent = dayFillPercent
		}
		if err := b.Put(r.key, r.value); err != nil {
			return fmt.Errorf("agent %q: %w", r.sample.AgentID, err)
		}
	}

	newest := map[string]*record{}
	for i := range recs {
		r := &recs[i]
		cur, ok := newest[r.sample.AgentID]
		if !ok || newer(r.sample.TimeMS, r.sample.Seq, cur.sample.TimeMS, cur.sample.Seq) {
			newest[r.sample.AgentID] = r
		}
	}
	latest := tx.Bucket(latestBucket)
	for _, agent := range slices.Sorted(maps.Keys(newest)) {
		r := newest[agent]
		old := latest.Get([]byte(agent))
		if oldMS, oldSeq, _, ok := parseLatest(old); ok && !newer(r.sample.TimeMS, r.sample.Seq, oldMS, oldSeq) {
			continue
		}
		if err := latest.Put([]byte(agent), latestValue(r.sample.TimeMS, r.sample.Seq, r.value)); err != nil {
			return fmt.Errorf("latest of agent %q: %w", agent, err)
		}
	}
	return nil
}
