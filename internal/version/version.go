// Package version reports the build's version and the agent protocol
// version that agent and controller exchange in Hello/Welcome.
package version

import "runtime/debug"

// Version is the release version, set at build time with
// -ldflags "-X github.com/vigil-rmm/vigil/internal/version.Version=v1.2.3".
var Version = "dev"

// Protocol is the highest agent protocol version this build speaks.
//
// History:
//
//	1: Hello/Welcome, cumulative Ack, reports (metrics, facts, outbox status).
//	2: patch scans, reboot state, inventory and state digests; ScanRequest
//	   (capability "scan-request").
//	3: Hello.tier; signed tasks (TaskOffer, TaskCancel; capability "tasks"),
//	   task updates and the plugin list.
const Protocol uint32 = 3

// String returns the version with the VCS revision when the build has one.
func String() string {
	if Version != "dev" {
		return Version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return Version
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return Version + "+" + s.Value[:12]
		}
	}
	return Version
}

// Capabilities an agent announces in Hello and the controller in Welcome.
// They are part of the wire contract: the controller sends a request only
// to an agent that announced the capability it needs.
const (
	CapMetrics      = "metrics"
	CapFacts        = "facts"
	CapOutboxStatus = "outbox-status"
	CapPatches      = "patches"
	CapReboot       = "reboot"
	CapInventory    = "inventory"
	CapScanRequest  = "scan-request"
	CapTasks        = "tasks"
	// CapChecks: the agent runs network checks as a vantage point
	// (CheckRun, answered by a CheckRunResult report). An agent announces
	// it only while its local config allows vantage checks.
	CapChecks = "checks"
)
