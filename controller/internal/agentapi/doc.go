// Package agentapi serves vigil.agent.v1.AgentService: Enroll, the one
// unauthenticated call, and Connect, each agent's long-lived mTLS stream.
//
// Connect takes the agent's identity from its verified client certificate,
// exchanges Hello/Welcome (protocol version and the agent's committed
// sequence), hands reports to the ingest writer and acknowledges them only
// once committed. Revoking an agent cancels its stream through the fleet.
package agentapi
