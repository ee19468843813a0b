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
	"github.com/vigil-rmm/vigil/internal/clientconfig"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// parse registers -o with the allowed formats (the first is the default),
// parses the flags, and checks the positional arguments.
func parse(fs *flag.FlagSet, args []string, formats []string, positional ...string) ([]string, string, error) {
	o := fs.String("o", formats[0], "output format: "+strings.Join(formats, ", "))
	pos, err := flags(fs, args, positional...)
	if err != nil {
		return nil, "", err
	}
	if !slices.Contains(formats, *o) {
		return nil, "", cli.Usagef("%s: -o %q: want %s", fs.Name(), *o, strings.Join(formats, " or "))
	}
	return pos, *o, nil
}

// call dials, runs f with a timeout, and closes.
func call(e *env, f func(ctx context.Context, c *client.Client) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), e.timeout)
	defer cancel()
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return f(ctx, c)
}

func whoami(e *env, args []string) error {
	fs := flag.NewFlagSet("whoami", flag.ContinueOnError)
	_, o, err := parse(fs, args, []string{"table", "json"})
	if err != nil {
		return err
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		p, err := c.WhoAmI(ctx, &managev1.WhoAmIRequest{})
		if err != nil {
			return err
		}
		v := principalOf(p)
		if o == "json" {
			return writeJSON(e.stdout, v)
		}
		return table(e.stdout, []string{"NAME", "ROLE", "TENANT", "ID"}, [][]string{{v.Name, v.Role, dash(v.Tenant), v.ID}})
	})
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func tenantCreate(e *env, args []string) error {
	fs := flag.NewFlagSet("tenant create", flag.ContinueOnError)
	name := fs.String("name", "", "display name (default: the id)")
	tz := fs.String("timezone", "UTC", "IANA time zone, e.g. Europe/Paris")
	pos, o, err := parse(fs, args, []string{"table", "json"}, "ID")
	if err != nil {
		return err
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		t, err := c.CreateTenant(ctx, &managev1.CreateTenantRequest{Id: pos[0], Name: *name, Timezone: *tz})
		if err != nil {
			return err
		}
		return printTenants(e, o, []*managev1.Tenant{t}, true)
	})
}

func printTenants(e *env, o string, ts []*managev1.Tenant, single bool) error {
	views := make([]tenantView, 0, len(ts))
	for _, t := range ts {
		views = append(views, tenantOf(t))
	}
	if o == "json" {
		if single {
			return writeJSON(e.stdout, views[0])
		}
		return writeJSON(e.stdout, views)
	}
	rows := make([][]string, 0, len(views))
	for _, v := range views {
		rows = append(rows, []string{v.ID, v.Name, v.Timezone, v.CreatedAt.Format(time.RFC3339)})
	}
	return table(e.stdout, []string{"ID", "NAME", "TIMEZONE", "CREATED"}, rows)
}

func tenantList(e *env, args []string) error {
	fs := flag.NewFlagSet("tenant list", flag.ContinueOnError)
	_, o, err := parse(fs, args, []string{"table", "json"})
	if err != nil {
		return err
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.ListTenants(ctx, &managev1.ListTenantsRequest{})
		if err != nil {
			return err
		}
		return printTenants(e, o, r.GetTenants(), false)
	})
}

// showOne is the shape of the show commands: one positional argument,
// -o table|json, one call, one object printed. fs holds the command's own
// flags, if any; get reads them.
func showOne[T any](e *env, args []string, fs *flag.FlagSet, arg string, get func(context.Context, *client.Client, string) (T, error), print func(o string, v T) error) error {
	pos, o, err := parse(fs, args, []string{"table", "json"}, arg)
	if err != nil {
		return err
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		v, err := get(ctx, c, pos[0])
		if err != nil {
			return err
		}
		return print(o, v)
	})
}

// actOne is the shape of the commands that act on one object: one
// positional argument, one call, then the object's JSON view with -o json
// or a sentence saying what happened.
func actOne[T any](e *env, args []string, fs *flag.FlagSet, arg string, do func(context.Context, *client.Client, string) (T, error), view func(T) any, say func(T) string) error {
	return showOne(e, args, fs, arg, do, func(o string, v T) error {
		if o == "json" {
			return writeJSON(e.stdout, view(v))
		}
		_, err := fmt.Fprint(e.stdout, say(v))
		return err
	})
}

func tenantShow(e *env, args []string) error {
	return showOne(e, args, flag.NewFlagSet("tenant show", flag.ContinueOnError), "ID",
		func(ctx context.Context, c *client.Client, id string) (*managev1.Tenant, error) {
			return c.GetTenant(ctx, &managev1.GetTenantRequest{Id: id})
		},
		func(o string, t *managev1.Tenant) error { return printTenants(e, o, []*managev1.Tenant{t}, true) })
}

func tokenCreate(e *env, args []string) error {
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "tenant the enrolled agents join (required)")
	ttl := fs.Duration("ttl", time.Hour, "validity, 1m to 720h")
	uses := fs.Uint("uses", 1, "number of agents that may enroll with it")
	_, o, err := parse(fs, args, []string{"table", "json"})
	if err != nil {
		return err
	}
	if *tenant == "" {
		return cli.Usagef("token create: --tenant is required")
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.CreateEnrollToken(ctx, &managev1.CreateEnrollTokenRequest{Tenant: *tenant, TtlSeconds: int64(ttl.Seconds()), Uses: uint32(*uses)})
		if err != nil {
			return err
		}
		v := tokenOf(r.GetInfo())
		if o == "json" {
			return writeJSON(e.stdout, struct {
				Token string `json:"token"`
				tokenView
			}{r.GetToken(), v})
		}
		fmt.Fprintf(e.stdout, "token: %s\n(shown once; valid until %s for %d enrollment(s) in tenant %s)\n",
			r.GetToken(), v.ExpiresAt.Format(time.RFC3339), v.Uses, v.Tenant)
		return nil
	})
}

func tokenList(e *env, args []string) error {
	fs := flag.NewFlagSet("token list", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "only this tenant")
	_, o, err := parse(fs, args, []string{"table", "json"})
	if err != nil {
		return err
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.ListEnrollTokens(ctx, &managev1.ListEnrollTokensRequest{Tenant: *tenant})
		if err != nil {
			return err
		}
		views := []tokenView{}
		for _, t := range r.GetTokens() {
			views = append(views, tokenOf(t))
		}
		if o == "json" {
			return writeJSON(e.stdout, views)
		}
		var rows [][]string
		for _, v := range views {
			rows = append(rows, []string{v.ID, v.Tenant, fmt.Sprintf("%d/%d", v.Used, v.Uses), v.ExpiresAt.Format(time.RFC3339)})
		}
		return table(e.stdout, []string{"ID", "TENANT", "USED", "EXPIRES"}, rows)
	})
}

func agentsList(e *env, args []string) error {
	fs := flag.NewFlagSet("agents list", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "only this tenant")
	_, o, err := parse(fs, args, []string{"table", "json"})
	if err != nil {
		return err
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.ListAgents(ctx, &managev1.ListAgentsRequest{Tenant: *tenant})
		if err != nil {
			return err
		}
		views := []agentView{}
		for _, a := range r.GetAgents() {
			views = append(views, agentOf(a))
		}
		if o == "json" {
			return writeJSON(e.stdout, views)
		}
		var rows [][]string
		for _, v := range views {
			state := "offline"
			switch {
			case v.Revoked:
				state = "revoked"
			case v.Online:
				state = "online"
			}
			rows = append(rows, []string{v.ID, v.Tenant, v.Hostname, dash(v.OS), state, dash(v.Tier), ago(v.LastSeen), dash(v.AgentVersion)})
		}
		return table(e.stdout, []string{"ID", "TENANT", "HOSTNAME", "OS", "STATE", "TIER", "LAST SEEN", "VERSION"}, rows)
	})
}

func agentsShow(e *env, args []string) error {
	fs := flag.NewFlagSet("agents show", flag.ContinueOnError)
	pos, o, err := parse(fs, args, []string{"table", "json"}, "ID")
	if err != nil {
		return err
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		d, err := c.GetAgent(ctx, &managev1.GetAgentRequest{Id: pos[0]})
		if err != nil {
			return err
		}
		v := agentDetailView{Agent: agentOf(d.GetAgent()), Facts: factsOf(d.GetFacts()), Latest: sampleOf(d.GetLatest())}
		if o == "json" {
			return writeJSON(e.stdout, v)
		}
		rows := [][]string{
			{"id", v.Agent.ID}, {"tenant", v.Agent.Tenant}, {"hostname", v.Agent.Hostname},
			{"online", strconv.FormatBool(v.Agent.Online)}, {"tier", dash(v.Agent.Tier)}, {"last seen", ago(v.Agent.LastSeen)},
			{"enrolled", v.Agent.EnrolledAt.Format(time.RFC3339)}, {"revoked", strconv.FormatBool(v.Agent.Revoked)},
		}
		if f := v.Facts; f != nil {
			rows = append(rows, []string{"os", fmt.Sprintf("%s %s %s (%s)", f.OS, f.Platform, f.PlatformVersion, f.Arch)},
				[]string{"kernel", f.KernelVersion}, []string{"cpu", fmt.Sprintf("%d x %s", f.CPUCount, f.CPUModel)},
				[]string{"agent version", f.AgentVersion})
			if f.BootTime != nil {
				rows = append(rows, []string{"booted", f.BootTime.Format(time.RFC3339)})
			}
		}
		if s := v.Latest; s != nil {
			rows = append(rows, []string{"sampled", s.Time.Format(time.RFC3339)},
				[]string{"cpu", fmt.Sprintf("%.1f%%", s.CPUPercent)},
				[]string{"load", fmt.Sprintf("%.2f %.2f %.2f", s.Load1, s.Load5, s.Load15)},
				[]string{"memory", fmt.Sprintf("%s of %s used", bytesHuman(s.MemUsed), bytesHuman(s.MemTotal))},
				[]string{"swap", fmt.Sprintf("%s of %s used", bytesHuman(s.SwapUsed), bytesHuman(s.SwapTotal))})
		}
		if err := table(e.stdout, []string{"FIELD", "VALUE"}, rows); err != nil {
			return err
		}
		if v.Latest != nil && len(v.Latest.Volumes) > 0 {
			fmt.Fprintln(e.stdout)
			var vr [][]string
			for _, vol := range v.Latest.Volumes {
				vr = append(vr, []string{vol.Mount, vol.FSType, bytesHuman(vol.Total), bytesHuman(vol.Used), bytesHuman(vol.Free),
					fmt.Sprintf("%.1f%%", vol.UsedPercent)})
			}
			return table(e.stdout, []string{"MOUNT", "FSTYPE", "SIZE", "USED", "FREE", "USE%"}, vr)
		}
		return nil
	})
}

func agentsRevoke(e *env, args []string) error {
	fs := flag.NewFlagSet("agents revoke", flag.ContinueOnError)
	reason := fs.String("reason", "", "why, recorded with the revocation")
	return actOne(e, args, fs, "ID",
		func(ctx context.Context, c *client.Client, id string) (*managev1.Agent, error) {
			return c.RevokeAgent(ctx, &managev1.RevokeAgentRequest{Id: id, Reason: *reason})
		},
		func(a *managev1.Agent) any { return agentOf(a) },
		func(a *managev1.Agent) string {
			return fmt.Sprintf("agent %s (%s) revoked; it can no longer connect\n", a.GetId(), a.GetHostname())
		})
}

// parseTime accepts a duration before now ("1h", "30m", "10d") or RFC 3339.
func parseTime(flagName, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil && n >= 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, cli.Usagef("--%s %q: want a duration such as 1h or 10d, or an RFC 3339 time", flagName, s)
}

func metricsCmd(e *env, args []string) error {
	fs := flag.NewFlagSet("metrics", flag.ContinueOnError)
	since := fs.String("since", "1h", "start: duration ago (1h, 10d) or RFC 3339 time")
	until := fs.String("until", "", "end: duration ago or RFC 3339 time (default now)")
	limit := fs.Uint("limit", 0, "at most this many samples (default and max 10000)")
	pos, o, err := parse(fs, args, []string{"table", "json", "csv"}, "AGENT")
	if err != nil {
		return err
	}
	now := time.Now()
	from, err := parseTime("since", *since, now)
	if err != nil {
		return err
	}
	to, err := parseTime("until", *until, now)
	if err != nil {
		return err
	}
	req := &managev1.QueryMetricsRequest{AgentId: pos[0], SinceUnixMs: from.UnixMilli(), Limit: uint32(*limit)}
	if !to.IsZero() {
		req.UntilUnixMs = to.UnixMilli()
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.QueryMetrics(ctx, req)
		if err != nil {
			return err
		}
		views := []*sampleView{}
		for _, s := range r.GetSamples() {
			views = append(views, sampleOf(s))
		}
		if r.GetTruncated() {
			fmt.Fprintf(e.stderr, "vigilctl: result truncated at %d samples; narrow --since/--until\n", len(views))
		}
		switch o {
		case "json":
			return writeJSON(e.stdout, views)
		case "csv":
			return csvSamples(e.stdout, views)
		}
		var rows [][]string
		for _, s := range views {
			rows = append(rows, []string{s.Time.Local().Format("2006-01-02 15:04:05"), fmt.Sprintf("%.1f%%", s.CPUPercent),
				fmt.Sprintf("%.2f", s.Load1), fmt.Sprintf("%s/%s", bytesHuman(s.MemUsed), bytesHuman(s.MemTotal)), strconv.Itoa(len(s.Volumes))})
		}
		return table(e.stdout, []string{"TIME", "CPU", "LOAD1", "MEMORY", "VOLUMES"}, rows)
	})
}

var roleFlags = map[string]managev1.Role{
	"admin": managev1.Role_ROLE_ADMIN, "technician": managev1.Role_ROLE_TECHNICIAN,
	"client-approver": managev1.Role_ROLE_CLIENT_APPROVER, "client-viewer": managev1.Role_ROLE_CLIENT_VIEWER,
}

func principalCreate(e *env, args []string) error {
	fs := flag.NewFlagSet("principal create", flag.ContinueOnError)
	role := fs.String("role", "", "admin, technician, client-approver or client-viewer (required)")
	tenant := fs.String("tenant", "", "tenant, required for client roles")
	writeCfg := fs.String("write-config", "", "also write a vigilctl config file for the new principal")
	pos, o, err := parse(fs, args, []string{"table", "json"}, "NAME")
	if err != nil {
		return err
	}
	r, ok := roleFlags[*role]
	if !ok {
		return cli.Usagef("principal create: --role %q: want admin, technician, client-approver or client-viewer", *role)
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		resp, err := c.CreatePrincipal(ctx, &managev1.CreatePrincipalRequest{Name: pos[0], Role: r, Tenant: *tenant})
		if err != nil {
			return err
		}
		if *writeCfg != "" {
			addr := e.cfg.Controller
			if e.controller != "" {
				addr = e.controller
			}
			cc := &clientconfig.Config{Controller: addr, CAPEM: e.cfg.CAPEM, Token: resp.GetApiToken(), Principal: resp.GetPrincipal().GetName()}
			if err := cc.Save(*writeCfg); err != nil {
				return fmt.Errorf("principal created, but writing %s failed: %w (token: %s)", *writeCfg, err, resp.GetApiToken())
			}
		}
		v := principalOf(resp.GetPrincipal())
		if o == "json" {
			return writeJSON(e.stdout, struct {
				principalView
				APIToken string `json:"api_token"`
			}{v, resp.GetApiToken()})
		}
		fmt.Fprintf(e.stdout, "principal %s (%s%s) created\napi token: %s\n(shown once; store it safely)\n",
			v.Name, v.Role, map[bool]string{true: ", tenant " + v.Tenant, false: ""}[v.Tenant != ""], resp.GetApiToken())
		return nil
	})
}

func principalList(e *env, args []string) error {
	fs := flag.NewFlagSet("principal list", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "only this tenant")
	_, o, err := parse(fs, args, []string{"table", "json"})
	if err != nil {
		return err
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.ListPrincipals(ctx, &managev1.ListPrincipalsRequest{Tenant: *tenant})
		if err != nil {
			return err
		}
		views := []principalView{}
		for _, p := range r.GetPrincipals() {
			views = append(views, principalOf(p))
		}
		if o == "json" {
			return writeJSON(e.stdout, views)
		}
		var rows [][]string
		for _, v := range views {
			state := "active"
			if v.RevokedAt != nil {
				state = "revoked " + v.RevokedAt.Format(time.RFC3339)
			}
			rows = append(rows, []string{v.Name, v.Role, dash(v.Tenant), v.ID, v.CreatedAt.Format(time.RFC3339), state})
		}
		return table(e.stdout, []string{"NAME", "ROLE", "TENANT", "ID", "CREATED", "STATE"}, rows)
	})
}

func principalRevoke(e *env, args []string) error {
	return actOne(e, args, flag.NewFlagSet("principal revoke", flag.ContinueOnError), "NAME",
		func(ctx context.Context, c *client.Client, id string) (*managev1.Principal, error) {
			return c.RevokePrincipal(ctx, &managev1.RevokePrincipalRequest{Name: id})
		},
		func(p *managev1.Principal) any { return principalOf(p) },
		func(p *managev1.Principal) string {
			return fmt.Sprintf("principal %s revoked; its API token no longer works\n", p.GetName())
		})
}
