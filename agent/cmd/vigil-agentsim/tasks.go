package main

import (
	"context"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/internal/envelope"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	trustv1 "github.com/vigil-rmm/vigil/proto/vigil/trust/v1"
)

// CreatedParam is the task parameter in which the load driver puts the
// task's creation time (Unix milliseconds, taken just before CreateTask).
const CreatedParam = "created_unix_ms"

// With --trust-root, each simulated agent announces "tasks" and handles
// TaskOffer the way the agent's task runner starts one: envelope.Verify
// against the pinned root, its own agent id and tenant and the clock (the
// real cost: two Ed25519 verifications and the parsing), then it appends
// TaskUpdate ACCEPTED and at once SUCCEEDED to its outbox. No plugin runs
// and nothing is journaled: the simulator measures the control path
// (create, offer, verify, update, commit), not a runner.

// taskTimes are one task's instants, Unix milliseconds; zero when not
// reached.
type taskTimes struct {
	created, offered, done, stored int64
}

// taskStats are shared by every simulated agent.
type taskStats struct {
	refused    atomic.Int64 // offers that failed verification
	duplicates atomic.Int64 // offers of a task this agent already handled
	unparsed   atomic.Int64 // verified tasks without a usable created_unix_ms
	verifyNs   atomic.Int64 // total time in envelope.Verify

	mu    sync.Mutex
	tasks []taskTimes
}

func (s *taskStats) add(t taskTimes) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tasks = append(s.tasks, t)
	return len(s.tasks) - 1
}

func (s *taskStats) set(i int, f func(*taskTimes)) {
	s.mu.Lock()
	f(&s.tasks[i])
	s.mu.Unlock()
}

// taskAgent is one simulated agent's task handling.
type taskAgent struct {
	rootPin         []byte
	agentID, tenant string
	rec             *recorder
	st              *taskStats
	ctx             context.Context

	mu   sync.Mutex
	seen map[string]bool
}

// offer is link.Config.OnTask: it must not block the stream, so the work
// runs on its own goroutine (the real agent hands offers to its runner).
func (a *taskAgent) offer(o *agentv1.TaskOffer) {
	arrived := time.Now()
	go a.handle(o, arrived)
}

func (a *taskAgent) handle(o *agentv1.TaskOffer, arrived time.Time) {
	var signed trustv1.SignedTask
	t0 := time.Now()
	err := proto.Unmarshal(o.GetSignedTask(), &signed)
	var v *envelope.Verified
	if err == nil {
		v, err = envelope.Verify(&signed, envelope.Policy{RootPin: a.rootPin, AgentID: a.agentID, Tenant: a.tenant, Now: time.Now()})
	}
	a.st.verifyNs.Add(int64(time.Since(t0)))
	if err != nil {
		a.st.refused.Add(1)
		var peek trustv1.Task
		_ = proto.Unmarshal(signed.GetTask(), &peek)
		_, _ = a.rec.Append(a.ctx, &agentv1.Report{Body: &agentv1.Report_Task{Task: &agentv1.TaskUpdate{
			TaskId: peek.GetTaskId(), State: agentv1.TaskState_TASK_STATE_REFUSED, Reason: "signature: " + err.Error()}}})
		return
	}
	id := v.Task.GetTaskId()
	a.mu.Lock()
	dup := a.seen[id]
	a.seen[id] = true
	a.mu.Unlock()
	if dup {
		// Offered again after a reconnect: the real agent answers from its
		// journal; the simulator has already reported it.
		a.st.duplicates.Add(1)
		return
	}
	created, perr := strconv.ParseInt(v.Task.GetParameters()[CreatedParam], 10, 64)
	if perr != nil {
		a.st.unparsed.Add(1)
		created = 0
	}
	idx := a.st.add(taskTimes{created: created, offered: arrived.UnixMilli()})
	if _, err := a.rec.Append(a.ctx, &agentv1.Report{Body: &agentv1.Report_Task{Task: &agentv1.TaskUpdate{
		TaskId: id, State: agentv1.TaskState_TASK_STATE_ACCEPTED}}}); err != nil {
		return
	}
	done := &agentv1.Report{Body: &agentv1.Report_Task{Task: &agentv1.TaskUpdate{
		TaskId: id, State: agentv1.TaskState_TASK_STATE_SUCCEEDED, ProgressPercent: 100,
		Result: &agentv1.TaskResult{Ok: true, Summary: "simulated: no plugin run"}}}}
	_, _ = a.rec.appendTracked(a.ctx, done, func(appended time.Time) {
		a.st.set(idx, func(t *taskTimes) { t.done = appended.UnixMilli() })
	}, func(acked time.Time) {
		a.st.set(idx, func(t *taskTimes) { t.stored = acked.UnixMilli() })
	})
}

// TaskSummary is the report's "tasks" section. Latencies run from the
// task's creation (CreatedParam) to: the offer's arrival on the agent
// (offer), the append of SUCCEEDED to the agent's outbox (done), and the
// controller's ack of that report, sent after it is committed (stored).
type TaskSummary struct {
	Count      int   `json:"count"`
	Refused    int64 `json:"refused"`
	Duplicates int64 `json:"duplicate_offers"`
	Unparsed   int64 `json:"without_created_param"`
	// VerifyMeanUS is the mean time of envelope.Verify per offer.
	VerifyMeanUS      float64      `json:"verify_mean_us"`
	OfferLatencyMS    TaskQuantile `json:"offer_latency_ms"`
	DoneLatencyMS     TaskQuantile `json:"done_latency_ms"`
	StoredLatencyMS   TaskQuantile `json:"stored_latency_ms"`
	FirstCreatedMs    int64        `json:"first_created_unix_ms"`
	LastOfferMs       int64        `json:"last_offer_unix_ms"`
	LastDoneMs        int64        `json:"last_done_unix_ms"`
	LastStoredMs      int64        `json:"last_stored_unix_ms"`
	NotStoredByTheEnd int          `json:"not_stored_by_end"`
}

// TaskQuantile summarises task latencies in milliseconds.
type TaskQuantile struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

func taskQuantile(ms []int64) TaskQuantile {
	if len(ms) == 0 {
		return TaskQuantile{}
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i] < ms[j] })
	q := func(p float64) float64 { return float64(ms[min(len(ms)-1, int(p*float64(len(ms))))]) }
	return TaskQuantile{Count: len(ms), P50: q(0.50), P95: q(0.95), P99: q(0.99), Max: float64(ms[len(ms)-1])}
}

func (s *taskStats) summary() *TaskSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &TaskSummary{Count: len(s.tasks), Refused: s.refused.Load(), Duplicates: s.duplicates.Load(), Unparsed: s.unparsed.Load()}
	if n := int64(len(s.tasks)) + out.Refused; n > 0 {
		out.VerifyMeanUS = float64(s.verifyNs.Load()) / float64(n) / 1000
	}
	var offer, done, stored []int64
	for _, t := range s.tasks {
		out.LastOfferMs = max(out.LastOfferMs, t.offered)
		out.LastDoneMs = max(out.LastDoneMs, t.done)
		out.LastStoredMs = max(out.LastStoredMs, t.stored)
		if t.stored == 0 {
			out.NotStoredByTheEnd++
		}
		if t.created == 0 {
			continue
		}
		if out.FirstCreatedMs == 0 || t.created < out.FirstCreatedMs {
			out.FirstCreatedMs = t.created
		}
		offer = append(offer, t.offered-t.created)
		if t.done != 0 {
			done = append(done, t.done-t.created)
		}
		if t.stored != 0 {
			stored = append(stored, t.stored-t.created)
		}
	}
	out.OfferLatencyMS, out.DoneLatencyMS, out.StoredLatencyMS = taskQuantile(offer), taskQuantile(done), taskQuantile(stored)
	return out
}
