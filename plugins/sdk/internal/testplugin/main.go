// Command testplugin is a task-runner plugin for the host's tests. The
// "mode" parameter of Run picks its behaviour:
//
//	ok     emit "n" progress events (default 3) and an ok result
//	hang   block forever, ignoring cancellation
//	crash  emit one progress event, then os.Exit(3)
//	child  start `sleep 300`, emit its pid as a stdout line, block forever
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
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/plugins/sdk"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

type testPlugin struct{}

func (testPlugin) Info(context.Context) (*sdk.InfoResponse, error) {
	return &sdk.InfoResponse{
		Name:    "testplugin",
		Version: "0.0.1",
		Parameters: []*sdk.ParameterSpec{
			{Name: "mode", Type: "string", Required: true, Description: "ok, hang, crash or child"},
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
	p := req.GetParameters()
	switch p["mode"] {
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

func main() {
	sdk.Serve(testPlugin{})
}
