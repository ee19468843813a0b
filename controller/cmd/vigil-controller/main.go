// Command vigil-controller is the MSP-side server of vigil: agents hold a
// stream to it, and vigilctl and the console manage the fleet through it.
//
//	vigil-controller init --data DIR --admin-config FILE
//	vigil-controller run  --data DIR [--agent-listen ADDR] [--api-listen ADDR]
//	vigil-controller version
//
// Exit codes: 0 ok, 1 error, 2 usage.
package main

import (
	"path/filepath"
	"runtime/debug"
	"slices"

	"github.com/vigil-rmm/vigil/controller/internal/pki"
	"github.com/vigil-rmm/vigil/internal/cli"
	"github.com/vigil-rmm/vigil/internal/duration"
	"github.com/vigil-rmm/vigil/internal/pin"

	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/server"
	"github.com/vigil-rmm/vigil/internal/clientconfig"
	"github.com/vigil-rmm/vigil/internal/fdlimit"
	"github.com/vigil-rmm/vigil/internal/logging"
	"github.com/vigil-rmm/vigil/internal/version"
)

const usage = `vigil-controller: the vigil controller.

Usage:
  vigil-controller init --data DIR --admin-config FILE [--api-address HOST:PORT] [--san NAME]...
  vigil-controller run  --data DIR [--config FILE] [--agent-listen ADDR] [--api-listen ADDR] [--retention 240h] [--debug-listen 127.0.0.1:7445]
  vigil-controller ca-pin --data DIR      print the CA pin agents enroll with
  vigil-controller version

Run "vigil-controller COMMAND -h" for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "init":
		err = cmdInit(args[1:], stdout, stderr)
	case "run":
		err = cmdRun(args[1:], stderr)
	case "ca-pin":
		err = cmdPin(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "vigil-controller %s (agent protocol %d)\n", version.String(), version.Protocol)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "vigil-controller: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	return cli.Exit("vigil-controller", err, stderr, nil)
}

// DefaultGCPercent is the controller's GOGC unless the environment sets one.
const DefaultGCPercent = 50

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func cmdInit(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./var/ctl", "data directory to create")
	adminCfg := fs.String("admin-config", "", "write a vigilctl config file for the admin here (required)")
	apiAddr := fs.String("api-address", "127.0.0.1:7444", "API address written into the admin config")
	adminName := fs.String("admin-name", "admin", "name of the first admin principal")
	var sans multiFlag
	fs.Var(&sans, "san", "extra DNS name or IP for the controller certificate (repeatable)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *adminCfg == "" {
		return cli.Usagef("init: --admin-config is required")
	}
	host, _, err := net.SplitHostPort(*apiAddr)
	if err != nil {
		return cli.Usagef("init: --api-address %q is not host:port", *apiAddr)
	}
	hosts := []string{"localhost", "127.0.0.1", "::1", host}
	if h, err := os.Hostname(); err == nil {
		hosts = append(hosts, h)
	}
	hosts = slices.Compact(slices.Sorted(slices.Values(append(hosts, sans...))))
	res, err := server.Init(context.Background(), *data, hosts, *adminName)
	if err != nil {
		return err
	}
	cc := &clientconfig.Config{Controller: *apiAddr, CAPEM: string(res.CAPEM), Token: res.AdminToken, Principal: res.AdminName}
	if err := cc.Save(*adminCfg); err != nil {
		// The admin exists now; do not lose its only copy of the token.
		return fmt.Errorf("write admin config %s: %w\nthe controller is initialised (ca-pin: %s); admin token, shown once: %s",
			*adminCfg, err, res.CAPin, res.AdminToken)
	}
	fmt.Fprintf(stdout, "initialised %s\n", *data)
	fmt.Fprintf(stdout, "ca-pin: %s\n", res.CAPin)
	fmt.Fprintf(stdout, "admin config: %s (principal %q; keep it secret)\n", *adminCfg, res.AdminName)
	return nil
}

func cmdPin(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ca-pin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./var/ctl", "data directory")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(*data, pki.CACertFile))
	if err != nil {
		return fmt.Errorf("read CA certificate: %w (is --data right?)", err)
	}
	cert, err := pki.ParseCertPEM(b)
	if err != nil {
		return fmt.Errorf("%s: %w", pki.CACertFile, err)
	}
	fmt.Fprintf(stdout, "ca-pin: %s\n", pin.Of(cert))
	return nil
}

func cmdRun(args []string, stderr io.Writer) error {
	cfg := server.Default()
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFile := fs.String("config", "", "JSON config file; flags override it")
	data := fs.String("data", cfg.DataDir, "data directory")
	agentListen := fs.String("agent-listen", cfg.AgentListen, "agent listener address (mTLS)")
	apiListen := fs.String("api-listen", cfg.APIListen, "API listener address")
	debugListen := fs.String("debug-listen", "", "serve pprof and /debug/vars on this loopback address (off by default)")
	retention := fs.Duration("retention", time.Duration(cfg.Retention), "metric retention (whole days)")
	shutdown := fs.Duration("shutdown-timeout", time.Duration(cfg.ShutdownTimeout), "graceful stop deadline")
	logLevel := fs.String("log-level", cfg.LogLevel, "debug, info, warn or error")
	logFormat := fs.String("log-format", cfg.LogFormat, "text or json")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *cfgFile != "" {
		if err := cfg.LoadFile(*cfgFile); err != nil {
			return err
		}
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "data":
			cfg.DataDir = *data
		case "agent-listen":
			cfg.AgentListen = *agentListen
		case "api-listen":
			cfg.APIListen = *apiListen
		case "debug-listen":
			cfg.DebugListen = *debugListen
		case "retention":
			cfg.Retention = duration.Duration(*retention)
		case "shutdown-timeout":
			cfg.ShutdownTimeout = duration.Duration(*shutdown)
		case "log-level":
			cfg.LogLevel = *logLevel
		case "log-format":
			cfg.LogFormat = *logFormat
		}
	})
	if err := cfg.Validate(); err != nil {
		return cli.UsageError{Err: err}
	}
	logger, err := logging.New(stderr, logging.Options{Level: cfg.LogLevel, Format: cfg.LogFormat})
	if err != nil {
		return cli.UsageError{Err: err}
	}
	// Tens of thousands of mostly idle streams make a large, slowly
	// changing heap: half the default GC headroom saved 17 KiB per agent
	// at no measurable CPU cost (docs/benchmarks.md). GOGC still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(DefaultGCPercent)
	}
	// One socket per connected agent: ask for room for 200k.
	if lim, err := fdlimit.Raise(200_000); err == nil {
		logger.Info("open-file limit", "limit", lim, "agents_max_approx", lim-64)
	}
	srv, err := server.New(cfg, logger)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return srv.Run(ctx)
}
