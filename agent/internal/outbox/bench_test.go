package outbox

import (
	"context"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

func benchReport(i int) *agentv1.Report {
	return &agentv1.Report{Body: &agentv1.Report_Metrics{Metrics: &agentv1.Metrics{
		CpuPercent: float32(i % 100), Load1: 0.5, Load5: 0.4, Load15: 0.3,
		MemTotal: 8 << 30, MemUsed: uint64(i) << 20, MemAvailable: 4 << 30,
		UptimeSeconds: uint64(i) * 60,
		Volumes: []*agentv1.Volume{
			{Mount: "/", Fstype: "ext4", Total: 100 << 30, Used: 40 << 30, Free: 60 << 30},
			{Mount: "/var", Fstype: "xfs", Total: 200 << 30, Used: 80 << 30, Free: 120 << 30},
		},
	}}}
}

// fill appends n reports in one transaction: setup for benchmarks only.
func fill(b *testing.B, o *Outbox, n int) {
	b.Helper()
	err := o.update(context.Background(), "fill", func(tx *bolt.Tx) error {
		s := schemaOf(tx)
		for i := range n {
			if _, _, err := o.appendTx(s, benchReport(i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

func benchOutbox(b *testing.B) *Outbox {
	b.Helper()
	o, err := Open(filepath.Join(b.TempDir(), "outbox.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = o.Close() })
	return o
}

// BenchmarkAppend measures one committed (fsync'd) append: into an empty
// outbox, and into a full one where each append also drops the oldest metric.
func BenchmarkAppend(b *testing.B) {
	for _, bc := range []struct {
		name    string
		prefill int
	}{
		{name: "empty", prefill: 0},
		{name: "full", prefill: DefaultMaxReports},
	} {
		b.Run(bc.name, func(b *testing.B) {
			o := benchOutbox(b)
			fill(b, o, bc.prefill)
			ctx := context.Background()
			i := 0
			for b.Loop() {
				if _, err := o.Append(ctx, benchReport(i)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkPendingAck measures the link's loop: read a batch of 100 pending
// reports, then acknowledge them (one commit).
func BenchmarkPendingAck(b *testing.B) {
	const batch = 100
	o := benchOutbox(b)
	ctx := context.Background()
	var after uint64
	for i := 0; i < b.N; i++ {
		if i%(DefaultMaxReports/batch) == 0 {
			b.StopTimer()
			fill(b, o, DefaultMaxReports)
			b.StartTimer()
		}
		rs, err := o.Pending(ctx, after, batch)
		if err != nil || len(rs) != batch {
			b.Fatalf("Pending: %d reports, %v", len(rs), err)
		}
		after = rs[len(rs)-1].GetSeq()
		if err := o.Ack(ctx, after); err != nil {
			b.Fatal(err)
		}
	}
}
