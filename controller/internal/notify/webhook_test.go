package notify_test

import (
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/notify"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

func hookContact(id, url string, f storev1.WebhookFormat) *storev1.Contact {
	return &storev1.Contact{Id: id, Tenant: "acme", Kind: storev1.ContactKind_CONTACT_KIND_WEBHOOK, Address: url, Format: f,
		WebhookSecret: "vgl_whsec_" + id}
}

// caFileOf writes a TLS test server's certificate as a PEM file.
func caFileOf(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hooks-ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestWebhookFormatsSigned posts the three formats to a TLS receiver
// whose CA is trusted through notify.webhook.ca_file, and verifies every
// body's signature with Verify.
func TestWebhookFormatsSigned(t *testing.T) {
	sink := &hookSink{}
	srv := httptest.NewTLSServer(sink)
	t.Cleanup(srv.Close)
	wh, err := notify.NewWebhooks(notify.WebhookConfig{CAFile: caFileOf(t, srv), AllowPrivateNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	r := startNotifyRig(t, notify.Options{Webhook: wh})
	formats := map[string]storev1.WebhookFormat{"j": storev1.WebhookFormat_WEBHOOK_FORMAT_JSON,
		"s": storev1.WebhookFormat_WEBHOOK_FORMAT_SLACK, "m": storev1.WebhookFormat_WEBHOOK_FORMAT_TEAMS}
	for id, f := range formats {
		r.contact(hookContact(id, srv.URL+"/hook/"+id, f))
	}
	n := firing("n1", "acme", "j", "s", "m")
	n.Summary = "cpu at 97% <!channel> on web-01"
	r.enqueue(n)
	for i := range 3 {
		r.waitState("n1", i, storev1.DeliveryState_DELIVERY_STATE_SENT)
	}
	got := sink.got()
	if len(got) != 3 {
		t.Fatalf("%d calls, want 3", len(got))
	}
	for _, rc := range got {
		key := rc.header.Get(notify.HeaderDelivery)
		id := strings.TrimPrefix(key, "n1/")
		if err := notify.Verify("vgl_whsec_"+id, rc.header, rc.body, r.clock.Now(), 5*time.Minute); err != nil {
			t.Errorf("%s: %v", key, err)
		}
		if err := notify.Verify("vgl_whsec_other", rc.header, rc.body, r.clock.Now(), 5*time.Minute); !errors.Is(err, notify.ErrBadSignature) {
			t.Errorf("%s: another secret verified: %v", key, err)
		}
		if err := notify.Verify("vgl_whsec_"+id, rc.header, rc.body, r.clock.Now().Add(time.Hour), 5*time.Minute); !errors.Is(err, notify.ErrStale) {
			t.Errorf("%s: an hour-old call verified: %v", key, err)
		}
		if ct, ua := rc.header.Get("Content-Type"), rc.header.Get("User-Agent"); ct != "application/json" || !strings.HasPrefix(ua, "vigil/") {
			t.Errorf("%s: content type %q, user agent %q", key, ct, ua)
		}
		var doc map[string]any
		if err := json.Unmarshal(rc.body, &doc); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		switch id {
		case "j":
			if doc["id"] != "n1" || doc["kind"] != "firing" || doc["host"] != "web-01" || doc["time"] != "2026-03-01T12:00:00Z" || doc["source"] != "alert" {
				t.Errorf("json document %v", doc)
			}
		case "s":
			text, _ := doc["text"].(string)
			if !strings.Contains(text, "FIRING: cpu &gt; 95%") || !strings.Contains(text, "&lt;!channel&gt;") || doc["blocks"] == nil {
				t.Errorf("slack body %s", rc.body)
			}
		case "m":
			att, _ := doc["attachments"].([]any)
			if doc["type"] != "message" || len(att) != 1 || att[0].(map[string]any)["contentType"] != "application/vnd.microsoft.card.adaptive" {
				t.Errorf("teams body %s", rc.body)
			}
		}
	}
}

// TestWebhookRetryThenPermanent: a 500 then a 200 is retried after the
// backoff (fake clock); a 400 fails at once.
func TestWebhookRetryThenPermanent(t *testing.T) {
	retry, bad := &hookSink{answers: []int{500}}, &hookSink{answers: []int{400}}
	srvRetry, srvBad := httptest.NewTLSServer(retry), httptest.NewTLSServer(bad)
	t.Cleanup(srvRetry.Close)
	t.Cleanup(srvBad.Close)
	// Both test servers share one certificate: one client trusts both.
	r := startNotifyRig(t, notify.Options{Webhook: notify.NewWebhooksWithClient(srvRetry.Client())})
	r.contact(hookContact("retry", srvRetry.URL, storev1.WebhookFormat_WEBHOOK_FORMAT_JSON))
	r.contact(hookContact("bad", srvBad.URL, storev1.WebhookFormat_WEBHOOK_FORMAT_JSON))
	r.enqueue(firing("n1", "acme", "retry", "bad"))
	n := r.waitState("n1", 1, storev1.DeliveryState_DELIVERY_STATE_FAILED)
	if a := n.GetDeliveries()[1].GetAttempts(); len(a) != 1 || !a[0].GetPermanent() || !strings.Contains(a[0].GetError(), "HTTP 400") {
		t.Fatalf("400 attempts %v", a)
	}
	notifyWaitFor(t, "the 500 recorded", func() bool {
		return len(r.notification("n1").GetDeliveries()[0].GetAttempts()) == 1 &&
			r.notification("n1").GetDeliveries()[0].GetState() == storev1.DeliveryState_DELIVERY_STATE_QUEUED
	})
	r.clock.Advance(31 * time.Second)
	n = r.waitState("n1", 0, storev1.DeliveryState_DELIVERY_STATE_SENT)
	a := n.GetDeliveries()[0].GetAttempts()
	if len(a) != 2 || a[0].GetPermanent() || !strings.Contains(a[0].GetError(), "HTTP 500") || !a[1].GetOk() {
		t.Fatalf("retry attempts %v", a)
	}
	got := retry.got()
	if len(got) != 2 || got[0].header.Get(notify.HeaderDelivery) != got[1].header.Get(notify.HeaderDelivery) {
		t.Fatalf("calls %d; the retry must carry the same X-Vigil-Delivery", len(got))
	}
	if len(bad.got()) != 1 {
		t.Fatalf("the 400 receiver was called %d times", len(bad.got()))
	}
}

// TestWebhookPrivateNetworkRefused: by default a webhook may not reach a
// loopback address (client approvers create webhooks).
func TestWebhookPrivateNetworkRefused(t *testing.T) {
	checkPrivateRefused(t, "the loopback receiver", func(srvURL string) string { return srvURL })
}

// checkPrivateRefused runs a receiver on loopback and a dispatcher with
// the default webhook settings, and queues a notification to the URL
// hookURL makes of the receiver's: the delivery fails at once, naming the
// setting that would allow it, and the receiver is never called.
func checkPrivateRefused(t *testing.T, receiver string, hookURL func(srvURL string) string) {
	t.Helper()
	sink := &hookSink{}
	srv := httptest.NewServer(sink)
	t.Cleanup(srv.Close)
	wh, err := notify.NewWebhooks(notify.WebhookConfig{})
	if err != nil {
		t.Fatal(err)
	}
	r := startNotifyRig(t, notify.Options{Webhook: wh})
	r.contact(hookContact("h", hookURL(srv.URL), storev1.WebhookFormat_WEBHOOK_FORMAT_JSON))
	r.enqueue(firing("n1", "acme", "h"))
	n := r.waitState("n1", 0, storev1.DeliveryState_DELIVERY_STATE_FAILED)
	if a := n.GetDeliveries()[0].GetAttempts(); len(a) != 1 || !a[0].GetPermanent() || !strings.Contains(a[0].GetError(), "allow_private_networks") {
		t.Fatalf("attempts %v", a)
	}
	if len(sink.got()) != 0 {
		t.Fatalf("%s was called", receiver)
	}
}

// TestBackoff checks the schedule: 30s, 1m, 2m, 4m … capped at 30m.
func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 4: 4 * time.Minute,
		6: 16 * time.Minute, 7: 30 * time.Minute, 20: 30 * time.Minute} {
		if got := notify.Backoff(n, 30*time.Second, 30*time.Minute, 0.5); got != want {
			t.Errorf("retry %d: %s, want %s", n, got, want)
		}
	}
	if lo, hi := notify.Backoff(1, 30*time.Second, 30*time.Minute, 0), notify.Backoff(1, 30*time.Second, 30*time.Minute, 0.999); lo != 27*time.Second || hi < 32*time.Second {
		t.Errorf("jitter range %s..%s, want 27s..33s", lo, hi)
	}
}

func TestVerifyMissingHeaders(t *testing.T) {
	if err := notify.Verify("s", http.Header{}, nil, time.Now(), time.Minute); !errors.Is(err, notify.ErrNoSignature) {
		t.Fatal(err)
	}
}
