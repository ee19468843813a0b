package schema

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vigil-rmm/vigil/controller/internal/store"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Alert rules, alert state, alert records and maintenance.

const (
	rulesPrefix       = "rules/"
	alertStatePrefix  = "alertstate/"
	alertsPrefix      = "alerts/"
	maintenancePrefix = "maintenance/"
)

func ruleKey(tenant, id string) string  { return rulesPrefix + tenant + "/" + id }
func alertKey(tenant, id string) string { return alertsPrefix + tenant + "/" + id }

// alertStateKey is alertstate/<tenant>/<rule>/<target>; the target key
// (alert.Target.Key) is last because it may hold "/" (a volume's mount).
func alertStateKey(tenant, rule, target string) string {
	return alertStatePrefix + tenant + "/" + rule + "/" + target
}

// validRef rejects tenant and rule ids that would address another key.
func validRef(parts ...string) bool {
	for _, p := range parts {
		if p == "" || strings.Contains(p, "/") {
			return false
		}
	}
	return true
}

// GetAlertRule returns store.ErrNotFound if absent.
func GetAlertRule(tx store.Tx, tenant, id string) (*storev1.AlertRule, error) {
	r := &storev1.AlertRule{}
	if !validRef(tenant, id) {
		return r, store.ErrNotFound
	}
	return r, getProto(tx, ruleKey(tenant, id), r)
}

// PutAlertRule writes a rule.
func PutAlertRule(tx store.Tx, r *storev1.AlertRule) error {
	if !validRef(r.GetTenant(), r.GetId()) {
		return fmt.Errorf("schema: alert rule %q of tenant %q: bad identifiers", r.GetId(), r.GetTenant())
	}
	return putProto(tx, ruleKey(r.GetTenant(), r.GetId()), r)
}

// DeleteAlertRule deletes a rule (not its state: see DeleteAlertStates).
func DeleteAlertRule(tx store.Tx, tenant, id string) error {
	if !validRef(tenant, id) {
		return nil
	}
	return tx.Delete(ruleKey(tenant, id))
}

// ListAlertRules returns a tenant's rules ordered by id ("" lists every
// tenant's).
func ListAlertRules(tx store.Tx, tenant string) ([]*storev1.AlertRule, error) {
	p := rulesPrefix
	if tenant != "" {
		p += tenant + "/"
	}
	return listProto(tx, p, func() *storev1.AlertRule { return &storev1.AlertRule{} })
}

// CountAlertRules returns how many rules a tenant has.
func CountAlertRules(tx store.Tx, tenant string) (int, error) {
	return countPrefix(tx, rulesPrefix+tenant+"/")
}

// GetAlertState returns store.ErrNotFound if the rule never evaluated the
// target.
func GetAlertState(tx store.Tx, tenant, rule, target string) (*storev1.AlertState, error) {
	s := &storev1.AlertState{}
	if !validRef(tenant, rule) {
		return s, store.ErrNotFound
	}
	return s, getProto(tx, alertStateKey(tenant, rule, target), s)
}

// PutAlertState writes the state of rule on target.
func PutAlertState(tx store.Tx, tenant, rule, target string, s *storev1.AlertState) error {
	if !validRef(tenant, rule) || target == "" {
		return fmt.Errorf("schema: alert state %q/%q/%q: bad identifiers", tenant, rule, target)
	}
	return putProto(tx, alertStateKey(tenant, rule, target), s)
}

// DeleteAlertState deletes the state of rule on target.
func DeleteAlertState(tx store.Tx, tenant, rule, target string) error {
	if !validRef(tenant, rule) {
		return nil
	}
	return tx.Delete(alertStateKey(tenant, rule, target))
}

// ListAlertStates returns the states of rule whose target key is agent or
// starts with agent+"|" (the agent's per-volume or per-check targets),
// keyed by target key; an empty agent returns every state of the rule.
func ListAlertStates(tx store.Tx, tenant, rule, agent string) (map[string]*storev1.AlertState, error) {
	out := map[string]*storev1.AlertState{}
	if !validRef(tenant, rule) {
		return out, nil
	}
	base := alertStatePrefix + tenant + "/" + rule + "/"
	err := tx.Scan(base+agent, func(key string, v []byte) error {
		target := key[len(base):]
		if agent != "" && target != agent && !strings.HasPrefix(target, agent+"|") {
			return nil
		}
		s := &storev1.AlertState{}
		if err := unmarshal(key, v, s); err != nil {
			return err
		}
		out[target] = s
		return nil
	})
	return out, err
}

// AlertStateRef names one stored alert state.
type AlertStateRef struct {
	Tenant, Rule, Target string
}

// ListAlertStateRefs returns the keys of a tenant's alert states without
// decoding them ("" lists every tenant's), in key order.
func ListAlertStateRefs(tx store.Tx, tenant string) ([]AlertStateRef, error) {
	p := alertStatePrefix
	if tenant != "" {
		p += tenant + "/"
	}
	var out []AlertStateRef
	err := tx.Scan(p, func(key string, _ []byte) error {
		parts := strings.SplitN(strings.TrimPrefix(key, alertStatePrefix), "/", 3)
		if len(parts) == 3 {
			out = append(out, AlertStateRef{Tenant: parts[0], Rule: parts[1], Target: parts[2]})
		}
		return nil
	})
	return out, err
}

// GetAlertRecord returns store.ErrNotFound if absent.
func GetAlertRecord(tx store.Tx, tenant, id string) (*storev1.AlertRecord, error) {
	r := &storev1.AlertRecord{}
	if !validRef(tenant, id) {
		return r, store.ErrNotFound
	}
	return r, getProto(tx, alertKey(tenant, id), r)
}

// FindAlertRecord looks an alert up by id alone (alert ids are unique
// across tenants: they hash the tenant). It reads one key per tenant.
func FindAlertRecord(tx store.Tx, id string) (*storev1.AlertRecord, error) {
	if !validRef(id) {
		return nil, store.ErrNotFound
	}
	ts, err := ListTenants(tx)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		r, err := GetAlertRecord(tx, t.GetId(), id)
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	return nil, store.ErrNotFound
}

// PutAlertRecord writes an alert record.
func PutAlertRecord(tx store.Tx, r *storev1.AlertRecord) error {
	return putProto(tx, alertKey(r.GetTenant(), r.GetId()), r)
}

// ListAlertRecords returns a tenant's alert records ordered by id ("" lists
// every tenant's).
func ListAlertRecords(tx store.Tx, tenant string) ([]*storev1.AlertRecord, error) {
	p := alertsPrefix
	if tenant != "" {
		p += tenant + "/"
	}
	return listProto(tx, p, func() *storev1.AlertRecord { return &storev1.AlertRecord{} })
}

// VisitAlertRecords calls fn with each of a tenant's alert records in id
// order ("" visits every tenant's), decoding one at a time so that the
// caller keeps only what it needs. Each call gets a new record; an error
// from fn ends the visit and is returned.
func VisitAlertRecords(tx store.Tx, tenant string, fn func(*storev1.AlertRecord) error) error {
	p := alertsPrefix
	if tenant != "" {
		if !validRef(tenant) {
			return nil
		}
		p += tenant + "/"
	}
	return tx.Scan(p, func(key string, v []byte) error {
		r := &storev1.AlertRecord{}
		if err := unmarshal(key, v, r); err != nil {
			return err
		}
		return fn(r)
	})
}

// ExpiredAlertRecords returns the ids of at most limit of a tenant's
// alert records that closed before cutoffUnixMs. Open alerts never
// expire.
func ExpiredAlertRecords(tx store.Tx, tenant string, cutoffUnixMs int64, limit int) ([]string, error) {
	var ids []string
	err := VisitAlertRecords(tx, tenant, func(r *storev1.AlertRecord) error {
		if len(ids) >= limit {
			return errStop
		}
		if end := r.GetEndUnixMs(); end != 0 && end < cutoffUnixMs {
			ids = append(ids, r.GetId())
		}
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return ids, err
}

// DeleteAlertRecord deletes one alert record.
func DeleteAlertRecord(tx store.Tx, tenant, id string) error {
	if !validRef(tenant, id) {
		return nil
	}
	return tx.Delete(alertKey(tenant, id))
}

// GetMaintenance returns store.ErrNotFound if the agent has none.
func GetMaintenance(tx store.Tx, agentID string) (*storev1.Maintenance, error) {
	m := &storev1.Maintenance{}
	if !validRef(agentID) {
		return m, store.ErrNotFound
	}
	return m, getProto(tx, maintenancePrefix+agentID, m)
}

// PutMaintenance writes an agent's maintenance record.
func PutMaintenance(tx store.Tx, m *storev1.Maintenance) error {
	return putProto(tx, maintenancePrefix+m.GetAgent(), m)
}

// ListMaintenance returns every maintenance record.
func ListMaintenance(tx store.Tx) ([]*storev1.Maintenance, error) {
	return listProto(tx, maintenancePrefix, func() *storev1.Maintenance { return &storev1.Maintenance{} })
}

// DefaultAlertRules returns the six rules every tenant starts with, as
// stored, created at nowUnix. They are alert.DefaultRules converted (the
// migration from version 1 cannot import package alert, which depends on
// this package; a test keeps the two equal).
func DefaultAlertRules(tenant string, nowUnix int64) []*storev1.AlertRule {
	const (
		minute = int64(60)
		day    = 24 * 60 * minute
	)
	base := func(id, name, kind string) *storev1.AlertRule {
		return &storev1.AlertRule{Id: id, Tenant: tenant, Name: name, Kind: kind, Enabled: true, Consecutive: 2,
			CreatedUnix: nowUnix, UpdatedUnix: nowUnix}
	}
	offline := base("default-offline", "Agent offline", "offline")
	offline.AfterSeconds = 10 * minute
	disk := base("default-disk-free", "Disk space low", "metric")
	disk.Metric, disk.Op, disk.Threshold = "disk_free_percent", "<", 10
	cpu := base("default-cpu", "CPU high", "metric")
	cpu.Metric, cpu.Op, cpu.Threshold, cpu.ForSeconds = "cpu", ">", 95, 15*minute
	mem := base("default-memory", "Memory high", "metric")
	mem.Metric, mem.Op, mem.Threshold, mem.ForSeconds = "memory", ">", 95, 15*minute
	upd := base("default-updates-critical", "Critical updates pending", "updates_pending")
	upd.AfterSeconds = 14 * day
	reboot := base("default-reboot", "Reboot pending", "reboot_pending")
	reboot.AfterSeconds = 3 * day
	return []*storev1.AlertRule{offline, disk, cpu, mem, upd, reboot}
}

// SeedDefaultAlertRules writes the default rules of a tenant that has no
// rule of that id yet, so seeding twice changes nothing.
func SeedDefaultAlertRules(tx store.Tx, tenant string, nowUnix int64) error {
	for _, r := range DefaultAlertRules(tenant, nowUnix) {
		if _, err := GetAlertRule(tx, tenant, r.GetId()); err == nil {
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := PutAlertRule(tx, r); err != nil {
			return err
		}
	}
	return nil
}

// migrateSeedAlertRules is the migration from version 1: every existing
// tenant gets the default alert rules, as a new tenant does at creation.
func migrateSeedAlertRules(tx store.Tx) error {
	ts, err := ListTenants(tx)
	if err != nil {
		return err
	}
	for _, t := range ts {
		// The tenant's creation time stands for the rules': nobody edited
		// them, and it keeps the migration deterministic.
		if err := SeedDefaultAlertRules(tx, t.GetId(), t.GetCreatedUnix()); err != nil {
			return fmt.Errorf("tenant %s: %w", t.GetId(), err)
		}
	}
	return nil
}
