// Command vigilctl manages a vigil installation from the command line: it
// talks to the controller's manage API with a principal's API token.
//
// Every list and show command prints a table by default and stable JSON
// with -o json (field names are documented in docs/cli.md). Exit codes:
// 0 ok, 1 error (the message says what the controller refused and why),
// 2 usage, 3 compliance findings (only with patches compliance
// --fail-on-findings). `task run --follow` and `task show --follow` exit 0
// only when the task succeeded.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/console/client"
	"github.com/vigil-rmm/vigil/internal/cli"
	"github.com/vigil-rmm/vigil/internal/clientconfig"
	"github.com/vigil-rmm/vigil/internal/version"
)

const usage = `vigilctl: manage a vigil installation.

Usage:
  vigilctl [--config FILE] [--controller HOST:PORT] COMMAND [ARGS] [-o table|json]

Commands:
  whoami                                       the calling principal
  tenant create ID [--name N] [--timezone TZ]  create a client tenant (admin)
  tenant list | tenant show ID                 tenants you can see
  token create --tenant T [--ttl 1h] [--uses 1]  enrollment token, shown once
  token list [--tenant T]                      enrollment tokens (never the secret)
  agents list [--tenant T]                     agents, online state and last seen
  agents show ID                               facts, latest metrics, volumes
  agents revoke ID [--reason R]                revoke; its stream closes at once
  agents rescan AGENT [--kind patches,reboot,inventory] [--wait] [--timeout 10m]
                                               ask an online agent to scan now
  metrics ID [--since 1h] [--until TIME] [-o table|json|csv]
  patches list [--tenant T] [--severity critical,important] [--classification security,critical] [-o table|json|csv]
                                               pending updates, reboot and last scan per agent
  patches show AGENT                           one agent's pending and awaiting-reboot updates
  patches history AGENT [--since 30d] [-o table|json|csv]
                                               updates that appeared on and left the pending list
  patches compliance [--tenant T] [--update-days 14] [--reboot-days 3] [--stale-days 2] [--fail-on-findings]
                                               overdue updates and reboots, failing or stale scans
  reboot-state AGENT                           every reboot signal and the verdict
  inventory show AGENT [--software|--hardware] [-o table|json|csv]
                                               hardware and installed software
  inventory changes AGENT [--since 30d] [-o table|json|csv]
                                               software installed, removed, upgraded
  principal create NAME --role ROLE [--tenant T] [--write-config FILE]
                                               roles: admin, technician, client-approver, client-viewer
  principal list [--tenant T]
  principal revoke NAME                        its API token stops working at once (admin)

Signing and tasks (docs/cli.md, "Setting up signing"):
  trust init --key FILE [--set]                create the MSP's offline root key (once per MSP)
  trust set-root FINGERPRINT | trust show      the root fingerprint the controller checks (admin)
  trust certify --root FILE --principal NAME --role technician|client-approver|admin [--tenant T]
                --public-key ed25519:... [--valid 365d] [--register] [--out FILE]
                                               certify a principal's signing key with the root key
  trust register FILE | trust certs [--principal P]
                                               register a certificate (admin); list them
  keys generate [--key FILE] [--force]         your own signing key, recorded in the config file
  keys set-cert FILE | keys show               record your certificate; show your key and certificate
  task run AGENT --plugin NAME [--param k=v ...] [--at TIME] [--window 1h] [--downtime]
           [--timeout 30m] [--follow]          sign and submit a task (technician)
  task approve ID [--yes]                      show a downtime task; sign it with --yes (client approver)
  task list [--agent A] [--tenant T] [--state S] | task show ID [--follow]
  task cancel ID [--reason R]                  stop a task that has not finished
  plugins list AGENT                           an agent's plugins and tier

Alerts, checks and notifications (docs/alerts.md, docs/checks.md, docs/notifications.md):
  rule list [--tenant T] | rule show RULE      alert rules (every tenant starts with six defaults)
  rule create --tenant T --kind KIND [condition flags] [--days mon-fri] [--hours 08:00-18:00]
              [--repeat-every 30m --repeat-count 3|--repeat-forever] [--escalate-to CONTACT --escalate-after 30m]
              [--contacts C,...] [--consecutive 2]
                                               kinds: metric, offline, updates, reboot, scan, check, task, verify
  rule update RULE [flags] | rule enable|disable|delete RULE
  alert list [--tenant T] [--open] [--since 7d] | alert show ALERT | alert ack ALERT
  maintenance start AGENT --until TIME [--reason R] | maintenance stop AGENT | maintenance list
                                               no notifications about AGENT until TIME
  contact create --tenant T (--email ADDR | --sms +33... | --webhook URL [--format json|slack|teams])
                 [--name N] [--default]        who notifications go to
  contact list [--tenant T] | contact show|update|delete|test CONTACT
  sms credits --tenant T [--add N]             SMS balance (adding is admin only)
  notifications list [--tenant T] [--state S] | notifications show ID
                                               every delivery and attempt
  check create --tenant T --target HOST --type ping|tcp|http|dns [--port 443] [--interval 5m]
               [--from controller|agent:ID,...]
                                               a network check: OK, NG, WR or ERR every interval
  check list [--tenant T] | check show CHECK | check update|delete|pause|resume CHECK
  check history CHECK [--since 10d] [-o table|csv|json]
                                               results and uptime % per day
  report --tenant T [--since 10d] [--until TIME] [--format json|csv] [--out FILE|DIR] [--section NAME]
                                               availability, metric summaries, alerts, compliance
  version

Global flags:
  --config FILE         client config (default $VIGIL_CONFIG, else ./var/admin.json)
  --controller ADDR     override the controller API address in the config
  --timeout DURATION    per-call timeout (default 30s)

AGENT is an agent id (ag-...), as agents list shows it; ID is an agent id in the
agents and metrics commands, a task id (tk-...) in the task commands.

Exit codes: 0 ok, 1 error (also: a followed task that did not succeed), 2 usage
(also: task approve without --yes), 3 findings (patches compliance --fail-on-findings).
`

// helpOut receives subcommand help (-h); run points it at stdout.
var helpOut io.Writer = os.Stdout

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// env is what every command gets.
type env struct {
	stdout, stderr io.Writer
	cfgPath        string
	controller     string
	timeout        time.Duration
	cfg            *clientconfig.Config
}

// config loads the config file once.
func (e *env) config() (*clientconfig.Config, error) {
	if e.cfg == nil {
		cfg, err := clientconfig.Load(e.cfgPath)
		if err != nil {
			return nil, err
		}
		e.cfg = cfg
	}
	return e.cfg, nil
}

func (e *env) dial(ctx context.Context) (*client.Client, error) {
	if _, err := e.config(); err != nil {
		return nil, err
	}
	addr := e.cfg.Controller
	if e.controller != "" {
		addr = e.controller
	}
	return client.Dial(ctx, client.Options{Address: addr, CAPEM: []byte(e.cfg.CAPEM), Token: e.cfg.Token})
}

func run(args []string, stdout, stderr io.Writer) int {
	helpOut = stdout
	e := &env{stdout: stdout, stderr: stderr}
	gfs := flag.NewFlagSet("vigilctl", flag.ContinueOnError)
	gfs.SetOutput(io.Discard)
	gfs.StringVar(&e.cfgPath, "config", "", "")
	gfs.StringVar(&e.controller, "controller", "", "")
	gfs.DurationVar(&e.timeout, "timeout", 30*time.Second, "")
	if err := gfs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "vigilctl: %v\n\n%s", err, usage)
		return 2
	}
	if e.cfgPath == "" {
		e.cfgPath = os.Getenv("VIGIL_CONFIG")
	}
	if e.cfgPath == "" {
		e.cfgPath = "./var/admin.json"
	}
	rest := gfs.Args()
	if len(rest) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	err := dispatch(e, rest)
	if errors.Is(err, errFindings) {
		fmt.Fprintf(stderr, "vigilctl: %v\n", err)
		return exitFindings
	}
	return cli.Exit("vigilctl", err, stderr, cliMessage)
}

func dispatch(e *env, args []string) error {
	cmd, rest := args[0], args[1:]
	sub := ""
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		sub = rest[0]
	}
	type handler func(*env, []string) error
	groups := map[string]map[string]handler{
		"tenant":    {"create": tenantCreate, "list": tenantList, "show": tenantShow},
		"token":     {"create": tokenCreate, "list": tokenList},
		"agents":    {"list": agentsList, "show": agentsShow, "revoke": agentsRevoke, "rescan": agentsRescan},
		"patches":   {"list": patchesList, "show": patchesShow, "history": patchesHistory, "compliance": patchesCompliance},
		"inventory": {"show": inventoryShow, "changes": inventoryChanges},
		"principal": {"create": principalCreate, "list": principalList, "revoke": principalRevoke},
		"trust": {"init": trustInit, "set-root": trustSetRoot, "show": trustShow, "certify": trustCertify,
			"register": trustRegister, "certs": trustCerts},
		"keys":    {"generate": keysGenerate, "set-cert": keysSetCert, "show": keysShow},
		"task":    {"run": taskRun, "approve": taskApprove, "list": taskList, "show": taskShow, "cancel": taskCancel},
		"plugins": {"list": pluginsList},
		"rule": {"list": ruleList, "show": ruleShow, "create": ruleCreate, "update": ruleUpdate,
			"enable": ruleEnable, "disable": ruleDisable, "delete": ruleDelete},
		"alert":       {"list": alertList, "show": alertShow, "ack": alertAck},
		"maintenance": {"start": maintenanceStart, "stop": maintenanceStop, "list": maintenanceList},
		"check": {"create": checkCreate, "list": checkList, "show": checkShow, "update": checkUpdate,
			"delete": checkDelete, "history": checkHistory, "resume": checkResume, "pause": checkPause},
		"contact":       {"create": contactCreate, "list": contactList, "show": contactShow, "update": contactUpdate, "delete": contactDelete, "test": contactTest},
		"sms":           {"credits": smsCredits},
		"notifications": {"list": notificationsList, "show": notificationsShow},
	}
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usage)
		return nil
	case "version":
		fmt.Fprintf(e.stdout, "vigilctl %s\n", version.String())
		return nil
	case "whoami":
		return whoami(e, rest)
	case "metrics":
		return metricsCmd(e, rest)
	case "reboot-state":
		return rebootStateCmd(e, rest)
	case "report":
		return reportCmd(e, rest)
	}
	g, ok := groups[cmd]
	if !ok {
		return cli.Usagef("unknown command %q (see vigilctl help)", cmd)
	}
	h, ok := g[sub]
	if !ok {
		return cli.Usagef("%s: unknown or missing subcommand %q; want one of %s", cmd, sub, strings.Join(slices.Sorted(maps.Keys(g)), ", "))
	}
	return h(e, rest[1:])
}

// flags parses fs allowing positional arguments between flags, and
// checks the number of positionals.
func flags(fs *flag.FlagSet, args []string, positional ...string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(helpOut, "usage: vigilctl %s [flags]\nflags:%s\n", strings.Join(append([]string{fs.Name()}, positional...), " "), flagHelp(fs))
				return nil, flag.ErrHelp
			}
			return nil, cli.Usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) != len(positional) {
		want := "no arguments"
		if len(positional) > 0 {
			want = strings.Join(positional, " ")
		}
		return nil, cli.Usagef("%s: want %s, got %d argument(s)", fs.Name(), want, len(pos))
	}
	return pos, nil
}

func flagHelp(fs *flag.FlagSet) string {
	var b strings.Builder
	fs.VisitAll(func(f *flag.Flag) { fmt.Fprintf(&b, "\n  -%s\t%s (default %q)", f.Name, f.Usage, f.DefValue) })
	return b.String()
}

// cliMessage is how vigilctl prints an error: "Code: message" for the
// controller's, the text for any other.
func cliMessage(err error) string {
	if s, ok := status.FromError(err); ok {
		return s.Code().String() + ": " + s.Message()
	}
	return err.Error()
}
