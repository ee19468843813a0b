package outbox

import (
	"context"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// Append assigns r the next sequence number, sets r.TimeUnixMs to now if it
// is zero, and commits r. If that takes the outbox past MaxReports, the
// oldest metric reports — possibly r itself — are dropped in the same
// transaction and counted. It returns r's sequence number.
func (o *Outbox) Append(ctx context.Context, r *agentv1.Report) (uint64, error) {
	if r == nil || r.GetBody() == nil {
		return 0, fmt.Errorf("outbox: append: %w", ErrNoBody)
	}
	prevSeq, prevTime := r.Seq, r.TimeUnixMs
	var seq uint64
	var drops dropResult
	err := o.update(ctx, "append", func(tx *bolt.Tx) error {
		var err error
		seq, drops, err = o.appendTx(schemaOf(tx), r)
		return err
	})
	if err != nil {
		r.Seq, r.TimeUnixMs = prevSeq, prevTime
		return 0, err
	}
	o.logDrops(ctx, drops)
	o.signal()
	return seq, nil
}

// AppendStatus appends an OutboxStatus report carrying the unreported drop
// count and resets that count, if there are unreported drops and no earlier
// OutboxStatus report is still pending. So at most one status report waits
// in the outbox however long the controller is away. It reports whether it
// appended.
func (o *Outbox) AppendStatus(ctx context.Context) (bool, error) {
	var appended bool
	var drops dropResult
	err := o.update(ctx, "append status", func(tx *bolt.Tx) error {
		appended, drops = false, dropResult{}
		s := schemaOf(tx)
		if s.get(keyUnreportedDrops) == 0 || s.get(keyStatusSeq) > s.get(keyAckedSeq) {
			return errNoop
		}
		// Make room first, so drops caused by this report are counted in it.
		var err error
		if drops, err = o.dropMetrics(s, o.max-1); err != nil {
			return err
		}
		r := &agentv1.Report{Body: &agentv1.Report_Outbox{Outbox: &agentv1.OutboxStatus{
			DroppedMetrics: s.get(keyUnreportedDrops),
			Pending:        s.get(keyPendingCount),
		}}}
		// With room made, appendTx drops nothing more: either the report
		// fits, or only state changes are pending and none can be dropped.
		if _, _, err := o.appendTx(s, r); err != nil {
			return err
		}
		appended = true
		return s.put(keyUnreportedDrops, 0)
	})
	if err != nil {
		return false, err
	}
	o.logDrops(ctx, drops)
	if appended {
		o.signal()
	}
	return appended, nil
}

// dropResult says what one transaction dropped, for logging after commit.
type dropResult struct {
	dropped      uint64 // metric reports dropped by this transaction
	unreported   uint64 // unreported drops before this transaction
	firstDropped uint64
	lastDropped  uint64
}

// appendTx stores r under the next sequence number and enforces the bound.
func (o *Outbox) appendTx(s schema, r *agentv1.Report) (uint64, dropResult, error) {
	seq := s.get(keyLastSeq) + 1
	r.Seq = seq
	if r.TimeUnixMs == 0 {
		r.TimeUnixMs = o.now().UnixMilli()
	}
	val, err := proto.MarshalOptions{Deterministic: true}.Marshal(r)
	if err != nil {
		return 0, dropResult{}, fmt.Errorf("marshal report: %w", err)
	}
	key := seqKey(seq)
	if err := s.reports.Put(key, val); err != nil {
		return 0, dropResult{}, err
	}
	if r.GetMetrics() != nil {
		if err := s.metrics.Put(key, []byte{}); err != nil {
			return 0, dropResult{}, err
		}
	}
	if err := s.put(keyLastSeq, seq); err != nil {
		return 0, dropResult{}, err
	}
	if err := s.add(keyPendingCount, 1); err != nil {
		return 0, dropResult{}, err
	}
	drops, err := o.dropMetrics(s, o.max)
	if err != nil {
		return 0, dropResult{}, err
	}
	if r.GetOutbox() != nil {
		if err := s.put(keyStatusSeq, seq); err != nil {
			return 0, dropResult{}, err
		}
	}
	return seq, drops, nil
}

// dropMetrics deletes the oldest metric reports until at most bound are
// pending or no metric report is left, and counts them.
func (o *Outbox) dropMetrics(s schema, bound int) (dropResult, error) {
	d := dropResult{unreported: s.get(keyUnreportedDrops)}
	pending := s.get(keyPendingCount)
	excess := int64(pending) - int64(bound)
	if excess <= 0 {
		return d, nil
	}
	// Collect first: deleting under a moving cursor can skip keys.
	var victims [][]byte
	c := s.metrics.Cursor()
	for k, _ := c.First(); k != nil && int64(len(victims)) < excess; k, _ = c.Next() {
		victims = append(victims, append([]byte(nil), k...))
	}
	for _, k := range victims {
		if err := s.reports.Delete(k); err != nil {
			return d, err
		}
		if err := s.metrics.Delete(k); err != nil {
			return d, err
		}
	}
	n := uint64(len(victims))
	if n == 0 {
		return d, nil
	}
	d.dropped = n
	d.firstDropped, d.lastDropped = keySeq(victims[0]), keySeq(victims[n-1])
	for _, kv := range []struct {
		key   []byte
		delta uint64
	}{{keyUnreportedDrops, n}, {keyDroppedTotal, n}} {
		if err := s.add(kv.key, kv.delta); err != nil {
			return d, err
		}
	}
	return d, s.put(keyPendingCount, pending-n)
}

func (o *Outbox) logDrops(ctx context.Context, d dropResult) {
	if d.dropped == 0 {
		return
	}
	args := []any{"dropped", d.dropped, "first_seq", d.firstDropped, "last_seq", d.lastDropped, "max_reports", o.max}
	if d.unreported == 0 {
		// The first drop since the last status report; the rest of an
		// outage logs at debug to keep the log readable.
		o.log.WarnContext(ctx, "outbox full, dropping oldest metric reports", args...)
		return
	}
	o.log.DebugContext(ctx, "outbox full, dropped oldest metric reports", args...)
}

// Pending returns up to limit reports with a sequence number above after,
// oldest first. The reports are the caller's to keep.
func (o *Outbox) Pending(ctx context.Context, after uint64, limit int) ([]*agentv1.Report, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("outbox: pending: limit %d: must be positive", limit)
	}
	if after == math.MaxUint64 {
		return nil, nil
	}
	var out []*agentv1.Report
	err := o.view(ctx, "pending", func(tx *bolt.Tx) error {
		c := schemaOf(tx).reports.Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			r := new(agentv1.Report)
			// proto.Unmarshal copies: nothing in r aliases v, which is only
			// valid inside this transaction.
			if err := proto.Unmarshal(v, r); err != nil {
				return fmt.Errorf("report %d: %w", keySeq(k), err)
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Ack deletes every report with a sequence number up to and including seq:
// the controller committed them. Acks are cumulative; an old ack is a no-op.
func (o *Outbox) Ack(ctx context.Context, seq uint64) error {
	res, err := o.ack(ctx, "ack", seq)
	if err != nil {
		return err
	}
	if res.bumped {
		o.log.WarnContext(ctx, "controller acknowledged a sequence this outbox never assigned; numbering continues after it",
			"acked_seq", seq, "last_seq", res.bumpedFrom)
	}
	return nil
}

// Resume takes the controller's committed sequence from Welcome: it acks
// everything up to committed and, if the controller has committed numbers
// this outbox has not assigned yet (the agent's state was restored from an
// older copy), moves the numbering past committed so new reports are not
// dropped as duplicates.
func (o *Outbox) Resume(ctx context.Context, committed uint64) error {
	res, err := o.ack(ctx, "resume", committed)
	if err != nil {
		return err
	}
	if res.bumped {
		o.log.WarnContext(ctx, "controller committed sequences this outbox never assigned (state restored from an older copy?); numbering continues after them",
			"committed_seq", committed, "last_seq", res.bumpedFrom, "deleted", res.deleted)
	}
	return nil
}

type ackResult struct {
	deleted    int
	bumped     bool
	bumpedFrom uint64
}

func (o *Outbox) ack(ctx context.Context, op string, seq uint64) (ackResult, error) {
	var res ackResult
	err := o.update(ctx, op, func(tx *bolt.Tx) error {
		res = ackResult{}
		s := schemaOf(tx)
		acked := s.get(keyAckedSeq)
		// Collect first: deleting under a moving cursor can skip keys.
		var keys [][]byte
		c := s.reports.Cursor()
		for k, _ := c.First(); k != nil && keySeq(k) <= seq; k, _ = c.Next() {
			keys = append(keys, append([]byte(nil), k...))
		}
		if len(keys) == 0 && seq <= acked {
			return errNoop
		}
		for _, k := range keys {
			if err := s.reports.Delete(k); err != nil {
				return err
			}
			if err := s.metrics.Delete(k); err != nil {
				return err
			}
		}
		res.deleted = len(keys)
		if err := s.put(keyPendingCount, s.get(keyPendingCount)-uint64(len(keys))); err != nil {
			return err
		}
		if seq > acked {
			if err := s.put(keyAckedSeq, seq); err != nil {
				return err
			}
		}
		if last := s.get(keyLastSeq); last < seq {
			res.bumped, res.bumpedFrom = true, last
			return s.put(keyLastSeq, seq)
		}
		return nil
	})
	return res, err
}
