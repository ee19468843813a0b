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
