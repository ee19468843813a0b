package main

import (
	"context"
	"sync"
	"time"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// memOutbox is an in-memory outbox with the real one's sequencing and ack
// semantics but no disk, for runs with more agents than the disk can
// sustain fsyncs for.
type memOutbox struct {
	mu      sync.Mutex
	next    uint64
	reports []*agentv1.Report
	notify  chan struct{}
}

func newMemOutbox() *memOutbox { return &memOutbox{next: 1, notify: make(chan struct{}, 1)} }

func (m *memOutbox) Append(_ context.Context, r *agentv1.Report) (uint64, error) {
	m.mu.Lock()
	r.Seq = m.next
	m.next++
	if r.TimeUnixMs == 0 {
		r.TimeUnixMs = time.Now().UnixMilli()
	}
	m.reports = append(m.reports, r)
	m.mu.Unlock()
	select {
	case m.notify <- struct{}{}:
	default:
	}
	return r.Seq, nil
}

func (m *memOutbox) Pending(_ context.Context, after uint64, limit int) ([]*agentv1.Report, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*agentv1.Report
	for _, r := range m.reports {
		if r.Seq > after {
			out = append(out, r)
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

func (m *memOutbox) Ack(_ context.Context, seq uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := 0
	for i < len(m.reports) && m.reports[i].Seq <= seq {
		i++
	}
	m.reports = append(m.reports[:0], m.reports[i:]...)
	return nil
}

func (m *memOutbox) Resume(ctx context.Context, committed uint64) error {
	m.mu.Lock()
	if m.next <= committed {
		m.next = committed + 1
	}
	m.mu.Unlock()
	return m.Ack(ctx, committed)
}

func (m *memOutbox) Notify() <-chan struct{} { return m.notify }

func (m *memOutbox) Close() error { return nil }
