// Package limits holds the size limits of agent reports, shared by the
// agent (which cleans what it queues so it never sends what the controller
// would refuse) and the controller (which enforces them on everything it
// receives). A report that broke them on one side and not the other would
// either be dropped silently every minute or wedge the agent's outbox.
package limits

import (
	"sort"
	"strings"
	"unicode/utf8"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// The limits.
const (
	// MaxMessage is the largest message on the agent stream (gRPC limit).
	MaxMessage = 64 << 10
	// MaxReport is the largest report an agent queues; a larger one is
	// dropped (and logged) on the agent rather than sent.
	MaxReport = 16 << 10
	// MaxVolumes is the number of volumes a metrics report carries; an
	// agent with more reports the largest ones.
	MaxVolumes = 128
	// MaxString bounds names: host, mount point, platform, versions.
	MaxString = 256
	// MaxFSType bounds a filesystem type name.
	MaxFSType = 64
)

// CleanString returns s as valid UTF-8 without control characters (each
// replaced by '?') and at most max bytes, cut at a character boundary.
func CleanString(s string, max int) string {
	clean := true
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			clean = false
			break
		}
	}
	if clean && len(s) <= max {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			r = '?'
		}
		if b.Len()+utf8.RuneLen(r) > max {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// CleanMetrics cleans volume names and keeps at most MaxVolumes volumes,
// the largest ones. It returns how many volumes it dropped.
func CleanMetrics(m *agentv1.Metrics) int {
	for _, v := range m.GetVolumes() {
		v.Mount = CleanString(v.GetMount(), MaxString)
		v.Fstype = CleanString(v.GetFstype(), MaxFSType)
	}
	n := len(m.GetVolumes())
	if n <= MaxVolumes {
		return 0
	}
	sort.SliceStable(m.Volumes, func(i, j int) bool { return m.Volumes[i].GetTotal() > m.Volumes[j].GetTotal() })
	m.Volumes = m.Volumes[:MaxVolumes]
	return n - MaxVolumes
}

// CleanFacts cleans every string of f.
func CleanFacts(f *agentv1.Facts) {
	for _, p := range []*string{&f.Hostname, &f.Os, &f.Platform, &f.PlatformVersion, &f.KernelVersion, &f.Arch, &f.AgentVersion, &f.CpuModel} {
		*p = CleanString(*p, MaxString)
	}
}
