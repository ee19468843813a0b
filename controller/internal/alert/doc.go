// Package alert holds the alert rules and the state machine that turns
// what agents report into notices. It is pure logic: no store, no
// network, and its only clock is Options.Now. The store persists Rules
// and States and feeds observations in; notify delivers the Notices.
//
// # Rules
//
// A Rule belongs to a tenant and watches one Kind:
//
//	metric           cpu, memory, swap, load1 or disk_free_percent (one alert per
//	                 volume) against a threshold, held for a duration: cpu > 95 for 15m
//	offline          the agent unseen for more than N minutes
//	updates_pending  a critical or security update pending more than N days
//	reboot_pending   a reboot pending more than N days (the notice lists the reasons)
//	scan_failing     the patch scan failed N times in a row
//	check_status     a check warning or critical (one alert per check id and vantage)
//	task_failed      the agent's latest finished task (of a plugin) failed
//	verify_failed    the latest post-maintenance verification failed
//
// Every kind shares the same machinery: Consecutive (2 by default),
// Repeat (every M minutes, 1 to 10 times or permanently), Activation
// (weekdays and hours in an IANA zone; empty means always), Escalation (a
// second contact after N minutes unacknowledged) and Contacts (empty: the
// tenant's default contacts). DefaultRules gives a new tenant its six
// rules; after that they are ordinary rules. Validate names every bad
// field in a FieldError wrapping ErrInvalid.
//
// # Observations and the state machine
//
// An Evaluator runs one rule; a State holds one (rule, target) pair. The
// caller evaluates every target of every enabled rule about once a
// minute: it turns its inputs into an Observation with the Evaluator's
// helpers (Metrics, Offline, Updates, Reboot, Scan, Check, Task, Verify)
// and calls Observe, and calls Tick for states with nothing new to
// observe, so repeats, escalations and held notices still fall due.
//
// Each observation is one evaluation: the condition holds or not. For a
// metric rule the condition holds once samples have crossed the
// threshold without interruption for the rule's "for": a sample on the
// right side of the threshold starts the run again, and so does a gap of
// more than two sample intervals (two minutes by default), because
// nothing is known about the missing minutes. Recovery needs no
// duration. The other kinds are plain booleans computed from the stored
// records (offline: last seen more than N minutes ago; updates: the
// oldest urgent update, as patch.Urgent defines it, first seen more than
// N days ago; and so on).
//
// A change of state needs Consecutive evaluations in a row that disagree
// with the current state, for failure and recovery alike: with the
// default 2 and samples every minute, cpu > 95% for 15m fires at the
// sample 16 minutes after the first breaching one (15 minutes held, then
// a second evaluation that agrees), and recovers on the second clear
// sample. Ticks are not evaluations.
//
//	      N evaluations hold            first notice (in the window)
//	OK ─────────────────────► FIRING ─────────────────────────────► told
//	 ▲                          │ (incident n)     repeats every M, up to K;
//	 │   N evaluations clear    │                  escalation after E unacked;
//	 └──────────────────────────┘                  Ack stops both
//	    resolved notice if the firing one went out
//
// Each FIRING starts an incident, numbered per (rule, target) from 1.
// Its first notice is "firing". While firing and not acknowledged,
// "repeat" follows every Repeat.Interval after the previous notice, up to
// Repeat.Count times (0: until acknowledged or recovered), and
// "escalation" goes to Escalation.Contact once, Escalation.After the
// first notice (the clock starts when someone was told, not when the
// condition began). Repeats after an escalation, and the recovery, go to
// the rule's contacts and the escalation contact. Ack stops repeats and
// escalation; the recovery is still notified. A disabled rule neither
// evaluates nor notifies, and disabling it sends no recovery.
//
// # Activation times
//
// Days and hours are read on the wall clock of the rule's zone, so
// 08:00-18:00 in Europe/Paris opens at 07:00 UTC in winter and 06:00 UTC
// in summer; on the night a change skips or repeats an hour, a window
// covering that hour is an hour shorter or longer.
//
// Outside the window nothing is sent, and nothing that matters is lost:
//
//   - A firing notice is held and sent when the window opens, if the
//     alert is still firing and not acknowledged (the summary carries the
//     latest value). Repeat and escalation clocks start then.
//   - An incident that begins and ends outside the window is never
//     notified, neither its firing nor its recovery: nobody was to be
//     told, and it is over. (Its State still records it.)
//   - The recovery of an incident that was notified is held and sent when
//     the window opens, even if a new incident started meanwhile (then the
//     recovery goes first), so whoever was told of a problem hears that it
//     ended.
//   - Repeats and escalations that fall due outside the window are not
//     stacked: at the window's first evaluation at most one repeat and the
//     escalation go out.
//   - An alert acknowledged before its held firing notice went out is not
//     notified at all, nor is its recovery.
//
// # Notices and idempotency
//
// Observe and Tick return the Notices due, in order, and record them in
// the State, so the caller commits the State and enqueues the notices in
// one transaction. An observation whose time is not after the last one
// applied is a replay and changes nothing; a Tick at a time already
// evaluated finds nothing due. Every notice carries a stable ID derived
// from the tenant, rule, target, incident number and start time, kind and
// repeat number: computing the same event again, after a crash between
// evaluation and commit for example, yields the same ID, which the
// durable queue keeps once. Including the incident's start time keeps IDs
// distinct even if a State is lost and incident numbers start again.
// AlertID names the incident for the console and Ack.
//
// Summaries are one line with the value and the condition, at most 300
// bytes, agent-supplied text flattened: "cpu 97.2% > 95% for 15m on
// web-01", "disk free C: 7.9% < 10% on web-01", "reboot pending for 4d
// (limit 3d): wu_reboot_required on web-01".
package alert
