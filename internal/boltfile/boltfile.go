// Package boltfile opens the bbolt files every vigil store uses (the
// agent's outbox, the controller's control store and metrics) the same
// way, and turns open failures into errors that say what to do.
package boltfile

import (
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Open failures an operator can act on.
var (
	// ErrLocked means another process holds the file's lock.
	ErrLocked = errors.New("in use by another process")
	// ErrCorrupt means the file is not a valid database of the expected kind.
	ErrCorrupt = errors.New("corrupt")
)

// Hints complete the two actionable errors for one kind of file.
type Hints struct {
	Locked  string // e.g. "is another vigil-controller running?"
	Corrupt string // e.g. "move it aside to start a new one"
}

// Open opens path with mode 0600. opts.Timeout bounds the wait for the
// lock. what names the file in errors ("outbox", "store", "metrics").
func Open(what, path string, opts *bolt.Options, h Hints) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, opts)
	if err == nil {
		return db, nil
	}
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("open %s %s: %w (lock not free after %s); %s", what, path, ErrLocked, opts.Timeout, h.Locked)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
		return nil, fmt.Errorf("open %s %s: %w (%v); %s", what, path, ErrCorrupt, err, h.Corrupt)
	}
	return nil, fmt.Errorf("open %s %s: %w", what, path, err)
}

// CheckVersion checks a stored schema version (8 bytes, big-endian)
// against known, the version this build writes. A newer version is
// tooNew (the file was written by a newer release); a missing or older
// one is corrupt, as long as known is the first version there is.
func CheckVersion(v []byte, known uint64, corrupt, tooNew error) error {
	if len(v) != 8 {
		return fmt.Errorf("meta bucket without a schema version: %w", corrupt)
	}
	switch ver := binary.BigEndian.Uint64(v); {
	case ver > known:
		return fmt.Errorf("schema version %d, this agent knows up to %d: %w", ver, known, tooNew)
	case ver < known:
		return fmt.Errorf("unknown schema version %d: %w", ver, corrupt)
	}
	return nil
}
