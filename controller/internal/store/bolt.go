package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/vigil-rmm/vigil/internal/boltfile"
	"log/slog"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// kvBucket is the one bbolt bucket; it holds every key in full.
var kvBucket = []byte("kv")

// BoltOptions configures OpenBolt. The zero value is ready to use.
type BoltOptions struct {
	// Timeout bounds the wait for the file lock held by another process.
	// Zero means 1s; bbolt's "wait forever" is never used.
	Timeout time.Duration

	// NoSync skips fsync on commit. THIS IS UNSAFE: a crash or power loss
	// can lose acknowledged writes or corrupt the file. Only for tests and
	// benchmarks; never set it in a controller.
	NoSync bool

	// Logger receives the store's few log lines. Nil discards them.
	Logger *slog.Logger
}

// Bolt is the Store on one bbolt file.
type Bolt struct {
	db     *bolt.DB
	path   string
	log    *slog.Logger
	closed atomic.Bool
}

var _ Store = (*Bolt)(nil)

// OpenBolt opens or creates the bbolt store at path (mode 0600). The
// directory must exist. If another process holds the file, OpenBolt fails
// with ErrLocked after opts.Timeout; a damaged file fails with ErrCorrupt.
func OpenBolt(path string, opts BoltOptions) (*Bolt, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "store", "path", path)

	db, err := boltfile.Open("store", path, &bolt.Options{
		Timeout: opts.Timeout,
		NoSync:  opts.NoSync,
	}, boltfile.Hints{Locked: "is another vigil-controller running?", Corrupt: "restore it from a backup"})
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(kvBucket)
		return err
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %s: create bucket: %w", path, err)
	}
	if opts.NoSync {
		log.Warn("fsync disabled: a crash can lose or corrupt data; tests and benchmarks only")
	}
	log.Debug("store opened")
	return &Bolt{db: db, path: path, log: log}, nil
}

// View implements Store.
func (s *Bolt) View(ctx context.Context, fn func(Tx) error) error {
	return s.run(ctx, "view", s.db.View, false, fn)
}

// Update implements Store.
func (s *Bolt) Update(ctx context.Context, fn func(Tx) error) error {
	return s.run(ctx, "update", s.db.Update, true, fn)
}

// Batch implements Store with bbolt's DB.Batch.
func (s *Bolt) Batch(ctx context.Context, fn func(Tx) error) error {
	return s.run(ctx, "batch", s.db.Batch, true, fn)
}

// run starts a transaction with begin and passes fn's own error through
// unchanged, wrapping only errors of bbolt itself.
func (s *Bolt) run(ctx context.Context, op string, begin func(func(*bolt.Tx) error) error, writable bool, fn func(Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return fmt.Errorf("store %s: %w", op, ErrClosed)
	}
	var fnErr error
	err := begin(func(btx *bolt.Tx) error {
		fnErr = nil // Batch may run us more than once.
		b := btx.Bucket(kvBucket)
		if b == nil {
			return fmt.Errorf("bucket %q missing", kvBucket)
		}
		fnErr = fn(&boltTx{b: b, writable: writable})
		return fnErr
	})
	switch {
	case err == nil:
		return nil
	case fnErr != nil && err == fnErr: // fn's own error, by identity
		return err
	case errors.Is(err, berrors.ErrDatabaseNotOpen):
		return fmt.Errorf("store %s: %w", op, ErrClosed)
	}
	return fmt.Errorf("store %s: %w", op, err)
}

// Close implements Store.
func (s *Bolt) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", s.path, err)
	}
	s.log.Debug("store closed")
	return nil
}

// boltTx is a Tx on the kv bucket.
type boltTx struct {
	b        *bolt.Bucket
	writable bool
	// writes counts Puts and Deletes so Scan knows when its cursor may
	// have been disturbed.
	writes uint64
}

func (t *boltTx) Get(key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	// A cursor, not Bucket.Get: it tells an empty value from an absent key.
	k, v := t.b.Cursor().Seek([]byte(key))
	if k == nil || string(k) != key {
		return nil, fmt.Errorf("get %q: %w", key, ErrNotFound)
	}
	out := make([]byte, len(v))
	copy(out, v)
	return out, nil
}

func (t *boltTx) Put(key string, value []byte) error {
	if err := t.checkWrite("put", key); err != nil {
		return err
	}
	if err := checkValue(key, value); err != nil {
		return err
	}
	return t.put(key, value)
}

// put writes a copy of value: bbolt keeps the slice until commit, and the
// caller may reuse it.
func (t *boltTx) put(key string, value []byte) error {
	t.writes++
	v := make([]byte, len(value))
	copy(v, value)
	if err := t.b.Put([]byte(key), v); err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	return nil
}

func (t *boltTx) Delete(key string) error {
	if err := t.checkWrite("delete", key); err != nil {
		return err
	}
	t.writes++
	if err := t.b.Delete([]byte(key)); err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	return nil
}

func (t *boltTx) Scan(prefix string, fn func(key string, value []byte) error) error {
	p := []byte(prefix)
	c := t.b.Cursor()
	k, v := c.Seek(p)
	for k != nil && bytes.HasPrefix(k, p) {
		key := string(k)
		before := t.writes
		if err := fn(key, v); err != nil {
			return err
		}
		if t.writes == before {
			k, v = c.Next()
			continue
		}
		// fn wrote: bbolt cursors may skip keys after the tree changes
		// under them (bbolt PR #611), so find our place again.
		k, v = c.Seek([]byte(key))
		if k != nil && string(k) == key {
			k, v = c.Next()
		}
	}
	return nil
}

func (t *boltTx) CompareAndPut(key string, old, value []byte) error {
	if err := t.checkWrite("compare-and-put", key); err != nil {
		return err
	}
	if err := checkValue(key, value); err != nil {
		return err
	}
	k, cur := t.b.Cursor().Seek([]byte(key))
	present := k != nil && string(k) == key
	switch {
	case old == nil && present:
		return fmt.Errorf("compare-and-put %q: key exists: %w", key, ErrConflict)
	case old != nil && !present:
		return fmt.Errorf("compare-and-put %q: key absent: %w", key, ErrConflict)
	case old != nil && !bytes.Equal(cur, old):
		return fmt.Errorf("compare-and-put %q: %w", key, ErrConflict)
	}
	return t.put(key, value)
}

// checkWrite rejects writes in a View and bad keys.
func (t *boltTx) checkWrite(op, key string) error {
	if !t.writable {
		return fmt.Errorf("%s %q: %w", op, key, ErrReadOnly)
	}
	if err := checkKey(key); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}
