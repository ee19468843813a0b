package metrics

import (
	"errors"

	"github.com/vigil-rmm/vigil/internal/boltfile"
)

var (
	// ErrInvalid is returned for bad input: an empty or malformed agent ID,
	// a sample without metrics, a non-positive limit, a time range that
	// ends before it starts. The message names the field; nothing is
	// written.
	ErrInvalid = errors.New("metrics: invalid input")

	// ErrClosed is returned by every method of a DB after Close.
	ErrClosed = errors.New("metrics: closed")

	// ErrLocked is returned by Open when another process (or another DB in
	// this one) holds the file and did not let go within Options.Timeout.
	ErrLocked = boltfile.ErrLocked

	// ErrCorrupt is returned by Open when the file is not a bbolt database
	// or its metadata is damaged.
	ErrCorrupt = boltfile.ErrCorrupt

	// ErrNotMetrics is returned by Open for a bbolt file that holds other
	// data, such as the control store: the path is probably wrong.
	ErrNotMetrics = errors.New("metrics: file is a bbolt database but not a metrics database")

	// ErrSchemaTooNew is returned by Open when the file was written by a
	// newer vigil-controller. Upgrade this controller; do not delete the file.
	ErrSchemaTooNew = errors.New("metrics: file has a newer schema version than this controller knows")
)
