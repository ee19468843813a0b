package schema

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/controller/internal/store"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Network checks.

const (
	checksPrefix     = "checks/"
	checkStatePrefix = "checkstate/"
	checkResPrefix   = "checkres/"
	// checkGonePrefix marks a deleted check whose results are still being
	// deleted: checkgone/<check-id>, an empty value.
	checkGonePrefix = "checkgone/"
)

func checkKey(id string) string      { return checksPrefix + id }
func checkStateKey(id string) string { return checkStatePrefix + id }

// GetCheck returns store.ErrNotFound if absent.
func GetCheck(tx store.Tx, id string) (*storev1.Check, error) {
	c := &storev1.Check{}
	return c, getProto(tx, checkKey(id), c)
}

// PutCheck writes a check's definition.
func PutCheck(tx store.Tx, c *storev1.Check) error { return putProto(tx, checkKey(c.GetId()), c) }

// ListChecks returns every check of every tenant, ordered by id.
func ListChecks(tx store.Tx) ([]*storev1.Check, error) {
	return listProto(tx, checksPrefix, func() *storev1.Check { return &storev1.Check{} })
}

// GetCheckState returns store.ErrNotFound if the check never ran.
func GetCheckState(tx store.Tx, id string) (*storev1.CheckState, error) {
	s := &storev1.CheckState{}
	return s, getProto(tx, checkStateKey(id), s)
}

// PutCheckState writes a check's state.
func PutCheckState(tx store.Tx, s *storev1.CheckState) error {
	return putProto(tx, checkStateKey(s.GetCheck()), s)
}

// AppendCheckResults stores results under each one's start time (seconds),
// as AppendPatchEvents stores events, and returns how many it stored.
func AppendCheckResults(tx store.Tx, checkID string, rs []*storev1.CheckResultRecord) (int, error) {
	return appendHist(tx, checkResPrefix, checkID, rs, func(r *storev1.CheckResultRecord) int64 { return r.GetStartUnixMs() / 1000 })
}

// ListCheckResults returns a check's results that started at or after
// sinceUnix, oldest first.
func ListCheckResults(tx store.Tx, checkID string, sinceUnix int64) ([]*storev1.CheckResultRecord, error) {
	return listHist(tx, checkResPrefix, checkID, sinceUnix, func() *storev1.CheckResultRecord { return &storev1.CheckResultRecord{} })
}

// DeleteCheck deletes a check's definition and state and marks its
// results for deletion (checkgone/<id>). The results are left to
// PurgeDeletedCheck: a check keeps up to ~1.3 million of them (90 days
// every minute from ten vantages), far too many for the one transaction
// that answers the person deleting the check.
func DeleteCheck(tx store.Tx, id string) error {
	for _, k := range []string{checkKey(id), checkStateKey(id)} {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return tx.Put(checkGonePrefix+id, []byte{})
}

// DeletedChecks returns the ids of deleted checks whose results are not
// all deleted yet.
func DeletedChecks(tx store.Tx) ([]string, error) {
	var ids []string
	err := tx.Scan(checkGonePrefix, func(key string, _ []byte) error {
		ids = append(ids, key[len(checkGonePrefix):])
		return nil
	})
	return ids, err
}

// PurgeDeletedCheck deletes at most limit results of a check DeleteCheck
// deleted, oldest first, and returns how many it deleted. When fewer than
// limit were left it also drops the check's checkgone mark and reports
// done. Call it, one transaction each, until done. A check that exists
// again under the same id is not touched: its mark is dropped and its
// results kept.
func PurgeDeletedCheck(tx store.Tx, id string, limit int) (n int, done bool, err error) {
	if _, err := tx.Get(checkKey(id)); err == nil {
		return 0, true, tx.Delete(checkGonePrefix + id)
	} else if !errors.Is(err, store.ErrNotFound) {
		return 0, false, err
	}
	err = tx.Scan(histAgentPrefix(checkResPrefix, id), func(key string, _ []byte) error {
		if n >= limit {
			return errStop
		}
		n++
		return tx.Delete(key)
	})
	switch {
	case errors.Is(err, errStop):
		return n, false, nil
	case err != nil:
		return n, false, err
	}
	return n, true, tx.Delete(checkGonePrefix + id)
}

// VisitCheckResults calls fn with each of a check's results that started
// at or after sinceUnix, oldest first, decoding one at a time so a long
// history is never held in memory at once. fn must not keep the record
// past its return unless it owns it (each call gets a new record).
func VisitCheckResults(tx store.Tx, checkID string, sinceUnix int64, fn func(*storev1.CheckResultRecord) error) error {
	return scanFrom(tx, histAgentPrefix(checkResPrefix, checkID), histTime(sinceUnix), func(key string, v []byte) error {
		r := &storev1.CheckResultRecord{}
		if err := proto.Unmarshal(v, r); err != nil {
			return fmt.Errorf("schema: decode %s: %w", key, err)
		}
		return fn(r)
	})
}

// DeleteCheckResultsBatch deletes at most limit of a check's results that
// started before cutoffUnix, oldest first, and returns how many it
// deleted: retention calls it until it deletes fewer than limit, one
// transaction per batch, so no transaction grows with the history.
func DeleteCheckResultsBatch(tx store.Tx, checkID string, cutoffUnix int64, limit int) (int, error) {
	return deleteHistBatch(tx, checkResPrefix, checkID, cutoffUnix, limit)
}

// CountChecks returns how many checks each tenant has.
func CountChecks(tx store.Tx) (map[string]int, error) {
	out := map[string]int{}
	err := tx.Scan(checksPrefix, func(key string, v []byte) error {
		c := &storev1.Check{}
		if err := proto.Unmarshal(v, c); err != nil {
			return fmt.Errorf("schema: decode %s: %w", key, err)
		}
		out[c.GetTenant()]++
		return nil
	})
	return out, err
}
