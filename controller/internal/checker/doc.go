// Package checker runs the controller's network checks. A Runner loads
// every check from the store, lets a check.Scheduler decide when each one
// runs over a bounded pool of workers, probes the target from every
// vantage point of the check in parallel (the controller itself through
// internal/netcheck, an agent through an AgentProber), and feeds each
// vantage's result to that vantage's check.Machine.
//
// # One transaction per run
//
// After a run, one store transaction appends the results, writes the
// check's CheckState (per vantage: the machine's snapshot, the last
// result, the outage and suspension counters, and the check's stretch)
// and enqueues the notices the machines produced; only then does the
// runner call Config.Wake. Machines are advanced on copies and swapped
// in after the commit, so a failed commit changes nothing, and a
// controller restarted mid-outage restores each machine from CheckState:
// the next failing run still sends the down notice, once.
//
// A notice's id is derived from the check, the vantage, the outage (or
// suspension) number, its start and the kind, so the same event always
// has the same id and the notification queue keeps one, while a vantage
// removed and added back, whose counters start again, never reuses the id
// of an earlier event.
//
// # Vantages that cannot run
//
// An agent vantage whose agent cannot run the check (offline, no checks
// capability, refused, no answer in time) records no result and leaves
// its machine alone: an agent that is down says nothing about the target.
// Its VantageState keeps since when and why, which `check show` prints as
// "vantage unavailable since ...".
//
// # Suspension, pause and resume
//
// A vantage suspends itself after consecutive ERR results (check.Machine)
// and is no longer probed; a check whose vantages are all suspended
// leaves the scheduler. Resume clears every suspension (one resumed
// notice per vantage), puts the check back on its slots and runs it at
// once. A paused check (a person's decision, Check.paused) is not
// scheduled at all.
//
// # Retention and deleted checks
//
// Prune deletes results older than the retention (Config.Retention, or a
// check's own retention_days, at most MaxRetentionDays), check by check
// in batches of PruneBatch results per transaction. Run calls it at start
// and every hour.
//
// Deleting a check (schema.DeleteCheck) removes its definition and state
// and marks its results; Purge deletes them in batches of PruneBatch per
// transaction, at start, after Reload sees a check gone, and every hour,
// so no single transaction grows with a check's history.
//
// # Start
//
// Run loads every check before it schedules any. A load that fails is
// logged and tried again, after LoadRetryMin and then twice as long each
// time up to LoadRetryMax, until it succeeds or the context ends.
package checker
