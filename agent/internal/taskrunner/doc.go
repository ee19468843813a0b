// Package taskrunner runs the signed tasks the controller offers: it
// verifies each one against the pinned trust root, enforces the agent's
// tier, journals it, runs its plugin and reports every step as a
// TaskUpdate through the outbox, so updates survive a controller outage.
//
// # One task at a time
//
// Offers queue (boundedly; a full queue drops the offer with a log line and
// the controller offers it again when the agent reconnects) and run one
// after the other. Tasks on one server are maintenance steps — install
// updates, restart a service, reboot — whose order matters and which must
// not race each other; one at a time also makes the journal's "found
// started after a crash" unambiguous. A long task delays the next: the
// next one's start window (not-after) is checked when it is dequeued.
//
// # What an offer goes through
//
//  1. envelope.Verify against the pinned root, this agent's id and tenant,
//     and the clock. Without a pinned root every task is refused.
//  2. A task the journal already holds with the same nonce is a repeat: its
//     last update is sent again and nothing runs.
//  3. The tier: monitor-only refuses with reason "monitor-only". No plugin
//     is started or even asked for its Info.
//  4. The plugin: in the manifest, serving "run"; one that declares
//     "downtime" (and "reboot") runs only from a downtime task.
//  5. journal.Accept, which refuses a nonce or task id seen before
//     ("replayed"). Only then ACCEPTED is reported and the plugin runs.
//
// Every refusal is a TaskUpdate REFUSED with a one-line reason; a
// verification error is its reason verbatim.
//
// # Running
//
// The plugin runs under the task's timeout (timeout_seconds, or
// Config.DefaultTimeout); past it, or on a TaskCancel, the plugin host
// kills the plugin and every process it started. Progress and output are
// batched into RUNNING updates every second or every 100 lines; output
// past Config.OutputCap is dropped and output_truncated set. The result
// decides the final state: ok is SUCCEEDED, not ok FAILED; a result whose
// detail JSON says "rebooting": true (or any ok result of the "reboot"
// plugin) is REBOOTING, and succeeds only once the agent runs again on a
// new boot.
//
// # After a restart
//
// Before serving offers, Run settles the journal: a task left ACCEPTED or
// RUNNING is reported INTERRUPTED and never run again; a REBOOTING one
// succeeds when the boot time changed, and fails once its not-after time
// plus its timeout passed without one.
package taskrunner
