package schema

import (
	"github.com/vigil-rmm/vigil/controller/internal/store"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Network checks.

const (
	checksPrefix     = "checks/"
	checkStatePrefix = "checkstate/"
	checkResPrefix   = "checkres/"
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

// DeleteCheckResultsBefore deletes a check's results that started before
// cutoffUnix and returns how many it deleted.
func DeleteCheckResultsBefore(tx store.Tx, checkID string, cutoffUnix int64) (int, error) {
	return deleteHistBefore(tx, checkResPrefix, checkID, cutoffUnix)
}

// DeleteCheck deletes a check, its state and its results.
func DeleteCheck(tx store.Tx, id string) error {
	for _, k := range []string{checkKey(id), checkStateKey(id)} {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return deletePrefix(tx, histAgentPrefix(checkResPrefix, id))
}
