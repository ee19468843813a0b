// Package outbox is the agent's durable, bounded queue of reports waiting for
// the controller's acknowledgement.
//
// Every report gets a sequence number and is committed (fsync'd) to a bbolt
// file before the link sends it. The controller acknowledges cumulatively —
// "everything up to seq is committed" — and only acknowledged reports are
// deleted, so a controller outage or an agent restart loses nothing, and the
// controller drops duplicates by sequence. Sequence numbers only grow, across
// restarts and even after every report was acknowledged.
//
// The outbox is bounded by Options.MaxReports. When an append takes it past
// the bound, the oldest metric reports are deleted in the same transaction,
// counted, and the count is carried by the next OutboxStatus report
// (AppendStatus). State changes (facts, outbox status and any body this
// package does not know) are never dropped, so an outbox holding only state
// changes may exceed the bound.
//
// # Layout
//
//	outbox.db
//	├── meta                        bucket: one uint64 (big-endian) per key
//	│   ├── "schema_version"        1; a newer version is refused at Open
//	│   ├── "last_seq"              last sequence number assigned (never reused)
//	│   ├── "acked_seq"             highest sequence the controller acknowledged
//	│   ├── "status_seq"            sequence of the last OutboxStatus appended
//	│   ├── "pending_count"         number of keys in reports
//	│   ├── "unreported_drops"      metrics dropped, not yet in an OutboxStatus
//	│   └── "dropped_total"         metrics dropped over the file's lifetime
//	├── reports                     bucket, append-only, FillPercent 1.0
//	│   └── seq (uint64 BE)  ->  agentv1.Report, protobuf (Seq set)
//	└── metrics                     bucket, index of the pending metric reports
//	    └── seq (uint64 BE)  ->  empty
//
// Big-endian keys make cursor order sequence order. The metrics index is a
// subset of reports: its first key is the oldest metric report, so dropping
// to the bound is a seek, however many state changes wait at the head of
// reports. Append, AppendStatus, Ack and Resume each run in one read-write
// transaction, so the counters in meta always agree with the buckets.
//
// # Concurrency
//
// All methods are safe for concurrent use: the collector appends while the
// link reads Pending and acknowledges. Every method runs exactly one short
// bbolt transaction and copies what it returns out of it; no transaction is
// held across network I/O.
package outbox
