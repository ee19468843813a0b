package schema

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/controller/internal/store"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Scanned state: patches, reboot state, inventory, and their histories.
//
// History keys are <kind>/<agent>/<time>/<n>: time is unix seconds as 16
// lower-case hex digits and n a 4-hex-digit counter within that second, so
// a prefix scan returns an agent's events in time order, and events of one
// second in the order they were appended.

const (
	patchesPrefix    = "patches/"
	patchHistPrefix  = "patchhist/"
	rebootPrefix     = "reboot/"
	inventoryPrefix  = "inventory/"
	invChangesPrefix = "invchanges/"

	// maxPerSecond is how many history entries one agent can have in one
	// second: the 4-hex-digit counter.
	maxPerSecond = 1 << 16
)

// errStop ends a Scan early; it never leaves this package.
var errStop = errors.New("schema: stop scan")

// Patch records.

func patchKey(agentID string) string { return patchesPrefix + agentID }

// GetPatchRecord returns store.ErrNotFound if the agent never sent a scan.
func GetPatchRecord(tx store.Tx, agentID string) (*storev1.PatchRecord, error) {
	r := &storev1.PatchRecord{}
	return r, getProto(tx, patchKey(agentID), r)
}

// PutPatchRecord writes an agent's patch record under r.AgentId.
func PutPatchRecord(tx store.Tx, r *storev1.PatchRecord) error {
	return putProto(tx, patchKey(r.GetAgentId()), r)
}

// Reboot records.

// PatchRecordBytes returns the stored bytes of an agent's patch record, or
// store.ErrNotFound, for a reader that keeps what it decoded and decodes
// again only when the bytes changed.
func PatchRecordBytes(tx store.Tx, agentID string) ([]byte, error) { return tx.Get(patchKey(agentID)) }

// RebootRecordBytes is PatchRecordBytes for the reboot record.
func RebootRecordBytes(tx store.Tx, agentID string) ([]byte, error) {
	return tx.Get(rebootKey(agentID))
}

func rebootKey(agentID string) string { return rebootPrefix + agentID }

// GetRebootRecord returns store.ErrNotFound if the agent never sent one.
func GetRebootRecord(tx store.Tx, agentID string) (*storev1.RebootRecord, error) {
	r := &storev1.RebootRecord{}
	return r, getProto(tx, rebootKey(agentID), r)
}

// PutRebootRecord writes an agent's reboot record.
func PutRebootRecord(tx store.Tx, agentID string, r *storev1.RebootRecord) error {
	return putProto(tx, rebootKey(agentID), r)
}

// Inventory records.

func inventoryKey(agentID string) string { return inventoryPrefix + agentID }

// GetInventoryRecord returns store.ErrNotFound if the agent never sent one.
func GetInventoryRecord(tx store.Tx, agentID string) (*storev1.InventoryRecord, error) {
	r := &storev1.InventoryRecord{}
	return r, getProto(tx, inventoryKey(agentID), r)
}

// PutInventoryRecord writes an agent's inventory record.
func PutInventoryRecord(tx store.Tx, agentID string, r *storev1.InventoryRecord) error {
	return putProto(tx, inventoryKey(agentID), r)
}

// Patch history.

// AppendPatchEvents stores events under each one's time_unix, after the
// events already stored for that agent and second. It returns how many it
// stored: past 65536 in one second the rest are dropped, so a flood from
// one agent cannot fail the transaction it shares with other agents.
func AppendPatchEvents(tx store.Tx, agentID string, events []*storev1.PatchEvent) (int, error) {
	return appendHist(tx, patchHistPrefix, agentID, events, (*storev1.PatchEvent).GetTimeUnix)
}

// ListPatchEvents returns an agent's events with time_unix >= sinceUnix,
// oldest first.
func ListPatchEvents(tx store.Tx, agentID string, sinceUnix int64) ([]*storev1.PatchEvent, error) {
	return listHist(tx, patchHistPrefix, agentID, sinceUnix, func() *storev1.PatchEvent { return &storev1.PatchEvent{} })
}

// DeletePatchEventsBefore deletes an agent's events with time_unix <
// cutoffUnix and returns how many it deleted.
func DeletePatchEventsBefore(tx store.Tx, agentID string, cutoffUnix int64) (int, error) {
	return deleteHistBefore(tx, patchHistPrefix, agentID, cutoffUnix)
}

// Inventory changes.

// AppendInventoryChanges stores changes as AppendPatchEvents stores events.
func AppendInventoryChanges(tx store.Tx, agentID string, changes []*storev1.InventoryChange) (int, error) {
	return appendHist(tx, invChangesPrefix, agentID, changes, (*storev1.InventoryChange).GetTimeUnix)
}

// ListInventoryChanges returns an agent's changes with time_unix >=
// sinceUnix, oldest first.
func ListInventoryChanges(tx store.Tx, agentID string, sinceUnix int64) ([]*storev1.InventoryChange, error) {
	return listHist(tx, invChangesPrefix, agentID, sinceUnix, func() *storev1.InventoryChange { return &storev1.InventoryChange{} })
}

// DeleteInventoryChangesBefore deletes an agent's changes with time_unix <
// cutoffUnix and returns how many it deleted.
func DeleteInventoryChangesBefore(tx store.Tx, agentID string, cutoffUnix int64) (int, error) {
	return deleteHistBefore(tx, invChangesPrefix, agentID, cutoffUnix)
}

// DeleteAgentState deletes everything an agent's scans left: its patch,
// reboot and inventory records and its patch and inventory histories. The
// agent record, committed sequence and last-seen time are left alone.
func DeleteAgentState(tx store.Tx, agentID string) error {
	for _, k := range []string{patchKey(agentID), rebootKey(agentID), inventoryKey(agentID)} {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	for _, p := range []string{patchHistPrefix, invChangesPrefix} {
		if err := deletePrefix(tx, histAgentPrefix(p, agentID)); err != nil {
			return err
		}
	}
	return nil
}

// History helpers.

func histAgentPrefix(kind, agentID string) string { return kind + agentID + "/" }

// histTime is the fixed-width key part for a time; times before the epoch
// (an agent with a broken clock) sort as the epoch.
func histTime(unix int64) string { return fmt.Sprintf("%016x", uint64(max(unix, 0))) }

func appendHist[T proto.Message](tx store.Tx, kind, agentID string, items []T, timeOf func(T) int64) (int, error) {
	next := map[int64]int{} // second -> next counter
	stored := 0
	for _, it := range items {
		if !it.ProtoReflect().IsValid() {
			continue // a nil element
		}
		sec := max(timeOf(it), 0)
		n, ok := next[sec]
		if !ok {
			var err error
			if n, err = countPrefix(tx, histAgentPrefix(kind, agentID)+histTime(sec)+"/"); err != nil {
				return stored, err
			}
		}
		if n >= maxPerSecond {
			next[sec] = n
			continue
		}
		key := fmt.Sprintf("%s%s/%04x", histAgentPrefix(kind, agentID), histTime(sec), n)
		if err := putProto(tx, key, it); err != nil {
			return stored, err
		}
		next[sec] = n + 1
		stored++
	}
	return stored, nil
}

// countPrefix counts the keys under prefix.
func countPrefix(tx store.Tx, prefix string) (int, error) {
	n := 0
	err := tx.Scan(prefix, func(string, []byte) error { n++; return nil })
	return n, err
}

// listHist decodes the entries of one agent's history from sinceUnix on.
func listHist[T proto.Message](tx store.Tx, kind, agentID string, sinceUnix int64, newT func() T) ([]T, error) {
	base := histAgentPrefix(kind, agentID)
	var out []T
	err := scanFrom(tx, base, histTime(sinceUnix), func(key string, v []byte) error {
		m := newT()
		if err := proto.Unmarshal(v, m); err != nil {
			return fmt.Errorf("schema: decode %s: %w", key, err)
		}
		out = append(out, m)
		return nil
	})
	return out, err
}

// scanFrom visits, in key order, the keys base+k where k starts with a
// fixed-width lower-case hex number >= from. The store only scans by
// prefix, so the range is covered by the prefixes that are above from in
// one digit and equal to it before: at most 1+15*len(from) scans, each one
// seek; for from of all zeros a single scan of base.
func scanFrom(tx store.Tx, base, from string, fn func(key string, v []byte) error) error {
	if strings.Trim(from, "0") == "" {
		return tx.Scan(base, fn)
	}
	if err := tx.Scan(base+from, fn); err != nil {
		return err
	}
	const digits = "0123456789abcdef"
	for i := len(from) - 1; i >= 0; i-- {
		d := strings.IndexByte(digits, from[i])
		for _, c := range digits[d+1:] {
			if err := tx.Scan(base+from[:i]+string(c), fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteHistBefore deletes one agent's history entries older than
// cutoffUnix; it stops at the first entry that is not.
func deleteHistBefore(tx store.Tx, kind, agentID string, cutoffUnix int64) (int, error) {
	return deleteHistBatch(tx, kind, agentID, cutoffUnix, 0)
}

// deleteHistBatch is deleteHistBefore stopping after limit deletions (0:
// no limit), oldest first, so a caller can bound its transactions.
func deleteHistBatch(tx store.Tx, kind, agentID string, cutoffUnix int64, limit int) (int, error) {
	base := histAgentPrefix(kind, agentID)
	cutoff := histTime(cutoffUnix)
	n := 0
	err := tx.Scan(base, func(key string, _ []byte) error {
		if (limit > 0 && n >= limit) || key[len(base):] >= cutoff {
			return errStop
		}
		n++
		return tx.Delete(key)
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return n, err
}

func deletePrefix(tx store.Tx, prefix string) error {
	return tx.Scan(prefix, func(key string, _ []byte) error { return tx.Delete(key) })
}

// mapProto decodes every record under prefix, keyed by the rest of its key.
func mapProto[T proto.Message](tx store.Tx, prefix string, newT func() T) (map[string]T, error) {
	out := map[string]T{}
	err := tx.Scan(prefix, func(key string, v []byte) error {
		m := newT()
		if err := proto.Unmarshal(v, m); err != nil {
			return fmt.Errorf("schema: decode %s: %w", key, err)
		}
		out[strings.TrimPrefix(key, prefix)] = m
		return nil
	})
	return out, err
}
