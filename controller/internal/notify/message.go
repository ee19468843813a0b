package notify

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Message is one delivery to send.
type Message struct {
	// Notification is what to say (a copy the sender may read freely).
	Notification *storev1.Notification
	// Delivery is where to: kind, address, webhook format.
	Delivery *storev1.Delivery
	// Secret signs a webhook body.
	Secret string
	// Now is the attempt's start, the time a webhook signature carries.
	Now time.Time
}

// Key is the delivery's idempotency key, "<notification-id>/<contact-id>":
// every attempt of one delivery carries the same key, so a receiver drops
// the duplicate of a send whose outcome the controller could not record.
func (m *Message) Key() string { return m.Notification.GetId() + "/" + m.Delivery.GetContact() }

// Sender sends one message over one channel. Errors marked with Permanent
// are not retried; others are, with backoff.
type Sender interface {
	Send(ctx context.Context, m *Message) error
}

// Title is "FIRING: cpu > 95% for 15m on web-01": the kind, then the
// subject.
func Title(n *storev1.Notification) string {
	s := n.GetSubject()
	if s == "" {
		s = n.GetSummary()
	}
	s = oneLine(s)
	// The checker and alert evaluation start their subjects with the kind
	// ("DOWN: tcp db01:5432", "REPEAT 2: cpu > 95% ..."), which reads well
	// in a notification list; the label is not added again.
	if producerPrefix.MatchString(s) {
		return s
	}
	return label(n.GetKind()) + ": " + s
}

// producerPrefix matches the kind prefixes producers write.
var producerPrefix = regexp.MustCompile(`^(FIRING|REPEAT( [0-9]+)?|ESCALATION|RESOLVED|DOWN|UP|SUSPENDED|RESUMED): `)

// EmailSubject is "[vigil] " and the title.
func EmailSubject(n *storev1.Notification) string { return "[vigil] " + Title(n) }

// EmailBody is the plain-text body: what happened, where, when, and how
// to acknowledge it. Every line comes from oneLine, so no field can add
// lines of its own.
func EmailBody(n *storev1.Notification) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", Title(n))
	if s := oneLine(n.GetSummary()); s != "" {
		fmt.Fprintf(&b, "%s\n\n", s)
	}
	row := func(name, v string) {
		if v = oneLine(v); v != "" {
			fmt.Fprintf(&b, "%-9s %s\n", name+":", v)
		}
	}
	row("Tenant", n.GetTenant())
	host := n.GetHost()
	if n.GetAgent() != "" {
		host = strings.TrimSpace(host + " (agent " + n.GetAgent() + ")")
	}
	row("Host", host)
	row("Rule", n.GetRule())
	row("Check", n.GetCheck())
	row("Time", time.UnixMilli(n.GetCreatedUnixMs()).UTC().Format("2006-01-02 15:04:05 UTC"))
	row("Alert", n.GetAlertId())
	if a := oneLine(n.GetAlertId()); a != "" && n.GetSource() == storev1.NotificationSource_NOTIFICATION_SOURCE_ALERT && n.GetKind() != "resolved" {
		fmt.Fprintf(&b, "\nTo acknowledge it (and stop repeats): vigilctl alert ack %s\n", a)
	}
	fmt.Fprintf(&b, "\n-- \nSent by vigil. Notification %s.\n", oneLine(n.GetId()))
	return b.String()
}

// SMSBody is at most 160 characters: "vigil FIRING: " and the summary (or
// subject), cut with "…".
func SMSBody(n *storev1.Notification) string {
	s := oneLine(n.GetSummary())
	if s == "" {
		s = oneLine(n.GetSubject())
	}
	return truncateRunes("vigil "+label(n.GetKind())+": "+s, MaxSMS)
}

// MaxSMS is the longest SMS body, in characters.
const MaxSMS = 160

// messageID is the Message-ID of a delivery's email, without the angle
// brackets: "<notification-id>.<contact-id>@vigil" with every character
// a Message-ID may not hold replaced, so it is the same on every attempt.
func messageID(notification, contact string) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-/=?^_`{|}~.", r)) {
				return r
			}
			return '_'
		}, s)
	}
	return clean(notification) + "." + clean(contact) + "@vigil"
}
