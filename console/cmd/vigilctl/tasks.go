package main

// The task commands (ADR 0010): sign and submit a task, list, show and
// cancel tasks, and list an agent's plugins. approve.go approves a
// downtime task; follow.go follows one.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/console/client"
	"github.com/vigil-rmm/vigil/internal/cli"
	"github.com/vigil-rmm/vigil/internal/envelope"
	"github.com/vigil-rmm/vigil/internal/pin"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	trustv1 "github.com/vigil-rmm/vigil/proto/vigil/trust/v1"
)

// Seams the tests replace.
var (
	newTaskID = envelope.NewTaskID
	newNonce  = envelope.NewNonce
	// pollEvery is how often --follow asks for news.
	pollEvery = 500 * time.Millisecond
	// displayLoc is the zone of the clock times --follow prints.
	displayLoc = time.Local
	// notifyInterrupt returns a context cancelled by Ctrl-C.
	notifyInterrupt = func(ctx context.Context) (context.Context, context.CancelFunc) {
		return signal.NotifyContext(ctx, os.Interrupt)
	}
)

// downtimePlugins interrupt service whatever their parameters: their tasks
// are always marked downtime.
var downtimePlugins = []string{"reboot", "windowsupdate"}

// maxTaskTimeout bounds task run --timeout.
const maxTaskTimeout = 24 * time.Hour

// tierMonitorOnly is the tier whose agents run no task.
const tierMonitorOnly = "monitor-only"

var paramNameRE = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

// paramFlag collects repeated --param k=v; a value @FILE is read from
// FILE, and @@ stands for a literal leading @.
type paramFlag map[string]string

func (p paramFlag) String() string { return "" }

func (p paramFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	switch {
	case !ok:
		return fmt.Errorf("%q: want NAME=VALUE", s)
	case !paramNameRE.MatchString(k):
		return fmt.Errorf("%q: name %q: want 1 to 64 lower-case letters, digits and _", s, k)
	case hasKey(p, k):
		return fmt.Errorf("%q: %s given twice", s, k)
	case len(p) >= envelope.MaxParams:
		return fmt.Errorf("more than %d parameters", envelope.MaxParams)
	}
	switch {
	case strings.HasPrefix(v, "@@"):
		v = v[1:]
	case strings.HasPrefix(v, "@"):
		b, err := os.ReadFile(v[1:])
		if err != nil {
			return fmt.Errorf("%s: %v", k, err)
		}
		v = string(b)
	}
	if len(v) > envelope.MaxParamValue {
		return fmt.Errorf("%s: %d bytes, at most %d", k, len(v), envelope.MaxParamValue)
	}
	p[k] = v
	return nil
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

// parseAt reads --at: an RFC 3339 time, "now", or a delay from t (30m,
// 2h, 1d).
func parseAt(s string, t time.Time) (time.Time, error) {
	switch {
	case s == "" || s == "now":
		return t, nil
	case strings.HasSuffix(s, "d"):
		if n, err := strconv.Atoi(strings.TrimSuffix(s, "d")); err == nil && n >= 0 {
			return t.Add(time.Duration(n) * 24 * time.Hour), nil
		}
	default:
		if d, err := time.ParseDuration(s); err == nil && d >= 0 {
			return t.Add(d), nil
		}
		if at, err := time.Parse(time.RFC3339, s); err == nil {
			return at, nil
		}
	}
	return time.Time{}, fmt.Errorf("--at %q: want an RFC 3339 time (2026-11-22T22:00:00+01:00) or a delay from now (30m, 2h, 1d)", s)
}

// taskRunOpts is task run's checked input.
type taskRunOpts struct {
	agent, plugin       string
	params              map[string]string
	notBefore, notAfter time.Time
	downtime            bool
	timeout             time.Duration
	follow              bool
	o                   string
}

func parseTaskRun(e *env, args []string) (*taskRunOpts, error) {
	fs := flag.NewFlagSet("task run", flag.ContinueOnError)
	plugin := fs.String("plugin", "", "the plugin to run: reboot, script, pkgupdate, windowsupdate, ... (required; see plugins list AGENT)")
	params := paramFlag{}
	fs.Var(params, "param", "a plugin parameter NAME=VALUE, repeatable; NAME=@FILE reads the value from FILE (@@ for a literal @)")
	at := fs.String("at", "", "earliest start: RFC 3339 time or a delay from now such as 30m, 2h, 1d (default now)")
	window := fs.String("window", "1h", "how long after --at the agent may still start it, at most 30d")
	downtime := fs.Bool("downtime", false, "the task may interrupt service: it then needs a client approver (implied for reboot and windowsupdate)")
	timeout := fs.Duration("timeout", 30*time.Minute, "how long the run may take, at most 24h (0: the agent's default)")
	follow := fs.Bool("follow", false, "print the task's progress and output until it ends; exit 0 only if it succeeded")
	pos, o, err := parse(fs, args, []string{"table", "json"}, "AGENT")
	if err != nil {
		return nil, err
	}
	t := now()
	r := &taskRunOpts{agent: pos[0], plugin: *plugin, params: params, downtime: *downtime, timeout: *timeout, follow: *follow, o: o}
	if r.plugin == "" {
		return nil, cli.Usagef("task run: --plugin is required: the plugin to run (see `vigilctl plugins list %s`)", r.agent)
	}
	if r.notBefore, err = parseAt(*at, t); err != nil {
		return nil, cli.Usagef("task run: %v", err)
	}
	w, err := parseSpan("window", *window)
	if err != nil {
		return nil, cli.Usagef("task run: %v", err)
	}
	if w > envelope.MaxWindow {
		return nil, cli.Usagef("task run: --window %s: at most 30d", *window)
	}
	r.notAfter = r.notBefore.Add(w)
	switch {
	case !r.notAfter.After(t):
		return nil, cli.Usagef("task run: --at %s with --window %s ends before now; give a later --at or a longer --window", *at, *window)
	case r.timeout < 0 || r.timeout > maxTaskTimeout || (r.timeout > 0 && r.timeout < time.Second):
		return nil, cli.Usagef("task run: --timeout %s: want 0 (the agent's default) or 1s to 24h", r.timeout)
	case r.follow && o == "json":
		return nil, cli.Usagef("task run: --follow prints a live log, not JSON; drop -o json (then `vigilctl task show ID -o json`)")
	}
	if slices.Contains(downtimePlugins, r.plugin) && !r.downtime {
		r.downtime = true
		fmt.Fprintf(e.stderr, "vigilctl: plugin %s interrupts service: the task is marked --downtime and needs a client approver's signature\n", r.plugin)
	}
	return r, nil
}

func taskRun(e *env, args []string) error {
	r, err := parseTaskRun(e, args)
	if err != nil {
		return err
	}
	s, err := loadSigner(e)
	if err != nil {
		return err
	}
	c, err := e.dial(context.Background())
	if err != nil {
		return err
	}
	defer c.Close()
	created, err := createTask(e, c, r, s)
	if err != nil {
		return err
	}
	v := taskOf(created)
	if r.o == "json" {
		return writeJSON(e.stdout, v)
	}
	fmt.Fprintf(e.stdout, "task %s created: %s on %s (%s, tenant %s)\n", v.ID, v.Plugin, dash(v.Hostname), v.AgentID, v.Tenant)
	if created.GetState() == managev1.TaskState_TASK_STATE_PROPOSED {
		fmt.Fprintf(e.stdout, "awaiting client approval: a client approver of %s runs `vigilctl task approve %s --yes`\n", v.Tenant, v.ID)
	} else {
		fmt.Fprintf(e.stdout, "%s: may start from %s until %s\n", v.State, v.NotBefore.Format(time.RFC3339), v.NotAfter.Format(time.RFC3339))
	}
	if !r.follow {
		fmt.Fprintf(e.stdout, "follow it: vigilctl task show %s --follow\n", v.ID)
		return nil
	}
	return followTask(e, c, v.ID)
}

// createTask builds, signs and submits the task.
func createTask(e *env, c *client.Client, r *taskRunOpts, s *signer) (*managev1.Task, error) {
	ctx, cancel := context.WithTimeout(context.Background(), e.timeout)
	defer cancel()
	me, err := c.WhoAmI(ctx, &managev1.WhoAmIRequest{})
	if err != nil {
		return nil, err
	}
	ad, err := c.GetAgent(ctx, &managev1.GetAgentRequest{Id: r.agent})
	if err != nil {
		return nil, err
	}
	a := ad.GetAgent()
	if a.GetTier() == tierMonitorOnly {
		return nil, fmt.Errorf("agent %s (%s) is monitor-only: it runs no task; its tier is set on the server itself (vigil-agent --tier)", a.GetId(), a.GetHostname())
	}
	if err := checkPlugin(ctx, e, c, r, a); err != nil {
		return nil, err
	}
	err = checkCertificate(ctx, c, me, s, func(b *trustv1.CertificateBody) error {
		if b.GetRole() != envelope.RoleTechnician && b.GetRole() != envelope.RoleAdmin {
			return fmt.Errorf("your certificate %s is for role %s; a task needs a technician's or admin's", b.GetSerial(), b.GetRole())
		}
		if b.GetTenant() != "" && b.GetTenant() != a.GetTenant() {
			return fmt.Errorf("your certificate %s covers tenant %s only; agent %s is in %s", b.GetSerial(), b.GetTenant(), a.GetId(), a.GetTenant())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	t := &trustv1.Task{TaskId: newTaskID(), Tenant: a.GetTenant(), AgentId: a.GetId(), Plugin: r.plugin, Parameters: r.params,
		NotBeforeUnix: r.notBefore.Unix(), NotAfterUnix: r.notAfter.Unix(), Downtime: r.downtime, Nonce: newNonce(),
		CreatedUnix: now().Unix(), CreatedBy: me.GetName(), TimeoutSeconds: uint32(r.timeout / time.Second)}
	st, err := envelope.SignTask(t, s.cert, s.key)
	if err != nil {
		return nil, fmt.Errorf("sign task: %w", err)
	}
	raw, err := proto.Marshal(st)
	if err != nil {
		return nil, err
	}
	return c.CreateTask(ctx, &managev1.CreateTaskRequest{SignedTask: raw})
}

// checkCertificate finds the caller's registered, valid certificate for
// its signing key, checks that the config holds that certificate, that it
// verifies against the controller's trust root, and then check.
func checkCertificate(ctx context.Context, c *client.Client, me *managev1.Principal, s *signer, check func(*trustv1.CertificateBody) error) error {
	tr, err := c.GetTrustRoot(ctx, &managev1.GetTrustRootRequest{})
	if err != nil {
		return err
	}
	if tr.GetFingerprint() == "" {
		return errors.New("the controller has no trust root: an admin runs `vigilctl trust set-root FINGERPRINT` (see Setting up signing in docs/cli.md)")
	}
	list, err := c.ListCertificates(ctx, &managev1.ListCertificatesRequest{Principal: me.GetName()})
	if err != nil {
		return err
	}
	fp, t := envelope.Fingerprint(s.public()), now()
	var serials []string
	for _, ci := range list.GetCertificates() {
		if ci.GetPrincipal() == me.GetName() && ci.GetPublicKeyFingerprint() == fp && certOf(ci).validity(t) == "valid" {
			serials = append(serials, ci.GetSerial())
		}
	}
	if len(serials) == 0 {
		return fmt.Errorf("no valid certificate is registered for %s with your signing key %s; ask an admin to run\n  %s\nthen run `vigilctl keys set-cert FILE` with the file it writes",
			me.GetName(), fp, certifyCommand(me, s.public()))
	}
	if s.body == nil || !slices.Contains(serials, s.body.GetSerial()) {
		return fmt.Errorf("certificate %s is registered for your signing key but your config does not hold it: get the file from your admin (`vigilctl trust certify --out`) and run `vigilctl keys set-cert FILE`",
			strings.Join(serials, ", "))
	}
	rootPin, err := pin.Parse(tr.GetFingerprint())
	if err != nil {
		return fmt.Errorf("controller trust root: %w", err)
	}
	b, err := envelope.ParseCertificate(s.cert, rootPin, t)
	if err != nil {
		return fmt.Errorf("your certificate %s does not verify against the trust root %s: %w", s.body.GetSerial(), tr.GetFingerprint(), err)
	}
	return check(b)
}

// fetchTask gets a task with all its output, paging through the cursor.
func fetchTask(ctx context.Context, c *client.Client, id string) (*managev1.TaskDetail, []*managev1.TaskDetail, error) {
	var pages []*managev1.TaskDetail
	var cursor uint64
	for {
		d, err := c.GetTask(ctx, &managev1.GetTaskRequest{TaskId: id, OutputAfter: cursor})
		if err != nil {
			return nil, nil, err
		}
		pages = append(pages, d)
		if len(d.GetOutput()) == 0 || d.GetNextOutput() <= cursor {
			return d, pages, nil
		}
		cursor = d.GetNextOutput()
	}
}

func taskShow(e *env, args []string) error {
	fs := flag.NewFlagSet("task show", flag.ContinueOnError)
	follow := fs.Bool("follow", false, "print the task's history, then its progress and output as they arrive, until it ends")
	pos, o, err := parse(fs, args, []string{"table", "json"}, "ID")
	if err != nil {
		return err
	}
	if *follow && o == "json" {
		return cli.Usagef("task show: --follow prints a live log, not JSON; drop -o json or --follow")
	}
	id := pos[0]
	if *follow {
		c, err := e.dial(context.Background())
		if err != nil {
			return err
		}
		defer c.Close()
		return followTask(e, c, id)
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		last, pages, err := fetchTask(ctx, c, id)
		if err != nil {
			return err
		}
		v := taskDetailView{Task: taskOf(last.GetTask()), Signed: signedOf(last.GetSignedTask()), Transitions: []transitionView{},
			Output: []outputView{}, OutputTruncated: last.GetOutputTruncated()}
		for _, tr := range last.GetTransitions() {
			v.Transitions = append(v.Transitions, transitionOf(tr))
		}
		for _, p := range pages {
			for _, l := range p.GetOutput() {
				v.Output = append(v.Output, outputOf(l))
			}
		}
		if o == "json" {
			return writeJSON(e.stdout, v)
		}
		return printTaskDetail(e, v)
	})
}

// paramCell shows a short one-line value as is, a longer one by size.
func paramCell(v string) string {
	if len(v) > 60 || strings.ContainsAny(v, "\r\n\t") {
		return fmt.Sprintf("<%d bytes>", len(v))
	}
	return v
}

func paramRows(params map[string]string) [][]string {
	if len(params) == 0 {
		return [][]string{{"parameters", "-"}}
	}
	var rows [][]string
	for _, k := range slices.Sorted(maps.Keys(params)) {
		rows = append(rows, []string{"param " + k, paramCell(params[k])})
	}
	return rows
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func printTaskDetail(e *env, v taskDetailView) error {
	t := v.Task
	state := t.State
	if t.Reason != "" {
		state += ": " + t.Reason
	}
	rows := [][]string{{"task", t.ID}, {"agent", dash(t.Hostname) + " (" + t.AgentID + ")"}, {"tenant", t.Tenant}, {"plugin", t.Plugin}}
	rows = append(rows, paramRows(t.Parameters)...)
	rows = append(rows, []string{"state", state},
		[]string{"window", t.NotBefore.Format(time.RFC3339) + " to " + t.NotAfter.Format(time.RFC3339)},
		[]string{"downtime", yesNo(t.Downtime)})
	if v.Signed != nil {
		timeout := "agent default"
		if v.Signed.TimeoutSeconds > 0 {
			timeout = (time.Duration(v.Signed.TimeoutSeconds) * time.Second).String()
		}
		rows = append(rows, []string{"timeout", timeout})
	}
	rows = append(rows, []string{"created", t.CreatedAt.Format(time.RFC3339) + " by " + dash(t.CreatedBy)},
		[]string{"approved by", dash(t.ApprovedBy)})
	if v.Signed != nil {
		rows = append(rows, []string{"signed by", strings.Join(v.Signed.SignedBy, ", ")})
	}
	pct := int32(-1)
	if t.ProgressPercent != nil {
		pct = *t.ProgressPercent
	}
	if p := progressText(&managev1.Task{ProgressPercent: pct, ProgressMessage: t.ProgressMessage}); p != "" {
		rows = append(rows, []string{"progress", p})
	}
	rows = append(rows, []string{"result", resultText(t.Result)})
	if err := table(e.stdout, []string{"FIELD", "VALUE"}, rows); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout)
	var tr [][]string
	for _, x := range v.Transitions {
		tr = append(tr, []string{x.Time.Format(time.RFC3339), x.State, dash(x.Actor), dash(x.Reason)})
	}
	if err := table(e.stdout, []string{"TIME", "STATE", "ACTOR", "REASON"}, tr); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nOUTPUT (%d lines)\n", len(v.Output))
	for _, l := range v.Output {
		fmt.Fprintf(e.stdout, "%s %s %s\n", l.Time.Format("15:04:05"), l.Stream[3:], l.Line)
	}
	if v.OutputTruncated {
		fmt.Fprintln(e.stdout, "(output truncated: it exceeded the 1 MiB stored per task)")
	}
	printLongParams(e, t.Parameters)
	return nil
}

// printLongParams prints the values paramCell abbreviated, in full.
func printLongParams(e *env, params map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if v := params[k]; paramCell(v) != v {
			fmt.Fprintf(e.stdout, "\n--- param %s ---\n%s", k, v)
			if !strings.HasSuffix(v, "\n") {
				fmt.Fprintln(e.stdout)
			}
			fmt.Fprintf(e.stdout, "--- end of param %s ---\n", k)
		}
	}
}

func taskList(e *env, args []string) error {
	fs := flag.NewFlagSet("task list", flag.ContinueOnError)
	agent := fs.String("agent", "", "only this agent's tasks")
	tenant := fs.String("tenant", "", "only this tenant's tasks")
	stateFlag := fs.String("state", "", "only tasks in this state: proposed, scheduled, dispatched, accepted, running, succeeded, failed, cancelled, expired, refused, interrupted")
	limit := fs.Uint("limit", 0, "at most this many tasks, newest first (default and max 1000)")
	_, o, err := parse(fs, args, []string{"table", "json"})
	if err != nil {
		return err
	}
	states, err := parseEnumList("state", *stateFlag, managev1.TaskState_value, "TASK_STATE_", "unspecified")
	if err != nil {
		return cli.Usagef("task list: %v", err)
	}
	if len(states) > 1 {
		return cli.Usagef("task list: --state %q: give one state", *stateFlag)
	}
	req := &managev1.ListTasksRequest{Tenant: *tenant, AgentId: *agent, Limit: uint32(min(*limit, math.MaxUint32))}
	if len(states) == 1 {
		req.State = managev1.TaskState(states[0])
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.ListTasks(ctx, req)
		if err != nil {
			return err
		}
		views := []taskView{}
		for _, t := range r.GetTasks() {
			views = append(views, taskOf(t))
		}
		if o == "json" {
			return writeJSON(e.stdout, views)
		}
		var rows [][]string
		for _, v := range views {
			rows = append(rows, []string{v.ID, v.Tenant, dash(v.Hostname), v.Plugin, v.State, v.CreatedAt.Format(time.RFC3339), dash(v.CreatedBy),
				dash(v.ApprovedBy)})
		}
		return table(e.stdout, []string{"ID", "TENANT", "HOSTNAME", "PLUGIN", "STATE", "CREATED", "BY", "APPROVED BY"}, rows)
	})
}

func taskCancel(e *env, args []string) error {
	fs := flag.NewFlagSet("task cancel", flag.ContinueOnError)
	reason := fs.String("reason", "", "why, recorded with the cancellation")
	return actOne(e, args, fs, "ID",
		func(ctx context.Context, c *client.Client, id string) (*managev1.Task, error) {
			return c.CancelTask(ctx, &managev1.CancelTaskRequest{TaskId: id, Reason: *reason})
		},
		func(t *managev1.Task) any { return taskOf(t) },
		func(t *managev1.Task) string {
			v := taskOf(t)
			return fmt.Sprintf("task %s (%s on %s): %s\n", v.ID, v.Plugin, dash(v.Hostname), v.State)
		})
}

func pluginsList(e *env, args []string) error {
	return showOne(e, args, flag.NewFlagSet("plugins list", flag.ContinueOnError), "AGENT",
		func(ctx context.Context, c *client.Client, id string) (pluginListView, error) {
			r, err := c.ListPlugins(ctx, &managev1.ListPluginsRequest{AgentId: id})
			if err != nil {
				return pluginListView{}, err
			}
			v := pluginListOf(r)
			if v.AgentID == "" {
				v.AgentID = id
			}
			return v, nil
		},
		func(o string, v pluginListView) error { return printPlugins(e, o, v) })
}

func printPlugins(e *env, o string, v pluginListView) error {
	if o == "json" {
		return writeJSON(e.stdout, v)
	}
	if !v.Reported {
		fmt.Fprintf(e.stdout, "agent %s has not reported its plugins yet (an agent reports them when it connects)\n", v.AgentID)
		return nil
	}
	fmt.Fprintf(e.stdout, "agent %s, tier %s, reported %s\n", v.AgentID, dash(v.Tier), ageSince(v.ReportedAt))
	if v.Tier == tierMonitorOnly {
		fmt.Fprintln(e.stdout, "monitor-only: plugins that only act are not started and every task is refused")
	}
	fmt.Fprintln(e.stdout)
	var rows [][]string
	for _, p := range v.Plugins {
		sum := "ok"
		if !p.ChecksumOK {
			sum = "failed"
		}
		rows = append(rows, []string{p.Name, dash(p.Version), dash(strings.Join(p.Capabilities, ",")), sum, dash(p.Error)})
	}
	return table(e.stdout, []string{"NAME", "VERSION", "CAPABILITIES", "CHECKSUM", "ERROR"}, rows)
}

// checkPlugin checks the plugin against the agent's last plugin list, when
// it reported one: a plugin it does not have is refused here rather than by
// the agent, and a plugin that declares it interrupts service ("downtime")
// marks the task downtime, as the agent would otherwise refuse it.
func checkPlugin(ctx context.Context, e *env, c *client.Client, r *taskRunOpts, a *managev1.Agent) error {
	pl, err := c.ListPlugins(ctx, &managev1.ListPluginsRequest{AgentId: a.GetId()})
	if err != nil || len(pl.GetPlugins().GetPlugins()) == 0 {
		return nil // not reported yet: the agent decides
	}
	var names []string
	for _, p := range pl.GetPlugins().GetPlugins() {
		names = append(names, p.GetName())
		if p.GetName() != r.plugin {
			continue
		}
		if slices.Contains(p.GetCapabilities(), "downtime") && !r.downtime {
			r.downtime = true
			fmt.Fprintf(e.stderr, "vigilctl: plugin %s declares it interrupts service: the task is marked --downtime and needs a client approver's signature\n", r.plugin)
		}
		return nil
	}
	return fmt.Errorf("agent %s (%s) has no plugin %s (it has: %s); see `vigilctl plugins list %s`",
		a.GetId(), a.GetHostname(), r.plugin, strings.Join(names, ", "), a.GetId())
}
