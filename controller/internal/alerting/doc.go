// Package alerting runs the alert rules of package alert against what the
// controller knows, persists their state and queues their notices.
//
// # Evaluation
//
// Engine.Run evaluates every interval (one minute by default). An
// evaluation takes one tenant at a time: a read transaction collects the
// tenant's enabled rules, its agents that are not revoked, their
// maintenance, patch and reboot records and the tenant's network checks;
// then, outside any transaction, it reads presence (the fleet) and the
// metric samples taken since each metric state's last sample; then write
// transactions of at most BatchAgents agents apply the observations to the
// stored alert.State of every (rule, target), tick every state (repeats,
// escalations, held notices), and in the same transaction write the states
// back, keep the incidents' AlertRecords in step and queue each notice
// with notify.Enqueue. The notification dispatcher is woken after the
// commit. A rule edited or disabled between the read and the write is left
// to the next evaluation.
//
// The inputs per kind:
//
//	metric           every stored sample after the state's last one, in time order
//	offline          now if the stream is open, else the latest of the fleet's and
//	                 the stored last-seen time, the enrollment time, and the
//	                 engine's start (the controller's own downtime does not count)
//	updates_pending  the patch record (schema.GetPatchRecord)
//	reboot_pending   the reboot record (schema.GetRebootRecord)
//	scan_failing     the patch record
//	check_status     each check's state per vantage: down is critical, suspended
//	                 unknown, up OK; the target is the vantage's agent ("" for the
//	                 controller) and the check's id, labelled with its name. The
//	                 checks are read once per evaluation for every tenant.
//	task_failed      the latest succeeded, failed or interrupted task per plugin
//	verify_failed    the agent's post-maintenance verification
//
// # Restarts
//
// Every evaluation persists the states it changed, in the transaction
// that queues their notices, so a restart forgets nothing: a condition
// half-confirmed stays half-confirmed, an incident keeps its number and
// clocks. Notice ids are stable and the queue keeps one notification per
// id, so an evaluation replayed after a crash queues nothing twice. A
// quiet state whose only change is its clock is written every
// QuietCheckpoint instead: the evaluations in between replay the same
// samples from the stored state to the same result.
//
// # Orphans and retention
//
// Before it evaluates a tenant, an evaluation drops the states that no
// longer have a subject (a rule disabled or deleted, an agent gone or
// revoked, a check deleted or no longer run from that vantage point) and
// closes their open alerts without a recovery notice. Run deletes alert
// records closed longer ago than Config.Retention (400 days by default)
// after its first evaluation and then every hour, in transactions of at
// most PruneBatch records; open alerts are never deleted.
//
// # Maintenance
//
// While an agent is under maintenance (start <= now < end) its rules
// still evaluate, but notices about it are withheld as outside an
// activation window (alert.Options.Quiet): an incident that fires is
// recorded with suppressed set and its firing notice held; when the
// maintenance ends, an alert still firing and not acknowledged is
// notified at the next evaluation; one that began and ended within the
// maintenance is never notified. After the end, each evaluation runs the
// post-maintenance verification until it concludes: the agent is online,
// it reported a sample since the end, and its patch scan is not failing.
// All three pass: verified OK. Otherwise it waits VerifyGrace after the
// end, then fails with the reasons. A failed verification is tried again
// at every evaluation for a week, so its verify_failed alert recovers when
// the agent is fine. The result is stored in the Maintenance record.
package alerting
