package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-rmm/vigil/console/client"
	"github.com/vigil-rmm/vigil/internal/cli"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// netCheckFlags are the definition flags of check create and update.
type netCheckFlags struct {
	fs                                               *flag.FlagSet
	target, typ, port, interval, timeout, from, name *string
	contacts, status, keyword, dnsServer, record     *string
	minCertDays, pingCount, retentionDays            *uint
}

func newNetCheckFlags(fs *flag.FlagSet) *netCheckFlags {
	return &netCheckFlags{fs: fs,
		target:        fs.String("target", "", "host name or IP address; for http a URL (a bare host means https://HOST/)"),
		typ:           fs.String("type", "", "ping, tcp, http or dns"),
		port:          fs.String("port", "", "tcp port: a number or http, https, ftp, pop3, smtp, dns"),
		interval:      fs.String("interval", "", "time between runs, 1m to 24h (default 5m)"),
		timeout:       fs.String("timeout", "", "time one run may take, 1s to 60s and below the interval (default 10s)"),
		from:          fs.String("from", "", "vantages, comma-separated: controller, agent:AGENT-ID (default controller)"),
		name:          fs.String("name", "", "display name (default: type and target)"),
		contacts:      fs.String("contacts", "", "contact ids to notify, comma-separated (default: the tenant's default contacts)"),
		status:        fs.String("status", "", "http: accepted status codes, comma-separated (default any 2xx or 3xx)"),
		keyword:       fs.String("keyword", "", "http: text the body must contain"),
		minCertDays:   fs.Uint("min-cert-days", 0, "https: NG when the certificate expires in fewer days"),
		dnsServer:     fs.String("dns-server", "", "dns: server to ask, HOST[:PORT] (default the system resolver)"),
		record:        fs.String("record", "", "dns: record type A, AAAA, CNAME, MX, TXT or NS (default A)"),
		pingCount:     fs.Uint("ping-count", 0, "ping: echo requests per run, 1 to 10 (default 3)"),
		retentionDays: fs.Uint("retention-days", 0, "keep this check's results this many days, 1 to 90 (default: the controller's)"),
	}
}

var netCheckTypes = map[string]agentv1.CheckType{
	"ping": agentv1.CheckType_CHECK_TYPE_PING, "tcp": agentv1.CheckType_CHECK_TYPE_TCP,
	"http": agentv1.CheckType_CHECK_TYPE_HTTP, "dns": agentv1.CheckType_CHECK_TYPE_DNS,
}

// apply sets the fields of in whose flags were given (all of them when
// every is set, for create).
func (f *netCheckFlags) apply(in *managev1.NetCheckInput, every bool) error {
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	given := func(name string) bool { return every || set[name] }
	name := f.fs.Name()
	if given("type") {
		t, ok := netCheckTypes[strings.ToLower(*f.typ)]
		if !ok {
			return cli.Usagef("%s: --type %q: want ping, tcp, http or dns", name, *f.typ)
		}
		in.Type = t
	}
	if given("target") {
		in.Target = *f.target
	}
	if given("port") {
		in.Port = *f.port
	}
	for _, d := range []struct {
		flag string
		v    string
		set  func(time.Duration)
	}{
		{"interval", *f.interval, func(d time.Duration) { in.IntervalSeconds = int64(d / time.Second) }},
		{"timeout", *f.timeout, func(d time.Duration) { in.TimeoutMs = uint32(d / time.Millisecond) }},
	} {
		if !given(d.flag) {
			continue
		}
		if d.v == "" {
			d.set(0)
			continue
		}
		v, err := time.ParseDuration(d.v)
		if err != nil || v <= 0 || v > 48*time.Hour {
			return cli.Usagef("%s: --%s %q: want a duration such as 5m or 10s", name, d.flag, d.v)
		}
		d.set(v)
	}
	if given("from") {
		in.Vantages = splitList(*f.from)
	}
	if given("name") {
		in.Name = *f.name
	}
	if given("contacts") {
		in.Contacts = splitList(*f.contacts)
	}
	if given("status") {
		in.HttpStatus = nil
		for _, s := range splitList(*f.status) {
			n, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				return cli.Usagef("%s: --status %q: want HTTP status codes such as 200,301", name, *f.status)
			}
			in.HttpStatus = append(in.HttpStatus, uint32(n))
		}
	}
	if given("keyword") {
		in.HttpKeyword = *f.keyword
	}
	if given("min-cert-days") {
		in.HttpMinCertDays = uint32(min(*f.minCertDays, 1<<20))
	}
	if given("dns-server") {
		in.DnsServer = *f.dnsServer
	}
	if given("record") {
		in.DnsRecordType = *f.record
	}
	if given("ping-count") {
		in.PingCount = uint32(min(*f.pingCount, 1<<20))
	}
	if given("retention-days") {
		in.RetentionDays = uint32(min(*f.retentionDays, 1<<20))
	}
	return nil
}

// netCheckInputOf is a stored check as an input, for update.
func netCheckInputOf(c *managev1.NetCheck) *managev1.NetCheckInput {
	s := c.GetSpec()
	in := &managev1.NetCheckInput{Name: c.GetName(), Type: s.GetType(), Target: s.GetTarget(), IntervalSeconds: c.GetIntervalSeconds(),
		TimeoutMs: s.GetTimeoutMs(), Vantages: c.GetVantages(), Contacts: c.GetContacts(), HttpStatus: s.GetHttpStatus(),
		HttpKeyword: s.GetHttpKeyword(), HttpMinCertDays: s.GetHttpMinCertDays(), DnsServer: s.GetDnsServer(),
		DnsRecordType: s.GetDnsRecordType(), PingCount: s.GetPingCount(), RetentionDays: c.GetOwnRetentionDays()}
	if s.GetPort() != 0 {
		in.Port = strconv.Itoa(int(s.GetPort()))
	}
	return in
}

func checkCreate(e *env, args []string) error {
	fs := flag.NewFlagSet("check create", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "tenant of the check (required)")
	f := newNetCheckFlags(fs)
	_, o, err := parse(fs, args, []string{"table", "json"})
	if err != nil {
		return err
	}
	if *tenant == "" || *f.target == "" || *f.typ == "" {
		return cli.Usagef("check create: --tenant, --target and --type are required")
	}
	in := &managev1.NetCheckInput{}
	if err := f.apply(in, true); err != nil {
		return err
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		nc, err := c.CreateNetCheck(ctx, &managev1.CreateNetCheckRequest{Tenant: *tenant, Check: in})
		if err != nil {
			return err
		}
		return printNetCheck(e.stdout, o, nc, nil)
	})
}

func checkUpdate(e *env, args []string) error {
	fs := flag.NewFlagSet("check update", flag.ContinueOnError)
	f := newNetCheckFlags(fs)
	pos, o, err := parse(fs, args, []string{"table", "json"}, "CHECK")
	if err != nil {
		return err
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		cur, err := c.GetNetCheck(ctx, &managev1.GetNetCheckRequest{Id: pos[0]})
		if err != nil {
			return err
		}
		in := netCheckInputOf(cur.GetCheck())
		if err := f.apply(in, false); err != nil {
			return err
		}
		nc, err := c.UpdateNetCheck(ctx, &managev1.UpdateNetCheckRequest{Id: pos[0], Check: in})
		if err != nil {
			return err
		}
		return printNetCheck(e.stdout, o, nc, nil)
	})
}

func checkList(e *env, args []string) error {
	fs := flag.NewFlagSet("check list", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "only this tenant")
	state := fs.String("status", "", "only checks in this state: down, up, suspended, unknown or paused")
	_, o, err := parse(fs, args, []string{"table", "json"})
	if err != nil {
		return err
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.ListNetChecks(ctx, &managev1.ListNetChecksRequest{Tenant: *tenant, State: strings.ToLower(*state)})
		if err != nil {
			return err
		}
		views := []netCheckView{}
		for _, nc := range r.GetChecks() {
			views = append(views, netCheckOf(nc))
		}
		if o == "json" {
			return writeJSON(e.stdout, netCheckListView{Checks: views, Backlog: r.GetBacklog(), Workers: r.GetWorkers()})
		}
		var rows [][]string
		for _, v := range views {
			rows = append(rows, []string{v.ID, clip(v.Name, 32), v.Type, clip(v.Target, 48), netCheckStateCell(v), netCheckTimeAgo(v.LastRun), v.Every})
		}
		if err := table(e.stdout, []string{"ID", "NAME", "TYPE", "TARGET", "STATE", "LAST RUN", "EVERY"}, rows); err != nil {
			return err
		}
		if r.GetBacklog() > 0 {
			fmt.Fprintf(e.stdout, "\nbacklog: %d checks due and waiting for one of %d workers; intervals stretch (raise checks.workers)\n", r.GetBacklog(), r.GetWorkers())
		}
		return nil
	})
}

func checkShow(e *env, args []string) error {
	return showOne(e, args, flag.NewFlagSet("check show", flag.ContinueOnError), "CHECK",
		func(ctx context.Context, c *client.Client, id string) (*managev1.NetCheckDetail, error) {
			return c.GetNetCheck(ctx, &managev1.GetNetCheckRequest{Id: id})
		},
		func(o string, d *managev1.NetCheckDetail) error {
			return printNetCheck(e.stdout, o, d.GetCheck(), d.GetRecent())
		})
}

// printNetCheck prints one check, with its recent results when given.
func printNetCheck(w io.Writer, o string, nc *managev1.NetCheck, recent []*managev1.NetCheckResult) error {
	v := netCheckOf(nc)
	if recent != nil {
		v.Recent = []netCheckResultView{}
		for _, r := range recent {
			v.Recent = append(v.Recent, netCheckResultOf(r))
		}
	}
	if o == "json" {
		return writeJSON(w, v)
	}
	rows := [][]string{{"id", v.ID}, {"tenant", v.Tenant}, {"name", v.Name}, {"type", v.Type}, {"target", v.Target}}
	if v.Port != 0 {
		rows = append(rows, []string{"port", strconv.Itoa(int(v.Port))})
	}
	rows = append(rows, []string{"interval", v.Every}, []string{"timeout", (time.Duration(v.TimeoutMs) * time.Millisecond).String()},
		[]string{"state", netCheckStateCell(v)}, []string{"last run", netCheckTimeAgo(v.LastRun)})
	if v.Behind {
		rows = append(rows, []string{"stretch", fmt.Sprintf("runs every %s instead of %s (x%.2f), last run started %s late",
			netCheckEvery(time.Duration(v.EffectiveSeconds*float64(time.Second))), netCheckEvery(time.Duration(v.IntervalSeconds)*time.Second),
			v.StretchRatio, netCheckEvery(time.Duration(v.LateSeconds*float64(time.Second))))})
	}
	opt := func(k, val string) {
		if val != "" && val != "0" {
			rows = append(rows, []string{k, val})
		}
	}
	opt("http status", strings.Join(v.HTTPStatus, ","))
	opt("keyword", v.HTTPKeyword)
	opt("min cert days", strconv.Itoa(int(v.HTTPMinCertDays)))
	opt("dns server", v.DNSServer)
	opt("record", v.DNSRecordType)
	opt("ping count", strconv.Itoa(int(v.PingCount)))
	contacts := "tenant defaults"
	if len(v.Contacts) > 0 {
		contacts = strings.Join(v.Contacts, ", ")
	}
	rows = append(rows, []string{"contacts", contacts}, []string{"retention", fmt.Sprintf("%dd", v.RetentionDays)},
		[]string{"created", v.Created.Format(time.RFC3339) + " by " + dash(v.CreatedBy)})
	if err := table(w, []string{"FIELD", "VALUE"}, rows); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nVANTAGES")
	var vrows [][]string
	for _, s := range v.VantageStates {
		vrows = append(vrows, []string{s.Vantage, netCheckVantageCell(s), netCheckTimeAgo(s.Since), netCheckLastCell(s)})
	}
	if err := table(w, []string{"VANTAGE", "STATE", "SINCE", "LAST RESULT"}, vrows); err != nil {
		return err
	}
	if recent == nil {
		return nil
	}
	fmt.Fprintf(w, "\nLATEST RESULTS (%d)\n", len(v.Recent))
	return netCheckResultsTable(w, v.Recent)
}

func netCheckResultsTable(w io.Writer, rs []netCheckResultView) error {
	if len(rs) == 0 {
		fmt.Fprintln(w, "none")
		return nil
	}
	var rows [][]string
	for _, r := range rs {
		rows = append(rows, []string{r.Time.Format(time.RFC3339), r.Vantage, r.Status, strconv.FormatFloat(r.LatencyMs, 'f', 1, 64) + "ms", clip(r.Detail, 70)})
	}
	return table(w, []string{"TIME", "VANTAGE", "STATUS", "LATENCY", "DETAIL"}, rows)
}

// netCheckVantageCell is "DOWN", "SUSPENDED", "UP (2 failing)" or with
// "vantage unavailable since ..." when the vantage could not run.
func netCheckVantageCell(s netCheckVantageView) string {
	c := strings.ToUpper(s.State)
	switch {
	case s.Suspended:
		c = "SUSPENDED since " + timeCell(s.SuspendedAt)
	case s.ConsecutiveErrors > 0:
		c += fmt.Sprintf(" (%d ERR in a row)", s.ConsecutiveErrors)
	case s.Pending > 0:
		c += fmt.Sprintf(" (%d disagreeing)", s.Pending)
	}
	if s.UnavailableSince != nil {
		c += "; vantage unavailable since " + timeCell(s.UnavailableSince) + ": " + clip(s.UnavailableReason, 60)
	}
	return c
}

func netCheckLastCell(s netCheckVantageView) string {
	if s.LastAt == nil {
		return "never"
	}
	return s.LastStatus + " " + netCheckTimeAgo(s.LastAt) + ": " + clip(s.LastDetail, 60)
}

func netCheckTimeAgo(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return age(t) + " ago"
}

// netCheckStateCell is the STATE column: "PAUSED", or the vantages
// grouped by state, "DOWN (agent:ag-x), UP (controller)".
func netCheckStateCell(v netCheckView) string {
	if v.Paused {
		return "PAUSED"
	}
	groups := map[string][]string{}
	for _, s := range v.VantageStates {
		st := strings.ToUpper(s.State)
		if s.Suspended {
			st = "SUSPENDED"
		}
		groups[st] = append(groups[st], s.Vantage)
	}
	var parts []string
	for _, st := range []string{"DOWN", "SUSPENDED", "UNKNOWN", "UP"} {
		if len(groups[st]) > 0 {
			parts = append(parts, st+" ("+strings.Join(groups[st], ", ")+")")
		}
	}
	return strings.Join(parts, ", ")
}

// netCheckEvery is a compact duration: 5m, 7m30s, 1h, 1h30m.
func netCheckEvery(d time.Duration) string {
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func checkDelete(e *env, args []string) error {
	return actOne(e, args, flag.NewFlagSet("check delete", flag.ContinueOnError), "CHECK",
		func(ctx context.Context, c *client.Client, id string) (*managev1.DeleteNetCheckResponse, error) {
			return c.DeleteNetCheck(ctx, &managev1.DeleteNetCheckRequest{Id: id})
		},
		func(r *managev1.DeleteNetCheckResponse) any {
			return map[string]string{"id": r.GetId(), "deleted": "true"}
		},
		func(r *managev1.DeleteNetCheckResponse) string {
			return fmt.Sprintf("check %s deleted, with its state and results\n", r.GetId())
		})
}

func checkPause(e *env, args []string) error {
	return actOne(e, args, flag.NewFlagSet("check pause", flag.ContinueOnError), "CHECK",
		func(ctx context.Context, c *client.Client, id string) (*managev1.NetCheck, error) {
			return c.PauseNetCheck(ctx, &managev1.PauseNetCheckRequest{Id: id})
		},
		func(nc *managev1.NetCheck) any { return netCheckOf(nc) },
		func(nc *managev1.NetCheck) string {
			return fmt.Sprintf("check %s paused; it does not run until `vigilctl check resume %s`\n", nc.GetId(), nc.GetId())
		})
}

func checkResume(e *env, args []string) error {
	return actOne(e, args, flag.NewFlagSet("check resume", flag.ContinueOnError), "CHECK",
		func(ctx context.Context, c *client.Client, id string) (*managev1.NetCheck, error) {
			return c.ResumeNetCheck(ctx, &managev1.ResumeNetCheckRequest{Id: id})
		},
		func(nc *managev1.NetCheck) any { return netCheckOf(nc) },
		func(nc *managev1.NetCheck) string {
			return fmt.Sprintf("check %s resumed; it runs now, then every %s\n", nc.GetId(), netCheckEvery(time.Duration(nc.GetIntervalSeconds())*time.Second))
		})
}

func checkHistory(e *env, args []string) error {
	fs := flag.NewFlagSet("check history", flag.ContinueOnError)
	since := fs.String("since", "10d", "start: duration ago (10d, 12h) or RFC 3339 time; capped at the retention")
	vantage := fs.String("vantage", "", "only this vantage: controller or agent:AGENT-ID")
	daily := fs.Bool("daily", false, "with -o csv: the uptime per day and vantage instead of the results")
	pos, o, err := parse(fs, args, []string{"table", "json", "csv"}, "CHECK")
	if err != nil {
		return err
	}
	from, err := parseTime("since", *since, now())
	if err != nil {
		return err
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		h, err := c.ListNetCheckHistory(ctx, &managev1.ListNetCheckHistoryRequest{Id: pos[0], SinceUnix: unixOrZero(from), Vantage: *vantage})
		if err != nil {
			return err
		}
		v := netCheckHistoryOf(h)
		switch {
		case o == "json":
			return writeJSON(e.stdout, v)
		case o == "csv" && *daily:
			return netCheckDaysCSV(e.stdout, v.Days)
		case o == "csv":
			return netCheckResultsCSV(e.stdout, v.Results)
		}
		return printNetCheckHistory(e.stdout, v)
	})
}

// netCheckLatestRows is how many results the history table shows.
const netCheckLatestRows = 50

func printNetCheckHistory(w io.Writer, v netCheckHistoryView) error {
	fmt.Fprintf(w, "check %s since %s: %d results", v.Check, v.Since.Format(time.RFC3339), len(v.Results))
	if v.Truncated {
		fmt.Fprint(w, " (the latest only; narrow --since)")
	}
	fmt.Fprintln(w, "\n\nUPTIME PER DAY (UTC; ERR results excluded)")
	var rows [][]string
	for _, d := range v.Days {
		rows = append(rows, []string{d.Date, d.Vantage, netCheckUptimeCell(d.UptimePercent, 2) + "%", strconv.Itoa(int(d.OK)),
			strconv.Itoa(int(d.NG)), strconv.Itoa(int(d.WR)), strconv.Itoa(int(d.ERR))})
	}
	if err := table(w, []string{"DATE", "VANTAGE", "UPTIME", "OK", "NG", "WR", "ERR"}, rows); err != nil {
		return err
	}
	latest := v.Results[max(len(v.Results)-netCheckLatestRows, 0):]
	fmt.Fprintf(w, "\nLATEST RESULTS (%d of %d)\n", len(latest), len(v.Results))
	return netCheckResultsTable(w, latest)
}

func netCheckUptimeCell(p *float64, prec int) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatFloat(*p, 'f', prec, 64)
}

func netCheckResultsCSV(w io.Writer, rs []netCheckResultView) error {
	cw := newCSV(w)
	_ = cw.Write([]string{"time", "vantage", "status", "latency_ms", "detail", "cert_days_left"})
	for _, r := range rs {
		cert := ""
		if r.CertDaysLeft != nil {
			cert = strconv.Itoa(int(*r.CertDaysLeft))
		}
		_ = cw.Write([]string{r.Time.Format(time.RFC3339), r.Vantage, r.Status, strconv.FormatFloat(r.LatencyMs, 'f', 3, 64), r.Detail, cert})
	}
	cw.Flush()
	return cw.Error()
}

func netCheckDaysCSV(w io.Writer, days []netCheckDayView) error {
	cw := newCSV(w)
	_ = cw.Write([]string{"date", "vantage", "uptime_percent", "ok", "ng", "wr", "err"})
	for _, d := range days {
		cell := ""
		if d.UptimePercent != nil {
			cell = netCheckUptimeCell(d.UptimePercent, 3)
		}
		_ = cw.Write([]string{d.Date, d.Vantage, cell, strconv.Itoa(int(d.OK)), strconv.Itoa(int(d.NG)), strconv.Itoa(int(d.WR)), strconv.Itoa(int(d.ERR))})
	}
	cw.Flush()
	return cw.Error()
}

// Views: the stable JSON of the check commands.

// netCheckView is a check as check list, show, create and update print it.
type netCheckView struct {
	ID               string                `json:"id"`
	Tenant           string                `json:"tenant"`
	Name             string                `json:"name"`
	Type             string                `json:"type"`
	Target           string                `json:"target"`
	Port             uint32                `json:"port,omitempty"`
	IntervalSeconds  int64                 `json:"interval_seconds"`
	TimeoutMs        uint32                `json:"timeout_ms"`
	Vantages         []string              `json:"vantages"`
	Contacts         []string              `json:"contacts"`
	HTTPStatus       []string              `json:"http_status,omitempty"`
	HTTPKeyword      string                `json:"http_keyword,omitempty"`
	HTTPMinCertDays  uint32                `json:"http_min_cert_days,omitempty"`
	DNSServer        string                `json:"dns_server,omitempty"`
	DNSRecordType    string                `json:"dns_record_type,omitempty"`
	PingCount        uint32                `json:"ping_count,omitempty"`
	RetentionDays    uint32                `json:"retention_days"`
	Paused           bool                  `json:"paused"`
	State            string                `json:"state"`
	VantageStates    []netCheckVantageView `json:"vantage_states"`
	LastRun          *time.Time            `json:"last_run"`
	Every            string                `json:"every"`
	Behind           bool                  `json:"behind"`
	EffectiveSeconds float64               `json:"effective_interval_seconds"`
	StretchRatio     float64               `json:"stretch_ratio"`
	LateSeconds      float64               `json:"late_seconds"`
	Created          time.Time             `json:"created"`
	CreatedBy        string                `json:"created_by"`
	Recent           []netCheckResultView  `json:"recent,omitempty"`
}

type netCheckVantageView struct {
	Vantage           string     `json:"vantage"`
	State             string     `json:"state"`
	Suspended         bool       `json:"suspended"`
	SuspendedAt       *time.Time `json:"suspended_at"`
	Since             *time.Time `json:"since"`
	LastStatus        string     `json:"last_status"`
	LastAt            *time.Time `json:"last_at"`
	LastDetail        string     `json:"last_detail"`
	ConsecutiveErrors uint32     `json:"consecutive_errors"`
	Pending           uint32     `json:"pending"`
	UnavailableSince  *time.Time `json:"unavailable_since"`
	UnavailableReason string     `json:"unavailable_reason,omitempty"`
}

type netCheckListView struct {
	Checks  []netCheckView `json:"checks"`
	Backlog uint32         `json:"backlog"`
	Workers uint32         `json:"workers"`
}

type netCheckResultView struct {
	Time         time.Time `json:"time"`
	Vantage      string    `json:"vantage"`
	Status       string    `json:"status"`
	LatencyMs    float64   `json:"latency_ms"`
	Detail       string    `json:"detail"`
	CertDaysLeft *int32    `json:"cert_days_left"`
}

type netCheckDayView struct {
	Date          string   `json:"date"`
	Vantage       string   `json:"vantage"`
	UptimePercent *float64 `json:"uptime_percent"`
	OK            uint32   `json:"ok"`
	NG            uint32   `json:"ng"`
	WR            uint32   `json:"wr"`
	ERR           uint32   `json:"err"`
}

type netCheckHistoryView struct {
	Check     string               `json:"check"`
	Since     time.Time            `json:"since"`
	Truncated bool                 `json:"truncated"`
	Results   []netCheckResultView `json:"results"`
	Days      []netCheckDayView    `json:"days"`
}

func netCheckStatusName(s agentv1.CheckStatus) string {
	if s == agentv1.CheckStatus_CHECK_STATUS_UNSPECIFIED {
		return ""
	}
	return strings.TrimPrefix(s.String(), "CHECK_STATUS_")
}

func netCheckOf(nc *managev1.NetCheck) netCheckView {
	s := nc.GetSpec()
	st := nc.GetStretch()
	interval := time.Duration(nc.GetIntervalSeconds()) * time.Second
	v := netCheckView{ID: nc.GetId(), Tenant: nc.GetTenant(), Name: nc.GetName(), Type: strings.ToLower(strings.TrimPrefix(s.GetType().String(), "CHECK_TYPE_")),
		Target: s.GetTarget(), Port: s.GetPort(), IntervalSeconds: nc.GetIntervalSeconds(), TimeoutMs: s.GetTimeoutMs(),
		Vantages: append([]string{}, nc.GetVantages()...), Contacts: append([]string{}, nc.GetContacts()...), HTTPKeyword: s.GetHttpKeyword(),
		HTTPMinCertDays: s.GetHttpMinCertDays(), DNSServer: s.GetDnsServer(), DNSRecordType: s.GetDnsRecordType(), PingCount: s.GetPingCount(),
		RetentionDays: nc.GetRetentionDays(), Paused: nc.GetPaused(), State: nc.GetState(), LastRun: unixMsPtr(nc.GetLastRunUnixMs()),
		Every: netCheckEvery(interval), Behind: st.GetBehind(), EffectiveSeconds: float64(st.GetEffectiveMs()) / 1000,
		StretchRatio: st.GetRatio(), LateSeconds: float64(st.GetLateMs()) / 1000, Created: unix(nc.GetCreatedUnix()), CreatedBy: nc.GetCreatedBy(),
		VantageStates: []netCheckVantageView{}}
	if v.Behind {
		v.Every = netCheckEvery(time.Duration(st.GetEffectiveMs())*time.Millisecond) + " (behind)"
	}
	for _, c := range s.GetHttpStatus() {
		v.HTTPStatus = append(v.HTTPStatus, strconv.Itoa(int(c)))
	}
	for _, vs := range nc.GetVantageStates() {
		v.VantageStates = append(v.VantageStates, netCheckVantageView{Vantage: vs.GetVantage(), State: vs.GetState(), Suspended: vs.GetSuspended(),
			SuspendedAt: unixMsPtr(vs.GetSuspendedUnixMs()), Since: unixMsPtr(vs.GetSinceUnixMs()), LastStatus: netCheckStatusName(vs.GetLastStatus()),
			LastAt: unixMsPtr(vs.GetLastUnixMs()), LastDetail: vs.GetLastDetail(), ConsecutiveErrors: vs.GetConsecutiveErrors(), Pending: vs.GetPending(),
			UnavailableSince: unixMsPtr(vs.GetUnavailableSinceUnixMs()), UnavailableReason: vs.GetUnavailableReason()})
	}
	return v
}

func netCheckResultOf(r *managev1.NetCheckResult) netCheckResultView {
	v := netCheckResultView{Time: unixMs(r.GetStartUnixMs()), Vantage: r.GetVantage(), Status: netCheckStatusName(r.GetStatus()),
		LatencyMs: float64(r.GetLatencyUs()) / 1000, Detail: r.GetDetail()}
	if r.GetHasCertDays() {
		d := r.GetCertDaysLeft()
		v.CertDaysLeft = &d
	}
	return v
}

func netCheckHistoryOf(h *managev1.ListNetCheckHistoryResponse) netCheckHistoryView {
	v := netCheckHistoryView{Check: h.GetCheck(), Since: unix(h.GetSinceUnix()), Truncated: h.GetTruncated(),
		Results: []netCheckResultView{}, Days: []netCheckDayView{}}
	for _, r := range h.GetResults() {
		v.Results = append(v.Results, netCheckResultOf(r))
	}
	for _, d := range h.GetDays() {
		dv := netCheckDayView{Date: d.GetDate(), Vantage: d.GetVantage(), OK: d.GetOk(), NG: d.GetNg(), WR: d.GetWr(), ERR: d.GetErr()}
		if d.GetHasUptime() {
			p := d.GetUptimePercent()
			dv.UptimePercent = &p
		}
		v.Days = append(v.Days, dv)
	}
	slices.SortStableFunc(v.Days, func(a, b netCheckDayView) int { return strings.Compare(a.Date, b.Date) })
	return v
}
