package schema

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vigil-rmm/vigil/controller/internal/store"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Notifications, their delivery queue, contacts and SMS credits:
//
//	contacts/<contact-id>                         storev1.Contact
//	contactidx/<tenant>/<contact-id>              empty: a tenant's contacts
//	notifications/<notification-id>               storev1.Notification with its deliveries
//	notifylog/<tenant>/<created-ms>/<id>          empty: a tenant's notifications in time order
//	notifyq/<due-ms>/<index>/<id>                 empty: a queued delivery, by due time
//	notifysending/<index>/<id>                    empty: a delivery whose send is under way
//	notifyunrouted/<id>                           empty: a notification with no contact to go to
//	smscredits/<tenant>                           storev1.SmsCredits
//
// ms values are unix milliseconds as 16 lower-case hex digits and index is
// the delivery's position in the notification (from 0) as 4 hex digits,
// so a prefix scan of notifyq/ returns due work in time order without
// reading any notification. The id comes last because a producer's id may
// contain "/".

const (
	notificationsPrefix = "notifications/"
	contactsPrefix      = "contacts/"
	contactIdxPrefix    = "contactidx/"
	notifyLogPrefix     = "notifylog/"
	notifyQueuePrefix   = "notifyq/"
	notifySendingPrefix = "notifysending/"
	notifyUnrouted      = "notifyunrouted/"
	smsCreditsPrefix    = "smscredits/"
)

// MaxDeliveries is the most deliveries a notification holds (its contacts
// and the email redirects of its SMS deliveries); the index has 4 hex
// digits.
const MaxDeliveries = 0xffff

func notificationKey(id string) string { return notificationsPrefix + id }

func hex16(v int64) string {
	if v < 0 {
		v = 0
	}
	return fmt.Sprintf("%016x", v)
}

func notifyLogKey(n *storev1.Notification) string {
	return notifyLogPrefix + n.GetTenant() + "/" + hex16(n.GetCreatedUnixMs()) + "/" + n.GetId()
}

// GetNotification returns store.ErrNotFound if absent.
func GetNotification(tx store.Tx, id string) (*storev1.Notification, error) {
	n := &storev1.Notification{}
	return n, getProto(tx, notificationKey(id), n)
}

// PutNotificationIfAbsent stores n and its tenant's log entry unless a
// notification with its id exists, and reports whether it stored it. It
// does not queue the deliveries: see QueueDelivery.
func PutNotificationIfAbsent(tx store.Tx, n *storev1.Notification) (bool, error) {
	if _, err := tx.Get(notificationKey(n.GetId())); err == nil {
		return false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	if err := tx.Put(notifyLogKey(n), nil); err != nil {
		return false, err
	}
	return true, putProto(tx, notificationKey(n.GetId()), n)
}

// PutNotification rewrites a stored notification (its deliveries change;
// its tenant and creation time never do).
func PutNotification(tx store.Tx, n *storev1.Notification) error {
	return putProto(tx, notificationKey(n.GetId()), n)
}

// NotificationIDs calls fn with the ids of tenant's notifications created
// at or after sinceMS, oldest first ("" visits every tenant's, ordered by
// tenant then time). It reads only the log index.
func NotificationIDs(tx store.Tx, tenant string, sinceMS int64, fn func(id string, createdMS int64) error) error {
	prefix := notifyLogPrefix
	if tenant != "" {
		prefix += tenant + "/"
	}
	return tx.Scan(prefix, func(key string, _ []byte) error {
		// tenant/<ms>/<id>; the tenant has no "/", the id may.
		parts := strings.SplitN(strings.TrimPrefix(key, notifyLogPrefix), "/", 3)
		if len(parts) != 3 {
			return fmt.Errorf("schema: bad notification log key %q", key)
		}
		ms, err := strconv.ParseInt(parts[1], 16, 64)
		if err != nil {
			return fmt.Errorf("schema: bad notification log key %q: %w", key, err)
		}
		if ms < sinceMS {
			return nil
		}
		return fn(parts[2], ms)
	})
}

// DeleteNotification deletes a notification, its log entry and every
// queue entry of its deliveries.
func DeleteNotification(tx store.Tx, n *storev1.Notification) error {
	for i, d := range n.GetDeliveries() {
		ref := DeliveryRef{Notification: n.GetId(), Index: i, DueMS: d.GetNextAttemptUnixMs()}
		if err := UnqueueDelivery(tx, ref); err != nil {
			return err
		}
		if err := ClearSending(tx, ref); err != nil {
			return err
		}
	}
	for _, k := range []string{notificationKey(n.GetId()), notifyLogKey(n), notifyUnrouted + n.GetId()} {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// DeliveryRef names one delivery of one notification.
type DeliveryRef struct {
	// Notification is the notification id.
	Notification string
	// Index is the delivery's position in the notification's deliveries.
	Index int
	// DueMS is when it is due (unix milliseconds), for queue entries.
	DueMS int64
}

func (r DeliveryRef) indexPart() string { return fmt.Sprintf("%04x", r.Index) }

func queueKey(r DeliveryRef) string {
	return notifyQueuePrefix + hex16(r.DueMS) + "/" + r.indexPart() + "/" + r.Notification
}

func sendingKey(r DeliveryRef) string {
	return notifySendingPrefix + r.indexPart() + "/" + r.Notification
}

func checkRef(r DeliveryRef) error {
	if r.Index < 0 || r.Index > MaxDeliveries {
		return fmt.Errorf("schema: delivery index %d out of range", r.Index)
	}
	return nil
}

// QueueDelivery indexes a queued delivery under its due time.
func QueueDelivery(tx store.Tx, r DeliveryRef) error {
	if err := checkRef(r); err != nil {
		return err
	}
	return tx.Put(queueKey(r), nil)
}

// UnqueueDelivery removes a delivery's queue entry (absent: no error).
func UnqueueDelivery(tx store.Tx, r DeliveryRef) error { return tx.Delete(queueKey(r)) }

// DueDeliveries calls fn for queued deliveries due at or before nowMS,
// earliest first, until fn returns false. It stops at the first entry not
// yet due, so it reads only due entries and the next one.
func DueDeliveries(tx store.Tx, nowMS int64, fn func(DeliveryRef) bool) error {
	err := tx.Scan(notifyQueuePrefix, func(key string, _ []byte) error {
		r, err := parseQueueKey(key)
		if err != nil {
			return err
		}
		if r.DueMS > nowMS || !fn(r) {
			return errScanDone
		}
		return nil
	})
	if errors.Is(err, errScanDone) {
		return nil
	}
	return err
}

// NextDue returns the due time of the earliest queued delivery, or false
// when the queue is empty.
func NextDue(tx store.Tx) (int64, bool, error) {
	var (
		due   int64
		found bool
	)
	err := tx.Scan(notifyQueuePrefix, func(key string, _ []byte) error {
		r, err := parseQueueKey(key)
		if err != nil {
			return err
		}
		due, found = r.DueMS, true
		return errScanDone
	})
	if errors.Is(err, errScanDone) {
		err = nil
	}
	return due, found, err
}

// errScanDone ends a scan early.
var errScanDone = errors.New("scan done")

func parseQueueKey(key string) (DeliveryRef, error) {
	parts := strings.SplitN(strings.TrimPrefix(key, notifyQueuePrefix), "/", 3)
	if len(parts) != 3 {
		return DeliveryRef{}, fmt.Errorf("schema: bad queue key %q", key)
	}
	due, err1 := strconv.ParseInt(parts[0], 16, 64)
	idx, err2 := strconv.ParseInt(parts[1], 16, 32)
	if err := errors.Join(err1, err2); err != nil {
		return DeliveryRef{}, fmt.Errorf("schema: bad queue key %q: %w", key, err)
	}
	return DeliveryRef{Notification: parts[2], Index: int(idx), DueMS: due}, nil
}

// MarkSending records that a delivery's send is under way, so a
// controller that stops before recording the outcome finds it at start.
func MarkSending(tx store.Tx, r DeliveryRef) error {
	if err := checkRef(r); err != nil {
		return err
	}
	return tx.Put(sendingKey(r), nil)
}

// ClearSending removes a delivery's sending entry (absent: no error).
func ClearSending(tx store.Tx, r DeliveryRef) error { return tx.Delete(sendingKey(r)) }

// SendingDeliveries returns every delivery marked as being sent.
func SendingDeliveries(tx store.Tx) ([]DeliveryRef, error) {
	var out []DeliveryRef
	err := tx.Scan(notifySendingPrefix, func(key string, _ []byte) error {
		idx, id, ok := strings.Cut(strings.TrimPrefix(key, notifySendingPrefix), "/")
		i, err := strconv.ParseInt(idx, 16, 32)
		if !ok || err != nil {
			return fmt.Errorf("schema: bad sending key %q", key)
		}
		out = append(out, DeliveryRef{Notification: id, Index: int(i)})
		return nil
	})
	return out, err
}

// MarkUnrouted records a notification that had no contact to go to, for
// the dispatcher to log once.
func MarkUnrouted(tx store.Tx, id string) error { return tx.Put(notifyUnrouted+id, nil) }

// TakeUnrouted returns and deletes every unrouted mark.
func TakeUnrouted(tx store.Tx) ([]string, error) {
	var ids []string
	if err := tx.Scan(notifyUnrouted, func(key string, _ []byte) error {
		ids = append(ids, strings.TrimPrefix(key, notifyUnrouted))
		return nil
	}); err != nil {
		return nil, err
	}
	for _, id := range ids {
		if err := tx.Delete(notifyUnrouted + id); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// Contacts. Contact ids are unique across tenants, so every command and
// every rule or check names a contact by its id alone.

func contactKey(id string) string { return contactsPrefix + id }

func contactIdxKey(tenant, id string) string { return contactIdxPrefix + tenant + "/" + id }

// GetContact returns store.ErrNotFound if absent. Callers compare its
// tenant with the tenant of whatever refers to it.
func GetContact(tx store.Tx, id string) (*storev1.Contact, error) {
	c := &storev1.Contact{}
	return c, getProto(tx, contactKey(id), c)
}

// PutContact writes a contact and its tenant index entry.
func PutContact(tx store.Tx, c *storev1.Contact) error {
	if err := tx.Put(contactIdxKey(c.GetTenant(), c.GetId()), nil); err != nil {
		return err
	}
	return putProto(tx, contactKey(c.GetId()), c)
}

// DeleteContact deletes a contact and its index entry (absent: no error).
func DeleteContact(tx store.Tx, c *storev1.Contact) error {
	if err := tx.Delete(contactIdxKey(c.GetTenant(), c.GetId())); err != nil {
		return err
	}
	return tx.Delete(contactKey(c.GetId()))
}

// ContactIDs returns the ids of tenant's contacts, ordered.
func ContactIDs(tx store.Tx, tenant string) ([]string, error) {
	var ids []string
	p := contactIdxPrefix + tenant + "/"
	err := tx.Scan(p, func(key string, _ []byte) error {
		ids = append(ids, strings.TrimPrefix(key, p))
		return nil
	})
	return ids, err
}

// ListContacts returns tenant's contacts ordered by id ("" lists every
// tenant's, ordered by id).
func ListContacts(tx store.Tx, tenant string) ([]*storev1.Contact, error) {
	if tenant == "" {
		return listProto(tx, contactsPrefix, func() *storev1.Contact { return &storev1.Contact{} })
	}
	ids, err := ContactIDs(tx, tenant)
	if err != nil {
		return nil, err
	}
	out := make([]*storev1.Contact, 0, len(ids))
	for _, id := range ids {
		c, err := GetContact(tx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// SMS credits.

func smsCreditsKey(tenant string) string { return smsCreditsPrefix + tenant }

// GetSmsCredits returns tenant's SMS credits; a tenant that never had any
// gets an empty record, not an error.
func GetSmsCredits(tx store.Tx, tenant string) (*storev1.SmsCredits, error) {
	c := &storev1.SmsCredits{}
	err := getProto(tx, smsCreditsKey(tenant), c)
	if errors.Is(err, store.ErrNotFound) {
		return &storev1.SmsCredits{Tenant: tenant}, nil
	}
	return c, err
}

// PutSmsCredits writes a tenant's SMS credits.
func PutSmsCredits(tx store.Tx, c *storev1.SmsCredits) error {
	return putProto(tx, smsCreditsKey(c.GetTenant()), c)
}
