package store

import (
	"errors"

	"github.com/vigil-rmm/vigil/internal/boltfile"
)

var (
	// ErrNotFound is returned by Tx.Get when the key is absent.
	ErrNotFound = errors.New("store: not found")

	// ErrConflict is returned by Tx.CompareAndPut when the current value is
	// not the expected one: someone else changed the key first. Read again
	// and retry, or report the conflict to the user.
	ErrConflict = errors.New("store: conflict: value changed since it was read")

	// ErrReadOnly is returned by Put, Delete and CompareAndPut in a
	// transaction started with View.
	ErrReadOnly = errors.New("store: write in a read-only transaction")

	// ErrInvalidKey is returned for an empty key or one longer than
	// MaxKeySize.
	ErrInvalidKey = errors.New("store: invalid key")

	// ErrValueTooLarge is returned by Put and CompareAndPut for a value
	// longer than MaxValueSize.
	ErrValueTooLarge = errors.New("store: value too large")

	// ErrClosed is returned by every method of a Store after Close.
	ErrClosed = errors.New("store: closed")

	// ErrLocked is returned by OpenBolt when another process (or another
	// open Bolt in this one) holds the file and did not let go within
	// BoltOptions.Timeout. Usually another vigil-controller is running
	// against the same data directory.
	ErrLocked = boltfile.ErrLocked

	// ErrCorrupt is returned by OpenBolt when the file is not a bbolt
	// database or both of its meta pages are damaged. Restore it from a
	// backup; do not delete it unless its data may be lost.
	ErrCorrupt = boltfile.ErrCorrupt
)
