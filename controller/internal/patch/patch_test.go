package patch_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-rmm/vigil/controller/internal/patch"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const agent = "ag-test"

func openStore(t *testing.T) store.Store {
	t.Helper()
	s, err := store.OpenBolt(filepath.Join(t.TempDir(), "control.db"), store.BoltOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := schema.Open(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

// opts has a fake clock near the test data's times, so retention does
// not prune what the tests write.
var opts = patch.Options{Now: func() time.Time { return time.Unix(10_000, 0) }}

// clock is a fake clock.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func apply(t *testing.T, s store.Store, fn func(tx store.Tx) (patch.Outcome, error)) patch.Outcome {
	t.Helper()
	var out patch.Outcome
	err := s.Update(t.Context(), func(tx store.Tx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func read[T any](t *testing.T, s store.Store, fn func(tx store.Tx) (T, error)) T {
	t.Helper()
	var out T
	if err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		out, err = fn(tx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func upd(id string, c agentv1.Classification, sev agentv1.Severity) *agentv1.PendingUpdate {
	return &agentv1.PendingUpdate{Id: id, Title: "title " + id, Classification: c, Severity: sev}
}

func sec(id string) *agentv1.PendingUpdate {
	return upd(id, agentv1.Classification_CLASSIFICATION_SECURITY, agentv1.Severity_SEVERITY_IMPORTANT)
}

func okScan(hash string, pending []*agentv1.PendingUpdate, awaiting ...*agentv1.PendingUpdate) *agentv1.PatchScan {
	return &agentv1.PatchScan{Source: "apt", Status: agentv1.ScanStatus_SCAN_STATUS_OK, Pending: pending,
		InstalledAwaitingReboot: awaiting, Hash: []byte(hash), DurationMs: 1200}
}

func failedScan(status agentv1.ScanStatus, code string) *agentv1.PatchScan {
	return &agentv1.PatchScan{Status: status, ErrorCode: code, ErrorMessage: "it broke", Hash: []byte("fail-" + code)}
}

// tracked renders a list as "id@first_seen".
func tracked(list []*storev1.TrackedUpdate) []string {
	var out []string
	for _, u := range list {
		out = append(out, fmt.Sprintf("%s@%d", u.GetUpdate().GetId(), u.GetFirstSeenUnix()))
	}
	return out
}

func eventStrings(evs []*storev1.PatchEvent) []string {
	var out []string
	for _, e := range evs {
		s := fmt.Sprintf("%s %s", strings.ToLower(managev1.PatchEvent_Kind(e.GetKind()).String()[5:]), e.GetUpdate().GetId())
		if e.GetPendingSeconds() != 0 {
			s += fmt.Sprintf(" %ds", e.GetPendingSeconds())
		}
		out = append(out, fmt.Sprintf("%d %s", e.GetTimeUnix(), s))
	}
	return out
}

func TestApplyPatchScanSequence(t *testing.T) {
	s := openStore(t)
	steps := []struct {
		name         string
		unix         int64
		seq          uint64
		scan         *agentv1.PatchScan
		applied      bool
		pending      []string
		awaiting     []string
		newEvents    []string
		failures     uint32
		firstFailure int64
		lastOK       int64
	}{
		{"first scan: everything appears", 1000, 1, okScan("h1", []*agentv1.PendingUpdate{sec("A"), sec("B"), sec("A")}), true,
			[]string{"A@1000", "B@1000"}, nil, []string{"1000 appeared A", "1000 appeared B"}, 0, 0, 1000},
		{"B installed awaiting reboot, C new", 2000, 2, okScan("h2", []*agentv1.PendingUpdate{sec("A"), nil, sec("C")}, sec("B")), true,
			[]string{"A@1000", "C@2000"}, []string{"B@2000"}, []string{"2000 awaiting_reboot B", "2000 appeared C"}, 0, 0, 2000},
		{"failed scan keeps the lists", 3000, 3, failedScan(agentv1.ScanStatus_SCAN_STATUS_FAILED, "apt_exit_100"), true,
			[]string{"A@1000", "C@2000"}, []string{"B@2000"}, nil, 1, 3000, 2000},
		{"second failure counts, keeps first failure", 3500, 4, failedScan(agentv1.ScanStatus_SCAN_STATUS_TIMEOUT, "timeout"), true,
			[]string{"A@1000", "C@2000"}, []string{"B@2000"}, nil, 2, 3000, 2000},
		{"older scan replayed: ignored", 2500, 5, okScan("h3", nil), false,
			[]string{"A@1000", "C@2000"}, []string{"B@2000"}, nil, 2, 3000, 2000},
		{"same sequence replayed: ignored", 4000, 4, okScan("h3", nil), false,
			[]string{"A@1000", "C@2000"}, []string{"B@2000"}, nil, 2, 3000, 2000},
		{"A installed, reboot done, C keeps first seen", 5000, 6, okScan("h4", []*agentv1.PendingUpdate{sec("C")}), true,
			[]string{"C@2000"}, nil, []string{"5000 disappeared A 4000s"}, 0, 0, 5000},
		{"unspecified status is a failure", 6000, 7, &agentv1.PatchScan{}, true,
			[]string{"C@2000"}, nil, nil, 1, 6000, 5000},
	}
	var seen int
	for _, st := range steps {
		out := apply(t, s, func(tx store.Tx) (patch.Outcome, error) {
			return patch.ApplyPatchScan(tx, agent, st.unix*1000, st.seq, st.scan, opts)
		})
		rec := read(t, s, func(tx store.Tx) (*storev1.PatchRecord, error) { return schema.GetPatchRecord(tx, agent) })
		evs := read(t, s, func(tx store.Tx) ([]*storev1.PatchEvent, error) { return schema.ListPatchEvents(tx, agent, 0) })
		got := eventStrings(evs)[seen:]
		seen = len(evs)
		if out.Applied != st.applied || out.Kind != agentv1.StateKind_STATE_KIND_PATCHES || out.NeedFull {
			t.Errorf("%s: outcome %+v, want applied=%v", st.name, out, st.applied)
		}
		if !slices.Equal(tracked(rec.GetPending()), st.pending) || !slices.Equal(tracked(rec.GetInstalledAwaitingReboot()), st.awaiting) {
			t.Errorf("%s: pending %v awaiting %v, want %v %v", st.name, tracked(rec.GetPending()),
				tracked(rec.GetInstalledAwaitingReboot()), st.pending, st.awaiting)
		}
		if !slices.Equal(got, st.newEvents) {
			t.Errorf("%s: new events %q, want %q", st.name, got, st.newEvents)
		}
		if rec.GetConsecutiveFailures() != st.failures || rec.GetFirstFailureUnixMs() != st.firstFailure*1000 ||
			rec.GetLastOkUnixMs() != st.lastOK*1000 {
			t.Errorf("%s: failures %d since %d, last ok %d; want %d since %d, last ok %d", st.name, rec.GetConsecutiveFailures(),
				rec.GetFirstFailureUnixMs(), rec.GetLastOkUnixMs(), st.failures, st.firstFailure*1000, st.lastOK*1000)
		}
	}
}

func TestFailedScanRecordsFailure(t *testing.T) {
	s := openStore(t)
	apply(t, s, func(tx store.Tx) (patch.Outcome, error) {
		return patch.ApplyPatchScan(tx, agent, 1000, 1, okScan("h1", []*agentv1.PendingUpdate{sec("A")}), opts)
	})
	fail := failedScan(agentv1.ScanStatus_SCAN_STATUS_FAILED, "WU_E_PT_WINHTTP_NAME_NOT_RESOLVED")
	fail.Source = ""
	fail.RequestId = "rq-1"
	out := apply(t, s, func(tx store.Tx) (patch.Outcome, error) {
		return patch.ApplyPatchScan(tx, agent, 2000, 2, fail, opts)
	})
	rec := read(t, s, func(tx store.Tx) (*storev1.PatchRecord, error) { return schema.GetPatchRecord(tx, agent) })
	if out.RequestID != "rq-1" || rec.GetStatus() != agentv1.ScanStatus_SCAN_STATUS_FAILED ||
		rec.GetErrorCode() != "WU_E_PT_WINHTTP_NAME_NOT_RESOLVED" || rec.GetErrorMessage() != "it broke" ||
		string(rec.GetHash()) != "fail-WU_E_PT_WINHTTP_NAME_NOT_RESOLVED" || rec.GetSource() != "apt" ||
		rec.GetScanUnixMs() != 2000 || rec.GetRequestId() != "rq-1" {
		t.Errorf("failure not recorded: outcome %+v, record %v", out, rec)
	}
}

func TestApplyDigest(t *testing.T) {
	okRec := func(tx store.Tx) error {
		_, err := patch.ApplyPatchScan(tx, agent, 1000, 1, okScan("h1", []*agentv1.PendingUpdate{sec("A")}), opts)
		return err
	}
	failedRec := func(tx store.Tx) error {
		_, err := patch.ApplyPatchScan(tx, agent, 1000, 1, failedScan(agentv1.ScanStatus_SCAN_STATUS_CRASHED, "crashed"), opts)
		return err
	}
	rebootRec := func(tx store.Tx) error {
		_, err := patch.ApplyReboot(tx, agent, 1000, &agentv1.RebootState{Hash: []byte("r1")}, opts)
		return err
	}
	invRec := func(tx store.Tx) error {
		_, err := patch.ApplyInventory(tx, agent, 1000, &agentv1.Inventory{Hash: []byte("i1")}, opts)
		return err
	}
	none := func(store.Tx) error { return nil }
	digest := func(kind agentv1.StateKind, hash string) *agentv1.StateDigest {
		return &agentv1.StateDigest{Kind: kind, Hash: []byte(hash), RequestId: "rq", DurationMs: 7}
	}
	patches, reboot, inventory := agentv1.StateKind_STATE_KIND_PATCHES, agentv1.StateKind_STATE_KIND_REBOOT, agentv1.StateKind_STATE_KIND_INVENTORY

	cases := []struct {
		name     string
		setup    func(store.Tx) error
		timeMS   int64
		digest   *agentv1.StateDigest
		applied  bool
		needFull bool
		// checked is the scan (patches) or check time after the digest.
		checked  int64
		lastOK   int64
		failures uint32
	}{
		{"patches match", okRec, 5000, digest(patches, "h1"), true, false, 5000, 5000, 0},
		{"patches mismatch", okRec, 5000, digest(patches, "h2"), false, true, 1000, 1000, 0},
		{"patches empty hash", okRec, 5000, digest(patches, ""), false, true, 1000, 1000, 0},
		{"patches unknown", none, 5000, digest(patches, "h1"), false, true, 0, 0, 0},
		{"patches older digest ignored", okRec, 500, digest(patches, "h1"), false, false, 1000, 1000, 0},
		{"failure repeated", failedRec, 5000, digest(patches, "fail-crashed"), true, false, 5000, 0, 2},
		{"reboot match", rebootRec, 5000, digest(reboot, "r1"), true, false, 5000, 0, 0},
		{"reboot mismatch", rebootRec, 5000, digest(reboot, "r2"), false, true, 1000, 0, 0},
		{"reboot unknown", none, 5000, digest(reboot, "r1"), false, true, 0, 0, 0},
		{"inventory match", invRec, 5000, digest(inventory, "i1"), true, false, 5000, 0, 0},
		{"inventory mismatch", invRec, 5000, digest(inventory, "i2"), false, true, 1000, 0, 0},
		{"unspecified kind", okRec, 5000, digest(agentv1.StateKind_STATE_KIND_UNSPECIFIED, "h1"), false, false, 1000, 1000, 0},
		{"nil digest", okRec, 5000, nil, false, false, 1000, 1000, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			if err := s.Update(t.Context(), tc.setup); err != nil {
				t.Fatal(err)
			}
			out := apply(t, s, func(tx store.Tx) (patch.Outcome, error) {
				return patch.ApplyDigest(tx, agent, tc.timeMS, tc.digest, opts)
			})
			if out.Applied != tc.applied || out.NeedFull != tc.needFull || out.Kind != tc.digest.GetKind() {
				t.Errorf("outcome %+v, want applied=%v need_full=%v", out, tc.applied, tc.needFull)
			}
			var checked, lastOK int64
			var failures uint32
			read(t, s, func(tx store.Tx) (any, error) {
				p, _ := schema.GetPatchRecord(tx, agent)
				r, _ := schema.GetRebootRecord(tx, agent)
				i, _ := schema.GetInventoryRecord(tx, agent)
				checked = max(p.GetScanUnixMs(), r.GetCheckedUnixMs(), i.GetCheckedUnixMs())
				lastOK, failures = p.GetLastOkUnixMs(), p.GetConsecutiveFailures()
				return nil, nil
			})
			if checked != tc.checked || lastOK != tc.lastOK || failures != tc.failures {
				t.Errorf("checked %d last ok %d failures %d; want %d %d %d", checked, lastOK, failures, tc.checked, tc.lastOK, tc.failures)
			}
		})
	}
}

func TestDigestUpdatesScanDetails(t *testing.T) {
	s := openStore(t)
	apply(t, s, func(tx store.Tx) (patch.Outcome, error) {
		return patch.ApplyPatchScan(tx, agent, 1000, 1, okScan("h1", []*agentv1.PendingUpdate{sec("A")}), opts)
	})
	out := apply(t, s, func(tx store.Tx) (patch.Outcome, error) {
		return patch.ApplyDigest(tx, agent, 9000, &agentv1.StateDigest{Kind: agentv1.StateKind_STATE_KIND_PATCHES,
			Hash: []byte("h1"), RequestId: "rq-7", DurationMs: 42}, opts)
	})
	rec := read(t, s, func(tx store.Tx) (*storev1.PatchRecord, error) { return schema.GetPatchRecord(tx, agent) })
	if out.RequestID != "rq-7" || rec.GetRequestId() != "rq-7" || rec.GetDurationMs() != 42 ||
		!slices.Equal(tracked(rec.GetPending()), []string{"A@1"}) {
		t.Errorf("outcome %+v, record %v", out, rec)
	}
}

func sw(name, arch, version string) *agentv1.Software {
	return &agentv1.Software{Name: name, Arch: arch, Version: version}
}

func changeStrings(chs []*storev1.InventoryChange) []string {
	var out []string
	for _, c := range chs {
		kind := strings.ToLower(managev1.InventoryChange_Kind(c.GetKind()).String()[5:])
		out = append(out, fmt.Sprintf("%d %s %s/%s %q->%q", c.GetTimeUnix(), kind, c.GetName(), c.GetArch(), c.GetOldVersion(), c.GetNewVersion()))
	}
	return out
}

func TestApplyInventory(t *testing.T) {
	s := openStore(t)
	hw := func(mem uint64, disks ...*agentv1.Disk) *agentv1.Hardware {
		return &agentv1.Hardware{Manufacturer: "Dell Inc.", Model: "R740", MemoryTotalBytes: mem, Disks: disks,
			Processors: []*agentv1.Processor{{Model: "Xeon Gold"}}}
	}
	sda := &agentv1.Disk{Name: "sda", Model: "SSD 870", SizeBytes: 500}
	sdb := &agentv1.Disk{Name: "sdb", Model: "SSD 990", SizeBytes: 1000}
	steps := []struct {
		name string
		unix int64
		inv  *agentv1.Inventory
		want []string
	}{
		{"first inventory is the baseline", 100, &agentv1.Inventory{Hardware: hw(8, sda), Software: []*agentv1.Software{
			sw("bash", "amd64", "5.2.15-2+b2"), sw("curl", "amd64", "7.88.1-10"), sw("libc6", "amd64", "2.36-9"),
			sw("openssl", "amd64", "3.0.11"), sw("Visual C++", "", "14.29.30133"), sw("zlib", "amd64", "1.2.13"),
		}}, nil},
		{"software and hardware changes", 200, &agentv1.Inventory{Hardware: hw(16, sdb, sda), Software: []*agentv1.Software{
			sw("bash", "amd64", "5.2.15-2+b2"), sw("libc6", "amd64", "2.36-8"), sw("nginx", "amd64", "1.22.1-9"),
			sw("openssl", "amd64", "3.0.9"), sw("Visual C++", "", "14.29.30133"), sw("Visual C++", "", "14.40.33810"),
			sw("zlib", "amd64", "1.2.13.1"), nil,
		}}, []string{
			`200 installed Visual C++/ ""->"14.40.33810"`,
			`200 removed curl/amd64 "7.88.1-10"->""`,
			`200 upgraded libc6/amd64 "2.36-9"->"2.36-8"`,
			`200 installed nginx/amd64 ""->"1.22.1-9"`,
			`200 downgraded openssl/amd64 "3.0.11"->"3.0.9"`,
			`200 upgraded zlib/amd64 "1.2.13"->"1.2.13.1"`,
			`200 hardware memory_total_bytes/ "8"->"16"`,
			`200 hardware disks/ "sda SSD 870 500 bytes"->"sda SSD 870 500 bytes; sdb SSD 990 1000 bytes"`,
		}},
		{"unreadable sections are not compared", 300, &agentv1.Inventory{Hardware: &agentv1.Hardware{Manufacturer: "Dell Inc."},
			Errors: []string{"dpkg: timeout", "dmi: permission denied"}}, nil},
		{"back from a failure: no mass reinstall", 400, &agentv1.Inventory{Hardware: hw(16, sda, sdb), Software: []*agentv1.Software{
			sw("bash", "amd64", "5.2.15-2+b2"),
		}}, nil},
		{"model changed", 500, &agentv1.Inventory{Hardware: &agentv1.Hardware{Manufacturer: "Dell Inc.", Model: "R750",
			MemoryTotalBytes: 16, Disks: []*agentv1.Disk{sda, sdb}, Processors: []*agentv1.Processor{{Model: "Xeon Gold"}}},
			Software: []*agentv1.Software{sw("bash", "amd64", "5.2.15-2+b2")}},
			[]string{`500 hardware model/ "R740"->"R750"`}},
		{"an incomplete software list is not compared", 600, &agentv1.Inventory{Hardware: &agentv1.Hardware{Manufacturer: "Dell Inc.", Model: "R750",
			MemoryTotalBytes: 16, Disks: []*agentv1.Disk{sda, sdb}, Processors: []*agentv1.Processor{{Model: "Xeon Gold"}}},
			Software: []*agentv1.Software{sw("zsh", "amd64", "5.9")}, SoftwareIncomplete: true,
			Errors: []string{"registry WOW6432Node: access denied"}}, nil},
	}
	var seen int
	for _, st := range steps {
		out := apply(t, s, func(tx store.Tx) (patch.Outcome, error) {
			return patch.ApplyInventory(tx, agent, st.unix*1000, st.inv, opts)
		})
		chs := read(t, s, func(tx store.Tx) ([]*storev1.InventoryChange, error) {
			return schema.ListInventoryChanges(tx, agent, 0)
		})
		got := changeStrings(chs)[seen:]
		seen = len(chs)
		if !out.Applied || out.Kind != agentv1.StateKind_STATE_KIND_INVENTORY {
			t.Errorf("%s: outcome %+v", st.name, out)
		}
		if !slices.Equal(got, st.want) {
			t.Errorf("%s: changes\n%s\nwant\n%s", st.name, strings.Join(got, "\n"), strings.Join(st.want, "\n"))
		}
	}
}

func TestHistoryRetention(t *testing.T) {
	s := openStore(t)
	day := int64(24 * 3600)
	clk := &clock{now: time.Unix(0, 0)}
	opts := patch.Options{HistoryRetention: 30 * 24 * time.Hour, Now: clk.Now}
	steps := []struct {
		day       int64
		scan      *agentv1.PatchScan
		inventory *agentv1.Inventory
		events    []string
		changes   int
	}{
		{0, okScan("a", []*agentv1.PendingUpdate{sec("A")}), &agentv1.Inventory{Software: []*agentv1.Software{sw("a", "", "1")}},
			[]string{"0 appeared A"}, 0},
		{10, okScan("b", []*agentv1.PendingUpdate{sec("A"), sec("B")}), &agentv1.Inventory{Software: []*agentv1.Software{sw("a", "", "2")}},
			[]string{"0 appeared A", "864000 appeared B"}, 1},
		{35, okScan("c", nil), &agentv1.Inventory{Software: []*agentv1.Software{sw("a", "", "3")}},
			[]string{"864000 appeared B", "3024000 disappeared A 3024000s", "3024000 disappeared B 2160000s"}, 2},
		{45, okScan("d", []*agentv1.PendingUpdate{sec("C")}), &agentv1.Inventory{Software: []*agentv1.Software{sw("a", "", "4")}},
			[]string{"3024000 disappeared A 3024000s", "3024000 disappeared B 2160000s", "3888000 appeared C"}, 2},
	}
	for i, st := range steps {
		clk.now = time.Unix(st.day*day, 0)
		apply(t, s, func(tx store.Tx) (patch.Outcome, error) {
			return patch.ApplyPatchScan(tx, agent, st.day*day*1000, uint64(2*i+1), st.scan, opts)
		})
		apply(t, s, func(tx store.Tx) (patch.Outcome, error) {
			return patch.ApplyInventory(tx, agent, st.day*day*1000, st.inventory, opts)
		})
		evs := read(t, s, func(tx store.Tx) ([]*storev1.PatchEvent, error) { return schema.ListPatchEvents(tx, agent, 0) })
		chs := read(t, s, func(tx store.Tx) ([]*storev1.InventoryChange, error) {
			return schema.ListInventoryChanges(tx, agent, 0)
		})
		if got := eventStrings(evs); !slices.Equal(got, st.events) || len(chs) != st.changes {
			t.Errorf("day %d: events %q (want %q), %d changes (want %d)", st.day, got, st.events, len(chs), st.changes)
		}
	}
}

// TestNilFieldsDoNotPanic feeds the Apply functions and readers empty and
// nil input, as a hostile or broken agent might send.
func TestNilFieldsDoNotPanic(t *testing.T) {
	s := openStore(t)
	calls := []func(tx store.Tx) (patch.Outcome, error){
		func(tx store.Tx) (patch.Outcome, error) { return patch.ApplyPatchScan(tx, agent, 1, 1, nil, opts) },
		func(tx store.Tx) (patch.Outcome, error) {
			return patch.ApplyPatchScan(tx, agent, 2, 2, &agentv1.PatchScan{Status: agentv1.ScanStatus_SCAN_STATUS_OK,
				Pending: []*agentv1.PendingUpdate{nil, {}, {}}, InstalledAwaitingReboot: []*agentv1.PendingUpdate{nil}}, opts)
		},
		func(tx store.Tx) (patch.Outcome, error) {
			return patch.ApplyPatchScan(tx, agent, 3, 3, &agentv1.PatchScan{Status: agentv1.ScanStatus_SCAN_STATUS_OK}, opts)
		},
		func(tx store.Tx) (patch.Outcome, error) { return patch.ApplyReboot(tx, agent, 1, nil, opts) },
		func(tx store.Tx) (patch.Outcome, error) { return patch.ApplyInventory(tx, agent, 1, nil, opts) },
		func(tx store.Tx) (patch.Outcome, error) {
			return patch.ApplyInventory(tx, agent, 2, &agentv1.Inventory{Hardware: &agentv1.Hardware{
				Disks: []*agentv1.Disk{nil}, Processors: []*agentv1.Processor{nil}}, Software: []*agentv1.Software{nil}}, opts)
		},
		func(tx store.Tx) (patch.Outcome, error) { return patch.ApplyDigest(tx, agent, 1, nil, opts) },
	}
	for _, call := range calls {
		apply(t, s, call)
	}
	patch.Summary(nil, nil, patch.Filter{})
	patch.Compliance(nil, []patch.AgentRecords{{}, {Agent: &storev1.Agent{Id: agent}}}, patch.Thresholds{}, time.Now())
	patch.Diff(nil, nil, 0)
}

func TestHistoryCappedPerReport(t *testing.T) {
	s := openStore(t)
	scan := &agentv1.PatchScan{Source: "apt", Status: agentv1.ScanStatus_SCAN_STATUS_OK}
	for i := range patch.MaxHistoryPerReport + 10 {
		scan.Pending = append(scan.Pending, &agentv1.PendingUpdate{Id: fmt.Sprintf("p%05d", i)})
	}
	out := apply(t, s, func(tx store.Tx) (patch.Outcome, error) {
		return patch.ApplyPatchScan(tx, agent, 1_000_000, 1, scan, opts)
	})
	events := read(t, s, func(tx store.Tx) ([]*storev1.PatchEvent, error) { return schema.ListPatchEvents(tx, agent, 0) })
	if out.HistoryDropped != 10 || len(events) != patch.MaxHistoryPerReport {
		t.Errorf("dropped %d, stored %d events; want 10 dropped and %d stored", out.HistoryDropped, len(events), patch.MaxHistoryPerReport)
	}
	st := read(t, s, func(tx store.Tx) ([]*storev1.PatchRecord, error) {
		r, err := schema.GetPatchRecord(tx, agent)
		return []*storev1.PatchRecord{r}, err
	})
	if len(st[0].GetPending()) != patch.MaxHistoryPerReport+10 {
		t.Errorf("the pending list itself was cut: %d", len(st[0].GetPending()))
	}
}
