// Command vigil-agent runs on each client server. It enrolls once with an
// enrollment token and the controller's CA pin, then keeps one outbound
// stream to the controller and reports health through a durable outbox.
//
//	vigil-agent enroll --controller HOST:PORT --ca-pin sha256:HEX --token TOKEN --state DIR [--trust-root sha256:HEX]
//	vigil-agent run --state DIR [--metrics-interval 60s] [--tier proactive|monitor-only]
//	vigil-agent status --state DIR [-o json]
//	vigil-agent collect --once [--state-reports] [-o json]
//	vigil-agent version
//
// Exit codes: 0 ok, 1 error, 2 usage.
package main

import (
	"github.com/vigil-rmm/vigil/internal/cli"
	"github.com/vigil-rmm/vigil/internal/duration"

	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/shirou/gopsutil/v4/host"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/agent/internal/checkrunner"
	"github.com/vigil-rmm/vigil/agent/internal/collector"
	"github.com/vigil-rmm/vigil/agent/internal/config"
	"github.com/vigil-rmm/vigil/agent/internal/enroll"
	"github.com/vigil-rmm/vigil/agent/internal/journal"
	"github.com/vigil-rmm/vigil/agent/internal/link"
	"github.com/vigil-rmm/vigil/agent/internal/outbox"
	"github.com/vigil-rmm/vigil/agent/internal/reporter"
	"github.com/vigil-rmm/vigil/agent/internal/taskrunner"
	"github.com/vigil-rmm/vigil/internal/logging"
	"github.com/vigil-rmm/vigil/internal/pin"
	"github.com/vigil-rmm/vigil/internal/version"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

const usage = `vigil-agent: the vigil agent.

Usage:
  vigil-agent enroll  --controller HOST:PORT --ca-pin sha256:HEX --token TOKEN --state DIR [--trust-root sha256:HEX] [--force]
  vigil-agent run     --state DIR [--metrics-interval 60s] [--outbox-max 20000] [--tier proactive|monitor-only]
  vigil-agent status  --state DIR [-o json]
  vigil-agent collect --once [--state-reports] [-o json]
  vigil-agent version

Run "vigil-agent COMMAND -h" for a command's flags.
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "enroll":
		err = cmdEnroll(args[1:], stdout, stderr)
	case "run":
		err = cmdRun(args[1:], stderr)
	case "status":
		err = cmdStatus(args[1:], stdout, stderr)
	case "collect":
		err = cmdCollect(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "vigil-agent %s (protocol %d, %s/%s)\n", version.String(), version.Protocol, runtime.GOOS, runtime.GOARCH)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "vigil-agent: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	return cli.Exit("vigil-agent", err, stderr, nil)
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

func cmdEnroll(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("enroll", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var p enroll.Params
	fs.StringVar(&p.Controller, "controller", "", "controller agent address, host:port (required)")
	fs.StringVar(&p.CAPin, "ca-pin", "", "controller CA pin, sha256:<hex>, as printed by 'vigil-controller init' (required)")
	fs.StringVar(&p.Token, "token", "", "enrollment token from 'vigilctl token create' (required; or VIGIL_ENROLL_TOKEN)")
	fs.StringVar(&p.StateDir, "state", "", "state directory (required)")
	fs.BoolVar(&p.Force, "force", false, "replace an existing identity in the state directory")
	fs.DurationVar(&p.Timeout, "timeout", 30*time.Second, "how long to wait for the controller")
	trustRoot := fs.String("trust-root", "", "fingerprint of the MSP's task-signing root key, sha256:<hex>, from 'vigilctl trust init' (written to config.json; without it every task is refused)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *trustRoot != "" {
		if _, err := pin.Parse(*trustRoot); err != nil {
			return cli.Usagef("enroll: --trust-root: %v", err)
		}
	}
	if p.Token == "" {
		p.Token = os.Getenv("VIGIL_ENROLL_TOKEN")
	}
	for name, v := range map[string]string{"--controller": p.Controller, "--ca-pin": p.CAPin, "--token": p.Token, "--state": p.StateDir} {
		if v == "" {
			return cli.Usagef("enroll: %s is required", name)
		}
	}
	if _, err := pin.Parse(p.CAPin); err != nil {
		return cli.Usagef("enroll: --ca-pin: %v", err)
	}
	p.Hostname, _ = os.Hostname()
	id, err := enroll.Enroll(context.Background(), p)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "enrolled as %s in tenant %s; state in %s\n", id.AgentID, id.Tenant, p.StateDir)
	if *trustRoot != "" {
		if err := config.SetTrustRoot(p.StateDir, *trustRoot); err != nil {
			return fmt.Errorf("enrolled, but the trust root was not written: %w", err)
		}
		fmt.Fprintf(stdout, "tasks are verified against trust root %s\n", *trustRoot)
	} else {
		fmt.Fprintf(stdout, "no trust root pinned: every task will be refused (set trust_root in %s)\n", filepath.Join(p.StateDir, config.ConfigFile))
	}
	fmt.Fprintf(stdout, "start it with: vigil-agent run --state %s\n", p.StateDir)
	return nil
}

func loadConfig(fs *flag.FlagSet, args []string) (config.Config, error) {
	cfg := config.Default()
	fs.StringVar(&cfg.StateDir, "state", "", "state directory (required)")
	interval := fs.Duration("metrics-interval", time.Duration(cfg.MetricsInterval), "time between health samples")
	outboxMax := fs.Int("outbox-max", cfg.OutboxMaxReports, "outbox bound in reports; oldest samples are dropped first")
	backoffMax := fs.Duration("backoff-max", time.Duration(cfg.BackoffMax), "longest wait between reconnects")
	logLevel := fs.String("log-level", cfg.LogLevel, "debug, info, warn or error")
	logFormat := fs.String("log-format", cfg.LogFormat, "text or json")
	plugins := fs.String("plugins", "", "plugin directory with manifest.json (default: plugins next to the executable)")
	tier := fs.String("tier", cfg.Tier, "service tier: proactive (signed tasks may run) or monitor-only (every task is refused; only scanner plugins start)")
	if err := parse(fs, args); err != nil {
		return cfg, err
	}
	if cfg.StateDir == "" {
		return cfg, cli.Usagef("%s: --state is required", fs.Name())
	}
	if err := cfg.LoadFile(); err != nil {
		return cfg, err
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "metrics-interval":
			cfg.MetricsInterval = duration.Duration(*interval)
		case "outbox-max":
			cfg.OutboxMaxReports = *outboxMax
		case "backoff-max":
			cfg.BackoffMax = duration.Duration(*backoffMax)
		case "log-level":
			cfg.LogLevel = *logLevel
		case "log-format":
			cfg.LogFormat = *logFormat
		case "tier":
			cfg.Tier = *tier
		case "plugins":
			abs, err := filepath.Abs(*plugins)
			if err == nil {
				cfg.Plugins.Dir, cfg.Plugins.Manifest = abs, ""
			}
		}
	})
	if err := cfg.Validate(); err != nil {
		return cfg, cli.UsageError{Err: err}
	}
	return cfg, nil
}

func cmdRun(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	logger, err := logging.New(stderr, logging.Options{Level: cfg.LogLevel, Format: cfg.LogFormat})
	if err != nil {
		return cli.UsageError{Err: err}
	}
	id, err := config.LoadIdentity(cfg.StateDir)
	if err != nil {
		return err
	}
	tlsCfg, err := enroll.LoadTLS(cfg.StateDir)
	if err != nil {
		return err
	}
	ob, err := outbox.Open(filepath.Join(cfg.StateDir, config.OutboxFile), outbox.Options{MaxReports: cfg.OutboxMaxReports, Logger: logger})
	if err != nil {
		return err
	}
	defer ob.Close()
	set, err := collector.New(cfg.Collectors, logger)
	if err != nil {
		return err
	}
	logger = logger.With("agent_id", id.AgentID)
	plugins, pluginsErr := newPluginHost(cfg, logger)
	if plugins != nil {
		defer plugins.Close()
	}
	scan, err := newScanner(cfg, ob, plugins, pluginsErr, logger)
	if err != nil {
		return err
	}
	jr, err := journal.Open(filepath.Join(cfg.StateDir, config.JournalFile), journal.Options{})
	if err != nil {
		return err
	}
	defer jr.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	bootTime, err := host.BootTimeWithContext(ctx)
	if err != nil {
		// Reboot tasks then wait for a readable boot time, or fail.
		logger.Warn("boot time unreadable", "err", err)
	}
	tcfg := taskrunner.Config{Journal: jr, Outbox: ob, Tier: cfg.Tier, RootPin: cfg.RootPin(), AgentID: id.AgentID,
		Tenant: id.Tenant, BootTime: func() int64 { return int64(bootTime) }, Logger: logger,
		PluginsFile: filepath.Join(cfg.StateDir, config.PluginsFile)}
	if plugins != nil {
		tcfg.Plugins = taskrunner.HostPlugins{Host: plugins}
	}
	if p := patchPlugin(cfg); p != "" {
		tcfg.ScannerPlugins = []string{p}
	}
	tasks, err := taskrunner.New(tcfg)
	if err != nil {
		return err
	}
	if plugins == nil {
		logger.Info("no usable plugin manifest: tasks will be refused as unknown plugins", "err", pluginsErr)
	}
	if tcfg.RootPin == nil {
		logger.Warn("no trust root pinned: every task will be refused; set trust_root in the agent config")
	}
	checks, err := checkrunner.New(checkrunner.Config{Outbox: ob, Policy: cfg.Checks.Policy(), Logger: logger})
	if err != nil {
		return err
	}
	lk := link.New(link.Config{
		Address: id.Controller, TLS: tlsCfg, Outbox: ob,
		BackoffBase: time.Duration(cfg.BackoffBase), BackoffMax: time.Duration(cfg.BackoffMax), Logger: logger,
		Hello: func() *agentv1.Hello {
			return &agentv1.Hello{ProtocolVersion: version.Protocol, AgentVersion: version.String(),
				Capabilities: capabilities(scan, tcfg.RootPin != nil, cfg.Checks.Vantage), BootTimeUnix: int64(bootTime), Tier: cfg.Tier}
		},
		OnScan:   scan.Request,
		OnTask:   func(o *agentv1.TaskOffer) { tasks.Offer(o.GetSignedTask()) },
		OnCancel: func(c *agentv1.TaskCancel) { tasks.Cancel(c.GetTaskId(), c.GetReason()) },
		OnCheck:  checks.Request,
	})
	rep := reporter.New(reporter.Config{
		Interval: time.Duration(cfg.MetricsInterval), Sampler: set, Outbox: ob, AgentVersion: version.String(),
		FactsFile: filepath.Join(cfg.StateDir, config.FactsFile), Logger: logger,
	})
	logger.Info("agent starting", "controller", id.Controller, "tenant", id.Tenant, "metrics_interval", cfg.MetricsInterval.String(),
		"collectors", set.Names(), "scans", fmt.Sprint(scan.Kinds()), "tier", cfg.Tier, "trust_root", cfg.TrustRoot != "",
		"vantage_checks", cfg.Checks.Vantage, "checks_allow", len(cfg.Checks.Allow), "checks_deny", len(cfg.Checks.Deny))

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	// An error from one of these stops the agent; the first is returned.
	for _, essential := range []func(context.Context) error{rep.Run, scan.Run, tasks.Run} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := essential(runCtx); err != nil {
				select {
				case errc <- err:
				default:
				}
				cancel(err)
			}
		}()
	}
	wg.Add(3)
	go func() { defer wg.Done(); _ = checks.Run(runCtx) }()
	go func() { defer wg.Done(); _ = lk.Run(runCtx) }()
	go func() { defer wg.Done(); writeStatusLoop(runCtx, cfg, id, ob, lk, tasks, logger) }()
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
	}
	logger.Info("agent stopped")
	return nil
}

// agentStatus is status.json and `vigil-agent status -o json`.
type agentStatus struct {
	AgentID    string       `json:"agent_id"`
	Tenant     string       `json:"tenant"`
	Controller string       `json:"controller"`
	Version    string       `json:"agent_version"`
	PID        int          `json:"pid"`
	UpdatedAt  time.Time    `json:"updated_at"`
	Link       link.Status  `json:"link"`
	Outbox     outbox.Stats `json:"outbox"`
	// Tier is the service tier; TrustRoot the pinned root fingerprint.
	Tier      string `json:"tier,omitempty"`
	TrustRoot string `json:"trust_root,omitempty"`
	// Task is the task running now, if any.
	Task *taskrunner.Current `json:"task,omitempty"`
}

func writeStatusLoop(ctx context.Context, cfg config.Config, id *config.Identity, ob *outbox.Outbox, lk *link.Link,
	tasks *taskrunner.Runner, logger interface{ Warn(string, ...any) }) {
	path := filepath.Join(cfg.StateDir, config.StatusFile)
	write := func(c context.Context) {
		st, err := ob.Stats(c)
		if err != nil {
			logger.Warn("outbox stats", "err", err)
		}
		s := agentStatus{AgentID: id.AgentID, Tenant: id.Tenant, Controller: id.Controller, Version: version.String(),
			PID: os.Getpid(), UpdatedAt: time.Now().UTC(), Link: lk.Status(), Outbox: st,
			Tier: cfg.Tier, TrustRoot: cfg.TrustRoot, Task: tasks.Current()}
		b, _ := json.MarshalIndent(s, "", "  ")
		if err := config.WriteFileAtomic(path, append(b, '\n'), 0o600); err != nil {
			logger.Warn("write status", "err", err)
		}
	}
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			write(context.WithoutCancel(ctx))
			return
		case <-t.C:
			write(ctx)
		}
	}
}

func cmdStatus(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	state := fs.String("state", "", "state directory (required)")
	out := fs.String("o", "table", "output: table or json")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *state == "" {
		return cli.Usagef("status: --state is required")
	}
	id, err := config.LoadIdentity(*state)
	if err != nil {
		return err
	}
	var s agentStatus
	b, err := os.ReadFile(filepath.Join(*state, config.StatusFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
		s = agentStatus{AgentID: id.AgentID, Tenant: id.Tenant, Controller: id.Controller}
	case err != nil:
		return err
	default:
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("%s: %w", config.StatusFile, err)
		}
	}
	if *out == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	if *out != "table" {
		return cli.Usagef("status: -o %q: want table or json", *out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "agent\t%s\n", s.AgentID)
	fmt.Fprintf(tw, "tenant\t%s\n", s.Tenant)
	fmt.Fprintf(tw, "controller\t%s\n", s.Controller)
	if s.Tier != "" {
		fmt.Fprintf(tw, "tier\t%s\n", s.Tier)
	}
	if s.TrustRoot != "" {
		fmt.Fprintf(tw, "trust root\t%s\n", s.TrustRoot)
	}
	if s.UpdatedAt.IsZero() {
		fmt.Fprintf(tw, "running\tno status yet (has `vigil-agent run` started?)\n")
	} else {
		fmt.Fprintf(tw, "status updated\t%s (%s ago)\n", s.UpdatedAt.Format(time.RFC3339), time.Since(s.UpdatedAt).Round(time.Second))
		fmt.Fprintf(tw, "connected\t%v\n", s.Link.Connected)
		if s.Link.LastError != "" {
			fmt.Fprintf(tw, "last error\t%s (%s)\n", s.Link.LastError, s.Link.LastErrorAt.Format(time.RFC3339))
		}
		fmt.Fprintf(tw, "outbox pending\t%d (acked through %d)\n", s.Outbox.Pending, s.Outbox.Acked)
		fmt.Fprintf(tw, "samples dropped\t%d\n", s.Outbox.DroppedTotal)
		if s.Task != nil {
			fmt.Fprintf(tw, "running task\t%s (%s, since %s)\n", s.Task.TaskID, s.Task.Plugin, s.Task.Since.Format(time.RFC3339))
		} else {
			fmt.Fprintf(tw, "running task\tnone\n")
		}
	}
	return tw.Flush()
}

func cmdCollect(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("collect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	once := fs.Bool("once", false, "collect one sample and print it (required)")
	out := fs.String("o", "json", "output: json")
	state := fs.Bool("state-reports", false, "also read the reboot state, the inventory and (with plugins) the pending updates")
	plugins := fs.String("plugins", "", "plugin directory for --state-reports (default: plugins next to the executable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if !*once {
		return cli.Usagef("collect: only --once is supported")
	}
	if *out != "json" {
		return cli.Usagef("collect: -o %q: want json", *out)
	}
	logger, _ := logging.New(stderr, logging.Options{Level: "warn"})
	set, err := collector.New(collector.Default(), logger)
	if err != nil {
		return err
	}
	ctx := context.Background()
	s, errs := set.Collect(ctx)
	for _, e := range errs {
		fmt.Fprintf(stderr, "vigil-agent: collector: %v\n", e)
	}
	if s.Facts != nil {
		s.Facts.AgentVersion = version.String()
	}
	// protojson output is deliberately unstable in spacing; re-indent it.
	mo := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}
	doc := map[string]json.RawMessage{}
	add := func(name string, m proto.Message) error {
		b, err := mo.Marshal(m)
		doc[name] = b
		return err
	}
	if err := errors.Join(add("facts", s.Facts), add("metrics", s.Metrics)); err != nil {
		return err
	}
	if *state {
		msgs, err := collectState(ctx, *plugins, logger)
		if err != nil {
			return err
		}
		for name, m := range msgs {
			if err := add(name, m); err != nil {
				return err
			}
		}
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}
