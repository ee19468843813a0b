package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vigil-rmm/vigil/internal/version"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Webhook headers.
const (
	HeaderDelivery  = "X-Vigil-Delivery"
	HeaderTimestamp = "X-Vigil-Timestamp"
	HeaderSignature = "X-Vigil-Signature"
)

// Limits of a webhook call.
const (
	WebhookTimeout = 10 * time.Second
	// maxResponse is how much of a response body is read.
	maxResponse = 64 << 10
)

// Webhooks posts notifications to webhook URLs.
type Webhooks struct {
	client *http.Client
}

var _ Sender = (*Webhooks)(nil)

// NewWebhooks returns the webhook sender: 10 s per call, no redirects
// followed, no proxy from the environment, and (unless
// cfg.AllowPrivateNetworks) no loopback, private or link-local peer.
func NewWebhooks(cfg WebhookConfig) (*Webhooks, error) {
	pool, err := certPool("notify.webhook.ca_file", cfg.CAFile)
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: WebhookTimeout}
	if !cfg.AllowPrivateNetworks {
		dialer.Control = publicOnly
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         dialer.DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: WebhookTimeout,
		MaxIdleConns:        16,
		IdleConnTimeout:     90 * time.Second,
	}
	return NewWebhooksWithClient(&http.Client{Transport: tr}), nil
}

// NewWebhooksWithClient returns a webhook sender on c, which it adjusts:
// a 10 s timeout and no redirects followed.
func NewWebhooksWithClient(c *http.Client) *Webhooks {
	cc := *c
	cc.Timeout = WebhookTimeout
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Webhooks{client: &cc}
}

// CloseIdleConnections closes kept-alive connections.
func (w *Webhooks) CloseIdleConnections() { w.client.CloseIdleConnections() }

// errPrivate refuses a webhook peer inside the MSP's network.
var errPrivate = errors.New("address is not globally reachable: loopback, private, link-local, shared, reserved or multicast (notify.webhook.allow_private_networks is off)")

// nonGlobal are the prefixes a webhook may not reach unless
// allow_private_networks is on: every IANA special-purpose block that is
// not globally reachable (RFC 6890 and its updates), multicast and the
// IPv6 transition blocks that carry no IPv4 address to check. IPv4
// embedded in IPv6 (mapped, NAT64 64:ff9b::/96, 6to4 2002::/16) is
// unwrapped first and checked as IPv4.
var nonGlobal = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network"
		"10.0.0.0/8",      // private
		"100.64.0.0/10",   // shared address space (carrier-grade NAT)
		"127.0.0.0/8",     // loopback
		"169.254.0.0/16",  // link-local (cloud metadata services)
		"172.16.0.0/12",   // private
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // documentation
		"192.88.99.0/24",  // 6to4 relay anycast (deprecated)
		"192.168.0.0/16",  // private
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"224.0.0.0/4",     // multicast
		"240.0.0.0/4",     // reserved, and 255.255.255.255 broadcast
		"::/96",           // unspecified, loopback, IPv4-compatible (deprecated)
		"64:ff9b:1::/48",  // local-use NAT64
		"100::/64",        // discard-only
		"2001::/23",       // IETF protocol assignments: Teredo 2001::/32, benchmarking, ORCHID
		"2001:db8::/32",   // documentation
		"3fff::/20",       // documentation
		"5f00::/16",       // segment routing SIDs
		"fc00::/7",        // unique local
		"fe80::/10",       // link-local
		"fec0::/10",       // site-local (deprecated)
		"ff00::/8",        // multicast
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// globalUnicast reports whether a webhook may reach ip: it is not in
// nonGlobal, nor is the IPv4 address it embeds.
func globalUnicast(ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		b := ip.As16()
		switch {
		case nat64.Contains(ip):
			ip = netip.AddrFrom4([4]byte(b[12:16]))
		case sixToFour.Contains(ip):
			ip = netip.AddrFrom4([4]byte(b[2:6]))
		}
	}
	if !ip.IsValid() {
		return false
	}
	for _, p := range nonGlobal {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// publicOnly is a net.Dialer Control refusing addresses that are not
// globally reachable. The dialer calls it with the resolved address of
// each connection it opens, after the name lookup, so a name that
// resolves (or is rebound between lookups) to such an address is refused
// too.
func publicOnly(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return Permanent(fmt.Errorf("%s: %w", address, errPrivate))
	}
	if !globalUnicast(ap.Addr()) {
		return Permanent(fmt.Errorf("%s: %w", ap.Addr(), errPrivate))
	}
	return nil
}

// RedactURL is a webhook URL without its credentials: chat services put
// their secret in the path (Slack's /services/T…/B…/X…), so only the
// scheme and host are kept, as "https://hooks.slack.com/…". Anything that
// does not parse as a URL with a host becomes "…".
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || strings.ContainsAny(u.Host, "@ ") {
		return "…"
	}
	scheme := u.Scheme
	if scheme == "" {
		scheme = "http"
	}
	return scheme + "://" + u.Host + "/…"
}

// webhookError is err without the URL: a *url.Error (what http.Client
// and url.Parse return) names the full URL, credentials in the path
// included, so it is replaced with its operation, the host and the inner
// error, and any other mention of the URL or its path is redacted. The
// result still wraps the inner error (Permanent marks included).
func webhookError(raw string, err error) error {
	msg, inner := err.Error(), err
	var ue *url.Error
	if errors.As(err, &ue) {
		host := "…"
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			host = u.Host
		}
		msg, inner = ue.Op+" "+host+": "+ue.Err.Error(), ue.Err
	}
	if raw != "" {
		msg = strings.ReplaceAll(msg, raw, RedactURL(raw))
		if u, perr := url.Parse(raw); perr == nil && len(u.Path) > 1 {
			msg = strings.ReplaceAll(msg, u.Path, "/…")
		}
	}
	return &redactedError{msg: "webhook: " + msg, err: inner}
}

// redactedError is an error whose text was rewritten to hide a secret.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Send implements Sender.
func (w *Webhooks) Send(ctx context.Context, m *Message) error {
	body, err := WebhookBody(m.Notification, m.Delivery.GetFormat())
	if err != nil {
		return Permanent(err)
	}
	addr := m.Delivery.GetAddress()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, addr, bytes.NewReader(body))
	if err != nil {
		return Permanent(webhookError(addr, err))
	}
	ts := strconv.FormatInt(m.Now.Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "vigil/"+version.Version)
	req.Header.Set(HeaderDelivery, m.Key())
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(m.Secret, ts, body))
	resp, err := w.client.Do(req)
	if err != nil {
		// The error is logged and stored in the attempt record, which
		// client viewers read: it must not carry the URL.
		return webhookError(addr, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	return httpStatus("webhook", resp)
}

// httpStatus is nil for a 2xx, a retried error for 408, 429 and 5xx, and
// a permanent one otherwise (3xx included: redirects are not followed).
func httpStatus(what string, resp *http.Response) error {
	c := resp.StatusCode
	switch {
	case c >= 200 && c < 300:
		return nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return fmt.Errorf("%s: HTTP %d", what, c)
	case c >= 300 && c < 400:
		// The target often repeats the secret path (http to https): only
		// its scheme and host are shown.
		return Permanent(fmt.Errorf("%s: HTTP %d redirect to %s not followed; configure the final URL", what, c,
			truncateBytes(oneLine(RedactURL(resp.Header.Get("Location"))), 200)))
	default:
		return Permanent(fmt.Errorf("%s: HTTP %d", what, c))
	}
}

// Sign is the X-Vigil-Signature value of body sent at timestamp (unix
// seconds, as sent in X-Vigil-Timestamp): "v1=" and the hex
// HMAC-SHA256 of timestamp + "." + body under secret.
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("notify: no X-Vigil-Signature or X-Vigil-Timestamp header")
	ErrStale        = errors.New("notify: X-Vigil-Timestamp too far from now (replayed?)")
	ErrBadSignature = errors.New("notify: X-Vigil-Signature does not match the body")
)

// Verify checks a webhook call as a receiver should: the timestamp is
// within tolerance of now (so a recorded call cannot be replayed later)
// and one of the "v1=" signatures in X-Vigil-Signature (comma-separated)
// is the HMAC of timestamp + "." + body under secret. Receivers also
// drop a repeated X-Vigil-Delivery value: it is the same on every attempt
// of one delivery.
func Verify(secret string, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	ts, sigs := header.Get(HeaderTimestamp), header.Get(HeaderSignature)
	if ts == "" || sigs == "" {
		return ErrNoSignature
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: X-Vigil-Timestamp %q is not unix seconds", ErrNoSignature, ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: %s off", ErrStale, d.Round(time.Second))
	}
	want := Sign(secret, ts, body)
	for _, s := range strings.Split(sigs, ",") {
		if hmac.Equal([]byte(strings.TrimSpace(s)), []byte(want)) {
			return nil
		}
	}
	return ErrBadSignature
}

// WebhookDocument is the body of a "json" webhook.
type WebhookDocument struct {
	ID      string `json:"id"`
	Tenant  string `json:"tenant"`
	Source  string `json:"source"`
	Kind    string `json:"kind"`
	AlertID string `json:"alert_id"`
	Rule    string `json:"rule"`
	Check   string `json:"check"`
	Agent   string `json:"agent"`
	Host    string `json:"host"`
	Subject string `json:"subject"`
	Summary string `json:"summary"`
	// Time is when the event happened, RFC 3339 in UTC.
	Time string `json:"time"`
}

// sourceNames name sources in documents.
var sourceNames = map[storev1.NotificationSource]string{
	storev1.NotificationSource_NOTIFICATION_SOURCE_ALERT:  "alert",
	storev1.NotificationSource_NOTIFICATION_SOURCE_CHECK:  "check",
	storev1.NotificationSource_NOTIFICATION_SOURCE_SYSTEM: "system",
}

// SourceName is "alert", "check", "system" or "".
func SourceName(s storev1.NotificationSource) string { return sourceNames[s] }

// Document is n as the "json" webhook format carries it.
func Document(n *storev1.Notification) WebhookDocument {
	return WebhookDocument{ID: n.GetId(), Tenant: n.GetTenant(), Source: SourceName(n.GetSource()), Kind: n.GetKind(),
		AlertID: n.GetAlertId(), Rule: n.GetRule(), Check: n.GetCheck(), Agent: n.GetAgent(), Host: n.GetHost(),
		Subject: n.GetSubject(), Summary: n.GetSummary(), Time: time.UnixMilli(n.GetCreatedUnixMs()).UTC().Format(time.RFC3339)}
}

// WebhookBody is the body for format.
func WebhookBody(n *storev1.Notification, format storev1.WebhookFormat) ([]byte, error) {
	switch format {
	case storev1.WebhookFormat_WEBHOOK_FORMAT_SLACK:
		return json.Marshal(slackBody(n))
	case storev1.WebhookFormat_WEBHOOK_FORMAT_TEAMS:
		return json.Marshal(teamsBody(n))
	case storev1.WebhookFormat_WEBHOOK_FORMAT_JSON, storev1.WebhookFormat_WEBHOOK_FORMAT_UNSPECIFIED:
		return json.Marshal(Document(n))
	default:
		return nil, fmt.Errorf("webhook format %d unknown", format)
	}
}

// facts are the "name: value" lines of chat formats.
func facts(n *storev1.Notification) [][2]string {
	var out [][2]string
	for _, f := range [][2]string{{"Tenant", n.GetTenant()}, {"Host", n.GetHost()}, {"Agent", n.GetAgent()}, {"Rule", n.GetRule()},
		{"Check", n.GetCheck()}, {"Alert", n.GetAlertId()},
		{"Time", time.UnixMilli(n.GetCreatedUnixMs()).UTC().Format("2006-01-02 15:04:05 UTC")}} {
		if v := oneLine(f[1]); v != "" {
			out = append(out, [2]string{f[0], v})
		}
	}
	return out
}

// slackEscape escapes the three characters Slack's mrkdwn gives meaning
// (so agent text cannot write a link or an @channel mention).
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(oneLine(s))
}

func slackBody(n *storev1.Notification) map[string]any {
	title := "*[vigil] " + slackEscape(Title(n)) + "*"
	text := title
	if s := slackEscape(n.GetSummary()); s != "" {
		text += "\n" + s
	}
	var ctx []map[string]string
	for _, f := range facts(n) {
		ctx = append(ctx, map[string]string{"type": "mrkdwn", "text": "*" + f[0] + ":* " + slackEscape(f[1])})
	}
	blocks := []map[string]any{{"type": "section", "text": map[string]string{"type": "mrkdwn", "text": text}}}
	if len(ctx) > 0 {
		// Slack allows at most 10 elements in a context block.
		blocks = append(blocks, map[string]any{"type": "context", "elements": ctx[:min(len(ctx), 10)]})
	}
	return map[string]any{"text": text, "blocks": blocks}
}

// teamsMarkdown lists the characters Adaptive Card text gives meaning to
// (its Markdown subset: emphasis, links, lists, headings, code, HTML-like
// tags); teamsEscape puts a backslash before each.
const teamsMarkdown = "\\`*_{}[]()<>#+-.!|~"

// teamsEscape escapes every Markdown metacharacter of s (flattened to one
// line), so text from an agent (a host name, a check's detail) cannot
// write a link, a list or emphasis into the card; it shows as typed.
func teamsEscape(s string) string {
	s = oneLine(s)
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(teamsMarkdown, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func teamsBody(n *storev1.Notification) map[string]any {
	var fs []map[string]string
	for _, f := range facts(n) {
		fs = append(fs, map[string]string{"title": teamsEscape(f[0]), "value": teamsEscape(f[1])})
	}
	body := []map[string]any{
		{"type": "TextBlock", "text": teamsEscape("[vigil] " + Title(n)), "weight": "Bolder", "size": "Medium", "wrap": true},
	}
	if s := teamsEscape(n.GetSummary()); s != "" {
		body = append(body, map[string]any{"type": "TextBlock", "text": s, "wrap": true})
	}
	if len(fs) > 0 {
		body = append(body, map[string]any{"type": "FactSet", "facts": fs})
	}
	return map[string]any{
		"type": "message",
		"attachments": []map[string]any{{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"contentUrl":  nil,
			"content": map[string]any{
				"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
				"type":    "AdaptiveCard",
				"version": "1.4",
				"body":    body,
			},
		}},
	}
}
