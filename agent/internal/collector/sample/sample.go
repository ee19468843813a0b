// Package sample holds Sample, the one round of figures every collector
// fills. It is a leaf so that the collector sub-packages can implement
// collector.Collector without importing the package that registers them;
// collector.Sample is an alias of sample.Sample.
package sample

import agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"

// Sample is one round of collection. Each collector fills only its own
// fields, so partial samples from several collectors merge without conflict.
type Sample struct {
	// Metrics are the live figures, taken every interval.
	Metrics *agentv1.Metrics
	// Facts are the host's static facts. AgentVersion is left to the caller.
	Facts *agentv1.Facts
}

// New returns an empty Sample whose Metrics and Facts are allocated, which
// is what every Collect expects.
func New() *Sample {
	return &Sample{Metrics: &agentv1.Metrics{}, Facts: &agentv1.Facts{}}
}
