// Command vigil-agentsim runs many simulated agents in one process against a
// controller on this machine, for load and scale measurements. Each agent
// has its own enrolled identity, its own TCP and TLS connection (from a
// spread of 127.0.0.0/8 source addresses, past the ephemeral-port limit of
// one address), and uses the real agent link and outbox code.
//
//	vigil-agentsim --controller 127.0.0.1:7443 --ca-pin sha256:HEX --token TOKEN \
//	    --agents 1000 --ramp 60s --interval 60s --duration 10m --state ./var/sim
//
// With --trust-root sha256:HEX each agent also takes tasks: it verifies
// every offer against that root (envelope.Verify, as the agent does) and
// reports it ACCEPTED then SUCCEEDED without running a plugin, and the
// report gains a "tasks" section with offer and completion latencies.
//
// It refuses any controller address that is not loopback, stops by itself
// after --duration, and writes a JSON report (--report, default stdout).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vigil-rmm/vigil/internal/logging"
	"github.com/vigil-rmm/vigil/internal/pin"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	var o Options
	fs := flag.NewFlagSet("vigil-agentsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Controller, "controller", "127.0.0.1:7443", "controller agent address (loopback only)")
	fs.StringVar(&o.CAPin, "ca-pin", "", "controller CA pin (required)")
	fs.StringVar(&o.Token, "token", "", "enrollment token with enough uses for --agents (needed for agents not yet enrolled)")
	fs.IntVar(&o.Agents, "agents", 100, "number of simulated agents")
	fs.DurationVar(&o.Ramp, "ramp", 30*time.Second, "start the agents evenly over this period")
	fs.DurationVar(&o.Interval, "interval", 60*time.Second, "report interval per agent (each agent starts at a random phase)")
	fs.DurationVar(&o.Duration, "duration", 5*time.Minute, "total run time, ramp included; the simulator stops by itself")
	fs.StringVar(&o.StateDir, "state", "./var/sim", "directory for identities and outboxes")
	fs.StringVar(&o.OutboxKind, "outbox", "bolt", "outbox implementation: bolt (the agent's real one) or memory")
	fs.IntVar(&o.SourceIPs, "source-ips", 64, "spread connections over this many 127.x.y.z source addresses")
	fs.IntVar(&o.EnrollWorkers, "enroll-workers", 16, "concurrent enrollments")
	fs.StringVar(&o.ReportPath, "report", "", "write the JSON report here (default stdout)")
	fs.DurationVar(&o.BackoffMax, "backoff-max", 60*time.Second, "reconnect backoff cap (the agent default is 5m)")
	fs.BoolVar(&o.Scans, "scans", true, "also run the agent's scanner with simulated patch, reboot and inventory state (real schedules, digests, rescans)")
	fs.StringVar(&o.TrustRoot, "trust-root", "", "pinned task root fingerprint (sha256:HEX); when set, agents announce \"tasks\", verify each offer and report it ACCEPTED then SUCCEEDED without running a plugin")
	logLevel := fs.String("log-level", "warn", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	logger, err := logging.New(stderr, logging.Options{Level: *logLevel})
	if err != nil {
		fmt.Fprintln(stderr, "vigil-agentsim:", err)
		return 2
	}
	if err := o.validate(); err != nil {
		fmt.Fprintln(stderr, "vigil-agentsim:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o.logger = logger
	rep, err := Run(ctx, o, logger)
	if err != nil {
		fmt.Fprintln(stderr, "vigil-agentsim:", err)
		return 1
	}
	out := stdout
	if o.ReportPath != "" {
		f, err := os.Create(o.ReportPath)
		if err != nil {
			fmt.Fprintln(stderr, "vigil-agentsim:", err)
			return 1
		}
		defer f.Close()
		out = f
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		fmt.Fprintln(stderr, "vigil-agentsim:", err)
		return 1
	}
	return 0
}

// Options configure a run.
type Options struct {
	Controller    string
	CAPin         string
	Token         string
	Agents        int
	Ramp          time.Duration
	Interval      time.Duration
	Duration      time.Duration
	StateDir      string
	OutboxKind    string
	SourceIPs     int
	EnrollWorkers int
	ReportPath    string
	BackoffMax    time.Duration
	Scans         bool
	TrustRoot     string
	logger        *slog.Logger
}

func (o Options) validate() error {
	host, _, err := net.SplitHostPort(o.Controller)
	if err != nil {
		return fmt.Errorf("--controller %q: want host:port", o.Controller)
	}
	ip := net.ParseIP(host)
	if host == "localhost" {
		ip = net.IPv4(127, 0, 0, 1)
	}
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--controller %q: the simulator only targets loopback addresses", o.Controller)
	}
	if _, err := pin.Parse(o.CAPin); err != nil {
		return fmt.Errorf("--ca-pin: %w", err)
	}
	if o.TrustRoot != "" {
		if _, err := pin.Parse(o.TrustRoot); err != nil {
			return fmt.Errorf("--trust-root: %w", err)
		}
	}
	switch {
	case o.Agents < 1 || o.Agents > 200000:
		return fmt.Errorf("--agents %d: want 1 to 200000", o.Agents)
	case o.Interval < time.Second:
		return fmt.Errorf("--interval %s: want at least 1s", o.Interval)
	case o.Duration <= 0 || o.Duration > 24*time.Hour:
		return fmt.Errorf("--duration %s: want up to 24h", o.Duration)
	case o.Ramp < 0 || o.Ramp >= o.Duration:
		return fmt.Errorf("--ramp %s: must be shorter than --duration", o.Ramp)
	case o.OutboxKind != "bolt" && o.OutboxKind != "memory":
		return fmt.Errorf("--outbox %q: want bolt or memory", o.OutboxKind)
	case o.SourceIPs < 1 || o.SourceIPs > 65000:
		return fmt.Errorf("--source-ips %d: want 1 to 65000", o.SourceIPs)
	}
	return nil
}
