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
//	notifyq/<due-ms>/<index>/<id>                 lane: a queued delivery, by due time
//	notifysending/<index>/<id>                    empty: a delivery whose send is under way
//	notifyunrouted/<id>                           empty: a notification with no contact to go to
//	notifydone/<final-ms>/<id>                    empty: a notification every delivery of which is final
//	notifytomb/<id>                               <until-ms>: a pruned notification's id, still refused
//	notifytombexp/<until-ms>/<id>                 empty: tombstones by expiry
//	notifytest/<tenant>/<created-ms>/<id>         empty: a tenant's test notifications
//	smscredits/<tenant>                           storev1.SmsCredits
//
// ms values are unix milliseconds as 16 lower-case hex digits and index is
// the delivery's position in the notification (from 0) as 4 hex digits,
// so a prefix scan of notifyq/ returns due work in time order without
// reading any notification; its value, the lane, names the delivery's
// address (DeliveryRef.Lane) so the dispatcher can skip a busy address
// without reading the notification either. notifydone/ orders finished
// notifications by when they finished, for pruning, and notifytomb/ keeps
// a pruned id from being queued again. The id comes last because a
// producer's id may contain "/".

const (
	notificationsPrefix = "notifications/"
	contactsPrefix      = "contacts/"
	contactIdxPrefix    = "contactidx/"
	notifyLogPrefix     = "notifylog/"
	notifyQueuePrefix   = "notifyq/"
	notifySendingPrefix = "notifysending/"
	notifyUnrouted      = "notifyunrouted/"
	notifyDonePrefix    = "notifydone/"
	notifyTombPrefix    = "notifytomb/"
	notifyTombExpPrefix = "notifytombexp/"
	notifyTestPrefix    = "notifytest/"
	smsCreditsPrefix    = "smscredits/"
)

// maxLane bounds a queue entry's lane.
const maxLane = 64

// MaxDeliveries is the most deliveries a notification holds (its contacts
// and the email redirects of its SMS deliveries); the index has 4 hex
// digits.
const MaxDeliveries = 0xffff

func notificationKey(id string) string { return notificationsPrefix + id }

func notifyLogKey(n *storev1.Notification) string {
	return notifyLogPrefix + n.GetTenant() + "/" + histTime(n.GetCreatedUnixMs()) + "/" + n.GetId()
}

func notifyTestKey(n *storev1.Notification) string {
	return notifyTestPrefix + n.GetTenant() + "/" + histTime(n.GetCreatedUnixMs()) + "/" + n.GetId()
}

func notifyTombKey(id string) string { return notifyTombPrefix + id }

// GetNotification returns store.ErrNotFound if absent.
func GetNotification(tx store.Tx, id string) (*storev1.Notification, error) {
	n := &storev1.Notification{}
	return n, getProto(tx, notificationKey(id), n)
}

// NotificationKnown reports whether a notification with id is stored, or
// was stored and pruned less than a retention period ago (its tombstone
// is still there): either way, queueing it again would tell people twice
// about one event.
func NotificationKnown(tx store.Tx, id string) (bool, error) {
	for _, k := range []string{notificationKey(id), notifyTombKey(id)} {
		if _, err := tx.Get(k); err == nil {
			return true, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return false, err
		}
	}
	return false, nil
}

// PutNotificationIfAbsent stores n and its tenant's log entry unless a
// notification with its id is known (NotificationKnown), and reports
// whether it stored it. It does not queue the deliveries: see
// QueueDelivery.
func PutNotificationIfAbsent(tx store.Tx, n *storev1.Notification) (bool, error) {
	if known, err := NotificationKnown(tx, n.GetId()); err != nil || known {
		return false, err
	}
	if err := tx.Put(notifyLogKey(n), nil); err != nil {
		return false, err
	}
	return true, PutNotification(tx, n)
}

// PutNotification rewrites a stored notification (its deliveries change;
// its tenant and creation time never do). Once every delivery is final it
// indexes the notification under the time it finished, for pruning.
func PutNotification(tx store.Tx, n *storev1.Notification) error {
	if ms, ok := NotificationFinal(n); ok {
		if err := tx.Put(notifyDoneKey(ms, n.GetId()), nil); err != nil {
			return err
		}
	}
	return putProto(tx, notificationKey(n.GetId()), n)
}

func notifyDoneKey(ms int64, id string) string { return notifyDonePrefix + histTime(ms) + "/" + id }

// NotificationFinal reports whether every delivery of n is final (sent,
// failed, redirected or unknown; a notification without deliveries is
// final at once) and, if so, when the last one ended: the latest attempt
// time, or its creation time if later.
func NotificationFinal(n *storev1.Notification) (int64, bool) {
	last := n.GetCreatedUnixMs()
	for _, d := range n.GetDeliveries() {
		switch d.GetState() {
		case storev1.DeliveryState_DELIVERY_STATE_SENT, storev1.DeliveryState_DELIVERY_STATE_FAILED,
			storev1.DeliveryState_DELIVERY_STATE_REDIRECTED, storev1.DeliveryState_DELIVERY_STATE_UNKNOWN:
		default:
			return 0, false
		}
		for _, a := range d.GetAttempts() {
			last = max(last, a.GetStartUnixMs(), a.GetEndUnixMs())
		}
	}
	return last, true
}

// NotificationIDs calls fn with the ids of tenant's notifications created
// at or after sinceMS, oldest first ("" visits every tenant's, ordered by
// tenant then time). It reads only the log index, from sinceMS on: the
// time is part of the key, so older entries are never visited.
func NotificationIDs(tx store.Tx, tenant string, sinceMS int64, fn func(id string, createdMS int64) error) error {
	if tenant != "" {
		return notificationIDsOf(tx, tenant, sinceMS, fn)
	}
	var tenants []string
	if err := tx.Scan(tenantKey(""), func(key string, _ []byte) error {
		tenants = append(tenants, strings.TrimPrefix(key, tenantKey("")))
		return nil
	}); err != nil {
		return err
	}
	for _, t := range tenants {
		if err := notificationIDsOf(tx, t, sinceMS, fn); err != nil {
			return err
		}
	}
	return nil
}

func notificationIDsOf(tx store.Tx, tenant string, sinceMS int64, fn func(id string, createdMS int64) error) error {
	base := notifyLogPrefix + tenant + "/"
	return scanFrom(tx, base, histTime(sinceMS), func(key string, _ []byte) error {
		ms, _, id, ok := splitTimeKey(strings.TrimPrefix(key, base))
		if !ok {
			return fmt.Errorf("schema: bad notification log key %q", key)
		}
		return fn(id, ms)
	})
}

// splitTimeKey splits what follows a time index's prefix, "<ms>/<id>"
// (the id may hold "/").
func splitTimeKey(rest string) (ms int64, msPart, id string, ok bool) {
	msPart, id, ok = strings.Cut(rest, "/")
	ms, err := strconv.ParseInt(msPart, 16, 64)
	return ms, msPart, id, ok && err == nil
}

// timeEntry is one entry of a time index: its key, the key's time part
// and the id.
type timeEntry struct {
	key, msPart, id string
}

// entriesBefore returns up to limit entries of the time index under
// prefix whose time is before ms, earliest first, and whether more
// remain; what names the index in errors.
func entriesBefore(tx store.Tx, prefix, what string, ms int64, limit int) ([]timeEntry, bool, error) {
	var es []timeEntry
	more := false
	err := tx.Scan(prefix, func(key string, _ []byte) error {
		t, msPart, id, ok := splitTimeKey(strings.TrimPrefix(key, prefix))
		if !ok {
			return fmt.Errorf("schema: bad %s key %q", what, key)
		}
		if t >= ms {
			return errStop
		}
		if len(es) == limit {
			more = true
			return errStop
		}
		es = append(es, timeEntry{key, msPart, id})
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, false, err
	}
	return es, more, nil
}

// DeleteNotification deletes a notification, its log entry and every
// index entry naming it: the queue and sending entries of its deliveries,
// its unrouted, finished and test marks.
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
	keys := []string{notificationKey(n.GetId()), notifyLogKey(n), notifyUnrouted + n.GetId(), notifyTestKey(n)}
	if ms, ok := NotificationFinal(n); ok {
		keys = append(keys, notifyDoneKey(ms, n.GetId()))
	}
	for _, k := range keys {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// PruneNotifications deletes, in one transaction, up to limit
// notifications that finished before beforeMS (NotificationFinal), with
// every index entry naming them. If tombstoneUntilMS is above 0 each
// pruned id keeps a tombstone until then, so NotificationKnown still
// refuses it; tombstones past nowMS are deleted too (up to limit). It
// reports how many notifications it pruned and whether more remain for
// another transaction.
func PruneNotifications(tx store.Tx, beforeMS, tombstoneUntilMS, nowMS int64, limit int) (int, bool, error) {
	es, more, err := entriesBefore(tx, notifyDonePrefix, "finished-notification", beforeMS, limit)
	if err != nil {
		return 0, false, err
	}
	pruned := 0
	for _, e := range es {
		n, err := GetNotification(tx, e.id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return 0, false, err
		}
		ms, final := NotificationFinal(n)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case !final || ms >= beforeMS:
			// A stale mark: the record has moved on and has, or will
			// get, a mark of its own.
		default:
			if err := DeleteNotification(tx, n); err != nil {
				return 0, false, err
			}
			pruned++
			if tombstoneUntilMS > 0 {
				if err := errors.Join(tx.Put(notifyTombKey(e.id), []byte(histTime(tombstoneUntilMS))),
					tx.Put(notifyTombExpPrefix+histTime(tombstoneUntilMS)+"/"+e.id, nil)); err != nil {
					return 0, false, err
				}
			}
		}
		// The mark itself (DeleteNotification removed it unless it was
		// stale).
		if err := tx.Delete(e.key); err != nil {
			return 0, false, err
		}
	}
	moreTombs, err := pruneTombstones(tx, nowMS, limit)
	return pruned, more || moreTombs, err
}

// pruneTombstones deletes up to limit tombstones that expired before
// nowMS, and reports whether more remain.
func pruneTombstones(tx store.Tx, nowMS int64, limit int) (bool, error) {
	es, more, err := entriesBefore(tx, notifyTombExpPrefix, "tombstone", nowMS, limit)
	if err != nil {
		return false, err
	}
	for _, e := range es {
		// The id's tombstone may name a later expiry (queued again once
		// the first expired, then pruned again): it stays then.
		v, err := tx.Get(notifyTombKey(e.id))
		switch {
		case err == nil && string(v) == e.msPart:
			if err := tx.Delete(notifyTombKey(e.id)); err != nil {
				return false, err
			}
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return false, err
		}
		if err := tx.Delete(e.key); err != nil {
			return false, err
		}
	}
	return more, nil
}

// MarkTestNotification records n as a test notification of its tenant,
// for the limits on tests (TestNotifications).
func MarkTestNotification(tx store.Tx, n *storev1.Notification) error {
	return tx.Put(notifyTestKey(n), nil)
}

// UnmarkTestNotification removes a test mark (absent: no error).
func UnmarkTestNotification(tx store.Tx, tenant string, createdMS int64, id string) error {
	return tx.Delete(notifyTestKey(&storev1.Notification{Id: id, Tenant: tenant, CreatedUnixMs: createdMS}))
}

// TestNotifications calls fn with tenant's test marks, oldest first.
func TestNotifications(tx store.Tx, tenant string, fn func(id string, createdMS int64) error) error {
	base := notifyTestPrefix + tenant + "/"
	return tx.Scan(base, func(key string, _ []byte) error {
		ms, _, id, ok := splitTimeKey(strings.TrimPrefix(key, base))
		if !ok {
			return fmt.Errorf("schema: bad test notification key %q", key)
		}
		return fn(id, ms)
	})
}

// DeliveryRef names one delivery of one notification.
type DeliveryRef struct {
	// Notification is the notification id.
	Notification string
	// Index is the delivery's position in the notification's deliveries.
	Index int
	// DueMS is when it is due (unix milliseconds), for queue entries.
	DueMS int64
	// Lane names the delivery's address (at most 64 bytes), stored as the
	// queue entry's value: the dispatcher sends to one address at a time
	// and skips entries whose lane is busy without reading their
	// notification. "" (entries queued by an earlier version): unknown.
	Lane string
}

func (r DeliveryRef) indexPart() string { return fmt.Sprintf("%04x", r.Index) }

func queueKey(r DeliveryRef) string {
	return notifyQueuePrefix + histTime(r.DueMS) + "/" + r.indexPart() + "/" + r.Notification
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

// QueueDelivery indexes a queued delivery under its due time, with its
// lane as the value.
func QueueDelivery(tx store.Tx, r DeliveryRef) error {
	if err := checkRef(r); err != nil {
		return err
	}
	if len(r.Lane) > maxLane {
		return fmt.Errorf("schema: delivery lane of %d bytes, at most %d", len(r.Lane), maxLane)
	}
	return tx.Put(queueKey(r), []byte(r.Lane))
}

// UnqueueDelivery removes a delivery's queue entry (absent: no error).
func UnqueueDelivery(tx store.Tx, r DeliveryRef) error { return tx.Delete(queueKey(r)) }

// DueDeliveries calls fn for queued deliveries due at or before nowMS,
// earliest first, with their lanes, until fn returns false. It stops at
// the first entry not yet due, so it reads only due entries and the next
// one, and never a notification.
func DueDeliveries(tx store.Tx, nowMS int64, fn func(DeliveryRef) bool) error {
	err := tx.Scan(notifyQueuePrefix, func(key string, v []byte) error {
		r, err := parseQueueKey(key)
		if err != nil {
			return err
		}
		r.Lane = string(v)
		if r.DueMS > nowMS || !fn(r) {
			return errStop
		}
		return nil
	})
	if errors.Is(err, errStop) {
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
		return errStop
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return due, found, err
}

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

// HasUnrouted reports whether any notification is marked unrouted, so a
// reader can skip the write transaction of TakeUnrouted when none is.
func HasUnrouted(tx store.Tx) (bool, error) {
	found := false
	err := tx.Scan(notifyUnrouted, func(string, []byte) error {
		found = true
		return errStop
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return found, err
}

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
