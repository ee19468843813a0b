package tasks_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/controller/controllertest"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	"github.com/vigil-rmm/vigil/controller/internal/tasks"
	"github.com/vigil-rmm/vigil/internal/logging"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	trustv1 "github.com/vigil-rmm/vigil/proto/vigil/trust/v1"
)

// offeredIDs returns the task ids of the offers in ms.
func offeredIDs(t *testing.T, ms []*agentv1.ControllerMessage) []string {
	t.Helper()
	var ids []string
	for _, m := range ms {
		if m.GetTask() == nil {
			continue
		}
		var st trustv1.SignedTask
		var tk trustv1.Task
		if err := proto.Unmarshal(m.GetTask().GetSignedTask(), &st); err != nil {
			t.Fatal(err)
		}
		if err := proto.Unmarshal(st.GetTask(), &tk); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tk.GetTaskId())
	}
	return ids
}

func TestDispatch(t *testing.T) {
	r := newRig(t)
	now, _ := r.mustCreate(agentA, "acme", "script", false)
	later := r.alice.Sign(t, controllertest.NewTask(agentA, "acme", "script", r.now.Add(10*time.Minute), false))
	laterRec, err := r.create(later, "alice")
	if err != nil {
		t.Fatal(err)
	}
	proposed, _ := r.mustCreate(agentA, "acme", "reboot", true)

	// Offline: nothing happens.
	r.tick()
	if got := r.get(now.GetId()); state(got) != tasks.Scheduled {
		t.Fatalf("offline agent: %v", got)
	}
	// Online without the capability (an older agent): nothing either.
	old, detach := r.online(agentA, bootA, "metrics")
	r.tick()
	detach()
	if ms := received(old); len(ms) != 0 || state(r.get(now.GetId())) != tasks.Scheduled {
		t.Fatalf("agent without the tasks capability got %v", ms)
	}

	out, detach := r.online(agentA, bootA, "metrics", tasks.Capability)
	r.tick()
	if ids := offeredIDs(t, received(out)); len(ids) != 1 || ids[0] != now.GetId() {
		t.Fatalf("offered %v, want only the task due now", ids)
	}
	got := r.get(now.GetId())
	if state(got) != tasks.Dispatched || got.GetTransitions()[1].GetActor() != tasks.ActorController {
		t.Fatalf("after the offer: %v", got)
	}
	if state(r.get(proposed.GetId())) != tasks.Proposed {
		t.Fatal("a proposed task moved")
	}
	// Not offered twice on the same stream.
	r.tick()
	if ms := received(out); len(ms) != 0 {
		t.Fatalf("offered again without a reconnect: %v", offeredIDs(t, ms))
	}
	// Its not_before comes (less the offer lead).
	r.now = r.now.Add(10*time.Minute - time.Second)
	r.tick()
	if ids := offeredIDs(t, received(out)); len(ids) != 1 || ids[0] != laterRec.GetId() {
		t.Fatalf("at not_before offered %v", ids)
	}
	detach()

	// A reconnect offers every dispatched task again; one accepted is not.
	r.apply(agentA, upd(laterRec.GetId(), aAccepted))
	out, detach = r.online(agentA, bootA, tasks.Capability)
	defer detach()
	r.tick()
	if ids := offeredIDs(t, received(out)); len(ids) != 1 || ids[0] != now.GetId() {
		t.Fatalf("after reconnect offered %v, want the one not accepted", ids)
	}
	// The agent refuses the replay of the accepted one: ignored.
	if o := r.apply(agentA, upd(laterRec.GetId(), aRefused)); o.Ignored == "" || state(r.get(laterRec.GetId())) != tasks.Accepted {
		t.Fatalf("refused replay: %+v", o)
	}
}

// TestDispatchBusy: offers that find the stream's queue full are sent on a
// later pass.
func TestDispatchBusy(t *testing.T) {
	r := newRig(t)
	var ids []string
	for range 6 {
		rec, _ := r.mustCreate(agentA, "acme", "script", false)
		ids = append(ids, rec.GetId())
	}
	out, detach := r.online(agentA, bootA, tasks.Capability)
	defer detach()
	r.tick()
	first := offeredIDs(t, received(out))
	r.tick()
	second := offeredIDs(t, received(out))
	if len(first)+len(second) != 6 || len(second) == 0 {
		t.Fatalf("offered %d then %d, want all 6 over two passes", len(first), len(second))
	}
	for _, id := range ids {
		if state(r.get(id)) != tasks.Dispatched {
			t.Fatalf("%s not dispatched", id)
		}
	}
}

func TestExpiry(t *testing.T) {
	r := newRig(t)
	sched, _ := r.mustCreate(agentA, "acme", "script", false)
	prop, _ := r.mustCreate(agentA, "acme", "reboot", true)
	disp, _ := r.mustCreate(agentB, "beta", "script", false)
	revive, _ := r.mustCreate(agentB, "beta", "script", false)
	running, _ := r.mustCreate(agentB, "beta", "script", false)
	out, detach := r.online(agentB, 0, tasks.Capability)
	r.tick()
	detach()
	if n := len(received(out)); n != 3 {
		t.Fatalf("%d offers", n)
	}
	r.apply(agentB, upd(running.GetId(), aAccepted))

	r.now = time.Unix(sched.GetNotAfterUnix(), 0)
	r.tick()
	if state(r.get(sched.GetId())) != tasks.Scheduled {
		t.Fatal("expired at not_after itself; the agent still accepts it then")
	}
	r.now = r.now.Add(time.Second)
	r.tick()
	if got := r.get(sched.GetId()); state(got) != tasks.Expired || !strings.Contains(got.GetReason(), "not started") {
		t.Fatalf("scheduled past not_after: %v", got)
	}
	if got := r.get(prop.GetId()); state(got) != tasks.Expired || !strings.Contains(got.GetReason(), "not approved") {
		t.Fatalf("proposed past not_after: %v", got)
	}
	if state(r.get(disp.GetId())) != tasks.Dispatched {
		t.Fatal("dispatched task expired without the grace")
	}
	r.now = r.now.Add(tasks.DispatchGrace)
	r.tick()
	if got := r.get(disp.GetId()); state(got) != tasks.Expired || !strings.Contains(got.GetReason(), "did not accept") {
		t.Fatalf("dispatched past not_after and the grace: %v", got)
	}
	if state(r.get(running.GetId())) != tasks.Accepted {
		t.Fatal("an accepted task expired")
	}
	// The agent had accepted it in time after all: its word counts.
	if o := r.apply(agentB, upd(revive.GetId(), aAccepted)); o.Ignored != "" || state(r.get(revive.GetId())) != tasks.Accepted {
		t.Fatalf("late acceptance of a dispatched task: %+v", o)
	}
	var kinds []string
	_ = r.st.View(t.Context(), func(tx store.Tx) error {
		evs, err := schema.ListEvents(tx, 0, 10)
		for _, e := range evs {
			kinds = append(kinds, e.Kind)
		}
		return err
	})
	if len(kinds) != 4 || kinds[0] != schema.EventTaskExpired {
		t.Fatalf("events %v, want one per expiry", kinds)
	}
}

// TestCancel cancels a task in each state.
func TestCancel(t *testing.T) {
	r := newRig(t)
	out, detach := r.online(agentA, bootA, tasks.Capability)
	defer detach()
	r.tick()
	mk := func(s string) string {
		rec, _ := r.mustCreate(agentA, "acme", "script", s == "proposed")
		switch s {
		case "dispatched", "accepted", "running":
			r.tick()
			received(out)
			if s != "dispatched" {
				r.apply(agentA, upd(rec.GetId(), aAccepted))
			}
			if s == "running" {
				r.apply(agentA, upd(rec.GetId(), aRunning))
			}
		case "succeeded":
			r.setState(rec.GetId(), tasks.Succeeded)
		}
		return rec.GetId()
	}
	cases := []struct {
		state     string
		want      string // state right after the call
		askAgent  bool
		wantError error
	}{
		{"proposed", "cancelled", false, nil},
		{"scheduled", "cancelled", false, nil},
		{"dispatched", "dispatched", true, nil},
		{"accepted", "accepted", true, nil},
		{"running", "running", true, nil},
		{"succeeded", "succeeded", false, tasks.ErrState},
	}
	for _, tc := range cases {
		t.Run(tc.state, func(t *testing.T) {
			id := mk(tc.state)
			rec, err := r.eng.Cancel(context.Background(), id, "alice", "wrong server")
			if !errors.Is(err, tc.wantError) {
				t.Fatalf("cancel: %v, want %v", err, tc.wantError)
			}
			got := r.get(id)
			if tasks.StateName(state(got)) != tc.want {
				t.Fatalf("state %s, want %s", tasks.StateName(state(got)), tc.want)
			}
			ms := received(out)
			if sent := len(ms) == 1 && ms[0].GetCancel().GetTaskId() == id; sent != tc.askAgent {
				t.Fatalf("sent %v, want a TaskCancel: %v", ms, tc.askAgent)
			}
			if err != nil {
				return
			}
			last := rec.GetTransitions()[len(rec.GetTransitions())-1]
			if last.GetActor() != "alice" || !strings.Contains(last.GetReason(), "cancelled by alice: wrong server") {
				t.Fatalf("history %v", last)
			}
			if !tc.askAgent {
				return
			}
			// Reconnect: the cancel is sent again, the offer is not.
			out, _ = r.online(agentA, bootA, tasks.Capability)
			r.tick()
			ms = received(out)
			if len(ms) != 1 || ms[0].GetCancel().GetTaskId() != id {
				t.Fatalf("after a reconnect got %v, want the TaskCancel again", ms)
			}
			// The agent reports the cancellation.
			r.apply(agentA, upd(id, aCancelled))
			if got := r.get(id); state(got) != tasks.Cancelled {
				t.Fatalf("after the agent's report: %v", got)
			}
			_ = r.st.View(t.Context(), func(tx store.Tx) error {
				if _, err := schema.GetCancelRequest(tx, id); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("cancel request kept after the task ended: %v", err)
				}
				return nil
			})
		})
	}
}

// TestCancelledDispatchNotOfferedAgain: a dispatched task with a pending
// cancel request is never offered again; its agent gets the cancel.
func TestCancelledDispatchNotOfferedAgain(t *testing.T) {
	r := newRig(t)
	rec, _ := r.mustCreate(agentA, "acme", "script", false)
	out, detach := r.online(agentA, bootA, tasks.Capability)
	r.tick()
	received(out)
	detach()
	if _, err := r.eng.Cancel(context.Background(), rec.GetId(), "alice", ""); err != nil {
		t.Fatal(err)
	}
	out, detach = r.online(agentA, bootA, tasks.Capability)
	defer detach()
	r.tick()
	ms := received(out)
	if len(ms) != 1 || ms[0].GetCancel().GetTaskId() != rec.GetId() || ms[0].GetCancel().GetReason() != "cancelled by alice" {
		t.Fatalf("on reconnect got %v, want only the TaskCancel", ms)
	}
}

// TestRunStops: Run ends with its context and makes passes meanwhile.
func TestRunStops(t *testing.T) {
	r := newRig(t)
	rec, _ := r.mustCreate(agentA, "acme", "script", false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	_, detach := r.fleet.Attach(agentA, func(error) {}, []string{tasks.Capability})
	defer detach()
	go func() { r.eng.Run(ctx); close(done) }()
	r.eng.Attached(agentA, bootA)
	deadline := time.Now().Add(5 * time.Second)
	for state(r.get(rec.GetId())) != tasks.Dispatched {
		if time.Now().After(deadline) {
			t.Fatal("not dispatched by Run")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

// TestEventRetention: a pass deletes events older than the retention.
func TestEventRetention(t *testing.T) {
	r := newRig(t)
	r.update(func(tx store.Tx) error {
		for _, age := range []time.Duration{401 * 24 * time.Hour, 24 * time.Hour} {
			if err := schema.AppendEvent(tx, &schema.Event{TimeUnixMs: r.now.Add(-age).UnixMilli(), Kind: schema.EventTaskFailed}); err != nil {
				return err
			}
		}
		return nil
	})
	r.tick()
	_ = r.st.View(t.Context(), func(tx store.Tx) error {
		evs, err := schema.ListEvents(tx, 0, 10)
		if len(evs) != 1 || evs[0].TimeUnixMs != r.now.Add(-24*time.Hour).UnixMilli() {
			t.Errorf("events left %+v", evs)
		}
		return err
	})
}

// TestWakeOffersAtOnce: a task created while the agent is online is offered
// on Wake, not at the next interval.
func TestWakeOffersAtOnce(t *testing.T) {
	r := newRig(t)
	eng := tasks.NewEngine(tasks.EngineConfig{Store: r.st, Fleet: r.fleet, Logger: logging.Discard(), Interval: time.Hour,
		Now: func() time.Time { return r.now }})
	out, detach := r.fleet.Attach(agentA, func(error) {}, []string{tasks.Capability})
	defer detach()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { eng.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	rec, _ := r.mustCreate(agentA, "acme", "script", false)
	start := time.Now()
	eng.Wake()
	select {
	case m := <-out:
		if ids := offeredIDs(t, []*agentv1.ControllerMessage{m}); len(ids) != 1 || ids[0] != rec.GetId() {
			t.Fatalf("offered %v", ids)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not offered within 5s of Wake (the interval is an hour)")
	}
	t.Logf("offered %s after Wake", time.Since(start).Round(time.Millisecond))
}
