// Package patch turns an agent's scanned state into the controller's
// records, and those records into the views people read.
//
// # Writing: inside the ingest writer's transaction
//
// The Apply functions take a store.Tx the ingest writer already holds, so a
// report, its history and the agent's committed sequence commit together or
// not at all. They never panic on nil or empty fields; checking sizes and
// values of a report is the agent API's job, before a report gets here.
//
//	ApplyPatchScan  a full patch scan (PatchScan)
//	ApplyReboot     a full reboot state (RebootState)
//	ApplyInventory  a full inventory (Inventory)
//	ApplyDigest     "the scan found what I sent last time": only the hash
//
// Each Apply returns an Outcome: whether the report changed stored state
// (Applied) and, for a digest the controller cannot match, NeedFull, which
// tells the caller to ask the agent for the full state with a ScanRequest.
//
// # The patch model
//
// A PatchRecord holds the lists of the last successful scan. Every update
// in them is a TrackedUpdate carrying first_seen_unix: when a scan first
// listed it in that list. A later scan that still lists the update (same
// id) keeps the time, so "pending for 20 days" survives any number of
// scans, restarts and digests.
//
// A successful scan replaces the lists and appends PatchEvents to the
// agent's history: APPEARED for an id new to the pending list, AWAITING_REBOOT
// for one that moved from pending to installed-awaiting-reboot, and
// DISAPPEARED, with how long it was pending, for one that left the pending
// list otherwise (installed without a reboot, superseded, hidden).
//
// A failed scan (any status but OK) keeps the lists, since the agent could
// not read them, and records the failure: status, error, the count of
// consecutive failures and when the run of failures began. Its hash is
// stored too, so the next identical failure can travel as a digest.
//
// Reports are applied in sequence order by the ingest writer, which also
// drops replays; ApplyPatchScan additionally ignores a scan whose sequence
// or time is not after the stored one.
//
// # Inventory changes
//
// ApplyInventory compares the new software list with the previous one by
// name and architecture and records INSTALLED, REMOVED and UPGRADED or
// DOWNGRADED changes, and one HARDWARE change per hardware field whose
// value differs. The first inventory of an agent records no changes: it is
// the baseline. A section the agent could not read (it lists the failed
// source in Inventory.errors and leaves the section empty) is not
// compared, so a transient failure does not look like every package being
// removed and then installed again.
//
// Versions are compared only when it is reliable across every source the
// agent uses (dpkg, rpm, the Windows registry): when both are dot-separated
// numbers ("10.0.19041.1", "1.2"). Then a higher version is UPGRADED and a
// lower one DOWNGRADED, comparing number by number, with a missing number
// lower than any present one (1.2 < 1.2.0), as dpkg and rpm do. Any other
// version change ("1:2.36-9+deb12u4" to "1:2.36-9+deb12u7") is reported as
// UPGRADED: package managers rarely downgrade, and a Debian or RPM version
// comparison belongs in a shared package, not a copy.
//
// # History retention
//
// Each Apply that writes history also deletes that agent's history older
// than Options.HistoryRetention (400 days by default), so retention costs
// one short scan per write and no background job.
//
// # Reading
//
// Summary condenses one agent's records into a managev1.PatchSummary, and
// Compliance evaluates agents against thresholds. Both are pure functions
// of records already read, so the manage API reads in one View and
// computes outside it.
package patch
