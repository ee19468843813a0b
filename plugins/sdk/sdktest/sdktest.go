// Package sdktest lets a plugin author test a plugin in-process over real
// gRPC, through the same go-plugin glue and adapters the agent uses.
package sdktest

import (
	"context"
	"testing"

	"github.com/hashicorp/go-plugin"

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
