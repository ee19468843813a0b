package schema_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

func checkRes(check, vantage string, sec int64) *storev1.CheckResultRecord {
	return &storev1.CheckResultRecord{Check: check, Vantage: vantage, Status: agentv1.CheckStatus_CHECK_STATUS_OK, StartUnixMs: sec * 1000}
}

// TestCheckResults appends two vantages' results of two checks, visits
// them from a time on, deletes old ones in batches, and deletes a check
// with everything it owns.
func TestCheckResults(t *testing.T) {
	s := openStore(t)
	update(t, s, func(tx store.Tx) error {
		for _, id := range []string{"ck-a", "ck-b"} {
			if err := schema.PutCheck(tx, &storev1.Check{Id: id, Tenant: "acme"}); err != nil {
				return err
			}
			if err := schema.PutCheckState(tx, &storev1.CheckState{Check: id}); err != nil {
				return err
			}
			var rs []*storev1.CheckResultRecord
			for sec := int64(1000); sec < 1010; sec++ {
				rs = append(rs, checkRes(id, "controller", sec), checkRes(id, "agent:ag-1", sec))
			}
			if n, err := schema.AppendCheckResults(tx, id, rs); err != nil || n != 20 {
				t.Errorf("append %s: %d %v", id, n, err)
			}
		}
		return schema.PutCheck(tx, &storev1.Check{Id: "ck-c", Tenant: "beta"})
	})
	view(t, s, func(tx store.Tx) error {
		var got []int64
		err := schema.VisitCheckResults(tx, "ck-a", 1005, func(r *storev1.CheckResultRecord) error {
			if r.GetCheck() != "ck-a" {
				t.Errorf("visited a result of %s", r.GetCheck())
			}
			got = append(got, r.GetStartUnixMs()/1000)
			return nil
		})
		if err != nil || len(got) != 10 || got[0] != 1005 || got[9] != 1009 {
			t.Errorf("visit from 1005: %v %v", got, err)
		}
		counts, err := schema.CountChecks(tx)
		if err != nil || counts["acme"] != 2 || counts["beta"] != 1 {
			t.Errorf("counts %v %v", counts, err)
		}
		return nil
	})

	// Results before 1008 (16 of them) go in batches of 5: 5, 5, 5, 1.
	var batches []int
	for {
		var n int
		update(t, s, func(tx store.Tx) error {
			var err error
			n, err = schema.DeleteCheckResultsBatch(tx, "ck-a", 1008, 5)
			return err
		})
		batches = append(batches, n)
		if n < 5 {
			break
		}
	}
	if len(batches) != 4 || batches[3] != 1 {
		t.Fatalf("batches %v, want 5 5 5 1", batches)
	}
	view(t, s, func(tx store.Tx) error {
		a, err := schema.ListCheckResults(tx, "ck-a", 0)
		if err != nil || len(a) != 4 || a[0].GetStartUnixMs() != 1008000 {
			t.Errorf("ck-a after retention: %d results, first %v, %v", len(a), a, err)
		}
		b, err := schema.ListCheckResults(tx, "ck-b", 0)
		if err != nil || len(b) != 20 {
			t.Errorf("ck-b lost results to ck-a's retention: %d %v", len(b), err)
		}
		return nil
	})

	// Deleting a check removes its definition and state at once and
	// leaves its results to batches of bounded transactions.
	update(t, s, func(tx store.Tx) error { return schema.DeleteCheck(tx, "ck-b") })
	view(t, s, func(tx store.Tx) error {
		if _, err := schema.GetCheck(tx, "ck-b"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted check: %v", err)
		}
		if _, err := schema.GetCheckState(tx, "ck-b"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted check's state: %v", err)
		}
		if rs, err := schema.ListCheckResults(tx, "ck-b", 0); err != nil || len(rs) != 20 {
			t.Errorf("deleted check's results before the purge: %d %v, want 20", len(rs), err)
		}
		if ids, err := schema.DeletedChecks(tx); err != nil || !slices.Equal(ids, []string{"ck-b"}) {
			t.Errorf("deleted checks: %v %v", ids, err)
		}
		return nil
	})
	var purged []int
	for done := false; !done; {
		var n int
		update(t, s, func(tx store.Tx) error {
			var err error
			n, done, err = schema.PurgeDeletedCheck(tx, "ck-b", 8)
			return err
		})
		purged = append(purged, n)
		if len(purged) > 10 {
			t.Fatalf("purge does not end: %v", purged)
		}
	}
	if !slices.Equal(purged, []int{8, 8, 4}) {
		t.Errorf("purge batches %v, want 8 8 4", purged)
	}
	view(t, s, func(tx store.Tx) error {
		if rs, err := schema.ListCheckResults(tx, "ck-b", 0); err != nil || len(rs) != 0 {
			t.Errorf("deleted check's results: %d %v", len(rs), err)
		}
		if ids, err := schema.DeletedChecks(tx); err != nil || len(ids) != 0 {
			t.Errorf("deleted checks after the purge: %v %v", ids, err)
		}
		if rs, err := schema.ListCheckResults(tx, "ck-a", 0); err != nil || len(rs) != 4 {
			t.Errorf("ck-a after deleting ck-b: %d %v", len(rs), err)
		}
		return nil
	})

	// A check deleted and written again under the same id before the
	// purge keeps its results; only the mark is dropped.
	update(t, s, func(tx store.Tx) error {
		if err := schema.DeleteCheck(tx, "ck-a"); err != nil {
			return err
		}
		return schema.PutCheck(tx, &storev1.Check{Id: "ck-a", Tenant: "acme"})
	})
	update(t, s, func(tx store.Tx) error {
		n, done, err := schema.PurgeDeletedCheck(tx, "ck-a", 8)
		if n != 0 || !done || err != nil {
			t.Errorf("purge of a live check: %d %v %v", n, done, err)
		}
		return err
	})
	view(t, s, func(tx store.Tx) error {
		if rs, err := schema.ListCheckResults(tx, "ck-a", 0); err != nil || len(rs) != 4 {
			t.Errorf("live check's results after a stale purge: %d %v", len(rs), err)
		}
		if ids, _ := schema.DeletedChecks(tx); len(ids) != 0 {
			t.Errorf("stale mark kept: %v", ids)
		}
		return nil
	})
}
