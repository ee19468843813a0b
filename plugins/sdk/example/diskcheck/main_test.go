package main

import (
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/plugins/sdk"
	"github.com/vigil-rmm/vigil/plugins/sdk/sdktest"
)

// newPlugin returns the plugin with free standing in for the OS; nil
// means the real freeSpace.
func newPlugin(free func(string) (uint64, uint64, error)) *Plugin {
	if free == nil {
		free = freeSpace
	}
	return &Plugin{log: slog.New(slog.DiscardHandler), free: free}
}

// fixed is a filesystem with avail of total bytes free.
func fixed(avail, total uint64) func(string) (uint64, uint64, error) {
	return func(string) (uint64, uint64, error) { return avail, total, nil }
}

// lastResult checks that the last event, and only the last, is a result
// and returns it with its detail.
func lastResult(t *testing.T, events []*sdk.RunEvent) (*sdk.RunEvent, Usage) {
	t.Helper()
	if len(events) == 0 || events[len(events)-1].GetResult() == nil {
		t.Fatalf("last event is not a result: %v", events)
	}
	for _, ev := range events[:len(events)-1] {
		if ev.GetResult() != nil {
			t.Fatalf("result before the last event: %v", events)
		}
	}
	last := events[len(events)-1]
	var u Usage
	if err := json.Unmarshal(last.GetResult().GetDetail(), &u); err != nil {
		t.Fatalf("detail %q: %v", last.GetResult().GetDetail(), err)
	}
	return last, u
}

func TestInfo(t *testing.T) {
	info, err := sdktest.Start(t, newPlugin(nil)).Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range info.GetParameters() {
		names = append(names, p.GetName())
	}
	if info.GetName() != Name || info.GetVersion() != Version ||
		!slices.Equal(info.GetCapabilities(), []string{sdk.CapInspect, sdk.CapRun}) ||
		!slices.Equal(names, []string{ParamPath, ParamMinFreePercent}) {
		t.Errorf("Info = %v", info)
	}
}

func TestInspect(t *testing.T) {
	dir := t.TempDir()
	resp, err := sdktest.Start(t, newPlugin(nil)).Inspect(t.Context(), map[string]string{ParamPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	var u Usage
	if err := json.Unmarshal(resp.GetResult(), &u); err != nil {
		t.Fatalf("result %q: %v", resp.GetResult(), err)
	}
	if u.Path != dir || u.TotalBytes == 0 || u.FreeBytes > u.TotalBytes || u.FreePercent < 0 || u.FreePercent > 100 {
		t.Errorf("Inspect result = %+v", u)
	}
	if !strings.HasPrefix(resp.GetSummary(), dir+": ") {
		t.Errorf("summary = %q", resp.GetSummary())
	}
}

func TestInspectDefaultPath(t *testing.T) {
	resp, err := sdktest.Start(t, newPlugin(fixed(25, 100))).Inspect(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := defaultPath + ": 25.0% free"; resp.GetSummary() != want {
		t.Errorf("summary = %q, want %q", resp.GetSummary(), want)
	}
}

func TestRun(t *testing.T) {
	path := t.TempDir()
	tests := []struct {
		name        string
		free        func(string) (uint64, uint64, error)
		params      map[string]string
		wantOK      bool
		wantSummary string
		wantPercent float64
	}{
		{"above the default threshold", fixed(30, 100), nil, true, path + ": 30.0% free, above 10%", 30},
		{"above the threshold", fixed(30, 100), map[string]string{ParamMinFreePercent: "25"}, true, path + ": 30.0% free, above 25%", 30},
		{"at the threshold", fixed(30, 100), map[string]string{ParamMinFreePercent: "30"}, false, path + ": 30.0% free, not above 30%", 30},
		{"below the threshold", fixed(30, 100), map[string]string{ParamMinFreePercent: "50"}, false, path + ": 30.0% free, not above 50%", 30},
		{"full disk", fixed(0, 100), map[string]string{ParamMinFreePercent: "0"}, false, path + ": 0.0% free, not above 0%", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := map[string]string{ParamPath: path}
			maps.Copy(params, tt.params)
			events, err := sdktest.Run(t.Context(), sdktest.Start(t, newPlugin(tt.free)), &sdk.RunRequest{TaskId: "t1", Parameters: params})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			last, u := lastResult(t, events)
			r := last.GetResult()
			if r.GetOk() != tt.wantOK || r.GetSummary() != tt.wantSummary || u.FreePercent != tt.wantPercent || u.Path != path {
				t.Errorf("result = %v, detail %+v", r, u)
			}
			if len(events) != 4 || events[0].GetProgress() == nil || events[1].GetLog().GetLine() == "" || events[2].GetProgress().GetPercent() != 100 {
				t.Errorf("events = %v, want progress, a log line, progress 100, result", events)
			}
		})
	}
}

func TestRunRealDisk(t *testing.T) {
	params := map[string]string{ParamPath: t.TempDir(), ParamMinFreePercent: "0"}
	events, err := sdktest.Run(t.Context(), sdktest.Start(t, newPlugin(nil)), &sdk.RunRequest{TaskId: "t1", Parameters: params})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	last, u := lastResult(t, events)
	if u.TotalBytes == 0 || last.GetResult().GetOk() != (u.FreePercent > 0) {
		t.Errorf("result = %v, detail %+v", last.GetResult(), u)
	}
}

func TestRunUnreadable(t *testing.T) {
	broken := func(string) (uint64, uint64, error) { return 0, 0, errors.New("no such volume") }
	params := map[string]string{ParamPath: t.TempDir()}
	events, err := sdktest.Run(t.Context(), sdktest.Start(t, newPlugin(broken)), &sdk.RunRequest{Parameters: params})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	last, u := lastResult(t, events)
	if last.GetResult().GetOk() || !strings.Contains(u.Error, "no such volume") {
		t.Errorf("result = %v, detail %+v", last.GetResult(), u)
	}
}

func TestInvalidParams(t *testing.T) {
	abs := t.TempDir()
	tests := []struct {
		name      string
		params    map[string]string
		wantParam string
	}{
		{"relative path", map[string]string{ParamPath: "var/log"}, ParamPath},
		{"empty path", map[string]string{ParamPath: ""}, ParamPath},
		{"not a number", map[string]string{ParamPath: abs, ParamMinFreePercent: "ten"}, ParamMinFreePercent},
		{"negative", map[string]string{ParamMinFreePercent: "-1"}, ParamMinFreePercent},
		{"over 100", map[string]string{ParamMinFreePercent: "101"}, ParamMinFreePercent},
		{"unknown", map[string]string{ParamPath: abs, "mount": "/"}, "mount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sdktest.Start(t, newPlugin(fixed(50, 100)))
			_, inspectErr := c.Inspect(t.Context(), tt.params)
			events, runErr := sdktest.Run(t.Context(), c, &sdk.RunRequest{Parameters: tt.params})
			for _, err := range []error{inspectErr, runErr} {
				st := status.Convert(err)
				if st.Code() != codes.InvalidArgument || !strings.HasPrefix(st.Message(), "parameter "+tt.wantParam+": ") {
					t.Errorf("err = %v, want InvalidArgument naming %s", err, tt.wantParam)
				}
			}
			if len(events) != 0 {
				t.Errorf("Run emitted %v before refusing its parameters", events)
			}
		})
	}
}
