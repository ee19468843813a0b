package patch

import (
	"bytes"
	"errors"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// DefaultHistoryRetention is how long patch and inventory history is kept.
const DefaultHistoryRetention = 400 * 24 * time.Hour

// Options tune the Apply functions. The zero value is ready to use.
type Options struct {
	// HistoryRetention is how long an agent's patch events and inventory
	// changes are kept; older ones are deleted when new ones are written.
	// Zero means DefaultHistoryRetention.
	HistoryRetention time.Duration
	// Now is the controller's clock, for retention. Nil means time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.HistoryRetention <= 0 {
		o.HistoryRetention = DefaultHistoryRetention
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// cutoff is the oldest history time kept, unix seconds.
func (o Options) cutoff() int64 { return o.Now().Add(-o.HistoryRetention).Unix() }

// Outcome says what an Apply did.
type Outcome struct {
	// Kind is the kind of state the report carried.
	Kind agentv1.StateKind
	// Applied is true when the report was stored (a full report) or
	// confirmed the stored state (a digest).
	Applied bool
	// NeedFull is true when a digest did not match the stored state:
	// nothing changed, and the agent should be asked for the full state.
	NeedFull bool
	// RequestID echoes the report's request_id, for a waiting rescan.
	RequestID string
	// HistoryDropped counts history entries not recorded because one
	// report would have written more than MaxHistoryPerReport.
	HistoryDropped int
}

// MaxHistoryPerReport caps the history entries (patch events, inventory
// changes) one report may write. Real changes stay far below it (a large
// monthly rollup is tens of updates, a distribution upgrade a few thousand
// packages once); an agent flipping between two long lists would otherwise
// write thousands of entries a scan, kept for the retention.
const MaxHistoryPerReport = 4096

func capHistory[T any](list []T, out *Outcome) []T {
	if len(list) <= MaxHistoryPerReport {
		return list
	}
	out.HistoryDropped = len(list) - MaxHistoryPerReport
	return list[:MaxHistoryPerReport]
}

// Event kinds, the values of managev1.PatchEvent.Kind.
var (
	eventAppeared       = int32(managev1.PatchEvent_KIND_APPEARED)
	eventDisappeared    = int32(managev1.PatchEvent_KIND_DISAPPEARED)
	eventAwaitingReboot = int32(managev1.PatchEvent_KIND_AWAITING_REBOOT)
)

// ApplyPatchScan stores a full patch scan that the agent produced at timeMS
// (milliseconds since the epoch, agent clock) as report seq. A scan whose
// seq or time is not after the stored scan's is an out-of-order replay: it
// is ignored and Applied is false.
func ApplyPatchScan(tx store.Tx, agentID string, timeMS int64, seq uint64, s *agentv1.PatchScan, opts Options) (Outcome, error) {
	opts = opts.withDefaults()
	out := Outcome{Kind: agentv1.StateKind_STATE_KIND_PATCHES, RequestID: s.GetRequestId()}
	prev, err := schema.GetPatchRecord(tx, agentID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		prev = nil
	case err != nil:
		return out, err
	case seq <= prev.GetScanSeq() || timeMS < prev.GetScanUnixMs():
		return out, nil
	}

	rec := &storev1.PatchRecord{
		AgentId:      agentID,
		Source:       s.GetSource(),
		Hash:         s.GetHash(),
		ScanUnixMs:   timeMS,
		Status:       s.GetStatus(),
		ErrorCode:    s.GetErrorCode(),
		ErrorMessage: s.GetErrorMessage(),
		DurationMs:   s.GetDurationMs(),
		RequestId:    s.GetRequestId(),
		ScanSeq:      seq,
	}
	var events []*storev1.PatchEvent
	if s.GetStatus() == agentv1.ScanStatus_SCAN_STATUS_OK {
		rec.LastOkUnixMs = timeMS
		events = replaceLists(rec, prev, s, timeMS/1000)
	} else {
		keepLists(rec, prev)
	}
	if err := schema.PutPatchRecord(tx, rec); err != nil {
		return out, err
	}
	if len(events) > 0 {
		events = capHistory(events, &out)
		if _, err := schema.AppendPatchEvents(tx, agentID, events); err != nil {
			return out, err
		}
		if _, err := schema.DeletePatchEventsBefore(tx, agentID, opts.cutoff()); err != nil {
			return out, err
		}
	}
	out.Applied = true
	return out, nil
}

// keepLists carries the previous lists and the failure count into the
// record of a failed scan.
func keepLists(rec, prev *storev1.PatchRecord) {
	if rec.Source == "" {
		rec.Source = prev.GetSource()
	}
	rec.Pending = prev.GetPending()
	rec.InstalledAwaitingReboot = prev.GetInstalledAwaitingReboot()
	rec.RebootRequired = prev.GetRebootRequired()
	rec.LastOkUnixMs = prev.GetLastOkUnixMs()
	rec.ConsecutiveFailures = saturatingInc(prev.GetConsecutiveFailures())
	rec.FirstFailureUnixMs = prev.GetFirstFailureUnixMs()
	if rec.FirstFailureUnixMs == 0 {
		rec.FirstFailureUnixMs = rec.ScanUnixMs
	}
}

func saturatingInc(n uint32) uint32 {
	if n == ^uint32(0) {
		return n
	}
	return n + 1
}

// replaceLists fills rec's lists from a successful scan taken at now (unix
// seconds), keeping first-seen times from prev, and returns the events.
func replaceLists(rec, prev *storev1.PatchRecord, s *agentv1.PatchScan, now int64) []*storev1.PatchEvent {
	oldPending := byID(prev.GetPending())
	oldAwaiting := byID(prev.GetInstalledAwaitingReboot())
	rec.RebootRequired = s.GetRebootRequired()
	rec.Pending = track(s.GetPending(), oldPending, now)
	rec.InstalledAwaitingReboot = track(s.GetInstalledAwaitingReboot(), oldAwaiting, now)
	newPending := byID(rec.Pending)
	newAwaiting := byID(rec.InstalledAwaitingReboot)

	var events []*storev1.PatchEvent
	for _, old := range prev.GetPending() {
		id := old.GetUpdate().GetId()
		if oldPending[id] != old || newPending[id] != nil {
			continue // a duplicate id, or still pending
		}
		if aw := newAwaiting[id]; aw != nil {
			if oldAwaiting[id] == nil {
				events = append(events, &storev1.PatchEvent{TimeUnix: now, Kind: eventAwaitingReboot, Update: aw.GetUpdate()})
			}
			continue
		}
		events = append(events, &storev1.PatchEvent{TimeUnix: now, Kind: eventDisappeared, Update: old.GetUpdate(),
			PendingSeconds: max(now-old.GetFirstSeenUnix(), 0)})
	}
	for _, u := range rec.Pending {
		if oldPending[u.GetUpdate().GetId()] == nil {
			events = append(events, &storev1.PatchEvent{TimeUnix: now, Kind: eventAppeared, Update: u.GetUpdate()})
		}
	}
	return events
}

// byID indexes a list by update id; the first of duplicate ids wins.
func byID(list []*storev1.TrackedUpdate) map[string]*storev1.TrackedUpdate {
	m := make(map[string]*storev1.TrackedUpdate, len(list))
	for _, u := range list {
		if _, dup := m[u.GetUpdate().GetId()]; !dup {
			m[u.GetUpdate().GetId()] = u
		}
	}
	return m
}

// track wraps a reported list, taking first-seen times from old and now for
// ids it does not hold. Nil entries and repeated ids are dropped.
func track(list []*agentv1.PendingUpdate, old map[string]*storev1.TrackedUpdate, now int64) []*storev1.TrackedUpdate {
	out := make([]*storev1.TrackedUpdate, 0, len(list))
	seen := make(map[string]bool, len(list))
	for _, u := range list {
		if u == nil || seen[u.GetId()] {
			continue
		}
		seen[u.GetId()] = true
		first := now
		if o := old[u.GetId()]; o != nil {
			first = o.GetFirstSeenUnix()
		}
		out = append(out, &storev1.TrackedUpdate{Update: u, FirstSeenUnix: first})
	}
	return out
}

// ApplyReboot stores a full reboot state the agent read at timeMS.
func ApplyReboot(tx store.Tx, agentID string, timeMS int64, r *agentv1.RebootState, opts Options) (Outcome, error) {
	out := Outcome{Kind: agentv1.StateKind_STATE_KIND_REBOOT, RequestID: r.GetRequestId()}
	if r == nil {
		r = &agentv1.RebootState{}
	}
	rec := &storev1.RebootRecord{State: r, ReportedUnixMs: timeMS, CheckedUnixMs: timeMS}
	if err := schema.PutRebootRecord(tx, agentID, rec); err != nil {
		return out, err
	}
	out.Applied = true
	return out, nil
}

// ApplyDigest handles a scan that found the same state as the agent's last
// full report of d.Kind. If the stored record's hash equals d.Hash, the
// record's scan or check time moves to timeMS and Applied is true. A
// patch digest counts as another success (last_ok moves) or, when the
// stored scan had failed, as another failure. If nothing is stored or the
// hashes differ, nothing changes and NeedFull is true. A digest older than
// the stored patch scan is ignored. A digest of an unknown kind changes
// nothing and asks for nothing.
func ApplyDigest(tx store.Tx, agentID string, timeMS int64, d *agentv1.StateDigest, opts Options) (Outcome, error) {
	out := Outcome{Kind: d.GetKind(), RequestID: d.GetRequestId()}
	var err error
	switch d.GetKind() {
	case agentv1.StateKind_STATE_KIND_PATCHES:
		err = digestPatches(tx, agentID, timeMS, d, &out)
	case agentv1.StateKind_STATE_KIND_REBOOT:
		var rec *storev1.RebootRecord
		rec, err = schema.GetRebootRecord(tx, agentID)
		if err == nil && matches(rec.GetState().GetHash(), d.GetHash(), &out) {
			rec.CheckedUnixMs = max(rec.CheckedUnixMs, timeMS)
			err = schema.PutRebootRecord(tx, agentID, rec)
		}
	case agentv1.StateKind_STATE_KIND_INVENTORY:
		var rec *storev1.InventoryRecord
		rec, err = schema.GetInventoryRecord(tx, agentID)
		if err == nil && matches(rec.GetInventory().GetHash(), d.GetHash(), &out) {
			rec.CheckedUnixMs = max(rec.CheckedUnixMs, timeMS)
			err = schema.PutInventoryRecord(tx, agentID, rec)
		}
	default:
		return out, nil
	}
	if errors.Is(err, store.ErrNotFound) {
		out.NeedFull = true
		return out, nil
	}
	if err != nil {
		out.Applied = false
		return out, err
	}
	return out, nil
}

// matches compares a stored hash with a digest's and sets the outcome. An
// empty hash never matches: it proves nothing.
func matches(stored, got []byte, out *Outcome) bool {
	ok := len(got) > 0 && bytes.Equal(stored, got)
	out.Applied, out.NeedFull = ok, !ok
	return ok
}

func digestPatches(tx store.Tx, agentID string, timeMS int64, d *agentv1.StateDigest, out *Outcome) error {
	rec, err := schema.GetPatchRecord(tx, agentID)
	if err != nil {
		return err
	}
	if timeMS < rec.GetScanUnixMs() {
		return nil // older than what is stored: a replay
	}
	if !matches(rec.GetHash(), d.GetHash(), out) {
		return nil
	}
	rec.ScanUnixMs = timeMS
	rec.DurationMs = d.GetDurationMs()
	rec.RequestId = d.GetRequestId()
	if rec.GetStatus() == agentv1.ScanStatus_SCAN_STATUS_OK {
		rec.LastOkUnixMs = timeMS
	} else {
		rec.ConsecutiveFailures = saturatingInc(rec.GetConsecutiveFailures())
		if rec.FirstFailureUnixMs == 0 {
			rec.FirstFailureUnixMs = timeMS
		}
	}
	return schema.PutPatchRecord(tx, rec)
}
