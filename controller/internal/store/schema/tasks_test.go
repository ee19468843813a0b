package schema_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

func queueIDs(t *testing.T, s store.Store, agent string) []string {
	t.Helper()
	var ids []string
	view(t, s, func(tx store.Tx) error {
		q, err := schema.ListAgentQueue(tx, agent)
		for _, r := range q {
			ids = append(ids, r.GetId())
		}
		return err
	})
	return ids
}

// TestTaskQueueInStep: the queue index follows the record's state in the
// same transaction, and a final task's cancel request goes with it.
func TestTaskQueueInStep(t *testing.T) {
	s := openStore(t)
	rec := &storev1.TaskRecord{Id: "tk-0000000000000001", AgentId: "ag-a", State: int32(managev1.TaskState_TASK_STATE_SCHEDULED),
		SignedTask: []byte("big signed bytes")}
	update(t, s, func(tx store.Tx) error {
		if err := schema.PutTask(tx, rec); err != nil {
			return err
		}
		return schema.PutCancelRequest(tx, rec.Id, &storev1.TaskTransition{Actor: "alice"})
	})
	if got := queueIDs(t, s, "ag-a"); len(got) != 1 || got[0] != rec.Id {
		t.Fatalf("queue %v", got)
	}
	view(t, s, func(tx store.Tx) error {
		q, err := schema.ListQueuedTasks(tx)
		if len(q) != 1 || q[0].GetSignedTask() != nil || q[0].GetState() != rec.State {
			t.Errorf("summary %v: want the state and no signed bytes", q)
		}
		return err
	})
	rec.State = int32(managev1.TaskState_TASK_STATE_SUCCEEDED)
	update(t, s, func(tx store.Tx) error { return schema.PutTask(tx, rec) })
	if got := queueIDs(t, s, "ag-a"); len(got) != 0 {
		t.Fatalf("final task still queued: %v", got)
	}
	view(t, s, func(tx store.Tx) error {
		if _, err := schema.GetCancelRequest(tx, rec.Id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("cancel request of a final task: %v", err)
		}
		got, err := schema.GetTask(tx, rec.Id)
		if err == nil && string(got.GetSignedTask()) != "big signed bytes" {
			t.Errorf("record %v", got)
		}
		return err
	})
	if err := s.Update(t.Context(), func(tx store.Tx) error {
		return schema.PutTask(tx, &storev1.TaskRecord{Id: "tk-x/y", AgentId: "ag-a"})
	}); err == nil {
		t.Fatal("a task id with a slash was stored")
	}
}

func TestTaskOutputCursor(t *testing.T) {
	s := openStore(t)
	lines := func(from, n int) []*agentv1.OutputLine {
		var out []*agentv1.OutputLine
		for i := range n {
			out = append(out, &agentv1.OutputLine{Line: fmt.Sprint(from + i)})
		}
		return out
	}
	update(t, s, func(tx store.Tx) error {
		if err := schema.AppendTaskOutput(tx, "tk-a", 1, lines(1, 20)); err != nil {
			return err
		}
		// Another task whose id extends this one's must not show up.
		return schema.AppendTaskOutput(tx, "tk-ab", 1, lines(100, 3))
	})
	cases := []struct {
		after     uint64
		limit     int
		maxBytes  int
		wantFirst string
		wantN     int
		wantNext  uint64
	}{
		{0, 5000, 1 << 20, "1", 20, 20},
		{0, 5, 1 << 20, "1", 5, 5},
		{5, 5, 1 << 20, "6", 5, 10},
		{15, 100, 1 << 20, "16", 5, 20},
		{20, 100, 1 << 20, "", 0, 20},
		{99, 100, 1 << 20, "", 0, 99},
		{0, 100, 1, "1", 1, 1},   // at least one line
		{9, 100, 8, "10", 2, 11}, // two-digit lines of 4 encoded bytes each
	}
	for _, tc := range cases {
		view(t, s, func(tx store.Tx) error {
			got, next, err := schema.ListTaskOutput(tx, "tk-a", tc.after, tc.limit, tc.maxBytes)
			first := ""
			if len(got) > 0 {
				first = got[0].GetLine()
			}
			if len(got) != tc.wantN || first != tc.wantFirst || next != tc.wantNext {
				t.Errorf("after %d limit %d: %d lines from %q, next %d; want %d from %q, next %d",
					tc.after, tc.limit, len(got), first, next, tc.wantN, tc.wantFirst, tc.wantNext)
			}
			return err
		})
	}
}

func TestEvents(t *testing.T) {
	s := openStore(t)
	update(t, s, func(tx store.Tx) error {
		for _, ms := range []int64{3000, 1000, 2000, 0x1_0000_0000} {
			if err := schema.AppendEvent(tx, &schema.Event{TimeUnixMs: ms, Kind: schema.EventTaskFailed, TaskID: fmt.Sprint(ms)}); err != nil {
				return err
			}
		}
		return nil
	})
	var got []string
	view(t, s, func(tx store.Tx) error {
		evs, err := schema.ListEvents(tx, 2000, 10)
		for _, e := range evs {
			got = append(got, e.TaskID)
			if e.ID == "" || e.Kind != schema.EventTaskFailed {
				t.Errorf("event %+v", e)
			}
		}
		return err
	})
	if fmt.Sprint(got) != "[2000 3000 4294967296]" {
		t.Fatalf("events since 2000: %v", got)
	}
	update(t, s, func(tx store.Tx) error {
		n, err := schema.DeleteEventsBefore(tx, 3000)
		if n != 2 {
			t.Errorf("deleted %d, want 2", n)
		}
		return err
	})
	view(t, s, func(tx store.Tx) error {
		evs, err := schema.ListEvents(tx, 0, 10)
		if len(evs) != 2 {
			t.Errorf("%d events left, want 2", len(evs))
		}
		return err
	})
}

func TestTrustRecords(t *testing.T) {
	s := openStore(t)
	view(t, s, func(tx store.Tx) error {
		if _, err := schema.GetTrustRoot(tx); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("root of a new store: %v", err)
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error {
		if err := schema.PutTrustRoot(tx, &storev1.TrustRootRecord{Fingerprint: "sha256:00"}); err != nil {
			return err
		}
		for _, serial := range []string{"bb", "aa"} {
			if err := schema.PutCertificate(tx, &storev1.CertificateRecord{Serial: serial}); err != nil {
				return err
			}
		}
		return schema.PutPluginList(tx, "ag-a", &storev1.PluginListRecord{ReportedUnixMs: 7})
	})
	view(t, s, func(tx store.Tx) error {
		cs, err := schema.ListCertificates(tx)
		if err != nil || len(cs) != 2 || cs[0].GetSerial() != "aa" {
			t.Errorf("certificates %v %v", cs, err)
		}
		pl, err := schema.GetPluginList(tx, "ag-a")
		if err != nil || pl.GetReportedUnixMs() != 7 {
			t.Errorf("plugin list %v %v", pl, err)
		}
		return nil
	})
}
