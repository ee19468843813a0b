package notify_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-rmm/vigil/controller/internal/notify"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// notifyLogBuffer collects a dispatcher's log lines.
type notifyLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *notifyLogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *notifyLogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestWebhookErrorsHideURL: a webhook URL carries its receiver's secret
// in the path, so neither the attempt record (which client viewers read)
// nor the log may hold it: not for a refused connection (url.Error names
// the URL), nor for a redirect whose target repeats the path.
func TestWebhookErrorsHideURL(t *testing.T) {
	const secretPath = "/services/T0/B0/XXsecretXX"
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://hooks.example"+r.URL.Path, http.StatusMovedPermanently)
	}))
	t.Cleanup(redirect.Close)
	down := reserveAddr(t)
	wh, err := notify.NewWebhooks(notify.WebhookConfig{AllowPrivateNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	logs := &notifyLogBuffer{}
	r := startNotifyRig(t, notify.Options{Webhook: wh, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	r.contact(hookContact("down", "http://"+down+secretPath, storev1.WebhookFormat_WEBHOOK_FORMAT_SLACK))
	r.contact(hookContact("moved", redirect.URL+secretPath, storev1.WebhookFormat_WEBHOOK_FORMAT_JSON))
	r.enqueue(firing("n1", "acme", "down", "moved"))
	n := r.waitState("n1", 1, storev1.DeliveryState_DELIVERY_STATE_FAILED)
	notifyWaitFor(t, "the refused connection recorded", func() bool {
		n = r.notification("n1")
		a := n.GetDeliveries()[0].GetAttempts()
		return len(a) == 1 && a[0].GetEndUnixMs() != 0
	})
	refused, moved := n.GetDeliveries()[0].GetAttempts()[0].GetError(), n.GetDeliveries()[1].GetAttempts()[0].GetError()
	if !strings.Contains(refused, down) || !strings.Contains(refused, "refused") {
		t.Errorf("refused connection: %q should name the host and the cause", refused)
	}
	if !strings.Contains(moved, "HTTP 301") || !strings.Contains(moved, "https://hooks.example/…") {
		t.Errorf("redirect: %q should name the status and the redacted target", moved)
	}
	notifyWaitFor(t, "the attempts logged", func() bool { return strings.Count(logs.String(), "delivery attempt failed") >= 2 })
	for what, text := range map[string]string{"refused attempt": refused, "redirect attempt": moved, "log": logs.String()} {
		if strings.Contains(text, "XXsecretXX") {
			t.Errorf("%s holds the URL's secret path: %s", what, text)
		}
	}
}

// TestWebhookNonGlobalAddresses: the dialer's check refuses every
// address that is not globally reachable, IPv4 embedded in IPv6
// included, and lets public ones through.
func TestWebhookNonGlobalAddresses(t *testing.T) {
	for addr, allowed := range map[string]bool{
		"93.184.216.34:443":           true,
		"[2606:4700:4700::1111]:443":  true,
		"[64:ff9b::5db8:d822]:443":    true, // NAT64 of 93.184.216.34
		"[2002:5db8:d822::1]:443":     true, // 6to4 of 93.184.216.34
		"127.0.0.1:80":                false,
		"10.1.2.3:443":                false,
		"100.64.0.1:443":              false, // shared (CGNAT)
		"100.127.255.254:443":         false,
		"198.18.0.1:443":              false, // benchmarking
		"198.19.255.1:443":            false,
		"0.1.2.3:443":                 false,
		"192.0.0.8:443":               false,
		"240.0.0.1:443":               false,
		"255.255.255.255:443":         false, // broadcast
		"224.0.0.251:5353":            false,
		"169.254.169.254:80":          false, // cloud metadata
		"[::1]:443":                   false,
		"[::]:443":                    false,
		"[::ffff:127.0.0.1]:443":      false, // IPv4-mapped
		"[::ffff:10.0.0.1]:443":       false,
		"[::ffff:169.254.169.254]:80": false,
		"[64:ff9b::a00:1]:443":        false, // NAT64 of 10.0.0.1
		"[64:ff9b::7f00:1]:443":       false, // NAT64 of 127.0.0.1
		"[64:ff9b:1::1]:443":          false, // local-use NAT64
		"[2002:a00:1::1]:443":         false, // 6to4 of 10.0.0.1
		"[2002:7f00:1::1]:443":        false, // 6to4 of 127.0.0.1
		"[2001:0:4136:e378::1]:443":   false, // Teredo
		"[fd00::1]:443":               false,
		"[fe80::1%lo]:443":            false,
		"[ff02::1]:443":               false,
		"[2001:db8::1]:443":           false,
		"not-an-address:443":          false,
	} {
		err := notify.PublicOnly("tcp", addr, nil)
		if allowed && err != nil {
			t.Errorf("%s refused: %v", addr, err)
		}
		if !allowed && (err == nil || !notify.IsPermanent(err)) {
			t.Errorf("%s: %v, want a permanent refusal", addr, err)
		}
	}
}

// TestWebhookRefusedAfterLookup: the check runs at dial time on the
// resolved address, so a host name that resolves to loopback is refused
// like the literal address (and so is a name rebound between lookups).
func TestWebhookRefusedAfterLookup(t *testing.T) {
	checkPrivateRefused(t, "the receiver behind localhost", func(srvURL string) string {
		return strings.Replace(srvURL, "127.0.0.1", "localhost", 1) + "/hook"
	})
}

// TestChatFormatsEscapeMarkup: text from agents (host names, check
// details) cannot write links, mentions or emphasis into a Teams card
// (Markdown) or a Slack message (mrkdwn).
func TestChatFormatsEscapeMarkup(t *testing.T) {
	n := firing("n1", "acme")
	n.Host = "[ack here](https://evil.example/ack)"
	n.Summary = "**urgent** <!here> & _now_"
	teams, err := notify.WebhookBody(n, storev1.WebhookFormat_WEBHOOK_FORMAT_TEAMS)
	if err != nil {
		t.Fatal(err)
	}
	var card struct {
		Attachments []struct {
			Content struct {
				Body []struct {
					Type  string `json:"type"`
					Text  string `json:"text"`
					Facts []struct {
						Title string `json:"title"`
						Value string `json:"value"`
					} `json:"facts"`
				} `json:"body"`
			} `json:"content"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(teams, &card); err != nil || len(card.Attachments) != 1 {
		t.Fatalf("teams body %s: %v", teams, err)
	}
	texts := map[string]string{}
	for _, b := range card.Attachments[0].Content.Body {
		switch b.Type {
		case "TextBlock":
			texts[b.Text] = "text"
		case "FactSet":
			for _, f := range b.Facts {
				texts[f.Value] = f.Title
			}
		}
	}
	for _, want := range []string{`\[ack here\]\(https://evil\.example/ack\)`, `\*\*urgent\*\* \<\!here\> & \_now\_`} {
		if texts[want] == "" {
			t.Errorf("teams card lacks %s: %s", want, teams)
		}
	}
	slack, err := notify.WebhookBody(n, storev1.WebhookFormat_WEBHOOK_FORMAT_SLACK)
	if err != nil {
		t.Fatal(err)
	}
	var msg map[string]any
	if err := json.Unmarshal(slack, &msg); err != nil {
		t.Fatal(err)
	}
	if text, _ := msg["text"].(string); !strings.Contains(text, "**urgent** &lt;!here&gt; &amp; _now_") {
		t.Errorf("slack text %q", text)
	}
	if strings.Contains(string(slack), "<!here>") || strings.Contains(string(slack), `\u003c!here`) {
		t.Errorf("slack body holds a mention: %s", slack)
	}
}
