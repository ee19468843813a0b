package schema_test

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"go.uber.org/goleak"

	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	s, err := store.OpenBolt(filepath.Join(t.TempDir(), "control.db"), store.BoltOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := schema.Open(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

func update(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatal(err)
	}
}

func view(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatal(err)
	}
}

func ev(unix int64) *storev1.PatchEvent {
	return &storev1.PatchEvent{TimeUnix: unix, Kind: 1}
}

// times returns the times of events, for comparisons.
func times(evs []*storev1.PatchEvent) []int64 {
	var out []int64
	for _, e := range evs {
		out = append(out, e.GetTimeUnix())
	}
	return out
}

func TestPatchEventsRange(t *testing.T) {
	s := openStore(t)
	// Times chosen so the hex encoding differs in high and low digits,
	// appended out of order and across two transactions.
	stored := []int64{0x6000_0000, 0x1f, 0x20, 0x6000_0001, 0x5fff_ffff, 0x20, 0x7fff_0000_0000}
	update(t, s, func(tx store.Tx) error {
		var evs []*storev1.PatchEvent
		for _, u := range stored[:4] {
			evs = append(evs, ev(u))
		}
		_, err := schema.AppendPatchEvents(tx, "ag-a", evs)
		return err
	})
	update(t, s, func(tx store.Tx) error {
		var evs []*storev1.PatchEvent
		for _, u := range stored[4:] {
			evs = append(evs, ev(u))
		}
		evs = append(evs, nil) // ignored
		n, err := schema.AppendPatchEvents(tx, "ag-a", evs)
		if n != 3 {
			t.Errorf("stored %d, want 3", n)
		}
		return err
	})
	// Another agent whose id extends the first one's must not show up.
	update(t, s, func(tx store.Tx) error {
		_, err := schema.AppendPatchEvents(tx, "ag-ab", []*storev1.PatchEvent{ev(0x20)})
		return err
	})

	all := slices.Clone(stored)
	slices.Sort(all)
	cases := []struct {
		since int64
		want  []int64
	}{
		{0, all},
		{-5, all},
		{0x20, all[1:]},
		{0x21, all[3:]},
		{0x5fff_ffff, all[3:]},
		{0x6000_0000, all[4:]},
		{0x6000_0002, all[6:]},
		{0x7fff_0000_0000, all[6:]},
		{0x7fff_0000_0001, nil},
	}
	for _, tc := range cases {
		view(t, s, func(tx store.Tx) error {
			got, err := schema.ListPatchEvents(tx, "ag-a", tc.since)
			if !slices.Equal(times(got), tc.want) {
				t.Errorf("since %#x: got %#x, want %#x", tc.since, times(got), tc.want)
			}
			return err
		})
	}
}

func TestPatchEventsSameSecondKeepOrder(t *testing.T) {
	s := openStore(t)
	for i := range 3 {
		update(t, s, func(tx store.Tx) error {
			_, err := schema.AppendPatchEvents(tx, "ag-a", []*storev1.PatchEvent{
				{TimeUnix: 100, PendingSeconds: int64(2 * i)}, {TimeUnix: 100, PendingSeconds: int64(2*i + 1)},
			})
			return err
		})
	}
	view(t, s, func(tx store.Tx) error {
		got, err := schema.ListPatchEvents(tx, "ag-a", 0)
		var order []int64
		for _, e := range got {
			order = append(order, e.GetPendingSeconds())
		}
		if want := []int64{0, 1, 2, 3, 4, 5}; !slices.Equal(order, want) {
			t.Errorf("order %v, want %v", order, want)
		}
		return err
	})
}

func TestDeleteHistoryBefore(t *testing.T) {
	s := openStore(t)
	update(t, s, func(tx store.Tx) error {
		for _, agent := range []string{"ag-a", "ag-ab"} {
			if _, err := schema.AppendPatchEvents(tx, agent, []*storev1.PatchEvent{ev(10), ev(20), ev(30)}); err != nil {
				return err
			}
			if _, err := schema.AppendInventoryChanges(tx, agent, []*storev1.InventoryChange{{TimeUnix: 10}, {TimeUnix: 25}}); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error {
		n, err := schema.DeletePatchEventsBefore(tx, "ag-a", 20)
		if n != 1 || err != nil {
			t.Errorf("patch events deleted %d, %v; want 1", n, err)
		}
		n, err = schema.DeleteInventoryChangesBefore(tx, "ag-a", 26)
		if n != 2 || err != nil {
			t.Errorf("inventory changes deleted %d, %v; want 2", n, err)
		}
		return nil
	})
	view(t, s, func(tx store.Tx) error {
		a, _ := schema.ListPatchEvents(tx, "ag-a", 0)
		ab, _ := schema.ListPatchEvents(tx, "ag-ab", 0)
		if !slices.Equal(times(a), []int64{20, 30}) || len(ab) != 3 {
			t.Errorf("after prune: ag-a %v, ag-ab %v", times(a), times(ab))
		}
		c, _ := schema.ListInventoryChanges(tx, "ag-a", 0)
		cb, _ := schema.ListInventoryChanges(tx, "ag-ab", 0)
		if len(c) != 0 || len(cb) != 2 {
			t.Errorf("after prune: ag-a %d changes, ag-ab %d", len(c), len(cb))
		}
		return nil
	})
}

func TestRecordsAndDeleteAgentState(t *testing.T) {
	s := openStore(t)
	update(t, s, func(tx store.Tx) error {
		for _, agent := range []string{"ag-a", "ag-ab"} {
			if err := schema.PutPatchRecord(tx, &storev1.PatchRecord{AgentId: agent, Source: "apt"}); err != nil {
				return err
			}
			if err := schema.PutRebootRecord(tx, agent, &storev1.RebootRecord{ReportedUnixMs: 5}); err != nil {
				return err
			}
			if err := schema.PutInventoryRecord(tx, agent, &storev1.InventoryRecord{ReportedUnixMs: 6}); err != nil {
				return err
			}
			if _, err := schema.AppendPatchEvents(tx, agent, []*storev1.PatchEvent{ev(1)}); err != nil {
				return err
			}
			if _, err := schema.AppendInventoryChanges(tx, agent, []*storev1.InventoryChange{{TimeUnix: 1}}); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx store.Tx) error {
		for _, agent := range []string{"ag-a", "ag-ab"} {
			rec, err := schema.GetPatchRecord(tx, agent)
			if err != nil || rec.GetSource() != "apt" {
				t.Errorf("GetPatchRecord(%s) = %v, %v", agent, rec, err)
			}
			rb, err := schema.GetRebootRecord(tx, agent)
			if err != nil || rb.GetReportedUnixMs() != 5 {
				t.Errorf("GetRebootRecord(%s) = %v, %v", agent, rb, err)
			}
		}
		inv, err := schema.GetInventoryRecord(tx, "ag-a")
		if err != nil || inv.GetReportedUnixMs() != 6 {
			t.Errorf("GetInventoryRecord = %v, %v", inv, err)
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error { return schema.DeleteAgentState(tx, "ag-a") })
	view(t, s, func(tx store.Tx) error {
		gets := []struct {
			name string
			get  func(string) error
		}{
			{"patch", func(a string) error { _, err := schema.GetPatchRecord(tx, a); return err }},
			{"reboot", func(a string) error { _, err := schema.GetRebootRecord(tx, a); return err }},
			{"inventory", func(a string) error { _, err := schema.GetInventoryRecord(tx, a); return err }},
		}
		for _, g := range gets {
			if err := g.get("ag-a"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s of deleted agent: %v, want ErrNotFound", g.name, err)
			}
			if err := g.get("ag-ab"); err != nil {
				t.Errorf("%s of the other agent: %v", g.name, err)
			}
		}
		evs, _ := schema.ListPatchEvents(tx, "ag-a", 0)
		chs, _ := schema.ListInventoryChanges(tx, "ag-a", 0)
		evsB, _ := schema.ListPatchEvents(tx, "ag-ab", 0)
		chsB, _ := schema.ListInventoryChanges(tx, "ag-ab", 0)
		if len(evs)+len(chs) != 0 || len(evsB) != 1 || len(chsB) != 1 {
			t.Errorf("history after delete: ag-a %d+%d, ag-ab %d+%d", len(evs), len(chs), len(evsB), len(chsB))
		}
		return nil
	})
}
