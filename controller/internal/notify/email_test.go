package notify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/notify"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

func emailContact(id, tenant, addr string, def bool) *storev1.Contact {
	return &storev1.Contact{Id: id, Tenant: tenant, Kind: storev1.ContactKind_CONTACT_KIND_EMAIL, Address: addr, DefaultContact: def}
}

func firing(id, tenant string, contacts ...string) *storev1.Notification {
	return &storev1.Notification{Id: id, Tenant: tenant, Source: storev1.NotificationSource_NOTIFICATION_SOURCE_ALERT, Kind: "firing",
		AlertId: "al-" + id, Rule: "cpu-high", Agent: "ag-1", Host: "web-01", Subject: "cpu > 95% for 15m on web-01",
		Summary: "cpu at 97% for 15m on web-01", Contacts: contacts}
}

// TestEmailOverSTARTTLS sends through a real SMTP server with STARTTLS
// (its CA trusted through ca_file) and AUTH PLAIN, and checks what
// arrives: subject, Message-ID, the delivery header and the body.
func TestEmailOverSTARTTLS(t *testing.T) {
	ca := newTestCA(t)
	relay := startTestRelay(t, ca, "vigil", "s3cret")
	r := startNotifyRig(t, notify.Options{Email: relay.mailer(t, ca, "s3cret")})
	r.contact(emailContact("ops", "acme", "ops@acme.example", true))
	n := firing("n1", "acme")
	n.Host = "web-01\r\nBcc: victim@example.com"
	r.enqueue(n)
	got := r.waitState("n1", 0, storev1.DeliveryState_DELIVERY_STATE_SENT)
	mails := relay.received()
	if len(mails) != 1 {
		t.Fatalf("relay got %d mails, want 1", len(mails))
	}
	m := mails[0]
	if m.from != "vigil@msp.example" || len(m.to) != 1 || m.to[0] != "ops@acme.example" {
		t.Fatalf("envelope from %q to %v", m.from, m.to)
	}
	for h, want := range map[string]string{
		"subject":          "[vigil] FIRING: cpu > 95% for 15m on web-01",
		"message-id":       "<n1.ops@vigil>",
		"x-vigil-delivery": "n1/ops",
	} {
		if v := mailHeader(t, m.data, h); v != want {
			t.Errorf("header %s = %q, want %q", h, v, want)
		}
	}
	if v := mailHeader(t, m.data, "bcc"); v != "" {
		t.Errorf("a host name injected a Bcc header: %q", v)
	}
	body := string(m.data)
	for _, want := range []string{"cpu at 97% for 15m on web-01", "Tenant:   acme", "Host:     web-01 Bcc: victim@example.com (agent ag-1)",
		"Rule:     cpu-high", "Time:     2026-03-01 12:00:00 UTC", "Alert:    al-n1", "vigilctl alert ack al-n1"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	a := got.GetDeliveries()[0].GetAttempts()
	if len(a) != 1 || !a[0].GetOk() || a[0].GetStartUnixMs() == 0 || a[0].GetEndUnixMs() == 0 {
		t.Fatalf("attempts %v", a)
	}
}

// TestEmailWrongPasswordIsPermanent: the relay answers 535; the delivery
// fails at once, the attempt says why, and the password is not in it.
func TestEmailWrongPasswordIsPermanent(t *testing.T) {
	ca := newTestCA(t)
	relay := startTestRelay(t, ca, "vigil", "s3cret")
	r := startNotifyRig(t, notify.Options{Email: relay.mailer(t, ca, "wrong-pass")})
	r.contact(emailContact("ops", "acme", "ops@acme.example", true))
	r.enqueue(firing("n1", "acme"))
	got := r.waitState("n1", 0, storev1.DeliveryState_DELIVERY_STATE_FAILED)
	a := got.GetDeliveries()[0].GetAttempts()
	if len(a) != 1 || !a[0].GetPermanent() || !strings.Contains(a[0].GetError(), "535") || strings.Contains(a[0].GetError(), "wrong-pass") {
		t.Fatalf("attempts %v", a)
	}
	if len(relay.received()) != 0 {
		t.Fatal("a mail got through with a wrong password")
	}
}

// TestEmailTemporaryFailureRetried: a 451 then acceptance; the retry
// waits for the backoff (30 s ± 10%) on the fake clock.
func TestEmailTemporaryFailureRetried(t *testing.T) {
	ca := newTestCA(t)
	relay := startTestRelay(t, ca, "vigil", "s3cret")
	relay.failNext = 1
	r := startNotifyRig(t, notify.Options{Email: relay.mailer(t, ca, "s3cret")})
	r.contact(emailContact("ops", "acme", "ops@acme.example", true))
	start := r.clock.Now()
	r.enqueue(firing("n1", "acme"))
	notifyWaitFor(t, "first attempt recorded", func() bool {
		d := r.notification("n1").GetDeliveries()[0]
		return d.GetState() == storev1.DeliveryState_DELIVERY_STATE_QUEUED && len(d.GetAttempts()) == 1
	})
	d := r.notification("n1").GetDeliveries()[0]
	if a := d.GetAttempts()[0]; a.GetPermanent() || !strings.Contains(a.GetError(), "451") {
		t.Fatalf("first attempt %v", a)
	}
	if due := time.UnixMilli(d.GetNextAttemptUnixMs()).Sub(start); due != 30*time.Second {
		t.Fatalf("retry due after %s, want 30s (jitter 0.5 is no change)", due)
	}
	r.clock.Advance(29 * time.Second)
	time.Sleep(50 * time.Millisecond)
	if len(relay.received()) != 0 {
		t.Fatal("retried before the backoff")
	}
	r.clock.Advance(time.Second)
	got := r.waitState("n1", 0, storev1.DeliveryState_DELIVERY_STATE_SENT)
	if n := len(got.GetDeliveries()[0].GetAttempts()); n != 2 || len(relay.received()) != 1 {
		t.Fatalf("%d attempts, %d mails", n, len(relay.received()))
	}
}
