// Package store is the controller's small transactional key-value layer.
//
// Everything the controller must not lose — agents, tenants, principals,
// tasks, maintenance windows, approvals, alerts — is kept through a [Store].
// There is one implementation today, [Bolt], on an embedded bbolt file; an
// etcd implementation will follow for controllers that run as a group. The
// interface is shaped so that second implementation changes no caller:
//
//   - Keys are flat strings. Hierarchy is spelled in the key with "/"
//     separators ("agents/<agent-id>", "tasks/<tenant>/<task-id>"), never
//     with nested buckets or directories. A key is a plain byte string:
//     case-sensitive, compared byte by byte, 1 to [MaxKeySize] bytes.
//   - A prefix scan visits keys in ascending byte order. Scan with the
//     trailing separator ("agents/"), or "agents/" will also match
//     "agents2/...": the store does not know where a segment ends.
//   - Values are opaque bytes of at most [MaxValueSize]; in practice they
//     are proto/vigil/store/v1 records. The store never interprets them.
//   - A transaction is a function. [Store.View] sees one consistent
//     snapshot; [Store.Update] commits every write of its function or none;
//     [Store.Batch] is Update for hot paths and may run the function more
//     than once, so the function must be idempotent.
//   - Optimistic concurrency is [Tx.CompareAndPut], the one primitive both
//     bbolt and etcd (a Txn comparing the value) offer natively.
//
// Only package store/schema knows which keys exist, what their values are,
// and which schema version the data is at. Other packages call schema's
// typed functions and declare, in their own package, the two or three of
// them they need. The key catalogue is documented there, not here.
//
// The reusable conformance suite for implementations is package
// store/storetest.
//
// # Using transactions well
//
// Keep a View short and free of I/O: copy what you need and return, then
// talk to the network. With bbolt a long read transaction pins old pages,
// and a write that must grow the file waits for every open read transaction.
// Never start a transaction from inside another one: a View nested in an
// Update, or an Update in a View, can deadlock.
package store
