package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-rmm/vigil/console/client"
	"github.com/vigil-rmm/vigil/internal/cli"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// Alert rules. A rule id is unique within its tenant only (every tenant
// has a default-cpu): the rule commands take --tenant, which a
// tenant-scoped caller may leave out (its own tenant is meant) and the
// MSP may leave out when exactly one tenant has a rule of that id.

// alertRuleJSON is a rule in -o json.
type alertRuleJSON struct {
	ID                 string     `json:"id"`
	Tenant             string     `json:"tenant"`
	Name               string     `json:"name"`
	Kind               string     `json:"kind"`
	Enabled            bool       `json:"enabled"`
	Condition          string     `json:"condition"`
	Activation         string     `json:"activation"`
	Repeats            string     `json:"repeats"`
	Metric             string     `json:"metric,omitempty"`
	Volume             string     `json:"volume,omitempty"`
	Op                 string     `json:"op,omitempty"`
	Threshold          float64    `json:"threshold"`
	ForSeconds         int64      `json:"for_seconds"`
	AfterSeconds       int64      `json:"after_seconds"`
	ScanFailures       int32      `json:"scan_failures"`
	Check              string     `json:"check,omitempty"`
	CheckLevel         string     `json:"check_level,omitempty"`
	CheckUnknown       bool       `json:"check_unknown"`
	TaskPlugin         string     `json:"task_plugin,omitempty"`
	Consecutive        int32      `json:"consecutive"`
	RepeatEverySeconds int64      `json:"repeat_interval_seconds"`
	RepeatCount        int32      `json:"repeat_count"`
	Timezone           string     `json:"activation_timezone,omitempty"`
	Days               []string   `json:"activation_days"`
	Hours              []string   `json:"activation_hours"`
	EscalateTo         string     `json:"escalation_contact,omitempty"`
	EscalateAfter      int64      `json:"escalation_after_seconds"`
	Contacts           []string   `json:"contacts"`
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          *time.Time `json:"updated_at"`
	UpdatedBy          string     `json:"updated_by"`
}

var alertDayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func alertRuleOf(v *managev1.AlertRuleView) alertRuleJSON {
	s := v.GetSpec()
	days := []string{}
	for _, d := range s.GetActivationDays() {
		if d >= 0 && int(d) < len(alertDayNames) {
			days = append(days, alertDayNames[d])
		}
	}
	return alertRuleJSON{ID: v.GetId(), Tenant: v.GetTenant(), Name: s.GetName(), Kind: s.GetKind(), Enabled: s.GetEnabled(),
		Condition: v.GetCondition(), Activation: v.GetActivation(), Repeats: v.GetRepeats(), Metric: s.GetMetric(),
		Volume: s.GetVolume(), Op: s.GetOp(), Threshold: s.GetThreshold(), ForSeconds: s.GetForSeconds(),
		AfterSeconds: s.GetAfterSeconds(), ScanFailures: s.GetScanFailures(), Check: s.GetCheck(), CheckLevel: s.GetCheckLevel(),
		CheckUnknown: s.GetCheckUnknown(), TaskPlugin: s.GetTaskPlugin(), Consecutive: s.GetConsecutive(),
		RepeatEverySeconds: s.GetRepeatIntervalSeconds(), RepeatCount: s.GetRepeatCount(), Timezone: s.GetActivationTimezone(),
		Days: days, Hours: append([]string{}, s.GetActivationHours()...), EscalateTo: s.GetEscalationContact(),
		EscalateAfter: s.GetEscalationAfterSeconds(), Contacts: append([]string{}, s.GetContacts()...),
		CreatedAt: unix(v.GetCreatedUnix()), UpdatedAt: unixPtr(v.GetUpdatedUnix()), UpdatedBy: v.GetUpdatedBy()}
}

func printAlertRules(e *env, o string, vs []*managev1.AlertRuleView, single bool) error {
	views := []alertRuleJSON{}
	for _, v := range vs {
		views = append(views, alertRuleOf(v))
	}
	if o == "json" {
		if single {
			return writeJSON(e.stdout, views[0])
		}
		return writeJSON(e.stdout, views)
	}
	if single {
		v := views[0]
		rows := [][]string{{"id", v.ID}, {"tenant", v.Tenant}, {"name", dash(v.Name)}, {"kind", v.Kind},
			{"condition", v.Condition}, {"enabled", yesNo(v.Enabled)}, {"consecutive", strconv.Itoa(int(v.Consecutive))},
			{"activation", v.Activation}, {"repeats", v.Repeats}, {"contacts", dash(strings.Join(v.Contacts, ","))}}
		if v.EscalateTo != "" {
			rows = append(rows, []string{"escalation", fmt.Sprintf("%s after %s", v.EscalateTo, time.Duration(v.EscalateAfter)*time.Second)})
		}
		rows = append(rows, []string{"created", v.CreatedAt.Format(time.RFC3339)})
		if v.UpdatedAt != nil {
			rows = append(rows, []string{"updated", v.UpdatedAt.Format(time.RFC3339) + " by " + dash(v.UpdatedBy)})
		}
		return table(e.stdout, []string{"FIELD", "VALUE"}, rows)
	}
	var rows [][]string
	for _, v := range views {
		rows = append(rows, []string{v.ID, v.Tenant, v.Kind, v.Condition, yesNo(v.Enabled), v.Activation, v.Repeats})
	}
	return table(e.stdout, []string{"ID", "TENANT", "KIND", "CONDITION", "ENABLED", "ACTIVATION", "REPEATS"}, rows)
}

func ruleList(e *env, args []string) error {
	fs := flag.NewFlagSet("rule list", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "only this tenant")
	_, o, err := parse(fs, args, []string{"table", "json"})
	if err != nil {
		return err
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.ListAlertRules(ctx, &managev1.ListAlertRulesRequest{Tenant: *tenant})
		if err != nil {
			return err
		}
		return printAlertRules(e, o, r.GetRules(), false)
	})
}

func ruleShow(e *env, args []string) error {
	fs := flag.NewFlagSet("rule show", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "the rule's tenant (see vigilctl help)")
	return showOne(e, args, fs, "RULE",
		func(ctx context.Context, c *client.Client, id string) (*managev1.AlertRuleView, error) {
			return c.GetAlertRule(ctx, &managev1.GetAlertRuleRequest{Tenant: *tenant, Id: id})
		},
		func(o string, r *managev1.AlertRuleView) error {
			return printAlertRules(e, o, []*managev1.AlertRuleView{r}, true)
		})
}

// alertRuleFlags are the flags of rule create and rule update; fields
// says which spec fields the flags given set.
type alertRuleFlags struct {
	fs                                  *flag.FlagSet
	name, kind, when, metric, op        *string
	threshold                           *float64
	forD, after, volume                 *string
	failures, consecutive, repeatCount  *int
	check, level, plugin                *string
	unknown, repeatForever              *bool
	repeatEvery, days, hours, tz        *string
	escalateTo, escalateAfter, contacts *string
}

func newAlertRuleFlags(fs *flag.FlagSet) *alertRuleFlags {
	return &alertRuleFlags{fs: fs,
		name:          fs.String("name", "", "display name"),
		kind:          fs.String("kind", "", "metric, offline, updates, reboot, scan, check, task or verify"),
		when:          fs.String("when", "", `condition in one: "cpu > 90% for 10m", "disk C: < 10%", "offline > 10m"`),
		metric:        fs.String("metric", "", "cpu, memory, swap, load1 or disk (metric rules)"),
		op:            fs.String("op", "", "'>', '>=', '<' or '<=' (metric rules)"),
		threshold:     fs.Float64("threshold", 0, "threshold: a percentage, or a load (metric rules)"),
		forD:          fs.String("for", "", "how long the metric must hold, e.g. 10m (metric rules)"),
		volume:        fs.String("volume", "", "volume pattern, e.g. C: or /srv/* (disk rules)"),
		after:         fs.String("after", "", "age limit: 10m (offline), 14d (updates), 3d (reboot)"),
		failures:      fs.Int("failures", 0, "failed scans in a row (scan rules)"),
		check:         fs.String("check", "", "check name pattern (check rules; default every check)"),
		level:         fs.String("level", "", "warning or critical (check rules; default critical)"),
		unknown:       fs.Bool("unknown", false, "a check that cannot run holds too (check rules)"),
		plugin:        fs.String("plugin", "", "only tasks of this plugin (task rules)"),
		consecutive:   fs.Int("consecutive", 0, "evaluations in a row that change the state (default 2)"),
		repeatEvery:   fs.String("repeat-every", "", "re-notify every D while firing and not acknowledged (0: never)"),
		repeatCount:   fs.Int("repeat-count", 0, "repeat at most N times (1-10)"),
		repeatForever: fs.Bool("repeat-forever", false, "repeat until acknowledged or recovered"),
		days:          fs.String("days", "", "weekdays the rule may notify on: mon-fri, sat,sun (empty: every day)"),
		hours:         fs.String("hours", "", "hours it may notify in: 08:00-18:00,20:00-22:00 (empty: all day)"),
		tz:            fs.String("timezone", "", "time zone of days and hours (default the tenant's)"),
		escalateTo:    fs.String("escalate-to", "", "contact notified when not acknowledged in time"),
		escalateAfter: fs.String("escalate-after", "", "escalate after D unacknowledged, e.g. 30m"),
		contacts:      fs.String("contacts", "", "contact ids, comma separated (empty: the tenant's default contacts)"),
	}
}

// alertRuleKinds maps the kinds' short names to their API names.
var alertRuleKinds = map[string]string{
	"metric": "metric", "offline": "offline", "updates": "updates_pending", "reboot": "reboot_pending", "scan": "scan_failing",
	"check": "check_status", "task": "task_failed", "verify": "verify_failed",
	"updates_pending": "updates_pending", "reboot_pending": "reboot_pending", "scan_failing": "scan_failing",
	"check_status": "check_status", "task_failed": "task_failed", "verify_failed": "verify_failed",
}

// alertMetrics maps the metric names vigilctl accepts to the API's.
var alertMetrics = map[string]string{"cpu": "cpu", "memory": "memory", "mem": "memory", "swap": "swap", "load": "load1",
	"load1": "load1", "disk": "disk_free_percent", "disk_free": "disk_free_percent", "disk_free_percent": "disk_free_percent"}

// spec builds the spec from the flags given and lists the fields they set.
func (f *alertRuleFlags) spec() (*managev1.AlertRuleSpec, []string, error) {
	sp := &managev1.AlertRuleSpec{}
	var fields []string
	set := func(names ...string) { fields = append(fields, names...) }
	var err error
	f.fs.Visit(func(fl *flag.Flag) {
		if err != nil {
			return
		}
		v := fl.Value.String()
		switch fl.Name {
		case "name":
			sp.Name = v
			set("name")
		case "kind":
			k, ok := alertRuleKinds[v]
			if !ok {
				err = cli.Usagef("--kind %q: want metric, offline, updates, reboot, scan, check, task or verify", v)
			}
			sp.Kind = k
			set("kind")
		case "when":
			err = parseWhen(v, sp, set)
		case "metric":
			m, ok := alertMetrics[v]
			if !ok {
				err = cli.Usagef("--metric %q: want cpu, memory, swap, load1 or disk", v)
			}
			sp.Metric = m
			set("metric")
		case "op":
			sp.Op = v
			set("op")
		case "threshold":
			sp.Threshold = *f.threshold
			set("threshold")
		case "for":
			sp.ForSeconds, err = ruleSeconds("for", v)
			set("for_seconds")
		case "volume":
			sp.Volume = v
			set("volume")
		case "after":
			sp.AfterSeconds, err = ruleSeconds("after", v)
			set("after_seconds")
		case "failures":
			sp.ScanFailures = int32(*f.failures)
			set("scan_failures")
		case "check":
			sp.Check = v
			set("check")
		case "level":
			sp.CheckLevel = v
			set("check_level")
		case "unknown":
			sp.CheckUnknown = *f.unknown
			set("check_unknown")
		case "plugin":
			sp.TaskPlugin = v
			set("task_plugin")
		case "consecutive":
			sp.Consecutive = int32(*f.consecutive)
			set("consecutive")
		case "repeat-every":
			sp.RepeatIntervalSeconds, err = ruleSeconds("repeat-every", v)
			set("repeat_interval_seconds")
		case "repeat-count":
			sp.RepeatCount = int32(*f.repeatCount)
			set("repeat_count")
		case "repeat-forever":
			sp.RepeatCount = 0
			set("repeat_count")
		case "days":
			sp.ActivationDays, err = parseRuleDays(v)
			set("activation_days")
		case "hours":
			sp.ActivationHours = splitList(v)
			set("activation_hours")
		case "timezone":
			sp.ActivationTimezone = v
			set("activation_timezone")
		case "escalate-to":
			sp.EscalationContact = v
			set("escalation_contact")
			if v == "" {
				set("escalation_after_seconds") // no contact: no escalation at all
			}
		case "escalate-after":
			sp.EscalationAfterSeconds, err = ruleSeconds("escalate-after", v)
			set("escalation_after_seconds")
		case "contacts":
			sp.Contacts = splitList(v)
			set("contacts")
		}
	})
	if err == nil && *f.repeatForever && f.given("repeat-count") {
		err = cli.Usagef("--repeat-count and --repeat-forever: give one")
	}
	return sp, fields, err
}

func (f *alertRuleFlags) given(name string) bool {
	found := false
	f.fs.Visit(func(fl *flag.Flag) { found = found || fl.Name == name })
	return found
}

func splitList(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ruleSeconds reads a duration such as 10m, 1h30m or 14d as seconds.
func ruleSeconds(name, s string) (int64, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil && n >= 0 && n <= 3650 {
			return int64(n) * 24 * 3600, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, cli.Usagef("--%s %q: want a duration such as 30m, 1h30m or 14d", name, s)
	}
	return int64(d / time.Second), nil
}

// parseRuleDays reads "mon-fri", "sat,sun", "fri-mon" as weekday numbers
// (0 Sunday).
func parseRuleDays(s string) ([]int32, error) {
	day := func(n string) (int, error) {
		for i, d := range alertDayNames {
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(n)), d) && len(strings.TrimSpace(n)) >= 3 {
				return i, nil
			}
		}
		return 0, cli.Usagef("--days %q: %q is not a weekday (mon, tue, ... sun)", s, n)
	}
	out := []int32{}
	seen := map[int]bool{}
	for _, part := range splitList(s) {
		from, to, isRange := strings.Cut(part, "-")
		a, err := day(from)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = day(to); err != nil {
				return nil, err
			}
		}
		for d := a; ; d = (d + 1) % 7 {
			if !seen[d] {
				seen[d] = true
				out = append(out, int32(d))
			}
			if d == b {
				break
			}
		}
	}
	return out, nil
}

// parseWhen reads a compact condition: "cpu > 90% for 10m", "memory >=
// 95", "disk C: < 10%", "load1 > 8 for 5m" or "offline > 10m".
func parseWhen(s string, sp *managev1.AlertRuleSpec, set func(...string)) error {
	bad := cli.Usagef(`--when %q: want "METRIC [VOLUME] OP VALUE[%%] [for DURATION]" (cpu > 90%% for 10m) or "offline > 10m"`, s)
	f := strings.Fields(s)
	if len(f) == 3 && f[0] == "offline" && f[1] == ">" {
		after, err := ruleSeconds("when", f[2])
		if err != nil {
			return bad
		}
		sp.Kind, sp.AfterSeconds = "offline", after
		set("kind", "after_seconds")
		return nil
	}
	if len(f) < 3 {
		return bad
	}
	m, ok := alertMetrics[f[0]]
	if !ok {
		return bad
	}
	f = f[1:]
	if m == "disk_free_percent" && len(f) > 0 && !strings.ContainsAny(f[0][:1], "<>") {
		sp.Volume = f[0]
		set("volume")
		f = f[1:]
	}
	if len(f) != 2 && len(f) != 4 {
		return bad
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(f[1], "%"), 64)
	if err != nil {
		return bad
	}
	sp.Kind, sp.Metric, sp.Op, sp.Threshold = "metric", m, f[0], v
	set("kind", "metric", "op", "threshold")
	if len(f) == 4 {
		if f[2] != "for" {
			return bad
		}
		if sp.ForSeconds, err = ruleSeconds("when", f[3]); err != nil {
			return bad
		}
		set("for_seconds")
	}
	return nil
}

func ruleCreate(e *env, args []string) error {
	fs := flag.NewFlagSet("rule create", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "the rule's tenant (required)")
	id := fs.String("id", "", "rule id (default ru- and a random suffix)")
	disabled := fs.Bool("disabled", false, "create it disabled")
	rf := newAlertRuleFlags(fs)
	_, o, err := parse(fs, args, []string{"table", "json"})
	if err != nil {
		return err
	}
	sp, _, err := rf.spec()
	if err != nil {
		return err
	}
	if *tenant == "" || sp.Kind == "" {
		return cli.Usagef("rule create: --tenant and --kind (or --when) are required")
	}
	sp.Enabled = !*disabled
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.CreateAlertRule(ctx, &managev1.CreateAlertRuleRequest{Tenant: *tenant, Id: *id, Spec: sp})
		if err != nil {
			return err
		}
		return printAlertRules(e, o, []*managev1.AlertRuleView{r}, true)
	})
}

func ruleUpdate(e *env, args []string) error {
	fs := flag.NewFlagSet("rule update", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "the rule's tenant (see vigilctl help)")
	rf := newAlertRuleFlags(fs)
	pos, o, err := parse(fs, args, []string{"table", "json"}, "RULE")
	if err != nil {
		return err
	}
	sp, fields, err := rf.spec()
	if err != nil {
		return err
	}
	// --when names the kind of its condition; on an update that is not a
	// change of kind (which the controller refuses), only --kind is.
	if !rf.given("kind") {
		fields = slices.DeleteFunc(fields, func(f string) bool { return f == "kind" })
	}
	if len(fields) == 0 {
		return cli.Usagef("rule update: nothing to change; give the flags of the fields to change")
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.UpdateAlertRule(ctx, &managev1.UpdateAlertRuleRequest{Tenant: *tenant, Id: pos[0], Spec: sp, UpdateFields: fields})
		if err != nil {
			return err
		}
		return printAlertRules(e, o, []*managev1.AlertRuleView{r}, true)
	})
}

func ruleSetEnabled(e *env, name string, args []string, enabled bool) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	tenant := fs.String("tenant", "", "the rule's tenant (see vigilctl help)")
	return showOne(e, args, fs, "RULE",
		func(ctx context.Context, c *client.Client, id string) (*managev1.AlertRuleView, error) {
			return c.SetAlertRuleEnabled(ctx, &managev1.SetAlertRuleEnabledRequest{Tenant: *tenant, Id: id, Enabled: enabled})
		},
		func(o string, r *managev1.AlertRuleView) error {
			return printAlertRules(e, o, []*managev1.AlertRuleView{r}, true)
		})
}

func ruleEnable(e *env, args []string) error { return ruleSetEnabled(e, "rule enable", args, true) }

func ruleDisable(e *env, args []string) error { return ruleSetEnabled(e, "rule disable", args, false) }

func ruleDelete(e *env, args []string) error {
	fs := flag.NewFlagSet("rule delete", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "the rule's tenant (see vigilctl help)")
	return actOne(e, args, fs, "RULE",
		func(ctx context.Context, c *client.Client, id string) (*managev1.DeleteAlertRuleResponse, error) {
			return c.DeleteAlertRule(ctx, &managev1.DeleteAlertRuleRequest{Tenant: *tenant, Id: id})
		},
		func(r *managev1.DeleteAlertRuleResponse) any {
			return struct {
				Tenant string `json:"tenant"`
				ID     string `json:"id"`
				Closed int32  `json:"closed_alerts"`
			}{r.GetTenant(), r.GetId(), r.GetClosed()}
		},
		func(r *managev1.DeleteAlertRuleResponse) string {
			return fmt.Sprintf("rule %s of tenant %s deleted (%d open alert(s) closed)\n", r.GetId(), r.GetTenant(), r.GetClosed())
		})
}

// alertJSON is an alert in -o json.
type alertJSON struct {
	ID         string     `json:"id"`
	Tenant     string     `json:"tenant"`
	Rule       string     `json:"rule"`
	RuleKind   string     `json:"rule_kind"`
	Agent      string     `json:"agent"`
	Host       string     `json:"host"`
	Item       string     `json:"item"`
	Incident   uint64     `json:"incident"`
	State      string     `json:"state"`
	Open       bool       `json:"open"`
	StartedAt  time.Time  `json:"started_at"`
	EndedAt    *time.Time `json:"ended_at"`
	Summary    string     `json:"summary"`
	AckedAt    *time.Time `json:"acked_at"`
	AckedBy    string     `json:"acked_by"`
	Notified   bool       `json:"notified"`
	Suppressed bool       `json:"suppressed"`
	LastAt     *time.Time `json:"last_at"`
	Value      float64    `json:"value"`
}

func alertOf(a *managev1.AlertView) alertJSON {
	state := "firing"
	switch {
	case !a.GetOpen():
		state = "resolved"
	case a.GetAckedUnixMs() != 0:
		state = "acknowledged"
	}
	return alertJSON{ID: a.GetId(), Tenant: a.GetTenant(), Rule: a.GetRule(), RuleKind: a.GetRuleKind(), Agent: a.GetAgent(),
		Host: a.GetHost(), Item: a.GetItem(), Incident: a.GetIncident(), State: state, Open: a.GetOpen(),
		StartedAt: unixMs(a.GetStartUnixMs()), EndedAt: unixMsPtr(a.GetEndUnixMs()), Summary: a.GetSummary(),
		AckedAt: unixMsPtr(a.GetAckedUnixMs()), AckedBy: a.GetAckedBy(), Notified: a.GetNotified(), Suppressed: a.GetSuppressed(),
		LastAt: unixMsPtr(a.GetLastUnixMs()), Value: a.GetValue()}
}

func timeCell(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func printAlerts(e *env, o string, as []*managev1.AlertView, single bool) error {
	views := []alertJSON{}
	for _, a := range as {
		views = append(views, alertOf(a))
	}
	switch {
	case o == "json" && single:
		return writeJSON(e.stdout, views[0])
	case o == "json":
		return writeJSON(e.stdout, views)
	case o == "csv":
		cw := newCSV(e.stdout)
		_ = cw.Write([]string{"id", "tenant", "rule", "rule_kind", "agent", "host", "item", "state", "started_at", "ended_at",
			"acked_at", "acked_by", "notified", "suppressed", "summary"})
		for _, v := range views {
			_ = cw.Write([]string{v.ID, v.Tenant, v.Rule, v.RuleKind, v.Agent, v.Host, v.Item, v.State, v.StartedAt.Format(time.RFC3339),
				timeCSV(v.EndedAt), timeCSV(v.AckedAt), v.AckedBy, strconv.FormatBool(v.Notified), strconv.FormatBool(v.Suppressed), v.Summary})
		}
		cw.Flush()
		return cw.Error()
	case single:
		v := views[0]
		return table(e.stdout, []string{"FIELD", "VALUE"}, [][]string{{"id", v.ID}, {"tenant", v.Tenant},
			{"rule", v.Rule + " (" + v.RuleKind + ")"}, {"host", dash(v.Host)}, {"item", dash(v.Item)}, {"state", v.State},
			{"started", v.StartedAt.Format(time.RFC3339)}, {"ended", timeCell(v.EndedAt)},
			{"acknowledged", strings.TrimSpace(timeCell(v.AckedAt) + " " + v.AckedBy)}, {"notified", yesNo(v.Notified)},
			{"suppressed", yesNo(v.Suppressed)}, {"summary", v.Summary}})
	}
	var rows [][]string
	for _, v := range views {
		rows = append(rows, []string{v.ID, v.Tenant, dash(v.Host), v.Rule, v.State, v.StartedAt.Format(time.RFC3339), v.Summary})
	}
	return table(e.stdout, []string{"ID", "TENANT", "HOST", "RULE", "STATE", "STARTED", "SUMMARY"}, rows)
}

func alertList(e *env, args []string) error {
	fs := flag.NewFlagSet("alert list", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "only this tenant")
	open := fs.Bool("open", false, "only alerts that have not recovered")
	since := fs.String("since", "7d", "alerts open at or after: duration ago (7d, 12h) or RFC 3339 time")
	limit := fs.Uint("limit", 0, "at most this many (default and max 5000)")
	_, o, err := parse(fs, args, []string{"table", "json", "csv"})
	if err != nil {
		return err
	}
	from, err := parseTime("since", *since, now())
	if err != nil {
		return err
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.ListAlerts(ctx, &managev1.ListAlertsRequest{Tenant: *tenant, OpenOnly: *open, SinceUnix: unixOrZero(from), Limit: uint32(*limit)})
		if err != nil {
			return err
		}
		if r.GetTruncated() {
			fmt.Fprintf(e.stderr, "vigilctl: list truncated at %d alerts; narrow --since or --tenant\n", len(r.GetAlerts()))
		}
		return printAlerts(e, o, r.GetAlerts(), false)
	})
}

func alertShow(e *env, args []string) error {
	return showOne(e, args, flag.NewFlagSet("alert show", flag.ContinueOnError), "ALERT",
		func(ctx context.Context, c *client.Client, id string) (*managev1.AlertView, error) {
			return c.GetAlert(ctx, &managev1.GetAlertRequest{Id: id})
		},
		func(o string, a *managev1.AlertView) error { return printAlerts(e, o, []*managev1.AlertView{a}, true) })
}

func alertAck(e *env, args []string) error {
	fs := flag.NewFlagSet("alert ack", flag.ContinueOnError)
	comment := fs.String("comment", "", "a note kept with the acknowledgement")
	return actOne(e, args, fs, "ALERT",
		func(ctx context.Context, c *client.Client, id string) (*managev1.AlertView, error) {
			return c.AckAlert(ctx, &managev1.AckAlertRequest{Id: id, Comment: *comment})
		},
		func(a *managev1.AlertView) any { return alertOf(a) },
		func(a *managev1.AlertView) string {
			return fmt.Sprintf("alert %s acknowledged by %s: no more repeats or escalation; its recovery will still be notified\n",
				a.GetId(), a.GetAckedBy())
		})
}

// maintenanceJSON is a maintenance record in -o json.
type maintenanceJSON struct {
	AgentID      string     `json:"agent_id"`
	Hostname     string     `json:"hostname"`
	Tenant       string     `json:"tenant"`
	Start        time.Time  `json:"start"`
	End          time.Time  `json:"end"`
	Active       bool       `json:"active"`
	Reason       string     `json:"reason"`
	By           string     `json:"by"`
	VerifiedAt   *time.Time `json:"verified_at"`
	VerifyOK     bool       `json:"verify_ok"`
	VerifyDetail string     `json:"verify_detail"`
}

func maintenanceOf(m *managev1.MaintenanceView) maintenanceJSON {
	return maintenanceJSON{AgentID: m.GetAgentId(), Hostname: m.GetHostname(), Tenant: m.GetTenant(), Start: unix(m.GetStartUnix()),
		End: unix(m.GetEndUnix()), Active: m.GetActive(), Reason: m.GetReason(), By: m.GetBy(), VerifiedAt: unixPtr(m.GetVerifiedUnix()),
		VerifyOK: m.GetVerifyOk(), VerifyDetail: m.GetVerifyDetail()}
}

func verifyCell(v maintenanceJSON) string {
	switch {
	case v.Active:
		return "-"
	case v.VerifiedAt == nil:
		return "pending"
	case v.VerifyOK:
		return "ok"
	}
	return "failed: " + v.VerifyDetail
}

func printMaintenance(e *env, o string, ms []*managev1.MaintenanceView, single bool) error {
	views := []maintenanceJSON{}
	for _, m := range ms {
		views = append(views, maintenanceOf(m))
	}
	if o == "json" {
		if single {
			return writeJSON(e.stdout, views[0])
		}
		return writeJSON(e.stdout, views)
	}
	var rows [][]string
	for _, v := range views {
		rows = append(rows, []string{v.AgentID, dash(v.Hostname), v.Tenant, v.Start.Format(time.RFC3339), v.End.Format(time.RFC3339),
			yesNo(v.Active), verifyCell(v), dash(v.Reason)})
	}
	return table(e.stdout, []string{"AGENT", "HOST", "TENANT", "START", "END", "ACTIVE", "VERIFICATION", "REASON"}, rows)
}

// maintenanceUntil reads --until: an RFC 3339 time, a duration from now
// (2h, 1d), or "YYYY-MM-DD HH:MM" in the agent's tenant's zone (left to
// the controller, which knows the zone).
func maintenanceUntil(s string, from time.Time) (*managev1.StartMaintenanceRequest, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return &managev1.StartMaintenanceRequest{UntilUnix: t.Unix()}, nil
	}
	if secs, err := ruleSeconds("until", s); err == nil && secs > 0 {
		return &managev1.StartMaintenanceRequest{UntilUnix: from.Add(time.Duration(secs) * time.Second).Unix()}, nil
	}
	if _, err := time.Parse("2006-01-02 15:04", s); err == nil {
		return &managev1.StartMaintenanceRequest{UntilLocal: s}, nil
	}
	return nil, cli.Usagef(`--until %q: want a duration (2h, 1d), an RFC 3339 time, or "YYYY-MM-DD HH:MM" in the tenant's time zone`, s)
}

func maintenanceStart(e *env, args []string) error {
	fs := flag.NewFlagSet("maintenance start", flag.ContinueOnError)
	until := fs.String("until", "", "end: 2h, 1d, RFC 3339, or \"YYYY-MM-DD HH:MM\" in the tenant's zone (at most 7 days ahead)")
	reason := fs.String("reason", "", "why, for the record")
	pos, o, err := parse(fs, args, []string{"table", "json"}, "AGENT")
	if err != nil {
		return err
	}
	if *until == "" {
		return cli.Usagef("maintenance start: --until is required")
	}
	req, err := maintenanceUntil(*until, now())
	if err != nil {
		return err
	}
	req.AgentId, req.Reason = pos[0], *reason
	return call(e, func(ctx context.Context, c *client.Client) error {
		m, err := c.StartMaintenance(ctx, req)
		if err != nil {
			return err
		}
		if o == "json" {
			return writeJSON(e.stdout, maintenanceOf(m))
		}
		fmt.Fprintf(e.stdout, "%s (%s) under maintenance until %s: its alerts still evaluate, nobody is notified\n",
			m.GetAgentId(), m.GetHostname(), unix(m.GetEndUnix()).Format(time.RFC3339))
		return nil
	})
}

func maintenanceStop(e *env, args []string) error {
	return actOne(e, args, flag.NewFlagSet("maintenance stop", flag.ContinueOnError), "AGENT",
		func(ctx context.Context, c *client.Client, id string) (*managev1.MaintenanceView, error) {
			return c.StopMaintenance(ctx, &managev1.StopMaintenanceRequest{AgentId: id})
		},
		func(m *managev1.MaintenanceView) any { return maintenanceOf(m) },
		func(m *managev1.MaintenanceView) string {
			return fmt.Sprintf("maintenance of %s (%s) ended; the post-maintenance verification follows (maintenance list shows it)\n",
				m.GetAgentId(), m.GetHostname())
		})
}

func maintenanceList(e *env, args []string) error {
	fs := flag.NewFlagSet("maintenance list", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "only this tenant")
	_, o, err := parse(fs, args, []string{"table", "json"})
	if err != nil {
		return err
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.ListMaintenance(ctx, &managev1.ListMaintenanceRequest{Tenant: *tenant})
		if err != nil {
			return err
		}
		return printMaintenance(e, o, r.GetMaintenance(), false)
	})
}
