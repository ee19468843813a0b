// Package journal is the agent's durable record of the tasks it accepted,
// so that a task never runs twice.
//
// A task is committed (fsync'd) as ACCEPTED before its plugin starts, and
// its final state after the plugin ends. After a crash, an entry still
// ACCEPTED or RUNNING means the task may have done part of its work: the
// agent reports it INTERRUPTED and never runs it again. A reboot task is
// kept REBOOTING until the agent comes back with a new boot time.
//
// Every accepted task's nonce is kept, with the task, until a day after
// the task's not-after time: by then the envelope check refuses the task as
// expired, so a replay is refused either way.
//
// # Layout
//
//	journal.db
//	├── meta                       bucket
//	│   └── "schema_version"       uint64 (big-endian), 1; a newer one is refused at Open
//	├── tasks                      bucket
//	│   └── task id  ->  Entry, JSON
//	└── nonces                     bucket
//	    └── nonce (16 bytes)  ->  task id
//
// Accept writes both buckets in one transaction; Prune deletes a finished
// task and its nonce in one transaction, so every nonce names a task.
//
// # Concurrency
//
// All methods are safe for concurrent use. Each runs one short bbolt
// transaction and copies what it returns out of it.
package journal
