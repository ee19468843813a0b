// Package scanner reads the host's slow-changing state — pending updates,
// reboot-required signals, hardware and software inventory — on its own
// schedule, apart from the live metrics, and queues what changed in the
// outbox.
//
// Only changes travel. Each kind's result is hashed (Hash); when the hash
// equals the one last queued, the agent queues a StateDigest of a few dozen
// bytes instead of the list. The controller compares the digest with the
// hash it stored and asks for the full state (ScanRequest.full) when they
// differ, so a controller restored from an old backup heals itself.
//
// Each kind runs in its own goroutine: a patch scan that takes twenty
// minutes delays neither the reboot check nor the inventory, and none of
// them delays metrics. The times of the last scans, the hashes last queued
// and the first-seen time of every present reboot signal live in one small
// JSON file in the state directory, so a restart neither rescans at once
// nor forgets since when a reboot has been pending.
package scanner

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/agent/internal/collector/reboot"
	"github.com/vigil-rmm/vigil/agent/internal/config"
	"github.com/vigil-rmm/vigil/internal/limits"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// Appender persists reports in the outbox.
type Appender interface {
	Append(ctx context.Context, r *agentv1.Report) (uint64, error)
}

// PatchSource runs one patch scan. It never fails as a call: failures are
// a PatchScan with a non-OK status.
type PatchSource interface {
	ScanPatches(ctx context.Context) *agentv1.PatchScan
}

// RebootSource reads the reboot signals. wuaRebootRequired is the Windows
// Update Agent's own verdict from the latest patch scan.
type RebootSource func(ctx context.Context, wuaRebootRequired bool) ([]reboot.Signal, error)

// InventorySource reads the inventory.
type InventorySource func(ctx context.Context) (*agentv1.Inventory, error)

// Defaults.
const (
	DefaultPatchInterval     = 6 * time.Hour
	DefaultRebootInterval    = 15 * time.Minute
	DefaultInventoryInterval = 24 * time.Hour
	// DefaultInitialSpread spreads the first scans of agents that start
	// together (a mass install) over this long.
	DefaultInitialSpread = time.Minute
)

// Config wires a Scanner.
type Config struct {
	// Outbox receives the reports.
	Outbox Appender
	// StateFile keeps scan times, hashes and reboot first-seen times.
	StateFile string
	// Patches, Reboot and Inventory read each kind; nil disables the kind.
	Patches   PatchSource
	Reboot    RebootSource
	Inventory InventorySource
	// Intervals between scheduled reads; zero means the default.
	PatchInterval     time.Duration
	RebootInterval    time.Duration
	InventoryInterval time.Duration
	// InitialSpread bounds the random delay of a kind's first scan when
	// the state file has no previous one. Negative means no delay.
	InitialSpread time.Duration
	// RebootPolicy decides which reboot signals count.
	RebootPolicy reboot.Policy
	Logger       *slog.Logger
	Now          func() time.Time
}

// Scanner schedules and runs the reads.
type Scanner struct {
	cfg    Config
	logger *slog.Logger
	kinds  map[agentv1.StateKind]*kind

	mu    sync.Mutex // guards state and its file
	state fileState
}

// kind is one state kind's schedule and pending requests.
type kind struct {
	k        agentv1.StateKind
	interval time.Duration
	wake     chan struct{}

	mu  sync.Mutex
	req *request // coalesced requests not yet served
}

type request struct {
	ids  []string
	full bool
}

// fileState is the state file's content.
type fileState struct {
	Kinds map[string]*kindState `json:"kinds"`
	// RebootFirstSeen maps a present reboot signal to when it was first
	// seen present (Unix seconds).
	RebootFirstSeen map[string]int64 `json:"reboot_first_seen"`
	// WUARebootRequired is the update agent's verdict from the last
	// successful patch scan.
	WUARebootRequired bool `json:"wua_reboot_required"`
}

type kindState struct {
	// Hash is the hash of the last full report queued.
	Hash []byte `json:"hash"`
	// Last is when the kind was last read.
	Last time.Time `json:"last"`
}

// New returns a scanner with the state from cfg.StateFile, if any.
func New(cfg Config) (*Scanner, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.InitialSpread == 0 {
		cfg.InitialSpread = DefaultInitialSpread
	}
	s := &Scanner{cfg: cfg, logger: cfg.Logger.With("component", "scanner"), kinds: map[agentv1.StateKind]*kind{}}
	add := func(k agentv1.StateKind, enabled bool, every, def time.Duration) {
		if enabled {
			s.kinds[k] = &kind{k: k, interval: cmpOr(every, def), wake: make(chan struct{}, 1)}
		}
	}
	add(agentv1.StateKind_STATE_KIND_PATCHES, cfg.Patches != nil, cfg.PatchInterval, DefaultPatchInterval)
	add(agentv1.StateKind_STATE_KIND_REBOOT, cfg.Reboot != nil, cfg.RebootInterval, DefaultRebootInterval)
	add(agentv1.StateKind_STATE_KIND_INVENTORY, cfg.Inventory != nil, cfg.InventoryInterval, DefaultInventoryInterval)
	b, err := os.ReadFile(cfg.StateFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("scanner: read state: %w", err)
	default:
		if err := json.Unmarshal(b, &s.state); err != nil {
			// Losing it costs one full report per kind and resets the
			// reboot first-seen times; refusing to start would cost more.
			s.logger.Warn("scan state unreadable; starting afresh", "file", cfg.StateFile, "err", err)
			s.state = fileState{}
		}
	}
	if s.state.Kinds == nil {
		s.state.Kinds = map[string]*kindState{}
	}
	if s.state.RebootFirstSeen == nil {
		s.state.RebootFirstSeen = map[string]int64{}
	}
	return s, nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Kinds lists the enabled kinds.
func (s *Scanner) Kinds() []agentv1.StateKind {
	out := make([]agentv1.StateKind, 0, len(s.kinds))
	for k := range s.kinds {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Request asks for reads now. It never blocks: requests for a kind that is
// already being read are served by one more read right after it.
func (s *Scanner) Request(r *agentv1.ScanRequest) {
	kinds := r.GetKinds()
	if len(kinds) == 0 {
		kinds = s.Kinds()
	}
	for _, k := range kinds {
		kd := s.kinds[k]
		if kd == nil {
			s.logger.Info("scan requested for a disabled kind; ignored", "kind", k.String(), "request_id", r.GetRequestId())
			continue
		}
		kd.mu.Lock()
		if kd.req == nil {
			kd.req = &request{}
		}
		if id := r.GetRequestId(); id != "" && len(kd.req.ids) < 16 {
			kd.req.ids = append(kd.req.ids, id)
		}
		kd.req.full = kd.req.full || r.GetFull()
		kd.mu.Unlock()
		select {
		case kd.wake <- struct{}{}:
		default:
		}
	}
}

// Run runs every enabled kind's schedule until ctx ends. It returns an
// error only if the outbox fails.
func (s *Scanner) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error
	)
	for _, kd := range s.kinds {
		wg.Go(func() {
			if err := s.loop(ctx, kd); err != nil {
				errMu.Lock()
				first = cmp.Or(first, err)
				errMu.Unlock()
				cancel()
			}
		})
	}
	wg.Wait()
	return first
}

func (s *Scanner) loop(ctx context.Context, kd *kind) error {
	t := time.NewTimer(s.firstDelay(kd))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-kd.wake:
		}
		kd.mu.Lock()
		req := kd.req
		kd.req = nil
		kd.mu.Unlock()
		if req == nil {
			req = &request{}
		}
		if err := s.Scan(ctx, kd.k, req.ids, req.full); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(jitter(kd.interval))
	}
}

// firstDelay is the time until a kind's first read: what is left of its
// interval since the last read recorded in the state file, or a random part
// of InitialSpread when there is none.
func (s *Scanner) firstDelay(kd *kind) time.Duration {
	s.mu.Lock()
	st := s.state.Kinds[kd.k.String()]
	s.mu.Unlock()
	if st != nil && !st.Last.IsZero() {
		if left := st.Last.Add(kd.interval).Sub(s.cfg.Now()); left > 0 {
			return min(left, kd.interval)
		}
	}
	if s.cfg.InitialSpread <= 0 {
		return 0
	}
	return rand.N(s.cfg.InitialSpread)
}

// jitter returns d ± 10 %, so a fleet started together drifts apart.
func jitter(d time.Duration) time.Duration {
	return d - d/10 + rand.N(d/5+1)
}

// Scan reads one kind now and queues the result: the full state when it
// changed (or full is set), a digest otherwise. requestIDs are the
// requests this read answers; the report carries the first, and a digest
// per further id is queued so each waiting caller sees its own answer.
func (s *Scanner) Scan(ctx context.Context, k agentv1.StateKind, requestIDs []string, full bool) error {
	start := s.cfg.Now()
	var (
		msg proto.Message
		err error
	)
	switch k {
	case agentv1.StateKind_STATE_KIND_PATCHES:
		msg = s.scanPatches(ctx)
	case agentv1.StateKind_STATE_KIND_REBOOT:
		msg, err = s.readReboot(ctx, start)
	case agentv1.StateKind_STATE_KIND_INVENTORY:
		msg, err = s.readInventory(ctx)
	default:
		return fmt.Errorf("scanner: unknown kind %v", k)
	}
	if err != nil {
		// A source that could not run at all: logged, retried at the next
		// interval; the controller keeps the last good state.
		s.logger.WarnContext(ctx, "read failed", "kind", k.String(), "err", err)
		s.markRead(k, start, nil)
		return nil
	}
	dur := s.cfg.Now().Sub(start)
	hash := Hash(msg)
	s.mu.Lock()
	prev := s.state.Kinds[k.String()]
	s.mu.Unlock()
	first := ""
	if len(requestIDs) > 0 {
		first = requestIDs[0]
	}
	var rep *agentv1.Report
	changed := prev == nil || !slices.Equal(prev.Hash, hash)
	if changed || full {
		setEnvelope(msg, hash, first, dur)
		rep = fullReport(msg)
	} else {
		rep = digest(k, hash, first, dur)
	}
	rep.TimeUnixMs = s.cfg.Now().UnixMilli()
	if _, err := s.cfg.Outbox.Append(ctx, rep); err != nil {
		return fmt.Errorf("scanner: queue %s: %w", k, err)
	}
	for _, id := range requestIDs[min(1, len(requestIDs)):] {
		d := digest(k, hash, id, dur)
		d.TimeUnixMs = rep.TimeUnixMs
		if _, err := s.cfg.Outbox.Append(ctx, d); err != nil {
			return fmt.Errorf("scanner: queue %s: %w", k, err)
		}
	}
	s.logger.InfoContext(ctx, "scan queued", "kind", k.String(), "changed", changed, "full", changed || full,
		"bytes", proto.Size(rep), "duration", dur.Round(time.Millisecond), "request_id", first)
	s.markRead(k, start, hash)
	return nil
}

func fullReport(msg proto.Message) *agentv1.Report {
	switch m := msg.(type) {
	case *agentv1.PatchScan:
		return &agentv1.Report{Body: &agentv1.Report_Patches{Patches: m}}
	case *agentv1.RebootState:
		return &agentv1.Report{Body: &agentv1.Report_Reboot{Reboot: m}}
	case *agentv1.Inventory:
		return &agentv1.Report{Body: &agentv1.Report_Inventory{Inventory: m}}
	}
	panic(fmt.Sprintf("scanner: no report body for %T", msg))
}

func digest(k agentv1.StateKind, hash []byte, requestID string, dur time.Duration) *agentv1.Report {
	return &agentv1.Report{Body: &agentv1.Report_Digest{Digest: &agentv1.StateDigest{
		Kind: k, Hash: hash, RequestId: requestID, DurationMs: durationMS(dur)}}}
}

func durationMS(d time.Duration) uint32 {
	return uint32(min(d.Milliseconds(), int64(^uint32(0))))
}

// setEnvelope fills the fields Hash leaves out.
func setEnvelope(msg proto.Message, hash []byte, requestID string, dur time.Duration) {
	switch m := msg.(type) {
	case *agentv1.PatchScan:
		m.Hash, m.RequestId, m.DurationMs = hash, requestID, durationMS(dur)
	case *agentv1.RebootState:
		m.Hash, m.RequestId = hash, requestID
	case *agentv1.Inventory:
		m.Hash, m.RequestId = hash, requestID
	}
}

// Hash is the content hash of a state report: the first 16 bytes of
// SHA-256 over its deterministic encoding with the hash, request id and
// duration cleared.
func Hash(msg proto.Message) []byte {
	c := proto.Clone(msg)
	setEnvelope(c, nil, "", 0)
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("scanner: marshal %T: %v", msg, err)) // only on a generated-code bug
	}
	sum := sha256.Sum256(b)
	return sum[:16]
}

func (s *Scanner) markRead(k agentv1.StateKind, at time.Time, hash []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state.Kinds[k.String()]
	if st == nil {
		st = &kindState{}
		s.state.Kinds[k.String()] = st
	}
	st.Last = at
	if hash != nil {
		st.Hash = hash
	}
	s.saveLocked()
}

func (s *Scanner) saveLocked() {
	b, err := json.MarshalIndent(&s.state, "", "  ")
	if err == nil {
		err = config.WriteFileAtomic(s.cfg.StateFile, b, 0o600)
	}
	if err != nil {
		// Not fatal: the next read sends the full state again.
		s.logger.Warn("save scan state", "file", s.cfg.StateFile, "err", err)
	}
}

func (s *Scanner) scanPatches(ctx context.Context) *agentv1.PatchScan {
	scan := s.cfg.Patches.ScanPatches(ctx)
	if dropped := limits.CleanPatchScan(scan); dropped > 0 {
		s.logger.WarnContext(ctx, "patch scan lists over the limits were cut", "dropped", dropped)
	}
	if n := proto.Size(scan) + envelope; n > limits.MaxStateReport {
		// A list this long is not a real server's; report the fact rather
		// than a silently partial list.
		s.logger.ErrorContext(ctx, "patch scan too large to report", "bytes", n, "limit", limits.MaxStateReport)
		scan = &agentv1.PatchScan{Source: scan.GetSource(), Status: agentv1.ScanStatus_SCAN_STATUS_FAILED, ErrorCode: "too_large",
			ErrorMessage: fmt.Sprintf("the scan found %d pending and %d awaiting-reboot updates, %d bytes, over the %d-byte report limit",
				len(scan.GetPending()), len(scan.GetInstalledAwaitingReboot()), n, limits.MaxStateReport)}
	}
	if scan.GetStatus() == agentv1.ScanStatus_SCAN_STATUS_OK {
		s.mu.Lock()
		changed := s.state.WUARebootRequired != scan.GetRebootRequired()
		s.state.WUARebootRequired = scan.GetRebootRequired()
		s.mu.Unlock()
		if changed {
			// The update agent's verdict is a reboot signal: read them now.
			s.Request(&agentv1.ScanRequest{Kinds: []agentv1.StateKind{agentv1.StateKind_STATE_KIND_REBOOT}})
		}
	}
	return scan
}

func (s *Scanner) readReboot(ctx context.Context, now time.Time) (*agentv1.RebootState, error) {
	s.mu.Lock()
	wua := s.state.WUARebootRequired
	s.mu.Unlock()
	signals, err := s.cfg.Reboot(ctx, wua)
	if err != nil && len(signals) == 0 {
		return nil, err
	}
	if err != nil {
		s.logger.WarnContext(ctx, "some reboot checks failed", "err", err)
	}
	s.mu.Lock()
	st := RebootState(signals, s.cfg.RebootPolicy, s.state.RebootFirstSeen, now, err == nil)
	s.mu.Unlock()
	limits.CleanReboot(st)
	return st, nil
}

// RebootState builds the report from signals under policy. firstSeen maps
// a present signal to when it was first seen; it is updated in place:
// present signals keep or gain a time, and, when complete is true (every
// check ran), absent ones lose it. After a partial read (a registry value
// that could not be read looks absent) no time is dropped, so one failed
// check does not reset "pending since".
func RebootState(signals []reboot.Signal, policy reboot.Policy, firstSeen map[string]int64, now time.Time, complete bool) *agentv1.RebootState {
	st := &agentv1.RebootState{}
	present := map[string]bool{}
	for _, sg := range signals {
		out := &agentv1.RebootSignal{Name: sg.Name, Present: sg.Present, Weak: sg.Strength == reboot.Weak, Detail: sg.Detail}
		if sg.Present {
			present[sg.Name] = true
			if firstSeen[sg.Name] == 0 {
				firstSeen[sg.Name] = now.Unix()
			}
			out.FirstSeenUnix = firstSeen[sg.Name]
			out.Counts, _ = reboot.Evaluate([]reboot.Signal{sg}, policy)
		}
		if out.Counts {
			st.Pending = true
			if st.PendingSinceUnix == 0 || out.FirstSeenUnix < st.PendingSinceUnix {
				st.PendingSinceUnix = out.FirstSeenUnix
			}
		}
		st.Signals = append(st.Signals, out)
	}
	if complete {
		for name := range firstSeen {
			if !present[name] {
				delete(firstSeen, name)
			}
		}
	}
	return st
}

func (s *Scanner) readInventory(ctx context.Context) (*agentv1.Inventory, error) {
	inv, err := s.cfg.Inventory(ctx)
	if err != nil {
		return nil, err
	}
	before := len(inv.Software)
	if dropped := limits.CleanInventory(inv); dropped > 0 {
		inv.Errors = append(inv.Errors, fmt.Sprintf("lists over the limits were cut: %d entries dropped", dropped))
		inv.SoftwareIncomplete = inv.SoftwareIncomplete || len(inv.Software) < before
	}
	fitInventory(inv)
	limits.CleanInventory(inv) // the notes above may have gone over the error limit
	return inv, nil
}

// envelope is what a report adds around its body: sequence, time, hash,
// request id.
const envelope = 256

// fitInventory drops software entries from the end until the report fits
// limits.MaxStateReport, and says so in inv.Errors.
func fitInventory(inv *agentv1.Inventory) {
	n := len(inv.Software)
	if proto.Size(inv)+envelope <= limits.MaxStateReport {
		return
	}
	for proto.Size(inv)+envelope+128 > limits.MaxStateReport && len(inv.Software) > 0 {
		cut := max(1, len(inv.Software)/16)
		inv.Software = inv.Software[:len(inv.Software)-cut]
	}
	inv.SoftwareIncomplete = true
	inv.Errors = append(inv.Errors, fmt.Sprintf("software list cut to %d of %d entries to fit the %d-byte report limit",
		len(inv.Software), n, limits.MaxStateReport))
}
