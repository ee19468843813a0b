package notify_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vigil-rmm/vigil/controller/internal/notify"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

func (r *notifyRig) credits(tenant string) *storev1.SmsCredits {
	r.t.Helper()
	var c *storev1.SmsCredits
	if err := r.st.View(context.Background(), func(tx store.Tx) error {
		var err error
		c, err = schema.GetSmsCredits(tx, tenant)
		return err
	}); err != nil {
		r.t.Fatal(err)
	}
	return c
}

func (r *notifyRig) addCredits(tenant string, delta int64) {
	r.t.Helper()
	if err := r.st.Update(context.Background(), func(tx store.Tx) error {
		_, err := notify.AddCredits(tx, tenant, delta, 0, "admin", "test", r.clock.Now())
		return err
	}); err != nil {
		r.t.Fatal(err)
	}
}

func (r *notifyRig) has(id string) bool {
	var ok bool
	_ = r.st.View(context.Background(), func(tx store.Tx) error {
		_, err := schema.GetNotification(tx, id)
		ok = err == nil
		return nil
	})
	return ok
}

// TestSMSCreditsAndRedirect: each SMS goes to the Twilio-speaking server
// and takes a credit; the first to reach the threshold sends one
// low-credit warning by email; with no credit left the message goes by
// email (to the SMTP server) instead; a top-up re-arms the warning.
func TestSMSCreditsAndRedirect(t *testing.T) {
	ca := newTestCA(t)
	relay := startTestRelay(t, ca, "vigil", "s3cret")
	tw := startTwilioFake(t)
	r := startNotifyRig(t, notify.Options{Email: relay.mailer(t, ca, "s3cret"), SMS: tw.sender(t)})
	r.contact(&storev1.Contact{Id: "pager", Tenant: "acme", Kind: storev1.ContactKind_CONTACT_KIND_SMS, Address: "+33612345678",
		FallbackEmail: "pager@acme.example"})
	r.contact(emailContact("boss", "acme", "boss@acme.example", true))
	// Threshold 1, balance 2: the first SMS reaches it.
	if err := r.st.Update(context.Background(), func(tx store.Tx) error {
		_, err := notify.AddCredits(tx, "acme", 2, 1, "admin", "first pack", r.clock.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}

	r.enqueue(firing("n1", "acme", "pager"))
	r.waitState("n1", 0, storev1.DeliveryState_DELIVERY_STATE_SENT)
	r.waitState("sms-low-acme-1", 0, storev1.DeliveryState_DELIVERY_STATE_SENT)
	if tw.count() != 1 {
		t.Fatalf("after one SMS: %d sent", tw.count())
	}
	tw.mu.Lock()
	msg := tw.messages[0]
	tw.mu.Unlock()
	if msg["To"] != "+33612345678" || msg["From"] != "+15005550006" || !strings.HasPrefix(msg["Body"], "vigil FIRING: cpu at 97%") {
		t.Fatalf("form %v", msg)
	}

	r.enqueue(firing("n2", "acme", "pager"))
	r.waitState("n2", 0, storev1.DeliveryState_DELIVERY_STATE_SENT)
	if c := r.credits("acme"); c.GetBalance() != 0 || c.GetUsed() != 2 || c.GetLowWarnedUnix() == 0 {
		t.Fatalf("credits %v", c)
	}

	n := firing("n3", "acme", "pager")
	n.Summary = strings.Repeat("disk full on web-01 ", 20)
	r.enqueue(n)
	r.waitState("n3", 0, storev1.DeliveryState_DELIVERY_STATE_REDIRECTED)
	got := r.waitState("n3", 1, storev1.DeliveryState_DELIVERY_STATE_SENT)
	if d := got.GetDeliveries()[1]; d.GetAddress() != "pager@acme.example" || d.GetRedirectOf() != 1 || d.GetKind() != storev1.ContactKind_CONTACT_KIND_EMAIL {
		t.Fatalf("redirect delivery %v", d)
	}
	if tw.count() != 2 {
		t.Fatalf("%d SMS sent with no credit left", tw.count())
	}
	// One warning for the whole run of low balance: the boss got it and
	// the redirect went to the fallback address.
	to := map[string]int{}
	for _, m := range relay.received() {
		to[m.to[0]]++
	}
	if to["boss@acme.example"] != 1 || to["pager@acme.example"] != 1 || len(to) != 2 {
		t.Fatalf("mails %v", to)
	}

	r.addCredits("acme", 5)
	if c := r.credits("acme"); c.GetBalance() != 5 || c.GetLowWarnedUnix() != 0 {
		t.Fatalf("after top-up %v", c)
	}
	r.addCredits("acme", -4)
	if r.has("sms-low-acme-2") {
		t.Fatal("warned before an SMS hit the low balance")
	}
	r.enqueue(firing("n4", "acme", "pager"))
	r.waitState("n4", 0, storev1.DeliveryState_DELIVERY_STATE_SENT)
	r.waitState("sms-low-acme-2", 0, storev1.DeliveryState_DELIVERY_STATE_SENT)
	if c := r.credits("acme"); c.GetBalance() != 0 || c.GetUsed() != 3 {
		t.Fatalf("credits %v", c)
	}
	r.addCredits("acme", -10)
	if c := r.credits("acme"); c.GetBalance() != 0 || len(c.GetChanges()) != 4 {
		t.Fatalf("a correction went below 0: %v", c)
	}
}

// TestSMSRefusedRefunds: a provider 400 is permanent and gives the credit
// back.
func TestSMSRefusedRefunds(t *testing.T) {
	tw := startTwilioFake(t)
	tw.status = 400
	r := startNotifyRig(t, notify.Options{SMS: tw.sender(t)})
	r.contact(&storev1.Contact{Id: "pager", Tenant: "acme", Kind: storev1.ContactKind_CONTACT_KIND_SMS, Address: "+33612345678"})
	r.addCredits("acme", 50)
	r.enqueue(firing("n1", "acme", "pager"))
	n := r.waitState("n1", 0, storev1.DeliveryState_DELIVERY_STATE_FAILED)
	if a := n.GetDeliveries()[0].GetAttempts(); len(a) != 1 || !a[0].GetPermanent() || !strings.Contains(a[0].GetError(), "21211") {
		t.Fatalf("attempts %v", a)
	}
	if c := r.credits("acme"); c.GetBalance() != 50 || c.GetUsed() != 0 {
		t.Fatalf("credits %v", c)
	}
}

func TestSMSBodyFits(t *testing.T) {
	b := notify.SMSBody(&storev1.Notification{Kind: "down", Summary: strings.Repeat("é", 300)})
	if utf8.RuneCountInString(b) != notify.MaxSMS || !strings.HasSuffix(b, "…") {
		t.Fatalf("%d characters: %q", utf8.RuneCountInString(b), b)
	}
}

// TestSMSProvider5xxOutcomeUnknown: a 5xx answer comes after the
// provider read the message, which it may have sent: the SMS is not
// retried nor refunded, and the message goes by email instead.
func TestSMSProvider5xxOutcomeUnknown(t *testing.T) {
	ca := newTestCA(t)
	relay := startTestRelay(t, ca, "vigil", "s3cret")
	tw := startTwilioFake(t)
	tw.status = 502
	r := startNotifyRig(t, notify.Options{Email: relay.mailer(t, ca, "s3cret"), SMS: tw.sender(t)})
	r.contact(&storev1.Contact{Id: "pager", Tenant: "acme", Kind: storev1.ContactKind_CONTACT_KIND_SMS, Address: "+33612345678",
		FallbackEmail: "pager@acme.example"})
	r.addCredits("acme", 50)
	r.enqueue(firing("n1", "acme", "pager"))
	n := r.waitState("n1", 1, storev1.DeliveryState_DELIVERY_STATE_SENT)
	sms := n.GetDeliveries()[0]
	if sms.GetState() != storev1.DeliveryState_DELIVERY_STATE_UNKNOWN || len(sms.GetAttempts()) != 1 ||
		!strings.Contains(sms.GetAttempts()[0].GetError(), "outcome unknown") || !strings.Contains(sms.GetAttempts()[0].GetError(), "502") {
		t.Fatalf("sms delivery %v", sms)
	}
	if d := n.GetDeliveries()[1]; d.GetAddress() != "pager@acme.example" || d.GetRedirectOf() != 1 {
		t.Fatalf("redirect %v", d)
	}
	r.clock.Advance(time.Hour)
	// Time for a retry, were one wrongly due, to reach the provider.
	time.Sleep(50 * time.Millisecond)
	tw.mu.Lock()
	hits := tw.hits
	tw.mu.Unlock()
	if hits != 1 {
		t.Fatalf("the provider was asked %d times; an SMS is never sent twice", hits)
	}
	if c := r.credits("acme"); c.GetBalance() != 49 || c.GetUsed() != 1 {
		t.Fatalf("credits %v: the credit of a message that may have gone stays taken", c)
	}
}

// TestSMSRefundAfterClampedCorrection: an admin correction cut at 0
// while an SMS was being sent took that SMS's credit too; when the
// provider then refuses the SMS, the refund does not bring it back.
// Without such a correction a refusal gives the credit back.
func TestSMSRefundAfterClampedCorrection(t *testing.T) {
	tw := startTwilioFake(t)
	tw.status = 400
	tw.arrived, tw.release = make(chan struct{}), make(chan struct{})
	r := startNotifyRig(t, notify.Options{SMS: tw.sender(t)})
	r.contact(&storev1.Contact{Id: "pager", Tenant: "acme", Kind: storev1.ContactKind_CONTACT_KIND_SMS, Address: "+33612345678"})
	r.addCredits("acme", 5)

	r.enqueue(firing("n1", "acme", "pager"))
	<-tw.arrived
	r.addCredits("acme", 2) // a top-up meanwhile: the refund stands
	tw.release <- struct{}{}
	r.waitState("n1", 0, storev1.DeliveryState_DELIVERY_STATE_FAILED)
	if c := r.credits("acme"); c.GetBalance() != 7 || c.GetUsed() != 0 {
		t.Fatalf("after a refused SMS and a top-up: %v, want balance 7", c)
	}

	r.enqueue(firing("n2", "acme", "pager"))
	<-tw.arrived
	r.addCredits("acme", -100) // "remove every credit": cut at 0
	tw.release <- struct{}{}
	r.waitState("n2", 0, storev1.DeliveryState_DELIVERY_STATE_FAILED)
	if c := r.credits("acme"); c.GetBalance() != 0 || c.GetUsed() != 0 {
		t.Fatalf("after a refused SMS and a correction to 0: %v, want balance 0", c)
	}
}

// TestSMSAnySuccessStatus: a 2xx answer other than 200 and 201 means the
// provider took the message, whatever its body says: it is not an error
// (which would send the SMS again).
func TestSMSAnySuccessStatus(t *testing.T) {
	tw := startTwilioFake(t)
	tw.status = http.StatusAccepted // answered with a code and a message
	m := &notify.Message{Notification: firing("n1", "acme"), Delivery: &storev1.Delivery{Contact: "pager", Address: "+33612345678"}}
	if err := tw.sender(t).Send(context.Background(), m); err != nil {
		t.Fatalf("HTTP 202: %v", err)
	}
}
