// Package notify delivers notifications: email over SMTP, webhooks (JSON,
// Slack, Teams) and SMS through a Twilio-compatible provider. Producers
// (alert evaluation, the network checker) call Enqueue inside the
// transaction that records the event, so an event is queued exactly when
// it is recorded and, keyed by its stable id, never twice.
//
// Enqueue expands a notification into one delivery per contact and
// indexes each queued delivery under its due time (store/schema,
// notifyq/). The Dispatcher finds due work with a prefix scan of that
// index, marks a delivery SENDING in a committed transaction before the
// network send and records the outcome in another after it, so a
// controller that stops at any point resumes every delivery at start
// (docs/adr/0011-notification-delivery.md):
//
//	QUEUED ──claim──► SENDING ──ok──────────► SENT
//	   ▲                 │ ├──permanent / exhausted──► FAILED
//	   └──── retry ──────┘ └──SMS, outcome unknown──► UNKNOWN (+ email)
//	QUEUED (SMS, no credit) ─────────────────► REDIRECTED (+ email)
//
// SMS credits are taken in the transaction that marks an SMS SENDING and
// given back when the provider clearly refuses the message (a 5xx answer
// leaves the outcome unknown, like a timeout).
//
// While it runs the dispatcher also settles, every minute, SENDING
// deliveries none of its workers holds, and deletes, every hour,
// notifications finished more than Options.Retention ago, leaving a
// tombstone so their ids are not queued again for as long.
package notify
