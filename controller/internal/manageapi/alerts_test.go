package manageapi_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/controller/controllertest"
	"github.com/vigil-rmm/vigil/controller/internal/alert"
	"github.com/vigil-rmm/vigil/controller/internal/alerting"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// alertFixture is a real controller with tenants acme (Europe/Paris) and
// beta, an agent in each, and alert clients for every role.
type alertFixture struct {
	c                           *controllertest.Controller
	agentA, agentB              *controllertest.Agent
	admin, tech                 managev1.AlertServiceClient
	approver, viewer, approver2 managev1.AlertServiceClient // approver, viewer of acme; approver2 of beta
}

func newAlertFixture(t *testing.T) *alertFixture {
	t.Helper()
	c := controllertest.Start(t)
	c.Tenant(t, "acme")
	c.Tenant(t, "beta")
	f := &alertFixture{c: c, agentA: c.EnrollAgent(t, "acme", "web-01"), agentB: c.EnrollAgent(t, "beta", "db-01")}
	as := func(token string) managev1.AlertServiceClient {
		return managev1.NewAlertServiceClient(dialAs(t, c, token))
	}
	f.admin = as(c.AdminToken)
	f.tech = as(c.Principal(t, "tech", managev1.Role_ROLE_TECHNICIAN, ""))
	f.approver = as(c.Principal(t, "carol", managev1.Role_ROLE_CLIENT_APPROVER, "acme"))
	f.viewer = as(c.Principal(t, "vic", managev1.Role_ROLE_CLIENT_VIEWER, "acme"))
	f.approver2 = as(c.Principal(t, "dave", managev1.Role_ROLE_CLIENT_APPROVER, "beta"))
	return f
}

func alertCode(err error) codes.Code { return status.Code(err) }

func TestCreateTenantSeedsDefaultAlertRules(t *testing.T) {
	f := newAlertFixture(t)
	r, err := f.viewer.ListAlertRules(context.Background(), &managev1.ListAlertRulesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, v := range r.GetRules() {
		if v.GetTenant() != "acme" {
			t.Fatalf("viewer of acme sees %s/%s", v.GetTenant(), v.GetId())
		}
		got[v.GetId()] = v.GetCondition()
	}
	want := map[string]string{
		alert.DefaultOffline: "offline > 10m", alert.DefaultDiskFree: "disk free < 10%", alert.DefaultCPU: "cpu > 95% for 15m",
		alert.DefaultMemory: "memory > 95% for 15m", alert.DefaultUpdates: "critical/security updates pending > 14d",
		alert.DefaultReboot: "reboot pending > 3d",
	}
	if len(got) != len(want) {
		t.Fatalf("rules %v", got)
	}
	for id, cond := range want {
		if got[id] != cond {
			t.Errorf("%s: %q, want %q", id, got[id], cond)
		}
	}
}

func TestAlertRuleLifecycle(t *testing.T) {
	f := newAlertFixture(t)
	ctx := context.Background()
	spec := &managev1.AlertRuleSpec{Kind: "metric", Metric: "cpu", Op: ">", Threshold: 90, ForSeconds: 600, Enabled: true,
		ActivationDays: []int32{1, 2, 3, 4, 5}, ActivationHours: []string{"08:00-18:00"}, RepeatIntervalSeconds: 1800, RepeatCount: 3}
	r, err := f.tech.CreateAlertRule(ctx, &managev1.CreateAlertRuleRequest{Tenant: "acme", Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.GetId(), "ru-") || r.GetCondition() != "cpu > 90% for 10m" ||
		r.GetActivation() != "mon,tue,wed,thu,fri 08:00-18:00 (Europe/Paris)" || r.GetRepeats() != "every 30m, 3 times" {
		t.Fatalf("created %v", r)
	}
	// A client approver changes the threshold of its own tenant's rule
	// and switches a default off; only the named fields change.
	up, err := f.approver.UpdateAlertRule(ctx, &managev1.UpdateAlertRuleRequest{Id: r.GetId(),
		Spec: &managev1.AlertRuleSpec{Threshold: 80, Metric: "memory"}, UpdateFields: []string{"threshold"}})
	if err != nil || up.GetCondition() != "cpu > 80% for 10m" || up.GetSpec().GetRepeatCount() != 3 || up.GetUpdatedBy() != "carol" {
		t.Fatalf("update %v %v", up, err)
	}
	if d, err := f.approver.SetAlertRuleEnabled(ctx, &managev1.SetAlertRuleEnabledRequest{Id: alert.DefaultCPU}); err != nil || d.GetSpec().GetEnabled() {
		t.Fatalf("disable %v %v", d, err)
	}
	// The MSP names a default rule's tenant: every tenant has one.
	if _, err := f.admin.GetAlertRule(ctx, &managev1.GetAlertRuleRequest{Id: alert.DefaultCPU}); alertCode(err) != codes.InvalidArgument ||
		!strings.Contains(err.Error(), "tenant") {
		t.Fatalf("ambiguous id: %v", err)
	}
	if g, err := f.admin.GetAlertRule(ctx, &managev1.GetAlertRuleRequest{Id: r.GetId()}); err != nil || g.GetTenant() != "acme" {
		t.Fatalf("unique id without tenant: %v %v", g, err)
	}
	dup := &managev1.CreateAlertRuleRequest{Tenant: "acme", Id: alert.DefaultCPU, Spec: spec}
	if _, err := f.admin.CreateAlertRule(ctx, dup); alertCode(err) != codes.AlreadyExists {
		t.Fatalf("duplicate id: %v", err)
	}
	del, err := f.tech.DeleteAlertRule(ctx, &managev1.DeleteAlertRuleRequest{Tenant: "acme", Id: r.GetId()})
	if err != nil || del.GetId() != r.GetId() {
		t.Fatalf("delete %v %v", del, err)
	}
	if _, err := f.tech.GetAlertRule(ctx, &managev1.GetAlertRuleRequest{Tenant: "acme", Id: r.GetId()}); alertCode(err) != codes.NotFound {
		t.Fatalf("deleted rule: %v", err)
	}
}

func TestAlertRuleValidationNamesFields(t *testing.T) {
	f := newAlertFixture(t)
	ctx := context.Background()
	cpu := func(mod func(s *managev1.AlertRuleSpec)) *managev1.AlertRuleSpec {
		s := &managev1.AlertRuleSpec{Kind: "metric", Metric: "cpu", Op: ">", Threshold: 90, ForSeconds: 600}
		mod(s)
		return s
	}
	cases := []struct {
		name  string
		spec  *managev1.AlertRuleSpec
		field string
	}{
		{"threshold above 100", cpu(func(s *managev1.AlertRuleSpec) { s.Threshold = 150 }), "threshold"},
		{"bad operator", cpu(func(s *managev1.AlertRuleSpec) { s.Op = "=>" }), "op"},
		{"bad hours", cpu(func(s *managev1.AlertRuleSpec) { s.ActivationHours = []string{"08:00-18:00", "25:00-26:00"} }), "activation_hours[1]"},
		{"reversed hours", cpu(func(s *managev1.AlertRuleSpec) { s.ActivationHours = []string{"18:00-08:00"} }), "activation_hours[0]"},
		{"bad zone", cpu(func(s *managev1.AlertRuleSpec) { s.ActivationDays, s.ActivationTimezone = []int32{1}, "Mars/Olympus" }), "activation_timezone"},
		{"too many repeats", cpu(func(s *managev1.AlertRuleSpec) { s.RepeatIntervalSeconds, s.RepeatCount = 600, 11 }), "repeat_count"},
		{"unknown contact", cpu(func(s *managev1.AlertRuleSpec) { s.Contacts = []string{"ct-nobody"} }), "contacts[0]"},
		{"escalation without delay", cpu(func(s *managev1.AlertRuleSpec) { s.EscalationContact = "ct-x" }), "escalation_after_seconds"},
		{"parameter of another kind", &managev1.AlertRuleSpec{Kind: "offline", AfterSeconds: 600, Threshold: 5}, "threshold"},
		{"offline too short", &managev1.AlertRuleSpec{Kind: "offline", AfterSeconds: 5}, "after_seconds"},
		// Seconds that wrap around int64 nanoseconds: 18446744674 s would
		// become about ten minutes, a valid value.
		{"for wraps to ten minutes", cpu(func(s *managev1.AlertRuleSpec) { s.ForSeconds = 18446744674 }), "for_seconds"},
		{"for MaxInt64", cpu(func(s *managev1.AlertRuleSpec) { s.ForSeconds = math.MaxInt64 }), "for_seconds"},
		{"offline after wraps", &managev1.AlertRuleSpec{Kind: "offline", AfterSeconds: 18446744674}, "after_seconds"},
		{"offline after MaxInt64", &managev1.AlertRuleSpec{Kind: "offline", AfterSeconds: math.MaxInt64}, "after_seconds"},
		{"repeat interval wraps", cpu(func(s *managev1.AlertRuleSpec) { s.RepeatIntervalSeconds, s.RepeatCount = 18446744674, 2 }), "repeat_interval_seconds"},
		{"repeat interval MaxInt64", cpu(func(s *managev1.AlertRuleSpec) { s.RepeatIntervalSeconds, s.RepeatCount = math.MaxInt64, 2 }), "repeat_interval_seconds"},
		{"escalation wraps", cpu(func(s *managev1.AlertRuleSpec) { s.EscalationAfterSeconds = 18446744674 }), "escalation_after_seconds"},
		{"escalation MaxInt64", cpu(func(s *managev1.AlertRuleSpec) { s.EscalationAfterSeconds = math.MaxInt64 }), "escalation_after_seconds"},
		{"unknown kind", &managev1.AlertRuleSpec{Kind: "weather"}, "kind"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.admin.CreateAlertRule(ctx, &managev1.CreateAlertRuleRequest{Tenant: "acme", Spec: tc.spec})
			if alertCode(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), tc.field+":") {
				t.Fatalf("got %v, want InvalidArgument naming %s", err, tc.field)
			}
		})
	}
	_, err := f.admin.UpdateAlertRule(ctx, &managev1.UpdateAlertRuleRequest{Tenant: "acme", Id: alert.DefaultCPU,
		Spec: &managev1.AlertRuleSpec{Kind: "offline"}, UpdateFields: []string{"kind"}})
	if alertCode(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "kind") {
		t.Fatalf("kind change: %v", err)
	}
	_, err = f.admin.UpdateAlertRule(ctx, &managev1.UpdateAlertRuleRequest{Tenant: "acme", Id: alert.DefaultCPU,
		Spec: &managev1.AlertRuleSpec{}, UpdateFields: []string{"colour"}})
	if alertCode(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "update_fields") {
		t.Fatalf("unknown field: %v", err)
	}
	// A contact of another tenant does not exist for this one.
	if err := f.c.Server().Store().Update(ctx, func(tx store.Tx) error {
		return schema.PutContact(tx, &storev1.Contact{Id: "ct-beta", Tenant: "beta", Kind: storev1.ContactKind_CONTACT_KIND_EMAIL})
	}); err != nil {
		t.Fatal(err)
	}
	_, err = f.admin.UpdateAlertRule(ctx, &managev1.UpdateAlertRuleRequest{Tenant: "acme", Id: alert.DefaultCPU,
		Spec: &managev1.AlertRuleSpec{Contacts: []string{"ct-beta"}}, UpdateFields: []string{"contacts"}})
	if alertCode(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "contacts[0]") {
		t.Fatalf("another tenant's contact: %v", err)
	}
	if _, err := f.admin.UpdateAlertRule(ctx, &managev1.UpdateAlertRuleRequest{Tenant: "beta", Id: alert.DefaultCPU,
		Spec: &managev1.AlertRuleSpec{Contacts: []string{"ct-beta"}}, UpdateFields: []string{"contacts"}}); err != nil {
		t.Fatalf("own tenant's contact: %v", err)
	}
}

// seedAlert stores a firing state and its open alert, as the engine
// would have, for rule default-cpu on agent.
func (f *alertFixture) seedAlert(t *testing.T, agent *controllertest.Agent) string {
	t.Helper()
	since := time.Now().Add(-10 * time.Minute).Truncate(time.Millisecond)
	target := alert.Target{Agent: agent.ID, Host: "host"}
	id := alert.AlertID(agent.Tenant, alert.DefaultCPU, target, 1, since)
	st := &alert.State{Target: target, LastAt: since, Firing: true, Incident: 1, Since: since, Notified: since, LastSent: since}
	err := f.c.Server().Store().Update(context.Background(), func(tx store.Tx) error {
		if err := schema.PutAlertState(tx, agent.Tenant, alert.DefaultCPU, target.Key(), alerting.StateToStore(st)); err != nil {
			return err
		}
		return schema.PutAlertRecord(tx, &storev1.AlertRecord{Id: id, Tenant: agent.Tenant, Rule: alert.DefaultCPU, RuleKind: "metric",
			Agent: agent.ID, Host: "host", Incident: 1, StartUnixMs: since.UnixMilli(), Notified: true, Summary: "cpu 99.0% > 95% for 15m on host"})
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestAlertListShowAck(t *testing.T) {
	f := newAlertFixture(t)
	ctx := context.Background()
	idA := f.seedAlert(t, f.agentA)
	idB := f.seedAlert(t, f.agentB)
	l, err := f.viewer.ListAlerts(ctx, &managev1.ListAlertsRequest{OpenOnly: true})
	if err != nil || len(l.GetAlerts()) != 1 || l.GetAlerts()[0].GetId() != idA || !l.GetAlerts()[0].GetOpen() {
		t.Fatalf("viewer's list %v %v", l, err)
	}
	if all, err := f.tech.ListAlerts(ctx, &managev1.ListAlertsRequest{}); err != nil || len(all.GetAlerts()) != 2 {
		t.Fatalf("technician's list %v %v", all, err)
	}
	if _, err := f.viewer.AckAlert(ctx, &managev1.AckAlertRequest{Id: idA}); alertCode(err) != codes.PermissionDenied {
		t.Fatalf("viewer acknowledges: %v", err)
	}
	a, err := f.approver.AckAlert(ctx, &managev1.AckAlertRequest{Id: idA, Comment: "on it"})
	if err != nil || a.GetAckedBy() != "carol" || a.GetAckedUnixMs() == 0 {
		t.Fatalf("ack %v %v", a, err)
	}
	err = f.c.Server().Store().View(ctx, func(tx store.Tx) error {
		s, err := schema.GetAlertState(tx, "acme", alert.DefaultCPU, f.agentA.ID)
		if err == nil && (s.GetAckedBy() != "carol" || s.GetAckedUnixMs() == 0) {
			t.Errorf("state not acknowledged: %v", s)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if g, err := f.viewer.GetAlert(ctx, &managev1.GetAlertRequest{Id: idA}); err != nil || g.GetAckedBy() != "carol" {
		t.Fatalf("show %v %v", g, err)
	}
	// Tenant isolation: beta's alert does not exist for acme's people.
	for name, call := range map[string]func() error{
		"get": func() error { _, err := f.viewer.GetAlert(ctx, &managev1.GetAlertRequest{Id: idB}); return err },
		"ack": func() error { _, err := f.approver.AckAlert(ctx, &managev1.AckAlertRequest{Id: idB}); return err },
	} {
		if err := call(); alertCode(err) != codes.NotFound {
			t.Errorf("%s of another tenant's alert: %v", name, err)
		}
	}
	if _, err := f.admin.AckAlert(ctx, &managev1.AckAlertRequest{Id: "al-nope"}); alertCode(err) != codes.NotFound {
		t.Fatalf("unknown alert: %v", err)
	}
}

func TestMaintenanceAPI(t *testing.T) {
	f := newAlertFixture(t)
	ctx := context.Background()
	_, err := f.approver.StartMaintenance(ctx, &managev1.StartMaintenanceRequest{AgentId: f.agentA.ID, UntilUnix: time.Now().Add(8 * 24 * time.Hour).Unix()})
	if alertCode(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "until") {
		t.Fatalf("8 days: %v", err)
	}
	if _, err := f.approver.StopMaintenance(ctx, &managev1.StopMaintenanceRequest{AgentId: f.agentA.ID}); alertCode(err) != codes.FailedPrecondition {
		t.Fatalf("stop without any maintenance: %v", err)
	}
	local := time.Now().In(mustZone(t, "Europe/Paris")).Add(3 * time.Hour).Format("2006-01-02 15:04")
	m, err := f.approver.StartMaintenance(ctx, &managev1.StartMaintenanceRequest{AgentId: f.agentA.ID, UntilLocal: local, Reason: "disk swap"})
	if err != nil || !m.GetActive() || m.GetBy() != "carol" || m.GetHostname() != "web-01" ||
		time.Unix(m.GetEndUnix(), 0).In(mustZone(t, "Europe/Paris")).Format("2006-01-02 15:04") != local {
		t.Fatalf("start %v %v", m, err)
	}
	if _, err := f.viewer.StopMaintenance(ctx, &managev1.StopMaintenanceRequest{AgentId: f.agentA.ID}); alertCode(err) != codes.PermissionDenied {
		t.Fatalf("viewer stops: %v", err)
	}
	if _, err := f.approver.StartMaintenance(ctx, &managev1.StartMaintenanceRequest{AgentId: f.agentB.ID, UntilUnix: time.Now().Add(time.Hour).Unix()}); alertCode(err) != codes.NotFound {
		t.Fatalf("another tenant's agent: %v", err)
	}
	l, err := f.viewer.ListMaintenance(ctx, &managev1.ListMaintenanceRequest{})
	if err != nil || len(l.GetMaintenance()) != 1 || l.GetMaintenance()[0].GetReason() != "disk swap" {
		t.Fatalf("list %v %v", l, err)
	}
	s, err := f.tech.StopMaintenance(ctx, &managev1.StopMaintenanceRequest{AgentId: f.agentA.ID})
	if err != nil || s.GetActive() {
		t.Fatalf("stop %v %v", s, err)
	}
	if _, err := f.tech.StopMaintenance(ctx, &managev1.StopMaintenanceRequest{AgentId: f.agentA.ID}); alertCode(err) != codes.FailedPrecondition {
		t.Fatalf("stop again: %v", err)
	}
}

// TestMaintenanceExtendKeepsStart: starting a maintenance while one is
// under way moves its end and keeps its start; after one ended, a new
// one starts now.
func TestMaintenanceExtendKeepsStart(t *testing.T) {
	f := newAlertFixture(t)
	ctx := context.Background()
	put := func(start, end time.Time) {
		t.Helper()
		err := f.c.Server().Store().Update(ctx, func(tx store.Tx) error {
			return schema.PutMaintenance(tx, &storev1.Maintenance{Agent: f.agentA.ID, Tenant: "acme", StartUnix: start.Unix(), EndUnix: end.Unix()})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	put(now.Add(-time.Hour), now.Add(time.Hour))
	until := now.Add(2 * time.Hour).Unix()
	m, err := f.approver.StartMaintenance(ctx, &managev1.StartMaintenanceRequest{AgentId: f.agentA.ID, UntilUnix: until})
	if err != nil || m.GetStartUnix() != now.Add(-time.Hour).Unix() || m.GetEndUnix() != until {
		t.Fatalf("extend: %v %v", m, err)
	}
	put(now.Add(-3*time.Hour), now.Add(-time.Hour))
	m, err = f.approver.StartMaintenance(ctx, &managev1.StartMaintenanceRequest{AgentId: f.agentA.ID, UntilUnix: until})
	if err != nil || m.GetStartUnix() < now.Unix() || m.GetEndUnix() != until {
		t.Fatalf("after an ended one: %v %v", m, err)
	}
}

// TestAlertServiceTenantIsolation: every rule, alert and maintenance call
// aimed at tenant beta answers NotFound to acme's client roles, and the
// same call from the MSP reaches beta's object.
func TestAlertServiceTenantIsolation(t *testing.T) {
	f := newAlertFixture(t)
	ctx := context.Background()
	idB := f.seedAlert(t, f.agentB)
	type call func(c managev1.AlertServiceClient) error
	calls := map[string]call{
		"ListAlertRules": func(c managev1.AlertServiceClient) error {
			_, err := c.ListAlertRules(ctx, &managev1.ListAlertRulesRequest{Tenant: "beta"})
			return err
		},
		"GetAlertRule": func(c managev1.AlertServiceClient) error {
			_, err := c.GetAlertRule(ctx, &managev1.GetAlertRuleRequest{Tenant: "beta", Id: alert.DefaultCPU})
			return err
		},
		"UpdateAlertRule": func(c managev1.AlertServiceClient) error {
			_, err := c.UpdateAlertRule(ctx, &managev1.UpdateAlertRuleRequest{Tenant: "beta", Id: alert.DefaultCPU,
				Spec: &managev1.AlertRuleSpec{Threshold: 90}, UpdateFields: []string{"threshold"}})
			return err
		},
		"SetAlertRuleEnabled": func(c managev1.AlertServiceClient) error {
			_, err := c.SetAlertRuleEnabled(ctx, &managev1.SetAlertRuleEnabledRequest{Tenant: "beta", Id: alert.DefaultMemory, Enabled: true})
			return err
		},
		"ListAlerts": func(c managev1.AlertServiceClient) error {
			_, err := c.ListAlerts(ctx, &managev1.ListAlertsRequest{Tenant: "beta"})
			return err
		},
		"GetAlert": func(c managev1.AlertServiceClient) error {
			_, err := c.GetAlert(ctx, &managev1.GetAlertRequest{Id: idB})
			return err
		},
		"ListMaintenance": func(c managev1.AlertServiceClient) error {
			_, err := c.ListMaintenance(ctx, &managev1.ListMaintenanceRequest{Tenant: "beta"})
			return err
		},
		"StopMaintenance": func(c managev1.AlertServiceClient) error {
			_, err := c.StopMaintenance(ctx, &managev1.StopMaintenanceRequest{AgentId: f.agentB.ID})
			return err
		},
	}
	for name, fn := range calls {
		for who, c := range map[string]managev1.AlertServiceClient{"approver": f.approver, "viewer": f.viewer} {
			if err := fn(c); alertCode(err) != codes.NotFound {
				t.Errorf("%s as acme's %s: %v, want NotFound", name, who, err)
			}
		}
		if err := fn(f.admin); alertCode(err) == codes.NotFound {
			t.Errorf("%s as admin: NotFound; the call does not reach beta", name)
		}
	}
	// Without a tenant, a tenant-scoped caller means its own: beta's own
	// approver reaches beta's default rule, acme's reaches acme's.
	for c, tenant := range map[managev1.AlertServiceClient]string{f.approver: "acme", f.approver2: "beta"} {
		if r, err := c.GetAlertRule(ctx, &managev1.GetAlertRuleRequest{Id: alert.DefaultCPU}); err != nil || r.GetTenant() != tenant {
			t.Errorf("own default rule: %v %v, want %s", r, err, tenant)
		}
	}
	// Creating and deleting rules is the MSP's.
	spec := &managev1.AlertRuleSpec{Kind: "verify_failed"}
	if _, err := f.approver.CreateAlertRule(ctx, &managev1.CreateAlertRuleRequest{Tenant: "acme", Spec: spec}); alertCode(err) != codes.PermissionDenied {
		t.Errorf("approver creates: %v", err)
	}
	if _, err := f.approver.DeleteAlertRule(ctx, &managev1.DeleteAlertRuleRequest{Tenant: "acme", Id: alert.DefaultCPU}); alertCode(err) != codes.PermissionDenied {
		t.Errorf("approver deletes: %v", err)
	}
	if _, err := f.viewer.UpdateAlertRule(ctx, &managev1.UpdateAlertRuleRequest{Tenant: "acme", Id: alert.DefaultCPU,
		Spec: &managev1.AlertRuleSpec{Threshold: 90}, UpdateFields: []string{"threshold"}}); alertCode(err) != codes.PermissionDenied {
		t.Errorf("viewer updates: %v", err)
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestAlertListNewestFirstWithinLimit: the list keeps the newest alerts
// (latest start first) up to the limit and says it was cut; a client
// principal who names no tenant gets only its own tenant's alerts.
func TestAlertListNewestFirstWithinLimit(t *testing.T) {
	f := newAlertFixture(t)
	ctx := context.Background()
	base := time.Now().Add(-48 * time.Hour).Truncate(time.Millisecond)
	err := f.c.Server().Store().Update(ctx, func(tx store.Tx) error {
		for i := range 40 {
			for _, tenant := range []string{"acme", "beta"} {
				// Ids run against start times, so id order is not list order.
				r := &storev1.AlertRecord{Id: fmt.Sprintf("al-%s-%02d", tenant, 99-i), Tenant: tenant, Rule: alert.DefaultCPU,
					StartUnixMs: base.Add(time.Duration(i) * time.Minute).UnixMilli(), EndUnixMs: base.Add(time.Hour).UnixMilli()}
				if i%2 == 0 {
					r.EndUnixMs = 0
				}
				if err := schema.PutAlertRecord(tx, r); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	l, err := f.viewer.ListAlerts(ctx, &managev1.ListAlertsRequest{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range l.GetAlerts() {
		got = append(got, a.GetId())
	}
	if want := []string{"al-acme-60", "al-acme-61", "al-acme-62", "al-acme-63", "al-acme-64"}; !slices.Equal(got, want) || !l.GetTruncated() {
		t.Fatalf("viewer's list with limit 5: %v (truncated %v), want %v, truncated", got, l.GetTruncated(), want)
	}
	open, err := f.tech.ListAlerts(ctx, &managev1.ListAlertsRequest{Tenant: "beta", OpenOnly: true, Limit: 100})
	if err != nil || len(open.GetAlerts()) != 20 || open.GetTruncated() || open.GetAlerts()[0].GetId() != "al-beta-61" {
		t.Fatalf("beta's open alerts: %d, truncated %v, first %v, %v", len(open.GetAlerts()), open.GetTruncated(), open.GetAlerts()[:1], err)
	}
}
