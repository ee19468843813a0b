// Package metrics keeps the controller's time series of agent health
// samples: CPU, memory, swap, load, uptime and volume usage, one sample per
// agent report.
//
// Metrics live in their own bbolt file, apart from the control store
// (package store): they are bulky, append-mostly and disposable, and when
// the control state moves to etcd they stay on local disk. The file is
// day-partitioned so that retention is a DeleteBucket of a whole day, never
// a scan of millions of keys.
//
// # Layout
//
//	metrics.db
//	├── meta/
//	│   └── "version"      → uint64, big-endian: schema version (1)
//	├── latest/             the newest sample of each agent
//	│   └── <agent-id>     → be64(time_ms) be64(seq) Metrics (protobuf)
//	├── 2026-11-21/         one bucket per UTC day of the sample's time
//	│   └── <agent-id> 0x00 be64(time_ms) be64(seq)
//	│                      → Metrics (protobuf, proto/vigil/agent/v1)
//	└── 2026-11-22/
//	    └── ...
//
// A day bucket is named "YYYY-MM-DD", so bucket names sort by date and
// after them come "latest" and "meta". Inside a day, keys sort by agent,
// then time, then sequence: one agent's samples of a day are one cursor
// range. The agent ID is the key's prefix, so it must not contain 0x00.
//
// The key is the sample's identity. An agent that resends a report after a
// lost acknowledgement writes the same keys again, so storing is
// idempotent: there are no duplicates to filter on read.
//
// # Schema versions
//
// Open writes the version into a new file and refuses a file whose version
// is newer than this build knows (ErrSchemaTooNew), or a bbolt file that
// is not a metrics file (ErrNotMetrics). A future version 2 adds a
// migration from 1, run by Open in one transaction, and a test that opens
// a version-1 file from testdata.
//
// # Transactions
//
// Put writes a whole batch in one transaction and one commit, so a caller
// (ingest) should gather samples from many reports and call Put from one
// goroutine. Reads copy raw bytes out of a short read transaction and
// decode after it ends; no slice from bbolt leaves a transaction.
//
// The file never shrinks when days are dropped: bbolt reuses the freed
// pages for new days, which grow by about as much as a dropped day held.
// Until they are reused, each commit also writes the freelist. The
// freelist stays synced (not etcd's NoFreelistSync) so that Open does not
// have to walk every page of a large file to rebuild it. Day buckets pack
// pages 90% full, since each agent's samples arrive at the end of its key
// range.
package metrics
