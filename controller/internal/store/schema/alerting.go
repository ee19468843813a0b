package schema

import (
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

// GetAlertRule returns store.ErrNotFound if absent.
func GetAlertRule(tx store.Tx, tenant, id string) (*storev1.AlertRule, error) {
	r := &storev1.AlertRule{}
	return r, getProto(tx, ruleKey(tenant, id), r)
}

// PutAlertRule writes a rule.
func PutAlertRule(tx store.Tx, r *storev1.AlertRule) error {
	return putProto(tx, ruleKey(r.GetTenant(), r.GetId()), r)
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

// GetAlertRecord returns store.ErrNotFound if absent.
func GetAlertRecord(tx store.Tx, tenant, id string) (*storev1.AlertRecord, error) {
	r := &storev1.AlertRecord{}
	return r, getProto(tx, alertKey(tenant, id), r)
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

// GetMaintenance returns store.ErrNotFound if the agent has none.
func GetMaintenance(tx store.Tx, agentID string) (*storev1.Maintenance, error) {
	m := &storev1.Maintenance{}
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
