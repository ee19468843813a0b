// Package schema is the only code that knows the controller store's keys.
// Values are vigil.store.v1 protobuf records unless noted. Keys are flat,
// "/"-separated strings so the same layout works on bbolt and on etcd.
//
//	meta/schema                    schema version, decimal ASCII
//	tenants/<tenant>               storev1.Tenant
//	enrolltokens/<sha256-hex>      storev1.EnrollToken (key = hash of the secret)
//	agents/<agent-id>              storev1.Agent
//	agentseq/<agent-id>            big-endian uint64: highest committed report seq
//	lastseen/<agent-id>            big-endian int64: unix seconds, flushed in batches
//	principals/<principal-id>      storev1.Principal
//	principalnames/<name>          principal id (unique name index)
//	apitokens/<sha256-hex>         principal id (key = hash of the API token)
//	patches/<agent-id>             storev1.PatchRecord: latest patch scan
//	patchhist/<agent-id>/<t>/<n>   storev1.PatchEvent
//	reboot/<agent-id>              storev1.RebootRecord: latest reboot state
//	inventory/<agent-id>           storev1.InventoryRecord: latest inventory
//	invchanges/<agent-id>/<t>/<n>  storev1.InventoryChange
//	trust/root                     storev1.TrustRootRecord: the MSP's root fingerprint
//	certs/<serial>                 storev1.CertificateRecord
//	tasks/<task-id>                storev1.TaskRecord
//	taskq/<agent-id>/<task-id>     storev1.TaskRecord summary, while the task is not final
//	taskcancel/<task-id>           storev1.TaskTransition: cancel asked of the agent
//	taskout/<task-id>/<n>          agentv1.OutputLine (n from 1, 16 hex digits)
//	plugins/<agent-id>             storev1.PluginListRecord
//	events/<ms>/<event-id>         JSON schema.Event (ms: unix milliseconds, 16 hex digits)
//	rules/<tenant>/<rule-id>       storev1.AlertRule (rule ids are unique per tenant)
//	alertstate/<tenant>/<rule-id>/<target>
//	                               storev1.AlertState: one rule on one target; target is
//	                               alert.Target.Key, "<agent-id>" or "<agent-id>|<item>"
//	                               (the item, a mount or a check name, may hold "/")
//	alerts/<tenant>/<alert-id>     storev1.AlertRecord: one incident (alert.Notice.AlertID)
//	maintenance/<agent-id>         storev1.Maintenance: the agent's latest maintenance
//	contacts/<contact-id>          storev1.Contact (contact ids are unique across tenants)
//	contactidx/<tenant>/<id>       empty: the tenant's contacts, for listing
//	notifications/<id>             storev1.Notification with its deliveries and attempts
//	                               (id: the event's stable id; the queue keeps one per id)
//	notifylog/<tenant>/<ms>/<id>   empty: a tenant's notifications in time order
//	notifyq/<due-ms>/<idx>/<id>    a queued delivery (idx: its index in the notification)
//	                               due at due-ms; value: a hash of its address, so busy
//	                               addresses are skipped unread; the dispatcher scans this
//	notifysending/<idx>/<id>       empty: a delivery whose attempt is under way
//	notifyunrouted/<id>            empty: a notification with no contact to go to
//	notifydone/<final-ms>/<id>     empty: a notification whose deliveries are all final
//	notifytomb/<id>                expiry ms: a pruned notification id, still refused
//	notifytombexp/<until-ms>/<id>  empty: when that tombstone expires
//	notifytest/<tenant>/<ms>/<id>  empty: a test notification, for the per-tenant limit
//	smscredits/<tenant>            storev1.SmsCredits
//	checks/<check-id>              storev1.Check: a network check's definition
//	checkstate/<check-id>          storev1.CheckState: per-vantage state machines
//	checkres/<check-id>/<t>/<n>    storev1.CheckResultRecord: one run from one vantage
//	checkgone/<check-id>           empty: a deleted check whose results are still being purged
//
// In history keys t is unix seconds as 16 lower-case hex digits and n a
// 4-hex-digit counter within that second, so a prefix scan returns an
// agent's history in time order.
//
// Entity functions take a store.Tx the caller already holds, so a caller
// composes several of them into one atomic transaction. Migrations run in
// Open, in order, each in its own transaction that also bumps meta/schema.
package schema
