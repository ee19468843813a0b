// Package agentapi serves vigil.agent.v1.AgentService: Enroll, the one
// unauthenticated call, and Connect, each agent's long-lived mTLS stream.
//
// Connect takes the agent's identity from its verified client certificate,
// exchanges Hello/Welcome (protocol version and the agent's committed
// sequence), hands reports to the ingest writer and acknowledges them only
// once committed. It records the tier and boot time Hello announced and
// tells the task engine the agent is online; offers and cancels the engine
// queues in the fleet go out on the same stream. Revoking an agent cancels
// its stream through the fleet.
package agentapi
