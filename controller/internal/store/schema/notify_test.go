package schema_test

import (
	"context"
	"errors"
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
