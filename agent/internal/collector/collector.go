// Package collector gathers the agent's health figures. Each source is a
// sub-package (cpu, memory, load, disk, host) implementing Collector; the
// registry in registry.go is the one list of them, and a Set built from a
// Config runs the enabled ones, each under its own timeout, so that a slow
// or failing source never costs the others their figures.
//
// Adding a collector: write the sub-package (Name, Config, DefaultConfig,
// New, Collect filling only its own Sample fields), add its Config to
// Config and Default, and add one line to registry.
package collector

import (
	"context"

	"github.com/vigil-rmm/vigil/agent/internal/collector/sample"
)

// Collector fills its part of a Sample.
//
// Collect must honour ctx and never panic. It fills only its own fields of s
// (whose Metrics and Facts are non-nil), fills what it can when part of its
// source fails, and returns the failures; errors need not name the
// collector, the Set adds the name.
type Collector interface {
	Name() string
	Collect(ctx context.Context, s *Sample) error
}

// Sample is one round of collection: Metrics are the live figures, Facts the
// static ones (AgentVersion is filled by the caller). It is defined in the
// leaf package sample so that collectors can implement Collector without an
// import cycle.
type Sample = sample.Sample
