// Package tasks is the controller's side of signed tasks
// (docs/adr/0010-signed-tasks.md): it checks and stores tasks, records
// every change of state, applies the agent's task updates, and runs the
// engine that offers, re-offers, expires and settles tasks.
//
// The controller's checks only refuse early with a clear error: the agent
// verifies every task against its own pinned root and counts nothing the
// controller says.
//
// # States
//
//	PROPOSED ─approve─► SCHEDULED ─offer─► DISPATCHED ─agent─► ACCEPTED ──► RUNNING ──► SUCCEEDED
//	   │                    │                   │                    │            │      FAILED
//	   ▼                    ▼                   ▼                    └────────────┴────► CANCELLED
//	CANCELLED, EXPIRED   CANCELLED, EXPIRED   EXPIRED, REFUSED,                          INTERRUPTED
//	                                          (or straight to a final state)
//
// In detail:
//
//   - Create stores a task as PROPOSED (a downtime task without a client
//     approver's signature) or SCHEDULED. Approve adds the approver's
//     signature: PROPOSED → SCHEDULED.
//   - The Engine offers a SCHEDULED task (TaskOffer) once its not_before
//     has come and its agent is online and announced "tasks": it becomes
//     DISPATCHED, committed before the offer is queued. A DISPATCHED task is
//     offered again each time its agent reconnects (the agent refuses a
//     replay by its nonce, and that refusal after acceptance is ignored).
//   - PROPOSED and SCHEDULED tasks expire at not_after; DISPATCHED ones
//     DispatchGrace later, leaving the agent time to report an acceptance.
//     If the agent did accept a task that expired after dispatch, its
//     report revives it: the agent is the authority on what ran.
//   - The agent's updates (ApplyUpdate, inside the ingest transaction) move
//     the task: ACCEPTED, RUNNING, and a final SUCCEEDED, FAILED,
//     CANCELLED, REFUSED or INTERRUPTED. The allowedFrom table (update.go)
//     lists the allowed steps; anything else (a step back, an update after a
//     final state, an update for another agent's task) is ignored and logged.
//   - Reboot: the agent's REBOOTING is stored as RUNNING, reason
//     "rebooting", with a deadline RebootWait ahead. When the agent
//     reconnects with a boot time later than the one recorded at
//     acceptance (by more than BootTimeSlack) the task SUCCEEDS ("the server came back at ..."); an
//     agent's SUCCEEDED without a later boot time is not believed; past the
//     deadline the task FAILS and an event is recorded.
//   - Cancel: PROPOSED and SCHEDULED tasks are CANCELLED at once. For
//     DISPATCHED, ACCEPTED and RUNNING the request is recorded and a
//     TaskCancel sent (again at each reconnect until the task ends); the
//     agent reports how the task ended. A task with a pending cancel
//     request is never offered again.
//
// Every transition is stored in TaskRecord.transitions with its time and
// actor: a principal's name, "agent" or "controller". Final states are
// SUCCEEDED, FAILED, CANCELLED, EXPIRED, REFUSED and INTERRUPTED; a task
// that reaches one leaves the queue index (schema.PutTask). FAILED,
// REFUSED, INTERRUPTED and EXPIRED record an event (schema.Event, one kind
// per state) for alerting; a reboot that timed out records
// EventRebootTimeout.
package tasks
