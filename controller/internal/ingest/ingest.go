// Package ingest commits agent reports. One writer goroutine takes reports
// from every stream, commits them in batches (metric samples to the metrics
// database, then facts and each agent's committed sequence to the control
// store) and only then tells each stream which sequence it may acknowledge.
//
// Replays are harmless: a metric sample's key includes its sequence, so a
// re-sent sample overwrites itself, and facts, outbox status, state
// reports, task updates (controller/internal/tasks), plugin lists and
// check results (handed to observers, not stored here) are applied only
// when their sequence is above the agent's committed sequence, which
// moves in the same transaction.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/metrics"
	"github.com/vigil-rmm/vigil/controller/internal/patch"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	"github.com/vigil-rmm/vigil/controller/internal/tasks"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// SampleWriter stores metric samples idempotently in one commit.
type SampleWriter interface {
	Put(ctx context.Context, samples []metrics.Sample) (int, error)
}

// Item is one report from one agent.
type Item struct {
	// Ctx is the submitting stream's context. An item whose stream has
	// ended (in particular because an earlier commit of its reports
	// failed) is not committed: committing it would move the agent's
	// committed sequence past reports that were never stored.
	Ctx     context.Context
	AgentID string
	Report  *agentv1.Report
	// Done is called by the writer goroutine once the report is committed
	// (err nil; seq is the agent's committed sequence) or failed. It must
	// not block.
	Done func(seq uint64, err error)
}

// Applied is one state report (patches, reboot, inventory, digest) that a
// commit applied, or one check result it committed (Check set, Outcome
// zero).
type Applied struct {
	AgentID string
	patch.Outcome
	// Check is a network check's result from an agent that ran it as a
	// vantage point (Report.check), cleaned by the agent API. Nothing
	// stores it here: the one waiting for it (controller/internal/agentprobe)
	// does. Results older than StaleCheckResult are not handed on.
	Check *agentv1.CheckRunResult
}

// StaleCheckResult is the age (by the report's time) past which a check
// result is committed but not handed to observers: the run that asked for
// it has ended (an agent that was offline sends it after reconnecting).
const StaleCheckResult = 2 * time.Minute

// Options tune the writer.
type Options struct {
	// Observe, if set, is called by the writer goroutine after each commit
	// with the state reports it applied (to wake waiting rescans and ask
	// agents whose digest did not match for the full state). It must not
	// block.
	Observe func([]Applied)
	// Patch tunes how state reports are applied.
	Patch patch.Options
	// Queue is the number of reports waiting before Submit blocks.
	Queue int
	// MaxBatch caps the reports in one commit.
	MaxBatch int
	// MaxFuture is how far ahead of the controller's clock a sample's
	// timestamp may be before it is refused.
	MaxFuture time.Duration
	Now       func() time.Time
	Logger    *slog.Logger
}

// DefaultMaxFuture is how far ahead of the controller's clock a sample may
// be stamped. The server gives the metrics store the same limit, so the
// two checks agree; ingest's runs first and names the agent.
const DefaultMaxFuture = 10 * time.Minute

// ErrStopped is returned by Submit after the writer stopped.
var ErrStopped = errors.New("ingest: writer stopped")

// ErrAgentGone means the agent was revoked or deleted: its reports are
// not committed.
var ErrAgentGone = errors.New("ingest: agent revoked or unknown")

// Writer is the single ingest writer.
type Writer struct {
	stats   Stats
	opts    Options
	store   store.Store
	samples SampleWriter
	in      chan Item
	stopped chan struct{}
	logger  *slog.Logger
}

// New returns a writer; call Run to start it.
func New(s store.Store, samples SampleWriter, opts Options) *Writer {
	if opts.Queue <= 0 {
		opts.Queue = 8192
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 2000
	}
	if opts.MaxFuture <= 0 {
		opts.MaxFuture = DefaultMaxFuture
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Writer{opts: opts, store: s, samples: samples, in: make(chan Item, opts.Queue),
		stopped: make(chan struct{}), logger: opts.Logger.With("component", "ingest")}
}

// Submit queues one report. It blocks while the queue is full (the stream
// then stops reading, which is the backpressure an agent sees).
func (w *Writer) Submit(ctx context.Context, it Item) error {
	select {
	case w.in <- it:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-w.stopped:
		return ErrStopped
	}
}

// Run commits batches until ctx ends, then commits what is queued.
func (w *Writer) Run(ctx context.Context) {
	defer close(w.stopped)
	batch := make([]Item, 0, w.opts.MaxBatch)
	for {
		select {
		case it := <-w.in:
			batch = append(batch[:0], it)
		case <-ctx.Done():
			w.drain(batch[:0])
			return
		}
	fill:
		for len(batch) < w.opts.MaxBatch {
			select {
			case it := <-w.in:
				batch = append(batch, it)
			default:
				break fill
			}
		}
		w.commit(context.WithoutCancel(ctx), batch)
		// The array is reused: drop the committed items, or each slot
		// keeps its report (a full patch or inventory report is tens of
		// kilobytes), its stream's context and callback alive until a
		// later batch is as long. After the ramp of 10,000 agents that was
		// 25 MB of reports held for nothing.
		clear(batch)
	}
}

func (w *Writer) drain(batch []Item) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		select {
		case it := <-w.in:
			batch = append(batch, it)
			if len(batch) < w.opts.MaxBatch {
				continue
			}
		default:
		}
		if len(batch) == 0 {
			return
		}
		w.commit(ctx, batch)
		clear(batch)
		batch = batch[:0]
	}
}

func (w *Writer) commit(ctx context.Context, batch []Item) {
	live := batch[:0:0]
	for _, it := range batch {
		if it.Ctx != nil && it.Ctx.Err() != nil {
			it.Done(0, it.Ctx.Err())
			continue
		}
		live = append(live, it)
	}
	if len(live) == 0 {
		return
	}
	start := time.Now()
	committed, applied, err := w.apply(ctx, live)
	if errors.Is(err, store.ErrValueTooLarge) {
		// One report made a record too large for the store: a fault of
		// that report, not of the batch. Commit the others on their own,
		// and that one without its body (its sequence still moves, as for
		// an invalid report, so its agent is not wedged).
		if len(live) > 1 {
			for _, it := range live {
				w.commit(ctx, []Item{it})
			}
			return
		}
		it := live[0]
		w.logger.Warn("report too large to store; body dropped", "agent_id", it.AgentID, "seq", it.Report.GetSeq(),
			"kind", fmt.Sprintf("%T", it.Report.GetBody()), "err", err)
		it.Report = &agentv1.Report{Seq: it.Report.GetSeq(), TimeUnixMs: it.Report.GetTimeUnixMs()}
		live = []Item{it}
		committed, applied, err = w.apply(ctx, live)
	}
	w.stats.record(len(live), time.Since(start), err)
	if err == nil && len(applied) > 0 && w.opts.Observe != nil {
		w.opts.Observe(applied)
	}
	for _, it := range live {
		switch {
		case err != nil:
			it.Done(0, err)
		case committed[it.AgentID] == 0 && it.Report.GetSeq() > 0:
			it.Done(0, ErrAgentGone)
		default:
			it.Done(committed[it.AgentID], nil)
		}
	}
}

// apply commits a batch and returns each agent's committed sequence and the
// state reports it applied.
func (w *Writer) apply(ctx context.Context, batch []Item) (map[string]uint64, []Applied, error) {
	now := w.opts.Now()
	// Revoked or deleted agents get nothing stored, samples included.
	gone := map[string]bool{}
	err := w.store.View(ctx, func(tx store.Tx) error {
		for _, it := range batch {
			if _, seen := gone[it.AgentID]; seen {
				continue
			}
			rec, err := schema.GetAgent(tx, it.AgentID)
			switch {
			case errors.Is(err, store.ErrNotFound):
				gone[it.AgentID] = true
			case err != nil:
				return err
			default:
				gone[it.AgentID] = rec.GetRevoked()
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("ingest: read agents: %w", err)
	}
	var samples []metrics.Sample
	for _, it := range batch {
		m := it.Report.GetMetrics()
		if m == nil || gone[it.AgentID] {
			continue
		}
		ts := it.Report.GetTimeUnixMs()
		if ts > now.Add(w.opts.MaxFuture).UnixMilli() {
			w.logger.Warn("sample from the future dropped; check the agent's clock",
				"agent_id", it.AgentID, "seq", it.Report.GetSeq(), "sample_time", time.UnixMilli(ts).UTC())
			continue
		}
		samples = append(samples, metrics.Sample{AgentID: it.AgentID, Seq: it.Report.GetSeq(), TimeMS: ts, Metrics: m})
	}
	if len(samples) > 0 {
		if _, err := w.samples.Put(ctx, samples); err != nil {
			return nil, nil, fmt.Errorf("ingest: store samples: %w", err)
		}
	}
	committed := make(map[string]uint64)
	var applied []Applied
	err = w.store.Update(ctx, func(tx store.Tx) error {
		clear(committed)
		applied = applied[:0]
		agents := map[string]*agentState{}
		for _, it := range batch {
			st, err := loadState(tx, agents, it.AgentID)
			if err != nil {
				return err
			}
			if st == nil {
				continue // agent revoked or deleted: nothing to record
			}
			seq := it.Report.GetSeq()
			if seq <= st.seq {
				continue // replay of a committed report
			}
			switch b := it.Report.GetBody().(type) {
			case *agentv1.Report_Facts:
				st.rec.Facts = b.Facts
				st.rec.FactsSeq = seq
				if h := b.Facts.GetHostname(); h != "" {
					st.rec.Hostname = h
				}
				if v := b.Facts.GetAgentVersion(); v != "" {
					st.rec.AgentVersion = v
				}
				st.recDirty = true
			case *agentv1.Report_Outbox:
				st.rec.DroppedMetrics += b.Outbox.GetDroppedMetrics()
				st.recDirty = true
			case *agentv1.Report_Check:
				if w.freshCheck(it.AgentID, it.Report) {
					applied = append(applied, Applied{AgentID: it.AgentID, Check: b.Check})
				}
			default:
				out, ok, err := w.applyState(tx, it.AgentID, it.Report)
				if err != nil {
					return err
				}
				if ok {
					applied = append(applied, Applied{AgentID: it.AgentID, Outcome: out})
				}
			}
			st.seq = seq
			st.seqDirty = true
		}
		for id, st := range agents {
			if st == nil {
				continue
			}
			committed[id] = st.seq
			if st.recDirty {
				if err := schema.PutAgent(tx, st.rec); err != nil {
					return err
				}
			}
			if st.seqDirty {
				if err := schema.SetCommittedSeq(tx, id, st.seq); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("ingest: commit: %w", err)
	}
	return committed, applied, nil
}

// freshCheck reports whether a check result is recent enough to hand on.
func (w *Writer) freshCheck(agentID string, r *agentv1.Report) bool {
	age := w.opts.Now().Sub(time.UnixMilli(r.GetTimeUnixMs()))
	if age <= StaleCheckResult {
		return true
	}
	w.logger.Info("stale check result not handed on; is the agent's clock right?", "agent_id", agentID, "seq", r.GetSeq(),
		"run_id", r.GetCheck().GetRunId(), "age", age.Round(time.Second).String())
	return false
}

// applyState applies a state report; ok is false for other kinds.
func (w *Writer) applyState(tx store.Tx, agentID string, r *agentv1.Report) (out patch.Outcome, ok bool, err error) {
	ts, o := r.GetTimeUnixMs(), w.opts.Patch
	// Task updates and plugin lists are applied whatever the agent's
	// clock says: a task's outcome must not be lost to clock skew (its
	// transitions are stamped no later than the controller's clock).
	switch b := r.GetBody().(type) {
	case *agentv1.Report_Task:
		res, err := tasks.ApplyUpdate(tx, agentID, ts, b.Task, w.opts.Now())
		if err != nil {
			return out, false, fmt.Errorf("ingest: apply task update: %w", err)
		}
		if res.Ignored != "" {
			w.logger.Warn("task update ignored", "agent_id", agentID, "seq", r.GetSeq(), "why", res.Ignored)
		}
		return out, false, nil
	case *agentv1.Report_Plugins:
		if err := tasks.ApplyPlugins(tx, agentID, ts, b.Plugins); err != nil {
			return out, false, fmt.Errorf("ingest: apply plugin list: %w", err)
		}
		return out, false, nil
	}
	if r.GetMetrics() == nil && ts > w.opts.Now().Add(w.opts.MaxFuture).UnixMilli() {
		// A state report from the future would shadow every real one after
		// it (they would look out of order).
		w.logger.Warn("state report from the future dropped; check the agent's clock",
			"agent_id", agentID, "seq", r.GetSeq(), "report_time", time.UnixMilli(ts).UTC())
		return out, false, nil
	}
	switch b := r.GetBody().(type) {
	case *agentv1.Report_Patches:
		out, err = patch.ApplyPatchScan(tx, agentID, ts, r.GetSeq(), b.Patches, o)
	case *agentv1.Report_Reboot:
		out, err = patch.ApplyReboot(tx, agentID, ts, b.Reboot, o)
	case *agentv1.Report_Inventory:
		out, err = patch.ApplyInventory(tx, agentID, ts, b.Inventory, o)
	case *agentv1.Report_Digest:
		out, err = patch.ApplyDigest(tx, agentID, ts, b.Digest, o)
	default:
		return out, false, nil
	}
	if err != nil {
		return out, false, fmt.Errorf("ingest: apply %T: %w", r.GetBody(), err)
	}
	if out.HistoryDropped > 0 {
		w.logger.Warn("report changed more than the history keeps per report; the rest is not recorded",
			"agent_id", agentID, "seq", r.GetSeq(), "kind", out.Kind.String(), "dropped", out.HistoryDropped)
	}
	return out, true, nil
}

type agentState struct {
	rec      *storev1.Agent
	seq      uint64
	recDirty bool
	seqDirty bool
}

func loadState(tx store.Tx, agents map[string]*agentState, id string) (*agentState, error) {
	if st, ok := agents[id]; ok {
		return st, nil
	}
	rec, err := schema.GetAgent(tx, id)
	if errors.Is(err, store.ErrNotFound) {
		agents[id] = nil
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if rec.GetRevoked() {
		agents[id] = nil // nothing from a revoked identity is committed
		return nil, nil
	}
	seq, err := schema.CommittedSeq(tx, id)
	if err != nil {
		return nil, err
	}
	st := &agentState{rec: rec, seq: seq}
	agents[id] = st
	return st, nil
}

// Stats counts the writer's work, for the debug endpoint and benchmarks.
type Stats struct {
	Reports  atomic.Uint64 // reports committed
	Batches  atomic.Uint64 // commits
	Failures atomic.Uint64 // failed commits
	CommitNS atomic.Uint64 // total time spent committing
	MaxBatch atomic.Uint64 // largest batch so far
}

func (s *Stats) record(n int, d time.Duration, err error) {
	if err != nil {
		s.Failures.Add(1)
		return
	}
	s.Reports.Add(uint64(n))
	s.Batches.Add(1)
	s.CommitNS.Add(uint64(d))
	for {
		cur := s.MaxBatch.Load()
		if uint64(n) <= cur || s.MaxBatch.CompareAndSwap(cur, uint64(n)) {
			return
		}
	}
}

// Snapshot returns the counters as a map, for expvar.
func (w *Writer) Snapshot() map[string]uint64 {
	return map[string]uint64{
		"reports": w.stats.Reports.Load(), "batches": w.stats.Batches.Load(), "failures": w.stats.Failures.Load(),
		"commit_ns": w.stats.CommitNS.Load(), "max_batch": w.stats.MaxBatch.Load(), "queued": uint64(len(w.in)),
	}
}
