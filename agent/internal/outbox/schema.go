package outbox

import (
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/vigil-rmm/vigil/internal/boltfile"
)

// schemaVersion is the layout described in the package doc. Bump it, and add
// a tested migration from the previous version, whenever the layout changes.
const schemaVersion = 1

var (
	bucketMeta    = []byte("meta")
	bucketReports = []byte("reports")
	bucketMetrics = []byte("metrics")

	keySchemaVersion   = []byte("schema_version")
	keyLastSeq         = []byte("last_seq")
	keyAckedSeq        = []byte("acked_seq")
	keyStatusSeq       = []byte("status_seq")
	keyPendingCount    = []byte("pending_count")
	keyUnreportedDrops = []byte("unreported_drops")
	keyDroppedTotal    = []byte("dropped_total")
)

// appendFillPercent packs pages full: reports and the metrics index only
// ever grow at the tail.
const appendFillPercent = 1.0

// errNoop makes an update roll back instead of committing a transaction
// that changed nothing (a commit costs two fsyncs).
var errNoop = errors.New("nothing to commit")

// initSchema creates the buckets in a new file and checks the schema version
// of an existing one.
func initSchema(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return createSchema(tx)
	}
	if err := boltfile.CheckVersion(meta.Get(keySchemaVersion), schemaVersion, ErrCorrupt, ErrSchemaTooNew); err != nil {
		return err
	}
	if tx.Bucket(bucketReports) == nil || tx.Bucket(bucketMetrics) == nil {
		return fmt.Errorf("missing reports or metrics bucket: %w", ErrCorrupt)
	}
	return errNoop
}

// createSchema lays out an empty file. A bbolt file that already holds
// other buckets is someone else's database and is left alone.
func createSchema(tx *bolt.Tx) error {
	if k, _ := tx.Cursor().First(); k != nil {
		return fmt.Errorf("bbolt database without an outbox meta bucket: %w", ErrCorrupt)
	}
	meta, err := tx.CreateBucket(bucketMeta)
	if err != nil {
		return err
	}
	for _, name := range [][]byte{bucketReports, bucketMetrics} {
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	return putUint64(meta, keySchemaVersion, schemaVersion)
}

// schema gives typed access to the buckets inside one transaction.
type schema struct {
	meta    *bolt.Bucket
	reports *bolt.Bucket
	metrics *bolt.Bucket
}

func schemaOf(tx *bolt.Tx) schema {
	s := schema{
		meta:    tx.Bucket(bucketMeta),
		reports: tx.Bucket(bucketReports),
		metrics: tx.Bucket(bucketMetrics),
	}
	if tx.Writable() {
		s.reports.FillPercent = appendFillPercent
		s.metrics.FillPercent = appendFillPercent
	}
	return s
}

func (s schema) get(key []byte) uint64 {
	v := s.meta.Get(key)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func (s schema) put(key []byte, v uint64) error {
	return putUint64(s.meta, key, v)
}

func (s schema) add(key []byte, n uint64) error {
	return s.put(key, s.get(key)+n)
}

func putUint64(b *bolt.Bucket, key []byte, v uint64) error {
	return b.Put(key, seqKey(v))
}

// seqKey encodes a sequence number as a report key.
func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq)
}

// keySeq decodes a report key.
func keySeq(k []byte) uint64 {
	return binary.BigEndian.Uint64(k)
}
