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

	"google.golang.org/protobuf/reflect/protoreflect"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// The limits.
const (
	// MaxMessage is the largest message on the agent stream (gRPC limit).
	// It is above MaxStateReport so that a report somewhat over the limit
	// is refused by validation (and its sequence committed) rather than
	// by gRPC, which would end the stream and wedge the agent's outbox.
	MaxMessage = 1<<20 + 4<<10
	// MaxReport is the largest metrics report an agent queues; a larger one
	// is dropped (and logged) on the agent rather than sent.
	MaxReport = 16 << 10
	// MaxStateReport is the largest patch, reboot or inventory report
	// body. The controller stores each in one record with a little more
	// (first-seen times), and a record must stay under the store's 1 MiB.
	// The agent trims an inventory's software list to fit (and says so); a
	// patch scan over it is reported as failed ("too_large").
	MaxStateReport = 768 << 10
	// MaxUpdates bounds each update list of a patch scan.
	MaxUpdates = 4096
	// MaxSoftware bounds an inventory's software list.
	MaxSoftware = 16384
	// MaxItems bounds the other lists: reboot signals, processors, memory
	// modules, disks, advisories per update, inventory errors.
	MaxItems = 256
	// MaxText bounds titles, error messages and details.
	MaxText = 1024
	// MaxTaskOutputLines bounds the output lines of one task update; the
	// agent flushes a batch long before (100 lines or 64 KiB).
	MaxTaskOutputLines = 1000
	// MaxTaskOutputLine bounds one output line; the agent cuts longer ones.
	MaxTaskOutputLine = 4 << 10
	// MaxTaskDetail bounds a task result's detail (JSON).
	MaxTaskDetail = 64 << 10
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

// CleanPatchScan cleans every string of s and trims its lists to the
// limits. It returns how many list entries it dropped. Like the other
// Clean functions for state reports, it also sets enum values the schema
// does not define to zero and drops unknown fields, so that a report
// from a newer plugin still passes the controller's check.
func CleanPatchScan(s *agentv1.PatchScan) int {
	normalize(s.ProtoReflect())
	s.Source = CleanString(s.GetSource(), MaxString)
	s.ErrorCode = CleanString(s.GetErrorCode(), MaxString)
	s.ErrorMessage = CleanString(s.GetErrorMessage(), MaxText)
	s.RequestId = CleanString(s.GetRequestId(), MaxString)
	dropped := 0
	s.Pending, dropped = trim(s.Pending, MaxUpdates, dropped)
	s.InstalledAwaitingReboot, dropped = trim(s.InstalledAwaitingReboot, MaxUpdates, dropped)
	for _, lists := range [][]*agentv1.PendingUpdate{s.Pending, s.InstalledAwaitingReboot} {
		for _, u := range lists {
			for _, p := range []*string{&u.Id, &u.Kb, &u.Package, &u.CurrentVersion, &u.AvailableVersion, &u.Origin} {
				*p = CleanString(*p, MaxString)
			}
			u.Title = CleanString(u.GetTitle(), MaxText)
			u.Advisories, dropped = trim(u.Advisories, MaxItems, dropped)
			for i, a := range u.Advisories {
				u.Advisories[i] = CleanString(a, MaxString)
			}
		}
	}
	return dropped
}

// CleanReboot cleans every string of r and trims its signals.
func CleanReboot(r *agentv1.RebootState) int {
	normalize(r.ProtoReflect())
	r.RequestId = CleanString(r.GetRequestId(), MaxString)
	var dropped int
	r.Signals, dropped = trim(r.Signals, MaxItems, 0)
	for _, s := range r.Signals {
		s.Name = CleanString(s.GetName(), MaxString)
		s.Detail = CleanString(s.GetDetail(), MaxText)
	}
	return dropped
}

// CleanInventory cleans every string of inv and trims its lists.
func CleanInventory(inv *agentv1.Inventory) int {
	normalize(inv.ProtoReflect())
	inv.SoftwareSource = CleanString(inv.GetSoftwareSource(), MaxString)
	inv.RequestId = CleanString(inv.GetRequestId(), MaxString)
	dropped := 0
	inv.Errors, dropped = trim(inv.Errors, MaxItems, dropped)
	for i, e := range inv.Errors {
		inv.Errors[i] = CleanString(e, MaxText)
	}
	inv.Software, dropped = trim(inv.Software, MaxSoftware, dropped)
	for _, sw := range inv.Software {
		for _, p := range []*string{&sw.Name, &sw.Version, &sw.Arch, &sw.Publisher} {
			*p = CleanString(*p, MaxString)
		}
	}
	if hw := inv.GetHardware(); hw != nil {
		for _, p := range []*string{&hw.Manufacturer, &hw.Model, &hw.SerialNumber, &hw.BiosVendor, &hw.BiosVersion, &hw.OsName, &hw.OsVersion} {
			*p = CleanString(*p, MaxString)
		}
		hw.Processors, dropped = trim(hw.Processors, MaxItems, dropped)
		for _, c := range hw.Processors {
			c.Model = CleanString(c.GetModel(), MaxString)
		}
		hw.MemoryModules, dropped = trim(hw.MemoryModules, MaxItems, dropped)
		for _, m := range hw.MemoryModules {
			for _, p := range []*string{&m.Slot, &m.Manufacturer, &m.PartNumber} {
				*p = CleanString(*p, MaxString)
			}
		}
		hw.Disks, dropped = trim(hw.Disks, MaxItems, dropped)
		for _, d := range hw.Disks {
			for _, p := range []*string{&d.Name, &d.Model, &d.SerialNumber, &d.Interface} {
				*p = CleanString(*p, MaxString)
			}
		}
	}
	return dropped
}

// normalize drops unknown fields and zeroes undefined enum values, all
// through m.
func normalize(m protoreflect.Message) {
	if len(m.GetUnknown()) > 0 {
		m.SetUnknown(nil)
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Kind() == protoreflect.EnumKind && fd.IsList():
			l := v.List()
			for i := range l.Len() {
				if fd.Enum().Values().ByNumber(l.Get(i).Enum()) == nil {
					l.Set(i, protoreflect.ValueOfEnum(0))
				}
			}
		case fd.Kind() == protoreflect.EnumKind:
			if fd.Enum().Values().ByNumber(v.Enum()) == nil {
				m.Clear(fd)
			}
		case fd.Kind() == protoreflect.MessageKind && fd.IsList():
			l := v.List()
			for i := range l.Len() {
				normalize(l.Get(i).Message())
			}
		case fd.Kind() == protoreflect.MessageKind && !fd.IsMap():
			normalize(v.Message())
		}
		return true
	})
}

func trim[T any](s []T, max, dropped int) ([]T, int) {
	if len(s) <= max {
		return s, dropped
	}
	return s[:max], dropped + len(s) - max
}
