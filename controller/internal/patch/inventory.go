package patch

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Change kinds, the values of managev1.InventoryChange.Kind.
var (
	changeInstalled  = int32(managev1.InventoryChange_KIND_INSTALLED)
	changeRemoved    = int32(managev1.InventoryChange_KIND_REMOVED)
	changeUpgraded   = int32(managev1.InventoryChange_KIND_UPGRADED)
	changeDowngraded = int32(managev1.InventoryChange_KIND_DOWNGRADED)
	changeHardware   = int32(managev1.InventoryChange_KIND_HARDWARE)
)

// ApplyInventory stores a full inventory the agent took at timeMS and
// records what changed since the previous one (nothing for the first).
func ApplyInventory(tx store.Tx, agentID string, timeMS int64, inv *agentv1.Inventory, opts Options) (Outcome, error) {
	opts = opts.withDefaults()
	out := Outcome{Kind: agentv1.StateKind_STATE_KIND_INVENTORY, RequestID: inv.GetRequestId()}
	if inv == nil {
		inv = &agentv1.Inventory{}
	}
	prev, err := schema.GetInventoryRecord(tx, agentID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		prev = nil
	case err != nil:
		return out, err
	}
	rec := &storev1.InventoryRecord{Inventory: inv, ReportedUnixMs: timeMS, CheckedUnixMs: timeMS}
	if err := schema.PutInventoryRecord(tx, agentID, rec); err != nil {
		return out, err
	}
	if prev != nil {
		changes := capHistory(Diff(prev.GetInventory(), inv, timeMS/1000), &out)
		if len(changes) > 0 {
			if _, err := schema.AppendInventoryChanges(tx, agentID, changes); err != nil {
				return out, err
			}
			if _, err := schema.DeleteInventoryChangesBefore(tx, agentID, opts.cutoff()); err != nil {
				return out, err
			}
		}
	}
	out.Applied = true
	return out, nil
}

// Diff returns the changes from old to cur, stamped at unix: software
// first (sorted by name, arch), then hardware fields. A section that one
// side could not read (empty, with errors reported) is not compared, nor is
// a software list either side marks incomplete: a partial list would show
// every missing program as removed, then installed again.
func Diff(old, cur *agentv1.Inventory, unix int64) []*storev1.InventoryChange {
	var out []*storev1.InventoryChange
	if readable(len(old.GetSoftware()) > 0, old) && readable(len(cur.GetSoftware()) > 0, cur) &&
		!old.GetSoftwareIncomplete() && !cur.GetSoftwareIncomplete() {
		out = diffSoftware(old.GetSoftware(), cur.GetSoftware(), unix)
	}
	ho, hc := hardwareFields(old.GetHardware()), hardwareFields(cur.GetHardware())
	for i := range ho {
		o, c := ho[i].value, hc[i].value
		if o == c || !readable(o != "", old) || !readable(c != "", cur) {
			continue
		}
		out = append(out, &storev1.InventoryChange{TimeUnix: unix, Kind: changeHardware, Name: ho[i].name, OldVersion: o, NewVersion: c})
	}
	return out
}

// readable reports whether a section can be compared: it has content, or
// the inventory reports no failed source that could explain its absence.
func readable(hasContent bool, inv *agentv1.Inventory) bool {
	return hasContent || len(inv.GetErrors()) == 0
}

type swKey struct{ name, arch string }

// diffSoftware compares two lists by name and arch. One name and arch can
// be installed in several versions (Windows lists side-by-side runtimes);
// versions in both lists are unchanged, the rest are paired in version
// order as upgrades or downgrades, and what is left over was installed or
// removed.
func diffSoftware(old, cur []*agentv1.Software, unix int64) []*storev1.InventoryChange {
	ov, cv := versionsByKey(old), versionsByKey(cur)
	keys := make([]swKey, 0, len(ov)+len(cv))
	for k := range ov {
		keys = append(keys, k)
	}
	for k := range cv {
		if _, ok := ov[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b swKey) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.arch, b.arch)
	})
	var out []*storev1.InventoryChange
	for _, k := range keys {
		gone, came := minus(ov[k], cv[k]), minus(cv[k], ov[k])
		for i := 0; i < len(gone) || i < len(came); i++ {
			ch := &storev1.InventoryChange{TimeUnix: unix, Name: k.name, Arch: k.arch}
			switch {
			case i >= len(came):
				ch.Kind, ch.OldVersion = changeRemoved, gone[i]
			case i >= len(gone):
				ch.Kind, ch.NewVersion = changeInstalled, came[i]
			default:
				ch.Kind, ch.OldVersion, ch.NewVersion = versionChange(gone[i], came[i]), gone[i], came[i]
			}
			out = append(out, ch)
		}
	}
	return out
}

func versionsByKey(list []*agentv1.Software) map[swKey][]string {
	m := map[swKey][]string{}
	for _, s := range list {
		if s == nil {
			continue
		}
		k := swKey{s.GetName(), s.GetArch()}
		m[k] = append(m[k], s.GetVersion())
	}
	for _, vs := range m {
		slices.SortFunc(vs, compareOrdered)
	}
	return m
}

// minus returns the versions of a not matched one for one by b's; both are
// sorted, and so is the result.
func minus(a, b []string) []string {
	left := map[string]int{}
	for _, v := range b {
		left[v]++
	}
	var out []string
	for _, v := range a {
		if left[v] > 0 {
			left[v]--
			continue
		}
		out = append(out, v)
	}
	return out
}

// versionChange classifies a version change; see the package comment.
func versionChange(old, cur string) int32 {
	if c, ok := compareVersions(old, cur); ok && c > 0 {
		return changeDowngraded
	}
	return changeUpgraded
}

// compareOrdered sorts versions comparably where possible and by bytes
// otherwise, so pairing is deterministic.
func compareOrdered(a, b string) int {
	if c, ok := compareVersions(a, b); ok && c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// compareVersions compares two versions made only of dot-separated
// decimal numbers, number by number; a version that is a prefix of the
// other is lower. ok is false when either is not of that form.
func compareVersions(a, b string) (c int, ok bool) {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	if !numeric(as) || !numeric(bs) {
		return 0, false
	}
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, y := strings.TrimLeft(as[i], "0"), strings.TrimLeft(bs[i], "0")
		if c := len(x) - len(y); c != 0 {
			return sign(c), true
		}
		if c := strings.Compare(x, y); c != 0 {
			return c, true
		}
	}
	return sign(len(as) - len(bs)), true
}

func numeric(parts []string) bool {
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

type hwField struct{ name, value string }

// hardwareFields lists the compared hardware fields in a fixed order, each
// as the string a change records. Lists are sorted so that a different
// enumeration order is not a change.
func hardwareFields(h *agentv1.Hardware) []hwField {
	var procs []string
	for _, p := range h.GetProcessors() {
		if p.GetModel() != "" {
			procs = append(procs, p.GetModel())
		}
	}
	slices.Sort(procs)
	var disks []string
	for _, d := range h.GetDisks() {
		if d == nil {
			continue
		}
		s := strings.TrimSpace(d.GetName() + " " + d.GetModel())
		if d.GetSerialNumber() != "" {
			s += " serial " + d.GetSerialNumber()
		}
		if d.GetSizeBytes() > 0 {
			s += " " + strconv.FormatUint(d.GetSizeBytes(), 10) + " bytes"
		}
		disks = append(disks, s)
	}
	slices.Sort(disks)
	var mem string
	if h.GetMemoryTotalBytes() > 0 {
		mem = fmt.Sprintf("%d", h.GetMemoryTotalBytes())
	}
	return []hwField{
		{"manufacturer", h.GetManufacturer()},
		{"model", h.GetModel()},
		{"serial_number", h.GetSerialNumber()},
		{"bios_vendor", h.GetBiosVendor()},
		{"bios_version", h.GetBiosVersion()},
		{"memory_total_bytes", mem},
		{"processors", strings.Join(procs, "; ")},
		{"disks", strings.Join(disks, "; ")},
		{"os_name", h.GetOsName()},
		{"os_version", h.GetOsVersion()},
	}
}
