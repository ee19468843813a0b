package sdk

import (
	"context"

	"github.com/hashicorp/go-plugin"

	pluginv1 "github.com/vigil-rmm/vigil/proto/vigil/plugin/v1"
)

// ProtocolVersion is the version of this contract. Bump it on an
// incompatible change; the host and the plugin must agree.
const ProtocolVersion = 1

// Handshake is the go-plugin handshake both sides use. The magic cookie is
// a UX feature (it stops a plugin run by hand), not a security measure.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "VIGIL_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "7d4c1f0e9b2a4f6c8e3d5a7b9c1e2f40",
}

// PluginName is the name under which a plugin is dispensed.
const PluginName = "task"

// Capability names reported in InfoResponse.Capabilities.
const (
	// CapInspect is reported by plugins that implement Inspector.
	CapInspect = "inspect"
	// CapRun is reported by plugins that implement Runner.
	CapRun = "run"
	// CapDowntime is listed by a plugin itself when its tasks may
	// interrupt service (a reboot, updates that may need one): the agent
	// then runs it only from a task marked downtime, which needs a client
	// approver's signature.
	CapDowntime = "downtime"
)

// Wire types, re-exported so a plugin needs only this package.
type (
	// InfoResponse describes a plugin.
	InfoResponse = pluginv1.InfoResponse
	// ParameterSpec describes one parameter.
	ParameterSpec = pluginv1.ParameterSpec
	// InspectResponse is what Inspect found.
	InspectResponse = pluginv1.InspectResponse
	// RunRequest asks for a task.
	RunRequest = pluginv1.RunRequest
	// RunEvent is one event of a running task.
	RunEvent = pluginv1.RunEvent
)

// Plugin is what every plugin implements.
type Plugin interface {
	// Info describes the plugin. The adapter fills in Capabilities from the
	// interfaces the plugin implements.
	Info(ctx context.Context) (*InfoResponse, error)
}

// Inspector is the optional capability to read state without changing it.
type Inspector interface {
	// Inspect reads state according to params.
	Inspect(ctx context.Context, params map[string]string) (*InspectResponse, error)
}

// Runner is the optional capability to perform a task.
type Runner interface {
	// Run performs req, reporting through emit; the last event should be a
	// result. Run must stop when ctx is cancelled and when emit fails.
	Run(ctx context.Context, req *RunRequest, emit func(*RunEvent) error) error
}

// PluginMap is the go-plugin plugin set. The plugin side passes its
// implementation; the host passes nil.
func PluginMap(p Plugin) plugin.PluginSet {
	return plugin.PluginSet{PluginName: &GRPCPlugin{Impl: p}}
}

// Progress returns a progress event; percent is 0..100 or -1 if unknown.
func Progress(percent int32, msg string) *RunEvent {
	return &RunEvent{Event: &pluginv1.RunEvent_Progress{Progress: &pluginv1.Progress{Percent: percent, Message: msg}}}
}

// Stdout returns a log event for one line of standard output.
func Stdout(line string) *RunEvent {
	return &RunEvent{Event: &pluginv1.RunEvent_Log{Log: &pluginv1.Log{Stream: pluginv1.Log_STREAM_STDOUT, Line: line}}}
}

// Stderr returns a log event for one line of standard error.
func Stderr(line string) *RunEvent {
	return &RunEvent{Event: &pluginv1.RunEvent_Log{Log: &pluginv1.Log{Stream: pluginv1.Log_STREAM_STDERR, Line: line}}}
}

// Result returns the final event of a task.
func Result(ok bool, exitCode int32, summary string, detail []byte) *RunEvent {
	return &RunEvent{Event: &pluginv1.RunEvent_Result{Result: &pluginv1.Result{Ok: ok, ExitCode: exitCode, Summary: summary, Detail: detail}}}
}
