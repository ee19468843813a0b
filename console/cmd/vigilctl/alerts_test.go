package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/controllertest"
	"github.com/vigil-rmm/vigil/internal/clientconfig"
	"github.com/vigil-rmm/vigil/internal/version"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// alertCtl is vigilctl against a real in-process controller.
type alertCtl struct {
	c   *controllertest.Controller
	cfg string
}

func newAlertCtl(t *testing.T) *alertCtl {
	t.Helper()
	c := controllertest.Start(t)
	cfg := filepath.Join(t.TempDir(), "admin.json")
	if err := (&clientconfig.Config{Controller: c.APIAddr, CAPEM: string(c.CAPEM), Token: c.AdminToken}).Save(cfg); err != nil {
		t.Fatal(err)
	}
	return &alertCtl{c: c, cfg: cfg}
}

func (a *alertCtl) run(t *testing.T, wantCode int, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(append([]string{"--config", a.cfg}, args...), &out, &errb); code != wantCode {
		t.Fatalf("vigilctl %v: exit %d, want %d\nstdout: %s\nstderr: %s", args, code, wantCode, out.String(), errb.String())
	}
	return out.String() + errb.String()
}

func (a *alertCtl) json(t *testing.T, v any, args ...string) {
	t.Helper()
	out := a.run(t, 0, append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("vigilctl %v: %v\n%s", args, err, out)
	}
}

// TestAlertCommandsEndToEnd drives rule, alert and maintenance commands
// against a real controller.
func TestAlertCommandsEndToEnd(t *testing.T) {
	a := newAlertCtl(t)
	a.run(t, 0, "tenant", "create", "acme", "--timezone", "Europe/Paris")
	a.run(t, 0, "tenant", "create", "beta")

	// A new tenant has the six defaults.
	var rules []alertRuleJSON
	a.json(t, &rules, "rule", "list", "--tenant", "acme")
	if len(rules) != 6 {
		t.Fatalf("rules of a new tenant: %+v", rules)
	}
	table := a.run(t, 0, "rule", "list", "--tenant", "acme")
	for _, want := range []string{"default-cpu", "cpu > 95% for 15m", "offline > 10m", "reboot pending > 3d", "always"} {
		if !strings.Contains(table, want) {
			t.Errorf("rule list lacks %q:\n%s", want, table)
		}
	}

	// Update a default's threshold, then disable another.
	var cpu alertRuleJSON
	a.json(t, &cpu, "rule", "update", "default-cpu", "--tenant", "acme", "--threshold", "85", "--for", "20m")
	if cpu.Condition != "cpu > 85% for 20m" || !cpu.Enabled {
		t.Fatalf("updated rule %+v", cpu)
	}
	// The compact form names the condition's kind, which is no change.
	a.json(t, &cpu, "rule", "update", "default-cpu", "--tenant", "acme", "--when", "cpu > 90% for 10m", "--days", "mon-fri")
	if cpu.Condition != "cpu > 90% for 10m" || !strings.Contains(cpu.Activation, "mon") {
		t.Fatalf("rule updated with --when: %+v", cpu)
	}
	var mem alertRuleJSON
	a.json(t, &mem, "rule", "disable", "default-memory", "--tenant", "acme")
	if mem.Enabled {
		t.Fatalf("disabled rule %+v", mem)
	}
	a.json(t, &mem, "rule", "enable", "default-memory", "--tenant", "acme")
	if !mem.Enabled || mem.ID != "default-memory" || mem.Tenant != "acme" {
		t.Fatalf("enabled rule %+v", mem)
	}
	var shownRule alertRuleJSON
	a.json(t, &shownRule, "rule", "show", "default-cpu", "--tenant", "acme")
	if shownRule.ID != "default-cpu" || shownRule.Tenant != "acme" || shownRule.Condition != "cpu > 90% for 10m" {
		t.Fatalf("rule show --tenant %+v", shownRule)
	}
	// Without --tenant the MSP must say which tenant's default it means.
	if out := a.run(t, 1, "rule", "show", "default-cpu"); !strings.Contains(out, "InvalidArgument") || !strings.Contains(out, "--tenant") {
		t.Fatalf("ambiguous rule id: %s", out)
	}

	// Create a custom rule with the compact condition and an activation.
	var custom alertRuleJSON
	a.json(t, &custom, "rule", "create", "--tenant", "acme", "--id", "disk-c", "--when", "disk C: < 5%",
		"--days", "mon-fri", "--hours", "08:00-18:00", "--repeat-every", "30m", "--repeat-count", "3")
	if custom.ID != "disk-c" || custom.Condition != "disk free C: < 5%" || custom.Timezone != "Europe/Paris" ||
		custom.Repeats != "every 30m, 3 times" || strings.Join(custom.Days, ",") != "mon,tue,wed,thu,fri" {
		t.Fatalf("custom rule %+v", custom)
	}
	if out := a.run(t, 1, "rule", "create", "--tenant", "acme", "--kind", "metric", "--metric", "cpu", "--op", ">", "--threshold", "120"); !strings.Contains(out, "threshold") {
		t.Fatalf("bad threshold: %s", out)
	}
	if out := a.run(t, 0, "rule", "delete", "disk-c"); !strings.Contains(out, "deleted") {
		t.Fatalf("delete by unique id: %s", out)
	}
	a.run(t, 0, "rule", "create", "--tenant", "beta", "--id", "gone", "--when", "offline > 30m")
	var deleted struct {
		Tenant string `json:"tenant"`
		ID     string `json:"id"`
		Closed *int32 `json:"closed_alerts"`
	}
	a.json(t, &deleted, "rule", "delete", "gone", "--tenant", "beta")
	if deleted.Tenant != "beta" || deleted.ID != "gone" || deleted.Closed == nil || *deleted.Closed != 0 {
		t.Fatalf("rule delete -o json %+v", deleted)
	}

	// A real sample, and a rule it breaks at once: creating the rule
	// nudges the engine, which evaluates, records the alert and queues
	// its notice.
	agent := a.c.EnrollAgent(t, "acme", "web-01")
	sendCPUSample(t, a.c, agent, 99)
	a.run(t, 0, "rule", "create", "--tenant", "acme", "--id", "busy", "--when", "cpu >= 50", "--consecutive", "1")
	var alerts []alertJSON
	deadline := time.Now().Add(15 * time.Second)
	for len(alerts) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		a.json(t, &alerts, "alert", "list", "--open")
	}
	if len(alerts) != 1 || alerts[0].State != "firing" || alerts[0].Host != "web-01" || alerts[0].Rule != "busy" ||
		!alerts[0].Notified || alerts[0].Summary != "cpu 99.0% >= 50% on web-01" {
		t.Fatalf("alert list %+v", alerts)
	}
	id := alerts[0].ID
	if out := a.run(t, 0, "alert", "ack", id, "--comment", "replacing the fan"); !strings.Contains(out, "acknowledged by admin") {
		t.Fatalf("ack: %s", out)
	}
	var shown alertJSON
	a.json(t, &shown, "alert", "show", id)
	if shown.State != "acknowledged" || shown.AckedBy != "admin" || shown.AckedAt == nil {
		t.Fatalf("alert show %+v", shown)
	}
	csvOut := a.run(t, 0, "alert", "list", "-o", "csv")
	if !strings.HasPrefix(csvOut, "id,tenant,rule") || !strings.Contains(csvOut, id) {
		t.Fatalf("csv:\n%s", csvOut)
	}

	// Maintenance.
	if out := a.run(t, 0, "maintenance", "start", agent.ID, "--until", "2h", "--reason", "disk swap"); !strings.Contains(out, "under maintenance until") {
		t.Fatalf("maintenance start: %s", out)
	}
	a.run(t, 1, "maintenance", "start", agent.ID, "--until", "8d")
	var ms []maintenanceJSON
	a.json(t, &ms, "maintenance", "list", "--tenant", "acme")
	if len(ms) != 1 || !ms[0].Active || ms[0].Reason != "disk swap" || time.Until(ms[0].End) < 110*time.Minute {
		t.Fatalf("maintenance list %+v", ms)
	}
	a.run(t, 0, "maintenance", "stop", agent.ID)
	a.json(t, &ms, "maintenance", "list")
	if len(ms) != 1 || ms[0].Active {
		t.Fatalf("after stop %+v", ms)
	}
	a.run(t, 1, "maintenance", "stop", agent.ID)
}

// sendCPUSample connects as the agent and reports one sample, then waits
// for the controller to acknowledge it (committed).
func sendCPUSample(t *testing.T, c *controllertest.Controller, agent *controllertest.Agent, cpu float32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := c.AgentClient(t, agent.TLS).Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(&agentv1.AgentMessage{Msg: &agentv1.AgentMessage_Hello{Hello: &agentv1.Hello{ProtocolVersion: version.Protocol}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(&agentv1.AgentMessage{Msg: &agentv1.AgentMessage_Report{Report: &agentv1.Report{Seq: 1, TimeUnixMs: time.Now().UnixMilli(),
		Body: &agentv1.Report_Metrics{Metrics: &agentv1.Metrics{CpuPercent: cpu, MemTotal: 100, MemUsed: 10}}}}}); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := s.Recv()
		if err != nil {
			t.Fatalf("waiting for the ack: %v", err)
		}
		if m.GetAck().GetSeq() >= 1 {
			break
		}
	}
	_ = s.CloseSend()
}

func TestAlertRuleFlagParsing(t *testing.T) {
	cases := []struct {
		args   []string
		fields string
		check  func(*managev1.AlertRuleSpec) bool
	}{
		{[]string{"--when", "cpu > 90% for 10m"}, "kind,metric,op,threshold,for_seconds",
			func(s *managev1.AlertRuleSpec) bool {
				return s.Metric == "cpu" && s.Threshold == 90 && s.ForSeconds == 600
			}},
		{[]string{"--when", "offline > 15m"}, "kind,after_seconds",
			func(s *managev1.AlertRuleSpec) bool { return s.Kind == "offline" && s.AfterSeconds == 900 }},
		{[]string{"--kind", "updates", "--after", "14d"}, "after_seconds,kind",
			func(s *managev1.AlertRuleSpec) bool { return s.Kind == "updates_pending" && s.AfterSeconds == 14*86400 }},
		{[]string{"--days", "fri-mon", "--hours", "08:00-12:00,14:00-18:00"}, "activation_days,activation_hours",
			func(s *managev1.AlertRuleSpec) bool {
				return len(s.ActivationDays) == 4 && s.ActivationDays[0] == 5 && s.ActivationDays[3] == 1 && len(s.ActivationHours) == 2
			}},
		{[]string{"--repeat-every", "1h", "--repeat-forever"}, "repeat_interval_seconds,repeat_count",
			func(s *managev1.AlertRuleSpec) bool { return s.RepeatIntervalSeconds == 3600 && s.RepeatCount == 0 }},
		{[]string{"--escalate-to", ""}, "escalation_contact,escalation_after_seconds",
			func(s *managev1.AlertRuleSpec) bool { return s.EscalationContact == "" }},
	}
	for _, tc := range cases {
		fs := newFlagSetForAlertTest()
		rf := newAlertRuleFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		sp, fields, err := rf.spec()
		if err != nil || strings.Join(fields, ",") != tc.fields || !tc.check(sp) {
			t.Errorf("%v: %v %v %v", tc.args, sp, fields, err)
		}
	}
	for _, bad := range [][]string{{"--when", "cpu is hot"}, {"--days", "someday"}, {"--kind", "weather"}, {"--for", "soon"},
		{"--repeat-count", "2", "--repeat-forever"}} {
		fs := newFlagSetForAlertTest()
		rf := newAlertRuleFlags(fs)
		if err := fs.Parse(bad); err != nil {
			t.Fatal(err)
		}
		if _, _, err := rf.spec(); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func newFlagSetForAlertTest() *flag.FlagSet {
	return flag.NewFlagSet("rule test", flag.ContinueOnError)
}
