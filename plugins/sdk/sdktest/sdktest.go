// Package sdktest lets a plugin author test a plugin in-process over real
// gRPC, through the same go-plugin glue and adapters the agent uses.
package sdktest

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/plugins/sdk"
)

// Start serves p over a real gRPC connection and returns the host-side
// client (it implements sdk.Plugin, sdk.Inspector and sdk.Runner). The
// connection and server are closed when the test ends.
func Start(t testing.TB, p sdk.Plugin) *sdk.Client {
	t.Helper()
	// Closing the client shuts the server down through go-plugin's
	// controller service; stopping the server as well races inside
	// go-plugin, so the server is left to that shutdown.
	client, _ := plugin.TestPluginGRPCConn(t, false, sdk.PluginMap(p))
	t.Cleanup(func() { _ = client.Close() })
	raw, err := client.Dispense(sdk.PluginName)
	if err != nil {
		t.Fatalf("dispense: %v", err)
	}
	c, ok := raw.(*sdk.Client)
	if !ok {
		t.Fatalf("dispense: got %T, want *sdk.Client", raw)
	}
	return c
}

// Run calls r.Run and collects every event it emits.
func Run(ctx context.Context, r sdk.Runner, req *sdk.RunRequest) ([]*sdk.RunEvent, error) {
	var events []*sdk.RunEvent
	err := r.Run(ctx, req, func(ev *sdk.RunEvent) error {
		events = append(events, ev)
		return nil
	})
	return events, err
}

// WantInvalidParam runs r with params and fails t unless the call fails as
// sdk.InvalidParam makes it for the parameter name (InvalidArgument,
// "parameter NAME: ...") before any event is emitted.
func WantInvalidParam(t testing.TB, r sdk.Runner, params map[string]string, name string) {
	t.Helper()
	events, err := Run(t.Context(), r, &sdk.RunRequest{Parameters: params})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "parameter "+name+":") || len(events) != 0 {
		t.Errorf("err = %v, events %v; want InvalidArgument naming %s", err, events, name)
	}
}
