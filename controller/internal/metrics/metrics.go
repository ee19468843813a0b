package metrics

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/vigil-rmm/vigil/internal/boltfile"
	"log/slog"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// schemaVersion is the layout this build reads and writes; see the
// package doc.
const schemaVersion = 1

var (
	metaBucket   = []byte("meta")
	versionKey   = []byte("version")
	latestBucket = []byte("latest")
)

const (
	// DefaultRetention is how long samples are kept when
	// Options.Retention is zero.
	DefaultRetention = 10 * 24 * time.Hour
	// MinRetention is the shortest retention: data is dropped a day at a
	// time.
	MinRetention = 24 * time.Hour
	// DefaultMaxSkew is how far ahead of the controller's clock a sample
	// may be stamped when Options.MaxSkew is zero.
	DefaultMaxSkew = time.Hour
	// MaxAgentIDLen is the longest agent ID in bytes.
	MaxAgentIDLen = 256
)

// Sample is one health sample of one agent.
type Sample struct {
	// AgentID is the reporting agent. It must be non-empty, at most
	// MaxAgentIDLen bytes and contain no 0x00 byte.
	AgentID string
	// Seq is the agent's report sequence number. With AgentID and TimeMS
	// it identifies the sample: storing it again replaces it.
	Seq uint64
	// TimeMS is when the agent took the sample, milliseconds since the
	// Unix epoch. Its UTC day picks the day bucket.
	TimeMS int64
	// Metrics are the figures; required.
	Metrics *agentv1.Metrics
}

// Time returns TimeMS as a time.Time in UTC.
func (s Sample) Time() time.Time { return time.UnixMilli(s.TimeMS).UTC() }

// Options configures Open. The zero value is ready to use.
type Options struct {
	// Retention is how long samples are kept. Zero means
	// DefaultRetention; anything else must be at least MinRetention.
	Retention time.Duration
	// MaxSkew is how far ahead of Now a sample may be stamped. Later
	// samples are skipped: an agent with a clock in the future would
	// otherwise fill day buckets that retention will not drop for years,
	// and pin its latest sample. Zero means DefaultMaxSkew.
	MaxSkew time.Duration
	// Now is the clock; nil means time.Now. Tests inject a fake one.
	Now func() time.Time
	// Timeout bounds the wait for the file lock held by another process.
	// Zero means 1s.
	Timeout time.Duration
	// NoSync skips fsync on commit. THIS IS UNSAFE: a crash can lose
	// acknowledged samples or corrupt the file. Tests and benchmarks only.
	NoSync bool
	// Logger receives the package's log lines. Nil discards them.
	Logger *slog.Logger
}

// withDefaults fills in zero fields and checks the rest.
func (o Options) withDefaults() (Options, error) {
	switch {
	case o.Retention == 0:
		o.Retention = DefaultRetention
	case o.Retention < MinRetention:
		return o, fmt.Errorf("metrics options: Retention %s is shorter than the minimum %s", o.Retention, MinRetention)
	}
	switch {
	case o.MaxSkew == 0:
		o.MaxSkew = DefaultMaxSkew
	case o.MaxSkew < 0:
		return o, fmt.Errorf("metrics options: MaxSkew %s is negative", o.MaxSkew)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// DB is the metrics database. Its methods are safe for concurrent use.
type DB struct {
	bolt        *bolt.DB
	path        string
	retention   time.Duration
	maxSkew     time.Duration
	now         func() time.Time
	log         *slog.Logger
	retainEvery time.Duration
	closed      atomic.Bool
}

// Open opens or creates the metrics file at path (mode 0600). The
// directory must exist.
func Open(path string, opts Options) (*DB, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	bdb, err := boltfile.Open("metrics", path, &bolt.Options{
		Timeout: opts.Timeout,
		NoSync:  opts.NoSync,
		// Dropping a day frees many pages at once; the hash-map freelist
		// allocates from a large freelist in constant time.
		FreelistType: bolt.FreelistMapType,
	}, boltfile.Hints{Locked: "is another vigil-controller running?", Corrupt: "move it aside; the controller starts a new one"})
	if err != nil {
		return nil, err
	}
	if err := bdb.Update(initSchema); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("open metrics %s: %w", path, err)
	}
	log := opts.Logger.With("component", "metrics")
	if opts.NoSync {
		log.Warn("fsync disabled: a crash can lose or corrupt metrics; tests and benchmarks only", "path", path)
	}
	return &DB{
		bolt:        bdb,
		path:        path,
		retention:   opts.Retention,
		maxSkew:     opts.MaxSkew,
		now:         opts.Now,
		log:         log,
		retainEvery: time.Hour,
	}, nil
}

// initSchema stamps a new file with the schema version, or checks the
// version of an existing one.
func initSchema(tx *bolt.Tx) error {
	meta := tx.Bucket(metaBucket)
	if meta == nil {
		if name, _ := tx.Cursor().First(); name != nil {
			return fmt.Errorf("bucket %q without a %q bucket: %w", name, metaBucket, ErrNotMetrics)
		}
		meta, err := tx.CreateBucket(metaBucket)
		if err != nil {
			return err
		}
		if err := meta.Put(versionKey, binary.BigEndian.AppendUint64(nil, schemaVersion)); err != nil {
			return err
		}
		_, err = tx.CreateBucket(latestBucket)
		return err
	}
	raw := meta.Get(versionKey)
	if len(raw) != 8 {
		return fmt.Errorf("schema version is %d bytes, want 8: %w", len(raw), ErrCorrupt)
	}
	switch v := binary.BigEndian.Uint64(raw); {
	case v > schemaVersion:
		return fmt.Errorf("version %d, this build knows up to %d: %w", v, schemaVersion, ErrSchemaTooNew)
	case v < schemaVersion:
		// Version 1 is the first; migrations from older versions go here.
		return fmt.Errorf("schema version %d: %w", v, ErrCorrupt)
	}
	if tx.Bucket(latestBucket) == nil {
		return fmt.Errorf("bucket %q missing: %w", latestBucket, ErrCorrupt)
	}
	return nil
}

// Close closes the file. It waits for running calls; after it every method
// returns ErrClosed. Closing twice returns nil.
func (db *DB) Close() error {
	if db.closed.Swap(true) {
		return nil
	}
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("close metrics %s: %w", db.path, err)
	}
	return nil
}

// txError turns a bbolt error on a closed DB into ErrClosed.
func txError(op string, err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return fmt.Errorf("%s: %w", op, ErrClosed)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// begin checks what every method checks before its transaction.
func (db *DB) begin(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if db.closed.Load() {
		return fmt.Errorf("%s: %w", op, ErrClosed)
	}
	return nil
}
