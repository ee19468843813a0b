package scanner_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/agent/internal/collector/reboot"
	"github.com/vigil-rmm/vigil/agent/internal/outbox"
	"github.com/vigil-rmm/vigil/agent/internal/scanner"
	"github.com/vigil-rmm/vigil/internal/limits"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

type fixedPatches struct {
	mu   sync.Mutex
	scan *agentv1.PatchScan
	n    int
}

func (f *fixedPatches) ScanPatches(context.Context) *agentv1.PatchScan {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	return proto.Clone(f.scan).(*agentv1.PatchScan)
}

func (f *fixedPatches) set(s *agentv1.PatchScan) {
	f.mu.Lock()
	f.scan = s
	f.mu.Unlock()
}

func okScan(ids ...string) *agentv1.PatchScan {
	s := &agentv1.PatchScan{Source: "apt", Status: agentv1.ScanStatus_SCAN_STATUS_OK}
	for _, id := range ids {
		s.Pending = append(s.Pending, &agentv1.PendingUpdate{Id: id, Package: id, Title: id + " 1 -> 2",
			Classification: agentv1.Classification_CLASSIFICATION_SECURITY})
	}
	return s
}

func openOutbox(t *testing.T) *outbox.Outbox {
	t.Helper()
	o, err := outbox.Open(filepath.Join(t.TempDir(), "outbox.db"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func pending(t *testing.T, o *outbox.Outbox) []*agentv1.Report {
	t.Helper()
	rs, err := o.Pending(t.Context(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func newScanner(t *testing.T, cfg scanner.Config) *scanner.Scanner {
	t.Helper()
	if cfg.StateFile == "" {
		cfg.StateFile = filepath.Join(t.TempDir(), "scan-state.json")
	}
	cfg.InitialSpread = -1
	s, err := scanner.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestUnchangedScanSendsDigest(t *testing.T) {
	o := openOutbox(t)
	src := &fixedPatches{scan: okScan("openssl", "libc6")}
	s := newScanner(t, scanner.Config{Outbox: o, Patches: src})
	ctx := t.Context()
	for range 2 {
		if err := s.Scan(ctx, agentv1.StateKind_STATE_KIND_PATCHES, nil, false); err != nil {
			t.Fatal(err)
		}
	}
	rs := pending(t, o)
	if len(rs) != 2 {
		t.Fatalf("queued %d reports, want 2", len(rs))
	}
	full := rs[0].GetPatches()
	if full == nil || len(full.GetPending()) != 2 || len(full.GetHash()) != 16 {
		t.Fatalf("first report = %v, want the full scan with a 16-byte hash", rs[0])
	}
	d := rs[1].GetDigest()
	if d == nil || d.GetKind() != agentv1.StateKind_STATE_KIND_PATCHES || !slices.Equal(d.GetHash(), full.GetHash()) {
		t.Fatalf("second report = %v, want a digest with the first one's hash", rs[1])
	}
	if n := proto.Size(rs[1]); n > 64 {
		t.Errorf("digest report is %d bytes, want at most 64", n)
	}

	// A change sends the full list again; a full request forces it.
	src.set(okScan("openssl"))
	if err := s.Scan(ctx, agentv1.StateKind_STATE_KIND_PATCHES, []string{"r1"}, false); err != nil {
		t.Fatal(err)
	}
	if err := s.Scan(ctx, agentv1.StateKind_STATE_KIND_PATCHES, []string{"r2", "r3"}, true); err != nil {
		t.Fatal(err)
	}
	rs = pending(t, o)
	if len(rs) != 5 {
		t.Fatalf("queued %d reports, want 5", len(rs))
	}
	if p := rs[2].GetPatches(); p == nil || len(p.GetPending()) != 1 || p.GetRequestId() != "r1" {
		t.Errorf("changed scan = %v, want the full list answering r1", rs[2])
	}
	if p := rs[3].GetPatches(); p == nil || p.GetRequestId() != "r2" {
		t.Errorf("forced scan = %v, want the full list answering r2", rs[3])
	}
	if d := rs[4].GetDigest(); d == nil || d.GetRequestId() != "r3" {
		t.Errorf("second request = %v, want a digest answering r3", rs[4])
	}
}

func TestHashIgnoresEnvelope(t *testing.T) {
	a, b := okScan("x"), okScan("x")
	b.DurationMs, b.RequestId, b.Hash = 1234, "req", []byte("old")
	if !slices.Equal(scanner.Hash(a), scanner.Hash(b)) {
		t.Error("hash depends on duration, request id or hash")
	}
	b.Pending[0].AvailableVersion = "3"
	if slices.Equal(scanner.Hash(a), scanner.Hash(b)) {
		t.Error("hash ignores the content")
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	o := openOutbox(t)
	state := filepath.Join(t.TempDir(), "scan-state.json")
	src := &fixedPatches{scan: okScan("a")}
	s := newScanner(t, scanner.Config{Outbox: o, Patches: src, StateFile: state})
	if err := s.Scan(t.Context(), agentv1.StateKind_STATE_KIND_PATCHES, nil, false); err != nil {
		t.Fatal(err)
	}
	s = newScanner(t, scanner.Config{Outbox: o, Patches: src, StateFile: state})
	if err := s.Scan(t.Context(), agentv1.StateKind_STATE_KIND_PATCHES, nil, false); err != nil {
		t.Fatal(err)
	}
	rs := pending(t, o)
	if len(rs) != 2 || rs[1].GetDigest() == nil {
		t.Fatalf("after a restart the unchanged scan sent %v, want a digest", rs[len(rs)-1])
	}
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func TestRebootFirstSeenSurvivesRestart(t *testing.T) {
	o := openOutbox(t)
	state := filepath.Join(t.TempDir(), "scan-state.json")
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	clk := &clock{t: t0}
	var mu sync.Mutex
	signals := []reboot.Signal{
		{Name: "run_reboot_required", Present: true, Strength: reboot.Strong, Detail: "linux-image-6.1.0-28-amd64"},
		{Name: "pending_file_rename", Present: true, Strength: reboot.Weak},
		{Name: "newer_kernel", Present: false, Strength: reboot.Strong},
	}
	src := func(context.Context, bool) ([]reboot.Signal, error) {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(signals), nil
	}
	read := func() *agentv1.RebootState {
		t.Helper()
		s := newScanner(t, scanner.Config{Outbox: o, Reboot: src, StateFile: state, Now: clk.Now})
		if err := s.Scan(t.Context(), agentv1.StateKind_STATE_KIND_REBOOT, nil, true); err != nil {
			t.Fatal(err)
		}
		rs := pending(t, o)
		return rs[len(rs)-1].GetReboot()
	}
	st := read()
	if !st.GetPending() || st.GetPendingSinceUnix() != t0.Unix() {
		t.Fatalf("pending=%v since=%d, want true since %d", st.GetPending(), st.GetPendingSinceUnix(), t0.Unix())
	}
	if sg := st.GetSignals()[1]; !sg.GetWeak() || sg.GetCounts() || sg.GetFirstSeenUnix() != t0.Unix() {
		t.Errorf("weak signal = %v, want weak, not counting, first seen at t0", sg)
	}
	if sg := st.GetSignals()[2]; sg.GetPresent() || sg.GetFirstSeenUnix() != 0 {
		t.Errorf("absent signal = %v, want no first-seen time", sg)
	}

	// An agent restart an hour later keeps the first-seen time.
	clk.Set(t0.Add(time.Hour))
	if st := read(); st.GetPendingSinceUnix() != t0.Unix() {
		t.Errorf("after restart pending since %d, want %d", st.GetPendingSinceUnix(), t0.Unix())
	}

	// Gone, then back: a new first-seen time.
	mu.Lock()
	signals[0].Present = false
	mu.Unlock()
	clk.Set(t0.Add(2 * time.Hour))
	if st := read(); st.GetPending() || st.GetPendingSinceUnix() != 0 {
		t.Errorf("signal cleared: pending=%v since=%d, want false 0", st.GetPending(), st.GetPendingSinceUnix())
	}
	mu.Lock()
	signals[0].Present = true
	mu.Unlock()
	t3 := t0.Add(3 * time.Hour)
	clk.Set(t3)
	if st := read(); st.GetPendingSinceUnix() != t3.Unix() {
		t.Errorf("signal back: since %d, want %d", st.GetPendingSinceUnix(), t3.Unix())
	}
}

func TestRebootPolicyIncludeWeak(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	sig := []reboot.Signal{{Name: "pending_file_rename", Present: true, Strength: reboot.Weak}}
	if st := scanner.RebootState(sig, reboot.Policy{}, map[string]int64{}, now, true); st.GetPending() {
		t.Error("a weak signal counts under the default policy")
	}
	if st := scanner.RebootState(sig, reboot.Policy{IncludeWeak: true}, map[string]int64{}, now, true); !st.GetPending() {
		t.Error("a weak signal does not count with IncludeWeak")
	}
}

func TestRequestsWakeTheRightKind(t *testing.T) {
	o := openOutbox(t)
	src := &fixedPatches{scan: okScan("a")}
	invCalls := 0
	var mu sync.Mutex
	inv := func(context.Context) (*agentv1.Inventory, error) {
		mu.Lock()
		invCalls++
		mu.Unlock()
		return &agentv1.Inventory{SoftwareSource: "dpkg", Software: []*agentv1.Software{{Name: "dpkg", Version: "1.21"}}}, nil
	}
	s := newScanner(t, scanner.Config{Outbox: o, Patches: src, Inventory: inv,
		PatchInterval: time.Hour, InventoryInterval: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	// The first scans run at once (no spread, no previous scan).
	waitReports(t, o, 2)
	s.Request(&agentv1.ScanRequest{RequestId: "req-1", Kinds: []agentv1.StateKind{agentv1.StateKind_STATE_KIND_PATCHES}})
	rs := waitReports(t, o, 3)
	if d := rs[2].GetDigest(); d == nil || d.GetRequestId() != "req-1" || d.GetKind() != agentv1.StateKind_STATE_KIND_PATCHES {
		t.Errorf("answer to req-1 = %v, want a patches digest", rs[2])
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if invCalls != 1 {
		t.Errorf("inventory read %d times, want 1 (the request named patches only)", invCalls)
	}
}

func waitReports(t *testing.T, o *outbox.Outbox, n int) []*agentv1.Report {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rs := pending(t, o)
		if len(rs) >= n {
			return rs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d reports queued, want %d", len(rs), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestScheduleResumesFromStateFile(t *testing.T) {
	o := openOutbox(t)
	state := filepath.Join(t.TempDir(), "scan-state.json")
	src := &fixedPatches{scan: okScan("a")}
	s := newScanner(t, scanner.Config{Outbox: o, Patches: src, StateFile: state, PatchInterval: time.Hour})
	if err := s.Scan(t.Context(), agentv1.StateKind_STATE_KIND_PATCHES, nil, false); err != nil {
		t.Fatal(err)
	}
	// A restart right after a scan must not scan again at once.
	s = newScanner(t, scanner.Config{Outbox: o, Patches: src, StateFile: state, PatchInterval: time.Hour})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if src.n != 1 {
		t.Errorf("scanned %d times, want 1: the restart rescanned before its interval", src.n)
	}
}

func TestInventoryFitsTheReportLimit(t *testing.T) {
	o := openOutbox(t)
	inv := func(context.Context) (*agentv1.Inventory, error) {
		out := &agentv1.Inventory{SoftwareSource: "dpkg"}
		for i := range limits.MaxSoftware {
			out.Software = append(out.Software, &agentv1.Software{Name: fmt.Sprintf("package-with-a-long-name-%06d", i),
				Version: "1:2.34.5-6+deb12u7~bpo11+1.really.long", Arch: "amd64", Publisher: "The Debian Project maintainers"})
		}
		return out, nil
	}
	s := newScanner(t, scanner.Config{Outbox: o, Inventory: inv})
	if err := s.Scan(t.Context(), agentv1.StateKind_STATE_KIND_INVENTORY, nil, false); err != nil {
		t.Fatal(err)
	}
	rs := pending(t, o)
	got := rs[0].GetInventory()
	if n := proto.Size(rs[0]); n > limits.MaxStateReport {
		t.Fatalf("inventory report is %d bytes, limit %d", n, limits.MaxStateReport)
	}
	if len(got.GetSoftware()) == limits.MaxSoftware || len(got.GetErrors()) != 1 {
		t.Errorf("kept %d of %d entries with errors %q; want a cut list and one error saying so",
			len(got.GetSoftware()), limits.MaxSoftware, got.GetErrors())
	}
}

func TestRebootFirstSeenKeptThroughAFailedCheck(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	seen := map[string]int64{}
	present := []reboot.Signal{{Name: "wu_auto_update_reboot_required", Present: true}}
	scanner.RebootState(present, reboot.Policy{}, seen, t0, true)
	// The registry read failed: the signal looks absent, the read is partial.
	absent := []reboot.Signal{{Name: "wu_auto_update_reboot_required", Present: false}}
	scanner.RebootState(absent, reboot.Policy{}, seen, t0.Add(time.Hour), false)
	st := scanner.RebootState(present, reboot.Policy{}, seen, t0.Add(10*24*time.Hour), true)
	if st.GetPendingSinceUnix() != t0.Unix() {
		t.Errorf("pending since %d after a failed check, want %d", st.GetPendingSinceUnix(), t0.Unix())
	}
	// A complete read that finds it absent does clear it.
	scanner.RebootState(absent, reboot.Policy{}, seen, t0.Add(11*24*time.Hour), true)
	if _, ok := seen["wu_auto_update_reboot_required"]; ok {
		t.Error("first-seen time kept after a complete read found the signal absent")
	}
}
