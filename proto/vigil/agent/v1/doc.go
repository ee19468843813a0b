// Package agentv1 is the generated Go code for vigil.agent.v1, the wire
// contract between vigil-agent and vigil-controller (agent.proto).
package agentv1
