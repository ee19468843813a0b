// Package notify delivers notifications: email over SMTP, webhooks (JSON,
// Slack, Teams) and SMS through a Twilio-compatible provider. Producers
// (alert evaluation, the network checker) call Enqueue inside the
// transaction that records the event, so an event is queued exactly when
// it is recorded and, keyed by its stable id, never twice.
package notify
