package schema_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

func openNotifySchema(t *testing.T) store.Store {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "control.db"), store.BoltOptions{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := schema.Open(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestNotifyQueueOrder: due deliveries come out earliest first, the scan
// stops at the first one not due, and ids holding "/" survive the key.
func TestNotifyQueueOrder(t *testing.T) {
	st := openNotifySchema(t)
	refs := []schema.DeliveryRef{{Notification: "alert/a1/firing", Index: 0, DueMS: 3000}, {Notification: "n2", Index: 1, DueMS: 1000},
		{Notification: "n3", Index: 0, DueMS: 9000}, {Notification: "n4", Index: 2, DueMS: 0}}
	ctx := context.Background()
	if err := st.Update(ctx, func(tx store.Tx) error {
		for _, r := range refs {
			if err := schema.QueueDelivery(tx, r); err != nil {
				return err
			}
		}
		return schema.QueueDelivery(tx, schema.DeliveryRef{Notification: "bad", Index: schema.MaxDeliveries + 1})
	}); err == nil {
		t.Fatal("an index beyond MaxDeliveries was accepted")
	}
	err := st.Update(ctx, func(tx store.Tx) error {
		for _, r := range refs {
			if err := schema.QueueDelivery(tx, r); err != nil {
				return err
			}
		}
		var got []schema.DeliveryRef
		if err := schema.DueDeliveries(tx, 3000, func(r schema.DeliveryRef) bool { got = append(got, r); return true }); err != nil {
			return err
		}
		if len(got) != 3 || got[0] != refs[3] || got[1] != refs[1] || got[2] != refs[0] {
			t.Errorf("due %v", got)
		}
		if err := schema.UnqueueDelivery(tx, refs[3]); err != nil {
			return err
		}
		next, ok, err := schema.NextDue(tx)
		if err != nil || !ok || next != 1000 {
			t.Errorf("next due %d %v %v", next, ok, err)
		}
		if err := schema.MarkSending(tx, refs[0]); err != nil {
			return err
		}
		sending, err := schema.SendingDeliveries(tx)
		if err != nil || len(sending) != 1 || sending[0].Notification != "alert/a1/firing" || sending[0].Index != 0 {
			t.Errorf("sending %v %v", sending, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestContactsByTenant: the tenant index lists a tenant's contacts only,
// and deleting a contact removes both keys.
func TestContactsByTenant(t *testing.T) {
	st := openNotifySchema(t)
	err := st.Update(context.Background(), func(tx store.Tx) error {
		for _, c := range []*storev1.Contact{{Id: "a", Tenant: "acme"}, {Id: "b", Tenant: "beta"}, {Id: "c", Tenant: "acme"}} {
			if err := schema.PutContact(tx, c); err != nil {
				return err
			}
		}
		ids, err := schema.ContactIDs(tx, "acme")
		if err != nil || strings.Join(ids, ",") != "a,c" {
			t.Errorf("acme ids %v %v", ids, err)
		}
		if err := schema.DeleteContact(tx, &storev1.Contact{Id: "a", Tenant: "acme"}); err != nil {
			return err
		}
		cs, err := schema.ListContacts(tx, "acme")
		if err != nil || len(cs) != 1 || cs[0].GetId() != "c" {
			t.Errorf("acme contacts %v %v", cs, err)
		}
		if _, err := schema.GetContact(tx, "a"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted contact: %v", err)
		}
		all, err := schema.ListContacts(tx, "")
		if err != nil || len(all) != 2 {
			t.Errorf("all contacts %v %v", all, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNotificationLog: a notification is stored once, listed under its
// tenant by time, and SMS credits start empty.
func TestNotificationLog(t *testing.T) {
	st := openNotifySchema(t)
	err := st.Update(context.Background(), func(tx store.Tx) error {
		for _, n := range []*storev1.Notification{{Id: "old", Tenant: "acme", CreatedUnixMs: 1000}, {Id: "new/1", Tenant: "acme", CreatedUnixMs: 5000},
			{Id: "b", Tenant: "beta", CreatedUnixMs: 5000}} {
			if ok, err := schema.PutNotificationIfAbsent(tx, n); !ok || err != nil {
				t.Errorf("put %s: %v %v", n.GetId(), ok, err)
			}
		}
		if ok, err := schema.PutNotificationIfAbsent(tx, &storev1.Notification{Id: "old", Tenant: "acme"}); ok || err != nil {
			t.Errorf("second put: %v %v", ok, err)
		}
		var ids []string
		if err := schema.NotificationIDs(tx, "acme", 2000, func(id string, _ int64) error { ids = append(ids, id); return nil }); err != nil {
			return err
		}
		if strings.Join(ids, ",") != "new/1" {
			t.Errorf("acme since 2000: %v", ids)
		}
		c, err := schema.GetSmsCredits(tx, "acme")
		if err != nil || c.GetTenant() != "acme" || c.GetBalance() != 0 {
			t.Errorf("credits %v %v", c, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// notifyScanCounter counts the keys scans visit.
type notifyScanCounter struct {
	store.Tx
	visited int
}

func (c *notifyScanCounter) Scan(prefix string, fn func(string, []byte) error) error {
	return c.Tx.Scan(prefix, func(k string, v []byte) error { c.visited++; return fn(k, v) })
}

// TestNotificationIDsSeek: listing from a time seeks to it in the log
// index instead of reading the tenant's whole history.
func TestNotificationIDsSeek(t *testing.T) {
	st := openNotifySchema(t)
	ctx := context.Background()
	const old = 500
	err := st.Update(ctx, func(tx store.Tx) error {
		for _, id := range []string{"acme", "beta"} {
			if err := schema.PutTenant(tx, &storev1.Tenant{Id: id}); err != nil {
				return err
			}
		}
		for i := range old {
			if _, err := schema.PutNotificationIfAbsent(tx, &storev1.Notification{Id: fmt.Sprintf("old-%d", i), Tenant: "acme",
				CreatedUnixMs: int64(1000 + i)}); err != nil {
				return err
			}
		}
		for _, n := range []*storev1.Notification{{Id: "new/1", Tenant: "acme", CreatedUnixMs: 0x10000}, {Id: "new/2", Tenant: "acme", CreatedUnixMs: 0x1ffff},
			{Id: "b-old", Tenant: "beta", CreatedUnixMs: 5}, {Id: "b-new", Tenant: "beta", CreatedUnixMs: 0x20000}} {
			if _, err := schema.PutNotificationIfAbsent(tx, n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tenant string
		since  int64
		want   string
	}{
		{"acme", 0x10000, "new/1,new/2"},
		{"acme", 0x10001, "new/2"},
		{"", 0x10000, "new/1,new/2,b-new"},
		{"beta", 0, "b-old,b-new"},
	} {
		err := st.View(ctx, func(tx store.Tx) error {
			ct := &notifyScanCounter{Tx: tx}
			var ids []string
			if err := schema.NotificationIDs(ct, c.tenant, c.since, func(id string, _ int64) error { ids = append(ids, id); return nil }); err != nil {
				return err
			}
			if strings.Join(ids, ",") != c.want {
				t.Errorf("%q since %#x: %v, want %s", c.tenant, c.since, ids, c.want)
			}
			// Two tenant keys at most, and the entries listed.
			if ct.visited > 2+len(ids) {
				t.Errorf("%q since %#x: %d keys visited for %d entries", c.tenant, c.since, ct.visited, len(ids))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestPruneNotifications: finished notifications older than the cut are
// deleted in bounded batches with every index entry naming them, leave a
// tombstone that keeps their id known until it expires, and unfinished
// or recent ones stay.
func TestPruneNotifications(t *testing.T) {
	st := openNotifySchema(t)
	ctx := context.Background()
	sent := func(id string, endMS int64) *storev1.Notification {
		return &storev1.Notification{Id: id, Tenant: "acme", CreatedUnixMs: 100, Deliveries: []*storev1.Delivery{{Contact: "c",
			State: storev1.DeliveryState_DELIVERY_STATE_SENT, Attempts: []*storev1.Attempt{{StartUnixMs: endMS - 10, EndUnixMs: endMS, Ok: true}}}}}
	}
	err := st.Update(ctx, func(tx store.Tx) error {
		for i := range 5 {
			n := sent(fmt.Sprintf("n%d", i), int64(1000*(i+1)))
			if _, err := schema.PutNotificationIfAbsent(tx, n); err != nil {
				return err
			}
			if err := schema.MarkTestNotification(tx, n); err != nil {
				return err
			}
		}
		// Still queued, created long ago: never pruned.
		q := &storev1.Notification{Id: "queued", Tenant: "acme", CreatedUnixMs: 1, Deliveries: []*storev1.Delivery{{Contact: "c",
			State: storev1.DeliveryState_DELIVERY_STATE_QUEUED, NextAttemptUnixMs: 50}}}
		if _, err := schema.PutNotificationIfAbsent(tx, q); err != nil {
			return err
		}
		if err := schema.QueueDelivery(tx, schema.DeliveryRef{Notification: "queued", DueMS: 50, Lane: "lane-1"}); err != nil {
			return err
		}
		// No delivery at all: final when created.
		if _, err := schema.PutNotificationIfAbsent(tx, &storev1.Notification{Id: "nobody", Tenant: "acme", CreatedUnixMs: 500}); err != nil {
			return err
		}
		return schema.MarkUnrouted(tx, "nobody")
	})
	if err != nil {
		t.Fatal(err)
	}
	prune := func(before, until, now int64) (int, bool) {
		t.Helper()
		var n int
		var more bool
		if err := st.Update(ctx, func(tx store.Tx) error {
			var err error
			n, more, err = schema.PruneNotifications(tx, before, until, now, 2)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n, more
	}
	// Before 4500: nobody (500), n0..n3 (1000..4000), two by two.
	for i, want := range []struct {
		n    int
		more bool
	}{{2, true}, {2, true}, {1, false}} {
		if n, more := prune(4500, 9000, 4500); n != want.n || more != want.more {
			t.Fatalf("batch %d: %d pruned, more %v; want %d, %v", i, n, more, want.n, want.more)
		}
	}
	keys := map[string]bool{}
	if err := st.View(ctx, func(tx store.Tx) error {
		return tx.Scan("notify", func(k string, _ []byte) error { keys[k] = true; return nil })
	}); err != nil {
		t.Fatal(err)
	}
	for k := range keys {
		for _, gone := range []string{"/n0", "/n1", "/n2", "/n3", "/nobody"} {
			if strings.HasSuffix(k, gone) && !strings.HasPrefix(k, "notifytomb") {
				t.Errorf("key %s left behind", k)
			}
		}
	}
	var lanes []string
	err = st.View(ctx, func(tx store.Tx) error {
		for id, want := range map[string]bool{"n0": true, "n3": true, "n4": true, "queued": true, "nobody": true, "never": false} {
			if known, err := schema.NotificationKnown(tx, id); err != nil || known != want {
				t.Errorf("%s known %v %v, want %v", id, known, err, want)
			}
		}
		for _, id := range []string{"n4", "queued"} {
			if _, err := schema.GetNotification(tx, id); err != nil {
				t.Errorf("%s: %v", id, err)
			}
		}
		return schema.DueDeliveries(tx, 1000, func(r schema.DeliveryRef) bool { lanes = append(lanes, r.Lane); return true })
	})
	if err != nil || strings.Join(lanes, ",") != "lane-1" {
		t.Fatalf("queue lanes %v %v", lanes, err)
	}
	// The tombstones expire at 9000; five of them take three batches.
	for i := 0; ; i++ {
		if _, more := prune(0, 0, 9001); !more {
			break
		}
		if i == 3 {
			t.Fatal("tombstone pruning does not end")
		}
	}
	if err := st.View(ctx, func(tx store.Tx) error {
		for _, id := range []string{"n0", "nobody"} {
			if known, err := schema.NotificationKnown(tx, id); err != nil || known {
				t.Errorf("%s known after its tombstone expired: %v %v", id, known, err)
			}
		}
		return tx.Scan("notifytomb", func(k string, _ []byte) error { t.Errorf("tombstone key %s left", k); return nil })
	}); err != nil {
		t.Fatal(err)
	}
}

// TestUnroutedMarks: the marks of notifications with no contact are
// taken once, and HasUnrouted says whether any is left.
func TestUnroutedMarks(t *testing.T) {
	st := openNotifySchema(t)
	err := st.Update(context.Background(), func(tx store.Tx) error {
		if has, err := schema.HasUnrouted(tx); err != nil || has {
			t.Errorf("empty store: has %v %v", has, err)
		}
		for _, id := range []string{"a", "b/1"} {
			if err := schema.MarkUnrouted(tx, id); err != nil {
				return err
			}
		}
		if has, err := schema.HasUnrouted(tx); err != nil || !has {
			t.Errorf("two marks: has %v %v", has, err)
		}
		ids, err := schema.TakeUnrouted(tx)
		if err != nil || strings.Join(ids, ",") != "a,b/1" {
			t.Errorf("taken %v %v", ids, err)
		}
		if has, err := schema.HasUnrouted(tx); err != nil || has {
			t.Errorf("after take: has %v %v", has, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
