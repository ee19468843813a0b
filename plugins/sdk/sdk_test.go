package sdk_test

import (
	"context"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/plugins/sdk"
	"github.com/vigil-rmm/vigil/plugins/sdk/sdktest"
)

type infoOnly struct{}

func (infoOnly) Info(context.Context) (*sdk.InfoResponse, error) {
	return &sdk.InfoResponse{Name: "info-only", Version: "1.0.0"}, nil
}

type full struct{ infoOnly }

func (full) Inspect(_ context.Context, params map[string]string) (*sdk.InspectResponse, error) {
	return &sdk.InspectResponse{Summary: "hello " + params["who"]}, nil
}

func (full) Run(ctx context.Context, req *sdk.RunRequest, emit func(*sdk.RunEvent) error) error {
	for i := range 3 {
		if err := emit(sdk.Progress(int32(i*50), "step")); err != nil {
			return err
		}
	}
	if err := emit(sdk.Stderr("warning")); err != nil {
		return err
	}
	return emit(sdk.Result(true, 0, req.GetTaskId(), nil))
}

func TestCapabilitiesMissing(t *testing.T) {
	c := sdktest.Start(t, infoOnly{})
	ctx := t.Context()
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if info.GetName() != "info-only" || len(info.GetCapabilities()) != 0 {
		t.Fatalf("Info = %v", info)
	}
	if _, err := c.Inspect(ctx, nil); status.Code(err) != codes.Unimplemented {
		t.Fatalf("Inspect err = %v, want Unimplemented", err)
	}
	_, err = sdktest.Run(ctx, c, &sdk.RunRequest{})
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("Run err = %v, want Unimplemented", err)
	}
}

func TestFullPlugin(t *testing.T) {
	c := sdktest.Start(t, full{})
	ctx := t.Context()
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if !slices.Equal(info.GetCapabilities(), []string{sdk.CapInspect, sdk.CapRun}) {
		t.Fatalf("capabilities = %v", info.GetCapabilities())
	}
	ir, err := c.Inspect(ctx, map[string]string{"who": "world"})
	if err != nil || ir.GetSummary() != "hello world" {
		t.Fatalf("Inspect = %v, %v", ir, err)
	}
	events, err := sdktest.Run(ctx, c, &sdk.RunRequest{TaskId: "t1"})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(events) != 5 {
		t.Fatalf("got %d events, want 5: %v", len(events), events)
	}
	if r := events[4].GetResult(); !r.GetOk() || r.GetSummary() != "t1" {
		t.Fatalf("result = %v", r)
	}
}

func TestRunStopsWhenEmitFails(t *testing.T) {
	c := sdktest.Start(t, full{})
	stop := context.Canceled
	n := 0
	err := c.Run(t.Context(), &sdk.RunRequest{}, func(*sdk.RunEvent) error {
		n++
		return stop
	})
	if err != stop || n != 1 {
		t.Fatalf("Run = %v after %d events, want %v after 1", err, n, stop)
	}
}
