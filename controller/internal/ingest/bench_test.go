package ingest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/ingest"
	"github.com/vigil-rmm/vigil/controller/internal/metrics"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	"github.com/vigil-rmm/vigil/internal/logging"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

type rig struct {
	w      *ingest.Writer
	st     store.Store
	mdb    *metrics.DB
	agents []string
	cancel context.CancelFunc
	done   chan struct{}
}

func newRig(tb testing.TB, agents int) *rig {
	tb.Helper()
	dir := tb.TempDir()
	st, err := store.OpenBolt(filepath.Join(dir, "control.db"), store.BoltOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	if err := schema.Open(context.Background(), st); err != nil {
		tb.Fatal(err)
	}
	mdb, err := metrics.Open(filepath.Join(dir, "metrics.db"), metrics.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	r := &rig{st: st, mdb: mdb}
	err = st.Update(context.Background(), func(tx store.Tx) error {
		for i := 0; i < agents; i++ {
			id := fmt.Sprintf("ag-%016d", i)
			r.agents = append(r.agents, id)
			if err := schema.PutAgent(tx, &storev1.Agent{Id: id, Tenant: "t"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	r.w = ingest.New(st, mdb, ingest.Options{Logger: logging.Discard()})
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go func() { defer close(r.done); r.w.Run(ctx) }()
	tb.Cleanup(func() { r.cancel(); <-r.done; mdb.Close(); st.Close() })
	return r
}

func metricsReport(seq uint64) *agentv1.Report {
	return &agentv1.Report{Seq: seq, TimeUnixMs: time.Now().UnixMilli(), Body: &agentv1.Report_Metrics{Metrics: &agentv1.Metrics{
		CpuPercent: 12, MemTotal: 16 << 30, MemUsed: 5 << 30, Volumes: []*agentv1.Volume{
			{Mount: "/", Fstype: "ext4", Total: 100 << 30, Used: 40 << 30, Free: 55 << 30},
			{Mount: "/var", Fstype: "xfs", Total: 500 << 30, Used: 200 << 30, Free: 290 << 30}}}}}
}

// BenchmarkIngest measures committed reports per second through the whole
// ingest path (metrics file, control store, ack callback) with real fsync,
// with one goroutine per connected agent stream submitting and waiting for
// its ack before sending the next report, as a reconnecting backlog does.
func BenchmarkIngest(b *testing.B) {
	for _, streams := range []int{100, 1000} {
		b.Run(fmt.Sprintf("streams=%d", streams), func(b *testing.B) {
			r := newRig(b, streams)
			per := b.N/streams + 1
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for _, id := range r.agents {
				wg.Add(1)
				go func() {
					defer wg.Done()
					acked := make(chan error, 1)
					for seq := uint64(1); seq <= uint64(per); seq++ {
						err := r.w.Submit(context.Background(), ingest.Item{AgentID: id, Report: metricsReport(seq),
							Done: func(_ uint64, err error) { acked <- err }})
						if err == nil {
							err = <-acked
						}
						if err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(per*streams)/time.Since(start).Seconds(), "reports/s")
		})
	}
}

// BenchmarkIngestPipelined is the shape of a real backlog replay: each
// stream keeps up to window reports in flight (the agent link allows 256)
// and the writer commits whatever is queued in one transaction.
func BenchmarkIngestPipelined(b *testing.B) {
	const window = 64
	for _, streams := range []int{100, 1000} {
		b.Run(fmt.Sprintf("streams=%d", streams), func(b *testing.B) {
			r := newRig(b, streams)
			per := b.N/streams + 1
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for _, id := range r.agents {
				wg.Add(1)
				go func() {
					defer wg.Done()
					slots := make(chan struct{}, window)
					var inner sync.WaitGroup
					for seq := uint64(1); seq <= uint64(per); seq++ {
						slots <- struct{}{}
						inner.Add(1)
						err := r.w.Submit(context.Background(), ingest.Item{AgentID: id, Report: metricsReport(seq),
							Done: func(_ uint64, err error) {
								if err != nil {
									b.Error(err)
								}
								<-slots
								inner.Done()
							}})
						if err != nil {
							b.Error(err)
							return
						}
					}
					inner.Wait()
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(per*streams)/time.Since(start).Seconds(), "reports/s")
		})
	}
}
