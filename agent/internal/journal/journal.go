package journal

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/internal/boltfile"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// schemaVersion is the layout in the package doc. Bump it, with a tested
// migration, whenever the layout changes.
const schemaVersion = 1

// DefaultTimeout bounds the wait for the file lock at Open.
const DefaultTimeout = time.Second

// Retention is how long after a task's not-after time its finished entry
// and nonce are kept.
const Retention = 24 * time.Hour

var (
	bucketMeta   = []byte("meta")
	bucketTasks  = []byte("tasks")
	bucketNonces = []byte("nonces")

	keySchemaVersion = []byte("schema_version")
)

// errNoop rolls back a transaction that changed nothing.
var errNoop = errors.New("nothing to commit")

// Entry is one accepted task.
type Entry struct {
	// ID is the task id.
	ID string `json:"id"`
	// Nonce is the task's 16-byte nonce.
	Nonce []byte `json:"nonce"`
	// Plugin names the plugin that runs it.
	Plugin string `json:"plugin"`
	// State is the task's state on this agent.
	State agentv1.TaskState `json:"state"`
	// AcceptedAt is when the agent accepted it (Unix seconds).
	AcceptedAt int64 `json:"accepted_at"`
	// BootTime is the host's boot time at acceptance (Unix seconds).
	BootTime int64 `json:"boot_time"`
	// NotAfter is the task's not-after time (Unix seconds).
	NotAfter int64 `json:"not_after"`
	// Timeout is the task's run time bound in seconds.
	Timeout int64 `json:"timeout"`
	// UpdatedAt is when State last changed (Unix seconds).
	UpdatedAt int64 `json:"updated_at"`
	// Last is the last update reported for a finished (or rebooting) task,
	// serialized, without output: what is sent again when the controller
	// offers the same task once more.
	Last []byte `json:"last,omitempty"`
}

// Finished reports whether state is final: the task will not run again
// and its entry may be pruned.
func Finished(state agentv1.TaskState) bool {
	switch state {
	case agentv1.TaskState_TASK_STATE_ACCEPTED, agentv1.TaskState_TASK_STATE_RUNNING, agentv1.TaskState_TASK_STATE_REBOOTING:
		return false
	}
	return true
}

// LastUpdate decodes Last; nil when there is none.
func (e *Entry) LastUpdate() *agentv1.TaskUpdate {
	if len(e.Last) == 0 {
		return nil
	}
	var u agentv1.TaskUpdate
	if err := proto.Unmarshal(e.Last, &u); err != nil {
		return nil
	}
	return &u
}

// Options configures Open. The zero value is usable.
type Options struct {
	// Timeout is how long Open waits for the file lock; zero means
	// DefaultTimeout.
	Timeout time.Duration
}

// Journal is an open journal file. It is safe for concurrent use.
type Journal struct {
	mu sync.RWMutex // held shared by each method's transaction, exclusively by Close
	db *bolt.DB     // nil once closed
}

// Open opens the journal at path, creating it (mode 0600) if it is missing.
func Open(path string, opts Options) (*Journal, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	db, err := boltfile.Open("journal", path, &bolt.Options{Timeout: opts.Timeout},
		boltfile.Hints{Locked: "stop the other vigil-agent using it",
			Corrupt: "move it aside to start a new one (tasks it recorded may then be offered again: check the controller first)"})
	if err != nil {
		return nil, err
	}
	if err := db.Update(initSchema); err != nil && !errors.Is(err, errNoop) {
		_ = db.Close() // the schema error is the one to report
		switch {
		case errors.Is(err, fs.ErrPermission):
			return nil, fmt.Errorf("open journal %s: %w; the agent needs read and write access to it", path, err)
		case errors.Is(err, ErrSchemaTooNew):
			return nil, fmt.Errorf("open journal %s: %w; run the newer agent", path, err)
		}
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	return &Journal{db: db}, nil
}

func initSchema(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		if k, _ := tx.Cursor().First(); k != nil {
			return fmt.Errorf("bbolt database without a journal meta bucket: %w", ErrCorrupt)
		}
		var err error
		if meta, err = tx.CreateBucket(bucketMeta); err != nil {
			return err
		}
		for _, name := range [][]byte{bucketTasks, bucketNonces} {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return meta.Put(keySchemaVersion, binary.BigEndian.AppendUint64(nil, schemaVersion))
	}
	if err := boltfile.CheckVersion(meta.Get(keySchemaVersion), schemaVersion, ErrCorrupt, ErrSchemaTooNew); err != nil {
		return err
	}
	if tx.Bucket(bucketTasks) == nil || tx.Bucket(bucketNonces) == nil {
		return fmt.Errorf("missing tasks or nonces bucket: %w", ErrCorrupt)
	}
	return errNoop
}

// Close closes the file; later calls return ErrClosed.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.db == nil {
		return nil
	}
	err := j.db.Close()
	j.db = nil
	if err != nil {
		return fmt.Errorf("journal: close: %w", err)
	}
	return nil
}

func (j *Journal) run(ctx context.Context, op string, writable bool, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("journal: %s: %w", op, err)
	}
	j.mu.RLock()
	defer j.mu.RUnlock()
	if j.db == nil {
		return fmt.Errorf("journal: %s: %w", op, ErrClosed)
	}
	txFn := j.db.View
	if writable {
		txFn = j.db.Update
	}
	if err := txFn(fn); err != nil && !errors.Is(err, errNoop) {
		return fmt.Errorf("journal: %s: %w", op, err)
	}
	return nil
}

// Accept records e (its State is set to ACCEPTED) unless its task id or
// its nonce was recorded before: then it fails with ErrSeen and changes
// nothing. It returns once the entry is on disk.
func (j *Journal) Accept(ctx context.Context, e Entry) error {
	if e.ID == "" || len(e.Nonce) == 0 {
		return errors.New("journal: accept: entry needs an id and a nonce")
	}
	e.State = agentv1.TaskState_TASK_STATE_ACCEPTED
	if e.UpdatedAt == 0 {
		e.UpdatedAt = e.AcceptedAt
	}
	v, err := json.Marshal(&e)
	if err != nil {
		return fmt.Errorf("journal: accept: %w", err)
	}
	return j.run(ctx, "accept", true, func(tx *bolt.Tx) error {
		tasks, nonces := tx.Bucket(bucketTasks), tx.Bucket(bucketNonces)
		if tasks.Get([]byte(e.ID)) != nil {
			return fmt.Errorf("task %s: %w", e.ID, ErrSeen)
		}
		if id := nonces.Get(e.Nonce); id != nil {
			return fmt.Errorf("nonce of task %s used by task %s: %w", e.ID, id, ErrSeen)
		}
		if err := tasks.Put([]byte(e.ID), v); err != nil {
			return err
		}
		return nonces.Put(e.Nonce, []byte(e.ID))
	})
}

// Set records a task's new state at time now. last, if not nil, replaces
// the update kept for re-sending (output is not kept).
func (j *Journal) Set(ctx context.Context, id string, state agentv1.TaskState, last *agentv1.TaskUpdate, now time.Time) error {
	var lastB []byte
	if last != nil {
		c := proto.Clone(last).(*agentv1.TaskUpdate)
		c.Output = nil
		var err error
		lastB, err = proto.MarshalOptions{Deterministic: true}.Marshal(c)
		if err != nil {
			return fmt.Errorf("journal: set: %w", err)
		}
	}
	return j.run(ctx, "set", true, func(tx *bolt.Tx) error {
		tasks := tx.Bucket(bucketTasks)
		e, err := decode(id, tasks.Get([]byte(id)))
		if err != nil {
			return err
		}
		e.State, e.UpdatedAt = state, now.Unix()
		if lastB != nil {
			e.Last = lastB
		}
		v, err := json.Marshal(e)
		if err != nil {
			return err
		}
		return tasks.Put([]byte(id), v)
	})
}

// Get returns the entry of task id, or ErrNotFound.
func (j *Journal) Get(ctx context.Context, id string) (*Entry, error) {
	var e *Entry
	err := j.run(ctx, "get", false, func(tx *bolt.Tx) error {
		var err error
		e, err = decode(id, tx.Bucket(bucketTasks).Get([]byte(id)))
		return err
	})
	return e, err
}

// Seen reports whether nonce was accepted and is still remembered.
func (j *Journal) Seen(ctx context.Context, nonce []byte) (bool, error) {
	var seen bool
	err := j.run(ctx, "seen", false, func(tx *bolt.Tx) error {
		seen = len(nonce) > 0 && tx.Bucket(bucketNonces).Get(nonce) != nil
		return nil
	})
	return seen, err
}

// Unfinished returns the entries still ACCEPTED, RUNNING or REBOOTING, in
// task id order.
func (j *Journal) Unfinished(ctx context.Context) ([]*Entry, error) {
	var out []*Entry
	err := j.run(ctx, "unfinished", false, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTasks).ForEach(func(k, v []byte) error {
			e, err := decode(string(k), v)
			if err != nil {
				return err
			}
			if !Finished(e.State) {
				out = append(out, e)
			}
			return nil
		})
	})
	return out, err
}

// Prune deletes the finished entries, with their nonces, whose not-after
// time is more than Retention before now. It returns how many it deleted.
func (j *Journal) Prune(ctx context.Context, now time.Time) (int, error) {
	cutoff := now.Add(-Retention).Unix()
	n := 0
	err := j.run(ctx, "prune", true, func(tx *bolt.Tx) error {
		n = 0
		tasks, nonces := tx.Bucket(bucketTasks), tx.Bucket(bucketNonces)
		var drop []*Entry
		err := tasks.ForEach(func(k, v []byte) error {
			e, err := decode(string(k), v)
			if err != nil {
				return err
			}
			if Finished(e.State) && e.NotAfter < cutoff {
				drop = append(drop, e)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(drop) == 0 {
			return errNoop
		}
		for _, e := range drop {
			if err := tasks.Delete([]byte(e.ID)); err != nil {
				return err
			}
			if err := nonces.Delete(e.Nonce); err != nil {
				return err
			}
		}
		n = len(drop)
		return nil
	})
	return n, err
}

// decode copies an entry out of its transaction.
func decode(id string, v []byte) (*Entry, error) {
	if v == nil {
		return nil, fmt.Errorf("task %s: %w", id, ErrNotFound)
	}
	var e Entry
	if err := json.Unmarshal(v, &e); err != nil {
		return nil, fmt.Errorf("task %s: %w (%v)", id, ErrCorrupt, err)
	}
	return &e, nil
}
