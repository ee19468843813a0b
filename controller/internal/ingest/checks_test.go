package ingest_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/ingest"
	"github.com/vigil-rmm/vigil/internal/logging"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// TestCheckResultsCommittedAndHandedOn: a check result moves the agent's
// committed sequence like any report and reaches the observers, unless it
// is stale (then it is committed only); a replay reaches nobody.
func TestCheckResultsCommittedAndHandedOn(t *testing.T) {
	r := newRig(t, 1)
	r.cancel()
	<-r.done
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var (
		mu   sync.Mutex
		seen []ingest.Applied
	)
	w := ingest.New(r.st, r.mdb, ingest.Options{Logger: logging.Discard(), Now: func() time.Time { return now },
		Observe: func(a []ingest.Applied) { mu.Lock(); seen = append(seen, a...); mu.Unlock() }})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	defer func() { stop(); <-done }()

	agent := r.agents[0]
	check := func(seq uint64, runID string, at time.Time) *agentv1.Report {
		return &agentv1.Report{Seq: seq, TimeUnixMs: at.UnixMilli(), Body: &agentv1.Report_Check{Check: &agentv1.CheckRunResult{
			RunId: runID, CheckId: "chk", Status: agentv1.CheckStatus_CHECK_STATUS_OK}}}
	}
	reps := []*agentv1.Report{
		check(1, "fresh", now.Add(-10*time.Second)),
		check(2, "stale", now.Add(-ingest.StaleCheckResult-time.Second)),
		metricsReport(3),
	}
	for _, round := range []string{"first", "replay"} {
		for _, ch := range submit(t, w, context.Background(), agent, reps) {
			if res := <-ch; res.err != nil {
				t.Fatalf("%s: %v", round, res.err)
			}
		}
	}
	if got := committedSeq(t, r.st, agent); got != 3 {
		t.Fatalf("committed seq %d, want 3", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0].AgentID != agent || seen[0].Check.GetRunId() != "fresh" || seen[0].Applied {
		t.Fatalf("observers saw %+v; want only the fresh result, once", seen)
	}
}
