package notify_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/notify"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// gatedHook is a TLS webhook receiver that holds requests to paths
// starting with /slow until release is closed, and counts calls by
// X-Vigil-Delivery.
type gatedHook struct {
	srv     *httptest.Server
	arrived chan string
	release chan struct{}
	mu      sync.Mutex
	calls   map[string]int
}

func newGatedHook(t *testing.T) *gatedHook {
	t.Helper()
	h := &gatedHook{arrived: make(chan string, 1000), release: make(chan struct{}), calls: map[string]int{}}
	h.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get(notify.HeaderDelivery)
		h.mu.Lock()
		h.calls[key]++
		h.mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/slow") {
			h.arrived <- key
			<-h.release
		}
	}))
	t.Cleanup(func() {
		select {
		case <-h.release:
		default:
			close(h.release)
		}
		h.srv.Close()
	})
	return h
}

func (h *gatedHook) count(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[key]
}

// notifyStateIn reads delivery idx of notification id from st (nil if it
// has no such delivery).
func notifyStateIn(t *testing.T, st store.Store, id string, idx int) *storev1.Delivery {
	t.Helper()
	if ds := notificationIn(t, st, id).GetDeliveries(); idx < len(ds) {
		return ds[idx]
	}
	return nil
}

// TestBacklogBehindBusyAddress: a hundred deliveries wait behind one
// slow receiver. Passes of the dispatcher (another delivery, wakes) skip
// them by their queue entry alone, reading none of their notifications,
// and the other receiver is served meanwhile.
func TestBacklogBehindBusyAddress(t *testing.T) {
	hook := newGatedHook(t)
	base := tempNotifyStore(t)
	st := &notifyStore{Store: base}
	r := startNotifyRigOn(t, st, notify.Options{Webhook: notify.NewWebhooksWithClient(hook.srv.Client())})
	r.contact(hookContact("slow", hook.srv.URL+"/slow", storev1.WebhookFormat_WEBHOOK_FORMAT_JSON))
	r.contact(hookContact("fast", hook.srv.URL+"/fast", storev1.WebhookFormat_WEBHOOK_FORMAT_JSON))
	const backlog = 100
	if err := base.Update(context.Background(), func(tx store.Tx) error {
		for i := range backlog {
			n := firing(fmt.Sprintf("b%03d", i), "acme", "slow")
			n.CreatedUnixMs = r.clock.Now().UnixMilli()
			if _, err := notify.Enqueue(tx, n); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r.d.Wake()
	<-hook.arrived
	before := st.notificationReads()
	r.enqueue(firing("f1", "acme", "fast"))
	notifyWaitFor(t, "the fast receiver served", func() bool {
		d := notifyStateIn(t, base, "f1", 0)
		return d.GetState() == storev1.DeliveryState_DELIVERY_STATE_SENT
	})
	for range 5 {
		r.d.Wake()
		time.Sleep(10 * time.Millisecond)
	}
	// f1's claim and finish read it; the backlog costs nothing.
	if reads := st.notificationReads() - before; reads > 4 {
		t.Fatalf("%d notification reads while %d deliveries waited behind a busy address", reads, backlog-1)
	}
	close(hook.release)
	notifyWaitFor(t, "the backlog delivered", func() bool {
		return notifyStateIn(t, base, fmt.Sprintf("b%03d", backlog-1), 0).GetState() == storev1.DeliveryState_DELIVERY_STATE_SENT
	})
	for i := range backlog {
		if c := hook.count(fmt.Sprintf("b%03d/slow", i)); c != 1 {
			t.Fatalf("b%03d: %d calls", i, c)
		}
	}
}

// TestOutcomeRecordRetried: when the transaction recording a send's
// outcome fails (a full disk), the dispatcher retries it with backoff
// instead of leaving the delivery SENDING until a restart, and the
// receiver is called once.
func TestOutcomeRecordRetried(t *testing.T) {
	base := tempNotifyStore(t)
	st := &notifyStore{Store: base}
	srv := newHookServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		// The claim is committed; the outcome's transaction and the
		// first retry fail.
		st.failNext(2)
	}))
	r := startNotifyRigOn(t, st, notify.Options{Webhook: notify.NewWebhooksWithClient(srv.Client())})
	r.contact(hookContact("h", srv.URL, storev1.WebhookFormat_WEBHOOK_FORMAT_JSON))
	r.enqueue(firing("n1", "acme", "h"))
	notifyWaitFor(t, "the outcome recorded after the store recovered", func() bool {
		if notifyStateIn(t, base, "n1", 0).GetState() == storev1.DeliveryState_DELIVERY_STATE_SENT {
			return true
		}
		// Retries wait 1 s, then 2 s, on the dispatcher's clock.
		r.clock.Advance(time.Second)
		return false
	})
	if a := notifyStateIn(t, base, "n1", 0).GetAttempts(); len(a) != 1 || !a[0].GetOk() {
		t.Fatalf("attempts %v", a)
	}
	if st.failing() != 0 {
		t.Fatal("the injected failures were not all met")
	}
}

// TestPeriodicRecovery: a delivery left SENDING by no worker is settled
// within a minute while the dispatcher runs (sent again with its
// idempotency key); one a worker is sending is left alone.
func TestPeriodicRecovery(t *testing.T) {
	hook := newGatedHook(t)
	r := startNotifyRig(t, notify.Options{Webhook: notify.NewWebhooksWithClient(hook.srv.Client())})
	r.contact(hookContact("slow", hook.srv.URL+"/slow", storev1.WebhookFormat_WEBHOOK_FORMAT_JSON))
	r.contact(hookContact("h", hook.srv.URL+"/h", storev1.WebhookFormat_WEBHOOK_FORMAT_JSON))
	r.enqueue(firing("held", "acme", "slow"))
	<-hook.arrived
	// What a worker that could not record its outcome leaves behind.
	err := r.st.Update(context.Background(), func(tx store.Tx) error {
		n := firing("orphan", "acme", "h")
		n.CreatedUnixMs = r.clock.Now().UnixMilli()
		n.Deliveries = []*storev1.Delivery{{Contact: "h", Kind: storev1.ContactKind_CONTACT_KIND_WEBHOOK, Address: hook.srv.URL + "/h",
			State: storev1.DeliveryState_DELIVERY_STATE_SENDING, Attempts: []*storev1.Attempt{{StartUnixMs: r.clock.Now().UnixMilli()}}}}
		if _, err := schema.PutNotificationIfAbsent(tx, n); err != nil {
			return err
		}
		return schema.MarkSending(tx, schema.DeliveryRef{Notification: "orphan", Index: 0})
	})
	if err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(61 * time.Second)
	n := r.waitState("orphan", 0, storev1.DeliveryState_DELIVERY_STATE_SENT)
	if a := n.GetDeliveries()[0].GetAttempts(); len(a) != 2 || !strings.Contains(a[0].GetError(), "outcome unknown") || !a[1].GetOk() {
		t.Fatalf("orphan attempts %v", a)
	}
	if held := r.notification("held").GetDeliveries()[0]; held.GetState() != storev1.DeliveryState_DELIVERY_STATE_SENDING ||
		len(held.GetAttempts()) != 1 || held.GetAttempts()[0].GetError() != "" {
		t.Fatalf("the delivery in flight was settled: %v", held)
	}
	close(hook.release)
	n = r.waitState("held", 0, storev1.DeliveryState_DELIVERY_STATE_SENT)
	if a := n.GetDeliveries()[0].GetAttempts(); len(a) != 1 || !a[0].GetOk() || hook.count("held/slow") != 1 {
		t.Fatalf("held attempts %v, %d calls", a, hook.count("held/slow"))
	}
}

// TestRetentionPrunes: an hour (the retention here) after its last
// delivery ended, a notification is deleted with its index entries; its
// id stays refused for another retention, then may be queued again.
func TestRetentionPrunes(t *testing.T) {
	sink := &hookSink{}
	srv := newHookServer(t, sink)
	r := startNotifyRig(t, notify.Options{Webhook: notify.NewWebhooksWithClient(srv.Client()), Retention: time.Hour})
	r.contact(hookContact("h", srv.URL, storev1.WebhookFormat_WEBHOOK_FORMAT_JSON))
	r.enqueue(firing("n1", "acme", "h"))
	r.waitState("n1", 0, storev1.DeliveryState_DELIVERY_STATE_SENT)
	r.enqueue(firing("nobody", "acme")) // no default contact: final at once
	r.clock.Advance(30 * time.Minute)
	r.enqueue(firing("n2", "acme", "h"))
	r.waitState("n2", 0, storev1.DeliveryState_DELIVERY_STATE_SENT)

	r.clock.Advance(31 * time.Minute)
	notifyWaitFor(t, "n1 pruned", func() bool { return !r.has("n1") })
	if r.has("nobody") || !r.has("n2") {
		t.Fatalf("after 61 minutes: nobody kept %v, n2 kept %v; want only n2", r.has("nobody"), r.has("n2"))
	}
	var ids []string
	if err := r.st.View(context.Background(), func(tx store.Tx) error {
		return schema.NotificationIDs(tx, "acme", 0, func(id string, _ int64) error { ids = append(ids, id); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(ids, ",") != "n2" {
		t.Fatalf("log index %v, want n2 only", ids)
	}
	if ok, err := enqueueIn(t, r.st, firing("n1", "acme", "h")); ok || err != nil {
		t.Fatalf("a pruned id queued again within its tombstone: %v %v", ok, err)
	}
	r.clock.Advance(2 * time.Hour)
	notifyWaitFor(t, "n1's tombstone expired", func() bool {
		ok, err := enqueueIn(t, r.st, firing("n1", "acme", "h"))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	})
}

// TestUnroutedLoggedOnce: a notification with no contact to go to is
// logged once, however many passes the dispatcher makes afterwards.
func TestUnroutedLoggedOnce(t *testing.T) {
	logs := &notifyLogBuffer{}
	r := startNotifyRig(t, notify.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	r.enqueue(firing("nobody", "acme"))
	notifyWaitFor(t, "the unrouted notification logged", func() bool { return strings.Contains(logs.String(), "notification=nobody") })
	for range 5 {
		r.d.Wake()
		time.Sleep(10 * time.Millisecond)
	}
	if n := strings.Count(logs.String(), "has no contact"); n != 1 {
		t.Fatalf("logged %d times:\n%s", n, logs.String())
	}
}
