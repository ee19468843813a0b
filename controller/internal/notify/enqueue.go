package notify

import (
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Enqueue queues n in tx unless a notification with the same id is already
// queued (or was delivered), and reports whether it queued it. The caller
// commits tx, then wakes the dispatcher.
func Enqueue(tx store.Tx, n *storev1.Notification) (bool, error) {
	return schema.PutNotificationIfAbsent(tx, n)
}
