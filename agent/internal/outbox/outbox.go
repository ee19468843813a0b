package outbox

import (
	"context"
	"errors"
	"fmt"
	"github.com/vigil-rmm/vigil/internal/boltfile"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Defaults for Options.
const (
	// DefaultMaxReports is about 14 days of one-minute samples.
	DefaultMaxReports = 20000
	// DefaultTimeout bounds the wait for the file lock at Open.
	DefaultTimeout = time.Second
	// minMaxReports keeps room for state changes next to metrics.
	minMaxReports = 10
)

// Options configures Open. The zero value is usable.
type Options struct {
	// MaxReports bounds the pending reports; past it the oldest metric
	// reports are dropped. Zero means DefaultMaxReports; otherwise at least 10.
	MaxReports int
	// Timeout is how long Open waits for the file lock held by another
	// process before failing with ErrInUse. Zero means DefaultTimeout.
	Timeout time.Duration
	// Logger receives the outbox's log lines; nil discards them.
	Logger *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	switch {
	case o.MaxReports == 0:
		o.MaxReports = DefaultMaxReports
	case o.MaxReports < minMaxReports:
		return o, fmt.Errorf("options: MaxReports %d: must be at least %d", o.MaxReports, minMaxReports)
	}
	switch {
	case o.Timeout == 0:
		o.Timeout = DefaultTimeout
	case o.Timeout < 0:
		return o, fmt.Errorf("options: Timeout %s: must not be negative", o.Timeout)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// Outbox is an open outbox file. It is safe for concurrent use.
type Outbox struct {
	path   string
	max    int
	log    *slog.Logger
	notify chan struct{}
	now    func() time.Time

	// mu guards db against Close: methods hold it shared for the length of
	// their one transaction, Close holds it exclusively.
	mu sync.RWMutex
	db *bolt.DB // nil once closed
}

// Stats describes the outbox at one instant.
type Stats struct {
	// Pending is the number of reports not yet acknowledged.
	Pending int `json:"pending"`
	// FirstSeq is the oldest pending sequence number, 0 when none is pending.
	FirstSeq uint64 `json:"first_seq"`
	// LastSeq is the last sequence number assigned, pending or not.
	LastSeq uint64 `json:"last_seq"`
	// Acked is the highest sequence number the controller acknowledged.
	Acked uint64 `json:"acked_seq"`
	// UnreportedDrops counts metric reports dropped since the last
	// OutboxStatus report was appended.
	UnreportedDrops uint64 `json:"unreported_drops"`
	// DroppedTotal counts metric reports dropped over the file's lifetime.
	DroppedTotal uint64 `json:"dropped_total"`
	// FileBytes is the size of the file on disk; bbolt never shrinks it.
	FileBytes int64 `json:"file_bytes"`
}

// Open opens the outbox at path, creating it (mode 0600) if it is missing.
func Open(path string, opts Options) (*Outbox, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("open outbox %s: %w", path, err)
	}
	db, err := boltfile.Open("outbox", path, &bolt.Options{Timeout: opts.Timeout},
		boltfile.Hints{Locked: "stop the other vigil-agent using it", Corrupt: "move it aside to start a new one"})
	if err != nil {
		return nil, err
	}
	if err := db.Update(initSchema); err != nil && !errors.Is(err, errNoop) {
		_ = db.Close() // the schema error is the one to report
		return nil, openError(path, opts.Timeout, err)
	}
	o := &Outbox{
		path:   path,
		max:    opts.MaxReports,
		log:    opts.Logger.With("component", "outbox"),
		notify: make(chan struct{}, 1),
		now:    time.Now,
		db:     db,
	}
	st, err := o.Stats(context.Background())
	if err != nil {
		_ = db.Close() // the stats error is the one to report
		return nil, fmt.Errorf("open outbox %s: %w", path, err)
	}
	o.log.Info("outbox opened", "path", path, "pending", st.Pending,
		"last_seq", st.LastSeq, "acked_seq", st.Acked, "unreported_drops", st.UnreportedDrops)
	return o, nil
}

// openError turns a bbolt or schema error into one that says what to do.
func openError(path string, timeout time.Duration, err error) error {
	switch {
	case errors.Is(err, ErrCorrupt):
		return fmt.Errorf("open outbox %s: %w; move it aside to start a new one", path, err)
	case errors.Is(err, ErrSchemaTooNew):
		return fmt.Errorf("open outbox %s: %w; run the newer agent or move the file aside to start a new one", path, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("open outbox %s: %w; the agent needs read and write access to the file and its directory", path, err)
	}
	return fmt.Errorf("open outbox %s: %w", path, err)
}

// Close closes the file. It waits for calls in progress; later calls return
// ErrClosed. Closing twice is a no-op.
func (o *Outbox) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.db == nil {
		return nil
	}
	err := o.db.Close()
	o.db = nil
	if err != nil {
		return fmt.Errorf("outbox: close: %w", err)
	}
	return nil
}

// Notify returns a channel that receives a value after every successful
// Append or AppendStatus. It has capacity 1 and sends never block, so one
// value may stand for many appends: the reader should drain Pending.
func (o *Outbox) Notify() <-chan struct{} {
	return o.notify
}

func (o *Outbox) signal() {
	select {
	case o.notify <- struct{}{}:
	default:
	}
}

// Stats returns counters for status output and metrics.
func (o *Outbox) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	err := o.view(ctx, "stats", func(tx *bolt.Tx) error {
		s := schemaOf(tx)
		st.Pending = int(s.get(keyPendingCount))
		if k, _ := s.reports.Cursor().First(); k != nil {
			st.FirstSeq = keySeq(k)
		}
		st.LastSeq = s.get(keyLastSeq)
		st.Acked = s.get(keyAckedSeq)
		st.UnreportedDrops = s.get(keyUnreportedDrops)
		st.DroppedTotal = s.get(keyDroppedTotal)
		fi, err := os.Stat(o.path)
		if err != nil {
			return err
		}
		st.FileBytes = fi.Size()
		return nil
	})
	return st, err
}

// view runs fn in a read-only transaction.
func (o *Outbox) view(ctx context.Context, op string, fn func(*bolt.Tx) error) error {
	return o.run(ctx, op, false, fn)
}

// update runs fn in a read-write transaction; fn returns errNoop to roll
// back a transaction that changed nothing.
func (o *Outbox) update(ctx context.Context, op string, fn func(*bolt.Tx) error) error {
	return o.run(ctx, op, true, fn)
}

func (o *Outbox) run(ctx context.Context, op string, writable bool, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("outbox: %s: %w", op, err)
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.db == nil {
		return fmt.Errorf("outbox: %s: %w", op, ErrClosed)
	}
	txFn := o.db.View
	if writable {
		txFn = o.db.Update
	}
	if err := txFn(fn); err != nil && !errors.Is(err, errNoop) {
		return fmt.Errorf("outbox: %s: %w", op, err)
	}
	return nil
}
