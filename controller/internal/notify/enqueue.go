package notify

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Limits of a notification.
const (
	// MaxIDLen bounds a notification id.
	MaxIDLen = 200
	// MaxSubject and MaxSummary bound the texts, in bytes; longer ones are
	// cut (ending with "…") rather than refused, so a long host name never
	// loses the event.
	MaxSubject = 200
	MaxSummary = 1000
	// MaxContacts bounds the contacts one notification names.
	MaxContacts = 20
	// maxField bounds the other text fields (tenant, rule, host, ...).
	maxField = 256
)

// NoSuchContact is the attempt error of a delivery to a contact that does
// not exist (or belongs to another tenant).
const NoSuchContact = "no such contact"

// Enqueue queues n in tx unless a notification with the same id is already
// queued (or was delivered, or was pruned less than a retention period
// ago), and reports whether it queued it. The caller
// commits tx, then wakes the dispatcher.
//
// n names its contacts by id; with none it goes to the tenant's default
// contacts. An unknown contact id becomes a FAILED delivery saying
// NoSuchContact; a notification with no contact at all is stored (it shows
// in `vigilctl notifications list`) and logged once by the dispatcher.
// Enqueue fills n.Deliveries; deliveries the caller set are ignored.
func Enqueue(tx store.Tx, n *storev1.Notification) (bool, error) {
	if err := normalize(n); err != nil {
		return false, err
	}
	// A notification pruned after its retention keeps a tombstone as
	// long again, so a producer replaying the event is still refused.
	if known, err := schema.NotificationKnown(tx, n.GetId()); err != nil || known {
		return false, err
	}
	ds, err := expand(tx, n.GetTenant(), n.GetContacts(), nil)
	if err != nil {
		return false, err
	}
	n.Deliveries = ds
	return put(tx, n)
}

// put stores n and queues its deliveries.
func put(tx store.Tx, n *storev1.Notification) (bool, error) {
	ok, err := schema.PutNotificationIfAbsent(tx, n)
	if err != nil || !ok {
		return ok, err
	}
	if len(n.GetDeliveries()) == 0 {
		return true, schema.MarkUnrouted(tx, n.GetId())
	}
	for i, d := range n.GetDeliveries() {
		if d.GetState() == storev1.DeliveryState_DELIVERY_STATE_QUEUED {
			if err := queue(tx, n, i); err != nil {
				return false, err
			}
		}
	}
	return true, nil
}

// normalize checks n and cuts its texts to their limits.
func normalize(n *storev1.Notification) error {
	switch id := n.GetId(); {
	case id == "":
		return invalid("id", "required: the event's stable id")
	case len(id) > MaxIDLen:
		return invalid("id", "%d bytes, at most %d", len(id), MaxIDLen)
	case strings.ContainsFunc(id, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) || !utf8.ValidString(id):
		return invalid("id", "%q has spaces or control characters", id)
	}
	if n.GetTenant() == "" {
		return invalid("tenant", "required")
	}
	if len(n.GetContacts()) > MaxContacts {
		return invalid("contacts", "%d contacts, at most %d", len(n.GetContacts()), MaxContacts)
	}
	for _, f := range []*string{&n.Tenant, &n.Kind, &n.AlertId, &n.Rule, &n.Check, &n.Agent, &n.Host} {
		*f = truncateBytes(oneLine(*f), maxField)
	}
	n.Subject = truncateBytes(oneLine(n.GetSubject()), MaxSubject)
	n.Summary = truncateBytes(oneLine(n.GetSummary()), MaxSummary)
	if n.GetCreatedUnixMs() <= 0 {
		n.CreatedUnixMs = time.Now().UnixMilli()
	}
	// The same contact named twice is told once.
	var ids []string
	for _, c := range n.GetContacts() {
		if !slices.Contains(ids, c) {
			ids = append(ids, c)
		}
	}
	n.Contacts = ids
	return nil
}

// expand resolves contact ids (none: the tenant's default contacts, kept
// to the kinds in only if only is not nil) into deliveries due at once.
func expand(tx store.Tx, tenant string, ids []string, only []storev1.ContactKind) ([]*storev1.Delivery, error) {
	var contacts []*storev1.Contact
	var out []*storev1.Delivery
	if len(ids) == 0 {
		all, err := schema.ListContacts(tx, tenant)
		if err != nil {
			return nil, fmt.Errorf("default contacts of %s: %w", tenant, err)
		}
		for _, c := range all {
			if c.GetDefaultContact() && (only == nil || slices.Contains(only, c.GetKind())) {
				contacts = append(contacts, c)
			}
		}
	}
	for _, id := range ids {
		c, err := schema.GetContact(tx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && c.GetTenant() != tenant) {
			out = append(out, &storev1.Delivery{Contact: id, State: storev1.DeliveryState_DELIVERY_STATE_FAILED,
				Attempts: []*storev1.Attempt{{Error: NoSuchContact, Permanent: true}}})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("contact %s: %w", id, err)
		}
		contacts = append(contacts, c)
	}
	for _, c := range contacts {
		out = append(out, deliveryTo(c))
	}
	return out, nil
}

// deliveryTo is a queued delivery to c, due at once. It copies what it
// needs from c, so editing or deleting c later does not change it.
func deliveryTo(c *storev1.Contact) *storev1.Delivery {
	return &storev1.Delivery{Contact: c.GetId(), Kind: c.GetKind(), Address: c.GetAddress(), Format: c.GetFormat(),
		State: storev1.DeliveryState_DELIVERY_STATE_QUEUED, FallbackEmail: c.GetFallbackEmail(), WebhookSecret: c.GetWebhookSecret()}
}
