package schema

import (
	"errors"

	"github.com/vigil-rmm/vigil/controller/internal/store"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Notifications.

func notificationKey(id string) string { return "notifications/" + id }

// GetNotification returns store.ErrNotFound if absent.
func GetNotification(tx store.Tx, id string) (*storev1.Notification, error) {
	n := &storev1.Notification{}
	return n, getProto(tx, notificationKey(id), n)
}

// PutNotificationIfAbsent stores n unless a notification with its id
// exists, and reports whether it stored it.
func PutNotificationIfAbsent(tx store.Tx, n *storev1.Notification) (bool, error) {
	if _, err := tx.Get(notificationKey(n.GetId())); err == nil {
		return false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	return true, putProto(tx, notificationKey(n.GetId()), n)
}

// Contacts. Contact ids are unique across tenants, so every command and
// every rule or check names a contact by its id alone.

func contactKey(id string) string { return "contacts/" + id }

// GetContact returns store.ErrNotFound if absent. Callers compare its
// tenant with the tenant of whatever refers to it.
func GetContact(tx store.Tx, id string) (*storev1.Contact, error) {
	c := &storev1.Contact{}
	return c, getProto(tx, contactKey(id), c)
}

// PutContact writes a contact.
func PutContact(tx store.Tx, c *storev1.Contact) error { return putProto(tx, contactKey(c.GetId()), c) }
