// Package pluginv1 is the generated Go code for vigil.plugin.v1, the wire
// contract between vigil-agent and its task-runner plugins (plugin.proto),
// carried by hashicorp/go-plugin over gRPC.
package pluginv1
