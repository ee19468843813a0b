package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"weak"

	"github.com/vigil-rmm/vigil/controller/internal/ingest"
	"github.com/vigil-rmm/vigil/controller/internal/metrics"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	"github.com/vigil-rmm/vigil/internal/logging"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// flakySamples fails the next n Put calls, then stores for real.
type flakySamples struct {
	real *metrics.DB
	fail atomic.Int32
}

func (f *flakySamples) Put(ctx context.Context, s []metrics.Sample) (int, error) {
	if f.fail.Add(-1) >= 0 {
		return 0, errors.New("disk I/O error")
	}
	return f.real.Put(ctx, s)
}

type result struct {
	seq uint64
	err error
}

// submit queues reports without waiting, as a stream does.
func submit(t *testing.T, w *ingest.Writer, ctx context.Context, agent string, reps []*agentv1.Report) []chan result {
	t.Helper()
	var out []chan result
	for _, r := range reps {
		ch := make(chan result, 1)
		out = append(out, ch)
		if err := w.Submit(ctx, ingest.Item{Ctx: ctx, AgentID: agent, Report: r, Done: func(seq uint64, err error) { ch <- result{seq, err} }}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func committedSeq(t *testing.T, st store.Store, agent string) uint64 {
	t.Helper()
	var seq uint64
	_ = st.View(context.Background(), func(tx store.Tx) error {
		var err error
		seq, err = schema.CommittedSeq(tx, agent)
		return err
	})
	return seq
}

// TestFailedCommitLosesNothing: after a failed commit, later reports of the
// same stream must not commit (that would move the committed sequence past
// reports that were never stored and make the agent delete them).
func TestFailedCommitLosesNothing(t *testing.T) {
	r := newRig(t, 1)
	r.cancel()
	<-r.done
	flaky := &flakySamples{real: r.mdb}
	flaky.fail.Store(1)
	w := ingest.New(r.st, flaky, ingest.Options{Logger: logging.Discard(), MaxBatch: 2})
	agent := r.agents[0]

	// A stream whose context is cancelled by the first failure, as Connect does.
	sctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	var reps []*agentv1.Report
	for seq := uint64(1); seq <= 4; seq++ {
		reps = append(reps, metricsReport(seq))
	}
	var chans []chan result
	for _, rep := range reps {
		ch := make(chan result, 1)
		chans = append(chans, ch)
		_ = w.Submit(sctx, ingest.Item{Ctx: sctx, AgentID: agent, Report: rep, Done: func(seq uint64, err error) {
			if err != nil {
				cancel(err)
			}
			ch <- result{seq, err}
		}})
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	for i, ch := range chans {
		if res := <-ch; res.err == nil {
			t.Errorf("report %d committed (seq %d) after an earlier failure in its stream", i+1, res.seq)
		}
	}
	if got := committedSeq(t, r.st, agent); got != 0 {
		t.Fatalf("committed seq %d after a failed commit; the agent would drop reports 1-%d", got, got)
	}
	// The agent reconnects and resends everything: all of it commits.
	res := submit(t, w, context.Background(), agent, reps)
	for _, ch := range res {
		if r := <-ch; r.err != nil {
			t.Fatal(r.err)
		}
	}
	stop()
	<-done
	if got := committedSeq(t, r.st, agent); got != 4 {
		t.Fatalf("committed seq %d, want 4", got)
	}
	samples, _, _ := r.mdb.Query(context.Background(), agent, time.Unix(0, 0), time.Now().Add(time.Hour), 100)
	if len(samples) != 4 {
		t.Fatalf("%d samples stored, want 4", len(samples))
	}
}

func TestReplaysAndFacts(t *testing.T) {
	r := newRig(t, 1)
	agent := r.agents[0]
	facts := &agentv1.Report{Seq: 2, TimeUnixMs: time.Now().UnixMilli(), Body: &agentv1.Report_Facts{Facts: &agentv1.Facts{Hostname: "web-01", AgentVersion: "1.2"}}}
	status := &agentv1.Report{Seq: 3, TimeUnixMs: time.Now().UnixMilli(), Body: &agentv1.Report_Outbox{Outbox: &agentv1.OutboxStatus{DroppedMetrics: 7}}}
	reps := []*agentv1.Report{metricsReport(1), facts, status, metricsReport(4)}
	for _, ch := range submit(t, r.w, context.Background(), agent, reps) {
		if res := <-ch; res.err != nil {
			t.Fatal(res.err)
		}
	}
	// Replaying everything changes nothing: no double count, no duplicate.
	var last result
	for _, ch := range submit(t, r.w, context.Background(), agent, reps) {
		last = <-ch
	}
	if last.err != nil || last.seq != 4 {
		t.Fatalf("replay: %+v", last)
	}
	_ = r.st.View(context.Background(), func(tx store.Tx) error {
		a, err := schema.GetAgent(tx, agent)
		if err != nil {
			t.Fatal(err)
		}
		if a.GetHostname() != "web-01" || a.GetAgentVersion() != "1.2" || a.GetDroppedMetrics() != 7 || a.GetFactsSeq() != 2 {
			t.Fatalf("agent record %v", a)
		}
		return nil
	})
	samples, _, _ := r.mdb.Query(context.Background(), agent, time.Unix(0, 0), time.Now().Add(time.Hour), 100)
	if len(samples) != 2 {
		t.Fatalf("%d samples, want 2", len(samples))
	}
}

func TestRevokedAgentStoresNothing(t *testing.T) {
	r := newRig(t, 1)
	agent := r.agents[0]
	err := r.st.Update(context.Background(), func(tx store.Tx) error {
		a, err := schema.GetAgent(tx, agent)
		if err != nil {
			return err
		}
		a.Revoked = true
		return schema.PutAgent(tx, a)
	})
	if err != nil {
		t.Fatal(err)
	}
	res := <-submit(t, r.w, context.Background(), agent, []*agentv1.Report{metricsReport(1)})[0]
	if !errors.Is(res.err, ingest.ErrAgentGone) {
		t.Fatalf("got %+v, want ErrAgentGone", res)
	}
	samples, _, _ := r.mdb.Query(context.Background(), agent, time.Unix(0, 0), time.Now().Add(time.Hour), 100)
	if len(samples) != 0 || committedSeq(t, r.st, agent) != 0 {
		t.Fatal("a revoked agent's report was stored")
	}
}

// TestRecordTooLargeHurtsOnlyItsReport: a report that makes a stored record
// larger than the store takes (validation normally stops it first) costs
// only its own body: its sequence is committed, and the other agents'
// reports in the same batch are stored.
func TestRecordTooLargeHurtsOnlyItsReport(t *testing.T) {
	r := newRig(t, 2)
	big := &agentv1.PatchScan{Source: "apt", Status: agentv1.ScanStatus_SCAN_STATUS_OK, Hash: []byte("h")}
	for i := range 1200 {
		big.Pending = append(big.Pending, &agentv1.PendingUpdate{Id: fmt.Sprintf("p%05d", i), Title: strings.Repeat("t", 1000)})
	}
	ctx := context.Background()
	bad := submit(t, r.w, ctx, r.agents[0], []*agentv1.Report{
		{Seq: 1, TimeUnixMs: time.Now().UnixMilli(), Body: &agentv1.Report_Patches{Patches: big}}})
	good := submit(t, r.w, ctx, r.agents[1], []*agentv1.Report{metricsReport(1), metricsReport(2)})
	if res := <-bad[0]; res.err != nil || res.seq != 1 {
		t.Fatalf("oversized report: %+v, want its sequence committed", res)
	}
	for _, ch := range good {
		if res := <-ch; res.err != nil {
			t.Fatalf("the other agent's report failed: %v", res.err)
		}
	}
	if got := committedSeq(t, r.st, r.agents[1]); got != 2 {
		t.Fatalf("other agent committed %d, want 2", got)
	}
	_ = r.st.View(ctx, func(tx store.Tx) error {
		if _, err := schema.GetPatchRecord(tx, r.agents[0]); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the oversized scan was stored: %v", err)
		}
		return nil
	})
}

// TestCommittedReportsNotRetained: once a report is committed and acked,
// the writer holds no reference to it (its batch array is reused, and a
// slot left set kept the report, its stream's context and its callback
// alive).
func TestCommittedReportsNotRetained(t *testing.T) {
	r := newRig(t, 1)
	const n = 50
	ptrs := make([]weak.Pointer[agentv1.Report], n)
	done := make(chan struct{}, n)
	func() {
		for i := range n {
			rep := metricsReport(uint64(i + 1))
			ptrs[i] = weak.Make(rep)
			if err := r.w.Submit(context.Background(), ingest.Item{Ctx: context.Background(), AgentID: r.agents[0], Report: rep,
				Done: func(uint64, error) { done <- struct{}{} }}); err != nil {
				t.Fatal(err)
			}
		}
	}()
	for range n {
		<-done
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		kept := 0
		for _, p := range ptrs {
			if p.Value() != nil {
				kept++
			}
		}
		if kept == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d committed reports still referenced", kept, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
