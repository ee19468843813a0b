// Package schema is the only code that knows the controller store's keys.
// Values are vigil.store.v1 protobuf records unless noted. Keys are flat,
// "/"-separated strings so the same layout works on bbolt and on etcd.
//
//	meta/schema                  schema version, decimal ASCII
//	tenants/<tenant>             storev1.Tenant
//	enrolltokens/<sha256-hex>    storev1.EnrollToken (key = hash of the secret)
//	agents/<agent-id>            storev1.Agent
//	agentseq/<agent-id>          big-endian uint64: highest committed report seq
//	lastseen/<agent-id>          big-endian int64: unix seconds, flushed in batches
//	principals/<principal-id>    storev1.Principal
//	principalnames/<name>        principal id (unique name index)
//	apitokens/<sha256-hex>       principal id (key = hash of the API token)
//
// Entity functions take a store.Tx the caller already holds, so a caller
// composes several of them into one atomic transaction. Migrations run in
// Open, in order, each in its own transaction that also bumps meta/schema.
package schema
