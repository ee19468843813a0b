// Package check decides what a person hears about the controller's network
// checks and when each check runs. The probes themselves (ping, TCP
// connect, HTTP(S), DNS) are package internal/netcheck, shared with agents
// that run checks from inside a client's network. This package holds two
// pieces, each usable and tested on its own:
//
//	Machine    per check: turns a stream of netcheck.Results into Notices
//	Scheduler  when each check runs, over a bounded pool of workers
//
// # The state machine
//
// A Machine holds one check's State: Unknown, Up or Down. OK counts as up,
// NG and WR as down. A change (Up to Down, Down to Up) takes Confirm
// consecutive agreeing results (default 2) and produces a Notice, kind
// down or up, carrying those results. At 5-minute intervals an outage
// that begins just after a run is noticed two runs later, about ten
// minutes after it began.
//
// ERR says nothing about the target, so it neither counts toward nor
// breaks a run of up or down results: a resolver hiccup between two
// failures does not delay a down notice, and a broken resolver does not
// turn every check down at once. ERR results count toward suspension
// instead: SuspendErr consecutive ERR (default 4) suspend the check with
// a Notice, kind suspended, carrying them; any other result resets the
// count. A suspended Machine ignores results, and the checker removes
// the check from its Scheduler. Resume (`check resume`) clears the
// suspension with a Notice, kind resumed; the last established state
// stays, and the checker runs the check at once (Scheduler.RunNow).
//
// A new check starts Unknown and the first Confirm agreeing results
// establish its state. Finding the target up is not news and sends no
// notice; finding it down is, and sends a down notice.
//
// The Machine reads no clock: the times are the results' own.
//
// # The scheduler
//
// Each check runs on its own slots: the instants whose offset within the
// interval (default 5 minutes, counted from the Unix epoch) is the
// check's Phase, a hash of its id. Checks spread evenly across the
// interval and keep their slots across controller restarts.
//
// A pool of Workers runs checks; Due hands out due checks, earliest
// first, only as workers are free, and Done returns the worker. A check
// is never queued twice. When a run starts late, its next run is the
// first slot at least one interval after that start: when the checker
// falls behind, every interval stretches (by whole slots, keeping the
// spread) instead of runs piling up, and Stretch reports it per check:
// the time between the last two starts, its ratio to the interval and
// how late the last run started. Backlog counts the checks waiting for a
// worker. The Scheduler reads no clock either.
package check
