// Command testplugin is a task-runner plugin for the host's tests. The
// "mode" parameter of Run picks its behaviour:
//
//	ok     emit "n" progress events (default 3) and an ok result
//	hang   block forever, ignoring cancellation
//	crash  emit one progress event, then os.Exit(3)
//	child  start `sleep 300`, emit its pid as a stdout line, block forever
//	fail   emit a stderr line and a failed result (exit code 2)
//	lines  emit "n" output lines (default 10) of "size" bytes (default 16),
//	       odd ones on stderr, "sleep_ms" apart, then an ok result
//	reboot an ok result whose detail is {"rebooting":true}
//	none   return without a result
//
// The binary's name changes what Info declares, so one build can stand for
// several plugins in a manifest: a name starting with "downtime" or equal
// to "reboot" adds the "downtime" capability; one starting with
// "inspectonly" serves no Run at all.
//
// For tests that count processes, VIGIL_TESTPLUGIN_STARTS names a file to
// which each process appends "<name>\n" when it starts, and
// VIGIL_TESTPLUGIN_RUNS one to which each Run appends "<name> <task id>\n",
// and VIGIL_TESTPLUGIN_PIDS one to which each process appends its pid.
//
// Inspect's "mode" parameter likewise: unset echoes the "echo" parameter,
// "hang" blocks forever, "crash" exits 3, and "patches" returns a
// vigil.agent.v1.PatchScan with "n" pending updates (default 2).
package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/plugins/sdk"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

type testPlugin struct{}

// name is the binary's name, without .exe.
func name() string {
	return strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe")
}

// record appends line to the file named by the environment variable env.
func record(env, line string) {
	path := os.Getenv(env)
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	_, _ = f.WriteString(line + "\n")
	_ = f.Sync()
	_ = f.Close()
}

func (testPlugin) Info(context.Context) (*sdk.InfoResponse, error) {
	var caps []string
	if n := name(); n == "reboot" || strings.HasPrefix(n, "downtime") {
		caps = append(caps, "downtime")
	}
	return &sdk.InfoResponse{
		Name:         "testplugin",
		Version:      "0.0.1",
		Capabilities: caps,
		Parameters: []*sdk.ParameterSpec{
			{Name: "mode", Type: "string", Required: true, Description: "ok, hang, crash, child, fail, lines, reboot or none"},
			{Name: "n", Type: "int", Description: "progress events in ok mode"},
		},
	}, nil
}

func (testPlugin) Inspect(_ context.Context, params map[string]string) (*sdk.InspectResponse, error) {
	switch params["mode"] {
	case "hang":
		select {}
	case "crash":
		os.Exit(3)
	case "patches":
		n, err := strconv.Atoi(cmp.Or(params["n"], "2"))
		if err != nil {
			return nil, fmt.Errorf("parameter n: %w", err)
		}
		scan := &agentv1.PatchScan{Source: "testplugin", Status: agentv1.ScanStatus_SCAN_STATUS_OK}
		for i := range n {
			scan.Pending = append(scan.Pending, &agentv1.PendingUpdate{Id: fmt.Sprintf("pkg%d", i), Package: fmt.Sprintf("pkg%d", i),
				Title: fmt.Sprintf("pkg%d 1.0 -> 2.0", i), Classification: agentv1.Classification_CLASSIFICATION_SECURITY,
				CurrentVersion: "1.0", AvailableVersion: "2.0"})
		}
		b, err := proto.Marshal(scan)
		if err != nil {
			return nil, err
		}
		return &sdk.InspectResponse{Result: b, Summary: fmt.Sprintf("%d pending", n)}, nil
	}
	return &sdk.InspectResponse{Result: []byte(`{"pid":` + strconv.Itoa(os.Getpid()) + `}`), Summary: "echo " + params["echo"]}, nil
}

func (testPlugin) Run(ctx context.Context, req *sdk.RunRequest, emit func(*sdk.RunEvent) error) error {
	record("VIGIL_TESTPLUGIN_RUNS", name()+" "+req.GetTaskId())
	p := req.GetParameters()
	switch p["mode"] {
	case "fail":
		if err := emit(sdk.Stderr("something went wrong")); err != nil {
			return err
		}
		return emit(sdk.Result(false, 2, "failed on purpose", []byte(`{"why":"asked to"}`)))
	case "lines":
		n, err := strconv.Atoi(cmp.Or(p["n"], "10"))
		if err != nil {
			return fmt.Errorf("parameter n: %w", err)
		}
		size, err := strconv.Atoi(cmp.Or(p["size"], "16"))
		if err != nil {
			return fmt.Errorf("parameter size: %w", err)
		}
		sleep, err := strconv.Atoi(cmp.Or(p["sleep_ms"], "0"))
		if err != nil {
			return fmt.Errorf("parameter sleep_ms: %w", err)
		}
		for i := range n {
			line := fmt.Sprintf("line %d ", i)
			line += strings.Repeat("x", max(0, size-len(line)))
			ev := sdk.Stdout(line)
			if i%2 == 1 {
				ev = sdk.Stderr(line)
			}
			if err := emit(ev); err != nil {
				return err
			}
			if sleep > 0 {
				time.Sleep(time.Duration(sleep) * time.Millisecond)
			}
		}
		return emit(sdk.Result(true, 0, fmt.Sprintf("%d lines", n), nil))
	case "reboot":
		return emit(sdk.Result(true, 0, "reboot scheduled", []byte(`{"rebooting":true}`)))
	case "none":
		return nil
	case "ok":
		n := 3
		if s, ok := p["n"]; ok {
			v, err := strconv.Atoi(s)
			if err != nil {
				return fmt.Errorf("parameter n: %w", err)
			}
			n = v
		}
		for i := 1; i <= n; i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := emit(sdk.Progress(int32(i*100/n), fmt.Sprintf("step %d", i))); err != nil {
				return err
			}
		}
		return emit(sdk.Result(true, 0, "done "+req.GetTaskId(), nil))
	case "hang":
		select {}
	case "crash":
		if err := emit(sdk.Progress(10, "about to crash")); err != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond) // let the event reach the host
		os.Exit(3)
	case "child":
		cmd := exec.Command("sleep", "300")
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start child: %w", err)
		}
		if err := emit(sdk.Stdout("child-pid=" + strconv.Itoa(cmd.Process.Pid))); err != nil {
			return err
		}
		select {}
	}
	return fmt.Errorf("unknown mode %q", p["mode"])
}

// inspectOnly serves Info and Inspect only.
type inspectOnly struct{ t testPlugin }

func (i inspectOnly) Info(ctx context.Context) (*sdk.InfoResponse, error) { return i.t.Info(ctx) }
func (i inspectOnly) Inspect(ctx context.Context, params map[string]string) (*sdk.InspectResponse, error) {
	return i.t.Inspect(ctx, params)
}

func main() {
	record("VIGIL_TESTPLUGIN_STARTS", name())
	record("VIGIL_TESTPLUGIN_PIDS", strconv.Itoa(os.Getpid()))
	if strings.HasPrefix(name(), "inspectonly") {
		sdk.Serve(inspectOnly{})
		return
	}
	sdk.Serve(testPlugin{})
}
