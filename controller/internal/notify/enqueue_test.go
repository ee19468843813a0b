package notify_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-rmm/vigil/controller/internal/notify"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

func enqueueIn(t *testing.T, st store.Store, n *storev1.Notification) (bool, error) {
	t.Helper()
	var ok bool
	err := st.Update(context.Background(), func(tx store.Tx) error {
		var err error
		ok, err = notify.Enqueue(tx, n)
		return err
	})
	return ok, err
}

// TestEnqueueOncePerID: the same event twice is one notification with
// one delivery per contact, and the queue index holds each once.
func TestEnqueueOncePerID(t *testing.T) {
	st := tempNotifyStore(t)
	ctx := context.Background()
	if err := st.Update(ctx, func(tx store.Tx) error {
		return errors.Join(schema.PutContact(tx, emailContact("a", "acme", "a@acme.example", true)),
			schema.PutContact(tx, emailContact("b", "acme", "b@acme.example", true)),
			schema.PutContact(tx, emailContact("c", "acme", "c@acme.example", false)),
			schema.PutContact(tx, emailContact("x", "beta", "x@beta.example", true)))
	}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false} {
		ok, err := enqueueIn(t, st, firing("n1", "acme"))
		if err != nil || ok != want {
			t.Fatalf("enqueue %d: %v %v, want %v", i, ok, err, want)
		}
	}
	// Explicit contacts: a duplicate, an unknown id, another tenant's.
	if _, err := enqueueIn(t, st, firing("n2", "acme", "c", "c", "nope", "x")); err != nil {
		t.Fatal(err)
	}
	// No contacts at all: stored, without deliveries.
	if _, err := enqueueIn(t, st, firing("n3", "empty")); err != nil {
		t.Fatal(err)
	}
	err := st.View(ctx, func(tx store.Tx) error {
		n1, err := schema.GetNotification(tx, "n1")
		if err != nil {
			return err
		}
		var to []string
		for _, d := range n1.GetDeliveries() {
			to = append(to, d.GetContact()+"="+d.GetState().String())
		}
		if got := strings.Join(to, ","); got != "a=DELIVERY_STATE_QUEUED,b=DELIVERY_STATE_QUEUED" {
			t.Errorf("n1 deliveries %s", got)
		}
		n2, err := schema.GetNotification(tx, "n2")
		if err != nil {
			return err
		}
		if ds := n2.GetDeliveries(); len(ds) != 3 || ds[0].GetContact() != "nope" || ds[1].GetContact() != "x" ||
			ds[0].GetState() != storev1.DeliveryState_DELIVERY_STATE_FAILED || ds[0].GetAttempts()[0].GetError() != notify.NoSuchContact ||
			ds[1].GetState() != storev1.DeliveryState_DELIVERY_STATE_FAILED || ds[2].GetContact() != "c" {
			t.Errorf("n2 deliveries %v", ds)
		}
		n3, err := schema.GetNotification(tx, "n3")
		if err != nil || len(n3.GetDeliveries()) != 0 {
			t.Errorf("n3 %v %v", n3, err)
		}
		var due []string
		if err := schema.DueDeliveries(tx, 1<<62, func(r schema.DeliveryRef) bool {
			due = append(due, fmt.Sprintf("%s/%d", r.Notification, r.Index))
			return true
		}); err != nil {
			return err
		}
		if got := strings.Join(due, ","); got != "n1/0,n2/2,n1/1" && got != "n1/0,n1/1,n2/2" {
			t.Errorf("queue %s", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestEnqueueLimits(t *testing.T) {
	st := tempNotifyStore(t)
	many := firing("n1", "acme")
	for i := range notify.MaxContacts + 1 {
		many.Contacts = append(many.Contacts, fmt.Sprintf("c%d", i))
	}
	for name, n := range map[string]*storev1.Notification{
		"no id":         {Tenant: "acme"},
		"no tenant":     {Id: "n1"},
		"spaces in id":  {Id: "n 1", Tenant: "acme"},
		"long id":       {Id: strings.Repeat("x", notify.MaxIDLen+1), Tenant: "acme"},
		"many contacts": many,
	} {
		if _, err := enqueueIn(t, st, n); !errors.Is(err, notify.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	long := firing("n2", "acme")
	long.Subject, long.Summary = strings.Repeat("s", 500), strings.Repeat("é", 800)
	if ok, err := enqueueIn(t, st, long); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if len(long.GetSubject()) > notify.MaxSubject || len(long.GetSummary()) > notify.MaxSummary || !strings.HasSuffix(long.GetSummary(), "…") {
		t.Fatalf("cut to %d and %d bytes", len(long.GetSubject()), len(long.GetSummary()))
	}
}
