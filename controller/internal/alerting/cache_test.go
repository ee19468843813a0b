package alerting

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/vigil-rmm/vigil/controller/internal/alert"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// TestRecordCache: an unchanged record is decoded once and shared; a
// changed one is decoded again; a record nobody read for a generation is
// dropped; an absent one is nil.
func TestRecordCache(t *testing.T) {
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "c.db"), store.BoltOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	put := func(failures uint32) {
		if err := st.Update(context.Background(), func(tx store.Tx) error {
			return schema.PutPatchRecord(tx, &storev1.PatchRecord{AgentId: "ag-1", ConsecutiveFailures: failures,
				Pending: []*storev1.TrackedUpdate{{Update: &agentv1.PendingUpdate{Id: "u1"}}}})
		}); err != nil {
			t.Fatal(err)
		}
	}
	c := newRecordCache()
	read := func(id string) *alert.PatchState {
		var r *alert.PatchState
		if err := st.View(context.Background(), func(tx store.Tx) error {
			var err error
			r, err = cachedRecord(c, "p/"+id, tx, schema.PatchRecordBytes, id, func() *storev1.PatchRecord { return &storev1.PatchRecord{} },
				alert.PatchStateOf)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return r
	}
	put(1)
	c.next()
	a := read("ag-1")
	c.next()
	if b := read("ag-1"); b != a {
		t.Fatal("unchanged record decoded again")
	}
	put(2)
	c.next()
	b := read("ag-1")
	if b == a || b.ConsecutiveFailures != 2 {
		t.Fatalf("changed record: got %v (same object: %v)", b, b == a)
	}
	if read("ag-2") != nil {
		t.Fatal("absent record is not nil")
	}
	c.next()
	c.next() // ag-1 not read for a generation
	if _, ok := c.prev["p/ag-1"]; ok {
		t.Fatal("unread entry kept")
	}
}
